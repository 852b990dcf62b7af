"""FINN's packed buffers (what the DMA engines move), in numpy only.

The innermost axis of a folded tensor (one stream word: SIMD or PE elements) becomes one little-endian
word, element 0 in the least significant bits, each element as `bits`-bit two's complement, the word
padded to whole bytes: finn's ``finnpy_to_packed_bytearray(x, dtype, reverse_inner=True,
reverse_endian=True)``, which the PYNQ driver uses, and its inverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.dtypes import IntType


def word_bytes(elements: int, dtype: IntType) -> int:
    return (elements * dtype.bits + 7) // 8


def pack(x: np.ndarray, dtype: IntType) -> np.ndarray:
    """Integers (..., k) of `dtype` -> uint8 (..., word_bytes(k))."""
    x = np.asarray(x)
    if x.size and (x.min() < dtype.min or x.max() > dtype.max):
        raise ValueError(f"values outside {dtype} range")
    k, nbytes = x.shape[-1], word_bytes(x.shape[-1], dtype)
    codes = x.astype(np.int64) & ((1 << dtype.bits) - 1)
    bits = ((codes[..., None] >> np.arange(dtype.bits)) & 1).astype(np.uint8).reshape(*x.shape[:-1], k * dtype.bits)
    pad = nbytes * 8 - k * dtype.bits
    if pad:
        bits = np.concatenate([bits, np.zeros((*x.shape[:-1], pad), np.uint8)], axis=-1)
    return np.packbits(bits.reshape(*x.shape[:-1], nbytes, 8), axis=-1, bitorder="little")[..., 0]


def unpack(packed: np.ndarray, dtype: IntType, elements: int) -> np.ndarray:
    """uint8 (..., word bytes) -> integers (..., elements) of `dtype` (int64)."""
    packed = np.asarray(packed, np.uint8)
    if packed.shape[-1] != word_bytes(elements, dtype):
        raise ValueError(f"a word of {elements} x {dtype} takes {word_bytes(elements, dtype)} bytes, "
                         f"not {packed.shape[-1]}")
    bits = np.unpackbits(packed, axis=-1, bitorder="little")[..., : elements * dtype.bits]
    bits = bits.reshape(*packed.shape[:-1], elements, dtype.bits).astype(np.int64)
    values = (bits << np.arange(dtype.bits)).sum(axis=-1)
    if dtype.signed:
        values = np.where(values >= 1 << (dtype.bits - 1), values - (1 << dtype.bits), values)
    return values


@dataclass(frozen=True)
class StreamFormat:
    """One side of an accelerator: integer type, tensor shape and folded stream shape (batch axis left out)."""

    dtype: IntType
    shape: tuple[int, ...]
    folded: tuple[int, ...]

    @classmethod
    def from_spec(cls, side: dict) -> StreamFormat:
        """From an artefact spec's ``input`` or ``output`` entry."""
        return cls(IntType.parse(side["dtype"]), tuple(side["shape"][1:]), tuple(side["folded_shape"][1:]))

    @property
    def packed_shape(self) -> tuple[int, ...]:
        """Shape of one item in FINN's packed buffer (folded shape, last axis in bytes)."""
        return (*self.folded[:-1], word_bytes(self.folded[-1], self.dtype))

    def pack(self, x: np.ndarray) -> np.ndarray:
        """Integers (N, *shape) -> packed uint8 (N, *packed_shape)."""
        return pack(np.asarray(x).reshape(len(x), *self.folded), self.dtype)

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """Packed uint8 (N, *packed_shape) -> integers (N, *shape)."""
        packed = np.asarray(packed, np.uint8)
        if packed.shape[1:] != self.packed_shape:
            raise ValueError(f"packed buffer of shape {packed.shape[1:]}, expected {self.packed_shape}")
        return unpack(packed, self.dtype, self.folded[-1]).reshape(len(packed), *self.shape)
