"""Per image: the main face, its shared crops, both recognizers' embeddings and the non-VAE quality measures.

Runs in worker processes (one OpenCV thread each); every model is loaded once per process. Nothing
with pixels is returned except the 64x64 grey VAE crop, which callers keep in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from eval.baselines import BRISQUE_SIZE, Brisque, face_size, laplacian_sharpness
from eval.recognizers import DlibResNet, FaceNet
from host.faces import Detection, FaceDetector, crop_face, keepsake_crop, main_face

# LFW deep-funneled images are 250x250 with the face centred: where MTCNN finds none, this box stands in
FALLBACK_BOX = (70.0, 70.0, 110.0, 110.0)
BASELINES = ("laplacian", "brisque", "face_size", "mtcnn_confidence")


@dataclass
class Measurement:
    box: tuple[float, float, float, float]
    detected: bool
    baselines: dict[str, float]
    embeddings: dict[str, np.ndarray]   # per recognizer (none when the Measurer has no recognizers)
    crop: np.ndarray                     # the shared 64x64 grey crop (kept in memory only)


class Measurer:
    """Detector, recognizers and baselines of one process."""

    def __init__(self, *, recognizers: bool = True) -> None:
        cv2.setNumThreads(1)
        self.detector = FaceDetector()
        self.brisque = Brisque()
        self.recognizers = {"facenet": FaceNet(), "dlib": DlibResNet()} if recognizers else {}

    def detect(self, rgb: np.ndarray, fallback: tuple[float, float, float, float] = FALLBACK_BOX) -> Detection:
        """The main face, or `fallback` with confidence 0 where MTCNN finds none."""
        return main_face(self.detector.detect(rgb), rgb.shape) or Detection(fallback, 0.0)

    def baselines(self, rgb: np.ndarray, det: Detection, grey: np.ndarray | None = None) -> dict[str, float]:
        """The non-VAE quality measures of the face at `det` (`grey`: its shared crop, where already cut)."""
        grey = crop_face(rgb, det.box) if grey is None else grey
        return {"laplacian": laplacian_sharpness(grey),
                "brisque": self.brisque(keepsake_crop(rgb, det.box, size=BRISQUE_SIZE)),
                "face_size": face_size(det.box), "mtcnn_confidence": det.confidence}

    def embed(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> dict[str, np.ndarray]:
        """Every recognizer's embedding of the face in `box`, each with its own alignment."""
        return {name: rec.embed(rgb, box) for name, rec in self.recognizers.items()}

    def measure(self, rgb: np.ndarray, det: Detection) -> Measurement:
        grey = crop_face(rgb, det.box)
        return Measurement(det.box, det.confidence > 0, self.baselines(rgb, det, grey), self.embed(rgb, det.box), grey)
