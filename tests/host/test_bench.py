"""The camera benchmark's pipeline run reports what the README tables show."""

from __future__ import annotations

import pytest

from host.bench import run_pipeline, stream_frames
from host.judge import build_judge
from host.pipeline import Settings
from host.run import DEFAULT_BUILD
from tests.host.fakes import needs_light_finder


def test_a_pipeline_run_reports_speed_stages_and_the_choice(tmp_path):
    result = run_pipeline(build_judge(DEFAULT_BUILD), stream_frames(160, (320, 240)), Settings(detect_every=2),
                          tmp_path)
    assert result["frames"] == 160 and result["persons"] >= 2 and result["records"] == result["persons"]
    assert result["frames_per_second"] > 0 and {"decode", "detect", "score"} <= set(result["ms_per_frame"])
    assert result["median_best_score"] is not None


@pytest.mark.parametrize("whole_search", ["burst", "bands", pytest.param("light", marks=needs_light_finder)])
def test_the_clip_runs_report_speed_persons_and_real_time_on_one_core(tmp_path, whole_search):
    import json

    import cv2

    from host.bench import main
    from host.walkby import walkby_clip

    clip = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (160, 120))
    for rgb in walkby_clip(40, size=(160, 120)):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "bench.json"
    assert main(["--skip-crowd", "--clips", str(clip), "--stream-frames", "0", "--json", str(out),
                 "--whole-search", whole_search]) == 0
    report = json.loads(out.read_text())
    offline, live = report["clips"]["walk.avi"], report["one_core_realtime"]["walk.avi"]
    assert offline["frames"] == 40 and offline["persons"] >= 1 and "stored_boxes" not in offline
    assert live["frames"] + live["frames_dropped"] == live["frames_offered"] == 40 and live["camera_fps"] == 25
    assert isinstance(live["kept_up"], bool) and isinstance(live["persons_lost"], list) and live["cadence"]["final"]
    assert report["whole_search"] == whole_search and (live["band_detections"] > 0) == (whole_search == "bands")
    assert (live["light_searches"] > 0) == (whole_search == "light")
    assert live["whole_search_ms"] > 0 and live["whole_search_frame_intervals"] == pytest.approx(
        live["whole_search_ms"] * 25 / 1000, abs=0.01)
    assert sorted(map(int, live["lost_seen"])) == sorted(live["persons_lost"])


def test_a_lost_person_is_reported_with_when_frame_by_frame_saw_it():
    from host.bench import compare

    reference = {"clip": {"stored_boxes": {1: {0: [0, 0, 10, 10], 1: [1, 0, 10, 10]},
                                           2: {5: [50, 50, 20, 20], 6: [51, 50, 20, 20], 9: [52, 50, 20, 20]}}}}
    realtime = {"clip": {"stored_boxes": {"7": {"1": [1, 1, 10, 10]}}}, "cpu": 0}
    compare(reference, realtime)
    assert realtime["clip"]["persons_lost"] == [2]
    assert realtime["clip"]["lost_seen"] == {2: {"first": 5, "last": 9, "detections": 3}}
    assert "stored_boxes" not in realtime["clip"] and "stored_boxes" not in reference["clip"]


@pytest.mark.parametrize(("args", "message"), [
    (["--clips", "{t}/none.mp4"], "--video and --clips must be video files, not {t}/none.mp4"),
    (["--clips", "--fps", "0"], "--fps must be > 0 and --stream-frames >= 0, not 0.0 and 10000"),
    (["--clips", "--build", "{t}"], "--build must be a build folder: "),
])
def test_bad_input_is_refused_before_any_work(args, message, tmp_path, capsys):
    from host.bench import main

    with pytest.raises(SystemExit) as exc:
        main([a.format(t=tmp_path) for a in args])
    assert exc.value.code == 2 and f"error: {message.format(t=tmp_path)}" in capsys.readouterr().err
