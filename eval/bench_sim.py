"""Simulator against float PyTorch: faces/s on this machine, in one run, as a ratio.

    python -m eval.bench_sim --build bitstreams/zcu104-vae_w4a4_c24 \\
        --float quant/checkpoints/upsample_c24/vae_float_c24_upsample.pt

Both score the same `--faces` crops the same way: 1 encoder pass + L = 10 decoder passes + the host's
numpy maths (log RP and the score's features), after a warm-up. Also times the accelerator passes alone
(without the host maths), which is what the FPGA replaces. The two backends take turns for `--repeats`
rounds, so a busy spell of a shared machine hits both; the figures are medians over the rounds and the
ratio is the median of the per-round ratios, with its range.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from eval.bench_vae import benchmark_crops, scoring_faces_per_second
from host.accelerated import simulated_vae
from host.likelihood import L_SAMPLES, latent_noise
from host.scoring import VAEBackend
from quant.cli import CliParser, load_input, non_negative_int, positive_int, reports_input_errors
from quant.float_backend import FloatBackend
from quant.score import MODEL_RULES


def faces_per_second(backend: VAEBackend, crops: np.ndarray) -> tuple[float, float]:
    """(whole scoring, accelerator passes only) in faces/s."""
    whole = scoring_faces_per_second(backend, crops)
    z = np.repeat(latent_noise(backend.latent, L_SAMPLES), len(crops), axis=0)
    t0 = time.perf_counter()
    backend.encode(crops)
    backend.decode(z)
    return whole, len(crops) / (time.perf_counter() - t0)


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.bench_sim", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True, help="hw build folder (simulator artefacts)")
    ap.add_argument("--float", dest="float_ckpt", type=Path, required=True, help="float checkpoint to compare")
    ap.add_argument("--faces", type=positive_int, default=64, help="crops scored per backend")
    ap.add_argument("--repeats", type=positive_int, default=5, help="rounds, each timing both backends in turn")
    ap.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    crops = benchmark_crops(args.faces)
    backends = {"simulator": load_input("--build", MODEL_RULES["sim"], simulated_vae, args.build),
                "float PyTorch": load_input("--float", MODEL_RULES["float"], FloatBackend, args.float_ckpt)}
    rounds = np.array([[faces_per_second(b, crops) for b in backends.values()]
                       for _ in tqdm(range(args.repeats), desc="rounds", leave=False)])  # (round, backend, kind)
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), {args.faces} faces, "
          f"1 encoder + {L_SAMPLES} decoder passes each, median of {args.repeats} rounds")
    for name, (whole, passes) in zip(backends, np.median(rounds, axis=0), strict=True):
        print(f"{name:14s} {whole:7.1f} faces/s scored   {passes:7.1f} faces/s accelerator passes only")
    ratios = rounds[:, 0] / rounds[:, 1]   # (round, kind)
    low, mid, high = np.percentile(ratios, [0, 50, 100], axis=0)
    print(f"simulator / float: {mid[0]:.2f}x scored ({low[0]:.2f}-{high[0]:.2f}), "
          f"{mid[1]:.2f}x passes only ({low[1]:.2f}-{high[1]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
