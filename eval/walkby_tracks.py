"""A walk-by camera model: frames of a person walking up to a fixed camera, rendered from LFW photos.

Each track is drawn from one seed (`draw_track`), so a run is repeatable and a track does not depend on
which other tracks are rendered. Frame t shows the person's t-th image of a seeded random order of their
photos (cycling), placed on a `FRAME_SIZE` canvas:

- **Distance**: the person walks towards the camera at a constant speed, so the distance, proportional
  to 1 / face width, falls linearly over the track; the face grows from `FAR_WIDTH` (16-24 px wide) to
  `NEAR_WIDTH` (105-125 px) and grows fastest at the end. An LFW deep-funneled face is `LFW_FACE_WIDTH`
  px wide in the 250x250 photo, so the photo is scaled by width / 100 (area averaging when shrunk).
- **Position**: the path comes from a vanishing point (drawn in the middle of the frame) and drifts
  outwards in proportion to the face width (perspective), with a small sway; the face stays inside
  the frame. The photo is blended in through a feathered ellipse around the face, so its own edges do
  not show, over a fixed background per track around a slightly tinted grey level: plain, or (half the
  tracks) textured with smoothed colour noise at three scales plus a vertical gradient.
- **Motion blur**: a line kernel along the face's motion between rendered frames, of length shutter x
  (image displacement + half the growth in width); the shutter fraction is drawn per track
  (`SHUTTER`), so blur grows as the walker approaches and the face moves and grows faster. Only the face
  layer moves; the background stays sharp.
- **Focus blur**: Gaussian, sigma = aperture x |width - width at the focus distance| (the thin-lens
  blur circle grows with |1/d - 1/d_focus|, i.e. with the difference in width); the focus distance
  is drawn per track between the far and near ends, the aperture per track (`APERTURE`).
- **Exposure and noise** (linear light, gamma 2.2): a light level per track (`LIGHT`, log-uniform,
  dark included) times a per-frame variation (`LIGHT_JITTER`, log-normal). The sensor collects
  light x `FULL_WELL` electrons at white (drawn per track), adds shot noise (Gaussian with the Poisson
  variance) and read noise (`READ_NOISE` electrons); auto-exposure then applies a gain of 1 / light up
  to a maximum gain drawn per track (`MAX_GAIN`): dim frames are brightened and noisier, very dim ones
  stay dark as well.
- **Compression**: the whole frame is JPEG-encoded at a quality drawn per track (`JPEG_QUALITY`) with a
  small per-frame jitter.

The truth of every frame (the face's centre and width on the canvas) comes with it, so the evaluation
can find the detection of the rendered face among others.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

WALKBY_VERSION = 1                       # bump when the model or its parameters change (cache keys use it)
FRAME_SIZE = (480, 360)                  # canvas width, height in pixels
LFW_SIZE, LFW_FACE_WIDTH = 250, 100.0    # deep-funneled LFW photo side, face width in it (pixels)
LFW_FACE_CENTRE = (125.0, 125.0)         # the face's centre in the photo
FAR_WIDTH, NEAR_WIDTH = (16.0, 24.0), (105.0, 125.0)   # face width at the first and last frame, pixels
SHUTTER = (0.02, 0.12)          # exposure time / time between rendered frames
APERTURE = (0.005, 0.03)        # focus blur sigma per pixel of width away from the focus width
LIGHT = (0.06, 1.3)             # light level per track (1 = well exposed), log-uniform
LIGHT_JITTER = 0.2              # sd of the per-frame log light level
FULL_WELL = (300.0, 1500.0)     # electrons at white when the light level is 1
READ_NOISE = (1.5, 5.0)         # read noise sd, electrons
MAX_GAIN = (2.0, 6.0)           # auto-exposure's maximum gain
JPEG_QUALITY = (35, 90)         # per track; per frame +- JPEG_JITTER (sd)
JPEG_JITTER = 5.0
GAMMA = 2.2


def parameters() -> dict:
    """Every constant of the model (cache keys and reports include them)."""
    return {"version": WALKBY_VERSION, "frame": FRAME_SIZE, "far": FAR_WIDTH, "near": NEAR_WIDTH,
            "shutter": SHUTTER, "aperture": APERTURE, "light": LIGHT, "light_jitter": LIGHT_JITTER,
            "full_well": FULL_WELL, "read_noise": READ_NOISE, "max_gain": MAX_GAIN, "jpeg": JPEG_QUALITY,
            "jpeg_jitter": JPEG_JITTER}


@dataclass(frozen=True)
class FramePlan:
    """What one frame shows and how the camera sees it."""

    image: int                      # index into the track's photos
    centre: tuple[float, float]     # face centre on the canvas, pixels
    width: float                    # face width, pixels
    motion: tuple[float, float]     # motion blur vector, pixels
    focus_sigma: float              # focus blur sigma, pixels
    light: float                    # light level (1 = well exposed)
    jpeg_quality: int


@dataclass(frozen=True)
class TrackPlan:
    """A drawn walk-by: per-frame plans and the camera's per-track constants."""

    seed: int
    frames: tuple[FramePlan, ...]
    textured: bool
    full_well: float
    read_noise: float
    max_gain: float

    def as_dict(self) -> dict:
        return asdict(self)


