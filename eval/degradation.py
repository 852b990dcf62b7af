"""Controlled degradations: does each quality method's score fall as blur, noise, JPEG, darkness and
downscaling get worse?

    python -m eval.degradation                 # 100 LFW evaluation images (about 7 minutes on 2 cores)

Each image (one per evaluation person, seeded draw as ``eval.probes``) is degraded as a whole at levels
1..5 (``quant.degradations``), the main face detected again (the clean image's box where MTCNN misses
it; MTCNN confidence then 0) and cropped by the shared crop function. Per image and degradation, the
Spearman correlation of each method's score with severity (0 = clean .. 5) is computed; the table holds
its mean over images (-1: the score falls with every step; 0: unrelated; +1: degradation is rewarded).
The VAE rows: the default score, every `fisher` variant (the ablation) and the raw log RP, and with
--expnorm-*-reference all of them again on the exposure-normalised crop. Writes ``degradation.json``,
``degradation.md`` and ``degradation.png`` to --out.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eval.cache import Arrays, cached, digest
from eval.extract import (
    ABLATION,
    VaeModel,
    add_expnorm_options,
    add_model_options,
    concat_parts,
    expnorm_references,
    vae_models,
    variant_scores,
)
from eval.measure import BASELINES, Measurer
from eval.plots import LABELS, plot_spearman
from eval.probes import DATA, probe_images
from eval.quality_eval import spearman_rows
from host.faces import read_rgb
from host.pose import landmark_array
from host.quality import Reference, normalise_exposure
from quant.cli import (
    LFW_RULE,
    CliParser,
    lfw_folder,
    load_input,
    non_negative_int,
    output_folder,
    positive_int,
    reports_input_errors,
)
from quant.degradations import DEGRADATIONS, LEVELS, degrade, severity_series

VERSION = 3  # bump when what `_degraded` computes changes
_measurer: Measurer | None = None


def _degraded(path: str) -> dict[str, np.ndarray]:
    """Baselines, crops and fallback flags of the clean image and its degraded copies (clean first)."""
    global _measurer
    if _measurer is None:
        _measurer = Measurer(recognizers=False)
    rgb = read_rgb(path)
    clean = _measurer.detect(rgb)
    seed = int.from_bytes(Path(path).name.encode()[:8], "little")
    images = [rgb] + [degrade(rgb, name, level, seed) for name in DEGRADATIONS for level in range(1, LEVELS + 1)]
    rows = []
    for i, img in enumerate(images):
        det = clean if i == 0 else _measurer.detect(img, fallback=clean.box)
        m = _measurer.measure(img, det)
        rows.append({**m.baselines, "crop": m.crop, "fallback": not m.detected, "box": np.array(det.box),
                     "landmarks": landmark_array([det.landmarks])[0]})
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def measure_all(paths: list[Path], workers: int) -> dict[str, np.ndarray]:
    """(images, 1 + degradations x levels) arrays per baseline, the crops and the fallback flags."""
    with mp.get_context("spawn").Pool(workers) as pool:
        rows = list(tqdm(pool.imap(_degraded, [str(p) for p in paths], chunksize=2), total=len(paths),
                         desc="degrade + detect", unit="img"))
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def spearman_table(scores: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Mean over images of Spearman(score, severity), per method and degradation."""
    return {m: {name: float(np.mean(spearman_rows(severity_series(s, d)))) for d, name in enumerate(DEGRADATIONS)}
            for m, s in scores.items()}


def markdown_table(table: dict[str, dict[str, float]]) -> str:
    """One row per method, one column per degradation: mean Spearman(score, severity)."""
    lines = [f"| method | {' | '.join(DEGRADATIONS)} |", "|---|" + "---|" * len(DEGRADATIONS)]
    lines += [f"| {LABELS.get(m, m)} | {' | '.join(f'{v:+.2f}' for v in row.values())} |" for m, row in table.items()]
    return "\n".join(lines) + "\n"


def compute_scores(paths: list[Path], models: list[VaeModel], workers: int,
                   expnorm: dict[str, Reference] | None = None) -> Arrays:
    """Every method's scores, (images, 1 + degradations x levels), and the fallback flags; the VAE's for the
    default variant, each of the ablation's (`ABLATION`) and the raw log RP, and for a model named in `expnorm`
    all of them again (``_expnorm``) on the exposure-normalised crop against that reference."""
    measured = measure_all(paths, workers)
    crops = measured["crop"].reshape(-1, *measured["crop"].shape[2:])
    boxes, marks = measured["box"].reshape(-1, 4), measured["landmarks"].reshape(-1, 5, 2)
    shape = measured["crop"].shape[:2]
    scores = {name: measured[name].astype(float) for name in BASELINES}
    for model in models:
        kinds = [("", crops, None), *([("_expnorm", normalise_exposure(crops), expnorm[model.name])]
                                      if model.name in (expnorm or {}) else [])]
        for suffix, x, ref in kinds:
            chunks = tqdm(range(0, len(x), 256), desc=f"VAE ({model.name}{suffix})", unit="chunk")
            feats = concat_parts([model.judge.features(x[i:i + 256], boxes[i:i + 256], marks[i:i + 256])
                                  for i in chunks])
            variants = variant_scores(model, feats, ABLATION, ref)
            scores.update({k + suffix: v.reshape(shape) for k, v in variants.items()})
    scores["random"] = np.random.default_rng(0).random(shape)
    return {**scores, "fallback": measured["fallback"]}


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.degradation", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=lfw_folder, default=DATA / "lfw-dev", help="LFW folder with pairs.txt and images/")
    ap.add_argument("-n", type=positive_int, default=100, help="number of images (one per evaluation person)")
    ap.add_argument("--seed", type=non_negative_int, default=0, help="seed of the image draw")
    ap.add_argument("--out", type=output_folder, default=Path("docs/eval"), help="output folder")
    add_model_options(ap, "the scores")
    add_expnorm_options(ap, "without one, none for that model")
    ap.add_argument("--workers", type=positive_int, default=2,
                    help="processes for degradation, detection and baselines")
    args = ap.parse_args(argv)
    start = time.time()
    paths = load_input("--lfw", LFW_RULE, lambda p: probe_images(p, args.n, args.seed), args.lfw)
    models = vae_models(args.checkpoint, args.build)
    expnorm = expnorm_references(args)
    key = digest(VERSION, [str(p) for p in paths], [m.scores_key for m in models],
                 {n: asdict(r) for n, r in sorted(expnorm.items())})
    stats: Counter = Counter()
    scores = cached(args.cache, "degradation", key, lambda: compute_scores(paths, models, args.workers, expnorm),
                    stats)
    fallback = scores.pop("fallback")
    table = spearman_table(scores)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_spearman(table, args.out / "degradation.png")
    summary = {"images": len(paths), "degraded_crops_on_clean_box": int(fallback.sum()),
               "seconds": round(time.time() - start, 1),
               "from_cache": bool(stats["cached"]), "levels": {n: list(DEGRADATIONS[n][1]) for n in DEGRADATIONS},
               "spearman": table}
    (args.out / "degradation.json").write_text(json.dumps(summary, indent=1))
    (args.out / "degradation.md").write_text(markdown_table(table))
    print(markdown_table(table))
    print(f"\n{args.out}: degradation.json, degradation.png ({summary['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
