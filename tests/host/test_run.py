"""host/run.py end to end: the built-in demo on the simulator, privacy of everything written, bad input, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from authority.__main__ import main as authority
from host.run import main
from host.vault import parse, scan
from tests.conftest import ROOT
from tests.host.fakes import patch_judge
from tests.host.walkby_checks import near_bright_sharp_frontal

IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF87a": "GIF", b"GIF89a": "GIF",
                    b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "RIFF/WebP"}


def written_files(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob("*") if p.is_file()]


def _demo(base: Path, *options: str):
    """The main job's run on the built-in clip (synthetic walk-by, simulator, demo authority), temp files confined."""
    out, tmp = base / "out", base / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.run([sys.executable, "host/run.py", "--out", str(out), "--quiet", *options], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    return proc, out, tmp


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The main job's default run."""
    return _demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo_clip(tmp_path_factory):
    """The same with a clip of 3 detections on each side of the best crop."""
    return _demo(tmp_path_factory.mktemp("demo_clip"), "--clip", "3")


def test_demo_keeps_one_sharp_frontal_crop(demo):
    proc, out, _ = demo
    assert proc.returncode == 0, proc.stderr
    assert "synthetic walk-by clip" in proc.stderr and "demo only" in proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["persons"] == report["records"] == 1 and report["unstored_records"] == 0
    assert set(report["stage_seconds"]) >= {"decode", "detect", "track", "crop", "score", "encrypt+write"}
    (track,) = [t for t in report["tracks"] if t["confirmed"]]
    assert near_bright_sharp_frontal(track["best_frame"]), f"frame {track['best_frame']}: not near, bright, sharp"
    assert (out / "plots" / f"track-{track['track_id']:05d}.svg").exists()


def test_demo_records_open_with_two_shares_only(demo, tmp_path):
    _, out, _ = demo
    keys, records = out / "demo-authority", out / "records"
    assert authority(["decrypt", str(records), "--share", str(keys / "share-judge.json"), "--reason", "t",
                      "--out", str(tmp_path / "one")]) == 2
    assert authority(["decrypt", str(records), "--share", str(keys / "share-judge.json"), "--share",
                      str(keys / "share-operator.json"), "--reason", "test", "--out", str(tmp_path / "two")]) == 0
    assert (tmp_path / "two" / "montage.png").exists()


def test_a_clip_record_opens_with_two_shares_as_a_strip_around_the_best_crop(demo_clip, tmp_path):
    proc, out, _ = demo_clip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["persons"] == 1 and report["records"] == 2 and report["settings"]["clip"] == 3
    keys, records = out / "demo-authority", out / "records"
    assert authority(["decrypt", str(records), "--share", str(keys / "share-dpo.json"), "--reason", "t",
                      "--out", str(tmp_path / "one")]) == 2
    assert authority(["decrypt", str(records), "--share", str(keys / "share-judge.json"), "--share",
                      str(keys / "share-dpo.json"), "--reason", "test", "--out", str(tmp_path / "two")]) == 0
    import cv2

    (strip,) = (tmp_path / "two").glob("*-clip.png")
    assert cv2.imread(str(strip)).shape == (128, 7 * 128, 3) and (tmp_path / "two" / "montage.png").exists()


@pytest.mark.parametrize("run", ["demo", "demo_clip"])
def test_nothing_written_holds_a_face(run, request, tmp_path):
    """Everything the camera wrote (and its temp dir): records are ciphertext, nothing else is an image,
    and no row of the kept crops (or clip frames) appears in any file."""
    _, out, tmp = request.getfixturevalue(run)
    keys, records = out / "demo-authority", out / "records"
    from authority import shares

    key, _ = shares.combine([keys / "share-judge.json", keys / "share-dpo.json"])
    opened = [rec.open(key) for _, rec in scan(records)]
    crops = [frame for image in opened for frame in (image if image.ndim == 4 else [image])]   # clips: each frame
    assert crops
    rows = [row.tobytes()[:48] for crop in crops for row in crop[::4]]
    for path in written_files(out, tmp):
        data = path.read_bytes()
        if path.suffix == ".fvr":
            parse(path)
        else:
            found = [kind for sig, kind in IMAGE_SIGNATURES.items() if data.startswith(sig) or sig in data]
            assert not found, f"{path} holds a {found} image"
            assert b"<image" not in data, f"{path} embeds a raster image"
        assert not any(row in data for row in rows), f"{path} holds raw crop bytes"


def test_help_explains_every_option():
    text = subprocess.run([sys.executable, "host/run.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    for option in ("--video", "--camera", "--backend", "--out", "--camera-id", "--retention", "--authority-key",
                   "--detect-every", "--detect-width", "--timeout", "--prefetch", "--blas-threads", "--clip"):
        assert option in text


@pytest.fixture
def key(tmp_path) -> Path:
    assert authority(["keygen", "--out", str(tmp_path / "keys")]) == 0
    return tmp_path / "keys" / "authority.pub"


@pytest.mark.parametrize("case, message", [
    ("corrupt", "not a video OpenCV can open|no decodable frame"),
    ("missing", "not found"),
    ("no-key", "--authority-key is required"),
    ("bad-key", "not a PEM public key"),
    ("bad-config", "camera id"),
    ("bad-build", "not a build folder"),
    ("bad-prefetch", "prefetch depth must be >= 1"),
    ("bad-threads", "BLAS threads must be >= 0"),
    ("bad-clip", "clip must be 0..25"),
])
def test_bad_input_gives_a_clear_error(case, message, tmp_path, key, capsys, monkeypatch):
    video = tmp_path / "video.mp4"
    video.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    args = ["--video", str(video), "--authority-key", str(key), "--out", str(tmp_path / "out"), "--quiet"]
    if case == "missing":
        args[1] = str(tmp_path / "nothing.mp4")
    elif case == "no-key":
        args[2:4] = []
    elif case == "bad-key":
        args[3] = str(video)
    elif case == "bad-config":
        args += ["--camera-id", "a/b"]
    elif case == "bad-build":
        args += ["--build", str(tmp_path)]
    elif case == "bad-prefetch":
        args += ["--prefetch", "-1"]
    elif case == "bad-threads":
        args += ["--blas-threads", "-2"]
    elif case == "bad-clip":
        args += ["--clip", "99"]
    assert main(args) == 2
    assert any(m in capsys.readouterr().err for m in message.split("|"))


@pytest.fixture
def crowd(data_dir) -> Path:
    return data_dir / "video" / "crowd.mp4"


def half_of_an_avi(crowd: Path, folder: Path, frames: int = 60) -> Path:
    """The crowd clip as MJPG AVI (60 frames, 960x540), cut in the middle of the file.

    (An MP4 cut anywhere loses its index at the end and cannot be opened at all: the 'corrupt' case.)"""
    import cv2

    cap = cv2.VideoCapture(str(crowd))
    full = folder / "full.avi"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 25, (960, 540))
    for _ in range(frames):
        ok, frame = cap.read()
        assert ok
        writer.write(cv2.resize(frame, (960, 540), interpolation=cv2.INTER_AREA))
    writer.release()
    cut = folder / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return cut


def test_truncated_video_keeps_what_was_seen(crowd, tmp_path, key, monkeypatch, caplog):
    patch_judge(monkeypatch)
    cut = half_of_an_avi(crowd, tmp_path)
    out = tmp_path / "out"
    assert main(["--video", str(cut), "--authority-key", str(key), "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert 10 < report["frames"] < 60 and report["records"] >= 3
    assert "truncated or corrupt" in caplog.text


KILL_SCRIPT = """
import sys
import host.run
from tests.host.fakes import SharpnessJudge
host.run.make_judge = lambda args: (SharpnessJudge(), "fake-model")
sys.exit(host.run.main(sys.argv[1:]))
"""


def test_kill_9_leaves_only_valid_records(crowd, tmp_path, key):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, "--video", str(crowd), "--authority-key", str(key),
                             "--out", str(out), "--quiet", "--max-age", "2", "--detect-width", "640"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((out / "records").glob("*.fvr")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    results = list(scan(out / "records"))
    assert results and all(not isinstance(rec, Exception) for _, rec in results)
    assert not (out / "report.json").exists() or json.loads((out / "report.json").read_text())


def test_sigterm_stores_open_tracks(crowd, tmp_path, key):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, "--video", str(crowd), "--authority-key", str(key),
                             "--out", str(out), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "plots").exists() and time.time() < deadline:   # made just before the first frame
        time.sleep(0.05)
    time.sleep(4)                                                     # ~20 of 105 frames at ~200 ms each
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    report = json.loads((out / "report.json").read_text())
    assert report["stopped_by"] == "SIGTERM" and 0 < report["frames"] < 105
    assert report["records"] == report["persons"] > 0


@pytest.mark.slow
def test_crowd_clip_one_record_per_person_opened_by_k_shares(crowd, tmp_path, key):
    out = tmp_path / "out"
    assert main(["--video", str(crowd), "--authority-key", str(key), "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    persons = [t for t in report["tracks"] if t["confirmed"]]
    assert report["frames"] == 105 and len(persons) == report["records"] >= 8
    assert sorted(p.name for p in (out / "records").glob("*.fvr")) == sorted(t["record"] for t in persons)
    assert len(list((out / "plots").glob("track-*.svg"))) == len(persons)
    shares = [str(key.parent / f"share-{h}.json") for h in ("judge", "operator", "dpo")]
    assert authority(["decrypt", str(out / "records"), "--share", shares[0], "--reason", "t",
                      "--out", str(tmp_path / "k-1")]) == 2
    assert authority(["decrypt", str(out / "records"), "--share", shares[1], "--share", shares[2], "--reason",
                      "warrant", "--out", str(tmp_path / "k")]) == 0
    assert len(list((tmp_path / "k").glob("*.png"))) == len(persons) + 1     # the crops + montage.png
