"""The FPGA targets: part, board, clock, resources and FINN's recommended utilisation limits."""

from __future__ import annotations

from dataclasses import dataclass

RESOURCES = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")
ESTIMATED = ("LUT", "BRAM_18K", "URAM", "DSP")  # what FINN's per-layer estimators give (no FF)


@dataclass(frozen=True)
class Target:
    """One board: FINN's device figures and the fraction of each resource a design may use."""

    name: str
    board: str
    part: str
    clock_mhz: float
    available: dict[str, int]
    limit_fraction: dict[str, float]

    @property
    def clock_ns(self) -> float:
        return 1e3 / self.clock_mhz

    @property
    def clock_hz(self) -> float:
        return self.clock_mhz * 1e6

    def limit(self, resource: str) -> float:
        """Recommended maximum use of `resource` (for timing closure)."""
        return self.available[resource] * self.limit_fraction[resource]


# FINN's ZU7EV_Platform figures and DEFAULT_RES_LIMITS (finn/util/platforms.py), 200 MHz as in the issue.
ZCU104 = Target(
    name="zcu104", board="ZCU104", part="xczu7ev-ffvc1156-2-e", clock_mhz=200.0,
    available={"LUT": 230000, "FF": 460000, "BRAM_18K": 610, "URAM": 92, "DSP": 1728},
    limit_fraction={"LUT": 0.7, "FF": 0.5, "BRAM_18K": 0.8, "URAM": 0.8, "DSP": 0.8},
)
# Kria KV260 (K26 SOM): FINN names the board "KV260_SOM" with part xck26-sfvc784-2LV-c (pynq_part_map in
# finn/util/basic.py) but has no platform class with its resources for it; the figures are AMD's for the
# XCK26 (Kria K26 SOM data sheet DS987: 117,120 CLB LUTs, 234,240 FFs, 144 BRAM36 = 288 BRAM18, 64 URAM,
# 1,248 DSP48E2; the same fabric as the ZU5EV) and the limits FINN's DEFAULT_RES_LIMITS, as for the ZCU104.
KV260 = Target(
    name="kv260", board="KV260_SOM", part="xck26-sfvc784-2LV-c", clock_mhz=200.0,
    available={"LUT": 117120, "FF": 234240, "BRAM_18K": 288, "URAM": 64, "DSP": 1248},
    limit_fraction=dict(ZCU104.limit_fraction),
)
TARGETS = {t.name: t for t in (ZCU104, KV260)}