def draw_track(seed: int, frames: int, images: int) -> TrackPlan:
    """The walk-by of one track: `frames` frames from `images` photos (a seeded order, cycled)."""
    if frames < 2 or images < 1:
        raise ValueError(f"a track needs at least 2 frames and 1 image, not {frames} and {images}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(images)
    w_far, w_near = rng.uniform(*FAR_WIDTH), rng.uniform(*NEAR_WIDTH)
    u = np.arange(frames) / (frames - 1)
    width = 1 / (1 / w_far + (1 / w_near - 1 / w_far) * u)           # distance ~ 1/width, linear in time
    fw, fh = FRAME_SIZE
    vanish = np.array([rng.uniform(0.35, 0.65) * fw, rng.uniform(0.3, 0.5) * fh])
    drift = np.array([rng.uniform(-0.3, 0.3) * fw, rng.uniform(0.0, 0.12) * fh])
    sway = rng.normal(0, 0.05, (frames, 2)) * width[:, None]
    centre = vanish + drift * (width / w_near)[:, None] + sway
    half = 0.6 * width[:, None]
    centre = np.clip(centre, half, np.array([fw, fh]) - half)
    step = np.diff(centre, axis=0, prepend=centre[:1] - (centre[1:2] - centre[:1]))
    grow = np.diff(width, prepend=2 * width[0] - width[1])
    shutter = rng.uniform(*SHUTTER)
    length = shutter * (np.linalg.norm(step, axis=1) + np.abs(grow) / 2)
    direction = step / np.maximum(np.linalg.norm(step, axis=1, keepdims=True), 1e-9)
    focus = np.exp(rng.uniform(np.log(w_far), np.log(w_near)))
    aperture = rng.uniform(*APERTURE)
    light = np.exp(rng.uniform(*np.log(LIGHT)) + rng.normal(0, LIGHT_JITTER, frames))
    quality = np.clip(np.rint(rng.uniform(*JPEG_QUALITY) + rng.normal(0, JPEG_JITTER, frames)), 10, 95)
    plans = tuple(FramePlan(int(order[t % images]), (float(centre[t, 0]), float(centre[t, 1])), float(width[t]),
                            (float(length[t] * direction[t, 0]), float(length[t] * direction[t, 1])),
                            float(aperture * abs(width[t] - focus)), float(light[t]), int(quality[t]))
                  for t in range(frames))
    return TrackPlan(seed, plans, bool(rng.random() < 0.5), float(rng.uniform(*FULL_WELL)),
                     float(rng.uniform(*READ_NOISE)), float(rng.uniform(*MAX_GAIN)))


def background(plan: TrackPlan) -> np.ndarray:
    """The track's fixed scene behind the walker, linear light (H, W, 3) float32."""
    rng = np.random.default_rng([plan.seed, 1])
    fw, fh = FRAME_SIZE
    base = rng.uniform(0.03, 0.5) * np.exp(rng.normal(0, 0.2, 3))   # a grey level, slightly tinted
    if not plan.textured:
        return np.broadcast_to(base, (fh, fw, 3)).astype(np.float32).copy()
    scene = np.zeros((fh, fw, 3), np.float32)
    for cell, amp in ((96, 0.5), (32, 0.3), (8, 0.15)):
        coarse = rng.normal(0, 1, (fh // cell + 2, fw // cell + 2, 3)).astype(np.float32)
        scene += amp * cv2.resize(coarse, (fw, fh), interpolation=cv2.INTER_CUBIC)
    gradient = np.linspace(-0.3, 0.3, fh, dtype=np.float32)[:, None, None] * rng.uniform(-1, 1)
    return np.clip(base * np.exp(0.5 * scene + gradient), 0, 1).astype(np.float32)


def _line_kernel(motion: tuple[float, float]) -> np.ndarray | None:
    """A normalised line kernel along `motion` (None when shorter than a pixel)."""
    length = float(np.hypot(*motion))
    if length < 1:
        return None
    k = 2 * int(np.ceil(length / 2)) + 1
    kernel = np.zeros((k, k), np.float32)
    for s in np.linspace(-0.5, 0.5, 4 * k):
        x, y = k // 2 + s * motion[0], k // 2 + s * motion[1]
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if 0 <= x0 + dx < k and 0 <= y0 + dy < k:
                kernel[y0 + dy, x0 + dx] += w
    return kernel / kernel.sum()


def _face_mask(size: int) -> np.ndarray:
    """Feathered ellipse around the face of a photo resized to `size`: alpha (size, size) float32."""
    yy, xx = (np.mgrid[:size, :size].astype(np.float32) + 0.5) * (LFW_SIZE / size)
    r = ((xx - LFW_FACE_CENTRE[0]) / 90) ** 2 + ((yy - LFW_FACE_CENTRE[1] - 5) / 112) ** 2
    return np.clip((1.25 - r) / 0.5, 0, 1).astype(np.float32)


def render_frame(photo: np.ndarray, plan: TrackPlan, t: int, scene: np.ndarray | None = None) -> np.ndarray:
    """Frame `t` of `plan` showing `photo` (a 250x250 LFW RGB photo): uint8 RGB of FRAME_SIZE."""
    f = plan.frames[t]
    scene = background(plan) if scene is None else scene
    size = max(round(LFW_SIZE * f.width / LFW_FACE_WIDTH), 4)
    scale = size / photo.shape[1]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    linear = (cv2.resize(photo, (size, size), interpolation=interp).astype(np.float32) / 255) ** GAMMA
    alpha = _face_mask(size)
    kernel = _line_kernel(f.motion)
    pad = int(np.ceil(3 * f.focus_sigma + np.hypot(*f.motion))) + 2
    layer = np.zeros((size + 2 * pad, size + 2 * pad, 4), np.float32)
    layer[pad:pad + size, pad:pad + size, :3] = linear * alpha[..., None]
    layer[pad:pad + size, pad:pad + size, 3] = alpha
    if kernel is not None:
        layer = cv2.filter2D(layer, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    if f.focus_sigma > 0.3:
        layer = cv2.GaussianBlur(layer, (0, 0), f.focus_sigma, borderType=cv2.BORDER_CONSTANT)
    # the photo's face centre lands on the planned centre
    x0 = round(f.centre[0] - LFW_FACE_CENTRE[0] * size / LFW_SIZE) - pad
    y0 = round(f.centre[1] - LFW_FACE_CENTRE[1] * size / LFW_SIZE) - pad
    fw, fh = FRAME_SIZE
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + layer.shape[1], fw), min(y0 + layer.shape[0], fh)
    light = scene.copy()
    if xa < xb and ya < yb:
        part = layer[ya - y0:yb - y0, xa - x0:xb - x0]
        light[ya:yb, xa:xb] = light[ya:yb, xa:xb] * (1 - part[..., 3:]) + part[..., :3]
    rng = np.random.default_rng([plan.seed, 2, t])
    electrons = light * f.light * plan.full_well
    electrons += rng.standard_normal(electrons.shape, np.float32) * np.sqrt(electrons + plan.read_noise ** 2)
    gain = min(1 / f.light, plan.max_gain)
    out = np.clip(gain * electrons / plan.full_well, 0, 1) ** (1 / GAMMA)
    bgr = cv2.cvtColor(np.rint(out * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    _, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, f.jpeg_quality])
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def face_box(plan: TrackPlan, t: int) -> tuple[float, float, float, float]:
    """The rendered face's box (x, y, w, h) on the canvas: a square of the face width around its centre."""
    f = plan.frames[t]
    return (f.centre[0] - f.width / 2, f.centre[1] - f.width / 2, f.width, f.width)


def render_track(photos: list[np.ndarray], plan: TrackPlan) -> list[np.ndarray]:
    """Every frame of `plan`, its photos indexed by FramePlan.image."""
    scene = background(plan)
    return [render_frame(photos[f.image], plan, t, scene) for t, f in enumerate(plan.frames)]


def plot_tracks(tracks: list[tuple[str, list[np.ndarray]]], out: Path, columns: int = 5) -> None:
    """Documentation figure (holds LFW pixels): `columns` frames spread along each track, full frames."""
    from quant.plots import plt, save_figure

    fig, axes = plt.subplots(len(tracks), columns, figsize=(2.6 * columns, 2.1 * len(tracks)), squeeze=False)
    for row, (name, frames) in zip(axes, tracks, strict=True):
        for ax, t in zip(row, np.linspace(0, len(frames) - 1, columns).round().astype(int), strict=True):
            ax.imshow(frames[t])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}, frame {t}", fontsize=7)
    fig.suptitle("Walk-by tracks rendered from LFW photos (eval.walkby_tracks)", fontsize=9)
    save_figure(fig, out)
