"""Bad command-line input to the evaluation programs: one line "error: <rule>, not <value>", exit code 2, before
any image is processed."""

from __future__ import annotations

import numpy as np
import pytest

from eval import bench_sim, bench_vae, degradation, erc, probes, quality_eval, quant_gate, selection, track_strips
from quant.score import DEFAULT_BUILD

LFW = "an LFW folder (pairs.txt and images/), not {t}"
FOLDER = "a folder or a path where one can be made, not {t}"
FLOAT = "--checkpoint must be a float VAE checkpoint (python -m quant.train), not {t}"
BUILD = "--build must be a hw build folder (python -m hw.build), not {t}"
CASES = {  # id: (arguments, message); {t}: the folder of `inputs`
    "missing-lfw": (["--lfw", "{t}/none"], "argument --lfw: must be " + LFW + "/none (no such folder)"),
    "lfw-is-a-file": (["--lfw", "{t}/empty.pt"], "argument --lfw: must be " + LFW + "/empty.pt (a file)"),
    "lfw-without-pairs": (["--lfw", "{t}"], "argument --lfw: must be " + LFW + " (it has no pairs.txt and no images/)"),
    "out-is-a-file": (["--out", "{t}/empty.pt"],
                      "argument --out: must be " + FOLDER + "/empty.pt ({t}/empty.pt is a file)"),
    "cache-in-a-file": (["--cache", "{t}/empty.pt/c"],
                        "argument --cache: must be " + FOLDER + "/empty.pt/c ({t}/empty.pt is a file)"),
    "zero-workers": (["--workers", "0"], "argument --workers: must be a positive integer, not 0"),
    "text-workers": (["--workers", "two"], "argument --workers: must be a positive integer, not two"),
    "random-checkpoint": (["--lfw", "{t}/lfw", "--checkpoint", "{t}/random.pt"],
                          FLOAT + "/random.pt (UnpicklingError: Weights only load failed)"),
    "empty-checkpoint": (["--lfw", "{t}/lfw", "--checkpoint", "{t}/empty.pt"],
                         FLOAT + "/empty.pt (empty or truncated)"),
    "missing-checkpoint": (["--lfw", "{t}/lfw", "--checkpoint", "{t}/none.pt"],
                           FLOAT + "/none.pt (No such file or directory)"),
    "unknown-build": (["--lfw", "{t}/lfw", "--build", "{t}/lfw"], BUILD + "/lfw (BundleError: {t}/lfw is not a build"),
    "build-is-a-file": (["--lfw", "{t}/lfw", "--build", "{t}/random.pt"], BUILD + "/random.pt (Not a directory)"),
}
ERC = {
    "zero-pairs": (["--pairs-per-kind", "0"], "argument --pairs-per-kind: must be a positive integer, not 0"),
    "negative-bootstrap": (["--bootstrap", "-1"], "argument --bootstrap: must be a non-negative integer, not -1"),
    "lfw-without-its-images": (["--lfw", "{t}/holes"], "--lfw must be " + LFW + "/holes (FileNotFoundError: 2 images "
                                                       "named by {t}/holes/pairs.txt are missing"),
}
DEGRADATION = {
    "zero-images": (["-n", "0"], "argument -n: must be a positive integer, not 0"),
    "negative-images": (["-n", "-3"], "argument -n: must be a positive integer, not -3"),
    "negative-seed": (["--seed", "-1"], "argument --seed: must be a non-negative integer, not -1"),
}
SELECTION = {
    "one-person": (["--persons", "1"], "argument --persons: must be an integer of at least 2, not 1"),
    "one-frame": (["--frames", "1"], "argument --frames: must be an integer of at least 2, not 1"),
    "text-frames": (["--frames", "ten"], "argument --frames: must be an integer of at least 2, not ten"),
    "negative-bootstrap": (["--bootstrap", "-1"], "argument --bootstrap: must be a non-negative integer, not -1"),
    "negative-seed": (["--seed", "-1"], "argument --seed: must be a non-negative integer, not -1"),
    "negative-min-face": (["--min-face", "-5"], "argument --min-face: must be a non-negative number, not -5"),
    "unknown-split": (["--split", "all"], "argument --split: invalid choice: 'all' (choose from"),
    "lfw-without-persons": (["--lfw", "{t}/holes"], "--lfw must be " + LFW + "/holes (ValueError: {t}/holes/pairs.txt "
                                                    "names no person with at least 3 images in {t}/holes/images)"),
}

