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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from host.pose import POSE_FEATURES, SIZE_FEATURE
from host.scoring import Reconstruction

LN2 = math.log(2)
MAD_TO_SIGMA = 1 / 0.6745  # median absolute deviation -> standard deviation of a Gaussian
MIN_REFERENCE_CROPS = 10
ROBUST_Z = 3.0        # a calibrating camera keeps faces within this many robust sigmas of the median
LATENT_RIDGE = 1e-3   # added to the latent covariance's diagonal (latents are O(1)): invertible with few faces
LATENT_TERM = "latent_distance"
EXPOSURE_MEAN, EXPOSURE_STD = 110.0, 54.0  # median grey level and contrast of the 1,549 LFW reference crops
DETECTION_TERMS = (*POSE_FEATURES, SIZE_FEATURE)
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
        "mu_z": np.asarray(rec.mu_z, dtype=np.float64),
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


def _inliers(columns: np.ndarray) -> np.ndarray:
    """Rows within ROBUST_Z robust standard deviations of the median in every column (NaN counts as typical)."""
    z = np.abs(columns - np.nanmedian(columns, axis=0)) / _robust_scale(columns)
    return (np.nan_to_num(z) < ROBUST_Z).all(axis=1)


def _robust_scale(values: np.ndarray) -> np.ndarray:
    """Median absolute deviation as a Gaussian sigma, per column, NaN ignored (never below _EPS)."""
    return np.maximum(np.nanmedian(np.abs(values - np.nanmedian(values, axis=0)), axis=0) * MAD_TO_SIGMA, _EPS)


def latent_distance(mu_z: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of each latent mean (N, D) from good faces' latent means."""
    d = np.asarray(mu_z, dtype=np.float64) - mean
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, precision, d), 0))


