"""The Brevitas low-bit VAE behind the host's `VAEBackend` interface (workstation side).

Latents cross to the decoder as int8 codes on the `Z_SCALE` grid, as they will on the board.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from host.accelerated import latent_codes
from quant.float_backend import batched
from quant.qat import load_quant_checkpoint
from quant.qvae import Z_SCALE


class QuantBackend:
    """Runs a QAT checkpoint's encoder and decoder with torch on the CPU, in batches."""

    def __init__(self, checkpoint: Path) -> None:
        self.model = load_quant_checkpoint(checkpoint)
        self.latent = self.model.cfg.latent

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = batched(lambda x: self.model.encoder(x.unsqueeze(1)), crops)
        return out[:, :self.latent], out[:, self.latent:]

    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = batched(self.model.decoder, latent_codes(z, Z_SCALE).astype(np.float32))
        return out[:, 0], out[:, 1]
