"""The bootstrap summary of an ERC setting: intervals, how often the VAE score beats the baselines."""

from __future__ import annotations

import numpy as np
import pytest

from eval.erc import PERFECT, VAE_DEFAULT, VAE_QUANT, bootstrap_summary, bootstrap_table, goals


def boot_of(vae: list[float], quant: list[float], **baselines: list[float]) -> dict[str, np.ndarray]:
    return {VAE_DEFAULT: np.array(vae), VAE_QUANT: np.array(quant), "vae_raw_float": np.array(vae),
            **{k: np.array(v) for k, v in baselines.items()}}


def test_shares_count_draws_where_the_vae_score_is_below_each_and_every_baseline():
    b = bootstrap_summary(boot_of([1, 2, 3, 4], [1, 2, 3, 4], face_size=[2, 1, 4, 5], random=[5, 5, 5, 3]))
    assert b["resamples"] == 4
    assert b["vae_minus_baseline"]["face_size"]["vae_lower"] == 0.75
    assert b["vae_minus_baseline"]["random"]["vae_lower"] == 0.75
    assert b["vae_below_every_baseline"] == 0.5                          # draws 0 and 2 only
    assert set(b["vae_minus_baseline"]) == {"face_size", "random"}       # VAE variants are not baselines
    lo, hi = b["pauc@20%_ci95"][VAE_DEFAULT]
    assert 1 <= lo < hi <= 4
    assert b["quant_vs_float_relative_ci95"] == [0.0, 0.0]


def test_draws_without_errors_are_no_win_and_give_no_ratio():
    b = bootstrap_summary(boot_of([0, 0], [0, 0], random=[0, 0]))
    assert b["vae_below_every_baseline"] == 0.0
    assert b["quant_vs_float_relative_ci95"] is None
    b = bootstrap_summary(boot_of([0, 2], [0, 3], random=[0, 1]))
    assert b["quant_vs_float_relative_ci95"] == pytest.approx([0.5, 0.5])


def test_goals_and_table_report_the_bootstrap_share():
    boot = bootstrap_summary(boot_of([1e-3, 2e-3, 3e-3], [1e-3, 2e-3, 3e-3], face_size=[2e-3, 3e-3, 4e-3]))
    methods = {m: {"pauc@20%": v} for m, v in {VAE_DEFAULT: 0.002, VAE_QUANT: 0.002, "vae_raw_float": 0.003,
                                                "face_size": 0.003, PERFECT: 0.0}.items()}
    results = {"paper": {"dlib": {"initial_fnmr=0.01": {"methods": methods, "bootstrap": boot}}}}
    g = goals(results)["paper/dlib/initial_fnmr=0.01"]
    assert g["vae_below_every_baseline"] and g["vae_below_every_baseline_share"] == 1.0
    row = bootstrap_table(results).splitlines()[-1]
    assert row.startswith("| paper/dlib/initial_fnmr=0.01 | 2.000 [1.050, 2.950] |")
    assert "face size 3.000 [2.050, 3.950]" in row
    assert "| -1.000 [-1.000, -1.000] | 100.0 % | +0.0 % .. +0.0 % |" in row
