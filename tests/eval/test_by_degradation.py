"""FNMR by the probe's drawn degradation: grouping, shared clean column, counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.by_degradation import fnmr_by_degradation, markdown
from eval.conditions import drawn_degradation
from eval.lfw import LfwSet
from quant.degradations import DEGRADATIONS, LEVELS


def test_errors_land_in_the_group_of_their_probe():
    images = [("P", n) for n in range(1, 301)]
    data = LfwSet(Path("/nowhere"), images, [], [(images[0], im) for im in images[1:]])
    level = {im: drawn_degradation(data.path(im))[1] for im in images}
    # the reference at the origin; probes of level 5 far away (errors), the others on top of it
    emb = np.array([[3.0, 0.0] if level[im] == 5 and im != images[0] else [0.0, 0.0] for im in images])
    table = fnmr_by_degradation(data, {"rec": emb}, {"rec": -1.0})   # similarity = -distance; error: <= -1
    assert set(table) == {"pairs", "rec"} and set(table["rec"]) == set(DEGRADATIONS)
    clean = sum(level[im] == 0 for im in images[1:])
    for kind in DEGRADATIONS:
        counts, fnmr = table["pairs"][kind], table["rec"][kind]
        assert len(counts) == len(fnmr) == LEVELS + 1 and counts[0] == clean   # the clean column is shared
        assert fnmr[LEVELS] == pytest.approx(1.0) if counts[LEVELS] else fnmr[LEVELS] is None
        assert all(v == 0.0 for v in fnmr[:LEVELS] if v is not None)
    assert clean + sum(sum(c[1:]) for c in table["pairs"].values()) == len(images) - 1
    row = markdown(table).splitlines()[2]
    assert row.startswith("| blur | 0.0 (") and row.endswith(" |")
