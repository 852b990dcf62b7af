"""The selection benchmark: the walk-by renderer, the metrics on hand-made embeddings, the picks on a hand-made
cache and the persons of each split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval import walkby_tracks as walkby
from eval.extract import VaeModel
from eval.selection import evaluate_split, keepsake_box, method_scores, split_persons, track_sides
from eval.selection_metrics import (
    NO_PICK,
    ORACLE,
    RANDOM,
    frame_outcomes,
    gap_closed,
    method_outcomes,
    picks,
    positional_scores,
    summarise,
)
from host.faces import KEEP_SIZE, keepsake_crop
from host.judge import QualityJudge
from host.quality import SCORES, Reference, log_normal_cdf


def _photo(value: int) -> np.ndarray:
    """A 250x250 'photo': one grey level."""
    return np.full((walkby.LFW_SIZE, walkby.LFW_SIZE, 3), value, np.uint8)


def test_walkby_is_deterministic_per_seed():
    plan = walkby.draw_track(7, 6, 3)
    assert plan == walkby.draw_track(7, 6, 3) and plan != walkby.draw_track(8, 6, 3)
    photo = _photo(180)
    frame = walkby.render_frame(photo, plan, 2)
    assert frame.shape == (walkby.FRAME_SIZE[1], walkby.FRAME_SIZE[0], 3) and frame.dtype == np.uint8
    assert np.array_equal(frame, walkby.render_frame(photo, plan, 2))
    assert not np.array_equal(frame, walkby.render_frame(photo, walkby.draw_track(8, 6, 3), 2))
    assert sorted(f.image for f in plan.frames) == [0, 0, 1, 1, 2, 2]        # each photo in turn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_walkby_faces_grow_from_far_to_near(seed):
    plan = walkby.draw_track(seed, 8, 2)
    widths = [f.width for f in plan.frames]
    assert walkby.FAR_WIDTH[0] <= widths[0] <= walkby.FAR_WIDTH[1]
    assert walkby.NEAR_WIDTH[0] <= widths[-1] <= walkby.NEAR_WIDTH[1]
    assert np.all(np.diff(widths) > 0)
    # the face is what differs between a white and a black photo (the same noise draw): its area grows
    area = [np.sum(np.abs(walkby.render_frame(_photo(255), plan, t).astype(int)
                          - walkby.render_frame(_photo(0), plan, t)).max(axis=2) > 40) for t in range(8)]
    assert np.all(np.diff(area) > 0), area
    x, y, w, _ = walkby.face_box(plan, 7)
    assert x >= 0 and y >= 0 and x + w <= walkby.FRAME_SIZE[0]


def test_keepsake_box_is_where_the_crop_puts_the_box():
    rgb = np.zeros((300, 400, 3), np.uint8)
    box = (101.3, 80.6, 60.2, 70.4)
    rgb[round(box[1]):round(box[1] + box[3]), round(box[0]):round(box[0] + box[2])] = 255
    kx, ky, kw, kh = keepsake_box(box)
    crop = keepsake_crop(rgb, box)[..., 0] > 127
    ys, xs = np.nonzero(crop)
    assert abs(xs.min() - kx) <= 1.5 and abs(xs.max() + 1 - (kx + kw)) <= 1.5
    assert abs(ys.min() - ky) <= 1.5 and abs(ys.max() + 1 - (ky + kh)) <= 1.5 and KEEP_SIZE == 128


def test_picks_ties_nans_and_empty_tracks():
    scores = np.array([[1.0, 3.0, 3.0], [np.nan, np.nan, 2.0], [5.0, np.nan, 1.0], [1.0, 2.0, 3.0]])
    candidate = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1], [0, 0, 0]], bool)
    assert picks(scores, candidate).tolist() == [1, 0, 2, NO_PICK]   # tie: earlier; all NaN: first candidate
    pos = positional_scores(2, 4)
    assert picks(pos["first"], np.array([[0, 1, 1, 1]] * 2, bool)).tolist() == [1, 1]
    assert picks(pos["middle"], np.ones((2, 4), bool)).tolist() == [1, 1]
    assert picks(pos["middle"], np.array([[1, 0, 0, 1]] * 2, bool)).tolist() == [0, 0]


def _hand_made():
    """Two persons, gallery at (0, 0) and (10, 0); three frames each; threshold -1 (accept distance < 1)."""
    gallery = np.array([[0.0, 0.0], [10.0, 0.0]])
    kept = np.array([[[0.5, 0], [2.0, 0], [9.5, 0]],         # person 0: match, non-match, looks like person 1
                     [[np.nan, np.nan], [7.0, 0], [10.2, 0]]])  # person 1: missed, non-match, match
    candidate = np.array([[1, 1, 1], [0, 1, 1]], bool)
    return kept, gallery, candidate


def test_frame_and_person_outcomes_on_hand_made_embeddings():
    kept, gallery, candidate = _hand_made()
    frame = frame_outcomes(kept, gallery, candidate, -1.0)
    assert frame["error"].tolist() == [[False, True, True], [True, True, False]]
    assert frame["rank1"].tolist() == [[True, True, False], [False, True, True]]
    np.testing.assert_allclose(frame["genuine"][0], [-0.5, -2.0, -9.5])
    scores = {"first": positional_scores(2, 3)["first"], "last": np.array([[0, 1, 2], [0, 1, 2.0]])}
    out, chosen = method_outcomes(scores, frame, candidate)
    assert chosen["first"].tolist() == [0, 1] and chosen[ORACLE].tolist() == [0, 2]
    assert out["first"]["error"].tolist() == [0, 1] and out["first"]["rank1"].tolist() == [1, 1]
    assert out["last"]["error"].tolist() == [1, 0] and out["last"]["rank1"].tolist() == [0, 1]
    assert out[ORACLE]["error"].tolist() == [0, 0]
    np.testing.assert_allclose(out[RANDOM]["error"], [2 / 3, 1 / 2])          # exact expectation over candidates
    np.testing.assert_allclose(out[RANDOM]["rank1"], [2 / 3, 1])
    summary = summarise(out, "first", resamples=200)
    assert summary["first"]["fnmr"] == 0.5 and summary[ORACLE]["fnmr"] == 0.0
    assert summary[RANDOM]["fnmr"] == pytest.approx(7 / 12)
    assert summary["first"]["gap_closed"] == pytest.approx((7 / 12 - 0.5) / (7 / 12))
    assert summary[ORACLE]["gap_closed"] == 1 and summary[RANDOM]["gap_closed"] == 0
    lo, hi = summary["first"]["fnmr_ci95"]
    assert 0 <= lo <= 0.5 <= hi <= 1 and summary["first"]["default_lower_fnmr_share"] == 0   # never below itself
    assert 0 < summary[RANDOM]["default_lower_fnmr_share"] < 1


def test_gap_closed_is_nan_where_random_equals_the_oracle():
    assert np.isnan(gap_closed(np.array(0.2), np.array(0.2), np.array(0.2)))
    assert gap_closed(np.array(0.1), np.array(0.3), np.array(0.1)) == pytest.approx(1.0)


def _cache(persons: int = 2, frames: int = 3) -> dict[str, np.ndarray]:
    """Frame numbers as the cache holds them (rows: track, frame), with one missed frame."""
    n = persons * frames
    rng = np.random.default_rng(0)
    detected = np.ones(n, bool)
    detected[1] = False
    feats = {"detected": detected, "keep_detected": detected.copy(),
             "box": np.tile([10.0, 10.0, 40.0, 40.0], (n, 1)), "landmarks": np.tile(
                 [[20.0, 22], [30, 22], [25, 28], [21, 34], [29, 34]], (n, 1, 1)),
             "laplacian": np.array([5.0, 9, 1, 1, 2, 3]), "brisque": np.array([0.0, 0, 0, -1, -2, -3]),
             "face_size": np.array([20.0, 40, 60, 20, 40, 60]), "mtcnn_confidence": rng.random(n),
             "facenet": rng.normal(size=(n, 4)), "dlib": rng.normal(size=(n, 3))}
    for kind, shift in (("plain", 0.0), ("expnorm", 10.0)):
        feats[f"sim.{kind}__log_rp"] = np.array([1.0, 50, 2, 3, 1, 2]) + shift * np.array([1, 0, -1, 0, 0, 1])
        feats[f"sim.{kind}__png_bits"] = np.full(n, 1000.0)
        feats[f"sim.{kind}__residual_noise"] = np.full(n, 0.01)
        feats[f"sim.{kind}__contrast"] = np.full(n, 0.2)
        feats[f"sim.{kind}__mu_z"] = rng.normal(size=(n, 4))
    return feats


def _model() -> VaeModel:
    """A model whose reference (every term: pose, size, latent) is fitted on made-up good faces."""
    rng = np.random.default_rng(1)
    good = {"log_rp": rng.normal(0, 1, 20), "png_bits": rng.normal(1000, 10, 20),
            "residual_noise": rng.uniform(0.005, 0.02, 20), "contrast": rng.uniform(0.15, 0.25, 20),
            "mu_z": rng.normal(size=(20, 4)), "yaw": rng.normal(0, 0.1, 20), "pitch": rng.normal(0.5, 0.1, 20),
            "roll": rng.normal(0, 0.05, 20), "face_side": rng.normal(np.log(40), 0.1, 20)}
    return VaeModel("sim", QualityJudge(None, Reference.fit(good)), "hand-made")


def test_method_picks_on_a_hand_made_cache():
    feats = _cache()
    scores = method_scores(feats, [_model()], 3)
    expected = {"laplacian", "brisque", "face_size", "mtcnn_confidence", "vae_raw_sim", "vae_raw_sim_expnorm"}
    assert expected | {f"vae_{v}_sim{k}" for v in SCORES for k in ("", "_expnorm")} == set(scores)
    assert np.isnan(scores["vae_raw_sim"][1]) and scores["vae_raw_sim"][0] == 1.0
    emb = {r: np.concatenate([feats[r][[0, 3]], feats[r]]) for r in ("facenet", "dlib")}   # gallery rows 0 and 1
    clean = (emb, np.array([0, 1, 0, 0, 0, 1, 1, 1]), np.array([0, 1]))
    result, chosen = evaluate_split(feats, scores, clean, 3, resamples=0)
    c = chosen["facenet"]
    assert result["missed_detections"] == 1 and result["frames"] == 6 and result["persons"] == 2
    assert c["laplacian"].tolist() == [0, 2]            # frame 1 (laplacian 9) was missed by the detector
    assert c["face_size"].tolist() == [2, 2] and c["brisque"].tolist() == [0, 0]
    assert c["first"].tolist() == [0, 0] and c["middle"].tolist() == [0, 1]
    assert c["vae_raw_sim"].tolist() == [2, 0] and c["vae_raw_sim_expnorm"].tolist() == [0, 2]
    assert c[ORACLE].tolist() == [0, 0]                   # the gallery is frame 0's own embedding
    assert result["recognizers"]["facenet"]["methods"][ORACLE]["fnmr"] == 0.0


def test_faces_below_the_camera_min_face_are_no_candidates():
    """--min-face: a frame whose detector box is smaller than the camera would detect is no candidate."""
    feats = _cache()
    feats["box"][[0, 3], 2:] = 30.0                     # the first frame of each track: a 30-px box
    scores = method_scores(feats, [_model()], 3, min_face=40)
    emb = {r: np.concatenate([feats[r][[0, 3]], feats[r]]) for r in ("facenet", "dlib")}
    clean = (emb, np.array([0, 1, 0, 0, 0, 1, 1, 1]), np.array([0, 1]))
    result, chosen = evaluate_split(feats, scores, clean, 3, resamples=0, min_face=40)
    assert result["missed_detections"] == 3            # frame 1 missed, frames 0 and 3 too small
    assert chosen["facenet"]["first"].tolist() == [2, 1] and chosen["facenet"]["brisque"].tolist() == [2, 1]


def test_the_size_term_sees_the_size_the_camera_gives_a_track():
    """As on the camera, a frame's size is the median box side of the window of the track's candidate detections
    centred on it: a box inflated on one frame (a second face taken in) is not the person coming closer; missed
    and too-small frames do not count."""
    boxes = np.tile([0.0, 0.0, 40.0, 40.0], (16, 1))
    boxes[:, 2] = [40, 42, 90, 44, 46, 48, 50, 52, 30, 46, 48, 50, 52, 54, 56, 58]   # frame 2 inflated; 8 too small
    candidate = (boxes[:, 2] >= 40).reshape(2, 8)
    candidate[1, 1] = False                                                       # frame 9 missed
    sides = track_sides(boxes, candidate)
    np.testing.assert_array_equal(sides[:8], [42, 43, 44, 46, 48, 48, 49, 50])
    assert np.isnan(sides[8]) and np.isnan(sides[9]) and sides[10:].tolist() == [50, 51, 52, 54, 55, 56]
    model = _model()
    feats = _cache()
    feats["detected"][:] = True
    feats["box"][:, 2:] = np.array([20.0, 40, 22, 20, 20, 20])[:, None]   # track 0's second box inflated
    centre, scale = model.judge.reference.terms["face_side"]
    scores = method_scores(feats, [model], 3)
    size_term = scores["vae_fisher+size_sim"] - scores["vae_fisher_sim"]
    expected = log_normal_cdf((np.log([22, 22, 22, 20, 20, 20]) - centre) / scale)   # not 40
    np.testing.assert_allclose(size_term, expected)


def test_split_persons_by_fold(tmp_path):
    for person, count in {"Ann": 3, "Bob": 2, "Cy": 4, "Dee": 5}.items():
        (tmp_path / "images" / person).mkdir(parents=True)
        for i in range(1, count + 1):
            (tmp_path / "images" / person / f"{person}_{i:04d}.jpg").write_bytes(b"")
    # 5 folds of 2 pairs (1 genuine, 1 impostor per fold)
    lines = ["5\t1", "Ann\t1\t2", "Ann\t1\tBob\t1", "Bob\t1\t2", "Bob\t2\tAnn\t3", "Cy\t1\t2", "Cy\t1\tBob\t1",
             "Dee\t1\t2", "Dee\t1\tBob\t1", "Dee\t3\t4", "Dee\t1\tCy\t1"]
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    assert split_persons(tmp_path) == {"design": ["Ann"], "confirm": ["Cy", "Dee"]}
    assert split_persons(tmp_path, limit=1) == {"design": ["Ann"], "confirm": ["Cy"]}


@pytest.mark.data
@pytest.mark.slow
def test_selection_end_to_end_on_two_persons(data_dir, tmp_path):
    """The whole program on two design persons with two frames: outputs, counts, and a rerun from the cache."""
    from eval import selection

    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--lfw", str(data_dir / "lfw-dev"), "--persons", "2", "--frames", "2", "--split", "design",
            "--bootstrap", "10", "--workers", "1", "--out", str(out), "--cache", str(cache)]
    assert selection.main(argv) == 0
    summary = json.loads((out / "selection.json").read_text())
    split = summary["splits"]["design"]
    assert split["persons"] == 2 and split["frames"] == 4 and 0 <= split["missed_detections"] <= 4
    methods = split["recognizers"]["facenet"]["methods"]
    assert {"random", "first", "middle", "face_size", "laplacian", "brisque", "mtcnn_confidence", ORACLE,
            selection.DEFAULT_METHOD, f"{selection.DEFAULT_METHOD}_expnorm"} <= set(methods)
    assert all(methods[ORACLE]["fnmr"] <= m["fnmr"] for m in methods.values())
    assert "## The goal of issue 23" in (out / "selection.md").read_text()
    assert (out / "selection_design.png").exists() and (out / "picks_design.png").exists()
    cached = sorted(p.name for p in cache.iterdir())
    assert selection.main(argv) == 0                           # second run: everything from the cache
    assert sorted(p.name for p in cache.iterdir()) == cached
    assert json.loads((out / "selection.json").read_text())["splits"] == summary["splits"]
