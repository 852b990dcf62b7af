"""Distil the quality score's own ingredients from the float VAE into the quantized one.

The default score (host.quality, ``fisher``) reads two per-crop statistics off the VAE, each
standardised against a reference of good faces that every model fits for itself:

- s1 = log RP (L decoder passes of the fixed noise table) + ln2 x PNG bits of the crop,
- s2 = log(residual noise / contrast), the residual noise being the robust scale of the finest
  diagonal Haar detail of x - mean_l mu_x^l.

Because each model standardises against its own reference, the quantized model scores every crop
like its parent exactly when its (s1, s2) are an affine map of the parent's. `ScoreDistillation` adds
to the KL distillation of `quant.qat.Distillation` a weighted (1 - Pearson correlation) per statistic
over the batch, and `score_agreement` measures the Spearman correlations the quality gate looks at.
The statistics here are torch twins of the numpy ones in host.likelihood and host.quality (tested equal).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from host.likelihood import L_SAMPLES, latent_noise
from host.quality import DEFAULT_CROP_SCORE, LN2, MAD_TO_SIGMA, Reference, png_bits, quality_scores
from quant.qvae import Z_SCALE, QuantVAE
from quant.train import LossFn, pixel_nll, to_input
from quant.vae import VAE, bound_log_sigma, bound_log_sigma_z

_EPS = 1e-6
MEDIAN_BAND = 0.1  # the soft median averages the sorted values within +-10 % of the middle


def log_rp(x: torch.Tensor, mu_x: torch.Tensor, log_sigma_x: torch.Tensor) -> torch.Tensor:
    """log RP per crop. x: (N, 1, H, W); mu_x, log sigma_x (bounded): (N, L, H, W)."""
    return torch.logsumexp(-pixel_nll(x, mu_x, log_sigma_x).flatten(2).sum(2), dim=1) - math.log(mu_x.shape[1])


def soft_median(values: torch.Tensor) -> torch.Tensor:
    """Mean of each row's sorted values within MEDIAN_BAND of the middle: a median whose gradient
    reaches many entries, not one."""
    n = values.shape[1]
    lo, hi = round(n * (0.5 - MEDIAN_BAND)), round(n * (0.5 + MEDIAN_BAND))
    return values.sort(dim=1).values[:, lo:hi].mean(1)


def finest_noise(images: torch.Tensor, *, soft: bool = True) -> torch.Tensor:
    """Robust noise scale of (N, H, W) images from their finest diagonal Haar detail (host.quality's
    `finest_noise`; with `soft` the median is `soft_median`)."""
    h, w = images.shape[1] // 2 * 2, images.shape[2] // 2 * 2
    img = images[:, :h, :w]
    hh = (img[:, 0::2, 0::2] - img[:, 0::2, 1::2] - img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) / 2
    mags = hh.abs().flatten(1)
    return (soft_median(mags) if soft else mags.quantile(0.5, dim=1)) * MAD_TO_SIGMA


def score_statistics(x: torch.Tensor, mu_x: torch.Tensor, log_sigma_x: torch.Tensor, bits: torch.Tensor,
                     *, soft: bool = True) -> torch.Tensor:
    """(N, 2): complexity-corrected log RP and log residual noise-to-contrast ratio (host.quality)."""
    s1 = log_rp(x, mu_x, log_sigma_x) + LN2 * bits
    noise = finest_noise(x[:, 0] - mu_x.mean(1), soft=soft)
    contrast = x.flatten(1).std(1, correction=0)
    s2 = torch.log(noise.clamp_min(_EPS) / contrast.clamp_min(_EPS))
    return torch.stack([s1, s2], dim=1)


def png_bits_of(x: torch.Tensor) -> torch.Tensor:
    """PNG bits of (N, 1, H, W) crops in [0, 1] (computed on the CPU, returned on x's device)."""
    crops = (x[:, 0] * 255).round().to(torch.uint8).cpu().numpy()
    return torch.from_numpy(png_bits(crops)).to(x.device, torch.float32)


def _samples(mu_z: torch.Tensor, log_sigma_z: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """(N, D) posteriors and the (L, D) noise table -> (N x L, D) latents, crop-major."""
    return (mu_z[:, None] + torch.exp(log_sigma_z)[:, None] * eps[None]).flatten(0, 1)


def teacher_statistics(teacher: VAE, x: torch.Tensor, eps: torch.Tensor, bits: torch.Tensor,
                       *, soft: bool = True) -> torch.Tensor:
    mu_z, raw_z = teacher.encoder(x)
    mu_x, raw_x = teacher.decoder(_samples(mu_z, bound_log_sigma_z(raw_z), eps))
    shape = (len(x), len(eps), *x.shape[2:])
    return score_statistics(x, mu_x.reshape(shape), bound_log_sigma(raw_x.reshape(shape)), bits, soft=soft)


def student_statistics(model: QuantVAE, x: torch.Tensor, eps: torch.Tensor, bits: torch.Tensor,
                       *, soft: bool = True) -> torch.Tensor:
    """As on the board: encoder on 8-bit pixels, latents as int8 codes (the decoder's input quantizer rounds
    them, with a straight-through gradient to the encoder), then the decoder."""
    codes = model.encoder(x * 255)
    latent = model.cfg.latent
    z = _samples(codes[:, :latent], bound_log_sigma_z(codes[:, latent:]), eps)
    y = model.decoder(z / Z_SCALE)
    shape = (len(x), len(eps), *x.shape[2:])
    return score_statistics(x, y[:, 0].reshape(shape), bound_log_sigma(y[:, 1].reshape(shape)), bits, soft=soft)


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / (a.norm() * b.norm()).clamp_min(_EPS)


class ScoreDistillation(nn.Module):
    """The terms of `base` (the KL distillation) plus `weight` x (1 - Pearson) of each score statistic over
    the batch, with the host's fixed table of `samples` latent noise vectors (every backend scores with it)."""

    def __init__(self, teacher: VAE, base: LossFn, weight: float, samples: int = L_SAMPLES) -> None:
        super().__init__()
        self.teacher, self.base, self.weight = teacher.eval(), base, weight
        self.register_buffer("eps", torch.from_numpy(latent_noise(teacher.cfg.latent, samples)))

    def __call__(self, model: QuantVAE, x: torch.Tensor) -> dict[str, torch.Tensor]:
        terms = self.base(model, x)
        bits = png_bits_of(x)
        with torch.no_grad():
            target = teacher_statistics(self.teacher, x, self.eps, bits)
        stats = student_statistics(model, x, self.eps, bits)
        terms["rp_decorrelation"] = self.weight * (1 - pearson(stats[:, 0], target[:, 0]))
        terms["noise_decorrelation"] = self.weight * (1 - pearson(stats[:, 1], target[:, 1]))
        return terms


def _features(fn: Callable[..., torch.Tensor], model: nn.Module, crops: np.ndarray, bits: np.ndarray,
              eps: torch.Tensor, batch: int) -> dict[str, np.ndarray]:
    """host.quality features of `crops` (PNG bits `bits`) that give back the statistics `fn` computes
    (residual noise / contrast = exp(s2))."""
    parts = []
    with torch.no_grad():
        for i in range(0, len(crops), batch):
            x = to_input(crops[i:i + batch]).to(eps.device)
            b = torch.from_numpy(bits[i:i + batch]).to(eps.device, torch.float32)
            parts.append(fn(model, x, eps, b, soft=False).double().cpu().numpy())
    stats = np.concatenate(parts)
    return {"log_rp": stats[:, 0] - LN2 * bits, "png_bits": bits,
            "residual_noise": np.exp(stats[:, 1]), "contrast": np.ones(len(crops))}


def score_agreement(teacher: VAE, model: QuantVAE, crops: np.ndarray, reference_crops: np.ndarray,
                    batch: int = 64) -> dict[str, float]:
    """Spearman between the float and quantized default score and raw log RP on `crops`, each model with
    its own reference fitted on `reference_crops`: the quality gate's measure, computed in torch."""
    eps = torch.from_numpy(latent_noise(teacher.cfg.latent)).to(next(model.parameters()).device)
    bits, ref_bits = png_bits(crops), png_bits(reference_crops)
    scores = {}
    for name, fn, m in (("float", teacher_statistics, teacher), ("quant", student_statistics, model)):
        ref = Reference.fit(_features(fn, m, reference_crops, ref_bits, eps, batch))
        f = _features(fn, m, crops, bits, eps, batch)
        scores[name] = {DEFAULT_CROP_SCORE: quality_scores(f, ref)[DEFAULT_CROP_SCORE], "log_rp": f["log_rp"]}
    return {k: float(spearmanr(scores["float"][k], scores["quant"][k]).statistic) for k in scores["float"]}
