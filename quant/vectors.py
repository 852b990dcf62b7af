"""Integer test vectors of a quantized VAE: real face crops and sampled latents, with the Brevitas codes.

These are what the FINN graphs, the simulator and RTL simulation must reproduce integer for integer.
Latents are sampled the way the host samples them (`host.likelihood`), then put on the decoder's int8 grid.
"""

from __future__ import annotations

import numpy as np

from host.accelerated import latent_codes
from host.likelihood import bound_log_sigma_z, latent_noise
from quant.export import integer_codes, output_scales
from quant.qvae import Z_SCALE, QuantDecoder, QuantEncoder


def integer_vectors(encoder: QuantEncoder, decoder: QuantDecoder, crops: np.ndarray) -> dict[str, np.ndarray]:
    """crops (N, 64, 64) uint8 -> encoder in/out codes and N decoder in/out codes (one latent sample each)."""
    crops = np.asarray(crops, np.uint8)
    enc_out = integer_codes(encoder, crops[:, None].astype(np.float32))
    mu_and_sigma = enc_out * output_scales(encoder)
    latent = mu_and_sigma.shape[1] // 2
    eps = latent_noise(latent, samples=len(crops))  # one sample per crop
    z = mu_and_sigma[:, :latent] + np.exp(bound_log_sigma_z(mu_and_sigma[:, latent:])) * eps
    z_codes = latent_codes(z, Z_SCALE)
    return {"encoder_in": crops[..., None], "encoder_out": enc_out,
            "decoder_in": z_codes, "decoder_out": integer_codes(decoder, z_codes.astype(np.float32))}
