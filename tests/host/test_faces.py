import cv2
import numpy as np
import pytest

from host.faces import CROP_SIZE, Detection, FaceDetector, ImageError, crop_face, main_face, read_rgb, to_rgb8
from host.tracking import iou
from tests.host.fakes import group_canvas


def test_to_rgb8_converts_grey_rgba_and_16_bit():
    grey = np.full((5, 7), 100, np.uint8)
    assert to_rgb8(grey).shape == (5, 7, 3)
    bgra = np.zeros((5, 7, 4), np.uint8)
    bgra[..., 0] = 255  # blue in OpenCV order
    assert to_rgb8(bgra)[0, 0].tolist() == [0, 0, 255]
    deep = np.full((5, 7, 3), 65535, np.uint16)
    out = to_rgb8(deep)
    assert out.dtype == np.uint8 and out.max() == 255


def test_to_rgb8_rejects_bad_arrays_with_the_rule():
    with pytest.raises(ImageError, match="dtype must be uint8 or uint16, not float32"):
        to_rgb8(np.zeros((4, 4), np.float32))
    with pytest.raises(ImageError, match="1, 3 or 4 channels"):
        to_rgb8(np.zeros((4, 4, 2), np.uint8))


def test_read_rgb_rejects_corrupt_and_empty_files(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ImageError, match="not a readable image"):
        read_rgb(bad)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError):
        read_rgb(empty)


def test_crop_is_square_grey_uint8_and_centred_on_the_box():
    rgb = np.zeros((200, 300, 3), np.uint8)
    rgb[80:120, 130:170] = 255  # a white square: the "face"
    crop = crop_face(rgb, (130, 80, 40, 40))
    assert crop.shape == (CROP_SIZE, CROP_SIZE) and crop.dtype == np.uint8
    # the box fills 1 / (1 + 2 * margin) of the crop, centred
    assert crop[CROP_SIZE // 2, CROP_SIZE // 2] == 255 and crop[2, 2] == 0
    assert crop[CROP_SIZE // 2, 2] == 0 and crop[CROP_SIZE // 2, CROP_SIZE - 3] == 0


def test_crop_beyond_the_border_replicates_edges():
    rgb = np.full((50, 50, 3), 77, np.uint8)
    crop = crop_face(rgb, (-20, -20, 60, 60))
    assert crop.shape == (CROP_SIZE, CROP_SIZE) and (crop == 77).all()


def test_crop_rejects_an_empty_box():
    with pytest.raises(ValueError, match="must be positive, not 0"):
        crop_face(np.zeros((10, 10, 3), np.uint8), (1, 1, 0, 5))


def test_main_face_is_the_most_central():
    dets = [Detection((0, 0, 50, 50), 0.99), Detection((80, 80, 40, 40), 0.9)]
    assert main_face(dets, (200, 200)) is dets[1]
    assert main_face([], (200, 200)) is None


def test_detector_finds_the_face_of_a_real_image(data_dir):
    rgb = read_rgb(data_dir / "celeba-aligned-10k" / "000001.jpg")
    dets = FaceDetector().detect(rgb)
    assert len(dets) == 1 and dets[0].confidence > 0.9
    x, y, w, h = dets[0].box
    assert 0 <= x < rgb.shape[1] / 2 < x + w and 0 <= y < rgb.shape[0] / 2 < y + h


def test_detector_finds_nothing_in_a_blank_or_tiny_image():
    det = FaceDetector()
    assert det.detect(np.full((120, 160, 3), 128, np.uint8)) == []
    assert det.detect(np.zeros((8, 8, 3), np.uint8)) == []
    with pytest.raises(ImageError, match="HxWx3 uint8 RGB"):
        det.detect(cv2.cvtColor(np.zeros((20, 20, 3), np.uint8), cv2.COLOR_RGB2GRAY))


def test_refine_finds_a_tracked_face_again_at_its_predicted_box_and_nothing_elsewhere(data_dir):
    rgb = read_rgb(data_dir / "lfw-dev" / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg")
    det = FaceDetector()
    face = det.detect(rgb)[0]
    x, y, w, h = face.box
    predicted = (x + 0.15 * w, y - 0.1 * h, 1.1 * w, 0.9 * h)   # a track's prediction, somewhat off
    again = det.refine(rgb, [predicted, (-300.0, 0.0, 80.0, 80.0)])   # the second box lies outside the image
    assert len(again) == 1 and again[0].confidence > 0.95
    assert iou(np.array(again[0].box), np.array(face.box)) > 0.75
    assert np.abs(np.subtract(again[0].landmarks, face.landmarks)).max() < 0.1 * w
    assert det.refine(np.full_like(rgb, 128), [face.box]) == []   # no face there: nothing, however confident before
    assert det.refine(rgb, []) == []


def test_refine_with_reach_finds_a_face_further_from_the_box(data_dir):
    canvas = np.full((400, 600, 3), 90, np.uint8)
    canvas[75:325, 175:425] = read_rgb(data_dir / "lfw-dev" / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg")
    det = FaceDetector()
    face = det.detect(canvas)[0]
    x, y, w, h = face.box
    away = (x + 0.7 * w, y - 0.15 * h, w, h)   # where a track unseen for a few frames might be predicted
    assert det.refine(canvas, [away]) == []
    (found,) = det.refine(canvas, [away], reach=0.5)
    assert found.confidence > 0.95 and iou(np.array(found.box), np.array(face.box)) > 0.75


@pytest.mark.parametrize("n", [2, 5])
def test_the_bands_of_a_whole_frame_search_together_find_every_face_it_finds(data_dir, n):
    canvas, det = group_canvas(data_dir), FaceDetector()
    whole = det.detect(canvas)
    assert len(whole) >= 5
    parts = [det.detect(canvas, band=(k, n)) for k in range(n)]
    for face in whole:
        assert any(iou(np.array(d.box), np.array(face.box)) > 0.7 for part in parts for d in part)
    assert all(len(part) < len(whole) for part in parts)   # each band alone finds only some
    with pytest.raises(ValueError, match="0 <= k < n"):
        det.detect(canvas, band=(n, n))
