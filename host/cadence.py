"""How often the camera program detects and scores, adapted to the time it has (live camera, `--realtime`).

`Cadence` is what the pipeline reads on every frame: detect on a frame at least `detect_every` source frames
after the last detection, score a person's crop on every `score_every`-th detection. `CadenceController`
watches the share of wall time the main loop spends processing frames rather than waiting for the next one,
over windows of `WINDOW` seconds. It starts with score-every at its bound (nothing is known yet of the load; a
burst of new faces to score at the start would cost the frames in which their tracks must be confirmed). Busy
beyond `BEHIND` (the program falls behind: frames are being dropped) raises score-every first (it costs no
person, only choice), then detect-every, one step per window, up to the user's bounds; when the busy share would
stay below `HEADROOM` after one step back (estimated as busy x K / (K - 1)), it lowers detect-every first, then
score-every, never below the user's starting values. A window busy beyond `BEHIND` with both bounds reached counts
in `behind_at_bounds`: the program cannot keep up within its bounds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 0.5      # seconds of wall time per decision
BEHIND = 0.9      # busy share above which the cadence is raised
HEADROOM = 0.7    # busy share that one step back must stay below


@dataclass
class Cadence:
    detect_every: int = 1
    score_every: int = 1


class CadenceController:
    """Adapts `cadence` between its starting values and (`max_detect_every`, `max_score_every`), score-every
    starting at its bound; see above."""

    def __init__(self, cadence: Cadence, max_detect_every: int, max_score_every: int, *,
                 clock: Callable[[], float] = time.perf_counter, window: float = WINDOW) -> None:
        if max_detect_every < cadence.detect_every or max_score_every < cadence.score_every:
            raise ValueError(f"cadence bounds must be at least the starting cadence, not {max_detect_every}, "
                             f"{max_score_every} for {cadence}")
        self.cadence, self.clock, self.window = cadence, clock, window
        self.low = {"score_every": cadence.score_every, "detect_every": cadence.detect_every}
        self.high = {"score_every": max_score_every, "detect_every": max_detect_every}
        cadence.score_every = max_score_every
        self.frames_at: Counter[tuple[int, int]] = Counter()   # frames processed at (detect-every, score-every)
        self.behind_at_bounds = 0   # windows busy beyond BEHIND with both bounds reached: it cannot keep up
        self.busy_seconds = 0.0
        self.began = clock()
        self._start, self._busy = self.began, 0.0

    def record(self, busy: float) -> None:
        """One frame was processed in `busy` seconds (at the current cadence)."""
        self.frames_at[self.cadence.detect_every, self.cadence.score_every] += 1
        self._busy += busy
        self.busy_seconds += busy
        elapsed = self.clock() - self._start
        if elapsed >= self.window:
            self._adapt(self._busy / elapsed)
            self._start, self._busy = self.clock(), 0.0

    def _adapt(self, share: float) -> None:
        if share > BEHIND:
            for name in ("score_every", "detect_every"):
                if getattr(self.cadence, name) < self.high[name]:
                    setattr(self.cadence, name, getattr(self.cadence, name) + 1)
                    return
            self.behind_at_bounds += 1
            return
        for name in ("detect_every", "score_every"):
            k = getattr(self.cadence, name)
            if k > self.low[name]:
                if share * k / (k - 1) < HEADROOM:
                    setattr(self.cadence, name, k - 1)
                return

    def summary(self) -> dict:
        """For the report: frames processed at each cadence, the cadence at the end, the share of the time spent
        processing, and the windows in which the program was behind with nothing left to thin out."""
        elapsed = self.clock() - self.began
        return {"frames_at": [{"detect_every": d, "score_every": s, "frames": n}
                              for (d, s), n in sorted(self.frames_at.items())],
                "final": {"detect_every": self.cadence.detect_every, "score_every": self.cadence.score_every},
                "busy_share": round(self.busy_seconds / elapsed, 3) if elapsed > 0 else None,
                "behind_at_bounds": self.behind_at_bounds}
