"""Turn FINN's per-accelerator estimate reports into the chip-level figures of one bitstream."""

from __future__ import annotations

from hw.device import RESOURCES, Target


def accelerator_summary(report: dict, target: Target) -> dict:
    """Throughput, bottleneck, latency and resource totals of one accelerator (FINN estimates)."""
    perf = report["performance"]
    return {"fps": target.clock_hz / perf["max_cycles"],
            "max_cycles": perf["max_cycles"], "bottleneck": perf["max_cycles_node_name"],
            "latency_cycles": perf["critical_path_cycles"],
            "resources": {r: report["resources"]["total"].get(r, 0) for r in RESOURCES
                          if r in report["resources"]["total"]}}


def chip_summary(accelerators: dict[str, dict], passes: int, target: Target) -> dict:
    """Both accelerators on one chip: faces/s = min(encoder fps, decoder fps / passes); summed resources.

    FINN estimates neither FIFOs, width converters, DMAs nor the Zynq shell, and FF only for some layers;
    the figures are lower bounds of what Vivado will report.
    """
    estimated = [r for r in RESOURCES if any(r in a["resources"] for a in accelerators.values())]
    used = {r: sum(a["resources"].get(r, 0) for a in accelerators.values()) for r in estimated}
    limits = {r: target.limit(r) for r in RESOURCES}
    return {
        "faces_per_s": min(accelerators["encoder"]["fps"], accelerators["decoder"]["fps"] / passes),
        "decoder_passes": passes,
        "clock_mhz": target.clock_mhz,
        "used": used,
        "fraction_of_device": {r: round(used[r] / target.available[r], 4) for r in estimated},
        "recommended_limit": limits,
        "within_limits": all(used[r] <= limits[r] for r in estimated),
        "not_estimated_by_finn": [r for r in RESOURCES if r not in estimated],
    }
