"""The montage of decrypted records (paper Fig. 7): one tile per kept crop, labelled; clips as strips. Authority
side only."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def save_montage(tiles: list[tuple[np.ndarray, str]], out: Path, *, columns: int = 6) -> None:
    """Crops (HxWx3 or HxW uint8) with a caption each, in a grid, written to `out` (PNG)."""
    if not tiles:
        raise ValueError("nothing to put in a montage")
    cols = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.1 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, caption) in zip(axes.flat, tiles, strict=False):
        ax.imshow(image, cmap="grey" if image.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(caption, fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def clip_strip(frames: np.ndarray, best: int, *, border: int = 3) -> np.ndarray:
    """A clip record's crops (T x H x W x 3 uint8) side by side, the kept (best) one framed in green."""
    if frames.ndim != 4 or not 0 <= best < len(frames):
        raise ValueError(f"a clip is T x H x W x 3 with its best frame among them, not {frames.shape} / {best}")
    framed = frames.copy()
    framed[best, :border], framed[best, -border:] = (0, 200, 0), (0, 200, 0)
    framed[best, :, :border], framed[best, :, -border:] = (0, 200, 0), (0, 200, 0)
    return np.concatenate(list(framed), axis=1)
