"""ERC maths on synthetic comparisons: thresholds, rejection with ties, FNMR curves, pAUC, accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from eval.metrics import (
    GRID,
    best_accuracy,
    bootstrap_pauc,
    cluster_resamples,
    erc,
    pair_quality,
    pauc,
    rejection_order,
    summarise,
    threshold_at_fmr,
    threshold_at_fnmr,
)


def test_fmr_threshold_accepts_at_most_the_target_fraction():
    impostor = np.random.default_rng(0).normal(size=100_000)
    t = threshold_at_fmr(impostor, 1e-3)
    assert np.mean(impostor > t) <= 1e-3
    assert np.mean(impostor >= t) > 0.9e-3


def test_fnmr_threshold_rejects_the_target_fraction():
    genuine = np.random.default_rng(1).normal(size=10_000)
    t = threshold_at_fnmr(genuine, 1e-2)
    assert np.mean(genuine <= t) == pytest.approx(1e-2, abs=2e-4)


def test_oracle_quality_removes_every_error_once_they_are_rejected():
    genuine = np.random.default_rng(2).normal(size=1000)
    t = threshold_at_fnmr(genuine, 0.05)
    curve = erc(genuine, genuine, t)
    assert curve[0] == pytest.approx(0.05, abs=1e-3)
    assert np.all(np.diff(curve) <= 1e-12)                    # the oracle's FNMR never rises
    assert np.all(curve[GRID >= 0.051] == 0)


def test_quality_unrelated_to_errors_keeps_fnmr_flat_and_inverse_quality_raises_it():
    rng = np.random.default_rng(3)
    genuine = rng.normal(size=20_000)
    t = threshold_at_fnmr(genuine, 0.1)
    flat = erc(rng.random(len(genuine)), genuine, t)
    assert np.abs(flat - 0.1).max() < 0.02
    worst = erc(-genuine, genuine, t)                          # rejects the best comparisons first
    assert worst[-1] == pytest.approx(0.1 / 0.6, rel=1e-3)


def test_ties_are_broken_so_the_rejected_fraction_is_exact():
    quality = np.zeros(1000)                                   # a measure that cannot tell anything apart
    order = rejection_order(quality)
    assert sorted(order) == list(range(1000)) and not np.array_equal(order, np.arange(1000))
    genuine = np.where(np.arange(1000) < 100, -1.0, 1.0)      # 10 % errors
    curve = erc(quality, genuine, 0.0)
    assert np.abs(curve - 0.1).max() < 0.03                    # random tie order: no systematic gain


def test_pauc_and_summary_of_a_constant_curve():
    curve = np.full(len(GRID), 0.02)
    assert pauc(curve, 0.2) == pytest.approx(0.004)
    s = summarise(curve)
    assert set(s) == {"fnmr@0%", "fnmr@10%", "fnmr@20%", "fnmr@30%", "fnmr@40%", "pauc@20%", "pauc@30%"}
    assert s["pauc@30%"] == pytest.approx(0.006)


def test_erc_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="one quality per genuine comparison"):
        erc(np.zeros(3), np.zeros(4), 0.0)


def test_pair_quality_is_the_lower_and_accuracy_finds_the_best_threshold():
    assert pair_quality(np.array([1.0, 5.0]), np.array([3.0, 2.0])).tolist() == [1.0, 2.0]
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    same = np.array([1, 1, 0, 1, 0, 0], bool)
    assert best_accuracy(scores, same) == pytest.approx(5 / 6)


def test_cluster_resamples_draw_whole_groups_with_replacement():
    groups = np.repeat(np.arange(50), np.arange(50) % 4 + 1)          # groups of 1 to 4 comparisons
    draws = list(cluster_resamples(groups, 200))
    assert all(np.array_equal(a, b) for a, b in zip(draws, cluster_resamples(groups, 200), strict=True))  # seeded
    sizes = np.bincount(groups)
    for idx in draws:
        per_group = np.bincount(groups[idx], minlength=50)
        assert np.all(per_group % sizes == 0)                          # a group comes whole, or several times
        assert (per_group // sizes).sum() == 50                        # as many groups as there are
        for g in np.flatnonzero(per_group):                            # each member of a drawn group equally often
            assert len(set(np.bincount(idx[groups[idx] == g]).tolist()) - {0}) == 1
    repeated = [np.max(np.bincount(groups[idx], minlength=50) // sizes) for idx in draws]
    assert max(repeated) >= 3                                          # with replacement


def test_bootstrap_pauc_is_paired_and_separates_the_oracle_from_random():
    rng = np.random.default_rng(4)
    genuine = rng.normal(size=2000)
    t = threshold_at_fnmr(genuine, 0.1)
    groups = rng.integers(600, size=2000)
    q = {"oracle": genuine, "random": rng.random(2000), "copy": genuine.copy()}
    boot = bootstrap_pauc(q, genuine, t, groups, 300)
    assert np.array_equal(boot["oracle"], boot["copy"])                # same draws for every measure
    assert np.all(boot["oracle"] < boot["random"])
    full = pauc(erc(q["random"], genuine, t), 0.2)
    assert abs(np.median(boot["random"]) - full) < 0.1 * full          # centred on the full-sample value
    assert np.std(boot["random"]) > 0
