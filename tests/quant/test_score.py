import json
import shutil

import cv2
import numpy as np
import pytest

from quant.score import DEFAULT_CHECKPOINT, main


@pytest.fixture(scope="module")
def images(data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    lfw = data_dir / "lfw-dev" / "images"
    person = sorted(p for p in lfw.iterdir() if p.is_dir())[0]
    face = sorted(person.glob("*.jpg"))[0]
    shutil.copy(face, folder / "face.jpg")
    rgb = cv2.imread(str(face))
    cv2.imwrite(str(folder / "face_blurred.png"), cv2.GaussianBlur(rgb, (0, 0), 3))
    cv2.imwrite(str(folder / "blank.png"), np.full((120, 120, 3), 200, np.uint8))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    return folder


def _run(capsys, *args):
    code = main([*map(str, args), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_committed_checkpoint_and_its_reference_exist():
    assert DEFAULT_CHECKPOINT.exists()
    assert (DEFAULT_CHECKPOINT.parent / "score_reference.json").exists()


def test_json_has_one_object_per_image_with_nulls_without_a_face(images, capsys):
    code, out = _run(capsys, images / "face.jpg", images / "blank.png")
    assert code == 0
    assert [r["face"] for r in out] == [True, False]
    assert all(isinstance(out[0][k], float) for k in ("score", "log_rp"))
    assert out[1]["score"] is None and out[1]["log_rp"] is None
    assert out[0]["path"].endswith("face.jpg")


def test_scores_are_deterministic_and_blur_lowers_the_default_but_raises_raw_rp(images, capsys):
    _, first = _run(capsys, images / "face.jpg", images / "face_blurred.png")
    _, again = _run(capsys, images / "face.jpg", images / "face_blurred.png")
    assert first == again
    clean, blurred = first
    assert blurred["score"] < clean["score"]
    assert blurred["log_rp"] > clean["log_rp"]  # the likelihood bias the default score corrects


def test_unreadable_files_are_reported_and_the_rest_still_scored(images, capsys):
    code = main([str(images / "broken.jpg"), str(images / "face.jpg"), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.jpg: not a readable image" in captured.err
    assert [r["face"] for r in json.loads(captured.out)] == [True]


def test_other_variants_are_selectable(images, capsys):
    _, default = _run(capsys, images / "face.jpg")
    _, raw = _run(capsys, images / "face.jpg", "--score", "raw")
    assert raw[0]["score"] == raw[0]["log_rp"] == default[0]["log_rp"]


def test_builtin_demo_ranks_the_clean_portrait_first(capsys):
    assert main([]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "astronaut (clean)" in lines[0]


def test_simulator_backend_scores_like_the_brevitas_model_it_simulates(images, capsys):
    """--backend sim (the hw build's integer simulator) gives the JSON of the other backends and the scores of
    the Brevitas model it was built from (same integers; only the host's float maths may differ in the last bits)."""
    from hw.build import DEFAULT_CHECKPOINT as QAT_CHECKPOINT

    files = [images / "face.jpg", images / "face_blurred.png", images / "blank.png"]
    code, sim = _run(capsys, "--backend", "sim", *files)
    _, brevitas = _run(capsys, "--backend", "quant", "--checkpoint", QAT_CHECKPOINT, *files)
    _, float_out = _run(capsys, *files)
    assert code == 0 and [set(r) for r in sim] == [set(r) for r in float_out]
    assert sim[2]["score"] is None
    np.testing.assert_allclose([r["log_rp"] for r in sim[:2]], [r["log_rp"] for r in brevitas[:2]], rtol=1e-5)
    np.testing.assert_allclose([r["score"] for r in sim[:2]], [r["score"] for r in brevitas[:2]], rtol=1e-4)
    assert sim[0]["score"] > sim[1]["score"]  # the blurred copy scores lower
