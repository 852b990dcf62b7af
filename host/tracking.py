"""Multi-face tracking: constant-velocity prediction, IoU + centre-distance + appearance cost, optimal assignment.

The paper links boxes by Euclidean distance between consecutive frames; that swaps identities when people
cross. Here every track predicts where its face will be; the geometric cost of pairing a track with a
detection is (1 - IoU) plus the centre distance in units of the track's face size, against the predicted
box or the last seen one, whichever is closer (a wrong velocity never loses a face that stayed put); pairs
beyond the gate are forbidden. Given appearance descriptors (host/appearance.py), the cost adds
`APPEARANCE_WEIGHT` x their distance, and a pair that looks unlike beyond `APPEARANCE_GATE` is forbidden
however close: position alone cannot glue two people together, the detection starts a new track. The
Hungarian algorithm picks the cheapest pairing of all tracks at once. Two detections of one face (boxes that
overlap by more than `DUPLICATE_OVERLAP` of the smaller) count once, the more confident; two live tracks
whose boxes (predicted where unseen) overlap by IoU > `DUPLICATE_IOU` on `DUPLICATE_UPDATES` detection frames in a
row, do not look unlike and were never both seen on one frame (two people crossing were), are one face: the
younger is merged into the older. A track is born tentative and
confirmed after `min_hits` matches; it ends after `max_age` frames without one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from host.appearance import blend, distance
from host.assignment import min_cost_assignment
from host.facelike import is_facelike
from host.faces import Detection
from host.pose import SIZE_LAG, box_side

FORBIDDEN = 1e6
APPEARANCE_WEIGHT = 3.0   # cost per unit of appearance distance (geometric costs of a match: 0 .. 1 + gate)
APPEARANCE_GATE = 0.15    # appearance distance beyond which a pair is forbidden (docs/camera.md: tracks of one
                          # face first split at 0.07 on the real clips)
APPEARANCE_RATE = 0.3     # share of each new detection in a track's running descriptor
DUPLICATE_OVERLAP = 0.5   # intersection / smaller box above which two detections are one face
DUPLICATE_IOU = 0.5       # IoU of two live tracks' boxes above which ...
DUPLICATE_UPDATES = 3     # ... on this many detection frames in a row they are one face


def _intersection(a, b) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    inter = _intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def distinct(detections: list[Detection]) -> list[int]:
    """Indices of the detections that remain when each one overlapping a more confident one by more than
    `DUPLICATE_OVERLAP` of the smaller box is dropped (MTCNN's own suppression leaves some such pairs)."""
    kept: list[int] = []
    for i in sorted(range(len(detections)), key=lambda i: -detections[i].confidence):
        a = detections[i].box
        if all(_intersection(a, b) <= DUPLICATE_OVERLAP * min(a[2] * a[3], b[2] * b[3])
               for b in (detections[k].box for k in kept)):
            kept.append(i)
    return sorted(kept)


@dataclass
class Track:
    """One person's face over time."""

    id: int
    box: np.ndarray                 # (x, y, w, h) at `last_frame`, or predicted
    first_frame: int
    last_frame: int                 # last frame with a matched detection
    hits: int = 1
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # centre pixels per frame
    confirmed: bool = False
    look: np.ndarray | None = None  # running appearance descriptor (memory only)
    facelike: int = 0               # matched detections that look like a face (host/facelike.py)
    sides: deque[float] = field(default_factory=lambda: deque(maxlen=SIZE_LAG + 1))  # latest box sides, last last

    def predicted(self, frame: int) -> np.ndarray:
        box = self.box.copy()
        box[:2] += self.velocity * (frame - self.last_frame)
        return box

    def matched(self, det: Detection, frame: int, min_hits: int, look: np.ndarray | None) -> None:
        new = np.asarray(det.box, np.float64)
        dt = max(frame - self.last_frame, 1)
        moved = (new[:2] + new[2:] / 2 - self.box[:2] - self.box[2:] / 2) / dt
        self.velocity = moved if self.hits == 1 else 0.5 * self.velocity + 0.5 * moved
        self.box, self.last_frame, self.hits = new, frame, self.hits + 1
        self.sides.append(box_side(new))
        self.confirmed = self.confirmed or self.hits >= min_hits
        self.facelike += is_facelike(det)
        if look is not None:
            self.look = look if self.look is None else blend(self.look, look, APPEARANCE_RATE)

    def absorb(self, younger: Track, min_hits: int) -> None:
        """Take over a duplicate track of the same face: its detections, and its state where it was seen later."""
        self.hits, self.facelike = self.hits + younger.hits, self.facelike + younger.facelike
        self.first_frame = min(self.first_frame, younger.first_frame)
        if younger.last_frame > self.last_frame:
            self.box, self.last_frame, self.velocity = younger.box, younger.last_frame, younger.velocity
            self.sides = younger.sides
            self.look = younger.look if younger.look is not None else self.look
        self.confirmed = self.confirmed or younger.confirmed or self.hits >= min_hits


@dataclass
class TrackUpdate:
    matched: list[tuple[Track, Detection]]   # every live track seen in this frame (new ones included)
    ended: list[Track]                       # tracks that ended before this frame
    merged: list[tuple[Track, Track]] = field(default_factory=list)   # (older, younger merged into it)


class Tracker:
    """Associates each frame's detections with tracks; see the module docstring."""

    def __init__(self, *, min_hits: int = 3, max_age: int = 12, gate: float = 1.5) -> None:
        if min_hits < 1 or max_age < 1 or gate <= 0:
            raise ValueError("min_hits and max_age must be >= 1 and gate > 0")
        self.min_hits, self.max_age, self.gate = min_hits, max_age, gate
        self.tracks: list[Track] = []
        self._next_id = 1
        self._overlapping: dict[tuple[int, int], int] = {}   # (older id, younger id): detection frames in a row
        self._apart: set[tuple[int, int]] = set()              # (older id, younger id) once both seen on one frame

    def geometric_cost(self, box: np.ndarray, det: Detection) -> float:
        d = np.asarray(det.box, np.float64)
        overlap = iou(box, d)
        size = np.sqrt(box[2] * box[3])
        dist = np.hypot(*(box[:2] + box[2:] / 2 - d[:2] - d[2:] / 2)) / max(size, 1.0)
        if overlap == 0 and dist > self.gate:
            return FORBIDDEN
        return (1 - overlap) + dist

    def cost(self, track: Track, det: Detection, frame: int, look: np.ndarray | None = None) -> float:
        cost = min(self.geometric_cost(track.predicted(frame), det), self.geometric_cost(track.box, det))
        if cost >= FORBIDDEN or look is None or track.look is None:
            return cost
        unlike = distance(track.look, look)
        return FORBIDDEN if unlike > APPEARANCE_GATE else cost + APPEARANCE_WEIGHT * unlike

    def update(self, frame: int, detections: list[Detection],
               looks: list[np.ndarray] | None = None) -> TrackUpdate:
        """Match `detections` of `frame` (frames must increase), with their appearance descriptors if given;
        tracks unseen for `max_age` frames end."""
        keep = distinct(detections)
        detections = [detections[i] for i in keep]
        looks = [looks[i] for i in keep] if looks is not None else [None] * len(detections)
        ended = [t for t in self.tracks if frame - t.last_frame > self.max_age]
        live = [t for t in self.tracks if frame - t.last_frame <= self.max_age]
        cost = np.array([[self.cost(t, d, frame, k) for d, k in zip(detections, looks, strict=True)]
                         for t in live]).reshape(len(live), len(detections))
        pairs = [(r, c) for r, c in min_cost_assignment(cost) if cost[r, c] < FORBIDDEN]
        taken = {c for _, c in pairs}
        for c in range(len(detections)):
            if c not in taken:
                live.append(Track(self._next_id, np.asarray(detections[c].box, np.float64), frame, frame, hits=0))
                self._next_id += 1
                pairs.append((len(live) - 1, c))
        for r, c in pairs:
            live[r].matched(detections[c], frame, self.min_hits, looks[c])
        seen = sorted(live[r].id for r, _ in pairs)
        self._apart |= {(a, b) for i, a in enumerate(seen) for b in seen[i + 1:]}
        merged = self._merge_duplicates(live, frame)
        self.tracks = [t for t in live if all(t is not young for _, young in merged)]
        survivor = {young.id: old for old, young in merged}   # (oldest first: a survivor is never merged itself)
        matched = [(survivor.get(live[r].id, live[r]), detections[c]) for r, c in pairs]
        return TrackUpdate(matched, ended, merged)

    def _merge_duplicates(self, live: list[Track], frame: int) -> list[tuple[Track, Track]]:
        """Count, per pair of live tracks (ordered by age), the detection frames in a row on which they overlap;
        merge each pair that reaches `DUPLICATE_UPDATES`, the younger into the older."""
        overlapping, merged, gone = {}, [], set()
        by_age = sorted(live, key=lambda t: t.id)
        for i, old in enumerate(by_age):
            for young in by_age[i + 1:]:
                if old.id in gone or young.id in gone or (old.id, young.id) in self._apart:
                    continue
                alike = old.look is None or young.look is None or distance(old.look, young.look) <= APPEARANCE_GATE
                if not alike or iou(old.predicted(frame), young.predicted(frame)) <= DUPLICATE_IOU:
                    continue
                key = (old.id, young.id)
                overlapping[key] = self._overlapping.get(key, 0) + 1
                if overlapping[key] >= DUPLICATE_UPDATES:
                    old.absorb(young, self.min_hits)
                    merged.append((old, young))
                    gone.add(young.id)
        self._overlapping = {k: n for k, n in overlapping.items() if not gone & set(k)}
        alive = {t.id for t in live} - gone
        self._apart = {k for k in self._apart if set(k) <= alive}
        return merged

    def finish(self) -> list[Track]:
        """End every live track (the stream is over)."""
        ended, self.tracks = self.tracks, []
        return ended
