"""One bitstream for both accelerators: the encoder and decoder dataflow graphs side by side in one graph.

The merged graph has two inputs and two outputs and no edge between the halves. FINN's Zynq build gives
every graph input/output its own DMA engine (`InsertIODMA`) and stitches both pipelines into one design,
so the board loads one bitstream and the host alternates encoder and decoder passes (or overlaps them:
the decoder of one face while the encoder takes the next) without reconfiguring. Resources add up;
faces/s = min(encoder fps, decoder fps / L).
"""

from __future__ import annotations

import json

import onnx
from onnx import compose, helper
from qonnx.core.modelwrapper import ModelWrapper

from hw.transforms import HOST_TAIL_KEY


def _prefixed(model: ModelWrapper, prefix: str) -> onnx.ModelProto:
    proto = compose.add_prefix(model.model, prefix=prefix, rename_functions=False)
    for annotation in proto.graph.quantization_annotation:
        annotation.tensor_name = prefix + annotation.tensor_name
    return proto


def merge_accelerators(models: dict[str, ModelWrapper]) -> ModelWrapper:
    """Graphs keyed by accelerator name -> one graph; every name is prefixed with ``<accelerator>_``."""
    parts = {name: _prefixed(m, f"{name}_").graph for name, m in models.items()}
    graph = helper.make_graph(
        [n for g in parts.values() for n in g.node], "+".join(models),
        [i for g in parts.values() for i in g.input], [o for g in parts.values() for o in g.output],
        [t for g in parts.values() for t in g.initializer],
        value_info=[v for g in parts.values() for v in g.value_info])
    graph.quantization_annotation.extend([a for g in parts.values() for a in g.quantization_annotation])
    first = next(iter(models.values())).model
    merged = ModelWrapper(helper.make_model(graph, opset_imports=first.opset_import, producer_name="facevault"))
    merged.set_metadata_prop(HOST_TAIL_KEY, json.dumps(
        {name: json.loads(m.get_metadata_prop(HOST_TAIL_KEY) or "[]") for name, m in models.items()}))
    return merged
