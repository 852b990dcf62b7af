"""What each drawn degradation does to recognition (``eval.erc --degrade``): FNMR by the probe's degradation.

The paper protocol's genuine (reference, probe) pairs are grouped by the probe's drawn kind and level;
each group's FNMR is measured at the recognizer's clean FMR threshold. References are degraded
independently of their probes, which raises every group alike, so the groups compare fairly.
"""

from __future__ import annotations

import numpy as np

from eval.conditions import drawn_degradation
from eval.lfw import LfwSet
from eval.recognizers import similarity
from quant.degradations import DEGRADATIONS, LEVELS


def fnmr_by_degradation(data: LfwSet, emb: dict[str, np.ndarray], thresholds: dict[str, float]) -> dict:
    """result[recognizer][kind] = FNMR at levels 0..LEVELS (level 0, the unchanged images, shared by all
    kinds), with result["pairs"][kind] the number of pairs behind each value."""
    ref, probe = data.probe_rows()
    drawn = [drawn_degradation(data.path(p))[:2] for _, p in data.probes]
    kind = np.array([k for k, _ in drawn])
    level = np.array([v for _, v in drawn])
    groups = {k: [level == 0] + [(kind == k) & (level == v) for v in range(1, LEVELS + 1)] for k in DEGRADATIONS}
    out: dict = {"pairs": {k: [int(g.sum()) for g in gs] for k, gs in groups.items()}}
    for rec, thr in thresholds.items():
        errors = similarity(emb[rec][ref], emb[rec][probe]) <= thr
        out[rec] = {k: [float(errors[g].mean()) if g.any() else None for g in gs] for k, gs in groups.items()}
    return out


def markdown(table: dict) -> str:
    """Rows: kinds; columns: levels 0..LEVELS; cells: FNMR per recognizer in %, then the pair count."""
    recs = [r for r in table if r != "pairs"]
    lines = [f"| kind | {' | '.join(['clean'] + [f'level {v}' for v in range(1, LEVELS + 1)])} |",
             "|---|" + "---|" * (LEVELS + 1)]
    for k, counts in table["pairs"].items():
        cells = [" / ".join("-" if table[r][k][v] is None else f"{100 * table[r][k][v]:.1f}" for r in recs)
                 + f" ({counts[v]})" for v in range(LEVELS + 1)]
        lines.append(f"| {k} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"
