"""FIFO depths sized by RTL simulation (`hw.whole_design`), kept beside the folding they were sized for.

The file is FINN's ``fifo_config_file`` (``auto_fifo_depths=False``: depth, implementation and memory style
per FIFO name of the stitched graph) plus the SHA-256 of the folding JSON; `hw.build` hands it to Vivado
only while that folding is unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUFFIX = ".fifo_depths.json"


def folding_file(manifest: dict) -> Path:
    """A build's folding JSON."""
    folding = Path(manifest["folding"]["file"])
    return folding if folding.is_absolute() else ROOT / folding


def fifo_file(manifest: dict) -> Path:
    """Where a build's FIFO depths live: beside its folding JSON (``<folding>.fifo_depths.json``)."""
    return folding_file(manifest).with_suffix(SUFFIX)


def sized_fifo_config(folding: Path, folding_sha256: str) -> Path | None:
    """The FIFO depths sized for this folding, or None where there are none or they were sized for another
    version of the folding."""
    path = folding.with_suffix(SUFFIX)
    if not path.is_file():
        return None
    return path if json.loads(path.read_text()).get("folding_sha256") == folding_sha256 else None


def fifo_config(depths: dict[str, int], folding_sha256: str) -> dict:
    """FINN's fifo_config_file for `depths`, with the folding they belong to."""
    return {"fifo_depths": depths, "impl_style": dict.fromkeys(depths, "rtl"),
            "ram_style": dict.fromkeys(depths, "auto"), "folding_sha256": folding_sha256}
