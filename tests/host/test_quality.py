import numpy as np
import pytest
from scipy.special import log_ndtr

from host.quality import (
    SCORES,
    Reference,
    finest_noise,
    log_normal_cdf,
    missing_for,
    normalise_exposure,
    png_bits,
    quality_scores,
)


def _feats(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return {"log_rp": rng.normal(3000, 300, n), "png_bits": rng.normal(23000, 1000, n),
            "residual_noise": rng.uniform(0.008, 0.012, n), "contrast": rng.uniform(0.18, 0.25, n)}


def _full_feats(n=400, seed=0):
    """Crop features plus latents, pose and size of good faces."""
    rng = np.random.default_rng(seed)
    return {**_feats(n, seed), "mu_z": rng.normal(0, 1, (n, 8)), "yaw": rng.normal(0, 0.1, n),
            "pitch": rng.normal(0.5, 0.08, n), "face_side": rng.normal(4.8, 0.1, n)}


def _typical(n, **changes):
    """n crops with every feature at the good faces' centre, except `changes` (arrays of length n)."""
    base = {"log_rp": 3000.0, "png_bits": 23000.0, "residual_noise": 0.01, "contrast": 0.2,
            "yaw": 0.0, "pitch": 0.5, "face_side": 4.8}
    feats = {k: np.full(n, v) for k, v in base.items()} | {"mu_z": np.zeros((n, 8))}
    return feats | {k: np.asarray(v, dtype=float) for k, v in changes.items()}


def test_log_normal_cdf_matches_scipy_from_the_far_tail_to_the_top():
    z = np.concatenate([np.linspace(-200, -5.0001, 500), np.linspace(-5, 8, 500)])
    np.testing.assert_allclose(log_normal_cdf(z), log_ndtr(z), rtol=2e-6)


def test_finest_noise_recovers_the_sigma_of_white_noise_and_ignores_smooth_content():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64] / 64
    smooth = 0.5 + 0.3 * np.sin(3 * xx) * np.cos(2 * yy)
    noisy = smooth + rng.normal(0, 0.03, (200, 64, 64))
    est = finest_noise(noisy)
    assert abs(est.mean() - 0.03) < 0.002
    assert finest_noise(smooth[None])[0] < 0.002


def test_png_bits_grow_with_image_complexity():
    flat = np.full((1, 64, 64), 128, np.uint8)
    noisy = np.random.default_rng(0).integers(0, 256, (1, 64, 64), dtype=np.uint8)
    assert png_bits(flat)[0] < 1000 < png_bits(noisy)[0]


def test_reference_round_trips_and_needs_enough_crops(tmp_path):
    ref = Reference.fit(_feats())
    ref.save(tmp_path / "ref.json")
    assert Reference.load(tmp_path / "ref.json") == ref
    with pytest.raises(ValueError, match="at least 10 crops, not 3"):
        Reference.fit(_feats(3))
    with pytest.raises(FileNotFoundError, match=r"run python -m eval\.quality_eval"):
        Reference.load(tmp_path / "missing.json")


def test_fisher_score_falls_with_lower_corrected_likelihood_and_with_more_noise():
    ref = Reference.fit(_feats(500))
    base = {k: np.full(3, v) for k, v in {"log_rp": 3000.0, "png_bits": 23000.0,
                                          "residual_noise": 0.01, "contrast": 0.2}.items()}
    simpler = {**base, "png_bits": np.array([23000.0, 21000.0, 19000.0])}
    noisier = {**base, "residual_noise": np.array([0.01, 0.02, 0.04])}
    cleaner = {**base, "residual_noise": np.array([0.01, 0.005, 0.0025])}
    fisher = SCORES["fisher"]
    assert (np.diff(fisher(simpler, ref)) < 0).all()
    assert (np.diff(fisher(noisier, ref)) < 0).all()
    # one-sided: the noise term is never a bonus and saturates for clean crops; more noise costs far more
    likelihood_term = log_normal_cdf(ref.standardised(cleaner)[:, 0])
    assert (fisher(cleaner, ref) <= likelihood_term).all()
    gain = np.diff(fisher(cleaner, ref))
    assert 0 < gain[1] < gain[0]
    loss = fisher(base, ref) - fisher(noisier, ref)
    assert loss[1] > 10 * gain[0]


def test_without_latents_and_detections_only_the_four_base_variants_score():
    scores = quality_scores(_feats(20, seed=1), Reference.fit(_feats()))
    assert set(scores) == {"raw", "complexity", "typicality", "fisher"}
    assert all(s.shape == (20,) and np.isfinite(s).all() for s in scores.values())


