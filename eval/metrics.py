"""Error-versus-reject characteristics (ERC, Grother & Tabassi 2007) and their summaries.

A comparison threshold is fixed first (on impostor scores at a target FMR, or on genuine scores at a
target initial FNMR). Then the fraction r of genuine comparisons with the lowest quality is rejected
and the FNMR of the rest is measured. Ties in quality are broken by a fixed random order, so exactly
floor(r x N) comparisons are rejected at every r, whatever the measure's resolution.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

REPORT_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4)   # FNMR is reported at these rejected fractions
PAUC_LIMITS = (0.2, 0.3)                         # pAUC up to these rejected fractions
GRID = np.linspace(0.0, 0.4, 401)                # the ERC is sampled here (steps of 0.1 %)
TIE_SEED = 12345
BOOTSTRAP_SEED = 2007


def threshold_at_fmr(impostor: np.ndarray, fmr: float) -> float:
    """The lowest comparison score accepting at most `fmr` of the impostor comparisons (accept: score > t)."""
    return float(np.quantile(impostor, 1.0 - fmr, method="higher"))


def threshold_at_fnmr(genuine: np.ndarray, fnmr: float) -> float:
    """The threshold at which `fnmr` of the genuine comparisons are rejected (reject: score <= t)."""
    return float(np.quantile(genuine, fnmr, method="lower"))


def rejection_order(quality: np.ndarray, seed: int = TIE_SEED) -> np.ndarray:
    """Indices from the lowest to the highest quality; ties in a fixed random order."""
    tie = np.random.default_rng(seed).random(len(quality))
    return np.lexsort((tie, quality))


def erc(quality: np.ndarray, genuine: np.ndarray, threshold: float, fractions: np.ndarray = GRID) -> np.ndarray:
    """FNMR of the genuine comparisons kept after rejecting each fraction of the lowest-quality ones."""
    if quality.shape != genuine.shape:
        raise ValueError(f"one quality per genuine comparison: {quality.shape} != {genuine.shape}")
    errors = (genuine <= threshold)[rejection_order(quality)]
    # errors among the kept = errors in total - errors among the rejected (a prefix of the order)
    prefix = np.concatenate([[0], np.cumsum(errors)])
    n = len(errors)
    rejected = np.floor(np.asarray(fractions) * n + 1e-9).astype(int)
    kept = n - rejected
    return np.divide(prefix[-1] - prefix[rejected], kept, out=np.zeros(len(kept)), where=kept > 0)


def pauc(curve: np.ndarray, limit: float, fractions: np.ndarray = GRID) -> float:
    """Area under the ERC from 0 to `limit` rejected (trapezoids on the sampled grid)."""
    keep = fractions <= limit + 1e-12
    x, y = fractions[keep], curve[keep]
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def summarise(curve: np.ndarray, fractions: np.ndarray = GRID) -> dict[str, float]:
    """FNMR at the reported rejected fractions and pAUC up to each limit."""
    out = {f"fnmr@{round(r * 100)}%": float(np.interp(r, fractions, curve)) for r in REPORT_FRACTIONS}
    out.update({f"pauc@{round(r * 100)}%": pauc(curve, r, fractions) for r in PAUC_LIMITS})
    return out


def cluster_resamples(groups: np.ndarray, resamples: int, seed: int = BOOTSTRAP_SEED) -> Iterator[np.ndarray]:
    """Indices of bootstrap draws of the comparisons, whole groups at a time: the groups (persons) are drawn
    with replacement and each brings all its comparisons (comparisons of one person are not independent)."""
    _, inverse = np.unique(groups, return_inverse=True)
    members = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        pick = rng.integers(len(counts), size=len(counts))
        sizes = counts[pick]
        first = np.cumsum(sizes) - sizes
        yield members[np.arange(sizes.sum()) - np.repeat(first, sizes) + np.repeat(starts[pick], sizes)]


def bootstrap_pauc(qualities: dict[str, np.ndarray], genuine: np.ndarray, threshold: float, groups: np.ndarray,
                   resamples: int, limit: float = PAUC_LIMITS[0]) -> dict[str, np.ndarray]:
    """pAUC(`limit`) of every quality measure on the same cluster-bootstrap draws (so differences between
    measures are paired), at the fixed threshold: (resamples,) per measure."""
    out = {name: np.empty(resamples) for name in qualities}
    for b, idx in enumerate(cluster_resamples(groups, resamples)):
        for name, q in qualities.items():
            out[name][b] = pauc(erc(q[idx], genuine[idx], threshold), limit)
    return out


def pair_quality(qa: np.ndarray, qb: np.ndarray) -> np.ndarray:
    """The quality of a comparison: the lower of its two images' qualities."""
    return np.minimum(qa, qb)


def best_accuracy(scores: np.ndarray, same: np.ndarray) -> float:
    """Verification accuracy at the best single threshold (a sanity check of a recognizer)."""
    order = np.argsort(-scores)
    same = same[order].astype(float)
    # accept the top k: correct = genuine among them + impostors among the rest
    correct = np.concatenate([[0], np.cumsum(same)]) + np.concatenate([[(1 - same).sum()],
                                                                       (1 - same).sum() - np.cumsum(1 - same)])
    return float(correct.max() / len(same))
