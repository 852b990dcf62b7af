"""The montage of decrypted records (paper Fig. 7): one tile per kept crop, labelled. Authority side only."""

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
