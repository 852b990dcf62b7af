"""The fused convolutions give exactly the integers of FINN's layers run one by one."""

from __future__ import annotations

import numpy as np
import pytest

from sim.dtypes import IntType
from sim.fusion import SubpixelConv, TapSumConv, Thresholded, fused_conv
from sim.layers import MatMul, Pad, Threshold, Upsample, Window


def _conv_layers(rng, h: int, w: int, c: int, out: int, kernel: tuple[int, int], padding: tuple[int, int, int, int],
                 factor: tuple[int, int], weight_range: int, in_type: str):
    """Upsample -> Pad -> Window -> MatMul of a stride-1 convolution, and an input batch with extreme items."""
    dtype = IntType.parse(in_type)
    (kh, kw), (top, left, bottom, right) = kernel, padding
    oh, ow = factor[0] * h + top + bottom - kh + 1, factor[1] * w + left + right - kw + 1
    weights = rng.integers(-weight_range, weight_range + 1, (kh * kw * c, out))
    layers = [Upsample(factor), Pad(padding), Window(kernel, (1, 1), (1, 1), (oh, ow)),
              MatMul(weights, dtype, (oh, ow, out))]
    x = rng.integers(dtype.min, dtype.max + 1, (4, h, w, c))
    x[0], x[1] = dtype.min, dtype.max
    return layers, x


def _layer_by_layer(layers, x):
    for layer in layers:
        x = layer(x)
    return x


@pytest.mark.parametrize("factor,kernel,padding", [((2, 2), (3, 3), (1, 1, 1, 1)), ((2, 2), (3, 3), (2, 0, 0, 2)),
                                                    ((3, 2), (5, 3), (2, 1, 2, 1)), ((2, 2), (2, 2), (0, 0, 1, 1)),
                                                    ((2, 2), (3, 3), (1, 1, 3, 3))])
@pytest.mark.parametrize("weight_range,in_type", [(7, "UINT4"), (2**14, "INT16")])   # float32 and float64 GEMMs
def test_subpixel_convolution_equals_upsample_pad_window_matmul(factor, kernel, padding, weight_range, in_type):
    rng = np.random.default_rng(sum(kernel) + weight_range)
    layers, x = _conv_layers(rng, 5, 6, 3, 4, kernel, padding, factor, weight_range, in_type)
    fused, count = fused_conv(layers, 0, 3)
    assert isinstance(fused, SubpixelConv) and count == 4
    np.testing.assert_array_equal(fused(x), _layer_by_layer(layers, x))


@pytest.mark.parametrize("kernel,padding", [((3, 3), (1, 1, 1, 1)), ((3, 1), (0, 0, 2, 0)), ((5, 5), (2, 2, 2, 2))])
@pytest.mark.parametrize("weight_range,in_type", [(7, "UINT4"), (2**14, "INT16"), (2**40, "INT32")])
def test_tap_sum_convolution_equals_pad_window_matmul(kernel, padding, weight_range, in_type):
    rng = np.random.default_rng(kernel[0] + weight_range % 101)
    layers, x = _conv_layers(rng, 7, 6, 5, 2, kernel, padding, (1, 1), weight_range, in_type)
    fused, count = fused_conv(layers[1:], 0, 5)
    assert isinstance(fused, TapSumConv) and count == 3
    np.testing.assert_array_equal(fused(x), _layer_by_layer(layers[1:], x))


def test_no_fusion_where_it_would_not_pay_or_not_hold():
    rng = np.random.default_rng(0)
    layers, _ = _conv_layers(rng, 6, 6, 3, 8, (3, 3), (1, 1, 1, 1), (1, 1), 7, "UINT4")
    assert fused_conv(layers[1:], 0, 3) is None          # more output than input channels: windows are cheaper
    strided = [Pad((1, 1, 1, 1)), Window((3, 3), (2, 2), (1, 1), (3, 3)),
               MatMul(np.ones((27, 2)), IntType.parse("UINT4"), (3, 3, 2))]
    assert fused_conv(strided, 0, 3) is None             # stride 2
    odd, _ = _conv_layers(rng, 5, 5, 3, 2, (2, 2), (0, 0, 0, 0), (2, 2), 7, "UINT4")
    assert fused_conv(odd, 0, 3) is None                 # 9x9 output: not whole phases of the 5x5 input


@pytest.mark.parametrize("factor", [(2, 2), (1, 1)])   # a sub-pixel and a tap-sum convolution
def test_thresholding_folds_into_the_convolution_where_the_bound_proves_its_range(factor):
    rng = np.random.default_rng(7)
    layers, x = _conv_layers(rng, 5, 5, 6, 3, (3, 3), (1, 1, 1, 1), factor, 7, "UINT4")
    if factor == (1, 1):
        layers = layers[1:]
    bound = layers[-1].bound
    thresholds = np.sort(rng.integers(-bound, bound, (3, 15)), axis=1)
    chain = [*layers, Threshold(thresholds, act_val=0)]
    def types(accumulator: IntType) -> list[IntType]:   # the layers' output types; only the MVAU's matters
        return [*[IntType(False, 4)] * (len(layers) - 1), accumulator, IntType(False, 4)]

    wide, narrow = IntType(True, bound.bit_length() + 1), IntType(True, bound.bit_length() - 1)
    fused, count = fused_conv(chain, 0, 6, types(wide))
    assert isinstance(fused, Thresholded) and count == len(chain)
    np.testing.assert_array_equal(fused(x), _layer_by_layer(chain, x))
    for out_types in (types(narrow), None):   # the range check between them stays
        assert fused_conv(chain, 0, 6, out_types)[1] == len(layers)
