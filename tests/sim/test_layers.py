import numpy as np
import pytest

from sim.dtypes import IntType
from sim.layers import MatMul, Pad, Threshold, Transpose, Upsample, Window


def test_matmul_picks_the_cheapest_exact_arithmetic():
    small = MatMul(np.full((9, 2), 7, np.int8), IntType.parse("UINT8"), (2,))
    assert small.arithmetic == "float32" and small.bound == 9 * 7 * 255
    wide = MatMul(np.full((300, 1), 2**20, np.int64), IntType.parse("INT16"), (1,))
    assert wide.arithmetic == "float64"
    huge = MatMul(np.full((4, 1), 2**25, np.int64), IntType.parse("INT32"), (1,))
    assert huge.arithmetic == "int64"
    beyond = MatMul(np.full((4, 1), 2**40, np.int64), IntType.parse("INT32"), (1,))
    assert beyond.arithmetic == "object"


@pytest.mark.parametrize("scale,in_type", [(7, "INT8"), (2**20, "INT16"), (2**25, "INT32"), (2**40, "INT32")])
def test_matmul_is_exact_in_every_arithmetic(scale, in_type):
    rng = np.random.default_rng(scale % 97)
    dtype = IntType.parse(in_type)
    w = rng.integers(-scale, scale + 1, (64, 3)).astype(np.int64)
    x = rng.integers(dtype.min, dtype.max + 1, (5, 64))
    x[0] = dtype.min  # extreme rows
    x[1] = dtype.max
    expected = np.array([[sum(int(a) * int(b) for a, b in zip(row, col, strict=True)) for col in w.T] for row in x])
    layer = MatMul(w, dtype, (3,))
    np.testing.assert_array_equal(layer(x), expected)


def test_threshold_counts_thresholds_at_or_below_each_value_per_channel():
    t = np.array([[-3, 0, 4], [10, 10, 12]])
    layer = Threshold(t, act_val=-1)
    x = np.array([[[-100, 9], [-3, 10], [0, 11], [3, 12], [4, 13], [1000, -1000]]])
    expected = np.array([[[0, 0], [1, 2], [2, 2], [2, 3], [3, 3], [3, 0]]]) - 1
    np.testing.assert_array_equal(layer(x), expected)


def test_threshold_with_one_row_shared_by_all_channels():
    layer = Threshold(np.array([[0, 2]]), act_val=0)
    np.testing.assert_array_equal(layer(np.array([[-1, 0, 1, 2, 3]])), [[0, 1, 1, 2, 2]])


def test_descending_thresholds_are_refused():
    with pytest.raises(ValueError, match="ascending"):
        Threshold(np.array([[2, 1]]), act_val=0)


def test_data_movement_layers():
    x = np.arange(2 * 3 * 3 * 2).reshape(2, 3, 3, 2)
    padded = Pad((1, 0, 0, 2))(x)
    assert padded.shape == (2, 4, 5, 2) and padded[:, 0].sum() == 0 and np.array_equal(padded[:, 1:, :3], x)
    windows = Window((2, 2), (1, 1), (1, 1), (2, 2))(x)
    assert windows.shape == (2, 2, 2, 8)
    np.testing.assert_array_equal(windows[0, 1, 0], np.concatenate([x[0, 1, 0], x[0, 1, 1], x[0, 2, 0], x[0, 2, 1]]))
    up = Upsample((2, 2))(x)
    assert up.shape == (2, 6, 6, 2) and np.array_equal(up[:, ::2, ::2], x) and np.array_equal(up[:, 1::2, 1::2], x)
    flat = np.arange(2 * 12).reshape(2, 12)
    moved = Transpose((1, 3, 4), (0, 2, 1), (1, 2, 2, 3))(flat)
    np.testing.assert_array_equal(moved[1].ravel(), flat[1].reshape(3, 4).T.ravel())


def test_threshold_lookup_table_and_sorted_search_agree(monkeypatch):
    import sim.layers

    rng = np.random.default_rng(5)
    t = np.sort(rng.integers(-3000, 3000, (6, 15)), axis=1)
    x = rng.integers(-4000, 4000, (3, 7, 6))
    table = Threshold(t, act_val=-8)
    monkeypatch.setattr(sim.layers, "LOOKUP_MAX", 0)
    search = Threshold(t, act_val=-8)
    assert table._table is not None and search._table is None
    expected = (x[..., None] >= t).sum(-1) - 8
    np.testing.assert_array_equal(table(x), expected)
    np.testing.assert_array_equal(search(x), expected)
