"""The Brevitas low-bit VAE behind the host's `VAEBackend` interface (workstation side).

Latents cross to the decoder as int8 codes on the `Z_SCALE` grid, as they will on the board.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from quant.qat import load_quant_checkpoint
from quant.qvae import Z_SCALE

BATCH = 256


def latent_codes(z: np.ndarray) -> np.ndarray:
    """Host-side quantization of sampled latents to the decoder's int8 input codes."""
    return np.clip(np.rint(z / Z_SCALE), -128, 127).astype(np.float32)


class QuantBackend:
    """Runs a QAT checkpoint's encoder and decoder with torch on the CPU, in batches."""

    def __init__(self, checkpoint: Path) -> None:
        self.model = load_quant_checkpoint(checkpoint)
        self.latent = self.model.cfg.latent

    @torch.no_grad()
    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = torch.cat([self.model.encoder(torch.from_numpy(crops[i:i + BATCH]).float().unsqueeze(1))
                         for i in range(0, len(crops), BATCH)]).numpy()
        return out[:, :self.latent], out[:, self.latent:]

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        codes = latent_codes(z)
        out = torch.cat([self.model.decoder(torch.from_numpy(codes[i:i + BATCH]))
                         for i in range(0, len(codes), BATCH)]).numpy()
        return out[:, 0], out[:, 1]
