"""Scene-cut detection: a shot cut, a bumped camera or a PTZ camera that moves ends every open track.

Each frame is reduced to a 32x18 grey thumbnail; two consecutive thumbnails differ by a cut when their
correlation distance (1 - Pearson correlation: blind to brightness and contrast changes such as stage light
or auto-exposure) exceeds `CUT_DISTANCE` and their mean absolute difference exceeds `CUT_MEAN_DIFF` grey
levels (so that two nearly flat frames, whose correlation is noise, never count). Measured on the six real
clips of ../shared/data/video (docs/camera.md): the 7 cuts lie at 0.38..1.0, the 1,587 other frame pairs at
most at 0.19 (a dancing crowd); thresholds chosen on cuts-dance, crowd and expressions, confirmed on the
other three. In real time `marked` runs the test on every frame the camera delivers, before frames are dropped:
two frames further apart differ more, and a moving crowd then looks like a cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import cv2
import numpy as np

from host.sources import Frame

THUMB = (32, 18)          # thumbnail width, height (16:9; other aspect ratios are squeezed alike every frame)
PRESAMPLE = 8             # frames are first subsampled to 8x the thumbnail (nearest), then area-averaged
CUT_DISTANCE = 0.3        # correlation distance above which two consecutive frames belong to different shots
CUT_MEAN_DIFF = 6.0       # ... provided they also differ by this many grey levels on average


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """The 32x18 grey thumbnail of an RGB frame, float32."""
    w, h = THUMB
    if rgb.shape[1] > PRESAMPLE * w and rgb.shape[0] > PRESAMPLE * h:   # cheap: never area-average a full frame
        rgb = cv2.resize(rgb, (PRESAMPLE * w, PRESAMPLE * h), interpolation=cv2.INTER_NEAREST)
    grey = cv2.cvtColor(cv2.resize(rgb, THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    return grey.astype(np.float32)


def cut_distance(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(correlation distance, mean absolute difference) of two thumbnails."""
    da, db = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((da * da).sum() * (db * db).sum()))
    corr = float((da * db).sum()) / norm if norm > 0 else 0.0
    return 1.0 - corr, float(np.abs(a - b).mean())


class CutDetector:
    """Feed every frame in order; `is_cut` says whether it starts a new shot."""

    def __init__(self, *, distance: float = CUT_DISTANCE, mean_diff: float = CUT_MEAN_DIFF) -> None:
        if not 0 < distance <= 2 or mean_diff < 0:
            raise ValueError(f"cut distance must be in (0, 2] and mean difference >= 0, not {distance}, {mean_diff}")
        self.distance, self.mean_diff = distance, mean_diff
        self._previous: np.ndarray | None = None

    def is_cut(self, rgb: np.ndarray) -> bool:
        thumb = thumbnail(rgb)
        previous, self._previous = self._previous, thumb
        if previous is None:
            return False
        corr, diff = cut_distance(previous, thumb)
        return corr > self.distance and diff > self.mean_diff


def marked(frames: Iterable[Frame]) -> Iterator[Frame]:
    """The same frames, each with `cut` set by one `CutDetector` that sees every one of them."""
    detector = CutDetector()
    for frame in frames:
        yield replace(frame, cut=detector.is_cut(frame.rgb))
