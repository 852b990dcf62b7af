"""Export a finished dataflow graph as the simulator's compact artefact (numpy .npz, no onnx needed to read).

One entry ``spec`` holds JSON: format, borders (shapes, integer types, FINN's folded stream shapes that
the packed DMA buffers follow, the host tail) and one record per
layer in stream order (kind, FINN node name and op, shapes, integer types, folding, geometry). Arrays
``weights_<i>`` (MW x MH) and ``thresholds_<i>`` (C or 1 x steps) hold each layer's integer parameters
in the narrowest numpy integer type that holds them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from hw.transforms import HOST_TAIL_KEY

FORMAT = "facevault-accelerator/1"
KINDS = {"MVAU": "matmul", "Thresholding": "threshold", "FMPadding": "pad", "ConvolutionInputGenerator": "window",
         "UpsampleNearestNeighbour": "upsample", "InnerShuffle": "transpose", "OuterShuffle": "transpose",
         "Reshape": "transpose",  # a Reshape (stream order unchanged) is a transpose with the identity permutation
         "DepthToSpace": "depth_to_space"}
FOLDING = ("PE", "SIMD", "parallel_window", "ram_style", "resType")


def _generic_op(op_type: str) -> str:
    return op_type.removesuffix("_rtl").removesuffix("_hls")


def _attr(inst, name: str):
    try:
        return inst.get_nodeattr(name)
    except AttributeError:
        return None


def _narrow(values: np.ndarray) -> np.ndarray:
    ints = np.rint(values).astype(np.int64)
    if not np.array_equal(ints, values):
        raise ValueError("parameters are not integers")
    for dtype in (np.int8, np.int16, np.int32):
        if ints.min() >= np.iinfo(dtype).min and ints.max() <= np.iinfo(dtype).max:
            return ints.astype(dtype)
    return ints


def _geometry(op: str, inst, node) -> dict:
    """The attributes that define what a layer computes (beyond shapes and types)."""
    if op == "MVAU":
        return {"mw": inst.get_nodeattr("MW"), "mh": inst.get_nodeattr("MH"),
                "weight_dtype": inst.get_input_datatype(1).name}
    if op == "Thresholding":
        return {"act_val": inst.get_nodeattr("ActVal"), "weight_dtype": inst.get_input_datatype(1).name}
    if op == "FMPadding":
        return {"padding": list(inst.get_nodeattr("Padding"))}  # top, left, bottom, right
    if op == "ConvolutionInputGenerator":
        return {"kernel": list(inst.get_nodeattr("ConvKernelDim")), "stride": list(inst.get_nodeattr("Stride")),
                "dilation": list(inst.get_nodeattr("Dilation")), "depthwise": inst.get_nodeattr("depthwise")}
    if op == "UpsampleNearestNeighbour":
        return {}
    if op == "DepthToSpace":
        return {"block": inst.get_nodeattr("BlockSize"), "crop": list(inst.get_nodeattr("Crop")),  # t, l, b, r
                "replicate": bool(inst.get_nodeattr("Replicate"))}
    if op == "InnerShuffle":
        shape = list(inst.get_nodeattr("transpose_in_shape"))
        perm = list(range(len(shape)))
        perm[-2], perm[-1] = perm[-1], perm[-2]
        return {"view": shape, "perm": perm}
    if op == "Reshape":
        shape = list(inst.get_nodeattr("out_shape"))
        return {"view": shape, "perm": list(range(len(shape)))}
    if op == "OuterShuffle":
        return {"view": list(inst.get_nodeattr("transpose_in_shape")), "perm": list(inst.get_nodeattr("perm"))}
    raise ValueError(f"the simulator has no model of {node.op_type} ({node.name})")


def export_artefact(model: ModelWrapper, path: Path) -> dict:
    """Write `model`'s layers to `path` (.npz) and return the spec."""
    layers, arrays = [], {}
    for i, node in enumerate(model.graph.node):
        op = _generic_op(node.op_type)
        if op not in KINDS:
            raise ValueError(f"the simulator has no model of {node.op_type} ({node.name})")
        inst = getCustomOp(node)
        record = {"kind": KINDS[op], "name": node.name, "op": node.op_type,
                  "in_shape": list(model.get_tensor_shape(node.input[0])),
                  "out_shape": list(model.get_tensor_shape(node.output[0])),
                  "in_dtype": model.get_tensor_datatype(node.input[0]).name,
                  "out_dtype": model.get_tensor_datatype(node.output[0]).name,
                  "folding": {k: v for k in FOLDING if (v := _attr(inst, k)) is not None},
                  **_geometry(op, inst, node)}
        if op == "MVAU":
            arrays[f"weights_{i}"] = _narrow(model.get_initializer(node.input[1]))
        if op == "Thresholding":
            arrays[f"thresholds_{i}"] = _narrow(model.get_initializer(node.input[1]))
        layers.append(record)
    name_in, name_out = model.graph.input[0].name, model.graph.output[0].name
    first, last = getCustomOp(model.graph.node[0]), getCustomOp(model.graph.node[-1])
    spec = {"format": FORMAT,
            "input": {"shape": list(model.get_tensor_shape(name_in)), "dtype": model.get_tensor_datatype(name_in).name,
                      "folded_shape": list(first.get_folded_input_shape())},
            "output": {"shape": list(model.get_tensor_shape(name_out)),
                       "dtype": model.get_tensor_datatype(name_out).name,
                       "folded_shape": list(last.get_folded_output_shape())},
            "host_tail": json.loads(model.get_metadata_prop(HOST_TAIL_KEY) or "[]"), "layers": layers}
    np.savez_compressed(path, spec=np.array(json.dumps(spec)), **arrays)
    return spec
