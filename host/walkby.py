"""The built-in input of host/run.py: a synthetic walk-by clip made on the fly from a public-domain face.

scikit-image's "astronaut" (Eileen Collins, NASA, public domain) walks towards the camera: small, dark and
out of focus at first, then near, bright and sharp, then turning away with motion blur. The best frame is
therefore around 60 % of the clip, which makes the frame selection visible.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

SOURCE = "scikit-image's public-domain astronaut portrait (NASA)"
FRAMES = 75
SIZE = (640, 480)       # width, height
PEAK = 0.6              # fraction of the clip where the face is nearest, brightest and sharpest


def portrait() -> np.ndarray:
    """Head and shoulders of the astronaut portrait (270 x 240 RGB)."""
    try:
        from skimage import data
    except ImportError as exc:
        raise RuntimeError("the built-in clip needs scikit-image (pip install scikit-image), "
                           "or give --video/--camera") from exc
    return np.ascontiguousarray(data.astronaut()[0:270, 105:345])


def walkby_state(t: float) -> dict[str, float]:
    """Scale, brightness, focus blur (sigma), yaw (degrees) and motion blur (pixels) at clip time t in [0, 1]."""
    a = min(t / PEAK, 1.0)
    b = max((t - PEAK) / (1 - PEAK), 0.0)
    return {"scale": 0.4 + 0.6 * a, "brightness": 0.3 + 0.7 * a, "focus": 2.5 * (1 - a),
            "yaw": 75 * b, "motion": 9 * b, "x": 0.15 + 0.35 * a + 0.25 * b}


def render(face: np.ndarray, t: float, background: np.ndarray) -> np.ndarray:
    s = walkby_state(t)
    h = max(int(face.shape[0] * s["scale"]), 8)
    w = max(int(face.shape[1] * s["scale"] * np.cos(np.radians(s["yaw"]))), 8)
    patch = cv2.resize(face, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * s["brightness"]
    if s["focus"] > 0.05:
        patch = cv2.GaussianBlur(patch, (0, 0), s["focus"])
    if s["motion"] >= 1:
        k = int(s["motion"]) | 1
        patch = cv2.filter2D(patch, -1, np.full((1, k), 1 / k, np.float32))
    frame = background.copy()
    fh, fw = frame.shape[:2]
    x0 = int(np.clip(s["x"] * fw - w / 2, 0, fw - w))
    y0 = int(np.clip(fh * 0.55 - h / 2, 0, fh - h))
    frame[y0:y0 + h, x0:x0 + w] = patch
    return frame


def walkby_clip(frames: int = FRAMES, size: tuple[int, int] = SIZE, seed: int = 0) -> Iterator[np.ndarray]:
    """The clip's RGB frames (deterministic: fixed sensor-noise seed)."""
    w, h = size
    face = portrait()
    if h != SIZE[1]:
        face = cv2.resize(face, None, fx=h / SIZE[1], fy=h / SIZE[1], interpolation=cv2.INTER_AREA)
    face = face.astype(np.float32)
    rng = np.random.default_rng(seed)
    background = np.broadcast_to(np.linspace(60, 140, w, dtype=np.float32)[None, :, None], (h, w, 3))
    for i in range(frames):
        frame = render(face, i / max(frames - 1, 1), background)
        yield np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
