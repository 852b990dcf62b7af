"""How the evaluation images are presented: as they are, or each degraded as a camera might (``--degrade``).

Degraded: every image gets one of ``quant.degradations``' five kinds at a level 0..5 (0 = unchanged),
both drawn uniformly per image from a seed that is a digest of its file name, so a run is repeatable and
an image's condition does not depend on which other images are evaluated. The degradation applies to the
whole image before detection, as in ``eval.degradation``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.faces import read_rgb
from quant.degradations import DEGRADATIONS, LEVELS, degrade

DEGRADE_VERSION = 1  # bump when the draw or the degradations change


def drawn_degradation(path: Path | str) -> tuple[str, int, int]:
    """(kind, level 0..LEVELS, noise seed) of an image, drawn from a digest of its file name."""
    seed = int.from_bytes(hashlib.sha256(Path(path).name.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    kinds = list(DEGRADATIONS)
    return kinds[int(rng.integers(len(kinds)))], int(rng.integers(LEVELS + 1)), seed


@dataclass(frozen=True)
class Condition:
    """Clean images, or each degraded by its drawn kind and level (picklable: it travels to worker processes)."""

    degraded: bool = False

    @property
    def key(self) -> list:
        """What cache keys add for this condition (nothing for clean images, so their cache stays valid)."""
        return ["degraded", DEGRADE_VERSION] if self.degraded else []

    def load(self, path: Path | str) -> np.ndarray:
        """The image as presented: RGB uint8."""
        rgb = read_rgb(path)
        if not self.degraded:
            return rgb
        kind, level, seed = drawn_degradation(path)
        return degrade(rgb, kind, level, seed)


CLEAN = Condition()
DEGRADED = Condition(degraded=True)
