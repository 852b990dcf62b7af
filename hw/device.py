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
TARGETS = {t.name: t for t in (ZCU104,)}
