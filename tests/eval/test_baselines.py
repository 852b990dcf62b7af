"""The non-VAE quality measures rank an obviously worse copy of a portrait lower."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from eval.baselines import Brisque, face_size, laplacian_sharpness


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return cv2.resize(np.ascontiguousarray(data.astronaut())[30:230, 130:330], (128, 128), interpolation=cv2.INTER_AREA)


def test_laplacian_falls_with_blur(portrait):
    grey = cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY)
    assert laplacian_sharpness(cv2.GaussianBlur(grey, (0, 0), 2)) < 0.2 * laplacian_sharpness(grey)


def test_brisque_prefers_the_clean_portrait(portrait):
    noisy = np.clip(portrait + np.random.default_rng(0).normal(0, 40, portrait.shape), 0, 255).astype(np.uint8)
    brisque = Brisque()
    assert brisque(portrait) > brisque(noisy)


def test_face_size_is_the_geometric_mean_of_the_box():
    assert face_size((5, 5, 40, 90)) == pytest.approx(60.0)
    assert face_size((0, 0, -3, 10)) == 0.0
