"""The default score prefers a person's frontal photo to a turned-away one (real LFW photos, shipped build).

The eight pairs are evaluation persons (in LFW pairs.txt, never in a score reference); each pair was
checked by eye: the first image is (near) frontal, the second a three-quarter view or profile."""

import numpy as np
import pytest

from host.faces import FaceDetector, crop_face, main_face, read_rgb
from host.judge import build_judge
from host.pose import landmark_array
from host.quality import DEFAULT_SCORE, quality_scores
from tests.conftest import BUILD

FRONTAL_THEN_TURNED = [("Jacques_Chirac", 35, 10), ("Richard_Gere", 9, 5), ("Laura_Bush", 40, 11),
                       ("James_McGreevey", 4, 2), ("Vaclav_Havel", 7, 1), ("David_Beckham", 28, 24),
                       ("Bill_Frist", 4, 2), ("Romano_Prodi", 3, 4)]


@pytest.fixture(scope="module")
def pair_scores(data_dir):
    detector, judge = FaceDetector(), build_judge(BUILD)
    crops, boxes, marks = [], [], []
    for person, *numbers in FRONTAL_THEN_TURNED:
        for n in numbers:
            rgb = read_rgb(data_dir / "lfw-dev" / "images" / person / f"{person}_{n:04d}.jpg")
            det = main_face(detector.detect(rgb), rgb.shape)
            crops.append(crop_face(rgb, det.box))
            boxes.append(det.box)
            marks.append(det.landmarks)
    feats = judge.features(np.stack(crops), np.array(boxes), landmark_array(marks))
    return {v: s.reshape(-1, 2) for v, s in quality_scores(feats, judge.reference).items()}


def test_the_default_score_ranks_every_frontal_photo_above_the_turned_one(pair_scores):
    frontal, turned = pair_scores[DEFAULT_SCORE].T
    assert (frontal > turned).all(), np.round(frontal - turned, 1)


def test_without_the_pose_term_the_score_cannot_tell(pair_scores):
    """The reason for the pose term: image statistics alone prefer the turned photo about as often as not."""
    frontal, turned = pair_scores["fisher"].T
    assert (frontal > turned).sum() <= 5
