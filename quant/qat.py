"""Quantization-aware fine-tuning of the low-bit VAE, initialised from a trained float checkpoint.

    python -m quant.qat --float quant/checkpoints/upsample/vae_float_c32_upsample.pt \\
        --out quant/checkpoints/w4a4_c32 --weight-bits 4 --act-bits 4 --epochs 2

Same loss, data split, resume and report as `quant.train`; the sampling step and the sigma bounds
stay outside the quantized encoder/decoder, exactly as on the board.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch
from torch import nn

from host.quality import MIN_REFERENCE_CROPS
from quant.cli import (
    CliParser,
    input_file,
    non_negative_int,
    non_negative_number,
    output_folder,
    positive_int,
    positive_number,
    reports_input_errors,
)
from quant.qvae import Z_SCALE, QuantDecoder, QuantEncoder, QuantSpec, QuantVAE, from_float
from quant.score_distill import ScoreDistillation, score_agreement
from quant.train import TrainConfig, elbo_terms, fit, load_crops, run_report, split_indices
from quant.vae import VAEConfig, bound_log_sigma, bound_log_sigma_z, load_checkpoint


def gaussian_kl(mu_t: torch.Tensor, log_s_t: torch.Tensor, mu_s: torch.Tensor, log_s_s: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(N(mu_t, s_t^2) || N(mu_s, s_s^2)) in nats."""
    return log_s_s - log_s_t + (torch.exp(2 * log_s_t) + (mu_t - mu_s) ** 2) / (2 * torch.exp(2 * log_s_s)) - 0.5


