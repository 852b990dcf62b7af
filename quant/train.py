"""Train the float face-quality VAE (negative ELBO with a learned, bounded per-pixel sigma).

    python -m quant.train --data work/train_crops.npz --out quant/checkpoints/upsample --decoder upsample

Seeded and resumable: ``OUT/resume.pt`` is written after every epoch and picked up by ``--resume``.
At the end ``OUT/<model name>.pt`` (the checkpoint to commit) and ``OUT/report.json`` (data, settings,
per-epoch losses, time) are written.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from quant.cli import (
    CliParser,
    input_file,
    non_negative_int,
    output_folder,
    positive_int,
    positive_number,
    reports_input_errors,
)
from quant.vae import VAE, DecoderKind, VAEConfig, save_checkpoint

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: the paper's)."""

    epochs: int = 10
    batch: int = 144
    lr: float = 0.005
    seed: int = 0
    val_fraction: float = 0.05   # held-out crops: validation loss, and the score's reference statistics
    grad_clip: float = 1000.0    # global gradient-norm clip; guards the learned sigma at lr 0.005
    flip: bool = True            # random horizontal flips
    device: str = "cpu"          # torch device the model trains on ("cuda" on a GPU machine)
    freeze_bn: bool = False      # BatchNorm keeps its running statistics while training (fine-tuning)
    cosine: bool = False         # learning rate falls from lr to 0 along a half cosine, epoch by epoch

    def lr_at(self, epoch: int) -> float:
        """Learning rate of (0-based) `epoch`."""
        return self.lr * 0.5 * (1 + math.cos(math.pi * epoch / self.epochs)) if self.cosine else self.lr


def pixel_nll(x: torch.Tensor, mu_x: torch.Tensor, log_sigma_x: torch.Tensor) -> torch.Tensor:
    """Per-pixel -log N(x | mu_x, sigma_x) in nats."""
    return 0.5 * ((x - mu_x) * torch.exp(-log_sigma_x)) ** 2 + log_sigma_x + _HALF_LOG_2PI


def negative_elbo(x: torch.Tensor, mu_x: torch.Tensor, log_sigma_x: torch.Tensor,
                  mu_z: torch.Tensor, log_sigma_z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction NLL, KL) per image in nats, averaged over the batch."""
    nll = pixel_nll(x, mu_x, log_sigma_x)
    kl = 0.5 * (mu_z**2 + torch.exp(2 * log_sigma_z) - 1) - log_sigma_z
    return nll.flatten(1).sum(1).mean(), kl.sum(1).mean()


def elbo_terms(model: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The training loss of a VAE-shaped model (forward -> mu_x, log sigma_x, mu_z, log sigma_z)."""
    nll, kl = negative_elbo(x, *model(x))
    return {"nll": nll, "kl": kl}


LossFn = Callable[[torch.nn.Module, torch.Tensor], dict[str, torch.Tensor]]


def load_crops(paths: list[Path]) -> np.ndarray:
    return np.concatenate([np.load(p)["crops"] for p in paths])


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation split of n crops."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = round(n * val_fraction)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def to_input(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops).float().div_(255).unsqueeze(1)


def run_epoch(model: torch.nn.Module, crops: np.ndarray, tc: TrainConfig, opt: torch.optim.Optimizer | None,
              gen: torch.Generator, desc: str, loss_fn: LossFn = elbo_terms) -> dict:
    """One pass; trains when `opt` is given, else evaluates. Returns each loss term's and the total's mean."""
    model.train(opt is not None)
    if tc.freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
    order = torch.randperm(len(crops), generator=gen).numpy() if opt else np.arange(len(crops))
    sums: dict[str, float] = {}
    seen = 0
    bar = tqdm(range(0, len(crops), tc.batch), desc=desc, unit="batch", leave=False)
    for start in bar:
        if opt and len(crops) - start < 2:
            break  # BatchNorm cannot train on a batch of one
        x = to_input(crops[order[start:start + tc.batch]])
        if opt and tc.flip:
            flip = torch.rand(len(x), generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)
        x = x.to(tc.device)
        with torch.set_grad_enabled(opt is not None):
            terms = loss_fn(model, x)
        if opt:
            opt.zero_grad()
            sum(terms.values()).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            opt.step()
        for name, value in terms.items():
            sums[name] = sums.get(name, 0.0) + value.item() * len(x)
        seen += len(x)
        bar.set_postfix(loss=f"{sum(sums.values()) / seen:.0f}")
    means = {name: total / seen for name, total in sums.items()}
    return {**means, "loss": sum(means.values())}


