"""The documentation figure of crops along tracks (paper Fig. 7)."""

from __future__ import annotations

import cv2

from eval.track_strips import main
from host.walkby import walkby_clip


def test_track_strips_on_a_walkby_video(tmp_path):
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
    for rgb in walkby_clip(frames=30):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "strips.png"
    assert main(["--video", str(video), "--tracks", "2", "--per-track", "5", "-o", str(out)]) == 0
    assert cv2.imread(str(out)).shape[0] > 100
