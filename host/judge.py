"""The quality judge: a VAE backend plus the score reference -> (default score, raw log RP) per crop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.quality import DEFAULT_SCORE, Reference, crop_features, quality_scores
from host.scoring import VAEBackend, reconstruct

REFERENCE_FILE = "score_reference.json"   # a build folder's score reference (the quantized model's own)


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


def build_judge(folder: Path, backend: VAEBackend | None = None, variant: str = DEFAULT_SCORE) -> QualityJudge:
    """The judge of a build folder: `backend` (default: the folder's simulator) and the folder's score reference."""
    if backend is None:
        from host.accelerated import simulated_vae

        backend = simulated_vae(folder)
    return QualityJudge(backend, Reference.load(Path(folder) / REFERENCE_FILE), variant)
