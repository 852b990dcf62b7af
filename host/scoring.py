"""Score face crops with any VAE backend: one encoder pass, L latent samples, L decoder passes, RP.

A backend (float PyTorch, the bit-accurate simulator or the FPGA) only maps arrays to arrays; all the
probabilistic maths runs here, in numpy, so every backend is scored by the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from host.likelihood import (
    L_SAMPLES,
    bound_log_sigma,
    bound_log_sigma_z,
    latent_noise,
    log_rp,
    sample_latents,
)


class VAEBackend(Protocol):
    """What the host needs from an accelerator (or its stand-ins)."""

    latent: int

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 crops (N, 64, 64) -> mu_z and raw log sigma_z, float32 (N, latent) each."""
        ...

    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latents (M, latent) -> mu_x and raw log sigma_x, float32 (M, 64, 64) each."""
        ...


@dataclass(frozen=True)
class Reconstruction:
    """Everything the quality scores are computed from, for N crops and L samples."""

    x: np.ndarray            # (N, H, W) crops in [0, 1]
    mu_z: np.ndarray         # (N, latent) the encoder's posterior mean
    mu_x: np.ndarray         # (N, L, H, W)
    log_sigma_x: np.ndarray  # (N, L, H, W), bounded
    log_rp: np.ndarray       # (N,) nats


def reconstruct(backend: VAEBackend, crops: np.ndarray, samples: int = L_SAMPLES) -> Reconstruction:
    """Run the encoder once and the decoder `samples` times per crop; compute log RP."""
    if crops.ndim != 3 or crops.dtype != np.uint8:
        raise ValueError(f"crops must be an (N, H, W) uint8 array, not {crops.shape} {crops.dtype}")
    n = len(crops)
    mu_z, raw_z = backend.encode(crops)
    z = sample_latents(mu_z, bound_log_sigma_z(raw_z), latent_noise(backend.latent, samples))
    mu_x, raw = backend.decode(z.reshape(n * samples, -1))
    shape = (n, samples, *crops.shape[1:])
    mu_x, log_sigma_x = mu_x.reshape(shape), bound_log_sigma(raw.reshape(shape))
    x = crops.astype(np.float32) / 255
    return Reconstruction(x, mu_z, mu_x, log_sigma_x, log_rp(x, mu_x, log_sigma_x))
