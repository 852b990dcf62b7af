"""What the camera writes besides records: report.json and one quality-over-time plot per person (SVG).

Neither holds a pixel: the report has counts, times, scores and per-stage timings; the plots (paper Fig. 8)
are vector graphics of score against time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from host.vault import parse_utc, write_atomic


class TrackPlots:
    """Writes ``track-<id>.svg`` into `folder` for every confirmed track that ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, summary: dict, history: list[tuple[float, float]]) -> None:
        if not summary["confirmed"] or not history:
            return
        t0 = history[0][0]
        fig, ax = plt.subplots(figsize=(5, 2.6))
        ax.plot([t - t0 for t, _ in history], [s for _, s in history], marker=".", lw=1)
        ax.plot([parse_utc(summary["best_time"]) - t0], [summary["best_score"]], "r*", ms=12, label="kept")
        ax.set_xlabel("seconds since first seen")
        ax.set_ylabel("quality score")
        ax.set_title(f"track {summary['track_id']}: {len(history)} crops scored", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(self.folder / f"track-{summary['track_id']:05d}.svg", format="svg")
        plt.close(fig)


def _finite(value):
    """JSON-safe copy: non-finite floats become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_report(path: Path, report: dict) -> None:
    """report.json, written atomically (strict JSON)."""
    write_atomic(Path(path), json.dumps(_finite(report), indent=1, allow_nan=False).encode())