CROPS = "a crops file (python -m quant.data), not {t}"
OTHERS = {  # the other evaluation programs: (program, arguments, message)
    "probes-zero-images": (probes, ["-n", "0", "--out", "{t}/p.npz"], "argument -n: must be a positive integer, not 0"),
    "probes-out-is-a-folder": (probes, ["--out", "{t}"],
                               "argument --out: must be a file path in an existing folder, not {t} (a folder)"),
    "probes-missing-lfw": (probes, ["--lfw", "{t}/none", "--out", "{t}/p.npz"],
                           "argument --lfw: must be " + LFW + "/none (no such folder)"),
    "quality_eval-bad-probes": (quality_eval, ["--checkpoint", "{t}/random.pt", "--probes", "{t}/empty.pt"],
                                "--probes must be a probe file (python -m eval.probes), not {t}/empty.pt ("),
    "quality_eval-bad-checkpoint": (quality_eval, ["--checkpoint", "{t}/random.pt", "--probes", "{t}/crops.npz"],
                                    FLOAT + "/random.pt (UnpicklingError"),
    "quality_eval-negative-design": (quality_eval, ["--checkpoint", "x", "--probes", "x", "--design-probes", "-1"],
                                     "argument --design-probes: must be a non-negative integer, not -1"),
    "quant_gate-bad-crops": (quant_gate, ["--quant", "x", "--float", "x", "--reference-crops", "x", "--crops",
                                          "{t}/empty.pt"], "--crops must be " + CROPS + "/empty.pt ("),
    "quant_gate-bad-float": (quant_gate, ["--quant", "{t}/crops.npz", "--float", "{t}/empty.pt", "--reference-crops",
                                          "{t}/crops.npz", "--crops", "{t}/crops.npz", "--count", "2"],
                             "--quant must be a checkpoint with quality_table.json beside it"),
    "quant_gate-zero-count": (quant_gate, ["--quant", "x", "--float", "x", "--reference-crops", "x", "--crops", "x",
                                           "--count", "0"], "argument --count: must be a positive integer, not 0"),
    "track_strips-out-is-a-folder": (track_strips, ["--video", "v.mp4", "-o", "{t}"], "argument -o/--out: must be a "
                                     "file path in an existing folder, not {t} (a folder)"),
    "track_strips-zero-tracks": (track_strips, ["--video", "v.mp4", "-o", "{t}/s.png", "--tracks", "0"],
                                 "argument --tracks: must be a positive integer, not 0"),
    "track_strips-unknown-variant": (track_strips, ["--video", "v.mp4", "-o", "{t}/s.png", "--compare", "best"],
                                     "argument --compare: invalid choice: 'best' (choose from"),
    "bench_vae-empty-checkpoint": (bench_vae, ["--checkpoint", "{t}/empty.pt"],
                                   FLOAT + "/empty.pt (empty or truncated)"),
    "bench_vae-zero-faces": (bench_vae, ["--checkpoint", "x", "--faces", "0"],
                             "argument --faces: must be a positive integer, not 0"),
    "bench_sim-unknown-build": (bench_sim, ["--build", "{t}/lfw", "--float", "x"], BUILD + "/lfw (BundleError"),
    "bench_sim-bad-float": (bench_sim, ["--build", str(DEFAULT_BUILD), "--float", "{t}/random.pt"],
                            "--float must be a float VAE checkpoint (python -m quant.train), not {t}/random.pt ("),
}


@pytest.fixture
def inputs(tmp_path):
    """Bad inputs: random bytes, an empty file, an empty LFW folder and one whose pairs name missing images."""
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "empty.pt").touch()
    np.savez(tmp_path / "crops.npz", crops=np.zeros((4, 64, 64), np.uint8))
    for lfw, pairs in (("lfw", ""), ("holes", "1\t1\nBob\t1\t2\n")):
        (tmp_path / lfw / "images").mkdir(parents=True)
        (tmp_path / lfw / "pairs.txt").write_text(pairs)
    return tmp_path


ALL = {f"{program.__name__.removeprefix('eval.')}-{case}": (program, *{**CASES, **own}[case])
       for program, own in ((erc, ERC), (degradation, DEGRADATION), (selection, SELECTION))
       for case in [*CASES, *own]} | OTHERS


@pytest.mark.parametrize("case", sorted(ALL))
def test_bad_input_is_one_clear_error_line(case, inputs, capsys):
    program, args, message = ALL[case]
    assert program.main([a.format(t=inputs) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message.format(t=inputs)}") and err.count("\n") == 1, err
