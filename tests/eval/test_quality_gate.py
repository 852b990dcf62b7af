"""The default score must measure quality: a degradation table on probes never used in its design."""

import numpy as np
import pytest

from eval.probes import probe_crops, probe_images
from eval.quality_eval import degradation_table, features_of
from host.quality import DEFAULT_CROP_SCORE, Reference, quality_scores
from quant.degradations import DEGRADATIONS
from quant.float_backend import FloatBackend
from quant.score import DEFAULT_CHECKPOINT

DESIGN_PROBES = 100  # the first 100 probes were looked at while the scores were designed
GATE_PROBES = 48


@pytest.fixture(scope="module")
def tables(data_dir):
    images = probe_images(data_dir / "lfw-dev")[DESIGN_PROBES:DESIGN_PROBES + GATE_PROBES]
    crops = np.stack([r[0] for r in map(probe_crops, images) if r is not None])
    feats = features_of(FloatBackend(DEFAULT_CHECKPOINT), crops.reshape(-1, 64, 64))
    reference = Reference.load(DEFAULT_CHECKPOINT.parent / "score_reference.json")
    return {v: degradation_table(s.reshape(crops.shape[:2])) for v, s in quality_scores(feats, reference).items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DEGRADATIONS))
def test_default_score_ranks_clean_above_degraded_and_falls_with_severity(tables, name):
    assert tables[DEFAULT_CROP_SCORE][name]["clean_higher"] >= 0.9
    assert tables[DEFAULT_CROP_SCORE][name]["spearman"] <= -0.9


@pytest.mark.slow
def test_the_complexity_correction_alone_rewards_noise(tables):
    assert tables["complexity"]["noise"]["clean_higher"] <= 0.1


@pytest.mark.slow
def test_raw_rp_shows_the_likelihood_bias_toward_simple_images(tables):
    for name in ("blur", "dark", "downscale"):
        assert tables["raw"][name]["clean_higher"] <= 0.1, name
