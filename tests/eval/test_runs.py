"""The two evaluation programs end to end on a small LFW subset: real detector, recognizers, VAEs."""

from __future__ import annotations

import csv
import json

import pytest

from eval import degradation, erc
from eval.erc import PERFECT
from eval.extract import ABLATION
from host.judge import REFERENCE_FILE
from host.quality import DEFAULT_SCORE
from host.run import DEFAULT_BUILD
from quant.degradations import DEGRADATIONS

pytestmark = [pytest.mark.data, pytest.mark.slow]
METHODS = {"laplacian", "brisque", "face_size", "mtcnn_confidence", "random", PERFECT,
           "vae_float", "vae_raw_float", "vae_sim", "vae_raw_sim"}
VARIANTS = {f"vae_{v}_{m}" for v in ABLATION if v != DEFAULT_SCORE for m in ("float", "sim")}  # beside the default
ERC_METHODS = METHODS | VARIANTS
SHIPPED_REFERENCE = DEFAULT_BUILD / REFERENCE_FILE   # stands in for one fitted on normalised faces


def test_erc_on_a_subset(data_dir, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["--lfw", str(data_dir / "lfw-dev"), "--pairs-per-kind", "12", "--out", str(out), "--cache", str(cache)]
    assert erc.main(argv) == 0
    summary = json.loads((out / "erc.json").read_text())
    assert summary["pairs"] == 24 and summary["images"] > 40
    for rec in ("facenet", "dlib"):
        assert summary["recognizers"][rec]["lfw_pairs_accuracy"] >= 0.9      # both recognizers really work
    settings = [(p, r, s) for p, recs in summary["results"].items() for r, ss in recs.items() for s in ss]
    assert len(settings) == 2 * (1 + 2)
    for p, r, s in settings:
        methods = summary["results"][p][r][s]["methods"]
        assert set(methods) == ERC_METHODS
        initial = {v["fnmr@0%"] for v in methods.values()}
        assert len(initial) == 1                                 # one threshold, before any rejection
        assert all(methods[PERFECT]["pauc@20%"] <= v["pauc@20%"] + 1e-12 for v in methods.values())
        boot = summary["results"][p][r][s]["bootstrap"]
        assert boot["resamples"] == 1000 and set(boot["pauc@20%_ci95"]) == ERC_METHODS - {PERFECT}
        assert all(lo <= hi for lo, hi in boot["pauc@20%_ci95"].values())
    assert set(summary["goals"]) == {f"{p}/{r}/{s}" for p, r, s in settings}
    assert all(0 <= g["vae_below_every_baseline_share"] <= 1 for g in summary["goals"].values())
    report = (out / "erc.md").read_text()
    assert "Person-level bootstrap (1000 draws" in report and f"| {DEFAULT_SCORE} (default), sim |" in report
    assert all(f"| {v}, float |" in report for v in ABLATION if v != DEFAULT_SCORE)
    with open(out / "scores.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == summary["images"] and ERC_METHODS - {PERFECT} <= set(rows[0])
    assert (out / "erc_lfw_pairs.png").stat().st_size > 10_000 and (out / "erc_paper.png").exists()
    cached = sorted(p.name for p in cache.iterdir())
    assert erc.main(argv) == 0                                   # second run: from the cache, same numbers
    assert sorted(p.name for p in cache.iterdir()) == cached
    assert json.loads((out / "erc.json").read_text())["results"] == summary["results"]
    degraded = tmp_path / "degraded"
    assert erc.main([*argv[:-4], "--out", str(degraded), "--cache", str(cache), "--degrade", "--bootstrap", "0",
                     "--expnorm-sim-reference", str(SHIPPED_REFERENCE)]) == 0
    shown_summary = json.loads((degraded / "erc.json").read_text())
    normalised = {"vae_sim_expnorm", *(f"vae_{v}_sim_expnorm" for v in ABLATION if v != DEFAULT_SCORE)}
    assert normalised <= set(shown_summary["results"]["lfw_pairs"]["dlib"]["fmr=0.001"]["methods"])
    assert f"| {DEFAULT_SCORE} (default), sim, exposure-normalised |" in (degraded / "erc.md").read_text()
    assert shown_summary["degraded"] and set(shown_summary["fnmr_by_degradation"]) == {"pairs", "facenet", "dlib"}
    clean_thresholds = [summary["results"]["lfw_pairs"][r]["fmr=0.001"]["threshold"] for r in ("facenet", "dlib")]
    assert clean_thresholds == [shown_summary["results"]["lfw_pairs"][r]["fmr=0.001"]["threshold"]
                                for r in ("facenet", "dlib")]                # calibrated on the clean images
    with open(degraded / "scores.csv") as f:
        shown = list(csv.DictReader(f))
    assert [(r["person"], r["number"]) for r in shown] == [(r["person"], r["number"]) for r in rows]
    assert {r["degradation"] for r in shown} <= set(DEGRADATIONS)
    methods = sorted(ERC_METHODS - {PERFECT, "random"})
    for clean, r in zip(rows, shown, strict=True):                  # level 0 = the image unchanged
        assert (r["level"] == "0") == all(clean[m] == r[m] for m in methods), (r, clean)


def test_degradation_on_three_images(data_dir, tmp_path):
    out = tmp_path / "out"
    assert degradation.main(["--lfw", str(data_dir / "lfw-dev"), "-n", "3", "--out", str(out), "--cache",
                             str(tmp_path / "cache"), "--expnorm-sim-reference", str(SHIPPED_REFERENCE)]) == 0
    summary = json.loads((out / "degradation.json").read_text())
    table = summary["spearman"]
    normalised = {f"{m}_expnorm" for m in (METHODS | VARIANTS) if m.startswith("vae_") and m.endswith("_sim")}
    assert set(table) == ((METHODS | VARIANTS) - {PERFECT}) | normalised
    assert table["laplacian"]["blur"] < -0.9                     # sharpness falls with every blur step
    assert table["vae_float"]["blur"] < -0.5 and table["vae_raw_float"]["blur"] > 0.5  # FINDINGS section 8
    assert (out / "degradation.png").exists()


def test_missing_lfw_is_a_clear_error(tmp_path, capsys):
    assert erc.main(["--lfw", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "has no pairs.txt" in capsys.readouterr().err
