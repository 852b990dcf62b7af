"""Host maths of the reconstruction probability (numpy only; runs on the board).

The encoder gives mu_z and log sigma_z; the host draws L latent samples with a fixed noise table (so
a crop always gets the same score, on every backend), the decoder maps each to mu_x and a raw
log sigma_x per pixel, and

    log RP(x) = logsumexp_l  sum_pixels log N(x | mu_x^l, sigma_x^l)  -  log L

with x the crop scaled to [0, 1].
"""

from __future__ import annotations

import numpy as np

L_SAMPLES = 10
NOISE_SEED = 20240607
LOG_SIGMA_MIN = float(np.log(1 / 255))  # one grey level: the data is 8-bit
LOG_SIGMA_MAX = 0.0
_HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def bound_log_sigma(raw: np.ndarray) -> np.ndarray:
    """Smoothly squash the decoder's raw log sigma_x into [LOG_SIGMA_MIN, LOG_SIGMA_MAX]."""
    sigmoid = 0.5 * (1 + np.tanh(0.5 * raw))  # overflow-free logistic
    return LOG_SIGMA_MIN + (LOG_SIGMA_MAX - LOG_SIGMA_MIN) * sigmoid


def bound_log_sigma_z(raw: np.ndarray) -> np.ndarray:
    """Posterior log sigma_z = -softplus(-raw) <= 0: never wider than the N(0, 1) prior."""
    return -np.logaddexp(0.0, -raw)


def latent_noise(latent: int, samples: int = L_SAMPLES, seed: int = NOISE_SEED) -> np.ndarray:
    """The fixed standard-normal table eps (samples x latent) shared by all backends."""
    return np.random.default_rng(seed).standard_normal((samples, latent)).astype(np.float32)


def sample_latents(mu_z: np.ndarray, log_sigma_z: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """z = mu + sigma * eps for every crop and sample: (N, D) x (L, D) -> (N, L, D)."""
    return mu_z[:, None, :] + np.exp(log_sigma_z)[:, None, :] * eps[None]


def gaussian_log_density(x: np.ndarray, mu_x: np.ndarray, log_sigma_x: np.ndarray) -> np.ndarray:
    """Per-pixel log N(x | mu, sigma) in nats; x broadcasts against mu and log sigma."""
    return -0.5 * ((x - mu_x) * np.exp(-log_sigma_x)) ** 2 - log_sigma_x - _HALF_LOG_2PI


def log_rp(x: np.ndarray, mu_x: np.ndarray, log_sigma_x: np.ndarray) -> np.ndarray:
    """log RP per crop. x: (N, H, W) in [0, 1]; mu_x, log_sigma_x (bounded): (N, L, H, W)."""
    per_sample = gaussian_log_density(x[:, None], mu_x, log_sigma_x).sum(axis=(2, 3), dtype=np.float64)
    top = per_sample.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(per_sample - top).sum(axis=1))
    return lse - np.log(per_sample.shape[1])
