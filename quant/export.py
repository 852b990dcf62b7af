"""Export the quantized encoder and decoder to cleaned QONNX graphs with integer input types."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from brevitas.export import export_qonnx
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


def integer_codes(net: QuantEncoder | QuantDecoder, x: np.ndarray) -> np.ndarray:
    """The Brevitas model's integer output codes in the accelerator's layout (decoder: NHWC)."""
    scale = net.output_quant.act_quant.scale().detach()
    with torch.no_grad():
        codes = torch.round(net.eval()(torch.from_numpy(np.asarray(x, np.float32))) / scale)
    codes = codes.numpy().astype(np.int64)
    return codes.transpose(0, 2, 3, 1) if codes.ndim == 4 else codes
