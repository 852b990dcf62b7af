"""A fast stand-in for the quality judge (Laplacian sharpness), for pipeline tests that are not about the VAE."""

from __future__ import annotations

import cv2
import numpy as np


class SharpnessJudge:
    variant = "sharpness"

    def score(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sharp = np.array([cv2.Laplacian(c.astype(np.float64), cv2.CV_64F).var() for c in crops])
        return sharp, np.zeros(len(crops))


def patch_judge(monkeypatch) -> None:
    """Make host.run use the fake judge instead of the simulator."""
    import host.run

    monkeypatch.setattr(host.run, "make_judge", lambda args: (SharpnessJudge(), "fake-model"))
