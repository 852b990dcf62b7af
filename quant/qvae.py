"""The low-bit VAE in Brevitas: the float architecture with quantized weights and activations.

Two accelerators share the model, each pure integer at its borders (output scales go to the host):

- `QuantEncoder`: uint8 crop (N, 1, 64, 64) -> integer codes of (mu_z, raw log sigma_z), one fused FC
  head of 2 x latent outputs, per-channel output scales.
- `QuantDecoder`: integer codes of z (int8, fixed scale `Z_SCALE`) -> integer codes of (mu_x, raw
  log sigma_x) per pixel, per-channel output scales (mu_x and log sigma_x need different ranges).

Bit widths are a `QuantSpec`; `from_float` initialises every weight and BatchNorm from a float `VAE`.
"""

from __future__ import annotations

from dataclasses import dataclass

import brevitas.nn as qnn
import torch
from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerTensorFloat, Uint8ActPerTensorFloat
from torch import nn

from quant.vae import LEAKY_SLOPE, VAE, DecoderKind, VAEConfig, bound_log_sigma, bound_log_sigma_z

Z_SCALE = 1 / 16  # decoder input: z in [-8, 8) as int8 codes


@dataclass(frozen=True)
class QuantSpec:
    """Bit widths of one quantized variant (named like ``vae_w4a4_c32``)."""

    weight_bits: int = 4
    act_bits: int = 4
    out_bits: int = 8

    def name(self, cfg: VAEConfig) -> str:
        return f"vae_w{self.weight_bits}a{self.act_bits}_c{cfg.channels}"


class _OutputQuant(Int8ActPerTensorFloat):
    """Signed output codes with one learned scale per output channel."""

    scaling_per_output_channel = True


def _act(bits: int) -> nn.Module:
    return qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, bit_width=bits)


def _out(bits: int, shape: tuple[int, ...]) -> nn.Module:
    """Output codes with one scale per channel; `shape` broadcasts a scale over (N, C, ...)."""
    return qnn.QuantIdentity(act_quant=_OutputQuant, bit_width=bits, per_channel_broadcastable_shape=shape,
                             scaling_stats_permute_dims=(1, 0, *range(2, len(shape))), return_quant_tensor=False)


def _conv(cin: int, cout: int, bits: int, stride: int = 1) -> nn.Module:
    return qnn.QuantConv2d(cin, cout, 3, stride=stride, padding=1, weight_quant=Int8WeightPerTensorFloat,
                           weight_bit_width=bits)


