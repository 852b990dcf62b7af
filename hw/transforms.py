"""The project's own graph transformations, applied between FINN's streamlining and HW conversion.

- `AbsorbLeakyReluIntoMultiThreshold`: FINN has no LeakyReLU layer; a following MultiThreshold absorbs it.
- `ExposeReshapeLayoutForResize` + `SetReshapeLayouts`: let FINN move the decoder's nearest-neighbour
  `Resize` to NHWC so `InferUpsample` maps it to an UpsampleNearestNeighbour layer.
- `RemoveIdentityMultiThreshold`: an input quantizer that maps every integer input to itself (the uint8
  crop, the int8 latent codes) would cost a 255-step threshold layer; it is dropped.
- `StripHostTail`: the trailing output-scale `Mul` and layout `Transpose` leave the accelerator for the
  host, so it outputs pure integer codes (FINDINGS section 2).
"""

from __future__ import annotations

import json
import math

import numpy as np
import qonnx.core.data_layout as layouts
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.general.multithreshold import multithreshold
from qonnx.transformation.base import Transformation
from qonnx.util.basic import get_by_name

HOST_TAIL_KEY = "host_tail"  # metadata key: JSON list of the operations stripped off the output


def _is_power_of_two(x: float) -> bool:
    return x > 0 and math.log2(x).is_integer()


class AbsorbLeakyReluIntoMultiThreshold(Transformation):
    """LeakyRelu(alpha) -> MultiThreshold  ==>  MultiThreshold with thresholds mapped through the inverse.

    LeakyReLU f is strictly increasing, so f(x) >= t  <=>  x >= f^-1(t), with f^-1(t) = t for t >= 0 and
    t / alpha for t < 0. The new thresholds are exact in float32 only when alpha is a power of two, so
    other slopes are left alone (the LeakyRelu then survives and HW conversion reports it).
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type != "LeakyRelu":
                continue
            consumers = model.find_consumers(node.output[0]) or []
            if len(consumers) != 1 or consumers[0].op_type != "MultiThreshold":
                continue
            attr = get_by_name(node.attribute, "alpha")
            alpha = 0.01 if attr is None else float(attr.f)
            if not _is_power_of_two(alpha):
                continue
            threshold = consumers[0]
            t = model.get_initializer(threshold.input[1]).astype(np.float64)
            model.set_initializer(threshold.input[1], np.where(t >= 0, t, t / alpha).astype(np.float32))
            threshold.input[0] = node.input[0]
            model.graph.node.remove(node)
            return model, True
        return model, False


class ExposeReshapeLayoutForResize(Transformation):
    """Insert an identity Transpose pair (to NHWC and back) after a 4D Reshape that feeds a Resize.

    FINN's `MakeScaleResizeNHWC` moves a Resize to NHWC only past a Transpose; the decoder's FC output is
    reshaped in plain NCHW (an NHWC permute in the model breaks streamlining). After this pass the second
    Transpose moves past the Resize and the first one becomes a Shuffle layer.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        graph = model.graph
        for index, node in enumerate(graph.node):
            if node.op_type != "Reshape":
                continue
            out = node.output[0]
            shape = model.get_tensor_shape(out)
            consumers = model.find_consumers(out) or []
            if shape is None or len(shape) != 4 or not consumers:
                continue
            if not all(c.op_type == "Resize" for c in consumers):
                continue
            n, c, h, w = shape
            nhwc, nchw = model.make_new_valueinfo_name(), model.make_new_valueinfo_name()
            graph.value_info.append(helper.make_tensor_value_info(nhwc, TensorProto.FLOAT, [n, h, w, c]))
            graph.value_info.append(helper.make_tensor_value_info(nchw, TensorProto.FLOAT, [n, c, h, w]))
            for consumer in consumers:
                consumer.input[0] = nchw
            graph.node.insert(index + 1, helper.make_node("Transpose", [out], [nhwc], perm=[0, 2, 3, 1]))
            graph.node.insert(index + 2, helper.make_node("Transpose", [nhwc], [nchw], perm=[0, 3, 1, 2]))
            dtype = model.get_tensor_datatype(out)
            for name, layout in ((out, layouts.NCHW), (nhwc, layouts.NHWC), (nchw, layouts.NCHW)):
                model.set_tensor_datatype(name, dtype)
                model.set_tensor_layout(name, layout)
            return model, True
        return model, False


