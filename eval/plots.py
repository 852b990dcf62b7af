"""Figures of the evaluation: ERC curves (paper Fig. 5/6), the degradation Spearman table, score vs severity."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from quant.degradations import DEGRADATIONS, LEVELS, severity_series
from quant.plots import save_figure

LABELS = {"vae_float": "VAE score (float)", "vae_sim": "VAE score (quantized, sim)",
          "vae_raw_float": "VAE raw log RP (float)", "vae_raw_sim": "VAE raw log RP (quantized, sim)",
          "laplacian": "Laplacian sharpness", "brisque": "BRISQUE", "face_size": "face size",
          "mtcnn_confidence": "MTCNN confidence", "random": "random", "perfect": "PERFECT (oracle)"}
STYLES = {"vae_float": ("C3", "-", 2.2), "vae_sim": ("C1", "--", 2.0), "vae_raw_float": ("C4", "-", 1.4),
          "vae_raw_sim": ("C4", ":", 1.4), "laplacian": ("C0", "-", 1.2), "brisque": ("C2", "-", 1.2),
          "face_size": ("C5", "-", 1.2), "mtcnn_confidence": ("C9", "-", 1.2), "random": ("0.5", "--", 1.0),
          "perfect": ("k", ":", 1.2)}


def plot_ercs(protocol: str, curves: dict[str, dict[str, dict[str, np.ndarray]]], fractions: np.ndarray,
              out: Path) -> None:
    """One panel per setting (row) and recognizer (column): FNMR against the fraction rejected, per method."""
    recognizers = list(curves)
    settings = list(dict.fromkeys(s for r in recognizers for s in curves[r]))
    fig, axes = plt.subplots(len(settings), len(recognizers), figsize=(5.2 * len(recognizers), 3.9 * len(settings)),
                             squeeze=False)
    for (i, setting), (j, rec) in product(enumerate(settings), enumerate(recognizers)):
        ax, methods = axes[i, j], curves[rec][setting]
        for name, curve in methods.items():
            color, ls, lw = STYLES.get(name, ("0.3", "-", 1.0))
            ax.plot(fractions * 100, curve, color=color, ls=ls, lw=lw, label=LABELS.get(name, name))
        ax.set(title=f"{protocol}: {rec}, {setting}", xlabel="comparisons rejected (%)", ylabel="FNMR",
               xlim=(0, fractions[-1] * 100), ylim=(0, None))
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    save_figure(fig, out)


def plot_spearman(table: dict[str, dict[str, float]], out: Path) -> None:
    """Heat map: mean Spearman of each method's score against severity, per degradation (-1 is ideal)."""
    methods, degradations = list(table), list(next(iter(table.values())))
    values = np.array([[table[m][d] for d in degradations] for m in methods])
    fig, ax = plt.subplots(figsize=(1.1 * len(degradations) + 4.5, 0.42 * len(methods) + 1.2))
    im = ax.imshow(values, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(degradations)), degradations)
    ax.set_yticks(range(len(methods)), [LABELS.get(m, m) for m in methods])
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=8, color="white" if abs(v) > 0.6 else "black")
    fig.colorbar(im, ax=ax, label="Spearman(score, severity)")
    ax.set_title("score vs degradation severity (ideal -1: quality falls)")
    save_figure(fig, out)


def plot_severity(scores: dict[str, np.ndarray], path: Path) -> None:
    """Mean standardised score against severity, one panel per degradation, one line per variant."""
    fig, axes = plt.subplots(1, len(DEGRADATIONS), figsize=(4 * len(DEGRADATIONS), 3.4), sharey=True)
    for ax, (d, name) in zip(axes, enumerate(DEGRADATIONS), strict=True):
        for variant, s in scores.items():
            z = (s - s[:, 0].mean()) / s[:, 0].std()
            ax.plot(range(LEVELS + 1), severity_series(z, d).mean(axis=0), marker="o", label=variant)
        ax.set_title(name)
        ax.set_xlabel("severity (0 = clean)")
        ax.axhline(0, color="grey", lw=0.5)
    axes[0].set_ylabel("mean score, z vs clean crops")
    axes[-1].legend(fontsize=8)
    fig.suptitle("Score against degradation severity (higher = judged better; should fall)")
    save_figure(fig, path)
