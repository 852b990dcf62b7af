"""hw.mvau_cost: MVAU_rtl DSP packing as mvu.sv computes it, and LUTRAM weights at FINN's HLS price."""

import pytest
from qonnx.core.datatype import DataType

from hw.device import ZCU104
from hw.mvau_cost import dsp_lanes, mvau_rtl_resources


class FakeMVAU:
    """The few MVAU_rtl methods hw.mvau_cost reads."""

    def __init__(self, wbits: int, abits: int, pe: int, simd: int, ram_style: str = "block", wmem: int = 6) -> None:
        self.types = [DataType[f"INT{abits}"], DataType[f"INT{wbits}"]]
        self.attrs = {"PE": pe, "SIMD": simd, "ram_style": ram_style}
        self.wmem = wmem

    def get_input_datatype(self, ind: int = 0) -> DataType:
        return self.types[ind]

    def get_nodeattr(self, name: str):
        return self.attrs[name]

    def calc_wmem(self) -> int:
        return self.wmem

    def lut_estimation(self, part: str) -> int:
        return 0

    def dsp_estimation(self, part: str) -> int:  # FINN's: ceil(PE / 4) * SIMD
        return -(-self.attrs["PE"] // 4) * self.attrs["SIMD"]


@pytest.mark.parametrize(("wbits", "abits", "lanes"), [(4, 4, 4), (5, 4, 3), (6, 4, 3), (8, 8, 2)])
def test_dsp48_lanes_follow_mvu_sv(wbits, abits, lanes):
    assert dsp_lanes(FakeMVAU(wbits, abits, 1, 1), ZCU104.part) == lanes


def test_four_bit_weights_cost_what_finn_says_and_six_bit_ones_more():
    finn = FakeMVAU(4, 4, 12, 8)
    assert mvau_rtl_resources(finn, ZCU104.part)["DSP"] == 24 == finn.dsp_estimation(ZCU104.part)
    assert mvau_rtl_resources(FakeMVAU(6, 4, 12, 8), ZCU104.part)["DSP"] == 32


def test_lutram_weights_are_not_free():
    assert mvau_rtl_resources(FakeMVAU(6, 4, 4, 8, "block"), ZCU104.part)["LUT"] == 0
    assert mvau_rtl_resources(FakeMVAU(6, 4, 4, 8, "distributed", wmem=100), ZCU104.part)["LUT"] == 4 * 8 * 6 * 2
