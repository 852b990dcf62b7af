"""host/run.py end to end: the built-in demo on the simulator, privacy of everything written, bad input, kill -9."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from authority.__main__ import main as authority
from host import lightface, signing
from host.run import FULL_DETECT_EVERY, main, resolve_whole_search
from host.vault import parse, scan
from tests.conftest import ROOT
from tests.host.fakes import needs_light_finder, patch_judge
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
    registry = ["--registry", str(keys / "cameras.json")]
    assert authority(["decrypt", str(records), *registry, "--share", str(keys / "share-judge.json"), "--reason", "t",
                      "--out", str(tmp_path / "one")]) == 2
    assert authority(["decrypt", str(records), *registry, "--share", str(keys / "share-judge.json"), "--share",
                      str(keys / "share-operator.json"), "--reason", "test", "--out", str(tmp_path / "two")]) == 0
    assert (tmp_path / "two" / "montage.png").exists()
    assert authority(["verify", str(records), *registry]) == 0                  # signed by the registered demo camera


def test_a_clip_record_opens_with_two_shares_as_a_strip_around_the_best_crop(demo_clip, tmp_path):
    proc, out, _ = demo_clip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["persons"] == 1 and report["records"] == 2 and report["settings"]["clip"] == 3
    keys, records = out / "demo-authority", out / "records"
    registry = ["--registry", str(keys / "cameras.json")]
    assert authority(["decrypt", str(records), *registry, "--share", str(keys / "share-dpo.json"), "--reason", "t",
                      "--out", str(tmp_path / "one")]) == 2
    assert authority(["decrypt", str(records), *registry, "--share", str(keys / "share-judge.json"), "--share",
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

    keyring = shares.Keyring([keys / "share-judge.json", keys / "share-dpo.json"])
    opened = [rec.open(keyring.key(rec.meta["key_id"])) for _, rec in scan(records)]
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
    for option in ("--video", "--camera", "--backend", "--out", "--camera-id", "--retention", "--schedule",
                   "--camera-key", "--detect-every", "--detect-width", "--timeout", "--prefetch", "--blas-threads",
                   "--clip", "--start-time", "--min-face", "--realtime", "--max-detect-every", "--max-score-every",
                   "--full-detect-every"):
        assert option in text


@pytest.fixture
def key(tmp_path) -> list[str]:
    """The camera program's key options: the authority's key schedule and a registered camera key."""
    keys = tmp_path / "keys"
    assert authority(["keygen", "--out", str(keys)]) == 0
    camera_key, public = signing.generate(tmp_path / "camera")
    assert authority(["register", "--registry", str(keys / "cameras.json"), "--camera-id", "camera-0",
                      str(public)]) == 0
    return ["--schedule", str(keys / "schedule.json"), "--camera-key", str(camera_key)]


@pytest.fixture
def video(tmp_path) -> Path:
    """A file that is no video (random bytes)."""
    path = tmp_path / "video.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    return path


@pytest.fixture
def no_model(monkeypatch) -> None:
    """Fail the test if host.run gets as far as loading the model (and so reading a frame)."""
    import host.run

    monkeypatch.setattr(host.run, "make_judge", lambda args: pytest.fail("model loaded before the input was checked"))


def refused(capsys, *args: str | Path) -> str:
    """What host.run prints on stderr for `args`, which it must refuse with exit code 2."""
    assert main([str(a) for a in args]) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("case, message", [
    ("corrupt", "not a video OpenCV can open|no decodable frame"),
    ("missing", "not found"),
    ("folder", "is a folder, not a video file"),
    ("no-key", "--schedule and --camera-key are required together"),
    ("bad-key", "not JSON"),
    ("key-folder", "Is a directory"),
    ("open-camera-key", "the camera key must be readable by its owner only"),
    ("bad-build", "not a build folder"),
    ("build-file", "--build must be a build folder, not a file"),
])
def test_bad_input_gives_a_clear_error(case, message, tmp_path, key, video, capsys):
    video.chmod(0o644)
    given = {"--video": video, **dict(zip(key[::2], key[1::2], strict=True)), "--out": tmp_path / "out"}
    given.update({"missing": {"--video": tmp_path / "nothing.mp4"}, "folder": {"--video": tmp_path},
                  "no-key": {"--schedule": None}, "bad-key": {"--schedule": video},
                  "key-folder": {"--schedule": tmp_path}, "open-camera-key": {"--camera-key": video},
                  "bad-build": {"--build": tmp_path},
                  "build-file": {"--build": video}}.get(case, {}))
    err = refused(capsys, "--quiet", *(x for option, value in given.items() if value for x in (option, value)))
    assert any(m in err for m in message.split("|"))


BAD_OPTIONS = [
    (["--detect-every", "0"], "--detect-every must be a positive integer, not 0"),
    (["--score-every", "-1"], "--score-every must be a positive integer, not -1"),
    (["--min-hits", "0"], "--min-hits must be a positive integer, not 0"),
    (["--max-age", "-3"], "--max-age must be a positive integer, not -3"),
    (["--detect-every", "3", "--max-age", "2"], "--max-age must be at least --detect-every (3), not 2"),
    (["--detect-width", "32"], "--detect-width must be at least 64 (pixels), not 32"),
    (["--retention", "0"], "--retention must be a number of days > 0 and <= 36500, not 0.0"),
    (["--retention", "nan"], "--retention must be a number of days > 0 and <= 36500, not nan"),
    (["--retention", "inf"], "--retention must be a number of days > 0 and <= 36500, not inf"),
    (["--timeout", "-1"], "--timeout must be a number of seconds > 0, not -1.0"),
    (["--max-frames", "-1"], "--max-frames must be an integer >= 0, not -1"),
    (["--prefetch", "-1"], "--prefetch must be an integer >= 0, not -1"),
    (["--blas-threads", "-2"], "--blas-threads must be an integer >= 0, not -2"),
    (["--clip", "99"], "clip must be 0..25 detections on each side of the best, not 99"),
    (["--min-face", "0"], "--min-face must be a positive number of pixels, not 0"),
    (["--max-score-every", "0"], "--max-score-every must be a positive integer, not 0"),
    (["--realtime", "--full-detect-every", "0"], "--full-detect-every must be a positive integer, not 0"),
    (["--detect-every", "3", "--max-detect-every", "2"],
     "--max-detect-every must be at least --detect-every (3), not 2"),
    (["--realtime", "--max-age", "3"], "--max-age must be at least --max-detect-every (4), not 3"),
    (["--camera-id", "../cam"], "camera id must be 1-64 letters, digits, '_', '.', '-', not '../cam'"),
]


@pytest.mark.parametrize("options, message", BAD_OPTIONS, ids=[" ".join(o) for o, _ in BAD_OPTIONS])
def test_bad_option_is_refused_before_any_work(options, message, tmp_path, key, video, no_model, capsys):
    out = tmp_path / "out"
    assert refused(capsys, "--video", video, *key, "--out", out, *options) == f"error: {message}\n"
    assert not out.exists()


WRITE_ERROR = "--out must be a folder this program can write to, not {out}"


@pytest.mark.parametrize("case, message", [
    pytest.param("file", "--out must be a folder, not a file: {out}", id="file"),
    pytest.param("under-a-file", WRITE_ERROR + "/sub (Not a directory)", id="under-a-file"),
    pytest.param("read-only", WRITE_ERROR + " (Permission denied)", id="read-only"),
    pytest.param("full", "--out must have at least 16 MiB free, not 1.5 MiB ({out})", id="full"),
])
def test_bad_out_is_refused_before_any_work(case, message, tmp_path, key, video, no_model, capsys, monkeypatch):
    out = tmp_path / "out"
    if case in ("file", "under-a-file"):
        out.write_text("a file")
    else:
        out.mkdir()
    if case == "read-only":
        out.chmod(0o555)
        try:
            (out / "probe").touch()
        except PermissionError:
            pass
        else:
            pytest.skip("a read-only folder is writable here (running as root)")
    if case == "full":
        usage = shutil.disk_usage
        monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(path)._replace(free=3 * 2**19))
    target = out / "sub" if case == "under-a-file" else out
    err = refused(capsys, "--video", video, *key, "--out", target)
    assert err == f"error: {message.format(out=out)}\n"


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
    assert main(["--video", str(cut), *key, "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert 10 < report["frames"] < 60 and report["records"] >= 3
    assert "truncated or corrupt" in caplog.text


def still_video(data_dir: Path, folder: Path, frames: int, fps: float) -> Path:
    """An MJPG clip of one LFW photo, `frames` long at `fps`."""
    import cv2

    still = cv2.imread(str(data_dir / "lfw-dev" / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg"))
    clip = folder / "still.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), fps, still.shape[1::-1])
    for _ in range(frames):
        writer.write(still)
    writer.release()
    return clip


def test_record_times_are_the_videos_own_from_the_start_time(data_dir, tmp_path, key, monkeypatch):
    patch_judge(monkeypatch)
    clip = still_video(data_dir, tmp_path, 8, 10)
    out = tmp_path / "out"
    start = ["--start-time", "2026-01-02T04:04:05+01:00"]
    assert main(["--video", str(clip), *key, "--out", str(out), "--quiet", *start]) == 0
    (track,) = json.loads((out / "report.json").read_text())["tracks"]
    assert track["first_seen"] == "2026-01-02T03:04:05.000+00:00"
    assert track["last_seen"] == "2026-01-02T03:04:05.700+00:00"   # the video's own 10 frames/s


@pytest.mark.parametrize("whole_search", ["burst", "bands", pytest.param("light", marks=needs_light_finder)])
def test_realtime_plays_the_video_at_its_rate_and_reports_drops_and_cadence(data_dir, tmp_path, key, monkeypatch,
                                                                           whole_search):
    import host.pipeline

    patch_judge(monkeypatch)
    process = host.pipeline.FrameSelector.process

    def slow(self, frame):   # a detection frame takes 3 frame intervals of the 50 frames/s clip
        process(self, frame)
        if self.counts["detection_frames"] and frame.index == self._last_detection:
            time.sleep(0.06)

    monkeypatch.setattr(host.pipeline.FrameSelector, "process", slow)
    clip, out = still_video(data_dir, tmp_path, 50, 50), tmp_path / "out"
    t0 = time.perf_counter()
    assert main(["--video", str(clip), *key, "--out", str(out), "--quiet", "--realtime",
                 "--whole-search", whole_search]) == 0
    assert time.perf_counter() - t0 > 0.9                                   # 50 frames at 50 frames/s: ~1 s
    report = json.loads((out / "report.json").read_text())
    assert report["realtime"] and report["frames_dropped"] > 0 and report["frames"] + report["frames_dropped"] == 50
    assert report["settings"]["full_every"] == FULL_DETECT_EVERY
    assert 1 <= report["whole_frame_detections"] < report["detection_frames"]   # between: at the tracks (+ a band)
    assert report["settings"]["whole_search"] == whole_search
    assert (report["band_detections"] > 0) == (whole_search == "bands")
    assert (report["light_searches"] > 0) == (whole_search == "light")
    cadence = report["cadence"]
    assert sum(r["frames"] for r in cadence["frames_at"]) == report["frames"] and report["records"] == 1
    assert cadence["final"]["detect_every"] > 1 or cadence["final"]["score_every"] > 1   # it fell behind


def test_realtime_with_a_camera_is_refused(tmp_path, key, no_model, capsys):
    err = refused(capsys, "--camera", "0", "--realtime", *key, "--out", tmp_path / "out")
    assert err == "error: --realtime must be given with --video or no source (a camera always runs in real time), " \
                  "not with --camera 0\n"


KILL_SCRIPT = """
import sys
import host.run
from tests.host.fakes import SharpnessJudge
host.run.make_judge = lambda args: (SharpnessJudge(), "fake-model")
sys.exit(host.run.main(sys.argv[1:]))
"""


def test_kill_9_leaves_only_valid_records(crowd, tmp_path, key):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, "--video", str(crowd), *key,
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
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, "--video", str(crowd), *key,
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
    assert main(["--video", str(crowd), *key, "--out", str(out), "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    persons = [t for t in report["tracks"] if t["confirmed"]]
    assert report["frames"] == 105 and len(persons) == report["records"] >= 8
    assert sorted(p.name for p in (out / "records").glob("*.fvr")) == sorted(t["record"] for t in persons)
    assert len(list((out / "plots").glob("track-*.svg"))) == len(persons)
    keys = Path(key[1]).parent
    shares = [str(keys / f"share-{h}.json") for h in ("judge", "operator", "dpo")]
    registry = ["--registry", str(keys / "cameras.json")]
    assert authority(["decrypt", str(out / "records"), *registry, "--share", shares[0], "--reason", "t",
                      "--out", str(tmp_path / "k-1")]) == 2
    assert authority(["decrypt", str(out / "records"), *registry, "--share", shares[1], "--share", shares[2],
                      "--reason", "warrant", "--out", str(tmp_path / "k")]) == 0
    assert len(list((tmp_path / "k").glob("*.png"))) == len(persons) + 1     # the crops + montage.png
    assert len(list((tmp_path / "k").glob("*.evidence.json"))) == len(persons)
    assert authority(["verify", str(out / "records"), *registry]) == 0


def test_the_light_finder_is_the_default_where_it_runs_and_bands_with_a_warning_where_not(monkeypatch, caplog):
    monkeypatch.setattr(lightface, "unavailable", lambda: None)
    assert resolve_whole_search(None, FULL_DETECT_EVERY) == "light"
    monkeypatch.setattr(lightface, "unavailable", lambda: "OpenCV 4.7.0 cannot read TFLite models (4.8 or later can)")
    with caplog.at_level(logging.WARNING):
        assert resolve_whole_search(None, 1) == "bands"
        assert caplog.text == ""   # frame by frame MTCNN searches the whole frame anyway: nothing to warn of
        assert resolve_whole_search(None, FULL_DETECT_EVERY) == "bands"
    assert "cannot read TFLite models" in caplog.text


def test_asking_for_the_light_finder_where_it_cannot_run_is_refused_before_any_work(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(lightface, "unavailable", lambda: "OpenCV 4.7.0 cannot read TFLite models (4.8 or later can)")
    assert main(["--realtime", "--whole-search", "light", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "--whole-search light cannot run here: OpenCV 4.7.0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(lightface.LightFaceFinder, "__init__", lambda self: pytest.fail("loaded frame by frame"))
    assert main(["--whole-search", "light", "--out", str(tmp_path / "by-frame"), "--quiet"]) == 0   # unused there
