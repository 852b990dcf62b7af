"""The selection benchmark's maths: which frame each method keeps, and what the kept frame is worth.

Arrays are per track (P persons, one track each) x frame (T). A frame is a candidate where the detector
found the face. Every method keeps the candidate with its highest score (ties: the earlier frame);
a track without candidates keeps nothing, which counts as a false non-match and a failed identification
for every method. ``random`` is the exact expectation over a uniform pick among the candidates, and
``oracle`` keeps the candidate most similar to the person's gallery image (a bound, per recognizer).
"""

from __future__ import annotations

import numpy as np

from eval.erc import percentiles95
from eval.metrics import cluster_resamples
from eval.recognizers import cross_similarity

RANDOM, ORACLE = "random", "oracle"
NO_PICK = -1


def positional_scores(persons: int, frames: int) -> dict[str, np.ndarray]:
    """``first`` (the earliest candidate) and ``middle`` (the candidate nearest the track's middle), as scores."""
    t = np.broadcast_to(np.arange(frames, dtype=float), (persons, frames))
    return {"first": -t, "middle": -np.abs(t - (frames - 1) / 2)}


def picks(scores: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Per track, the candidate frame with the highest score (ties and NaN scores: the earlier; a NaN never
    beats a number); NO_PICK where a track has no candidate. scores, candidate: (P, T)."""
    s = np.where(candidate, np.nan_to_num(np.asarray(scores, float), nan=-np.inf, posinf=np.inf), -np.inf)
    best = np.argmax(s, axis=1)
    stuck = ~np.isfinite(s[np.arange(len(s)), best]) & candidate.any(axis=1)   # every candidate scored -inf/NaN
    best[stuck] = np.argmax(candidate[stuck], axis=1)
    best[~candidate.any(axis=1)] = NO_PICK
    return best


def frame_outcomes(kept: np.ndarray, gallery: np.ndarray, candidate: np.ndarray, threshold: float
                   ) -> dict[str, np.ndarray]:
    """Per frame (P, T): its comparison score with the own gallery image (``genuine``), whether that is a false
    non-match at `threshold` (``error``: score <= threshold) and whether the own gallery image ranks first
    among the whole gallery (``rank1``); non-candidates are errors and misses. kept: (P, T, D) embeddings,
    gallery: (P, D), row p = person p."""
    persons, frames = candidate.shape
    flat = np.nan_to_num(kept.reshape(persons * frames, -1))
    sims = cross_similarity(flat, gallery).reshape(persons, frames, persons)
    own = np.arange(persons)
    genuine = np.where(candidate, sims[own, :, own], -np.inf)
    return {"genuine": genuine, "error": ~candidate | (genuine <= threshold),
            "rank1": candidate & (np.argmax(sims, axis=2) == own[:, None])}


def person_outcomes(pick: np.ndarray, frame: dict[str, np.ndarray], candidate: np.ndarray) -> dict[str, np.ndarray]:
    """Per person: error (0/1) and rank-1 success (0/1) of the kept frame; a track without a pick fails both."""
    rows = np.arange(len(pick))
    has = pick != NO_PICK
    col = np.where(has, pick, 0)
    return {"error": np.where(has, frame["error"][rows, col], 1.0),
            "rank1": np.where(has, frame["rank1"][rows, col], 0.0)}


def random_outcomes(frame: dict[str, np.ndarray], candidate: np.ndarray) -> dict[str, np.ndarray]:
    """The exact expectation of `person_outcomes` over a uniform pick among each track's candidates."""
    n = candidate.sum(axis=1)
    mean = {k: np.divide((frame[k] & candidate).sum(axis=1), n, out=np.zeros(len(n)), where=n > 0)
            for k in ("error", "rank1")}
    mean["error"] = np.where(n > 0, mean["error"], 1.0)
    return mean


def method_outcomes(scores: dict[str, np.ndarray], frame: dict[str, np.ndarray], candidate: np.ndarray
                    ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """Per-person outcomes of every method (plus RANDOM and ORACLE) and each method's picks."""
    chosen = {name: picks(s, candidate) for name, s in scores.items()}
    chosen[ORACLE] = picks(frame["genuine"], candidate)
    out = {name: person_outcomes(p, frame, candidate) for name, p in chosen.items()}
    out[RANDOM] = random_outcomes(frame, candidate)
    return out, chosen


def gap_closed(fnmr: np.ndarray, random: np.ndarray, oracle: np.ndarray) -> np.ndarray:
    """(FNMR_random - FNMR) / (FNMR_random - FNMR_oracle); NaN where random equals the oracle."""
    gain, span = np.broadcast_arrays(np.asarray(random, float) - fnmr, np.asarray(random, float) - oracle)
    return np.divide(gain, span, out=np.full(np.shape(span), np.nan), where=span != 0)


def summarise(outcomes: dict[str, dict[str, np.ndarray]], default: str, resamples: int) -> dict[str, dict]:
    """Per method: FNMR, rank-1 rate, gap closed; with `resamples` > 0 a person-level bootstrap (the same draws
    for every method) adds 95 % intervals and the share of draws in which `default` has a lower FNMR / a
    higher rank-1 rate than the method (ties are no win)."""
    names = list(outcomes)
    err = np.stack([outcomes[m]["error"] for m in names])
    hit = np.stack([outcomes[m]["rank1"] for m in names])
    fnmr, rank1 = err.mean(axis=1), hit.mean(axis=1)
    i_rand, i_orc, i_def = names.index(RANDOM), names.index(ORACLE), names.index(default)
    gap = gap_closed(fnmr, fnmr[i_rand], fnmr[i_orc])
    out = {m: {"fnmr": float(fnmr[i]), "rank1": float(rank1[i]), "gap_closed": float(gap[i])}
           for i, m in enumerate(names)}
    if resamples:
        draws = list(cluster_resamples(np.arange(err.shape[1]), resamples))
        bf = np.stack([err[:, idx].mean(axis=1) for idx in draws], axis=1)      # (methods, draws)
        br = np.stack([hit[:, idx].mean(axis=1) for idx in draws], axis=1)
        with np.errstate(invalid="ignore"):
            bg = gap_closed(bf, bf[i_rand], bf[i_orc])
        for i, m in enumerate(names):
            g = bg[i][np.isfinite(bg[i])]
            out[m].update({"fnmr_ci95": percentiles95(bf[i]), "rank1_ci95": percentiles95(br[i]),
                           "gap_closed_ci95": percentiles95(g) if len(g) else None,
                           "default_lower_fnmr_share": float(np.mean(bf[i_def] < bf[i])),
                           "default_higher_rank1_share": float(np.mean(br[i_def] > br[i]))})
    return out
