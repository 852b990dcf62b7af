"""Faster routes to the same integers: runs of FINN layers replaced by one cheaper convolution.

FINN streams a convolution as [UpsampleNearestNeighbour] -> FMPadding -> ConvolutionInputGenerator -> MVAU;
layer by layer in numpy that materialises the upsampled map and a KH*KW times larger window array. Two
rewrites compute exactly the same accumulators (integer sums regrouped, every partial sum bounded by the
MVAU's own accumulator bound, so the MVAU's exact arithmetic stays exact):

- `SubpixelConv`: nearest upsampling by f followed by a stride-1 convolution equals f*f convolutions of
  the low-resolution map (one per output phase), whose kernels sum the original taps that read the same
  low-resolution pixel. One window array and one GEMM at the low resolution, f*f times fewer windows.
- `TapSumConv`: a stride-1 convolution with fewer output than input channels as one GEMM of every pixel
  against all KH*KW taps' weights, then KH*KW shifted additions: no window array at all.

`fused_conv` finds them in a layer list; `SimAccelerator` runs the fused list unless it records a per-layer
trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sim.dtypes import IntType
from sim.layers import MatMul, Pad, Threshold, Upsample, Window

Elementwise = Callable[[np.ndarray], np.ndarray]   # a per-channel map of channels-last arrays (Thresholding)


def _unit_stride(window: Window) -> bool:
    return window.stride == (1, 1) and window.dilation == (1, 1)


@dataclass
class SubpixelConv:
    """Upsample(f) -> Pad -> Window (stride 1) -> MatMul, computed at the low resolution, one GEMM for all phases."""

    upsample: Upsample
    pad: Pad
    window: Window
    matmul: MatMul
    channels: int   # input channels
    kind: ClassVar[str] = "SubpixelConv"

    @staticmethod
    def applies(upsample: Upsample, window: Window) -> bool:
        fh, fw = upsample.factor
        return _unit_stride(window) and window.out_hw[0] % fh == 0 and window.out_hw[1] % fw == 0

    def __post_init__(self) -> None:
        (fh, fw), (kh, kw) = self.upsample.factor, self.window.kernel
        top, left, _, _ = self.pad.padding
        self.low_hw = (self.window.out_hw[0] // fh, self.window.out_hw[1] // fw)
        # output row f*Y + a, tap i reads upsampled row f*Y + a + i - top = low row Y + (a + i - top) // f
        rows = np.array([[(a + i - top) // fh for i in range(kh)] for a in range(fh)])
        cols = np.array([[(b + j - left) // fw for j in range(kw)] for b in range(fw)])
        self.low_kernel = (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))
        self.low_pad = (-int(rows.min()), -int(cols.min()))
        c, out = self.channels, self.matmul.weights.shape[1]
        w = self.matmul.weights.astype(np.int64).reshape(kh, kw, c, out)
        low = np.zeros((*self.low_kernel, c, fh, fw, out), np.int64)
        for a in range(fh):
            for b in range(fw):
                for i in range(kh):
                    for j in range(kw):
                        low[rows[a, i] - rows.min(), cols[b, j] - cols.min(), :, a, b] += w[i, j]
        self._gemm = MatMul(low.reshape(-1, fh * fw * out), self.matmul.in_dtype, (*self.low_hw, fh * fw * out))
        if self._gemm.bound > self.matmul.bound:  # |sum of taps| <= sum of |taps|: cannot happen
            raise AssertionError("combined kernel exceeds the accumulator bound")

    @property
    def item_bytes(self) -> int:
        """Bytes of the largest array made per item: the GEMM's operand or result at the low resolution."""
        pixels, (rows, cols) = int(np.prod(self.low_hw)), self._gemm.weights.shape
        return pixels * max(rows, cols) * self._gemm.accumulator.itemsize

    def __call__(self, x: np.ndarray, then: Elementwise | None = None) -> np.ndarray:
        """The convolution's accumulators; with `then`, that per-channel map of them (applied before the phases
        are interleaved, on the low-resolution layout)."""
        (fh, fw), (kh, kw), (h, w) = self.upsample.factor, self.low_kernel, self.low_hw
        top, left = self.low_pad
        bottom, right = h - 1 + kh - top - x.shape[1], w - 1 + kw - left - x.shape[2]
        padded = Pad((top, left, max(bottom, 0), max(right, 0)))(x)
        windows = Window((kh, kw), (1, 1), (1, 1), (h, w))(padded)
        y = self._gemm(windows).reshape(len(x), h, w, fh, fw, -1)
        if then is not None:
            y = then(y)
        return y.transpose(0, 1, 3, 2, 4, 5).reshape(len(x), h * fh, w * fw, -1)