def fit(model: torch.nn.Module, crops: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray, out: Path,
        tc: TrainConfig, *, resume: bool, loss_fn: LossFn = elbo_terms) -> list[dict]:
    """Optimise any VAE-shaped model (forward -> mu_x, log sigma_x, mu_z, log sigma_z); resumable.

    ``OUT/resume.pt`` holds model, optimiser and both random states after every epoch, so a resumed
    run gives the same model as an uninterrupted one. Returns the per-epoch history.
    """
    out.mkdir(parents=True, exist_ok=True)
    model.to(tc.device)
    cuda = torch.device(tc.device).type == "cuda"
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    gen = torch.Generator().manual_seed(tc.seed)
    history: list[dict] = []
    resume_path = out / "resume.pt"
    if resume and resume_path.exists():
        state = torch.load(resume_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])  # the reparameterisation noise
        if cuda:
            torch.cuda.set_rng_state(state["cuda_rng"])
        history = state["history"]
    for epoch in range(len(history), tc.epochs):
        t0 = time.time()
        for group in opt.param_groups:
            group["lr"] = tc.lr_at(epoch)
        stats = run_epoch(model, crops[train_idx], tc, opt, gen, f"epoch {epoch + 1}/{tc.epochs}", loss_fn)
        val = run_epoch(model, crops[val_idx], tc, None, gen, "validation", loss_fn)
        history.append({"epoch": epoch + 1, "train": stats, "val": val, "seconds": time.time() - t0})
        terms = ", ".join(f"{k} {v:.1f}" for k, v in stats.items() if k != "loss")
        print(f"epoch {epoch + 1}: train loss {stats['loss']:.1f} ({terms}), val loss {val['loss']:.1f}, "
              f"{history[-1]['seconds']:.0f} s", flush=True)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                    **({"cuda_rng": torch.cuda.get_rng_state()} if cuda else {}),
                    "history": history}, resume_path)
    return history


def run_report(data: list[Path], crops: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
               model: torch.nn.Module, tc: TrainConfig, history: list[dict]) -> dict:
    """What a training report says about any run: data, split, settings, losses, time, machine."""
    return {
        "train": asdict(tc), "data": [str(p) for p in data],
        "crops": {"total": len(crops), "train": len(train_idx), "validation": len(val_idx)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "history": history, "train_seconds": sum(h["seconds"] for h in history),
        "machine": {"cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "platform": platform.platform()},
    }


def train(data: list[Path], out: Path, cfg: VAEConfig, tc: TrainConfig, *, resume: bool) -> dict:
    """Train (or resume) the float VAE; write the final checkpoint and report; return the report."""
    crops = load_crops(data)
    train_idx, val_idx = split_indices(len(crops), tc.val_fraction, tc.seed)
    torch.manual_seed(tc.seed)
    model = VAE(cfg)
    history = fit(model, crops, train_idx, val_idx, out, tc, resume=resume)
    final = out / f"{cfg.name}.pt"
    save_checkpoint(model.eval(), final, {"val_indices": val_idx.tolist()})
    report = {"model": cfg.to_dict(), **run_report(data, crops, train_idx, val_idx, model, tc, history),
              "checkpoint": final.name}
    (out / "report.json").write_text(json.dumps(report, indent=1))
    return report


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m quant.train", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=input_file, nargs="+", required=True, help="crop files from quant.data")
    ap.add_argument("--out", type=output_folder, required=True, help="output folder (checkpoint, report, resume state)")
    ap.add_argument("--decoder", choices=[k.value for k in DecoderKind], default="upsample",
                    help="upsampling block: nearest x2 + conv (FINN friendly) or transposed conv (paper)")
    ap.add_argument("--channels", type=positive_int, default=32, help="base channels c (encoder c..16c; paper: 32)")
    ap.add_argument("--latent", type=positive_int, default=128, help="latent dimension (paper: 128)")
    ap.add_argument("--epochs", type=positive_int, default=10, help="epochs (paper: 10)")
    ap.add_argument("--batch", type=positive_int, default=144, help="batch size (paper: 144)")
    ap.add_argument("--lr", type=positive_number, default=0.005, help="Adam learning rate (paper: 0.005)")
    ap.add_argument("--seed", type=non_negative_int, default=0, help="seed of the split, initialisation and batches")
    ap.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/resume.pt if present")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = VAEConfig(channels=args.channels, latent=args.latent, decoder=DecoderKind(args.decoder))
    tc = TrainConfig(epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed)
    report = train(args.data, args.out, cfg, tc, resume=args.resume)
    print(f"wrote {args.out / report['checkpoint']} after {report['train_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
