import cv2
import numpy as np
import pytest

from eval.quality_eval import degradation_table, spearman_rows
from quant.degradations import DEGRADATIONS, LEVELS, REFERENCE_LEVEL, degrade


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    return cv2.GaussianBlur(rng.integers(0, 256, (250, 250, 3), dtype=np.uint8), (0, 0), 1.0)


def _sharpness(rgb):
    return cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()


def test_level_zero_is_the_clean_image_and_bad_levels_are_rejected(image):
    assert degrade(image, "blur", 0) is image
    with pytest.raises(ValueError, match=r"level must be in 0\.\.5, not 6"):
        degrade(image, "blur", 6)


def test_reference_level_is_the_issue_severity():
    assert all(len(severities) == LEVELS for _, severities in DEGRADATIONS.values())
    assert [DEGRADATIONS[n][1][REFERENCE_LEVEL - 1] for n in DEGRADATIONS] == [3.0, 0.35, 20.0, 10, 24]


def test_severity_is_monotone(image):
    blur = [_sharpness(degrade(image, "blur", lv)) for lv in range(6)]
    dark = [degrade(image, "dark", lv).mean() for lv in range(6)]
    noise = [np.abs(degrade(image, "noise", lv, seed=1).astype(int) - image).mean() for lv in range(6)]
    down = [_sharpness(degrade(image, "downscale", lv)) for lv in range(6)]
    assert np.all(np.diff(blur) < 0) and np.all(np.diff(dark) < 0)
    assert np.all(np.diff(noise) > 0) and np.all(np.diff(down) < 0)
    assert degrade(image, "jpeg", 3).shape == image.shape


def test_noise_is_repeatable_per_seed(image):
    np.testing.assert_array_equal(degrade(image, "noise", 2, seed=5), degrade(image, "noise", 2, seed=5))


def test_spearman_rows_handles_monotone_reversed_and_tied_rows():
    rows = np.array([[5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5], [1, 1, 1, 1, 1, 1.0]])
    rho = spearman_rows(rows)
    assert rho[0] == pytest.approx(-1) and rho[1] == pytest.approx(1)
    assert rho[2] == 0


def test_degradation_table_counts_clean_wins_at_the_reference_level():
    scores = np.tile(-np.arange(26.0), (4, 1))  # every degraded copy scores below its clean crop
    scores[0, 1 + REFERENCE_LEVEL - 1] = 100  # one blur win for the degraded copy
    table = degradation_table(scores)
    assert table["blur"]["clean_higher"] == 0.75 and table["noise"]["clean_higher"] == 1.0
    assert table["dark"]["spearman"] == pytest.approx(-1)
