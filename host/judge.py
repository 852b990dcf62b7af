"""The quality judge: a VAE backend plus the score reference -> (default score, raw log RP) per crop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.pose import detection_features
from host.quality import DEFAULT_SCORE, SCORES, Reference, crop_features, missing_for
from host.scoring import VAEBackend, reconstruct

REFERENCE_FILE = "score_reference.json"   # a build folder's score reference (the quantized model's own)


@dataclass
class QualityJudge:
    backend: VAEBackend
    reference: Reference
    variant: str = DEFAULT_SCORE

    def __post_init__(self) -> None:
        lacking = missing_for(self.variant, None, self.reference)
        if lacking:
            raise ValueError(f"score variant {self.variant} needs {', '.join(lacking)}: refit the reference "
                             "(python -m eval.quality_eval --reference-crops, or the camera's --calibrate)")

    def features(self, crops: np.ndarray, boxes: np.ndarray | None = None, landmarks: np.ndarray | None = None,
                 sides: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every score feature of uint8 crops (N, 64, 64); with the detections' boxes (N, 4) and landmarks
        (N, 5, 2) in source pixels also their pose and size (`sides` (N,): the face sizes their tracks give them,
        `host.pose.centred_sides`; default: each box's own)."""
        feats = crop_features(reconstruct(self.backend, crops))
        if boxes is not None:
            feats.update(detection_features(boxes, landmarks, sides))
        return feats

    def score(self, crops: np.ndarray, boxes: np.ndarray | None = None, landmarks: np.ndarray | None = None,
              sides: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """uint8 crops (N, 64, 64) (and their detections, for variants that see pose and size) -> the
        `variant` score and the raw log RP, float64 (N,) each."""
        if not len(crops):
            return np.zeros(0), np.zeros(0)
        feats = self.features(crops, boxes, landmarks, sides)
        lacking = missing_for(self.variant, feats, self.reference)
        if lacking:
            raise ValueError(f"score variant {self.variant} needs {', '.join(lacking)}")
        return SCORES[self.variant](feats, self.reference), feats["log_rp"]


def build_judge(folder: Path, backend: VAEBackend | None = None, variant: str = DEFAULT_SCORE,
                reference: Reference | None = None) -> QualityJudge:
    """The judge of a build folder: `backend` (default: the folder's simulator) and `reference` (default: the
    folder's score reference)."""
    if backend is None:
        from host.accelerated import simulated_vae

        backend = simulated_vae(folder)
    if reference is None:
        reference = Reference.load(Path(folder) / REFERENCE_FILE)
    return QualityJudge(backend, reference, variant)
