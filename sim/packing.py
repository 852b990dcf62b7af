"""FINN's packed buffers (what the DMA engines move), in numpy only.

The innermost axis of a folded tensor (one stream word: SIMD or PE elements) becomes one little-endian
word, element 0 in the least significant bits, each element as `bits`-bit two's complement, the word
padded to whole bytes: finn's ``finnpy_to_packed_bytearray(x, dtype, reverse_inner=True,
reverse_endian=True)``, which the PYNQ driver uses, and its inverse.
"""

from __future__ import annotations

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
