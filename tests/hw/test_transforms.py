import json

import numpy as np
import pytest
import qonnx.core.data_layout as layouts
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

from hw.transforms import (
    HOST_TAIL_KEY,
    AbsorbLeakyReluIntoMultiThreshold,
    ExposeReshapeLayoutForResize,
    RemoveIdentityMultiThreshold,
    SetReshapeLayouts,
    StripHostTail,
)


def _model(nodes, inp, out, inits=()) -> ModelWrapper:
    graph = helper.make_graph(nodes, "g", [inp], [out], list(inits))
    model = ModelWrapper(qonnx_make_model(graph))
    return model.transform(InferShapes())


def _value(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _init(name, array):
    return helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.astype(np.float32).ravel())


def _run(model, x):
    return execute_onnx(model, {model.graph.input[0].name: x.astype(np.float32)})[model.graph.output[0].name]


def leaky_threshold_model(alpha: float) -> ModelWrapper:
    thresholds = np.array([[-3.0, -0.5, 0.25], [-1.0, 0.0, 2.0]])  # 2 channels, 3 steps
    nodes = [helper.make_node("LeakyRelu", ["x"], ["h"], alpha=alpha),
             helper.make_node("MultiThreshold", ["h", "t"], ["y"], domain="qonnx.custom_op.general",
                              out_dtype="UINT2")]
    return _model(nodes, _value("x", [1, 2]), _value("y", [1, 2]), [_init("t", thresholds)])


def test_leaky_relu_is_absorbed_exactly_for_a_power_of_two_slope():
    model = leaky_threshold_model(0.125)
    # every threshold and its preimage t / alpha, each side of them, and random values
    edges = np.array([-24.0, -8.0, -4.0, -3.0, -0.5, -1.0, 0.0, 0.25, 2.0])
    xs = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf),
                         np.random.default_rng(0).normal(0, 10, 200)])
    expected = [_run(model, np.array([[x, x]])) for x in xs]
    absorbed = model.transform(AbsorbLeakyReluIntoMultiThreshold())
    assert [n.op_type for n in absorbed.graph.node] == ["MultiThreshold"]
    np.testing.assert_array_equal([_run(absorbed, np.array([[x, x]])) for x in xs], expected)


def test_leaky_relu_with_an_inexact_slope_is_left_in_place():
    absorbed = leaky_threshold_model(0.1).transform(AbsorbLeakyReluIntoMultiThreshold())
    assert [n.op_type for n in absorbed.graph.node] == ["LeakyRelu", "MultiThreshold"]


def resize_model() -> ModelWrapper:
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("Resize", ["r", "roi", "scales"], ["y"], mode="nearest")]
    inits = [helper.make_tensor("shape", TensorProto.INT64, [4], [1, 3, 2, 2]),
             _init("roi", np.zeros(0)), _init("scales", np.array([1.0, 1.0, 2.0, 2.0]))]
    return _model(nodes, _value("x", [1, 12]), _value("y", [1, 3, 4, 4]), inits)


def test_reshape_before_resize_gets_an_identity_transpose_pair():
    model = resize_model()
    x = np.arange(12.0)[None]
    exposed = model.transform(ExposeReshapeLayoutForResize())
    assert [n.op_type for n in exposed.graph.node] == ["Reshape", "Transpose", "Transpose", "Resize"]
    perms = [list(n.attribute[0].ints) for n in exposed.graph.node if n.op_type == "Transpose"]
    assert perms == [[0, 2, 3, 1], [0, 3, 1, 2]]
    assert exposed.get_tensor_layout(exposed.graph.node[1].output[0]) == layouts.NHWC
    np.testing.assert_array_equal(_run(exposed, x), _run(model, x))


def test_reshape_layout_is_nchw_after_qonnx_layout_inference():
    model = resize_model().transform(ExposeReshapeLayoutForResize()).transform(InferDataLayouts())
    fixed = model.transform(SetReshapeLayouts())
    reshaped = fixed.graph.node[0].output[0]
    assert fixed.get_tensor_layout(reshaped) == layouts.NCHW
    assert fixed.get_tensor_layout(fixed.graph.node[1].output[0]) == layouts.NHWC


def test_output_scale_and_transpose_move_to_the_host():
    scale = np.array([0.5, 0.25]).reshape(1, 2, 1, 1)
    thresholds = np.array([[0.0, 1.0, 2.0], [0.5, 1.5, 2.5]])
    nodes = [helper.make_node("MultiThreshold", ["x", "t"], ["q"], domain="qonnx.custom_op.general",
                              out_dtype="UINT2", data_layout="NHWC"),
             helper.make_node("Transpose", ["q"], ["p"], perm=[0, 3, 1, 2]),
             helper.make_node("Mul", ["p", "s"], ["y"])]
    model = _model(nodes, _value("x", [1, 3, 3, 2]), _value("y", [1, 2, 3, 3]),
                   [_init("t", thresholds), _init("s", scale)])
    model.set_tensor_datatype("q", DataType["UINT2"])
    x = np.random.default_rng(1).uniform(-1, 4, (1, 3, 3, 2))
    expected = _run(model, x)
    stripped = model.transform(StripHostTail())
    assert [n.op_type for n in stripped.graph.node] == ["MultiThreshold"]
    codes = _run(stripped, x)
    assert set(np.unique(codes)) <= {0, 1, 2, 3}
    tail = json.loads(stripped.get_metadata_prop(HOST_TAIL_KEY))
    assert [t["op"] for t in tail] == ["Transpose", "Mul"]
    host = codes.transpose(tail[0]["perm"]) * np.reshape(tail[1]["scale"], tail[1]["shape"])
    np.testing.assert_array_equal(host, expected)


@pytest.mark.parametrize("transform", [AbsorbLeakyReluIntoMultiThreshold, ExposeReshapeLayoutForResize])
def test_transformations_leave_graphs_without_their_pattern_unchanged(transform):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], _value("x", [1, 4]), _value("y", [1, 4]))
    assert [n.op_type for n in model.transform(transform()).graph.node] == ["Relu"]


def _input_threshold_model(thresholds: np.ndarray) -> ModelWrapper:
    nodes = [helper.make_node("MultiThreshold", ["x", "t"], ["q"], domain="qonnx.custom_op.general",
                              out_dtype="UINT8"),
             helper.make_node("Relu", ["q"], ["y"])]
    model = _model(nodes, _value("x", [1, 3]), _value("y", [1, 3]), [_init("t", thresholds)])
    model.set_tensor_datatype("x", DataType["UINT8"])
    model.set_tensor_datatype("q", DataType["UINT8"])
    return model


def test_an_identity_input_quantizer_is_removed():
    model = _input_threshold_model(np.arange(255)[None] + 0.5)  # x >= k + 0.5 counts to x for x in 0..255
    removed = model.transform(RemoveIdentityMultiThreshold())
    assert [n.op_type for n in removed.graph.node] == ["Relu"] and removed.graph.node[0].input[0] == "x"
    for x in ([[0, 1, 254]], [[255, 128, 7]]):
        np.testing.assert_array_equal(_run(removed, np.array(x)), _run(model, np.array(x)))


def test_a_quantizer_that_changes_any_value_is_kept():
    shifted = np.arange(255)[None] + 1.5  # maps 255 to 254
    model = _input_threshold_model(shifted).transform(RemoveIdentityMultiThreshold())
    assert [n.op_type for n in model.graph.node] == ["MultiThreshold", "Relu"]
