"""`PermuteMatMulToNHWC`: a fully connected layer that emits its feature map in NHWC order directly.

The decoder's first layer is an FC whose flat output is reshaped to a C x H x W map (NCHW) and then
transposed to NHWC for the convolutions; FINN turns that Reshape + Transpose into Inner/OuterShuffle
layers (OuterShuffle exists only as HLS). Permuting the FC's weight columns, and every per-neuron
parameter between the FC and the Reshape (thresholds, scales, biases), makes the FC emit the same values
already in NHWC order, so the Transpose goes and the Reshape becomes a plain NHWC one (FINN maps it to a
pass-through Reshape layer: no shuffle buffer, no cycles beyond one value per output).
"""

from __future__ import annotations

import numpy as np
import qonnx.core.data_layout as layouts
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation
from qonnx.util.basic import get_by_name

NCHW_TO_NHWC = [0, 2, 3, 1]
ELEMENTWISE = ("MultiThreshold", "Mul", "Add")  # nodes whose per-neuron parameters follow the permutation


def nhwc_order(c: int, h: int, w: int) -> np.ndarray:
    """Flat NCHW index of each flat NHWC position: ``nchw.reshape(-1)[nhwc_order(c, h, w)] == nhwc.reshape(-1)``."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)


def _per_neuron_or_shared(op_type: str, params: np.ndarray, neurons: int) -> bool:
    """Thresholds: one row per neuron or one shared row; Mul/Add: a scalar or one value per neuron."""
    if op_type == "MultiThreshold":
        return params.ndim == 2 and params.shape[0] in (1, neurons)
    return params.size in (1, neurons)


class PermuteMatMulToNHWC(Transformation):
    """MatMul -> [MultiThreshold | Mul | Add]* -> Reshape (N, C, H, W) -> Transpose (0, 2, 3, 1)
    ==> MatMul' -> [same nodes, parameters permuted] -> Reshape (N, H, W, C).

    The MatMul needs constant weights (K x C*H*W) and a 2D input; the elementwise nodes between it and the
    Reshape a constant second input (thresholds: one row per neuron or one shared row; Mul/Add: a scalar or
    one value per neuron) and one consumer each. Anything else is left alone.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for transpose in model.graph.node:
            match = self._match(model, transpose)
            if match is None:
                continue
            matmul, chain, reshape = match
            n, c, h, w = model.get_tensor_shape(reshape.output[0])
            order = nhwc_order(c, h, w)
            weights = model.get_initializer(matmul.input[1])
            model.set_initializer(matmul.input[1], weights[:, order])
            for node in chain:
                params = model.get_initializer(node.input[1])
                if node.op_type == "MultiThreshold" and params.shape[0] > 1:
                    model.set_initializer(node.input[1], params[order])
                elif node.op_type != "MultiThreshold" and params.size > 1:
                    model.set_initializer(node.input[1], params.reshape(-1)[order].reshape(params.shape))
            shape_name = model.make_new_valueinfo_name()
            model.set_initializer(shape_name, np.array([n, h, w, c], dtype=np.int64))
            old_shape, old_out = reshape.input[1], reshape.output[0]
            reshape.input[1] = shape_name
            reshape.output[0] = transpose.output[0]
            model.graph.value_info.remove(model.get_tensor_valueinfo(old_out))
            if not model.find_consumers(old_shape):
                model.del_initializer(old_shape)
            model.set_tensor_layout(reshape.output[0], layouts.NHWC)
            model.graph.node.remove(transpose)
            return model, True
        return model, False

    @staticmethod
    def _match(model: ModelWrapper, transpose) -> tuple | None:
        """(MatMul, elementwise chain, Reshape) ending in `transpose`, or None where the pattern does not hold."""
        perm = get_by_name(transpose.attribute, "perm")
        if transpose.op_type != "Transpose" or perm is None or list(perm.ints) != NCHW_TO_NHWC:
            return None
        reshape = model.find_producer(transpose.input[0])
        if reshape is None or reshape.op_type != "Reshape" or len(model.find_consumers(reshape.output[0]) or []) != 1:
            return None
        shape = model.get_tensor_shape(reshape.output[0])
        flat = model.get_tensor_shape(reshape.input[0])
        if shape is None or len(shape) != 4 or flat is None or len(flat) != 2 or flat[1] != np.prod(shape[1:]):
            return None
        chain, node = [], model.find_producer(reshape.input[0])
        while node is not None and node.op_type in ELEMENTWISE:
            params = model.get_initializer(node.input[1]) if len(node.input) > 1 else None
            if params is None or len(model.find_consumers(node.output[0]) or []) != 1:
                return None
            if not _per_neuron_or_shared(node.op_type, params, flat[1]):
                return None
            chain.append(node)
            node = model.find_producer(node.input[0])
        if node is None or node.op_type != "MatMul" or len(model.find_consumers(node.output[0]) or []) != 1:
            return None
        weights = model.get_initializer(node.input[1])
        if weights is None or weights.ndim != 2 or weights.shape[1] != flat[1]:
            return None
        return node, chain, reshape
