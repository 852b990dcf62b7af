"""The documentation figure of crops along tracks (paper Fig. 7) and the comparison of the variants' picks."""

from __future__ import annotations

import cv2
import numpy as np

from eval.track_strips import ClipRun, main
from host.quality import DEFAULT_SCORE, Reference
from host.walkby import walkby_clip


def test_track_strips_on_a_walkby_video(tmp_path, capsys):
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (640, 480))
    for rgb in walkby_clip(frames=30):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    out, picks = tmp_path / "strips.png", tmp_path / "picks.png"
    assert main(["--video", str(video), "--tracks", "2", "--per-track", "5", "-o", str(out),
                 "--compare", "fisher", "--compare-out", str(picks)]) == 0
    assert cv2.imread(str(out)).shape[0] > 100
    assert cv2.imread(str(picks)).shape[0] > 100
    printed = capsys.readouterr().out
    assert f"{DEFAULT_SCORE} f" in printed and ", fisher f" in printed


def test_each_variant_keeps_its_own_best_crop_of_the_same_run():
    """One run serves every variant: `kept` ranks the recorded crops' features by the variant asked for."""
    image = np.zeros((4, 4, 3), np.uint8)
    features = {"log_rp": np.array([-10.0, 0.0, -5.0]), "png_bits": np.zeros(3),
                "residual_noise": np.array([0.01, 50.0, 0.01]), "contrast": np.ones(3), "mu_z": np.zeros((3, 2))}
    reference = Reference(mean=[0.0, -2.0], cov=[[1.0, 0.0], [0.0, 1.0]], crops=10)
    run = ClipRun({7: [(10, 0, image), (11, 1, image), (12, 2, image)]}, features, reference, {})
    assert run.kept("raw") == {7: 11}          # the highest log RP, however noisy
    assert run.kept("fisher") == {7: 12}       # the noise tail rules the noisy crop out
