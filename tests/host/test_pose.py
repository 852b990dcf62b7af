import numpy as np
import pytest

from host.pose import centred_sides, detection_features, landmark_array

# a frontal face: eyes at (40, 50) and (60, 50), nose (50, 60), mouth corners (42, 70) and (58, 70)
FRONTAL = np.array([[40, 50], [60, 50], [50, 60], [42, 70], [58, 70]], dtype=float)
BOX = np.array([30.0, 35.0, 40.0, 50.0])


def _rotated(points, degrees, about=(50, 50)):
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (points - about) @ rot.T + about


def test_a_frontal_face_has_no_yaw_or_roll_and_the_nose_halfway_down():
    f = detection_features(BOX[None], FRONTAL[None])
    assert abs(f["yaw"][0]) < 1e-9
    assert abs(f["pitch"][0] - 0.5) < 1e-9
    assert abs(f["face_side"][0] - np.log(50)) < 1e-9


def test_a_tilted_head_has_the_pose_of_the_upright_one():
    f = detection_features(BOX[None], _rotated(FRONTAL, 30)[None])
    assert abs(f["yaw"][0]) < 1e-9 and abs(f["pitch"][0] - 0.5) < 1e-9


def test_a_turned_head_moves_the_nose_out_of_the_midline():
    turned = [FRONTAL.copy() for _ in range(3)]
    for pts, shift in zip(turned, (0.0, 5.0, 12.0), strict=True):
        pts[2, 0] += shift
    yaw = detection_features(np.repeat(BOX[None], 3, 0), np.stack(turned))["yaw"]
    assert yaw[0] == 0 and 0 < yaw[1] < yaw[2] and yaw[2] > 0.5


def test_a_face_without_landmarks_has_unknown_pose_but_a_size():
    marks = landmark_array([tuple(map(tuple, FRONTAL)), ()])
    f = detection_features(np.repeat(BOX[None], 2, 0), marks)
    assert np.isfinite(f["yaw"][0]) and np.isnan(f["yaw"][1]) and np.isnan(f["pitch"][1])
    assert np.isfinite(f["face_side"]).all()


def test_a_tracks_face_size_is_the_median_of_a_window_centred_on_each_detection():
    """A box inflated for one detection (a second face taken in) does not reach the size; a face that approaches
    keeps its own sizes (no lag) but within `SIZE_LAG` detections of the track's ends, where the window is cut
    off, not shrunk: a last box inflated as the face is covered is outvoted too."""
    np.testing.assert_array_equal(centred_sides([40, 42, 70, 44, 46]), [42, 43, 44, 45, 46])
    np.testing.assert_array_equal(centred_sides([40, 44, 48, 52, 56, 60, 64]), [44, 46, 48, 52, 56, 58, 60])
    np.testing.assert_array_equal(centred_sides([50, 51, 52, 53, 90]), [51, 51.5, 52, 52.5, 53])
    assert centred_sides([33]).tolist() == [33] and len(centred_sides([])) == 0
    feats = detection_features(np.array([[0, 0, 70, 60]]), np.full((1, 5, 2), np.nan), np.array([44.0]))
    assert feats["face_side"][0] == pytest.approx(np.log(44))
