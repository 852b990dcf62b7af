"""The float PyTorch VAE behind the host's `VAEBackend` interface (workstation side)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from quant.vae import load_checkpoint

BATCH = 256


class FloatBackend:
    """Runs a float checkpoint with torch on the CPU, in batches, without gradients."""

    def __init__(self, checkpoint: Path) -> None:
        self.model = load_checkpoint(checkpoint)
        self.latent = self.model.cfg.latent

    @torch.no_grad()
    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outs = [self.model.encoder(torch.from_numpy(crops[i:i + BATCH]).float().div_(255).unsqueeze(1))
                for i in range(0, len(crops), BATCH)]
        return tuple(torch.cat(parts).numpy() for parts in zip(*outs, strict=True))

    @torch.no_grad()
    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outs = [self.model.decoder(torch.from_numpy(np.ascontiguousarray(z[i:i + BATCH], np.float32)))
                for i in range(0, len(z), BATCH)]
        return tuple(torch.cat(parts)[:, 0].numpy() for parts in zip(*outs, strict=True))
