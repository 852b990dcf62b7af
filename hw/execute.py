"""FINN's Python execution of a finished (specialised) dataflow graph.

Specialised RTL layers (e.g. Thresholding_rtl) execute only in cppsim/rtlsim; their generic FINN parent
class holds the Python model of the same arithmetic. `generic_view` swaps every `X_rtl`/`X_hls` node for
its generic `X` (same attributes, folding included) so qonnx's executor runs FINN's Python models.
"""

from __future__ import annotations

import copy
import re

import numpy as np
from finn.core.onnx_exec import execute_onnx
from qonnx.core.modelwrapper import ModelWrapper

_BACKEND = re.compile(r"_(rtl|hls)$")


def generic_view(model: ModelWrapper) -> ModelWrapper:
    view = copy.deepcopy(model)
    for node in view.graph.node:
        if node.domain.endswith((".rtl", ".hls")):
            node.domain = node.domain.rsplit(".", 1)[0]
            node.op_type = _BACKEND.sub("", node.op_type)
    return view


def execute_dataflow(model: ModelWrapper, inputs: np.ndarray) -> np.ndarray:
    """Run a dataflow graph on a batch, one input at a time (FINN graphs have batch 1); integer results."""
    view = generic_view(model)
    name_in, name_out = view.graph.input[0].name, view.graph.output[0].name
    shape = tuple(view.get_tensor_shape(name_in))
    outs = [execute_onnx(view, {name_in: x.reshape(shape).astype(np.float32)})[name_out] for x in inputs]
    return np.concatenate(outs).astype(np.int64)
