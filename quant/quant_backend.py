"""The Brevitas low-bit VAE behind the host's `VAEBackend` interface (workstation side).

Latents cross to the decoder as int8 codes on the `Z_SCALE` grid, as they will on the board.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quant.float_backend import batched
from quant.qat import load_quant_checkpoint
from quant.qvae import Z_SCALE


def latent_codes(z: np.ndarray) -> np.ndarray:
    """Host-side quantization of sampled latents to the decoder's int8 input codes."""
    return np.clip(np.rint(z / Z_SCALE), -128, 127).astype(np.float32)


class QuantBackend:
    """Runs a QAT checkpoint's encoder and decoder with torch on the CPU, in batches."""

    def __init__(self, checkpoint: Path) -> None:
        self.model = load_quant_checkpoint(checkpoint)
        self.latent = self.model.cfg.latent

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = batched(lambda x: self.model.encoder(x.unsqueeze(1)), crops)
        return out[:, :self.latent], out[:, self.latent:]

    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = batched(self.model.decoder, latent_codes(z))
        return out[:, 0], out[:, 1]
