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

    def measure(self, rgb: np.ndarray, det: Detection) -> Measurement:
        grey = crop_face(rgb, det.box)
        baselines = {"laplacian": laplacian_sharpness(grey),
                     "brisque": self.brisque(keepsake_crop(rgb, det.box, size=BRISQUE_SIZE)),
                     "face_size": face_size(det.box), "mtcnn_confidence": det.confidence}
        return Measurement(det.box, det.confidence > 0, baselines,
                           {name: rec.embed(rgb, det.box) for name, rec in self.recognizers.items()}, grey)
