"""Throughput of the float VAE on this machine: training images/s and scoring faces/s (L = 10).

    python -m eval.bench_vae --checkpoint quant/checkpoints/upsample/vae_float_c32_upsample.pt

Times `--repeats` training steps at the paper's batch (forward + backward + Adam) and the scoring of
`--faces` real-looking crops (1 encoder + L decoder passes + host maths), after one warm-up each.
Prints the figures and the implied time of one training epoch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from host.likelihood import L_SAMPLES
from host.quality import crop_features
from host.scoring import VAEBackend, reconstruct
from quant.cli import CliParser, load_input, non_negative_int, positive_int, reports_input_errors
from quant.float_backend import FloatBackend
from quant.score import MODEL_RULES
from quant.train import TrainConfig, negative_elbo, to_input
from quant.vae import VAE


def training_images_per_second(model: torch.nn.Module, batch: int, repeats: int) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=TrainConfig().lr)
    x = to_input(np.random.default_rng(0).integers(0, 256, (batch, 64, 64), dtype=np.uint8))
    model.train()
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        nll, kl = negative_elbo(x, *model(x))
        opt.zero_grad()
        (nll + kl).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return batch / float(np.median(times[1:]))


def benchmark_crops(faces: int) -> np.ndarray:
    """Seeded mid-grey noise crops: the work per face does not depend on the content."""
    return np.random.default_rng(1).integers(60, 200, (faces, 64, 64), dtype=np.uint8)


def scoring_faces_per_second(backend: VAEBackend, crops: np.ndarray) -> float:
    """1 encoder + L decoder passes + the host's maths per crop, after a warm-up."""
    faces = len(crops)
    crop_features(reconstruct(backend, crops[:8]))  # warm-up
    t0 = time.perf_counter()
    crop_features(reconstruct(backend, crops))
    return faces / (time.perf_counter() - t0)


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.bench_vae", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, nargs="+", required=True, help="float checkpoints to time")
    ap.add_argument("--faces", type=positive_int, default=128, help="crops scored for the scoring figure")
    ap.add_argument("--repeats", type=positive_int, default=5, help="timed training steps")
    ap.add_argument("--train-images", type=positive_int, default=18630, help="images per epoch for the epoch estimate")
    ap.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for ckpt in args.checkpoint:
        backend = load_input("--checkpoint", MODEL_RULES["float"], FloatBackend, ckpt)
        train_ips = training_images_per_second(VAE(backend.model.cfg), TrainConfig().batch, args.repeats)
        score_fps = scoring_faces_per_second(backend, benchmark_crops(args.faces))
        print(f"{backend.model.cfg.name}: training {train_ips:.1f} images/s "
              f"(one epoch of {args.train_images} crops = {args.train_images / train_ips / 60:.1f} min); "
              f"scoring {score_fps:.1f} faces/s (1 encoder + {L_SAMPLES} decoder passes + host maths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
