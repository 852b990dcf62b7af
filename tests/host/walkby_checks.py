"""What a good pick from the built-in walk-by clip is, stated in the clip's own terms."""

from __future__ import annotations

from host.walkby import FRAMES, walkby_state


def near_bright_sharp_frontal(frame: int, frames: int = FRAMES) -> bool:
    """The near part of the approach, before the turn: brightness >= 0.7 and scale >= 0.75 of the peak's, focus
    blur <= 1 px at 640x480 (~0.2 px in the 64x64 crop, below its resolution), yaw <= 15 degrees and motion blur
    <= 2 px, i.e. frames 27-50 of the 75. Before: small, dark and blurred (what a raw likelihood prefers);
    after: turned away and motion-blurred. Within the range the scores are flat and the pick is the model's
    (and the platform's OpenCV's) own: the shipped build with the default score 50 here and 44 with PYNQ 3's
    libraries (with `fisher`, the default until 2026-11-30: 35 and 30)."""
    s = walkby_state(frame / max(frames - 1, 1))
    return (s["brightness"] >= 0.7 and s["scale"] >= 0.75 and s["focus"] <= 1.0 and s["yaw"] <= 15
            and s["motion"] <= 2)
