"""The camera benchmark's pipeline run reports what the README tables show."""

from __future__ import annotations

from host.bench import run_pipeline, stream_frames
from host.judge import build_judge
from host.pipeline import Settings
from host.run import DEFAULT_BUILD


def test_a_pipeline_run_reports_speed_stages_and_the_choice(tmp_path):
    result = run_pipeline(build_judge(DEFAULT_BUILD), stream_frames(160, (320, 240)), Settings(detect_every=2),
                          tmp_path)
    assert result["frames"] == 160 and result["persons"] >= 2 and result["records"] == result["persons"]
    assert result["frames_per_second"] > 0 and {"decode", "detect", "score"} <= set(result["ms_per_frame"])
    assert result["median_best_score"] is not None
