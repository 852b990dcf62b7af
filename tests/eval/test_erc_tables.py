"""erc.md's tables: the main one leaves the ablation's variants out, the ablation table shows each of them."""

from __future__ import annotations

from eval.erc import PERFECT, ablation_table, markdown_table
from eval.extract import ABLATION
from host.quality import DEFAULT_SCORE


def results_with(**paucs: float) -> dict:
    methods = {m: {"pauc@20%": v, "pauc@30%": v} for m, v in paucs.items()}
    return {"lfw_pairs": {"dlib": {"fmr=0.001": {"methods": methods}}}}


def test_the_main_table_hides_the_ablation_and_bolds_only_what_it_shows():
    variants = {f"vae_{v}_{m}{k}": 0.010 for v in ABLATION if v != DEFAULT_SCORE for m in ("float", "sim")
                for k in ("", "_expnorm")}
    variants.update(vae_fisher_float=0.022, vae_fisher_sim=0.023)      # shown in both tables
    results = results_with(vae_float=0.020, vae_sim=0.021, face_size=0.018, random=0.030, **{PERFECT: 0.001},
                           **variants)
    main = markdown_table(results)
    assert "| face size | **18.000** |" in main and "| VAE score (float) | 20.000 |" in main
    assert "vae_fisher_float" in main and "fisher+pose" not in main and "expnorm" not in main
    ablation = ablation_table(results, DEFAULT_SCORE)
    assert f"| {DEFAULT_SCORE} (default), float | 20.000 |" in ablation
    assert "| fisher+pose, sim, exposure-normalised | **10.000** |" in ablation     # below every baseline
    assert "| fisher, float | 22.000 |" in ablation and "| best baseline | face size 18.000 |" in ablation
    assert len(ablation.splitlines()) == 2 + 4 * len(ABLATION) - 2 + 1   # the default has no expnorm row here
