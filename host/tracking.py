"""Multi-face tracking: constant-velocity prediction, IoU + centre-distance cost, optimal assignment.

The paper links boxes by Euclidean distance between consecutive frames; that swaps identities when people
cross. Here every track predicts where its face will be, the cost of pairing a track with a detection is
(1 - IoU) plus the centre distance in units of the track's face size, pairs beyond the gate are forbidden,
and the Hungarian algorithm picks the cheapest pairing of all tracks at once. A track is born tentative
and confirmed after `min_hits` matches; it ends after `max_age` frames without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from host.assignment import min_cost_assignment
from host.faces import Detection

FORBIDDEN = 1e6


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


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

    def predicted(self, frame: int) -> np.ndarray:
        box = self.box.copy()
        box[:2] += self.velocity * (frame - self.last_frame)
        return box

    def matched(self, det: Detection, frame: int, min_hits: int) -> None:
        new = np.asarray(det.box, np.float64)
        dt = max(frame - self.last_frame, 1)
        moved = (new[:2] + new[2:] / 2 - self.box[:2] - self.box[2:] / 2) / dt
        self.velocity = moved if self.hits == 1 else 0.5 * self.velocity + 0.5 * moved
        self.box, self.last_frame, self.hits = new, frame, self.hits + 1
        self.confirmed = self.confirmed or self.hits >= min_hits


@dataclass
class TrackUpdate:
    matched: list[tuple[Track, Detection]]   # every live track seen in this frame (new ones included)
    ended: list[Track]                       # tracks that ended before this frame


class Tracker:
    """Associates each frame's detections with tracks; see the module docstring."""

    def __init__(self, *, min_hits: int = 3, max_age: int = 12, gate: float = 1.5) -> None:
        if min_hits < 1 or max_age < 1 or gate <= 0:
            raise ValueError("min_hits and max_age must be >= 1 and gate > 0")
        self.min_hits, self.max_age, self.gate = min_hits, max_age, gate
        self.tracks: list[Track] = []
        self._next_id = 1

    def cost(self, track: Track, det: Detection, frame: int) -> float:
        p, d = track.predicted(frame), np.asarray(det.box, np.float64)
        overlap = iou(p, d)
        size = np.sqrt(p[2] * p[3])
        dist = np.hypot(*(p[:2] + p[2:] / 2 - d[:2] - d[2:] / 2)) / max(size, 1.0)
        if overlap == 0 and dist > self.gate:
            return FORBIDDEN
        return (1 - overlap) + dist

    def update(self, frame: int, detections: list[Detection]) -> TrackUpdate:
        """Match `detections` of `frame` (frames must increase); tracks unseen for `max_age` frames end."""
        ended = [t for t in self.tracks if frame - t.last_frame > self.max_age]
        live = [t for t in self.tracks if frame - t.last_frame <= self.max_age]
        cost = np.array([[self.cost(t, d, frame) for d in detections] for t in live]).reshape(len(live),
                                                                                              len(detections))
        pairs = [(r, c) for r, c in min_cost_assignment(cost) if cost[r, c] < FORBIDDEN]
        matched = []
        for r, c in pairs:
            live[r].matched(detections[c], frame, self.min_hits)
            matched.append((live[r], detections[c]))
        taken = {c for _, c in pairs}
        for c, det in enumerate(detections):
            if c not in taken:
                track = Track(self._next_id, np.asarray(det.box, np.float64), frame, frame,
                              confirmed=self.min_hits <= 1)
                self._next_id += 1
                live.append(track)
                matched.append((track, det))
        self.tracks = live
        return TrackUpdate(matched, ended)

    def finish(self) -> list[Track]:
        """End every live track (the stream is over)."""
        ended, self.tracks = self.tracks, []
        return ended
