"""Head pose and face resolution from MTCNN's box and five landmarks (numpy only; runs on the board).

The landmarks are (left eye, right eye, nose, left mouth corner, right mouth corner) in image pixels,
as `host.faces.Detection` holds them. The face is first de-rotated about the eye midpoint (roll, the
in-plane angle, is not a quality: every recognizer's alignment undoes it, and the LFW reference photos are
deep-funneled, i.e. already de-rotated, so their roll spread measures the aligner), then:

- ``yaw``: the nose's horizontal offset from the midline of eyes and mouth, in inter-ocular distances
  (0 for a frontal face; towards +-1 and beyond for a profile, where the nose leaves the eyes' span);
- ``pitch``: where the nose lies between the eye line (0) and the mouth line (1);
- ``face_side``: log of the face's size in source pixels (how many pixels the face had, which the 64x64
  crop cannot show: a small face is upscaled into it): the detector box's longer side or, along a track, the
  median box side of the `SIZE_WINDOW` detections centred on this one (`centred_sides`): a box that MTCNN
  inflates for a frame or two by taking in a second face or a head turned down is not the person coming
  closer, and a centred window, unlike one of the latest detections, does not lag a face that approaches.

Where a detection has no landmarks (NaN), the pose numbers are NaN and the scores treat them as typical.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

POSE_FEATURES = ("yaw", "pitch")
SIZE_FEATURE = "face_side"
SIZE_WINDOW = 5                 # a track's detections, centred on one, whose median box side is its face size
SIZE_LAG = SIZE_WINDOW // 2     # ... so a detection's size is known this many detections later
_EPS = 1e-6


def box_side(box: Sequence[float]) -> float:
    """The longer side of an (x, y, w, h) box, in its pixels."""
    return float(max(box[2], box[3]))


def window_side(sides: Sequence[float]) -> float:
    """The face size of a detection from the box sides of its window (itself, up to `SIZE_LAG` detections before
    and after it): their median."""
    if not len(sides):
        raise ValueError("a face size needs at least one box")
    return float(np.median(np.asarray(sides, dtype=np.float64)))


def centred_sides(sides: Sequence[float]) -> np.ndarray:
    """Each detection's face size along a track whose box sides are `sides` (in order): the median over the
    window of `SIZE_WINDOW` detections centred on it, cut off at the track's ends (not shrunk to stay
    symmetric there: a track often ends as a face is covered, and that last box needs the window most)."""
    sides = np.asarray(sides, dtype=np.float64)
    return np.array([window_side(sides[max(i - SIZE_LAG, 0):i + SIZE_LAG + 1]) for i in range(len(sides))])


def detection_features(boxes: np.ndarray, landmarks: np.ndarray,
                       sides: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Yaw, pitch and size of N detections: boxes (N, 4) x, y, w, h; landmarks (N, 5, 2) -> (N,) each. The size
    is `sides` (N,) in source pixels where given (a track's `centred_sides`), else each box's longer side."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    pts = np.asarray(landmarks, dtype=np.float64).reshape(len(boxes), 5, 2)
    left_eye, right_eye = pts[:, 0], pts[:, 1]
    eyes = (left_eye + right_eye) / 2
    eye_line = right_eye - left_eye
    roll = np.arctan2(eye_line[:, 1], eye_line[:, 0])
    cos, sin = np.cos(-roll)[:, None], np.sin(-roll)[:, None]
    rel = pts - eyes[:, None]
    upright = np.stack([cos * rel[..., 0] - sin * rel[..., 1], sin * rel[..., 0] + cos * rel[..., 1]], axis=-1)
    ocular = np.maximum(np.hypot(eye_line[:, 0], eye_line[:, 1]), _EPS)
    mouth = (upright[:, 3] + upright[:, 4]) / 2
    midline_x = mouth[:, 0] / 2                       # halfway between the eye midpoint (0) and the mouth's
    yaw = (upright[:, 2, 0] - midline_x) / ocular
    pitch = upright[:, 2, 1] / np.where(np.abs(mouth[:, 1]) > _EPS, mouth[:, 1], np.nan)
    side = np.log(np.maximum(boxes[:, 2:].max(axis=1) if sides is None else np.asarray(sides, np.float64), 1.0))
    return {"yaw": yaw, "pitch": pitch, SIZE_FEATURE: side}


def landmark_array(landmarks: list[tuple[tuple[float, float], ...]]) -> np.ndarray:
    """Landmarks of several `Detection`s as an (N, 5, 2) array; NaN rows where a detection has none."""
    out = np.full((len(landmarks), 5, 2), np.nan)
    for i, points in enumerate(landmarks):
        if len(points) == 5:
            out[i] = points
    return out
