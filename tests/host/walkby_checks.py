"""What a good pick from the built-in walk-by clip is, stated in the clip's own terms."""

from __future__ import annotations

from host.walkby import FRAMES, walkby_state


def near_bright_sharp_frontal(frame: int, frames: int = FRAMES) -> bool:
    """The near part of the approach, before the turn: brightness >= 0.7 and scale >= 0.75 of the peak's, focus
    blur <= 1 px at 640x480 (~0.2 px in the 64x64 crop, below its resolution), yaw <= 15 degrees and motion blur
    <= 2 px, i.e. frames 27-50 of the 75. Before: small, dark and blurred (what a raw likelihood prefers);
    after: turned away and motion-blurred. Within the range the scores are flat and the pick is the model's
    (and the platform's OpenCV's) own: float c32 38, the shipped build 35 here and 30 with PYNQ's libraries."""
    s = walkby_state(frame / max(frames - 1, 1))
    return (s["brightness"] >= 0.7 and s["scale"] >= 0.75 and s["focus"] <= 1.0 and s["yaw"] <= 15
            and s["motion"] <= 2)
