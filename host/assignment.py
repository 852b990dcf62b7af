"""Minimum-cost assignment (Hungarian algorithm, O(n^3)) in numpy: the board has no scipy guarantee."""

from __future__ import annotations

import numpy as np


def min_cost_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (row, column) of a rectangular cost matrix with minimal total cost; min(rows, cols) pairs."""
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a matrix, not shape {cost.shape}")
    if not np.isfinite(cost).all():
        raise ValueError("cost must be finite (use a large value for forbidden pairs)")
    transposed = cost.shape[0] > cost.shape[1]
    a = cost.T if transposed else cost
    n, m = a.shape
    if n == 0:
        return []
    # Shortest augmenting paths with potentials (rows 1..n, columns 1..m; column 0 is a sentinel).
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    match = np.zeros(m + 1, int)   # match[j]: row assigned to column j (0: none)
    for i in range(1, n + 1):
        match[0], j0 = i, 0
        minv, way, used = np.full(m + 1, np.inf), np.zeros(m + 1, int), np.zeros(m + 1, bool)
        while match[j0]:
            used[j0] = True
            i0 = match[j0]
            free = ~used[1:]
            reduced = a[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[match[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
        while j0:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    pairs = [(int(match[j]) - 1, j - 1) for j in range(1, m + 1) if match[j]]
    return sorted((c, r) for r, c in pairs) if transposed else sorted(pairs)
