"""RTL co-simulation with Verilator: FINN's RTL layers against the simulator, integer for integer."""

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from hw.device import ZCU104
from hw.rtlsim import RTLChain, check_layers
from sim.accelerator import SimAccelerator
from tests.conftest import BUILD

CROPS = 16


def _stitched(model: ModelWrapper, work, x: np.ndarray):
    return RTLChain(model, None, work, ZCU104.part, ZCU104.clock_ns, bram_weights=True).run(x)


def test_shipped_encoder_stitched_in_rtl_equals_the_simulator(shipped_vectors, tmp_path, record_property):
    """The whole pure-RTL encoder (FINN's width converters between layers, as its stitching inserts them)
    on 16 real face crops; cycles per frame in steady state beside FINN's estimate."""
    model = ModelWrapper(str(BUILD / "encoder.onnx"))
    crops = shipped_vectors["encoder_in"][:CROPS]
    result = _stitched(model, tmp_path, crops)
    expected = SimAccelerator.load(BUILD / "encoder.npz").run(crops)
    assert np.count_nonzero(result.outputs != expected) == 0
    record_property("rtl_cycles_per_frame", result.interval)
    assert result.interval is not None and result.interval > 0


def test_every_rtl_layer_of_the_shipped_decoder_equals_the_simulator(shipped_vectors, tmp_path):
    """The sub-pixel decoder, all RTL: every layer alone in Verilator, our DepthToSpace (both modes) and the
    MVAU_rtl with 5-6-bit phase weights included, fed the simulator's input to it."""
    model = ModelWrapper(str(BUILD / "decoder.onnx"))
    sim = SimAccelerator.load(BUILD / "decoder.npz")
    latents = shipped_vectors["decoder_in"][:2]
    trace: list = []
    sim.run(latents, trace=trace)
    results = check_layers(model, trace, latents, tmp_path, ZCU104.part, ZCU104.clock_ns)
    rtl_nodes = [n.name for n in model.graph.node if n.op_type.endswith("_rtl")]
    assert list(results) == rtl_nodes
    assert len(rtl_nodes) == len(model.graph.node)   # no HLS layer left in the decoder
    modes = {getCustomOp(n).get_nodeattr("Replicate") for n in model.graph.node if n.op_type == "DepthToSpace_rtl"}
    assert modes == {0, 1}
    for name, result in results.items():
        assert "error" not in result and result["mismatches"] == 0, (name, result)
