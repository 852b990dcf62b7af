"""The bit-accurate simulator of one accelerator: loads the hw build's artefact, runs integer batches.

    acc = SimAccelerator.load("bitstreams/zcu104-vae_w4a4_c24/encoder.npz")
    codes = acc.run(crops[..., None])          # (N, 64, 64, 1) uint8 -> (N, 256) int codes

Needs numpy only (the board's Python 3.10 + numpy 1.21 as well as numpy 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.dtypes import IntType
from sim.fusion import fused_conv
from sim.layers import DepthToSpace, MatMul, Pad, Threshold, Transpose, Upsample, Window, check_range
from sim.packing import StreamFormat

FORMAT = "facevault-accelerator/1"
CHUNK_BYTES = 4 << 20    # largest array a layer makes for one chunk of items (see SimAccelerator._segments)
WHOLE_BATCH = 64         # layers that fit this many items in CHUNK_BYTES run on the whole batch


@dataclass
class Layer:
    name: str
    kind: str
    out_dtype: IntType
    out_shape: tuple
    fn: Callable[[np.ndarray], np.ndarray]
    item_bytes: int = 0   # largest array the layer makes per item; 0: its output, as float64 (the widest)

    def __post_init__(self) -> None:
        self.item_bytes = self.item_bytes or int(np.prod(self.out_shape)) * 8


def _build_layer(index: int, rec: dict, arrays) -> Callable[[np.ndarray], np.ndarray]:
    kind = rec["kind"]
    if kind == "matmul":
        weights = arrays[f"weights_{index}"]
        wtype = IntType.parse(rec["weight_dtype"])
        check_range(weights, wtype, f"{rec['name']} weights")
        if weights.shape != (rec["mw"], rec["mh"]):
            raise ValueError(f"{rec['name']}: weights {weights.shape}, expected {(rec['mw'], rec['mh'])}")
        return MatMul(weights, IntType.parse(rec["in_dtype"]), tuple(rec["out_shape"][1:]))
    if kind == "threshold":
        return Threshold(arrays[f"thresholds_{index}"], int(rec["act_val"]))
    if kind == "pad":
        return Pad(tuple(rec["padding"]))
    if kind == "window":
        if rec["depthwise"]:
            raise ValueError(f"{rec['name']}: depthwise windows are not modelled")
        return Window(tuple(rec["kernel"]), tuple(rec["stride"]), tuple(rec["dilation"]), tuple(rec["out_shape"][1:3]))
    if kind == "upsample":
        (h, w), (oh, ow) = rec["in_shape"][1:3], rec["out_shape"][1:3]
        if oh % h or ow % w:
            raise ValueError(f"{rec['name']}: upsampling {h}x{w} -> {oh}x{ow} is not by an integer factor")
        return Upsample((oh // h, ow // w))
    if kind == "depth_to_space":
        block, crop = int(rec["block"]), tuple(rec["crop"])
        if block < 1 or len(crop) != 4 or not all(0 <= k < block for k in crop):
            raise ValueError(f"{rec['name']}: a depth-to-space crop must be 4 values in [0, {block}), not {crop}")
        if rec.get("replicate", False) and not any(crop):  # nearest upsampling (sim.fusion recognises it)
            return Upsample((block, block))
        return DepthToSpace(block, crop, bool(rec.get("replicate", False)))
    if kind == "transpose":
        if rec["perm"][0] != 0:
            raise ValueError(f"{rec['name']}: a transpose must keep the batch axis first")
        return Transpose(tuple(rec["view"]), tuple(rec["perm"]), tuple(rec["out_shape"]))
    raise ValueError(f"unknown layer kind {kind!r} ({rec['name']})")


def load_spec(path: str | Path) -> dict:
    """Only the layer-independent description of an artefact (shapes, types, folding), not its weights."""
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["spec"]))


class SimAccelerator:
    """An accelerator's layers in stream order; `run` maps integer inputs to integer outputs exactly."""

    def __init__(self, spec: dict, arrays) -> None:
        if spec.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} artefact (format: {spec.get('format')!r})")
        self.spec = spec
        self.input, self.output = StreamFormat.from_spec(spec["input"]), StreamFormat.from_spec(spec["output"])
        self.in_dtype, self.in_shape, self.in_folded = self.input.dtype, self.input.shape, self.input.folded
        self.out_dtype, self.out_shape, self.out_folded = self.output.dtype, self.output.shape, self.output.folded
        self.layers = [Layer(rec["name"], rec["kind"], IntType.parse(rec["out_dtype"]), tuple(rec["out_shape"][1:]),
                             _build_layer(i, rec, arrays)) for i, rec in enumerate(spec["layers"])]
        self.fused = self._fuse()
        self.segments = self._segments()

    @classmethod
    def load(cls, path: str | Path) -> SimAccelerator:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        return cls(json.loads(str(arrays.pop("spec"))), arrays)

    @property
    def in_packed_shape(self) -> tuple[int, ...]:
        """Shape of one input in FINN's packed buffer (folded stream shape, last axis in bytes)."""
        return self.input.packed_shape

    @property
    def out_packed_shape(self) -> tuple[int, ...]:
        return self.output.packed_shape

    def execute(self, packed: np.ndarray) -> np.ndarray:
        """The FPGA's interface: packed uint8 input buffer (N, *in_packed_shape) -> packed output buffer."""
        return self.output.pack(self.run(self.input.unpack(packed)))

    def _fuse(self) -> list[Layer]:
        """The layers with every convolution that sim.fusion can compute faster replaced by one fused layer."""
        fused, i, shape = [], 0, self.in_shape
        fns, types = [layer.fn for layer in self.layers], [layer.out_dtype for layer in self.layers]
        while i < len(self.layers):
            found = fused_conv(fns, i, shape[-1], types)
            if found is None:
                fused.append(self.layers[i])
                i += 1
            else:
                fn, count = found
                last = self.layers[i + count - 1]
                names = " + ".join(layer.name for layer in self.layers[i:i + count])
                fused.append(Layer(names, f"fused {fn.kind}", last.out_dtype, last.out_shape, fn,
                                   fn.item_bytes))
                i += count
            shape = fused[-1].out_shape
        return fused

    def _segments(self) -> list[tuple[list[Layer], int | None]]:
        """Runs of consecutive layers and how many items each run processes at a time (None: the whole batch).

        From the first to the last layer whose largest array for WHOLE_BATCH items would exceed CHUNK_BYTES, a few
        items go through all those layers at a time, so their intermediates stay in cache instead of streaming
        hundreds of MB through memory per layer; the layers before and after (small arrays, e.g. the fully
        connected ones) keep the whole batch."""
        layers = self.fused
        fits = [CHUNK_BYTES // layer.item_bytes for layer in layers]
        big = [i for i, f in enumerate(fits) if f < WHOLE_BATCH]
        if not big:
            return [(layers, None)]
        first, last = big[0], big[-1] + 1
        segments = [(layers[first:last], max(1, min(fits[first:last])))]
        if first:
            segments.insert(0, (layers[:first], None))
        if last < len(layers):
            segments.append((layers[last:], None))
        return segments

    def run(self, x: np.ndarray, *, trace: list | None = None) -> np.ndarray:
        """Integers (N, *input shape) -> integers (N, *output shape).

        With `trace`, FINN's layers run one by one and the list collects every layer's output; without, the fused
        layers run (same integers, fewer steps), a few items at a time through the large ones."""
        x = np.asarray(x)
        if x.shape[1:] != self.in_shape:
            raise ValueError(f"input shape {x.shape[1:]} != accelerator input {self.in_shape}")
        if not np.issubdtype(x.dtype, np.integer) and not np.array_equal(x, np.rint(x)):
            raise ValueError("accelerator inputs must be integers")
        h = check_range(x.astype(np.int64), self.in_dtype, "input").astype(self.in_dtype.numpy_dtype)
        if trace is not None:  # FINN's layers one by one, each on the whole batch
            return self._apply(self.layers, h, trace).astype(np.int64)
        for layers, chunk in self.segments:
            if chunk is not None and len(h) > chunk:
                h = np.concatenate([self._apply(layers, h[i:i + chunk], None) for i in range(0, len(h), chunk)])
            else:
                h = self._apply(layers, h, None)
        return h.astype(np.int64)

    @staticmethod
    def _apply(layers: list[Layer], h: np.ndarray, trace: list | None) -> np.ndarray:
        for layer in layers:
            h = layer.fn(h)
            if h.shape[1:] != layer.out_shape:
                raise AssertionError(f"{layer.name}: produced {h.shape[1:]}, expected {layer.out_shape}")
            h = check_range(h, layer.out_dtype, layer.name).astype(layer.out_dtype.numpy_dtype, copy=False)
            if trace is not None:
                trace.append(h)
        return h
