"""Two corrections to FINN's resource estimates of MVAU_rtl (finn-plus 1.6.1), used by the folding search and
the estimate reports alike.

- DSPs: FINN counts ceil(PE / 4) x SIMD DSP48E2 slices, the packing of 4-bit weights. Its RTL (`mvu.sv`) packs
  NUM_LANES = 1 + (27 - 1 - W) // (W + A - 1) products into one slice (W, A: weight and activation bits; the
  - 1 for weights that are not narrow-range): 4 for W4A4, but 3 for the sub-pixel decoder's 5- and 6-bit
  summed weights. The count here is ceil(PE / NUM_LANES) x SIMD.
- LUTRAM: FINN estimates 0 LUT for an MVAU_rtl whatever its weight memory, so a search would see LUTRAM
  weights as free. Here they cost what FINN charges its HLS MVAU for them: PE x SIMD x W x ceil(WMEM / 64).
"""

from __future__ import annotations

import math

from finn.util.basic import get_dsp_block

DSP48_A_WIDTH = 27  # width of the DSP48E2's A:D pre-adder path that mvu.sv packs the weights into


def dsp_lanes(inst, fpgapart: str) -> int | None:
    """Products per DSP48E2 slice of an MVAU_rtl (mvu.sv's NUM_LANES); None for other DSP blocks."""
    if get_dsp_block(fpgapart) != "DSP48E2":
        return None
    w, a = inst.get_input_datatype(1).bitwidth(), inst.get_input_datatype(0).bitwidth()
    return 1 if w == DSP48_A_WIDTH else 1 + (DSP48_A_WIDTH - 1 - w) // (w + a - 1)


def mvau_rtl_resources(inst, fpgapart: str) -> dict[str, float]:
    """The corrected DSP and LUT figures of one MVAU_rtl (other resources: FINN's own)."""
    lanes = dsp_lanes(inst, fpgapart)
    pe, simd = inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
    dsp = inst.dsp_estimation(fpgapart) if lanes is None else math.ceil(pe / lanes) * simd
    lut = inst.lut_estimation(fpgapart)
    if inst.get_nodeattr("ram_style") == "distributed":
        lut += pe * simd * inst.get_input_datatype(1).bitwidth() * math.ceil(inst.calc_wmem() / 64)
    return {"LUT": lut, "DSP": dsp}


def node_resources(inst, fpgapart: str) -> dict[str, float]:
    """FINN's estimates of one layer, with the MVAU_rtl corrections above."""
    res = {"LUT": inst.lut_estimation(fpgapart), "BRAM_18K": inst.bram_estimation(fpgapart),
           "URAM": inst.uram_estimation(fpgapart), "DSP": inst.dsp_estimation(fpgapart)}
    if inst.onnx_node.op_type == "MVAU_rtl":
        res.update(mvau_rtl_resources(inst, fpgapart))
    return res


def correct_report(model, resources: dict, fpgapart: str) -> list[str]:
    """Apply the corrections to FINN's per-layer resource report (and its total) in place; the changed layers."""
    from qonnx.custom_op.registry import getCustomOp

    changed = []
    for node in model.graph.node:
        if node.op_type != "MVAU_rtl" or node.name not in resources:
            continue
        entry = resources[node.name]
        for key, value in mvau_rtl_resources(getCustomOp(node), fpgapart).items():
            if entry.get(key, 0) != value:
                resources["total"][key] = resources["total"].get(key, 0) + value - entry.get(key, 0)
                entry[key] = value
                changed.append(node.name)
    return sorted(set(changed))
