"""Scene cuts: a new shot is a cut, motion and a change of light are not."""

from __future__ import annotations

import numpy as np
import pytest

from host.cuts import CutDetector, marked
from host.sources import array_frames


def scene(seed: int, shift: int = 0) -> np.ndarray:
    """A 180x320 frame of smooth random structure; `shift` pans it a few pixels."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (9, 16, 3)).astype(np.uint8)
    big = np.kron(coarse, np.ones((20, 20, 1), np.uint8))
    return np.roll(big, shift, axis=1)


def test_a_new_shot_is_a_cut_and_motion_or_light_is_not():
    cuts = CutDetector()
    a, b = scene(0), scene(1)
    seen = [cuts.is_cut(f) for f in (a, scene(0, 3), (a * 0.6).astype(np.uint8), a, b, b)]
    assert seen == [False, False, False, False, True, False]


def test_nearly_flat_frames_are_never_a_cut():
    cuts = CutDetector()
    rng = np.random.default_rng(0)
    flat = [np.clip(20 + rng.normal(0, 1, (90, 160, 3)), 0, 255).astype(np.uint8) for _ in range(3)]
    assert not any(cuts.is_cut(f) for f in flat)


def test_thresholds_are_checked():
    with pytest.raises(ValueError, match=r"cut distance must be in \(0, 2\].*not 3"):
        CutDetector(distance=3)


def test_marked_tests_every_frame_as_it_comes():
    flat, other = np.zeros((36, 64, 3), np.uint8), np.zeros((36, 64, 3), np.uint8)
    flat[:, :32], other[:18] = 200, 200                       # left half bright, then top half: a new shot
    frames = list(marked(array_frames([flat, flat, other, other])))
    assert [f.cut for f in frames] == [False, False, True, False]
