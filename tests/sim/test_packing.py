import numpy as np
import pytest

from sim.dtypes import IntType
from sim.packing import pack, unpack, word_bytes

TYPES = ["UINT8", "INT8", "INT4", "UINT3", "INT13", "UINT1", "INT19"]


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("k", [1, 3, 8, 24])
def test_packing_round_trips(name, k):
    dtype = IntType.parse(name)
    x = np.random.default_rng(k).integers(dtype.min, dtype.max + 1, (2, 5, k))
    packed = pack(x, dtype)
    assert packed.shape == (2, 5, word_bytes(k, dtype)) and packed.dtype == np.uint8
    np.testing.assert_array_equal(unpack(packed, dtype, k), x)


@pytest.mark.parametrize("name", TYPES)
@pytest.mark.parametrize("k", [1, 3, 8, 24])
def test_packing_matches_finns_driver_packing(name, k):
    packing = pytest.importorskip("finn.util.data_packing", reason="finn is a workstation package")
    from qonnx.core.datatype import DataType

    dtype = IntType.parse(name)
    x = np.random.default_rng(k).integers(dtype.min, dtype.max + 1, (2, 5, k))
    packed = pack(x, dtype)
    expected = packing.finnpy_to_packed_bytearray(x.astype(np.float32), DataType[name], reverse_inner=True,
                                                  reverse_endian=True)
    np.testing.assert_array_equal(packed, expected)
    back = packing.packed_bytearray_to_finnpy(packed, DataType[name], (2, 5, k), reverse_inner=True,
                                              reverse_endian=True)
    np.testing.assert_array_equal(back, x)


def test_out_of_range_values_and_wrong_word_sizes_are_refused():
    with pytest.raises(ValueError, match="outside"):
        pack(np.array([[8]]), IntType.parse("INT4"))
    with pytest.raises(ValueError, match="takes 2 bytes"):
        unpack(np.zeros((1, 3), np.uint8), IntType.parse("INT4"), 4)


def test_type_names_parse_like_finns():
    assert (IntType.parse("INT4").min, IntType.parse("INT4").max) == (-8, 7)
    assert (IntType.parse("UINT8").min, IntType.parse("UINT8").max) == (0, 255)
    with pytest.raises(ValueError, match="INTn/UINTn"):
        IntType.parse("FIXED<8,4>")
