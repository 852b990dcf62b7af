"""The sub-pixel decoder: the identity, the graph rewrite, DepthToSpace in Python and in Verilator (our RTL)."""

import numpy as np
import pytest
from finn.core.onnx_exec import execute_onnx
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from hw.depth_to_space import depth_to_space
from hw.device import ZCU104
from hw.execute import execute_dataflow
from hw.rtlsim import RTLDesign
from hw.subpixel import ConvertUpsampleConvToSubpixel, ConvertUpsampleToDepthToSpace, axis_plan, subpixel_weights
from sim.layers import Pad, Upsample, Window


def _conv(x: np.ndarray, weights: np.ndarray, kernel: int, pad: tuple[int, int, int, int]) -> np.ndarray:
    padded = Pad(pad)(x)
    out = (padded.shape[1] - kernel + 1, padded.shape[2] - kernel + 1)
    return Window((kernel, kernel), (1, 1), (1, 1), out)(padded) @ weights


@pytest.mark.parametrize(("factor", "kernel", "before", "after"), [(2, 3, 1, 1), (3, 3, 1, 1), (2, 5, 2, 2),
                                                                    (2, 3, 2, 0), (3, 5, 1, 3)])
def test_upsample_conv_equals_subpixel_conv_then_depth_to_space(factor, kernel, before, after):
    rng = np.random.default_rng(factor * 10 + kernel)
    h, w, c, o = 3, 4, 3, 2
    x = rng.integers(-8, 8, (2, h, w, c))
    weights = rng.integers(-8, 8, (kernel * kernel * c, o))
    expected = _conv(Upsample((factor, factor))(x), weights, kernel, (before, before, after, after))
    rows, cols = axis_plan(factor, kernel, before, after, h), axis_plan(factor, kernel, before, after, w)
    phases = _conv(x, subpixel_weights(weights, c, rows, cols), rows.kernel,
                   (rows.pad[0], cols.pad[0], rows.pad[1], cols.pad[1]))
    crop = (rows.crop[0], cols.crop[0], rows.crop[1], cols.crop[1])
    np.testing.assert_array_equal(depth_to_space(phases, factor, crop), expected)
    if (factor, kernel) == (2, 3):  # the decoder's case: one 2x2 window, four 2x2 phase kernels
        assert rows.kernel == 2


def test_a_convolution_that_changes_the_size_has_no_plan():
    assert axis_plan(2, 3, 0, 0, 4) is None


def _naive_depth_to_space(x: np.ndarray, f: int, crop: tuple[int, int, int, int]) -> np.ndarray:
    n, h, w, d = x.shape
    c = d // (f * f)
    top, left, bottom, right = crop
    y = np.zeros((n, h * f - top - bottom, w * f - left - right, c), x.dtype)
    for r in range(y.shape[1]):
        for s in range(y.shape[2]):
            (row, p), (col, q) = divmod(r + top, f), divmod(s + left, f)
            y[:, r, s] = x[:, row, col, (p * f + q) * c:(p * f + q + 1) * c]
    return y


def _d2s_model(h: int, w: int, c: int, f: int, crop: tuple, simd: int, rtl: bool = True,
               replicate: int = 0) -> ModelWrapper:
    ishape = [1, h, w, c if replicate else f * f * c]
    oshape = [1, h * f - crop[0] - crop[2], w * f - crop[1] - crop[3], c]
    op, domain = ("DepthToSpace_rtl", ".rtl") if rtl else ("DepthToSpace", "")
    node = helper.make_node(op, ["x"], ["y"], domain="finn.custom_op.fpgadataflow" + domain, backend="fpgadataflow",
                            name=f"{op}_0", ImgDim=[h, w], NumChannels=c, BlockSize=f, Crop=list(crop), SIMD=simd,
                            Replicate=replicate, inputDataType="INT4")
    graph = helper.make_graph([node], "d2s", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ishape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, oshape)])
    model = ModelWrapper(qonnx_make_model(graph))
    for name in ("x", "y"):
        model.set_tensor_datatype(name, DataType["INT4"])
    return model


