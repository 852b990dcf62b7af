"""Controlled image degradations at five severity levels (applied to the whole image before detection).

Level 3 of each is the issue's reference severity: Gaussian blur sigma 3 px, brightness x0.35,
Gaussian noise sigma 20/255, JPEG quality 10, downscale to 24 px wide and back.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

REFERENCE_LEVEL = 3  # 1-based index into each severity list
LEVELS = 5  # severities per degradation


def blur(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def brightness(rgb: np.ndarray, factor: float, seed: int = 0) -> np.ndarray:
    return np.clip(np.rint(rgb.astype(np.float32) * factor), 0, 255).astype(np.uint8)


def noise(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Additive Gaussian noise of `sigma` grey levels (of 255), seeded per image for repeatability."""
    n = np.random.default_rng(seed).normal(0.0, sigma, rgb.shape)
    return np.clip(np.rint(rgb + n), 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: float, seed: int = 0) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode the image")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def downscale(rgb: np.ndarray, width: float, seed: int = 0) -> np.ndarray:
    """Downscale to `width` pixels wide (area averaging) and back up (bilinear)."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (int(width), max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


Degradation = Callable[..., np.ndarray]

# name -> (function, severities from mild to severe)
DEGRADATIONS: dict[str, tuple[Degradation, tuple[float, ...]]] = {
    "blur": (blur, (1.0, 2.0, 3.0, 4.5, 6.0)),
    "dark": (brightness, (0.75, 0.55, 0.35, 0.25, 0.15)),
    "noise": (noise, (5.0, 10.0, 20.0, 30.0, 45.0)),
    "jpeg": (jpeg, (40, 20, 10, 6, 3)),
    "downscale": (downscale, (64, 40, 24, 16, 12)),
}


def degrade(rgb: np.ndarray, name: str, level: int, seed: int = 0) -> np.ndarray:
    """`rgb` degraded by `name` at severity `level` (1..5; 0 returns the image unchanged)."""
    fn, severities = DEGRADATIONS[name]
    if not 0 <= level <= len(severities):
        raise ValueError(f"level must be in 0..{len(severities)}, not {level}")
    return rgb if level == 0 else fn(rgb, severities[level - 1], seed)


def severity_series(scores: np.ndarray, index: int, levels: int = LEVELS) -> np.ndarray:
    """Columns [clean, level 1..levels] of degradation number `index` from (images, 1 + D x levels) scores."""
    return np.concatenate([scores[:, :1], scores[:, 1 + index * levels:1 + (index + 1) * levels]], axis=1)
