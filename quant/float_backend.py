"""The float PyTorch VAE behind the host's `VAEBackend` interface (workstation side)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from quant.vae import load_checkpoint

BATCH = 256


@torch.no_grad()
def batched(net: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray) -> np.ndarray:
    """`net` applied to float32 `x` in batches of BATCH, without gradients; one numpy array back."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return torch.cat([net(torch.from_numpy(x[i:i + BATCH])) for i in range(0, len(x), BATCH)]).numpy()


class FloatBackend:
    """Runs a float checkpoint with torch on the CPU, in batches."""

    def __init__(self, checkpoint: Path) -> None:
        self.model = load_checkpoint(checkpoint)
        self.latent = self.model.cfg.latent

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = batched(lambda x: torch.cat(self.model.encoder(x.div(255).unsqueeze(1)), dim=1), crops)
        return out[:, :self.latent], out[:, self.latent:]

    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = batched(lambda v: torch.cat(self.model.decoder(v), dim=1), z)
        return out[:, 0], out[:, 1]
