"""The quality judge: a VAE backend plus the score reference -> (default score, raw log RP) per crop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from host.quality import DEFAULT_SCORE, Reference, crop_features, quality_scores
from host.scoring import VAEBackend, reconstruct


@dataclass
class QualityJudge:
    backend: VAEBackend
    reference: Reference
    variant: str = DEFAULT_SCORE

    def score(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 crops (N, 64, 64) -> the `variant` score and the raw log RP, float64 (N,) each."""
        if not len(crops):
            return np.zeros(0), np.zeros(0)
        feats = crop_features(reconstruct(self.backend, crops))
        return quality_scores(feats, self.reference)[self.variant], feats["log_rp"]
