"""Bad command-line input to the model-side programs: one line "error: <rule>, not <value>", exit code 2, before
any image is read or any model trained."""

from __future__ import annotations

import pytest

from quant import data, qat, soup, train

CASES = {  # id: (program, arguments, message); {t}: a temporary folder holding the file `f`
    "data-missing-source": (data, ["{t}/none", "-o", "{t}/c.npz"],
                            "argument sources: must be an existing folder, not {t}/none (no such folder)"),
    "data-source-is-a-file": (data, ["{t}/f", "-o", "{t}/c.npz"],
                              "argument sources: must be an existing folder, not {t}/f (a file)"),
    "data-out-under-a-file": (data, ["{t}", "-o", "{t}/f/c.npz"], "argument -o/--out: must be a file path whose "
                              "folder exists or can be made, not {t}/f/c.npz ({t}/f is a file)"),
    "data-missing-pairs": (data, ["{t}", "-o", "{t}/c.npz", "--exclude-pairs", "{t}/pairs.txt"],
                           "argument --exclude-pairs: must be an existing file, not {t}/pairs.txt (no such file)"),
    "data-zero-workers": (data, ["{t}", "-o", "{t}/c.npz", "--workers", "0"],
                          "argument --workers: must be a positive integer, not 0"),
    "data-negative-sample": (data, ["{t}", "-o", "{t}/c.npz", "--sample", "-5"],
                             "argument --sample: must be a positive integer, not -5"),
    "train-missing-data": (train, ["--data", "{t}/none.npz", "--out", "{t}/run"],
                           "argument --data: must be an existing file, not {t}/none.npz (no such file)"),
    "train-out-is-a-file": (train, ["--data", "{t}/f", "--out", "{t}/f"], "argument --out: must be a folder or a "
                            "path where one can be made, not {t}/f ({t}/f is a file)"),
    "train-zero-epochs": (train, ["--data", "{t}/f", "--out", "{t}/run", "--epochs", "0"],
                          "argument --epochs: must be a positive integer, not 0"),
    "train-nan-lr": (train, ["--data", "{t}/f", "--out", "{t}/run", "--lr", "nan"],
                     "argument --lr: must be a positive number, not nan"),
    "qat-missing-float": (qat, ["--float", "{t}/none.pt", "--out", "{t}/q"],
                          "argument --float: must be an existing file, not {t}/none.pt (no such file)"),
    "qat-zero-bits": (qat, ["--float", "{t}/f", "--out", "{t}/q", "--weight-bits", "0"],
                      "argument --weight-bits: must be a positive integer, not 0"),
    "qat-negative-score-weight": (qat, ["--float", "{t}/f", "--out", "{t}/q", "--score-weight", "-1"],
                                  "argument --score-weight: must be a non-negative number, not -1"),
    "soup-checkpoint-is-a-folder": (soup, ["{t}", "{t}/f", "--out", "{t}/s.pt"],
                                    "argument checkpoints: must be an existing file, not {t} (a folder)"),
    "soup-out-is-a-folder": (soup, ["{t}/f", "{t}/f", "--out", "{t}"], "argument --out: must be a file path whose "
                             "folder exists or can be made, not {t} (a folder)"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_error_line(case, tmp_path, capsys):
    (tmp_path / "f").write_bytes(b"not a checkpoint")
    program, args, message = CASES[case]
    assert program.main([a.format(t=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {message.format(t=tmp_path)}\n", err