@dataclass(frozen=True)
class Reference:
    """Statistics of the score features on good faces of the deployment's kind.

    `mean`/`cov`: the complexity-corrected log RP and the residual noise-to-contrast ratio (every
    variant). `terms`: [median, robust sigma] of each extra term (pose, face size, latent distance);
    `latent_mean`/`latent_precision`: where good faces' latent means lie. The extra fields are empty in a
    reference fitted without detections or latents; variants that need them then cannot be scored."""

    mean: list[float]
    cov: list[list[float]]
    crops: int
    terms: dict[str, list[float]] = field(default_factory=dict)
    latent_mean: list[float] = field(default_factory=list)
    latent_precision: list[list[float]] = field(default_factory=list)

    @classmethod
    def fit(cls, feats: dict[str, np.ndarray], *, robust: bool = False) -> Reference:
        """Fit on good faces. `robust` (a camera calibrating on whatever it sees): every statistic from the
        faces within ROBUST_Z robust sigmas of the median in every feature, so bad frames do not count."""
        stats = _stats(feats)
        if len(stats) < MIN_REFERENCE_CROPS:
            raise ValueError(f"a reference needs at least {MIN_REFERENCE_CROPS} crops, not {len(stats)}")
        extra = {k: np.asarray(feats[k], dtype=np.float64) for k in DETECTION_TERMS if k in feats}
        keep = _inliers(np.column_stack([stats, *extra.values()])) if robust else np.ones(len(stats), bool)
        if keep.sum() < MIN_REFERENCE_CROPS:
            raise ValueError(f"a reference needs at least {MIN_REFERENCE_CROPS} typical crops, not {keep.sum()}")
        terms = {k: [float(np.nanmedian(v[keep])), float(_robust_scale(v[keep, None])[0])]
                 for k, v in extra.items()}
        latent_mean, precision = [], []
        if "mu_z" in feats:
            mu_z = np.asarray(feats["mu_z"], dtype=np.float64)[keep]
            cov = np.cov(mu_z.T) + LATENT_RIDGE * np.eye(mu_z.shape[1])
            mean, prec = mu_z.mean(axis=0), np.linalg.inv(cov)
            dist = latent_distance(mu_z, mean, prec)
            terms[LATENT_TERM] = [float(np.median(dist)), float(_robust_scale(dist[:, None])[0])]
            latent_mean, precision = mean.tolist(), prec.tolist()
        return cls(stats[keep].mean(axis=0).tolist(), np.cov(stats[keep].T).tolist(), int(keep.sum()),
                   terms, latent_mean, precision)

    def standardised(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """Each statistic as a z-score against good faces: (N, 2)."""
        return (_stats(feats) - np.array(self.mean)) / np.sqrt(np.diag(self.cov))

    def term_z(self, name: str, feats: dict[str, np.ndarray]) -> np.ndarray:
        """An extra term as a robust z-score against good faces; NaN (unknown) counts as typical (0)."""
        if name == LATENT_TERM:
            values = latent_distance(feats["mu_z"], np.array(self.latent_mean), np.array(self.latent_precision))
        else:
            values = np.asarray(feats[name], dtype=np.float64)
        centre, scale = self.terms[name]
        return np.nan_to_num((values - centre) / scale)

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

# the extra terms' groups and which side of each term's distribution is penalised (never better than typical)
TERM_GROUPS = {"pose": POSE_FEATURES, "size": (SIZE_FEATURE,), "face": (LATENT_TERM,)}
_PENALISED = {"yaw": "both", "pitch": "both", SIZE_FEATURE: "low", LATENT_TERM: "high"}


def term_log_tail(name: str, feats: dict[str, np.ndarray], ref: Reference) -> np.ndarray:
    """log P(a good face is at least this atypical) for one extra term: its one-sided (or, for pose
    angles, |deviation|) Gaussian tail. 0 at best; a typical face gets log 1/2 (log 1 for pose)."""
    z = ref.term_z(name, feats)
    side = _PENALISED[name]
    if side == "both":
        return LN2 + log_normal_cdf(-np.abs(z))
    return log_normal_cdf(z if side == "low" else -z)


def _fisher_with(groups: tuple[str, ...]) -> ScoreFn:
    def score(f: dict[str, np.ndarray], ref: Reference) -> np.ndarray:
        return _fisher(f, ref) + sum(term_log_tail(t, f, ref) for g in groups for t in TERM_GROUPS[g])
    return score


def _group_sets() -> list[tuple[str, ...]]:
    names = list(TERM_GROUPS)
    return [tuple(g for i, g in enumerate(names) if mask >> i & 1) for mask in range(1, 1 << len(names))]


SCORES: dict[str, ScoreFn] = {
    "raw": _raw,
    "complexity": _complexity,
    "typicality": _typicality,
    "fisher": _fisher,
    **{"fisher+" + "+".join(groups): _fisher_with(groups) for groups in _group_sets()},
}
DEFAULT_SCORE = "fisher+pose+size"
DETECTION_GROUPS = ("pose", "size")   # terms computed from the detection, not from the crop


def crop_part(variant: str) -> str:
    """The variant without its detection terms: what a crop alone is scored by (a degradation table, the
    quantization gate). Pose and size are the same for float and quantized models and for the degraded
    copies of one crop, so they cannot change those comparisons within an image."""
    base, *groups = variant.split("+")
    return "+".join([base, *(g for g in groups if g not in DETECTION_GROUPS)])


DEFAULT_CROP_SCORE = crop_part(DEFAULT_SCORE)


def needed_terms(variant: str) -> tuple[str, ...]:
    """The extra terms a variant adds to `fisher` (none for the four base variants)."""
    groups = variant.split("+")[1:]
    return tuple(t for g in groups for t in TERM_GROUPS[g])


def missing_for(variant: str, feats: dict[str, np.ndarray] | None, ref: Reference) -> list[str]:
    """What `variant` needs and lacks: terms absent from the reference, features absent from `feats`
    (``None``: only the reference is checked)."""
    lacking = [f"{t} statistics in the score reference" for t in needed_terms(variant) if t not in ref.terms]
    if feats is not None:
        wanted = {("mu_z" if t == LATENT_TERM else t) for t in needed_terms(variant)}
        lacking += [f"the crops' {k}" for k in sorted(wanted) if k not in feats]
    return lacking


def quality_scores(feats: dict[str, np.ndarray], ref: Reference) -> dict[str, np.ndarray]:
    """Every score variant that the features and the reference allow, for the same crops."""
    return {name: fn(feats, ref) for name, fn in SCORES.items() if not missing_for(name, feats, ref)}


def normalise_exposure(crops: np.ndarray, mean: float = EXPOSURE_MEAN, std: float = EXPOSURE_STD) -> np.ndarray:
    """uint8 crops (N, H, W) with each crop's brightness and contrast set to `mean` and `std` (grey levels;
    default: those of the LFW score-reference crops), as recognizers standardise their input. Score such
    crops with a reference fitted on normalised good faces."""
    x = crops.astype(np.float64)
    m = x.mean(axis=(1, 2), keepdims=True)
    s = np.maximum(x.std(axis=(1, 2), keepdims=True), 1.0)
    return np.clip(np.rint((x - m) / s * std + mean), 0, 255).astype(np.uint8)
