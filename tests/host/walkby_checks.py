"""What a good pick from the built-in walk-by clip is, stated in the clip's own terms."""

from __future__ import annotations

from host.walkby import FRAMES, walkby_state


def near_bright_sharp_frontal(frame: int, frames: int = FRAMES) -> bool:
    """Brightness >= 0.8, focus blur <= 0.7 px at 640x480 (~0.2 px in the 64x64 crop, below its resolution),
    yaw <= 15 degrees and motion blur <= 2 px: frames 32-50 of the 75 (before: small, dark and blurred;
    after: turned away and motion-blurred)."""
    s = walkby_state(frame / max(frames - 1, 1))
    return s["brightness"] >= 0.8 and s["focus"] <= 0.7 and s["yaw"] <= 15 and s["motion"] <= 2
