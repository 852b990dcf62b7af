"""Does the score measure quality? The degradation table of every score variant, side by side.

    python -m eval.probes --out work/probes.npz          # once: crop the probes (about 9 minutes)
    python -m quant.data ../shared/data/lfw-dev/images --exclude-pairs ../shared/data/lfw-dev/pairs.txt \\
        -o work/reference_crops.npz                       # once: good faces of the probes' domain
    python -m eval.quality_eval --checkpoint quant/checkpoints/upsample/vae_float_c32_upsample.pt \\
        --probes work/probes.npz --reference-crops work/reference_crops.npz

For each probe (LFW images of evaluation persons, `eval.probes`) and each degradation: the fraction of
images whose clean crop scores higher than the copy degraded at the reference severity, and the mean
(over images) Spearman correlation between severity (0 = clean, 1..5) and score. Fits the score
reference first, on good faces of the deployment's kind (``--reference-crops``, e.g. the LFW images of
persons in no pair, cropped by ``quant.data --exclude-pairs``) or else on the checkpoint's held-out
validation crops, and saves it beside the checkpoint (``score_reference.json``); writes
``quality_table.json``, ``.md`` and ``.png`` there too.
The first `--design-probes` probes were looked at while the scores were designed;
the table is also given for the remaining ones alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from eval.plots import plot_severity
from host.quality import Reference, crop_features, quality_scores
from host.scoring import VAEBackend, reconstruct
from quant.cli import CliParser, load_input, non_negative_int, reports_input_errors
from quant.degradations import DEGRADATIONS, REFERENCE_LEVEL, severity_series
from quant.score import BACKENDS, MODEL_RULES, make_backend
from quant.train import load_crops

CHUNK = 64


def features_of(backend: VAEBackend, crops: np.ndarray, desc: str = "scoring") -> dict[str, np.ndarray]:
    """Features of many crops, computed in chunks with a progress bar."""
    parts = [crop_features(reconstruct(backend, crops[i:i + CHUNK]))
             for i in tqdm(range(0, len(crops), CHUNK), desc=desc, unit="chunk")]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def spearman_rows(scores: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of scores with its column index (ties get average ranks).

    A row of equal scores does not discriminate severities at all: its correlation counts as 0.
    """
    ranks = np.argsort(np.argsort(scores, axis=1, kind="stable"), axis=1).astype(float)
    for row, s in zip(ranks, scores, strict=True):  # average ranks of ties
        for v in np.unique(s[np.isclose(s[:, None], s[None]).sum(1) > 1]):
            tied = np.isclose(s, v)
            row[tied] = row[tied].mean()
    sev = np.arange(scores.shape[1], dtype=float)
    a = ranks - ranks.mean(1, keepdims=True)
    b = sev - sev.mean()
    norm = np.sqrt((a**2).sum(1) * (b**2).sum())
    return np.divide(a @ b, norm, out=np.zeros(len(a)), where=norm > 0)


def degradation_table(scores: np.ndarray) -> dict[str, dict[str, float]]:
    """scores: (images, 1 + degradations x levels), clean first. Returns per degradation the metrics."""
    table = {}
    for d, name in enumerate(DEGRADATIONS):
        series = severity_series(scores, d)
        table[name] = {"clean_higher": float(np.mean(series[:, 0] > series[:, REFERENCE_LEVEL])),
                       "spearman": float(np.mean(spearman_rows(series)))}
    return table


def format_tables(tables: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown: one row per score variant, clean-higher fraction and Spearman per degradation."""
    names = list(DEGRADATIONS)
    head = "| score | " + " | ".join(f"{n} clean>deg / rho" for n in names) + " |"
    rows = [head, "|---|" + "---|" * len(names)]
    for variant, table in tables.items():
        cells = [f"{table[n]['clean_higher']:.2f} / {table[n]['spearman']:+.2f}" for n in names]
        rows.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def evaluate(backend: VAEBackend, probes: dict, good_faces: np.ndarray, design_probes: int) -> dict:
    """Fit the reference on good-face crops, score all probe crops; tables, scores and throughput."""
    reference = Reference.fit(features_of(backend, good_faces, "reference"))
    crops = probes["crops"]
    t0 = time.perf_counter()
    feats = features_of(backend, crops.reshape(-1, *crops.shape[2:]), "probes")
    seconds = time.perf_counter() - t0
    scores = {v: s.reshape(crops.shape[:2]) for v, s in quality_scores(feats, reference).items()}
    return {
        "tables": {v: degradation_table(s) for v, s in scores.items()},
        "tables_unseen": {v: degradation_table(s[design_probes:]) for v, s in scores.items()},
        "scores": scores, "reference": reference,
        "faces_per_second": crops.shape[0] * crops.shape[1] / seconds,
        "probes": int(crops.shape[0]), "design_probes": design_probes,
        "box_fallbacks": int(probes["fallbacks"].sum()), "degraded_crops": int(crops.shape[0] * (crops.shape[1] - 1)),
    }


CROPS_RULE = "a crops file (python -m quant.data)"


def validation_crops(checkpoint: Path) -> np.ndarray:
    """The held-out crops of a checkpoint's training run (data files named in its report)."""
    report = json.loads((checkpoint.parent / "report.json").read_text())
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    crops = load_crops([Path(p) for p in report["data"]])
    return crops[np.array(ckpt["val_indices"])]


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.quality_eval", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path, required=True, help="checkpoint (report.json beside it)")
    ap.add_argument("--backend", choices=[b for b in BACKENDS if b != "sim"], default="float",
                    help="float or quant (a quant.qat checkpoint)")
    ap.add_argument("--probes", type=Path, required=True, help="probe crops from python -m eval.probes")
    ap.add_argument("--reference-crops", type=Path,
                    help="crops of good faces from the deployment's domain (quant.data output) to fit the score "
                         "reference on; default: the checkpoint's held-out validation crops")
    ap.add_argument("--design-probes", type=non_negative_int, default=100,
                    help="how many leading probes were used while designing the scores (default 100)")
    ap.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    probes = load_input("--probes", "a probe file (python -m eval.probes)", lambda p: dict(np.load(p)), args.probes)
    backend = load_input("--checkpoint", MODEL_RULES[args.backend], lambda p: make_backend(args.backend, p),
                         args.checkpoint)
    good_faces = load_input("--reference-crops", CROPS_RULE, lambda p: load_crops([p]), args.reference_crops) \
        if args.reference_crops else load_input("--checkpoint", "a checkpoint with its report.json and data",
                                                validation_crops, args.checkpoint)
    result = evaluate(backend, probes, good_faces, args.design_probes)
    result["reference_crops"] = str(args.reference_crops or "validation split of the checkpoint's training data")
    out = args.checkpoint.parent
    result["reference"].save(out / "score_reference.json")
    plot_severity(result.pop("scores"), out / "quality_table.png")
    result["reference"] = asdict(result["reference"])
    (out / "quality_table.json").write_text(json.dumps(result, indent=1))
    md = (f"All {result['probes']} probes:\n\n{format_tables(result['tables'])}\n\n"
          f"The {result['probes'] - args.design_probes} probes not looked at during design:\n\n"
          f"{format_tables(result['tables_unseen'])}\n")
    (out / "quality_table.md").write_text(md)
    print(md)
    print(f"{result['faces_per_second']:.1f} faces/s (1 encoder + L=10 decoder passes, {args.backend}, this machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
