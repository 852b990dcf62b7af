import numpy as np
import pytest
from scipy.special import log_ndtr

from host.quality import SCORES, Reference, finest_noise, log_normal_cdf, png_bits, quality_scores


def _feats(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return {"log_rp": rng.normal(3000, 300, n), "png_bits": rng.normal(23000, 1000, n),
            "residual_noise": rng.uniform(0.008, 0.012, n), "contrast": rng.uniform(0.18, 0.25, n)}


def test_log_normal_cdf_matches_scipy_from_the_far_tail_to_the_top():
    z = np.concatenate([np.linspace(-200, -5.0001, 500), np.linspace(-5, 8, 500)])
    np.testing.assert_allclose(log_normal_cdf(z), log_ndtr(z), rtol=2e-6)


def test_finest_noise_recovers_the_sigma_of_white_noise_and_ignores_smooth_content():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64] / 64
    smooth = 0.5 + 0.3 * np.sin(3 * xx) * np.cos(2 * yy)
    noisy = smooth + rng.normal(0, 0.03, (200, 64, 64))
    est = finest_noise(noisy)
    assert abs(est.mean() - 0.03) < 0.002
    assert finest_noise(smooth[None])[0] < 0.002


def test_png_bits_grow_with_image_complexity():
    flat = np.full((1, 64, 64), 128, np.uint8)
    noisy = np.random.default_rng(0).integers(0, 256, (1, 64, 64), dtype=np.uint8)
    assert png_bits(flat)[0] < 1000 < png_bits(noisy)[0]


def test_reference_round_trips_and_needs_enough_crops(tmp_path):
    ref = Reference.fit(_feats())
    ref.save(tmp_path / "ref.json")
    assert Reference.load(tmp_path / "ref.json") == ref
    with pytest.raises(ValueError, match="at least 10 crops, not 3"):
        Reference.fit(_feats(3))
    with pytest.raises(FileNotFoundError, match=r"run python -m eval\.quality_eval"):
        Reference.load(tmp_path / "missing.json")


def test_fisher_score_falls_with_lower_corrected_likelihood_and_with_more_noise():
    ref = Reference.fit(_feats(500))
    base = {k: np.full(3, v) for k, v in {"log_rp": 3000.0, "png_bits": 23000.0,
                                          "residual_noise": 0.01, "contrast": 0.2}.items()}
    simpler = {**base, "png_bits": np.array([23000.0, 21000.0, 19000.0])}
    noisier = {**base, "residual_noise": np.array([0.01, 0.02, 0.04])}
    cleaner = {**base, "residual_noise": np.array([0.01, 0.005, 0.0025])}
    fisher = SCORES["fisher"]
    assert (np.diff(fisher(simpler, ref)) < 0).all()
    assert (np.diff(fisher(noisier, ref)) < 0).all()
    # one-sided: the noise term is never a bonus and saturates for clean crops; more noise costs far more
    likelihood_term = log_normal_cdf(ref.standardised(cleaner)[:, 0])
    assert (fisher(cleaner, ref) <= likelihood_term).all()
    gain = np.diff(fisher(cleaner, ref))
    assert 0 < gain[1] < gain[0]
    loss = fisher(base, ref) - fisher(noisier, ref)
    assert loss[1] > 10 * gain[0]


def test_every_variant_scores_every_crop():
    scores = quality_scores(_feats(20, seed=1), Reference.fit(_feats()))
    assert set(scores) == {"raw", "complexity", "typicality", "fisher"}
    assert all(s.shape == (20,) and np.isfinite(s).all() for s in scores.values())
