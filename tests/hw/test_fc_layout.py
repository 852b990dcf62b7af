"""PermuteMatMulToNHWC: on small graphs (every parameter kind, patterns it must leave alone) and on the shipped
decoder (FINN's execution before == after == Brevitas, and no shuffle layer left)."""

import numpy as np
import pytest
import qonnx.core.data_layout as layouts
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

from hw.fc_layout import PermuteMatMulToNHWC, nhwc_order

C, H, W, K = 3, 2, 4, 5


def _init(name, array, dtype=TensorProto.FLOAT):
    return helper.make_tensor(name, dtype, array.shape, array.ravel())


def fc_model(thresholds: np.ndarray, *, perm=(0, 2, 3, 1), mul: np.ndarray | None = None) -> ModelWrapper:
    """x (1, K) -> MatMul -> [Mul] -> MultiThreshold -> Reshape (1, C, H, W) -> Transpose(perm) -> y."""
    rng = np.random.default_rng(0)
    n = C * H * W
    nodes = [helper.make_node("MatMul", ["x", "w"], ["a"])]
    inits = [_init("w", rng.integers(-8, 8, (K, n)).astype(np.float32)), _init("t", thresholds.astype(np.float32)),
             _init("shape", np.array([1, C, H, W]), TensorProto.INT64)]
    if mul is not None:
        nodes.append(helper.make_node("Mul", ["a", "m"], ["am"]))
        inits.append(_init("m", mul.astype(np.float32)))
    nodes += [helper.make_node("MultiThreshold", ["am" if mul is not None else "a", "t"], ["q"],
                               domain="qonnx.custom_op.general", out_dtype="UINT4"),
              helper.make_node("Reshape", ["q", "shape"], ["r"]),
              helper.make_node("Transpose", ["r"], ["y"], perm=list(perm))]
    out_shape = [[1, C, H, W][p] for p in perm]
    graph = helper.make_graph(nodes, "fc", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, K])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    model = ModelWrapper(qonnx_make_model(graph)).transform(InferShapes())
    model.set_tensor_datatype("q", DataType["UINT4"])
    return model


def per_neuron_thresholds() -> np.ndarray:
    return np.sort(np.random.default_rng(1).integers(-40, 40, (C * H * W, 15)), axis=1)


def _run(model, x):
    return execute_onnx(model, {"x": x.astype(np.float32)})["y"]


def _inputs(count=20):
    return np.random.default_rng(2).integers(-8, 8, (count, 1, K))


@pytest.mark.parametrize(("thresholds", "mul"), [
    (per_neuron_thresholds(), None),
    (np.arange(15)[None] * 3.0 - 20, None),                       # one threshold row shared by all neurons
    (per_neuron_thresholds(), np.arange(1, C * H * W + 1)[None]),  # a per-neuron scale before the thresholds
    (per_neuron_thresholds(), np.array(0.5)),                      # a scalar scale
], ids=["per-neuron", "shared-row", "per-neuron-mul", "scalar-mul"])
def test_the_fc_emits_nhwc_and_computes_the_same_integers(thresholds, mul):
    model = fc_model(thresholds, mul=mul)
    permuted = model.transform(PermuteMatMulToNHWC())
    assert [n.op_type for n in permuted.graph.node] == [n.op_type for n in model.graph.node if n.op_type != "Transpose"]
    assert permuted.get_tensor_shape("y") == [1, H, W, C]
    assert permuted.get_tensor_layout("y") == layouts.NHWC
    outputs = [(_run(model, x), _run(permuted, x)) for x in _inputs()]
    for before, after in outputs:
        np.testing.assert_array_equal(after, before)
    assert len(np.unique([o for o, _ in outputs])) > 4  # the thresholds are crossed, not all at one code


def test_a_second_application_changes_nothing():
    once, changed = PermuteMatMulToNHWC().apply(fc_model(per_neuron_thresholds()))
    assert changed
    twice, changed = PermuteMatMulToNHWC().apply(once)
    assert not changed and [n.op_type for n in twice.graph.node] == ["MatMul", "MultiThreshold", "Reshape"]


def test_nhwc_order_maps_a_flat_nchw_map_to_a_flat_nhwc_one():
    nchw = np.arange(C * H * W).reshape(C, H, W)
    np.testing.assert_array_equal(nchw.reshape(-1)[nhwc_order(C, H, W)], nchw.transpose(1, 2, 0).reshape(-1))


@pytest.mark.parametrize("break_it", ["other-perm", "shared-matmul-output", "weights-not-constant"])
def test_other_patterns_are_left_alone(break_it):
    if break_it == "other-perm":
        model = fc_model(per_neuron_thresholds(), perm=(0, 3, 2, 1))
    elif break_it == "weights-not-constant":
        model = fc_model(per_neuron_thresholds())
        model.graph.initializer.remove(next(i for i in model.graph.initializer if i.name == "w"))
        model.graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [K, C * H * W]))
    else:
        model = fc_model(per_neuron_thresholds())
        model.graph.node.append(helper.make_node("Relu", ["a"], ["side"]))
        model.graph.output.append(helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, C * H * W]))
    ops = [n.op_type for n in model.graph.node]
    result, changed = PermuteMatMulToNHWC().apply(model)
    assert not changed and [n.op_type for n in result.graph.node] == ops


def test_the_shipped_decoder_loses_its_shuffle_and_keeps_its_integers(tmp_path):
    """The shipped decoder through FINN's front steps: before == after the permutation (FINN's Python execution of
    the streamlined graph), and the generic dataflow graph that follows has no shuffle and equals Brevitas."""
    from hw.build import DEFAULT_CHECKPOINT
    from hw.device import ZCU104
    from hw.execute import execute_dataflow
    from hw.flow import FRONT_STEPS, dataflow_config, run_steps, step_fc_to_nhwc
    from quant.export import export_accelerator, integer_codes
    from quant.qat import load_quant_checkpoint

    decoder = load_quant_checkpoint(DEFAULT_CHECKPOINT).decoder.eval()
    cfg = dataflow_config(tmp_path / "flow", ZCU104)
    at = FRONT_STEPS.index(step_fc_to_nhwc)
    before = run_steps(export_accelerator(decoder, tmp_path / "decoder.onnx"), FRONT_STEPS[:at], cfg, {})
    after = run_steps(before, FRONT_STEPS[at:at + 1], cfg, {})
    assert "Transpose" in [n.op_type for n in before.graph.node]
    generic = run_steps(after, FRONT_STEPS[at + 1:], cfg, {})
    ops = [n.op_type for n in generic.graph.node]
    assert ops[:4] == ["MVAU", "Thresholding", "Reshape", "UpsampleNearestNeighbour"]
    assert not any("Shuffle" in op or op == "Transpose" for op in ops)

    codes = np.clip(np.rint(np.random.default_rng(5).normal(0, 16, (3, 1, 128))), -128, 127)

    def finn_python(graph: ModelWrapper) -> np.ndarray:
        name_in, name_out = graph.graph.input[0].name, graph.graph.output[0].name
        return np.concatenate([execute_onnx(graph, {name_in: z.astype(np.float32)})[name_out] for z in codes])

    brevitas = integer_codes(decoder, codes[:, 0].astype(np.float32))
    np.testing.assert_array_equal(finn_python(after), finn_python(before))
    np.testing.assert_array_equal(finn_python(after).reshape(brevitas.shape), brevitas)
    np.testing.assert_array_equal(execute_dataflow(generic, codes).reshape(brevitas.shape), brevitas)
    assert len(np.unique(brevitas)) > 20
