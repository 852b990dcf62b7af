"""Shared fixtures: the data folder beside the repository (skip with a reason where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "lfw-dev" / "pairs.txt").exists():
        pytest.skip(f"face data not found at {DATA} (CI provides ../shared/data)")
    return DATA
