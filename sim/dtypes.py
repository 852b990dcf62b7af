"""FINN's integer data types by name (``INT4``, ``UINT8``, ...), without FINN."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_NAME = re.compile(r"^(U?)INT(\d+)$")


def narrowest(lo: int, hi: int) -> np.dtype:
    """The narrowest numpy integer type that holds every integer in [lo, hi]."""
    for candidate in (np.int8, np.uint8, np.int16, np.int32, np.int64):
        info = np.iinfo(candidate)
        if info.min <= lo and hi <= info.max:
            return np.dtype(candidate)
    raise ValueError(f"[{lo}, {hi}] does not fit 64 bits")


@dataclass(frozen=True)
class IntType:
    signed: bool
    bits: int

    @classmethod
    def parse(cls, name: str) -> IntType:
        match = _NAME.match(name)
        if not match:
            raise ValueError(f"the simulator handles INTn/UINTn types only, not {name}")
        return cls(signed=not match.group(1), bits=int(match.group(2)))

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def numpy_dtype(self) -> np.dtype:
        """The narrowest numpy integer type that holds every value (activations stay small in memory)."""
        return narrowest(self.min, self.max)

    @property
    def magnitude(self) -> int:
        """Largest absolute value."""
        return max(-self.min, self.max)