@pytest.mark.parametrize(("f", "crop"), [(2, (1, 1, 1, 1)), (2, (0, 0, 0, 0)), (3, (2, 1, 0, 1))])
def test_depth_to_space_layer_executes_like_the_definition(f, crop):
    x = np.random.default_rng(f).integers(-8, 8, (3, 3, 4, f * f * 6))
    model = _d2s_model(3, 4, 6, f, crop, simd=2, rtl=False)
    out = execute_dataflow(model, x)
    np.testing.assert_array_equal(out, _naive_depth_to_space(x, f, crop))
    inst = getCustomOp(model.graph.node[0])
    assert inst.get_folded_output_shape() == (1, *out.shape[1:3], 3, 2)
    upsampled = execute_dataflow(_d2s_model(3, 4, 6, f, crop, 2, rtl=False, replicate=1), x[..., :6])
    np.testing.assert_array_equal(upsampled, _naive_depth_to_space(np.tile(x[..., :6], f * f), f, crop))
    with pytest.raises(ValueError, match="DepthToSpace Crop must be 0 <= crop < BlockSize 2 per side, not"):
        getCustomOp(_d2s_model(3, 4, 6, 2, (2, 0, 0, 0), 2).graph.node[0]).get_normal_output_shape()


@pytest.mark.parametrize(("h", "w", "c", "f", "crop", "simd", "replicate"), [
    (3, 4, 6, 2, (1, 1, 1, 1), 1, 0), (4, 3, 8, 2, (1, 1, 1, 1), 8, 0), (2, 3, 2, 3, (2, 1, 0, 1), 2, 0),
    (3, 4, 6, 2, (0, 0, 0, 0), 3, 1)], ids=["unfolded-simd1", "simd8", "block3", "upsample"])
def test_depth_to_space_rtl_in_verilator_equals_its_python_execution(h, w, c, f, crop, simd, replicate, tmp_path):
    """Our SystemVerilog, built by Verilator, on random frames streamed back to back: same integers as the
    Python execution; one word per cycle in steady state (the estimate's cycles); and the same integers again
    under random backpressure and input gaps (30 % of the cycles each)."""
    model = _d2s_model(h, w, c, f, crop, simd, replicate=replicate)
    x = np.random.default_rng(simd).integers(-8, 8, (4, h, w, c if replicate else f * f * c))
    chain = RTLDesign(model, ["DepthToSpace_rtl_0"], tmp_path, ZCU104.part, ZCU104.clock_ns)
    expected = execute_dataflow(model, x)
    result = chain.run(x)
    np.testing.assert_array_equal(result.outputs, expected)
    assert result.interval == getCustomOp(model.graph.node[0]).get_exp_cycles()
    stalled = chain.run(x, stall_percent=30)
    np.testing.assert_array_equal(stalled.outputs, expected)
    assert stalled.interval > result.interval


@pytest.mark.parametrize("max_cost_ratio", [1.0, 1e9], ids=["where-it-pays", "every-block"])
def test_rewrite_of_the_tiny_decoder_keeps_every_integer_and_is_applied_once(tiny_generic, max_cost_ratio):
    decoder = tiny_generic["decoder"]
    rewritten = decoder.transform(ConvertUpsampleConvToSubpixel(max_cost_ratio))
    upsamplers = [n for n in decoder.graph.node if n.op_type == "UpsampleNearestNeighbour"]
    subpixel = [n for n in rewritten.graph.node if n.op_type == "DepthToSpace"]
    if max_cost_ratio > 1:
        assert len(subpixel) == len(upsamplers) > 0
    assert not ConvertUpsampleConvToSubpixel(max_cost_ratio).apply(rewritten)[1]
    rewritten = rewritten.transform(ConvertUpsampleToDepthToSpace())
    ops = [n.op_type for n in rewritten.graph.node]
    assert "UpsampleNearestNeighbour" not in ops and ops.count("DepthToSpace") == len(upsamplers)
    assert not ConvertUpsampleToDepthToSpace().apply(rewritten)[1]
    x = np.random.default_rng(5).integers(-128, 128, (2, *decoder.get_tensor_shape(decoder.graph.input[0].name)[1:]))
    for z in x:
        feed = {decoder.graph.input[0].name: z[None].astype(np.float32)}
        before = execute_onnx(decoder, feed)[decoder.graph.output[0].name]
        after = execute_onnx(rewritten, {rewritten.graph.input[0].name: feed[decoder.graph.input[0].name]})
        np.testing.assert_array_equal(after[rewritten.graph.output[0].name], before)