class SetReshapeLayouts(Transformation):
    """Give 4D Reshape outputs the NCHW layout (and NCHW->NHWC Transposes of them NHWC).

    qonnx's `InferDataLayouts` copies the flat input's ['N', 'C'] to a 4D Reshape output, which stops
    `InferUpsample` and the Shuffle conversion; run this after every `InferDataLayouts`.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type == "Reshape" and len(model.get_tensor_shape(node.output[0])) == 4:
                model.set_tensor_layout(node.output[0], layouts.NCHW)
        for node in model.graph.node:
            perm = get_by_name(node.attribute, "perm")
            if (node.op_type == "Transpose" and list(perm.ints) == [0, 2, 3, 1]
                    and model.get_tensor_layout(node.input[0]) == layouts.NCHW):
                model.set_tensor_layout(node.output[0], layouts.NHWC)
        return model, False


class RemoveIdentityMultiThreshold(Transformation):
    """Drop a MultiThreshold that returns its input unchanged for every value of its integer input type.

    Checked exhaustively over the input type's range (types of up to 16 bits), per channel, with the
    node's own thresholds, output scale and bias; the output type must equal the input type.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type != "MultiThreshold" or node.input[0] == node.output[0]:
                continue
            dtype = model.get_tensor_datatype(node.input[0])
            if not dtype.is_integer() or dtype.bitwidth() > 16 or model.get_tensor_datatype(node.output[0]) != dtype:
                continue
            thresholds = model.get_initializer(node.input[1])
            values = np.arange(dtype.min(), dtype.max() + 1, dtype=np.float32)
            scale = get_by_name(node.attribute, "out_scale")
            bias = get_by_name(node.attribute, "out_bias")
            probe = np.repeat(values[:, None], thresholds.shape[0], axis=1)
            mapped = multithreshold(probe, thresholds, 1.0 if scale is None else scale.f,
                                    0.0 if bias is None else bias.f)
            if not np.array_equal(mapped, probe) or node.output[0] in [o.name for o in model.graph.output]:
                continue
            for consumer in model.find_consumers(node.output[0]) or []:
                consumer.input[:] = [node.input[0] if i == node.output[0] else i for i in consumer.input]
            model.graph.node.remove(node)
            return model, True
        return model, False


class StripHostTail(Transformation):
    """Remove trailing `Mul` by a constant and `Transpose` nodes from the graph output; the host applies them.

    What was removed is recorded, outermost last, as JSON under the model's ``host_tail`` metadata:
    ``{"op": "Mul", "scale": [...]}`` and ``{"op": "Transpose", "perm": [...]}``.
    """

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        stripped: list[dict] = []
        while True:
            out = model.graph.output[0]
            producer = model.find_producer(out.name)
            if producer is None:
                break
            if producer.op_type == "Mul" and model.get_initializer(producer.input[1]) is not None:
                scale = model.get_initializer(producer.input[1])
                stripped.append({"op": "Mul", "scale": scale.reshape(-1).tolist(), "shape": list(scale.shape)})
            elif producer.op_type == "Transpose":
                stripped.append({"op": "Transpose", "perm": list(get_by_name(producer.attribute, "perm").ints)})
            else:
                break
            kept = model.get_tensor_valueinfo(producer.input[0])
            model.graph.output.remove(out)
            model.graph.output.append(kept)
            if kept in model.graph.value_info:
                model.graph.value_info.remove(kept)
            model.graph.node.remove(producer)
        previous = json.loads(model.get_metadata_prop(HOST_TAIL_KEY) or "[]")
        model.set_metadata_prop(HOST_TAIL_KEY, json.dumps(stripped[::-1] + previous))
        return model, False
