"""Integer models of the FINN layers the hw build emits, on batches of channels-last tensors (numpy only).

Every layer maps an integer array (N, *shape) to an integer array; the accelerator checks that it fits
the layer's output type and keeps it in the narrowest numpy type that holds that type. The matrix layer
picks its arithmetic from a bound on the accumulator: float32 BLAS when every partial sum provably fits
24 bits, float64 when it fits 53, int64 when it fits 63, and Python integers beyond (exact, slow; no
layer of ours comes near).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.dtypes import IntType, narrowest

# (name, accumulator type, integer type of the results, exclusive bound on |accumulator| for exact results)
ARITHMETICS = (("float32", np.float32, np.int32, 1 << 24), ("float64", np.float64, np.int64, 1 << 53),
               ("int64", np.int64, np.int64, 1 << 63), ("object", object, object, None))  # object: Python ints
LOOKUP_MAX = 1 << 22  # thresholds become a lookup table up to this many entries


def check_range(x: np.ndarray, dtype: IntType, where: str) -> np.ndarray:
    if x.size and (x.min() < dtype.min or x.max() > dtype.max):
        raise ValueError(f"{where}: values outside {dtype} range [{dtype.min}, {dtype.max}]")
    return x


@dataclass
class MatMul:
    """MVAU: x (..., MW) @ W (MW, MH); the input is read as rows of MW (a 2x2x64 map feeds MW = 256)."""

    weights: np.ndarray
    in_dtype: IntType
    out_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        # |sum_i x_i w_ij| <= max|x| * sum_i |w_ij|: the bound uses the input type and the actual weights
        self.bound = self.in_dtype.magnitude * int(np.abs(self.weights.astype(np.int64)).sum(axis=0).max())
        name, accumulator, integers, _ = next(a for a in ARITHMETICS if a[3] is None or self.bound < a[3])
        self.arithmetic, self.accumulator, self.integers = name, np.dtype(accumulator), np.dtype(integers)
        self._w = self.weights.astype(accumulator)

    def to_integers(self, y: np.ndarray) -> np.ndarray:
        """Accumulators in this layer's arithmetic as integers (exact: every value is an integer in range)."""
        return y.astype(self.integers, copy=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        rows = x.reshape(-1, self._w.shape[0]).astype(self._w.dtype)  # one 2D GEMM for the whole batch
        return self.to_integers(rows @ self._w).reshape(x.shape[0], *self.out_shape)


@dataclass
class Threshold:
    """Thresholding: y = #{k : x >= t_ck} + act_val per channel c (channels last; one shared row allowed)."""

    thresholds: np.ndarray
    act_val: int

    def __post_init__(self) -> None:
        t = self.thresholds.astype(np.int64)
        if np.any(np.diff(t, axis=1) < 0):
            raise ValueError("thresholds must be ascending along each channel")
        self.steps = t.shape[1]
        # inputs are clipped to [lo - 1, hi]: below every threshold or at/above every one
        self._lo = int(t.min()) if t.size else 0
        self._span = int(t.max() - t.min() + 2) if t.size else 1
        shifted = t - self._lo
        if t.shape[0] * (self._span + 1) <= LOOKUP_MAX:  # a table: output for every clipped value, per channel
            values = np.arange(-1, self._span)
            table = np.stack([np.searchsorted(row, values, side="right") for row in shifted]) + self.act_val
            # in the narrowest type that holds every output: a smaller table stays in cache
            self._table = table.astype(narrowest(self.act_val, self.act_val + self.steps)).ravel()
            # index of x in channel c's table: clip(x, lo - 1, hi) + offset_c; int32 when the clip bounds and
            # the table fit (always, for 32-bit inputs). One row of thresholds: one offset for all channels.
            offsets = np.arange(t.shape[0]) * (self._span + 1) + 1 - self._lo
            small = max(abs(self._lo) + self._span, int(offsets.max()) + self._span) < 1 << 31
            self._index_dtype = np.int32 if small else np.int64
            self._offsets = offsets.astype(self._index_dtype)
        else:  # all channels in one sorted array: channel c's thresholds shifted by c * span
            self._table = None
            self._flat = (shifted + np.arange(t.shape[0])[:, None] * self._span).ravel()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self._table is not None:
            index = np.clip(x.astype(self._index_dtype, copy=False), self._lo - 1, self._lo + self._span - 1)
            index += self._offsets
            return np.take(self._table, index)
        shared = self.thresholds.shape[0] == 1  # one row for all channels
        clipped = np.clip(x.astype(np.int64) - self._lo, -1, self._span - 1)
        channel = 0 if shared else np.arange(x.shape[-1])
        counts = np.searchsorted(self._flat, clipped + channel * self._span, side="right")
        return counts - channel * self.steps + self.act_val


@dataclass
class Pad:
    """FMPadding: zero rows/columns around (N, H, W, C); padding = top, left, bottom, right."""

    padding: tuple[int, int, int, int]

    def __call__(self, x: np.ndarray, dtype: np.dtype | None = None) -> np.ndarray:
        """The padded map, in `dtype` if given (the cast and the padding in one pass)."""
        top, left, bottom, right = self.padding
        n, h, w, c = x.shape
        out = np.zeros((n, top + h + bottom, left + w + right, c), x.dtype if dtype is None else dtype)
        out[:, top:top + h, left:left + w] = x
        return out


@dataclass
class Window:
    """ConvolutionInputGenerator: (N, H, W, C) -> (N, OH, OW, KH * KW * C), kernel position major, channel minor."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    out_hw: tuple[int, int]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = self.kernel, self.stride, self.dilation, self.out_hw
        taps = [x[:, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw, :]
                for i in range(kh) for j in range(kw)]
        return np.concatenate(taps, axis=-1)


@dataclass
class Upsample:
    """UpsampleNearestNeighbour: (N, H, W, C) -> (N, OH, OW, C), each pixel repeated OH / H times."""

    factor: tuple[int, int]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(x, self.factor[0], axis=1), self.factor[1], axis=2)


@dataclass
class DepthToSpace:
    """DepthToSpace: (N, H, W, F*F*C), channels ordered (phase row, phase column, channel) -> the (N, H*F, W*F, C)
    map of the phases, cropped by `crop` = top, left, bottom, right (the sub-pixel decoder's layer)."""

    block: int
    crop: tuple[int, int, int, int]
    replicate: bool = False   # the input has C channels, every phase the same: nearest upsampling, then crop

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.replicate:
            x = np.tile(x, (1, 1, 1, self.block * self.block))
        n, h, w, depth = x.shape
        f = self.block
        y = x.reshape(n, h, w, f, f, depth // (f * f)).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * f, w * f, -1)
        top, left, bottom, right = self.crop
        return y[:, top:h * f - bottom, left:w * f - right]


@dataclass
class Transpose:
    """Inner/OuterShuffle: view the batch item as `view`, permute the axes, reshape to the output shape."""

    view: tuple[int, ...]
    perm: tuple[int, ...]
    out_shape: tuple[int, ...]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        y = x.reshape(n, *self.view[1:]).transpose(0, *self.perm[1:])
        return y.reshape(n, *self.out_shape[1:])
