"""The simulator against FINN's Python execution of the same dataflow graphs, layer by layer."""

import numpy as np
import pytest
from finn.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from hw.artefact import export_artefact
from hw.device import ZCU104
from hw.execute import generic_view
from hw.flow import dataflow_config, specialize_and_fold, step_subpixel_decoder
from hw.folding import search_folding
from sim.accelerator import SimAccelerator


@pytest.fixture(scope="module")
def finished(tiny_generic, tmp_path_factory):
    work = tmp_path_factory.mktemp("sim_eq")
    # the decoder also as the sub-pixel decoder (hw.subpixel): DepthToSpace layers, no upsampler
    generics = {**tiny_generic, "decoder_subpixel": step_subpixel_decoder(tiny_generic["decoder"], None)}
    cycles = {"encoder": 200_000, "decoder": 20_000, "decoder_subpixel": 20_000}
    folding = search_folding(generics, cycles, ZCU104, "mixed")
    out = {}
    for name, generic in generics.items():
        model = specialize_and_fold(generic, folding[name], dataflow_config(work / name, ZCU104), {})
        export_artefact(model, work / f"{name}.npz")
        out[name] = (model, SimAccelerator.load(work / f"{name}.npz"))
    return out


@pytest.mark.parametrize("name", ["encoder", "decoder", "decoder_subpixel"])
def test_every_layer_of_the_simulator_equals_finn(finished, name):
    model, sim = finished[name]
    if name == "decoder_subpixel":
        kinds = {n.op_type: getCustomOp(n).get_nodeattr("Replicate") for n in model.graph.node
                 if n.op_type.startswith("DepthToSpace")}
        assert kinds and not any(n.op_type.startswith("Upsample") for n in model.graph.node)
    view = generic_view(model)
    rng = np.random.default_rng(3)
    shape = tuple(model.get_tensor_shape(model.graph.input[0].name))
    for _ in range(3):
        x = rng.integers(sim.in_dtype.min, sim.in_dtype.max + 1, shape)
        context = execute_onnx(view, {view.graph.input[0].name: x.astype(np.float32)}, return_full_exec_context=True)
        trace: list = []
        sim.run(x, trace=trace)
        assert len(trace) == len(model.graph.node)
        for node, produced in zip(model.graph.node, trace, strict=True):
            expected = context[node.output[0]]
            np.testing.assert_array_equal(produced, expected.reshape(produced.shape), err_msg=node.name)
        np.testing.assert_array_equal(sim.run(x), trace[-1])   # the fused layers, without a trace


@pytest.mark.parametrize("name", ["encoder", "decoder"])
def test_packed_interface_round_trips_like_finns_driver(finished, name):
    from finn.util.data_packing import finnpy_to_packed_bytearray, packed_bytearray_to_finnpy
    from qonnx.core.datatype import DataType

    _, sim = finished[name]
    rng = np.random.default_rng(4)
    x = rng.integers(sim.in_dtype.min, sim.in_dtype.max + 1, (3, *sim.in_shape))
    folded = x.reshape(3, *sim.in_folded)
    packed = finnpy_to_packed_bytearray(folded.astype(np.float32), DataType[sim.spec["input"]["dtype"]],
                                        reverse_inner=True, reverse_endian=True)
    out_packed = sim.execute(packed)
    assert out_packed.shape == (3, *sim.out_packed_shape)
    out = packed_bytearray_to_finnpy(out_packed, DataType[sim.spec["output"]["dtype"]], (3, *sim.out_folded),
                                     reverse_inner=True, reverse_endian=True)
    np.testing.assert_array_equal(out.reshape(3, *sim.out_shape), sim.run(x))


def test_simulator_refuses_bad_inputs(finished):
    _, sim = finished["encoder"]
    with pytest.raises(ValueError, match="input shape"):
        sim.run(np.zeros((1, 32, 32, 1), np.uint8))
    with pytest.raises(ValueError, match="outside"):
        sim.run(np.full((1, *sim.in_shape), 256))
    with pytest.raises(ValueError, match="packed buffer"):
        sim.execute(np.zeros((1, 7), np.uint8))
