"""Head pose and face resolution from MTCNN's box and five landmarks (numpy only; runs on the board).

The landmarks are (left eye, right eye, nose, left mouth corner, right mouth corner) in image pixels,
as `host.faces.Detection` holds them. The face is first de-rotated about the eye midpoint (roll, the
in-plane angle, is not a quality: every recognizer's alignment undoes it, and the LFW reference photos are
deep-funneled, i.e. already de-rotated, so their roll spread measures the aligner), then:

- ``yaw``: the nose's horizontal offset from the midline of eyes and mouth, in inter-ocular distances
  (0 for a frontal face; towards +-1 and beyond for a profile, where the nose leaves the eyes' span);
- ``pitch``: where the nose lies between the eye line (0) and the mouth line (1);
- ``face_side``: log of the detector box's longer side in source pixels (how many pixels the face
  had, which the 64x64 crop cannot show: a small face is upscaled into it).

Where a detection has no landmarks (NaN), the pose numbers are NaN and the scores treat them as typical.
"""

from __future__ import annotations

import numpy as np

POSE_FEATURES = ("yaw", "pitch")
SIZE_FEATURE = "face_side"
_EPS = 1e-6


def detection_features(boxes: np.ndarray, landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Yaw, pitch and size of N detections: boxes (N, 4) x, y, w, h; landmarks (N, 5, 2) -> (N,) each."""
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
    side = np.log(np.maximum(boxes[:, 2:].max(axis=1), 1.0))
    return {"yaw": yaw, "pitch": pitch, SIZE_FEATURE: side}


def landmark_array(landmarks: list[tuple[tuple[float, float], ...]]) -> np.ndarray:
    """Landmarks of several `Detection`s as an (N, 5, 2) array; NaN rows where a detection has none."""
    out = np.full((len(landmarks), 5, 2), np.nan)
    for i, points in enumerate(landmarks):
        if len(points) == 5:
            out[i] = points
    return out
