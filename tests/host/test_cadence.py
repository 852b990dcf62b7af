"""The real-time cadence: thinned out while the program falls behind, within bounds, restored with headroom."""

from __future__ import annotations

import pytest

from host.cadence import Cadence, CadenceController


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(controller: CadenceController, clock: Clock, seconds: float, busy_share: float, frame: float = 0.04) -> None:
    """`seconds` of frames `frame` s apart, each processed in `busy_share` of that."""
    for _ in range(round(seconds / frame)):
        clock.now += frame
        controller.record(busy_share * frame)


def test_it_starts_scoring_at_its_bound_and_detecting_at_the_start():
    cadence = Cadence(2, 1)
    controller = CadenceController(cadence, 3, 8, clock=Clock())
    assert (cadence.detect_every, cadence.score_every) == (2, 8) and controller.low["score_every"] == 1


def test_behind_raises_score_every_then_detect_every_up_to_the_bounds():
    clock = Clock()
    cadence = Cadence(1, 2)
    controller = CadenceController(cadence, 3, 4, clock=clock, window=0.99)
    cadence.score_every = 2   # as if lowered to its start while there was headroom
    seen = []
    for _ in range(6):
        run(controller, clock, 1.0, 1.0)
        seen.append((cadence.detect_every, cadence.score_every))
    assert seen == [(1, 3), (1, 4), (2, 4), (3, 4), (3, 4), (3, 4)]
    summary = controller.summary()
    assert summary["behind_at_bounds"] == 2 and summary["final"] == {"detect_every": 3, "score_every": 4}
    assert sum(r["frames"] for r in summary["frames_at"]) == 150 and summary["busy_share"] == pytest.approx(1.0)


def test_headroom_lowers_detect_every_first_never_below_the_start():
    clock = Clock()
    cadence = Cadence(1, 1)
    controller = CadenceController(cadence, 3, 4, clock=clock, window=0.99)
    run(controller, clock, 5.0, 1.0)
    assert (cadence.detect_every, cadence.score_every) == (3, 4)
    run(controller, clock, 1.0, 0.6)                           # 0.6 x 3 / 2 = 0.9: one step back would be behind
    assert (cadence.detect_every, cadence.score_every) == (3, 4)
    seen = []
    for _ in range(6):
        run(controller, clock, 1.0, 0.2)
        seen.append((cadence.detect_every, cadence.score_every))
    assert seen == [(2, 4), (1, 4), (1, 3), (1, 2), (1, 1), (1, 1)]


def test_bounds_below_the_start_are_refused():
    with pytest.raises(ValueError, match="cadence bounds must be at least the starting cadence"):
        CadenceController(Cadence(2, 1), 1, 1)
