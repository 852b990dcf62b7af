"""Tracking: optimal assignment, track birth and death, identities kept when people cross."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from host.assignment import min_cost_assignment
from host.faces import Detection
from host.tracking import Tracker, iou


@pytest.mark.parametrize("seed", range(40))
def test_assignment_is_optimal(seed):
    rng = np.random.default_rng(seed)
    n, m = (int(v) for v in rng.integers(0, 6, 2))
    cost = rng.random((n, m))
    pairs = min_cost_assignment(cost)
    k = min(n, m)
    best = min((sum(cost[r, c] for r, c in zip(rows, cols, strict=True))
                for rows in itertools.combinations(range(n), k) for cols in itertools.permutations(range(m), k)),
               default=0.0)
    assert len(pairs) == k and len({r for r, _ in pairs}) == k and len({c for _, c in pairs}) == k
    assert sum(cost[r, c] for r, c in pairs) == pytest.approx(best)


def test_assignment_prefers_global_optimum_over_greedy():
    # greedy would take (0, 0) = 1 and then be forced into (1, 1) = 100
    assert min_cost_assignment(np.array([[1.0, 2.0], [3.0, 100.0]])) == [(0, 1), (1, 0)]


def test_iou():
    assert iou(np.array([0, 0, 10, 10]), np.array([5, 0, 10, 10])) == pytest.approx(50 / 150)
    assert iou(np.array([0, 0, 10, 10]), np.array([20, 0, 10, 10])) == 0


def det(x: float, y: float, size: float = 40) -> Detection:
    return Detection((x, y, size, size), 0.99)


def test_track_is_confirmed_after_min_hits():
    tracker = Tracker(min_hits=3, max_age=5)
    for f in range(3):
        (track, _), = tracker.update(f, [det(100 + 2 * f, 100)]).matched
        assert track.id == 1 and track.confirmed == (f >= 2)


def test_track_ends_only_after_max_age():
    tracker = Tracker(min_hits=1, max_age=5)
    tracker.update(0, [det(100, 100)])
    assert tracker.update(5, []).ended == [] and len(tracker.tracks) == 1
    ended = tracker.update(6, []).ended
    assert [t.id for t in ended] == [1] and tracker.tracks == []


def test_crossing_people_keep_their_identities():
    """Two faces walk towards each other on the same line, pass with overlapping boxes, and go on."""
    tracker = Tracker(min_hits=2, max_age=3)
    ids = {}
    for f in range(40):
        a, b = det(50 + 10 * f, 200), det(450 - 10 * f, 206)
        update = tracker.update(f, [b, a] if f % 2 else [a, b])
        for track, d in update.matched:
            who = "a" if d is a else "b"
            ids.setdefault(who, track.id)
            assert ids[who] == track.id, f"frame {f}: {who} switched from track {ids[who]} to {track.id}"
    assert len(tracker.tracks) == 2


def test_far_jump_starts_a_new_track():
    tracker = Tracker(min_hits=1, max_age=5)
    tracker.update(0, [det(100, 100)])
    (track, _), = tracker.update(1, [det(600, 400)]).matched
    assert track.id == 2 and len(tracker.tracks) == 2


def look(hue_bin: int) -> np.ndarray:
    """An appearance descriptor with all colour in one hue bin."""
    v = np.zeros(32)
    v[hue_bin * 4 + 2] = 1.0
    return v


def test_close_in_position_but_unlike_in_appearance_starts_a_new_track():
    """One person leaves a spot and another appears in it (an occlusion, no cut): position alone would glue them."""
    tracker = Tracker(min_hits=1, max_age=5)
    tracker.update(0, [det(100, 100)], [look(0)])
    (same, _), = tracker.update(1, [det(101, 100)], [look(0)]).matched
    (other, _), = tracker.update(2, [det(102, 100)], [look(5)]).matched
    assert same.id == 1 and other.id == 2 and len(tracker.tracks) == 2


def test_one_face_detected_twice_gives_one_track():
    tracker = Tracker(min_hits=2, max_age=5)
    for f in range(6):
        twice = [Detection((100 + f, 100, 40, 40), 0.99), Detection((104 + f, 98, 34, 38), 0.9)]
        update = tracker.update(f, twice[::-1] if f % 2 else twice)
        assert [(t.id, d.confidence) for t, d in update.matched] == [(1, 0.99)]


def test_a_track_that_stays_on_another_live_one_is_merged_into_the_older():
    """Track 1 goes unseen and its prediction glides onto track 2, born meanwhile where the face was found
    again: after 3 detection frames on it the two are one face, the younger merged into the older; one that
    looks unlike stays a track of its own."""
    for other, merged in ((look(0), True), (look(5), False)):
        tracker = Tracker(min_hits=2, max_age=12)
        tracker.update(0, [det(100, 100)], [look(0)])
        tracker.update(1, [det(110, 100)], [look(0)])
        merges = []
        for f in range(2, 13):
            merges += [(old.id, young.id) for old, young in tracker.update(f, [det(200, 100)], [other]).merged]
        assert merges == ([(1, 2)] if merged else []) and [t.id for t in tracker.tracks] == ([1] if merged else [1, 2])
        assert tracker.tracks[0].hits == (13 if merged else 2)


def test_two_tracks_once_seen_together_are_never_merged():
    tracker = Tracker(min_hits=2, max_age=12)
    tracker.update(0, [det(100, 100), det(160, 100)], [look(0), look(0)])
    tracker.update(1, [det(100, 100), det(150, 100)], [look(0), look(0)])   # 2 then hides behind 1, coasting onto it
    assert all(tracker.update(f, [det(100, 100)], [look(0)]).merged == [] for f in range(2, 10))
    assert [t.id for t in tracker.tracks] == [1, 2]
