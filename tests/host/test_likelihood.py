import numpy as np
import pytest

from host.likelihood import (
    LOG_SIGMA_MAX,
    LOG_SIGMA_MIN,
    bound_log_sigma,
    bound_log_sigma_z,
    gaussian_log_density,
    latent_noise,
    log_rp,
    sample_latents,
)


def test_gaussian_log_density_matches_the_formula():
    x, mu, ls = 0.3, 0.5, np.log(0.1)
    expected = np.log(1 / (0.1 * np.sqrt(2 * np.pi)) * np.exp(-0.5 * (0.2 / 0.1) ** 2))
    assert gaussian_log_density(np.float64(x), mu, ls) == pytest.approx(expected, rel=1e-12)


def test_log_rp_is_the_log_mean_of_sample_likelihoods():
    rng = np.random.default_rng(1)
    x = rng.random((3, 4, 4))
    mu = rng.random((3, 5, 4, 4))
    ls = rng.uniform(-2, -1, (3, 5, 4, 4))
    per_sample = gaussian_log_density(x[:, None], mu, ls).sum(axis=(2, 3))
    naive = np.log(np.exp(per_sample).mean(axis=1))
    np.testing.assert_allclose(log_rp(x, mu, ls), naive, rtol=1e-10)


def test_log_rp_stays_finite_where_probabilities_underflow():
    x = np.zeros((1, 64, 64))
    mu = np.ones((1, 10, 64, 64))
    ls = np.full((1, 10, 64, 64), LOG_SIGMA_MIN)
    value = log_rp(x, mu, ls)
    assert np.isfinite(value).all() and value[0] < -1e7


def test_bounds_hold_for_any_raw_value():
    raw = np.array([-1e4, -3.0, 0.0, 3.0, 1e4])
    ls = bound_log_sigma(raw)
    assert (ls >= LOG_SIGMA_MIN).all() and (ls <= LOG_SIGMA_MAX).all() and (np.diff(ls) >= 0).all()
    lz = bound_log_sigma_z(raw)
    assert (lz <= 0).all() and np.isfinite(lz).all() and (np.diff(lz) >= 0).all()


def test_latent_noise_is_fixed_and_samples_follow_the_posterior():
    eps = latent_noise(8, 10)
    np.testing.assert_array_equal(eps, latent_noise(8, 10))
    mu, log_sigma = np.ones((2, 8)), np.full((2, 8), np.log(0.5))
    z = sample_latents(mu, log_sigma, eps)
    assert z.shape == (2, 10, 8)
    np.testing.assert_allclose(z[1], 1 + 0.5 * eps, rtol=1e-6)