@dataclass
class TapSumConv:
    """Pad -> Window (stride 1) -> MatMul as pixels @ all taps' weights, then one shifted sum per tap."""

    pad: Pad
    window: Window
    matmul: MatMul
    channels: int
    kind: ClassVar[str] = "TapSumConv"

    @staticmethod
    def applies(window: Window, channels: int, matmul: MatMul) -> bool:
        return _unit_stride(window) and matmul.weights.shape[1] < channels

    def __post_init__(self) -> None:
        (kh, kw), out = self.window.kernel, self.matmul.weights.shape[1]
        taps = self.matmul.weights.reshape(kh, kw, self.channels, out).transpose(2, 0, 1, 3)
        self._w = taps.reshape(self.channels, kh * kw * out).astype(self.matmul.accumulator)

    @property
    def item_bytes(self) -> int:
        """Bytes of the largest array made per item: every padded pixel's contribution to every tap."""
        (oh, ow), (kh, kw) = self.window.out_hw, self.window.kernel
        return (oh + kh - 1) * (ow + kw - 1) * self._w.shape[1] * self._w.itemsize

    def __call__(self, x: np.ndarray, then: Elementwise | None = None) -> np.ndarray:
        """The convolution's accumulators; with `then`, that per-channel map of them."""
        (kh, kw), (oh, ow) = self.window.kernel, self.window.out_hw
        padded = self.pad(x, self._w.dtype)
        n, hp, wp, c = padded.shape
        per_tap = (padded.reshape(-1, c) @ self._w).reshape(n, hp, wp, kh, kw, -1)
        y = per_tap[:, :oh, :ow, 0, 0].copy()
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    y += per_tap[:, i:i + oh, j:j + ow, i, j]
        y = self.matmul.to_integers(y)
        return y if then is None else then(y)


@dataclass
class Thresholded:
    """A fused convolution and the Thresholding after it as one step: no range check of the accumulators in
    between (`fused_conv` folds the threshold in only where the accumulator bound proves them in range)."""

    conv: SubpixelConv | TapSumConv
    threshold: Threshold

    @property
    def kind(self) -> str:
        return f"{self.conv.kind}+Threshold"

    @property
    def item_bytes(self) -> int:
        return self.conv.item_bytes

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.conv(x, self.threshold)


def fused_conv(fns: list[Callable[[np.ndarray], np.ndarray]], start: int, channels: int,
               out_types: list[IntType] | None = None) -> tuple[Callable[[np.ndarray], np.ndarray], int] | None:
    """The fused convolution of the layer functions from `start` (input with `channels` channels) and how many
    layers it replaces, or None where no rewrite applies. With the layers' output types, a Thresholding right
    after it is folded in when the MVAU's output type holds every value its accumulator bound allows."""
    def run_of(*types: type) -> list | None:
        """The layers from `start` if they are of these types, in this order."""
        run = fns[start:start + len(types)]
        return run if len(run) == len(types) and all(map(isinstance, run, types)) else None

    if (run := run_of(Upsample, Pad, Window, MatMul)) and SubpixelConv.applies(run[0], run[2]):
        conv: SubpixelConv | TapSumConv = SubpixelConv(*run, channels=channels)
    elif (run := run_of(Pad, Window, MatMul)) and TapSumConv.applies(run[1], channels, run[2]):
        conv = TapSumConv(*run, channels=channels)
    else:
        return None
    count = len(run)
    after = start + count
    if out_types is not None and after < len(fns) and isinstance(fns[after], Threshold):
        accumulator = out_types[after - 1]
        if accumulator.min <= -conv.matmul.bound and conv.matmul.bound <= accumulator.max:
            return Thresholded(conv, fns[after]), count + 1
    return conv, count
