import numpy as np
import pytest

from hw.device import RESOURCES, ZCU104
from hw.estimates import accelerator_summary, chip_summary
from hw.execute import execute_dataflow
from hw.flow import dataflow_config, estimate, specialize_and_fold
from hw.folding import Folding, search_folding
from hw.merge import merge_accelerators

CYCLES = {"encoder": int(ZCU104.clock_hz / 1000), "decoder": int(ZCU104.clock_hz / 10000)}


def test_zcu104_figures_are_finns():
    from finn.util.platforms import DEFAULT_RES_LIMITS, platforms

    assert platforms["ZCU104"]().compute_resources[0] == [ZCU104.available[r] for r in RESOURCES]
    assert list(DEFAULT_RES_LIMITS) == [ZCU104.limit_fraction[r] for r in RESOURCES]


def test_generic_graphs_are_all_hardware_layers(tiny_generic):
    ops = {n.op_type for m in tiny_generic.values() for n in m.graph.node}
    assert {"MVAU", "Thresholding", "ConvolutionInputGenerator", "UpsampleNearestNeighbour"} <= ops
    assert not ops & {"LeakyRelu", "Resize", "Mul", "Transpose"}


@pytest.fixture(scope="module")
def foldings(tiny_generic):
    return {macs: search_folding(tiny_generic, CYCLES, ZCU104, macs) for macs in ("dsp", "lut", "mixed")}


def _finished(tiny_generic, folding, tmp_path):
    out = {}
    for name, generic in tiny_generic.items():
        cfg = dataflow_config(tmp_path / name, ZCU104)
        model = specialize_and_fold(generic, folding[name], cfg, {})
        report = estimate(model, cfg)
        out[name] = (model, accelerator_summary(report, ZCU104), report["cycles"])
    return out


def test_dsp_and_lut_policies_put_every_mvau_where_asked(foldings):
    assert set(foldings["dsp"]["decoder"].impl.values()) == {"rtl"}
    assert set(foldings["lut"]["decoder"].impl.values()) == {"hls"}


def test_mixed_folding_meets_the_rate_and_peaks_no_higher_than_either_pure_policy(foldings, tiny_generic, tmp_path):
    peaks = {}
    for macs, folding in foldings.items():
        finished = _finished(tiny_generic, folding, tmp_path / macs)
        chip = chip_summary({k: v[1] for k, v in finished.items()}, 10, ZCU104)
        peaks[macs] = max(chip["used"][r] / ZCU104.limit(r) for r in ("LUT", "BRAM_18K", "URAM", "DSP"))
        for name, (_, _, cycles) in finished.items():
            mvau_cycles = [c for node, c in cycles.items() if node.startswith("MVAU")]
            assert mvau_cycles and max(mvau_cycles) <= CYCLES[name], (macs, name)
        assert chip["within_limits"]
    assert peaks["mixed"] <= min(peaks["dsp"], peaks["lut"]) + 1e-9


def test_folding_round_trips_through_json_and_names_are_checked(foldings, tiny_generic, tmp_path):
    folding = foldings["mixed"]["encoder"]
    assert Folding.from_dict(folding.to_dict()) == folding
    wrong = Folding({**folding.impl, "MVAU_99": "rtl"}, folding.nodes)
    with pytest.raises(ValueError, match="MVAU_99"):
        specialize_and_fold(tiny_generic["encoder"], wrong, dataflow_config(tmp_path, ZCU104), {})


def test_merged_graph_runs_both_accelerators_side_by_side(foldings, tiny_generic, tmp_path):
    finished = {k: v[0] for k, v in _finished(tiny_generic, foldings["mixed"], tmp_path).items()}
    merged = merge_accelerators(finished)
    assert [i.name for i in merged.graph.input] == ["encoder_global_in", "decoder_global_in"]
    from finn.core.onnx_exec import execute_onnx

    from hw.execute import generic_view

    rng = np.random.default_rng(0)
    x, z = rng.integers(0, 256, (1, 64, 64, 1)), rng.integers(-128, 128, (1, 8))
    out = execute_onnx(generic_view(merged), {"encoder_global_in": x.astype(np.float32),
                                              "decoder_global_in": z.astype(np.float32)})
    np.testing.assert_array_equal(out["encoder_global_out"], execute_dataflow(finished["encoder"], x))
    np.testing.assert_array_equal(out["decoder_global_out"], execute_dataflow(finished["decoder"], z))


# the shipped decoder's non-MVAU parallelism before its widths were aligned (folding of 2026-11-30 morning)
UNALIGNED = {"ConvolutionInputGenerator_rtl_0": {"SIMD": 6, "parallel_window": 0},
             "ConvolutionInputGenerator_rtl_1": {"SIMD": 12, "parallel_window": 0},
             "Thresholding_rtl_3": {"PE": 2}, "DepthToSpace_rtl_2": {"SIMD": 2}, "FMPadding_rtl_3": {"SIMD": 2},
             "ConvolutionInputGenerator_rtl_3": {"SIMD": 6, "parallel_window": 0}, "Thresholding_rtl_4": {"PE": 3},
             "DepthToSpace_rtl_3": {"SIMD": 3}, "FMPadding_rtl_4": {"SIMD": 3},
             "ConvolutionInputGenerator_rtl_4": {"SIMD": 12, "parallel_window": 0}, "Thresholding_rtl_5": {"PE": 12}}


def test_stream_widths_aligned_without_slowing_any_layer():
    """The shipped decoder as folded before had width converters with non-integer ratios (6 -> 16 values: the
    decoder's slowest layer in Verilator); aligning raises non-MVAU parallelism only (no layer slower, every
    MVAU untouched) and leaves no misfit (the last threshold layer is raised to 96 so that both the MVAU's 32
    and the depth-to-space layer's 12 divide it)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp

    from hw.folding import align_stream_widths, stream_fits
    from tests.conftest import BUILD

    def unaligned() -> ModelWrapper:
        model = ModelWrapper(str(BUILD / "decoder.onnx"))
        for name, attrs in UNALIGNED.items():
            for k, v in attrs.items():
                getCustomOp(model.get_node_from_name(name)).set_nodeattr(k, v)
        return model

    before, after = unaligned(), align_stream_widths(unaligned())
    assert len([n for n in before.graph.node if not all(stream_fits(before, n))]) == 11
    assert [n.name for n in after.graph.node if not all(stream_fits(after, n))] == []
    assert getCustomOp(after.get_node_from_name("Thresholding_rtl_5")).get_nodeattr("PE") == 96
    for b, a in zip(before.graph.node, after.graph.node, strict=True):
        ib, ia = getCustomOp(b), getCustomOp(a)
        assert ia.get_exp_cycles() <= ib.get_exp_cycles(), a.name
        if a.op_type.startswith("MVAU"):
            assert (ia.get_nodeattr("PE"), ia.get_nodeattr("SIMD")) == (ib.get_nodeattr("PE"), ib.get_nodeattr("SIMD"))
