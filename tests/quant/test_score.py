import csv
import json
import shutil

import cv2
import numpy as np
import pytest

from host.faces import Detection
from quant import score
from quant.score import BATCH, CSV_COLUMNS, DEFAULT_CHECKPOINT, image_files, main


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


class _CentreFace:
    """A stand-in for MTCNN: one face in the middle of every image."""

    def detect(self, rgb):
        h, w = rgb.shape[:2]
        return [Detection((w / 4, h / 4, w / 2, h / 2), 0.99)]


def test_images_are_read_detected_scored_and_written_a_batch_at_a_time(monkeypatch, tmp_path, capsys):
    """Thousands of paths: the first rows are on disk before most images are read, and never more than a
    batch of images is held."""
    read, batches = [], []
    table = tmp_path / "scores.csv"

    class Judge:
        def score(self, crops, boxes, landmarks):
            assert boxes.shape == (len(crops), 4) and landmarks.shape == (len(crops), 5, 2)
            batches.append((len(crops), len(read), len(table.read_text().splitlines())))
            return np.zeros(len(crops)), np.ones(len(crops))

    monkeypatch.setattr(score, "read_rgb", lambda path: read.append(path) or np.full((80, 80, 3), 99, np.uint8))
    monkeypatch.setattr(score, "FaceDetector", _CentreFace)
    monkeypatch.setattr(score, "load_judge", lambda *args: Judge())
    names = [f"{i}.png" for i in range(10 * BATCH + 3)]
    assert main([*names, "--json", "--csv", str(table), "--quiet"]) == 0
    assert [b[0] for b in batches] == [BATCH] * 10 + [3]                   # a batch of crops at a time
    assert [b[1] for b in batches] == [BATCH * (i + 1) for i in range(10)] + [len(names)]  # read as scored
    assert [b[2] for b in batches] == [1 + BATCH * i for i in range(11)]   # earlier rows already written
    assert [r["path"] for r in json.loads(capsys.readouterr().out)] == names


def test_a_folder_stands_for_the_image_files_under_it_in_order(tmp_path):
    for name in ("b/2.png", "b/1.JPG", "a.jpg", "notes.txt", "c/d/e.webp"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    files = image_files([tmp_path, tmp_path / "notes.txt"])
    assert next(files) == tmp_path / "a.jpg"
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["b/1.JPG", "b/2.png", "c/d/e.webp", "notes.txt"]


def test_csv_has_a_row_per_image_and_why_one_could_not_be_read(images, tmp_path, capsys):
    table = tmp_path / "scores.csv"
    (tmp_path / "notes.txt").write_text("not an image")
    inputs = [images / "face.jpg", images / "blank.png", images / "broken.jpg", tmp_path / "none.jpg",
              tmp_path / "notes.txt"]
    code = main([*map(str, inputs), "--json", "--csv", str(table)])
    captured = capsys.readouterr()
    assert code == 1
    rows = list(csv.DictReader(table.open()))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["path"] for r in rows] == list(map(str, inputs))
    assert [(r["face"], r["error"]) for r in rows] == [
        ("True", ""), ("False", ""), ("", "not a readable image"), ("", "No such file or directory"),
        ("", "not a readable image")]
    face = json.loads(captured.out)[0]
    assert float(rows[0]["score"]) == face["score"] and [float(rows[0][f"box_{k}"]) for k in "xywh"] == face["box"]
    assert f"error: {tmp_path / 'none.jpg'}: No such file or directory" in captured.err


@pytest.mark.parametrize(("args", "message"), [
    (["--checkpoint", "{t}/random.pt"],
     "--checkpoint must be a float VAE checkpoint (python -m quant.train), not {t}/random.pt (UnpicklingError"),
    (["--checkpoint", "{t}/empty.pt"], "--checkpoint must be a float VAE checkpoint (python -m quant.train), "
                                       "not {t}/empty.pt (empty or truncated)"),
    (["--checkpoint", "{t}/none.pt"], "--checkpoint must be a float VAE checkpoint (python -m quant.train), "
                                      "not {t}/none.pt (No such file or directory)"),
    (["--backend", "quant", "--checkpoint", str(DEFAULT_CHECKPOINT)],
     f"--checkpoint must be a QAT checkpoint (python -m quant.qat), not {DEFAULT_CHECKPOINT} (KeyError: 'spec')"),
    (["--backend", "sim", "--checkpoint", "{t}"],
     "--checkpoint must be a hw build folder (python -m hw.build), not {t} (BundleError: {t} is not a build folder"),
    (["--csv", "{t}/none/scores.csv"],
     "--csv must be a file that can be written, not {t}/none/scores.csv (No such file or directory)"),
    (["--csv", "{t}"], "--csv must be a file that can be written, not {t} (Is a directory)"),
    (["--montage", "{t}"], "argument --montage: must be a file path in an existing folder, not {t} (a folder)"),
    (["--backend", "fpga"], "argument --backend: invalid choice: 'fpga'"),
], ids=["random-checkpoint", "empty-checkpoint", "missing-checkpoint", "float-checkpoint-as-quant",
        "unknown-build", "csv-in-missing-folder", "csv-is-a-folder", "montage-is-a-folder", "unknown-backend"])
def test_an_unusable_option_stops_the_run_before_scoring(args, message, images, tmp_path, capsys):
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "empty.pt").touch()
    assert main([str(images / "face.jpg"), *(a.format(t=tmp_path) for a in args)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {message.format(t=tmp_path)}") and captured.err.count("\n") == 1
    assert captured.out == ""
