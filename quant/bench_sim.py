"""Simulator against float PyTorch: faces/s on this machine, in one run, as a ratio.

    python -m quant.bench_sim --build bitstreams/zcu104-vae_w4a4_c24 \\
        --float quant/checkpoints/upsample_c24/vae_float_c24_upsample.pt

Both score the same `--faces` crops the same way: 1 encoder pass + L = 10 decoder passes + the host's
numpy maths (log RP and the score's features), after a warm-up. Also times the accelerator passes alone
(without the host maths), which is what the FPGA replaces.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from host.accelerated import simulated_vae
from host.likelihood import L_SAMPLES, latent_noise
from host.scoring import VAEBackend
from quant.bench import benchmark_crops, scoring_faces_per_second
from quant.float_backend import FloatBackend


def faces_per_second(backend: VAEBackend, crops: np.ndarray) -> tuple[float, float]:
    """(whole scoring, accelerator passes only) in faces/s."""
    whole = scoring_faces_per_second(backend, crops)
    z = np.repeat(latent_noise(backend.latent, L_SAMPLES), len(crops), axis=0)
    t0 = time.perf_counter()
    backend.encode(crops)
    backend.decode(z)
    return whole, len(crops) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m quant.bench_sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, required=True, help="hw build folder (simulator artefacts)")
    ap.add_argument("--float", dest="float_ckpt", type=Path, required=True, help="float checkpoint to compare")
    ap.add_argument("--faces", type=int, default=64, help="crops scored per backend")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    crops = benchmark_crops(args.faces)
    results = {"simulator": faces_per_second(simulated_vae(args.build), crops),
               "float PyTorch": faces_per_second(FloatBackend(args.float_ckpt), crops)}
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), {args.faces} faces, "
          f"1 encoder + {L_SAMPLES} decoder passes each")
    for name, (whole, passes) in results.items():
        print(f"{name:14s} {whole:7.1f} faces/s scored   {passes:7.1f} faces/s accelerator passes only")
    (sim_whole, sim_passes), (flt_whole, flt_passes) = results.values()
    print(f"simulator / float: {sim_whole / flt_whole:.2f}x scored, {sim_passes / flt_passes:.2f}x passes only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
