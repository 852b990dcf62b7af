"""Face-quality scores built on the VAE (numpy + OpenCV only: computable on the board).

Raw likelihoods favour simple images (blurred, dark, downscaled crops get a *higher* log RP), so the
scores here correct for that. Every score is a function of per-crop features and of a `Reference`:
the same features' statistics on good faces of the deployment's kind (for LFW-like photos: the LFW
images of persons in no evaluation pair). Higher = better.

- ``raw``: the paper's log RP.
- ``complexity``: log RP + ln2 x PNG bits (input-complexity correction, Serra et al., ICLR 2020), a
  likelihood ratio against a generic lossless coder. Fixes blur, darkness, JPEG and downscaling, but
  rewards additive noise (the coder pays for noise, the wide-sigma VAE likelihood barely does).
- ``typicality``: minus the Mahalanobis distance of (complexity-corrected log RP, residual
  noise-to-contrast ratio) from good faces (two-sided typicality, Nalisnick et al. 2019).
- ``fisher`` (default): one-sided typicality combined by Fisher's method: log P(a good face has a
  lower complexity-corrected log RP) + log P(a good face has a higher residual noise-to-contrast
  ratio), each tail from the reference's Gaussian fit. Nothing is tuned on degradations.

The residual noise is the robust (median) scale of the finest diagonal Haar detail of the VAE
residual x - mean_l mu_x^l, i.e. of what the VAE cannot explain at pixel scale; the contrast is the
crop's standard deviation. The noise tail only works with a reference from the deployment's domain:
fitted on the VAE's own training faces (smoother than LFW photos) it rewards blur, which removes the
photos' pixel-scale noise (README, "The score").
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from host.scoring import Reconstruction

LN2 = math.log(2)
MAD_TO_SIGMA = 1 / 0.6745  # median absolute deviation -> standard deviation of a Gaussian
MIN_REFERENCE_CROPS = 10
_EPS = 1e-6


def png_bits(crops: np.ndarray) -> np.ndarray:
    """Lossless (PNG, level 9) size of each uint8 crop in bits: a generic complexity measure."""
    return np.array([8 * len(cv2.imencode(".png", c, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1]) for c in crops],
                    dtype=np.float64)


def finest_noise(images: np.ndarray) -> np.ndarray:
    """Robust noise scale of (N, H, W) images: MAD of the finest diagonal Haar detail, as a sigma."""
    h, w = images.shape[1] // 2 * 2, images.shape[2] // 2 * 2
    img = images[:, :h, :w]
    hh = (img[:, 0::2, 0::2] - img[:, 0::2, 1::2] - img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) / 2
    return np.median(np.abs(hh).reshape(len(img), -1), axis=1) * MAD_TO_SIGMA


def crop_features(rec: Reconstruction) -> dict[str, np.ndarray]:
    """Per-crop features the scores are built from (all float64, shape (N,))."""
    crops = np.rint(rec.x * 255).astype(np.uint8)
    residual = rec.x - rec.mu_x.mean(axis=1)
    return {
        "log_rp": rec.log_rp.astype(np.float64),
        "png_bits": png_bits(crops),
        "residual_noise": finest_noise(residual).astype(np.float64),
        "contrast": rec.x.std(axis=(1, 2)).astype(np.float64),
    }


def _stats(f: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 2): complexity-corrected log RP, log residual noise-to-contrast ratio."""
    s = f["log_rp"] + LN2 * f["png_bits"]
    nsr = np.log(np.maximum(f["residual_noise"], _EPS) / np.maximum(f["contrast"], _EPS))
    return np.stack([s, nsr], axis=1)


def log_normal_cdf(z: np.ndarray) -> np.ndarray:
    """log Phi(z), accurate in the far lower tail (asymptotic series below z = -30, where erfc underflows)."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    tail = z < -30
    root2 = math.sqrt(2)
    out[~tail] = [math.log(0.5 * math.erfc(-v / root2)) if v < 0 else math.log1p(-0.5 * math.erfc(v / root2))
                  for v in z[~tail]]
    t2 = z[tail] ** 2
    out[tail] = (-0.5 * t2 - np.log(-z[tail]) - 0.5 * math.log(2 * math.pi)
                 + np.log1p(-1 / t2 + 3 / t2**2 - 15 / t2**3))
    return out


@dataclass(frozen=True)
class Reference:
    """Mean and covariance of the score statistics on good faces of the deployment's kind."""

    mean: list[float]
    cov: list[list[float]]
    crops: int

    @classmethod
    def fit(cls, feats: dict[str, np.ndarray]) -> Reference:
        stats = _stats(feats)
        if len(stats) < MIN_REFERENCE_CROPS:
            raise ValueError(f"a reference needs at least {MIN_REFERENCE_CROPS} crops, not {len(stats)}")
        return cls(stats.mean(axis=0).tolist(), np.cov(stats.T).tolist(), len(stats))

    def standardised(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """Each statistic as a z-score against good faces: (N, 2)."""
        return (_stats(feats) - np.array(self.mean)) / np.sqrt(np.diag(self.cov))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Reference:
        if not path.exists():
            raise FileNotFoundError(f"score reference {path} is missing: run python -m eval.quality_eval first")
        return cls(**json.loads(path.read_text()))


def _raw(f: dict[str, np.ndarray], ref: Reference) -> np.ndarray:
    return f["log_rp"]


def _complexity(f: dict[str, np.ndarray], ref: Reference) -> np.ndarray:
    return _stats(f)[:, 0]


def _typicality(f: dict[str, np.ndarray], ref: Reference) -> np.ndarray:
    d = _stats(f) - np.array(ref.mean)
    return -np.einsum("ij,jk,ik->i", d, np.linalg.inv(np.array(ref.cov)), d)


def _fisher(f: dict[str, np.ndarray], ref: Reference) -> np.ndarray:
    z = ref.standardised(f)
    return log_normal_cdf(z[:, 0]) + log_normal_cdf(-z[:, 1])


ScoreFn = Callable[[dict[str, np.ndarray], Reference], np.ndarray]
SCORES: dict[str, ScoreFn] = {
    "raw": _raw,
    "complexity": _complexity,
    "typicality": _typicality,
    "fisher": _fisher,
}
DEFAULT_SCORE = "fisher"


def quality_scores(feats: dict[str, np.ndarray], ref: Reference) -> dict[str, np.ndarray]:
    """Every score variant for the same crops."""
    return {name: fn(feats, ref) for name, fn in SCORES.items()}