class Distillation:
    """Loss that makes the quantized VAE reproduce its float parent: KL(parent || quantized) of the posterior
    q(z|x), plus, at the parent's own sample z, of the per-pixel likelihood p(x|z); nats per image."""

    def __init__(self, teacher: nn.Module) -> None:
        self.teacher = teacher.eval()

    def __call__(self, model: QuantVAE, x: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            t_mu_z, t_raw_z = self.teacher.encoder(x)
            t_ls_z = bound_log_sigma_z(t_raw_z)
            z = t_mu_z + torch.exp(t_ls_z) * torch.randn_like(t_mu_z)
            t_mu_x, t_raw_x = self.teacher.decoder(z)
        codes = model.encoder(x * 255)
        latent = model.cfg.latent
        y = model.decoder(z / Z_SCALE)
        return {"posterior_kl": gaussian_kl(t_mu_z, t_ls_z, codes[:, :latent],
                                            bound_log_sigma_z(codes[:, latent:])).sum(1).mean(),
                "likelihood_kl": gaussian_kl(t_mu_x, bound_log_sigma(t_raw_x), y[:, :1],
                                             bound_log_sigma(y[:, 1:])).flatten(1).sum(1).mean()}


def save_quant_checkpoint(model: QuantVAE, path: Path, extra: dict) -> None:
    torch.save({"config": model.cfg.to_dict(), "spec": dataclasses.asdict(model.spec),
                "state": model.state_dict(), **extra}, path)


def load_quant_checkpoint(path: Path) -> QuantVAE:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    cfg, spec = VAEConfig.from_dict(ckpt["config"]), QuantSpec(**ckpt["spec"])
    model = QuantVAE(cfg, spec, QuantEncoder(cfg, spec), QuantDecoder(cfg, spec))
    model.load_state_dict(ckpt["state"])
    return model.eval()


def quantize_train(float_ckpt: Path, out: Path, spec: QuantSpec, tc: TrainConfig, *, resume: bool,
                   distill: bool = False, init: Path | None = None, score_weight: float = 0.0,
                   data: list[Path] | None = None, freeze_weights: bool = False) -> dict:
    """Fine-tune a quantized copy of a float checkpoint (or the quantized checkpoint `init`) on the float run's
    data and split, on the ELBO or, with `distill`, on the distillation loss towards the float model (plus,
    with `score_weight` > 0, the score statistics' decorrelation, `quant.score_distill`). `data` replaces the
    float run's crop files (same split rule). `freeze_weights` keeps every parameter of 2+ dimensions as it is:
    the conv/linear weights (so every integer weight code) and the two per-channel output quantizers' scales;
    only biases, BatchNorm's affine parameters and the per-tensor hidden activation scales train."""
    float_model = load_checkpoint(float_ckpt).to(tc.device)
    float_report = json.loads((float_ckpt.parent / "report.json").read_text())
    data = data or [Path(p) for p in float_report["data"]]
    crops = load_crops(data)
    train_idx, val_idx = split_indices(len(crops), tc.val_fraction, tc.seed)
    torch.manual_seed(tc.seed)
    model = QuantVAE(float_model.cfg, spec, *from_float(float_model, spec))
    if init is not None:
        model.load_state_dict(load_quant_checkpoint(init).state_dict())
    if freeze_weights:
        for p in model.parameters():
            p.requires_grad_(p.ndim < 2)  # 2+ dimensions: conv/linear weights, per-channel output scales
    loss_fn = Distillation(float_model) if distill else elbo_terms
    if distill and score_weight > 0:
        loss_fn = ScoreDistillation(float_model, loss_fn, score_weight).to(tc.device)
    history = fit(model, crops, train_idx, val_idx, out, tc, resume=resume, loss_fn=loss_fn)
    agreement = (score_agreement(float_model, model.eval(), crops[val_idx], crops[val_idx])
                 if distill and len(val_idx) >= MIN_REFERENCE_CROPS else None)  # None: too few to fit a reference
    final = out / f"{spec.name(float_model.cfg)}.pt"
    save_quant_checkpoint(model.cpu(), final, {"val_indices": val_idx.tolist()})
    report = {"model": float_model.cfg.to_dict(), "quant": dataclasses.asdict(spec),
              "float_checkpoint": str(float_ckpt), "init": init and str(init),
              "loss": ("score distillation" if score_weight > 0 else "distillation") if distill else "elbo",
              "score_weight": score_weight, "frozen_weights": freeze_weights, "validation_score_spearman": agreement,
              **run_report(data, crops, train_idx, val_idx, model, tc, history),
              "checkpoint": final.name}
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m quant.qat", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--float", dest="float_ckpt", type=input_file, required=True,
                    help="trained float checkpoint (its report.json names the data and split)")
    ap.add_argument("--out", type=output_folder, required=True, help="output folder (checkpoint, report, resume state)")
    ap.add_argument("--weight-bits", type=positive_int, default=4, help="weight bit width")
    ap.add_argument("--act-bits", type=positive_int, default=4, help="hidden activation bit width")
    ap.add_argument("--out-bits", type=positive_int, default=8, help="bit width of the accelerators' output codes")
    ap.add_argument("--epochs", type=positive_int, default=2, help="fine-tuning epochs")
    ap.add_argument("--lr", type=positive_number, default=0.001, help="Adam learning rate")
    ap.add_argument("--batch", type=positive_int, default=144, help="batch size")
    ap.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/resume.pt if present")
    ap.add_argument("--distill", action="store_true",
                    help="train on KL(float || quantized) of posterior and likelihood instead of the ELBO, so the "
                         "quantized model ranks faces like its float parent")
    ap.add_argument("--init", type=input_file, help="start from this quant.qat checkpoint instead of the float weights")
    ap.add_argument("--score-weight", type=non_negative_number, default=0.0,
                    help="with --distill: also train the quantized model's two score statistics (complexity-"
                         "corrected log RP over the L=10 fixed latent samples, residual noise) to correlate with "
                         "the float model's, this many nats per unit of (1 - Pearson) per batch (0: off)")
    ap.add_argument("--data", type=input_file, nargs="+",
                    help="crop files to train on instead of those the float run's report names (same split rule)")
    ap.add_argument("--freeze-bn", action="store_true",
                    help="keep BatchNorm's running statistics while fine-tuning, so training runs the same "
                         "function as inference")
    ap.add_argument("--freeze-weights", action="store_true",
                    help="keep the conv/linear weights (and so their integer codes) and the per-channel output "
                         "scales fixed and train only biases, BatchNorm's affine parameters and the per-tensor "
                         "hidden activation scales: tunes a model soup (quant.soup) without moving the averaged "
                         "weights")
    ap.add_argument("--cosine", action="store_true",
                    help="let the learning rate fall from --lr to 0 along a half cosine over the epochs")
    ap.add_argument("--seed", type=non_negative_int, default=0,
                    help="seed of the train/validation split and the batch order (default 0)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                    help="torch device (default: cuda where available, else cpu)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = QuantSpec(args.weight_bits, args.act_bits, args.out_bits)
    if args.score_weight and not args.distill:
        ap.error("--score-weight needs --distill")
    tc = TrainConfig(epochs=args.epochs, batch=args.batch, lr=args.lr, device=args.device,
                     freeze_bn=args.freeze_bn, cosine=args.cosine, seed=args.seed)
    report = quantize_train(args.float_ckpt, args.out, spec, tc, resume=args.resume, distill=args.distill,
                            init=args.init, score_weight=args.score_weight, data=args.data,
                            freeze_weights=args.freeze_weights)
    print(f"wrote {args.out / report['checkpoint']} after {report['train_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
