"""`ConvertUpsampleConvToSubpixel`: nearest upsampling + same-size convolution as a sub-pixel convolution.

Rewrites, in a generic (unspecialised) FINN dataflow graph,

    UpsampleNearestNeighbour(f) -> FMPadding -> ConvolutionInputGenerator(k x k, stride 1) -> MVAU -> Thresholding
into
    FMPadding -> ConvolutionInputGenerator(K x K) -> MVAU(f*f x the outputs) -> Thresholding -> DepthToSpace(f)

all at the low resolution. Output row f*Y + a of the original reads low-resolution rows Y + (a + i - top) // f
(tap i, top padding `top`): for f = 2, k = 3 every phase a reads 2 rows, so one shared 2x2 window (K = 2,
padding 1) serves all four phases; each phase's 2x2 kernel sums the taps that read the same low-resolution
pixel (`sim/fusion.py` uses the same identity). One shared window position covers an f x f block of output
pixels offset by a constant, so `DepthToSpace` interleaves the phases and crops that offset's excess border.
Accumulators are the same integers (products regrouped), so the thresholds are the original ones, repeated
per phase channel. Costs: 4/9 of the multiply-accumulates per output pixel plus the (H+1)/H border, and
wider weights (sums of up to four 4-bit weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import qonnx.core.data_layout as layouts
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

DOMAIN = "finn.custom_op.fpgadataflow"


@dataclass(frozen=True)
class AxisPlan:
    """The sub-pixel form of one axis: upsampling by `factor`, a `kernel`-tap convolution padded `before`."""

    factor: int
    kernel: int          # K: taps of the shared low-resolution window
    pad: tuple[int, int]  # low-resolution padding before, after
    windows: int         # window positions along the axis
    crop: tuple[int, int]  # output pixels removed before, after
    phase: tuple[int, ...]  # phase a (output index f*Y + a) -> its slot p in a DepthToSpace block
    tap: tuple[tuple[int, ...], ...]  # [a][i]: window tap read by original tap i for phase a


def axis_plan(factor: int, kernel: int, before: int, after: int, low: int) -> AxisPlan | None:
    """The plan for a same-size convolution (output = factor * low), or None where one shared window cannot
    serve all phases with a crop smaller than a block."""
    if factor * low + before + after - kernel + 1 != factor * low:
        return None
    first = [(a - before) // factor for a in range(factor)]
    last = [(a + kernel - 1 - before) // factor for a in range(factor)]
    size = max(b - a + 1 for a, b in zip(first, last, strict=True))
    pad_before = -min(first)
    shift = [f + pad_before for f in first]   # window position Y' = Y + shift[a]
    for crop in range(factor):
        phase = tuple(a + crop - factor * s for a, s in enumerate(shift))
        if sorted(phase) == list(range(factor)):
            break
    else:
        return None
    windows = (factor * low - 1 + crop) // factor + 1
    pad_after = windows + size - 1 - low - pad_before
    if pad_after < 0:
        return None
    tap = tuple(tuple((a + i - before) // factor - first[a] for i in range(kernel)) for a in range(factor))
    return AxisPlan(factor, size, (pad_before, pad_after), windows, (crop, factor * windows - factor * low - crop),
                    phase, tap)


def subpixel_weights(weights: np.ndarray, channels: int, rows: AxisPlan, cols: AxisPlan) -> np.ndarray:
    """MVAU weights (kh*kw*C, O), rows ordered (tap row, tap column, channel) -> (K*K*C, F*F*O), columns
    ordered (phase slot p, phase slot q, output channel)."""
    kh, kw, f = len(rows.tap[0]), len(cols.tap[0]), rows.factor
    out = weights.shape[1]
    w = weights.astype(np.int64).reshape(kh, kw, channels, out)
    low = np.zeros((rows.kernel, cols.kernel, channels, f, f, out), np.int64)
    for a in range(f):
        for b in range(f):
            for i in range(kh):
                for j in range(kw):
                    low[rows.tap[a][i], cols.tap[b][j], :, rows.phase[a], cols.phase[b]] += w[i, j]
    return low.reshape(rows.kernel * cols.kernel * channels, f * f * out)


def _signed_type(values: np.ndarray) -> DataType:
    bits = 2
    while values.min() < -(1 << (bits - 1)) or values.max() >= 1 << (bits - 1):
        bits += 1
    return DataType[f"INT{bits}"]


def _single_consumer(model: ModelWrapper, node, op_type: str):
    consumers = model.find_consumers(node.output[0]) or []
    return consumers[0] if len(consumers) == 1 and consumers[0].op_type == op_type else None


class ConvertUpsampleToDepthToSpace(Transformation):
    """Generic UpsampleNearestNeighbour (HLS-only in FINN) -> DepthToSpace with Replicate=1 (our RTL)."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for up in model.graph.node:
            if up.op_type != "UpsampleNearestNeighbour" or up.domain != DOMAIN:
                continue
            n, h, w, c = model.get_tensor_shape(up.input[0])
            _, oh, ow, _ = model.get_tensor_shape(up.output[0])
            if oh % h or ow % w or oh // h != ow // w:
                continue
            d2s = helper.make_node(
                "DepthToSpace", [up.input[0]], [up.output[0]], domain=DOMAIN, backend="fpgadataflow",
                name=up.name.replace("UpsampleNearestNeighbour", "DepthToSpace"), ImgDim=[h, w], NumChannels=c,
                BlockSize=oh // h, Replicate=1, inputDataType=model.get_tensor_datatype(up.input[0]).name,
                numInputVectors=n)
            graph = model.graph
            graph.node.insert(list(graph.node).index(up), d2s)
            graph.node.remove(up)
            return model, True
        return model, False


