"""Shared fixtures: the data folder beside the repository (skip with a reason where it is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BUILD = ROOT / "bitstreams" / "zcu104-vae_w4a4_c24"   # the shipped build folder
FLOAT_C24 = ROOT / "quant" / "checkpoints" / "upsample_c24" / "vae_float_c24_upsample.pt"  # its float parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "lfw-dev" / "pairs.txt").exists():
        pytest.skip(f"face data not found at {DATA} (CI provides ../shared/data)")
    return DATA


def make_blob_crops(path: Path, count: int = 40) -> Path:
    """Write `count` synthetic 64x64 bright blobs as a crop file (quant.data's format)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    blobs = [128 + 100 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 200) for cx, cy in rng.uniform(20, 44, (count, 2))]
    np.savez(path, crops=np.clip(np.stack(blobs), 0, 255).astype(np.uint8))
    return path


@pytest.fixture
def blob_crops(tmp_path) -> Path:
    """A small crop file of 40 synthetic 64x64 bright blobs, for training tests."""
    return make_blob_crops(tmp_path / "crops.npz")
