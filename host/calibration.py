"""Calibration: fit the score reference on the faces a camera sees (numbers only, never a pixel).

The score's tails are fitted to good faces of the deployment's kind (`host.quality.Reference`). A calibration
run (``python -m host.run --calibrate FILE``) runs the camera pipeline with a `Calibration` in place of the
judge: it computes each crop's score features (`QualityJudge.features`), holds them per track, keeps those of
tracks that end as persons (confirmed and face-like; tentative and false-face tracks are left out), and at the
end fits `Reference.fit(..., robust=True)`, which leaves out the frames beyond `ROBUST_Z` robust sigmas.
Memory is bounded by `FaceSample`. Nothing but the features' numbers is held: no crop, no frame. The per-face
latent means are held in memory only (they are a face's code: only their mean and precision are written).
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from host.atomic import write_atomic
from host.judge import QualityJudge
from host.quality import DETECTION_TERMS, LATENT_TERM, MIN_REFERENCE_CROPS, SCORES, Reference

DEFAULT_FACES = 5000       # faces held at most (~1.1 kB each: 9 numbers and a 128-float latent mean)
FIRST_N = (10, 20, 50, 100, 200)   # sizes of the early fits whose rankings the report compares
REFERENCE_RULE = "the JSON that --calibrate or python -m eval.fit_reference writes"


class FaceSample:
    """The score features of at most `capacity` faces, evenly spread over the stream, each under its track.

    Every `stride`-th face of the stream is collected (at first every one); when `capacity` are held the stride
    doubles and the faces held off the new stride are dropped (about half), so the sample always covers the
    whole stream evenly. A track's faces are pending until it ends: then kept (`end(track, keep=True)`) or
    dropped."""

    def __init__(self, capacity: int) -> None:
        if capacity < 2 * MIN_REFERENCE_CROPS:
            raise ValueError(f"a face sample must hold at least {2 * MIN_REFERENCE_CROPS} faces, not {capacity}")
        self.capacity, self.stride, self.seen = capacity, 1, 0
        self.pending: dict[int, list[tuple[int, int, np.ndarray]]] = {}   # track -> (stream index, track, features)
        self.kept: list[tuple[int, int, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.kept) + sum(map(len, self.pending.values()))

    def add(self, track_id: int, row: np.ndarray) -> None:
        """One scored face's features (a float row) of track `track_id`."""
        index, self.seen = self.seen, self.seen + 1
        if index % self.stride:
            return
        if len(self) >= self.capacity:
            self.stride *= 2
            self.kept = self._thinned(self.kept)
            self.pending = {t: self._thinned(rows) for t, rows in self.pending.items()}
            if index % self.stride:
                return
        self.pending.setdefault(track_id, []).append((index, track_id, row))

    def end(self, track_id: int, keep: bool) -> int:
        """Track `track_id` ended: keep its faces or drop them; how many it had."""
        rows = self.pending.pop(track_id, [])
        if keep:
            self.kept = sorted(self.kept + rows, key=lambda r: r[0])
        return len(rows)

    def rows(self) -> np.ndarray:
        """The kept faces' features in stream order, (N, D) float64."""
        return np.stack([row for *_, row in self.kept]) if self.kept else np.zeros((0, 0))

    def tracks(self) -> np.ndarray:
        """The kept faces' track ids, in stream order (N,)."""
        return np.array([track for _, track, _ in self.kept], dtype=np.int64)

    def _thinned(self, rows: list[tuple[int, int, np.ndarray]]) -> list[tuple[int, int, np.ndarray]]:
        return [r for r in rows if r[0] % self.stride == 0]