def test_with_latents_and_detections_every_variant_scores_every_crop():
    ref = Reference.fit(_full_feats())
    scores = quality_scores(_full_feats(20, seed=1), ref)
    assert set(scores) == set(SCORES) and len(SCORES) == 11
    assert all(s.shape == (20,) and np.isfinite(s).all() for s in scores.values())
    assert missing_for("fisher+pose+size+face", _feats(3), ref) == ["the crops' face_side", "the crops' mu_z",
                                                                   "the crops' pitch",
                                                                   "the crops' yaw"]
    lacking = missing_for("fisher+face", None, Reference.fit(_feats()))
    assert lacking == ["latent_distance statistics in the score reference"]


def test_reference_with_terms_round_trips_and_an_old_reference_still_loads(tmp_path):
    ref = Reference.fit(_full_feats())
    ref.save(tmp_path / "ref.json")
    assert Reference.load(tmp_path / "ref.json") == ref
    assert set(ref.terms) == {"yaw", "pitch", "face_side", "latent_distance"}
    old = tmp_path / "old.json"
    old.write_text('{"mean": [1.0, 2.0], "cov": [[1.0, 0.0], [0.0, 1.0]], "crops": 12}')
    assert Reference.load(old).terms == {}


def test_each_term_only_penalises_worse_than_typical():
    ref = Reference.fit(_full_feats())
    centre = {k: np.full(4, v[0]) for k, v in ref.terms.items() if k != "latent_distance"}
    yaw = ref.terms["yaw"][0] + np.array([0.0, 0.3, -0.6, 1.2])
    profile = SCORES["fisher+pose"](_typical(4, **centre | {"yaw": yaw}), ref)
    assert profile[0] > profile[1] > profile[2] > profile[3]
    assert profile[0] == pytest.approx(SCORES["fisher"](_typical(1), ref)[0])   # a typical pose costs nothing
    size = SCORES["fisher+size"](_typical(4, face_side=[5.6, 4.8, 4.4, 3.5]), ref)
    assert size[0] > size[1] > size[2] > size[3]
    assert size[0] - size[1] < np.log(2) + 0.05 < size[2] - size[3]   # larger than typical: at most log 2
    far = np.zeros((3, 8))
    far[1, 0], far[2, 0] = 5.0, 15.0
    face = SCORES["fisher+face"](_typical(3) | {"mu_z": far}, ref)
    assert face[0] > face[1] > face[2]


def test_unknown_pose_counts_as_typical():
    ref = Reference.fit(_full_feats())
    (yaw, _), (pitch, _) = ref.terms["yaw"], ref.terms["pitch"]
    known, unknown = SCORES["fisher+pose"](_typical(2, yaw=[yaw, np.nan], pitch=[pitch, np.nan]), ref)
    assert unknown == pytest.approx(known)


def test_a_robust_fit_ignores_the_bad_faces_a_camera_also_sees():
    good = _full_feats(300)
    bad = _full_feats(60, seed=5)
    bad["yaw"] = bad["yaw"] + 1.5                 # profiles
    bad["png_bits"] = bad["png_bits"] - 8000      # blurred
    mixed = {k: np.concatenate([good[k], bad[k]]) for k in good}
    clean, robust, naive = Reference.fit(good), Reference.fit(mixed, robust=True), Reference.fit(mixed)
    assert abs(robust.terms["yaw"][0] - clean.terms["yaw"][0]) < 0.05
    assert abs(robust.mean[0] - clean.mean[0]) < 0.1 * np.sqrt(clean.cov[0][0])
    assert abs(naive.mean[0] - clean.mean[0]) > 0.5 * np.sqrt(clean.cov[0][0])
    with pytest.raises(ValueError, match="at least 10 typical crops, not"):
        Reference.fit({k: np.concatenate([good[k][:8], bad[k][:4]]) for k in good}, robust=True)


def test_exposure_normalisation_sets_brightness_and_contrast():
    rng = np.random.default_rng(0)
    face = rng.integers(60, 200, (64, 64)).astype(np.float64)
    dark = np.rint(face * 0.35).astype(np.uint8)
    out = normalise_exposure(np.stack([face.astype(np.uint8), dark]))
    assert out.dtype == np.uint8
    assert np.allclose(out.mean(axis=(1, 2)), 110, atol=1.5) and np.allclose(out.std(axis=(1, 2)), 54, atol=1.5)
    assert np.corrcoef(out[0].ravel(), out[1].ravel())[0, 1] > 0.99
    flat = normalise_exposure(np.full((1, 8, 8), 7, np.uint8))
    assert (flat == 110).all()
