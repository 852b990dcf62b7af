"""Figures of the model side: training curves of one or more runs, crops side by side.

    python -m quant.plots quant/checkpoints/*/report.json -o docs/training.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def save_figure(fig: plt.Figure, out: Path) -> None:
    """Lay out, write at the README's resolution and release a figure."""
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_training(reports: list[Path], out: Path) -> None:
    """Train and validation loss (negative ELBO, nats per crop) per epoch, one colour per run."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for path in reports:
        report = json.loads(path.read_text())
        epochs = [h["epoch"] for h in report["history"]]
        line, = ax.plot(epochs, [h["train"]["loss"] for h in report["history"]], marker="o",
                        label=f"{report['model']['decoder']} train")
        ax.plot(epochs, [h["val"]["loss"] for h in report["history"]], ls="--", marker="x", color=line.get_color(),
                label=f"{report['model']['decoder']} validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("negative ELBO (nats per 64x64 crop)")
    ax.set_title("Float VAE training (c = 32, latent 128, Adam lr 0.005, batch 144)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, out)


def plot_crops(crops: np.ndarray, titles: list[str], out: Path) -> None:
    """The 64x64 grey crops side by side, each with its title."""
    fig, axes = plt.subplots(1, len(crops), figsize=(2.3 * len(crops), 2.9), squeeze=False)
    for ax, crop, title in zip(axes[0], crops, titles, strict=True):
        ax.imshow(crop, cmap="gray", vmin=0, vmax=255)
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    save_figure(fig, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m quant.plots", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path, help="report.json files written by quant.train")
    ap.add_argument("-o", "--out", type=Path, required=True, help="output PNG")
    args = ap.parse_args(argv)
    plot_training(args.reports, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
