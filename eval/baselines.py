"""The non-VAE quality measures: Laplacian sharpness, BRISQUE, face size, MTCNN confidence (higher = better)."""

from __future__ import annotations

import cv2
import numpy as np

BRISQUE_SIZE = 128  # BRISQUE runs on the shared colour crop at this size


def laplacian_sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian of a grey crop (the classic focus measure)."""
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


class Brisque:
    """BRISQUE (Mittal et al. 2012) from the ``brisque`` package; returns minus the score (higher = better)."""

    def __init__(self) -> None:
        from brisque import BRISQUE

        class _Numpy2Brisque(BRISQUE):
            # brisque 0.2.0 calls float() on 1-element arrays, an error since numpy 2: take the element
            def scale_features(self, features):
                return super().scale_features([np.asarray(f, dtype=np.float64).ravel()[0] for f in features])

        self._brisque = _Numpy2Brisque(url=False)

    def __call__(self, rgb_crop: np.ndarray) -> float:
        return -float(self._brisque.score(rgb_crop))


def face_size(box: tuple[float, float, float, float]) -> float:
    """Geometric mean of the detector box's width and height, in pixels of the original image."""
    return float(np.sqrt(max(box[2], 0.0) * max(box[3], 0.0)))
