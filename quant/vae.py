"""The float face-quality VAE (VanillaVAE-shaped, as the paper's hyper-parameters imply).

Encoder: 5 x (3x3 stride-2 conv, BatchNorm, LeakyReLU 1/8), channels c*(1, 2, 4, 8, 16), then two
fully connected heads mu_z and raw log sigma_z. Decoder: FC to 16c x 2 x 2, five upsampling blocks back
to 64x64, and a 3x3 conv to two maps per pixel: mu_x and the raw log sigma_x, which the host bounds
with `host.likelihood.bound_log_sigma` (and log sigma_z with `bound_log_sigma_z`); training uses the
torch twins of those formulas, so the accelerators only ever produce raw values.

Upsampling block, selectable (`DecoderKind`): ``upsample`` = nearest x2 + 3x3 conv (ours, FINN
friendly); ``transposed`` = 3x3 stride-2 transposed conv with output padding 1 (the paper/VanillaVAE).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch
from torch import nn

from host.likelihood import LOG_SIGMA_MAX, LOG_SIGMA_MIN

LEAKY_SLOPE = 0.125  # a power of two keeps LeakyReLU exact in hardware


class DecoderKind(str, Enum):
    UPSAMPLE = "upsample"
    TRANSPOSED = "transposed"


@dataclass(frozen=True)
class VAEConfig:
    """Shape of one VAE variant; round-trips through JSON (``to_dict``/``from_dict``)."""

    channels: int = 32          # c: encoder widths c, 2c, 4c, 8c, 16c (32 = the paper's size)
    latent: int = 128           # dimension of z
    decoder: DecoderKind = DecoderKind.UPSAMPLE
    size: int = 64              # input/output crop side; 5 stride-2 stages take it to size / 32

    @property
    def name(self) -> str:
        return f"vae_float_c{self.channels}_{self.decoder.value}"

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "decoder": self.decoder.value}

    @classmethod
    def from_dict(cls, d: dict) -> VAEConfig:
        return cls(**{**d, "decoder": DecoderKind(d["decoder"])})


def _act() -> nn.Module:
    return nn.LeakyReLU(LEAKY_SLOPE)


def _up_block(cin: int, cout: int, kind: DecoderKind) -> nn.Sequential:
    if kind is DecoderKind.UPSAMPLE:
        layers = [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1)]
    else:
        layers = [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)]
    return nn.Sequential(*layers, nn.BatchNorm2d(cout), _act())


class Encoder(nn.Module):
    """64x64 grey crop in [0, 1] -> (mu_z, raw log sigma_z); the host bounds the latter."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        widths = [1] + [cfg.channels * 2**i for i in range(5)]
        self.features = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1),
                          nn.BatchNorm2d(widths[i + 1]), _act())
            for i in range(5)])
        flat = widths[-1] * (cfg.size // 32) ** 2
        self.mu = nn.Linear(flat, cfg.latent)
        self.log_sigma = nn.Linear(flat, cfg.latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.flatten(self.features(x), 1)
        return self.mu(h), self.log_sigma(h)


class Decoder(nn.Module):
    """z -> (mu_x, raw log sigma_x), each N x 1 x 64 x 64."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        widths = [cfg.channels * 2**i for i in (4, 3, 2, 1, 0, 0)]
        self.start = (widths[0], cfg.size // 32, cfg.size // 32)
        self.fc = nn.Sequential(nn.Linear(cfg.latent, widths[0] * self.start[1] * self.start[2]),
                                nn.BatchNorm1d(widths[0] * self.start[1] * self.start[2]), _act())
        self.features = nn.Sequential(*[_up_block(widths[i], widths[i + 1], cfg.decoder) for i in range(5)])
        self.out = nn.Conv2d(widths[-1], 2, 3, padding=1)
        with torch.no_grad():  # start at mid-grey with a wide sigma: no huge first gradients
            self.out.bias.copy_(torch.tensor([0.5, 3.0]))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.fc(z).reshape(-1, *self.start)  # plain NCHW reshape (FINDINGS section 2)
        y = self.out(self.features(h))
        return y[:, :1], y[:, 1:]


def bound_log_sigma(raw: torch.Tensor) -> torch.Tensor:
    """Torch twin of `host.likelihood.bound_log_sigma` (smooth squash into the allowed range)."""
    return LOG_SIGMA_MIN + (LOG_SIGMA_MAX - LOG_SIGMA_MIN) * torch.sigmoid(raw)


def bound_log_sigma_z(raw: torch.Tensor) -> torch.Tensor:
    """Torch twin of `host.likelihood.bound_log_sigma_z`."""
    return -nn.functional.softplus(-raw)


class VAE(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One-sample pass for training: (mu_x, log sigma_x bounded, mu_z, log sigma_z)."""
        mu_z, raw = self.encoder(x)
        log_sigma_z = bound_log_sigma_z(raw)
        z = mu_z + torch.exp(log_sigma_z) * torch.randn_like(mu_z)
        mu_x, raw = self.decoder(z)
        return mu_x, bound_log_sigma(raw), mu_z, log_sigma_z


def save_checkpoint(model: VAE, path: Path, extra: dict | None = None) -> None:
    """Weights (float16 halves the committed size; BN statistics stay float32) plus the config."""
    state = {k: v.half() if v.is_floating_point() and "running" not in k else v
             for k, v in model.state_dict().items()}
    torch.save({"config": model.cfg.to_dict(), "state": state, **(extra or {})}, path)


def load_checkpoint(path: Path) -> VAE:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = VAE(VAEConfig.from_dict(ckpt["config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["state"].items()})
    return model.eval()

