"""Face-quality scores built on the VAE (numpy + OpenCV only: computable on the board).

Every score is a function of per-crop *features* (computed once from a `Reconstruction`) and of a
`Reference` (the same features on held-out good faces, fitted once per checkpoint). Higher = better.
"""

from __future__ import annotations

import cv2
import numpy as np

from host.scoring import Reconstruction

LN2 = float(np.log(2))


def png_bits(crops: np.ndarray) -> np.ndarray:
    """Lossless (PNG, level 9) size of each uint8 crop in bits: a generic complexity measure."""
    return np.array([8 * len(cv2.imencode(".png", c, [cv2.IMWRITE_PNG_COMPRESSION, 9])[1]) for c in crops],
                    dtype=np.float64)


def _band_energy(img: np.ndarray) -> np.ndarray:
    """Mean squared detail of (N, H, W) images at the three finest Laplacian-pyramid levels."""
    out = []
    cur = img.astype(np.float32)
    for _ in range(3):
        small = np.stack([cv2.pyrDown(c) for c in cur])
        up = np.stack([cv2.pyrUp(s, dstsize=c.shape[::-1]) for s, c in zip(small, cur, strict=True)])
        out.append(((cur - up) ** 2).mean(axis=(1, 2)))
        cur = small
    return np.stack(out, axis=1)


def crop_features(rec: Reconstruction) -> dict[str, np.ndarray]:
    """Per-crop features the scores are built from."""
    crops = np.rint(rec.x * 255).astype(np.uint8)
    mean_rec = rec.mu_x.mean(axis=1)
    z2 = ((rec.x[:, None] - rec.mu_x) * np.exp(-rec.log_sigma_x)) ** 2
    feats = {
        "log_rp": rec.log_rp,
        "png_bits": png_bits(crops),
        "mean_log_sigma": rec.log_sigma_x.mean(axis=(1, 2, 3)),
        "std_resid2": z2.mean(axis=(1, 2, 3)),
        "mean": rec.x.mean(axis=(1, 2)),
        "contrast": rec.x.std(axis=(1, 2)),
    }
    bands_x = _band_energy(rec.x)
    bands_r = _band_energy(rec.x - mean_rec)
    for i in range(3):
        feats[f"x_band{i}"] = bands_x[:, i]
        feats[f"r_band{i}"] = bands_r[:, i]
    return feats