class Calibration:
    """Stands in for the camera's judge while it calibrates, and collects the features it computes.

    `score` has the judge's signature: it computes the crops' features with `judge` and returns their raw log RP
    as the score (nothing is kept, so the ranking does not matter). `FrameSelector` then calls `on_score` once
    per crop of that batch, in its order, which files each crop's features under its track, and `on_track_end`
    when a track ends. `fit` fits the reference; `summary` says what it was fitted on."""

    variant = "raw"

    def __init__(self, judge: QualityJudge, capacity: int = DEFAULT_FACES) -> None:
        self.judge = judge
        self.sample = FaceSample(capacity)
        self.layout: list[tuple[str, int]] = []   # (feature, width) of a row
        self._batch: deque[np.ndarray] = deque()
        self.counts = {"faces_scored": 0, "person_tracks": 0, "person_faces": 0, "other_tracks": 0,
                       "other_faces": 0}

    def score(self, crops: np.ndarray, boxes: np.ndarray | None = None, landmarks: np.ndarray | None = None,
              sides: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self._batch:
            raise RuntimeError(f"{len(self._batch)} crop(s) of the last batch were never filed under a track")
        if not len(crops):
            return np.zeros(0), np.zeros(0)
        feats = self.judge.features(crops, boxes, landmarks, sides)
        if not self.layout:
            self.layout = [(k, int(np.prod(v.shape[1:]))) for k, v in sorted(feats.items())]
        self._batch.extend(np.column_stack([feats[k].reshape(len(crops), -1) for k, _ in self.layout]))
        self.counts["faces_scored"] += len(crops)
        return feats["log_rp"], feats["log_rp"]

    def on_score(self, track_id: int, frame: int, score: float, crop: np.ndarray) -> None:
        """`FrameSelector`'s per-crop hook: the next crop of the last batch belongs to `track_id` (the crop's
        pixels are not looked at)."""
        self.sample.add(track_id, self._batch.popleft())

    def on_track_end(self, summary: dict, history: list) -> None:
        """`FrameSelector`'s track-end hook: a person's faces are kept, any other track's dropped."""
        person = bool(summary["confirmed"]) and "dropped" not in summary
        faces = self.sample.end(summary["track_id"], keep=person)
        kind = "person" if person else "other"
        self.counts[f"{kind}_tracks"] += 1
        self.counts[f"{kind}_faces"] += faces

    def features(self, first: int | None = None) -> dict[str, np.ndarray]:
        """The kept faces' features as `Reference.fit` takes them (the `first` ones in stream order)."""
        rows = self.sample.rows()[:first]
        feats, at = {}, 0
        for key, width in self.layout:
            block = rows[:, at:at + width]
            feats[key] = block if key == "mu_z" else block[:, 0]
            at += width
        return feats

    def fit(self) -> Reference:
        """The reference fitted robustly on the kept faces; `ValueError` naming the counts when too few."""
        faces = len(self.sample.kept)
        if faces < MIN_REFERENCE_CROPS:
            raise ValueError(f"--calibrate must see at least {MIN_REFERENCE_CROPS} faces of persons, not {faces} "
                             f"({self._seen()}): run it on a longer stream")
        try:
            return Reference.fit(self.features(), robust=True)
        except ValueError as exc:
            raise ValueError(f"--calibrate must see at least {MIN_REFERENCE_CROPS} typical faces of persons, not "
                             f"{faces} faces with too few typical ones ({exc}; {self._seen()}): run it on a longer "
                             "stream") from None

    def summary(self, reference: Reference) -> dict:
        """What `reference` was fitted on, and how its ranking of the kept faces (the judge's variant) agrees with
        the judge's own reference's (Spearman, and the share of person tracks whose best face is the same) and
        with fits on only the first faces (Spearman)."""
        feats = self.features()
        held = len(self.sample.kept)
        ranking = SCORES[self.judge.variant]
        full, theirs = ranking(feats, reference), ranking(feats, self.judge.reference)
        tracks = self.sample.tracks()
        same = [np.argmax(np.where(tracks == t, full, -np.inf)) == np.argmax(np.where(tracks == t, theirs, -np.inf))
                for t in np.unique(tracks)]
        early = {}
        for n in (*(n for n in FIRST_N if n < held), held):
            try:
                part = ranking(feats, Reference.fit(self.features(n), robust=True))
            except ValueError:   # too few typical faces among the first n
                continue
            early[str(n)] = {"vs_full": spearman(part, full), "vs_judge_reference": spearman(part, theirs)}
        return {**self.counts, "faces_held": held, "stride": self.sample.stride, "faces_fitted": reference.crops,
                "terms": sorted(reference.terms), "variant": self.judge.variant,
                "spearman_vs_judge_reference": spearman(full, theirs),
                "same_best_face_vs_judge_reference": float(np.mean(same)) if same else None, "first_n": early}

    def _seen(self) -> str:
        c = self.counts
        return (f"{c['faces_scored']} faces scored; {c['person_faces']} of {c['person_tracks']} person track(s), "
                f"{c['other_faces']} of {c['other_tracks']} other track(s) left out")


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation of two score vectors (average ranks for ties); None below 3 values."""
    if len(a) < 3:
        return None
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    r = np.corrcoef(ra, rb)[0, 1]
    return None if math.isnan(r) else float(r)


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=np.float64)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def write_reference(path: Path, reference: Reference) -> None:
    """`reference` as JSON at `path`, atomically (the format `Reference.save` writes)."""
    write_atomic(path, json.dumps(asdict(reference), indent=1).encode())


def read_reference(path: Path) -> Reference:
    """A score reference file, checked; `ValueError` says why it is not one."""
    path = Path(path)
    if path.is_dir():
        raise ValueError("a folder")
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ValueError("not found") from None
    except OSError as exc:
        raise ValueError(exc.strerror) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    names = {f.name for f in fields(Reference)}
    if not isinstance(data, dict) or not {"mean", "cov", "crops"} <= data.keys() or not data.keys() <= names:
        raise ValueError(f"it must hold the fields {', '.join(sorted(names))} and no other")
    try:
        reference = Reference(**data)
        mean, cov = np.array(reference.mean, dtype=np.float64), np.array(reference.cov, dtype=np.float64)
        terms = {k: np.array(v, dtype=np.float64) for k, v in reference.terms.items()}
        latent = np.array(reference.latent_mean, dtype=np.float64)
        precision = np.array(reference.latent_precision, dtype=np.float64)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"malformed: {exc}") from None
    known = (*DETECTION_TERMS, LATENT_TERM)
    checks = [
        (mean.shape == (2,) and cov.shape == (2, 2), "mean must be 2 numbers and cov 2x2"),
        (np.isfinite(mean).all() and np.isfinite(cov).all() and (np.diag(cov) > 0).all(),
         "mean and cov must be finite with a positive diagonal"),
        (isinstance(reference.crops, int) and reference.crops >= MIN_REFERENCE_CROPS,
         f"crops must be at least {MIN_REFERENCE_CROPS}"),
        (all(k in known and v.shape == (2,) and np.isfinite(v).all() and v[1] > 0 for k, v in terms.items()),
         f"terms must map some of {', '.join(known)} to [centre, scale > 0]"),
        ((LATENT_TERM in terms) == bool(latent.size) and precision.shape == (latent.size,) * (2 if latent.size else 1)
         and np.isfinite(precision).all(), "latent_mean (D) and latent_precision (D x D) must go with latent_distance"),
    ]
    for ok, rule in checks:
        if not ok:
            raise ValueError(rule)
    return reference