class QuantEncoder(nn.Module):
    def __init__(self, cfg: VAEConfig, spec: QuantSpec) -> None:
        super().__init__()
        widths = [1] + [cfg.channels * 2**i for i in range(5)]
        self.input_quant = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=8,
                                             scaling_impl_type="const", scaling_init=1.0)
        self.features = nn.Sequential(*[
            nn.Sequential(_conv(widths[i], widths[i + 1], spec.weight_bits, stride=2),
                          nn.BatchNorm2d(widths[i + 1]), nn.LeakyReLU(LEAKY_SLOPE), _act(spec.act_bits))
            for i in range(5)])
        flat = widths[-1] * (cfg.size // 32) ** 2
        self.head = qnn.QuantLinear(flat, 2 * cfg.latent, bias=True, weight_quant=Int8WeightPerTensorFloat,
                                    weight_bit_width=spec.weight_bits)
        self.output_quant = _out(spec.out_bits, (1, 2 * cfg.latent))

    def forward(self, crops_uint8: torch.Tensor) -> torch.Tensor:
        """uint8-valued float tensor (N, 1, H, W) -> (N, 2 x latent): [mu_z | raw log sigma_z]."""
        h = self.features(self.input_quant(crops_uint8 / 255.0))
        return self.output_quant(self.head(torch.flatten(h, 1)))


class QuantDecoder(nn.Module):
    def __init__(self, cfg: VAEConfig, spec: QuantSpec) -> None:
        super().__init__()
        if cfg.decoder is not DecoderKind.UPSAMPLE:
            raise ValueError(f"the quantized decoder must use upsample blocks, not {cfg.decoder.value}")
        widths = [cfg.channels * 2**i for i in (4, 3, 2, 1, 0, 0)]
        self.start = (widths[0], cfg.size // 32, cfg.size // 32)
        n_fc = widths[0] * self.start[1] * self.start[2]
        self.input_quant = qnn.QuantIdentity(act_quant=Int8ActPerTensorFloat, bit_width=8,
                                             scaling_impl_type="const", scaling_init=128 * Z_SCALE)
        self.fc = nn.Sequential(
            qnn.QuantLinear(cfg.latent, n_fc, bias=True, weight_quant=Int8WeightPerTensorFloat,
                            weight_bit_width=spec.weight_bits),
            nn.BatchNorm1d(n_fc), nn.LeakyReLU(LEAKY_SLOPE), _act(spec.act_bits))
        self.features = nn.Sequential(*[
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                          _conv(widths[i], widths[i + 1], spec.weight_bits),
                          nn.BatchNorm2d(widths[i + 1]), nn.LeakyReLU(LEAKY_SLOPE), _act(spec.act_bits))
            for i in range(5)])
        self.out = _conv(widths[-1], 2, spec.weight_bits)
        self.output_quant = _out(spec.out_bits, (1, 2, 1, 1))

    def forward(self, z_codes: torch.Tensor) -> torch.Tensor:
        """int8 codes of z (N, latent), z = codes x Z_SCALE -> (N, 2, H, W): [mu_x, raw log sigma_x]."""
        h = self.fc(self.input_quant(z_codes * Z_SCALE)).reshape(-1, *self.start)  # plain NCHW (FINDINGS 2)
        return self.output_quant(self.out(self.features(h)))


def _copy_block(dst: nn.Sequential, src: nn.Sequential) -> None:
    """Copy conv/linear weights and bias, and BatchNorm state, between matching blocks."""
    q_layers = [m for m in dst if isinstance(m, nn.Conv2d | nn.Linear | nn.BatchNorm1d | nn.BatchNorm2d)]
    f_layers = [m for m in src if isinstance(m, nn.Conv2d | nn.Linear | nn.BatchNorm1d | nn.BatchNorm2d)]
    for q, f in zip(q_layers, f_layers, strict=True):
        q.load_state_dict(f.state_dict(), strict=False)


def from_float(model: VAE, spec: QuantSpec) -> tuple[QuantEncoder, QuantDecoder]:
    """Quantized encoder and decoder initialised from a trained float VAE."""
    cfg = model.cfg
    enc, dec = QuantEncoder(cfg, spec), QuantDecoder(cfg, spec)
    for q, f in zip(enc.features, model.encoder.features, strict=True):
        _copy_block(q, f)
    with torch.no_grad():
        enc.head.weight.copy_(torch.cat([model.encoder.mu.weight, model.encoder.log_sigma.weight]))
        enc.head.bias.copy_(torch.cat([model.encoder.mu.bias, model.encoder.log_sigma.bias]))
    _copy_block(dec.fc, model.decoder.fc)
    for q, f in zip(dec.features, model.decoder.features, strict=True):
        _copy_block(q, f)
    dec.out.load_state_dict(model.decoder.out.state_dict(), strict=False)
    return enc, dec


class QuantVAE(nn.Module):
    """Quantized encoder + host-side sampling + quantized decoder, with the float VAE's forward."""

    def __init__(self, cfg: VAEConfig, spec: QuantSpec, encoder: QuantEncoder, decoder: QuantDecoder) -> None:
        super().__init__()
        self.cfg, self.spec = cfg, spec
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        codes = self.encoder(x * 255)
        mu_z, log_sigma_z = codes[:, :self.cfg.latent], bound_log_sigma_z(codes[:, self.cfg.latent:])
        z = mu_z + torch.exp(log_sigma_z) * torch.randn_like(mu_z)
        y = self.decoder(z / Z_SCALE)
        return y[:, :1], bound_log_sigma(y[:, 1:]), mu_z, log_sigma_z