class ConvertUpsampleConvToSubpixel(Transformation):
    """Upsample -> FMPadding -> window -> MVAU -> Thresholding  ==>  sub-pixel convolution + DepthToSpace.

    Only generic layers (before SpecializeLayers), a square integer factor, stride and dilation 1, a dense
    window, standalone thresholds and a same-size convolution; anything else is left alone. A block is
    rewritten only where it saves hardware: where its multiply-accumulates times weight bits (what sets the
    multipliers and the weight-memory bandwidth of an MVAU folded for a given rate) fall below
    `max_cost_ratio` times the original's. At 2x2 -> 4x4 the shared window's border eats the whole saving
    (9 positions x 16 taps = 16 pixels x 9 taps) and the summed weights are wider.
    """

    def __init__(self, max_cost_ratio: float = 1.0) -> None:
        super().__init__()
        self.max_cost_ratio = max_cost_ratio

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for up in model.graph.node:
            if up.op_type != "UpsampleNearestNeighbour" or up.domain != DOMAIN:
                continue
            pad = _single_consumer(model, up, "FMPadding")
            swg = pad and _single_consumer(model, pad, "ConvolutionInputGenerator")
            mvau = swg and _single_consumer(model, swg, "MVAU")
            thr = mvau and _single_consumer(model, mvau, "Thresholding")
            if thr is None or not self._rewrite(model, up, pad, swg, mvau, thr, self.max_cost_ratio):
                continue
            model = model.transform(InferShapes()).transform(InferDataTypes())
            return model, True
        return model, False

    @staticmethod
    def _rewrite(model: ModelWrapper, up, pad, swg, mvau, thr, max_cost_ratio: float) -> bool:
        pad_i, swg_i, mvau_i, thr_i = map(getCustomOp, (pad, swg, mvau, thr))
        n, h, w, c = model.get_tensor_shape(up.input[0])
        _, oh, ow, _ = model.get_tensor_shape(up.output[0])
        if oh % h or ow % w or oh // h != ow // w or mvau_i.get_nodeattr("noActivation") != 1:
            return False
        f = oh // h
        kh, kw = swg_i.get_nodeattr("ConvKernelDim")
        if (list(swg_i.get_nodeattr("Stride")) != [1, 1] or list(swg_i.get_nodeattr("Dilation")) != [1, 1]
                or swg_i.get_nodeattr("depthwise")):
            return False
        top, left, bottom, right = pad_i.get_nodeattr("Padding")
        rows, cols = axis_plan(f, kh, top, bottom, h), axis_plan(f, kw, left, right, w)
        if rows is None or cols is None:
            return False
        weights = model.get_initializer(mvau.input[1])
        out = weights.shape[1]
        new_w = subpixel_weights(weights, c, rows, cols)
        wtype = _signed_type(new_w)
        cost = rows.windows * cols.windows * new_w.size * wtype.bitwidth()
        if cost >= max_cost_ratio * oh * ow * weights.size * mvau_i.get_input_datatype(1).bitwidth():
            return False
        thresholds = model.get_initializer(thr.input[1])
        if thresholds.shape[0] == out:
            thresholds = np.tile(thresholds, (f * f, 1))
        vectors = [n, rows.windows, cols.windows]
        # FMPadding and window generator at the low resolution
        pad.input[0] = up.input[0]
        pad_i.set_nodeattr("ImgDim", [h, w])
        pad_i.set_nodeattr("Padding", [rows.pad[0], cols.pad[0], rows.pad[1], cols.pad[1]])
        padded = [h + sum(rows.pad), w + sum(cols.pad)]
        swg_i.set_nodeattr("ConvKernelDim", [rows.kernel, cols.kernel])
        swg_i.set_nodeattr("IFMDim", padded)
        swg_i.set_nodeattr("OFMDim", [rows.windows, cols.windows])
        # one MVAU for all phases, thresholds per phase channel
        mvau_i.set_nodeattr("MW", new_w.shape[0])
        mvau_i.set_nodeattr("MH", new_w.shape[1])
        mvau_i.set_nodeattr("numInputVectors", vectors)
        mvau_i.set_nodeattr("weightDataType", wtype.name)
        model.set_initializer(mvau.input[1], new_w.astype(np.float32))
        model.set_tensor_datatype(mvau.input[1], wtype)
        thr_i.set_nodeattr("NumChannels", f * f * out)
        thr_i.set_nodeattr("numInputVectors", vectors)
        model.set_initializer(thr.input[1], thresholds)
        # DepthToSpace after the thresholds: the 4-bit codes, not the accumulators, are interleaved
        final = thr.output[0]
        phases = model.make_new_valueinfo_name()
        thr.output[0] = phases
        dtype = model.get_tensor_datatype(final)
        d2s = helper.make_node(
            "DepthToSpace", [phases], [final], domain=DOMAIN, backend="fpgadataflow", ImgDim=vectors[1:],
            NumChannels=out, BlockSize=f, Crop=[rows.crop[0], cols.crop[0], rows.crop[1], cols.crop[1]],
            inputDataType=dtype.name, numInputVectors=n)
        graph = model.graph
        graph.node.insert(list(graph.node).index(thr) + 1, d2s)
        model.set_tensor_shape(pad.output[0], [n, *padded, c])
        model.set_tensor_shape(swg.output[0], [*vectors, rows.kernel * cols.kernel * c])
        model.set_tensor_shape(mvau.output[0], [*vectors, f * f * out])
        model.set_tensor_shape(phases, [*vectors, f * f * out])
        model.set_tensor_datatype(phases, dtype)
        model.set_tensor_layout(phases, layouts.NHWC)
        graph.node.remove(up)
        stale = [v for v in graph.value_info if v.name == up.output[0]]
        for v in stale:
            graph.value_info.remove(v)
        return True
