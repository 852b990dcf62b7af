"""Evaluation conditions: clean images as read, or each degraded by a kind and level drawn from its name."""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
from skimage import data

from eval.conditions import CLEAN, DEGRADED, drawn_degradation
from host.faces import read_rgb
from quant.degradations import DEGRADATIONS, LEVELS, degrade


def test_the_draw_depends_only_on_the_file_name_and_covers_every_kind_and_level():
    assert drawn_degradation("/a/Ann_0001.jpg") == drawn_degradation("/elsewhere/Ann_0001.jpg")
    draws = [drawn_degradation(f"P_{i:04d}.jpg")[:2] for i in range(3000)]
    kinds, levels = Counter(k for k, _ in draws), Counter(v for _, v in draws)
    assert set(kinds) == set(DEGRADATIONS) and set(levels) == set(range(LEVELS + 1))
    assert max(kinds.values()) < 1.2 * 3000 / len(DEGRADATIONS)              # uniform
    assert max(levels.values()) < 1.2 * 3000 / (LEVELS + 1)


def test_clean_reads_the_image_and_degraded_applies_its_drawn_degradation(tmp_path):
    rgb = np.ascontiguousarray(data.astronaut()[:250, :250])
    for i in range(40):                                                       # a name with a visible level
        path = tmp_path / f"Astronaut_{i:04d}.jpg"
        if drawn_degradation(path)[1] >= 2:
            break
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    stored = read_rgb(path)
    assert np.array_equal(CLEAN.load(path), stored) and CLEAN.key == []
    kind, level, seed = drawn_degradation(path)
    shown = DEGRADED.load(path)
    assert np.array_equal(shown, degrade(stored, kind, level, seed)) and not np.array_equal(shown, stored)
    assert DEGRADED.key and DEGRADED.key != CLEAN.key
