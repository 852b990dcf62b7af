"""Export the quantized encoder and decoder to cleaned QONNX graphs with integer input types."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from brevitas.export import export_qonnx
from brevitas.nn.quant_layer import QuantWeightBiasInputOutputLayer as QuantWBIOL
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model

from quant.qvae import QuantDecoder, QuantEncoder


def export_accelerator(net: QuantEncoder | QuantDecoder, path: Path) -> ModelWrapper:
    """Brevitas -> QONNX at `path` (cleaned), batch 1, input typed UINT8 (encoder) or INT8 (decoder)."""
    net = net.eval()
    if isinstance(net, QuantEncoder):
        example, dtype = torch.zeros(1, 1, 64, 64), DataType["UINT8"]
    else:
        example, dtype = torch.zeros(1, net.fc[0].in_features), DataType["INT8"]
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = path.with_suffix(".raw.onnx")
    export_qonnx(net, input_t=example, export_path=str(raw))
    model = cleanup_model(ModelWrapper(str(raw)))
    for leftover in (raw, raw.with_name(raw.name + ".data")):  # the exporter may write weights beside the graph
        leftover.unlink(missing_ok=True)
    model.set_tensor_datatype(model.graph.input[0].name, dtype)
    model.save(str(path))
    return model


def execute(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    """Run a (QONNX or FINN) graph on one batch-1 input with qonnx's reference executor."""
    from qonnx.core.onnx_exec import execute_onnx

    out = execute_onnx(model, {model.graph.input[0].name: x.astype(np.float32)})
    return out[model.graph.output[0].name]


def output_scales(net: QuantEncoder | QuantDecoder) -> np.ndarray:
    """Per-channel scale of the accelerator's output codes (the host multiplies by it)."""
    return net.output_quant.act_quant.scale().detach().reshape(-1).numpy().astype(np.float64)


def exported_in_float64(net: QuantEncoder | QuantDecoder) -> QuantEncoder | QuantDecoder:
    """A float64 copy of `net` that holds exactly the integer weight codes and scales the export writes.

    Brevitas quantizes the float weights on every forward; in float64 a weight that sits on a rounding
    boundary in float32 can take the other code (one 4-bit code of soup D+F+G+H's decoder did), and the scale
    (abs max / 7) rounds differently. So the copy's weights are the float32 codes times the float32 scale,
    exact in float64, which requantize to those very codes and scales. Every other float32 parameter
    converts to float64 exactly.
    """
    exact = copy.deepcopy(net).eval().double()
    with torch.no_grad():
        for src, dst in zip(net.modules(), exact.modules(), strict=True):
            if isinstance(src, QuantWBIOL):
                weight = src.quant_weight()  # float32: the codes and scale the export writes
                dst.weight.copy_(weight.int().double() * weight.scale.double())  # exact in float64
    return exact


def integer_codes(net: QuantEncoder | QuantDecoder, x: np.ndarray) -> np.ndarray:
    """The Brevitas model's integer output codes in the accelerator's layout (decoder: NHWC).

    Computed in float64 on the exported weights (`exported_in_float64`): float32 sums round in an order
    that depends on the batch size, which moves a value lying within float32's precision of a rounding
    boundary to either side; float64 gets those right, as FINN's integer thresholds do.
    """
    exact = exported_in_float64(net)
    scale = exact.output_quant.act_quant.scale().detach()
    with torch.no_grad():
        codes = torch.round(exact(torch.from_numpy(np.asarray(x, np.float64))) / scale)
    codes = codes.numpy().astype(np.int64)
    return codes.transpose(0, 2, 3, 1) if codes.ndim == 4 else codes
