"""Error-versus-reject curves on LFW: does a quality score predict recognition errors?

    python -m eval.erc                         # whole evaluation set (13.5 min on 2 cores from a cold cache)
    python -m eval.erc --pairs-per-kind 50     # a quick subset
    python -m eval.erc --degrade               # every image degraded as a camera might (eval.conditions)

Evaluation persons: those of LFW ``pairs.txt`` (``../shared/data/lfw-dev``, never trained on). Every image
is cropped by the shared crop function around its MTCNN box (the centred box 70,70,110,110 where MTCNN
finds no face); FaceNet and dlib compare the images; each quality method scores them.

Protocol ``lfw_pairs``: the standard pairs; a pair's quality is the lower of its two images'; threshold
at FMR = 1e-3 over every different-person pair of the pairs' images. Protocol ``paper``: per person the
lowest-numbered image is the reference (the numbering follows no quality criterion); genuine
(reference, probe) pairs; thresholds for an initial FNMR of 1e-2 and 1e-3 (paper Fig. 5 and 6).
With --degrade the FMR threshold stays the one of the clean images (a recognizer is calibrated once, on
good photos; degraded faces look alike, so a threshold set on their impostors would reject nearly every
genuine pair), and the paper protocol's thresholds are set on the degraded genuine pairs, as defined.

Writes to --out: ``erc.json`` (FNMR at 0/10/20/30/40 % rejected and pAUC to 20 % and 30 % per protocol,
recognizer and method, thresholds, recognizer accuracy, run time), ``scores.csv`` (every image's
scores), ``erc.md`` (pAUC tables, the ablation table of every `fisher` variant, bootstrap intervals) and
``erc_<protocol>.png``; with --expnorm-*-reference also every variant on the exposure-normalised crop.
Uncertainty: the genuine comparisons are resampled by person (--bootstrap draws, threshold fixed), giving
95 % intervals of every pAUC(20 %), of the VAE score minus each baseline and of the quantized score relative
to the float one, and the share of draws in which the VAE score is below every baseline. Numbers only are
cached (--cache): boxes, embeddings, scores.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from itertools import product
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eval import by_degradation
from eval.cache import Arrays
from eval.conditions import CLEAN, DEGRADED, Condition, drawn_degradation
from eval.extract import (
    ABLATION,
    add_expnorm_options,
    add_model_options,
    expnorm_references,
    image_features,
    vae_models,
    vae_scores,
)
from eval.lfw import LfwSet, lfw_set
from eval.measure import BASELINES
from eval.metrics import (
    GRID,
    best_accuracy,
    bootstrap_pauc,
    erc,
    pair_quality,
    summarise,
    threshold_at_fmr,
    threshold_at_fnmr,
)
from eval.plots import LABELS, plot_ercs
from eval.probes import DATA
from eval.recognizers import RECOGNIZERS, cross_similarity, similarity
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

ROOT = Path(__file__).resolve().parents[1]
FMR = 1e-3
INITIAL_FNMRS = (1e-2, 1e-3)
RANDOM_SEED = 0
PERFECT = "perfect"
VAE_DEFAULT, VAE_QUANT = "vae_float", "vae_sim"
COMPARED_VARIANTS = ("fisher",)   # score variants shown beside the default one (vae_<variant>_<model>)


def shown(path: Path) -> str:
    """A path as written into results: relative to the repository where it lies inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def impostor_scores(emb: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """Comparison scores of every different-person pair of rows (each unordered pair once)."""
    out = []
    for i in range(0, len(emb), 512):
        sims = cross_similarity(emb[i:i + 512], emb)
        rows = np.arange(i, min(i + 512, len(emb)))[:, None]
        mask = (persons[rows] != persons[None]) & (np.arange(len(emb))[None] > rows)
        out.append(sims[mask])
    return np.concatenate(out)


def ablation_only(method: str) -> bool:
    """A method of the ablation table only, which the main tables and plots leave out: a variant other than the
    default and `COMPARED_VARIANTS`, or any on the exposure-normalised crop."""
    return method.endswith("_expnorm") or any(
        method in (f"vae_{v}_float", f"vae_{v}_sim") for v in ABLATION if v not in COMPARED_VARIANTS)


def is_baseline(method: str) -> bool:
    """A method the VAE score is compared against: neither a VAE variant nor the PERFECT oracle."""
    return not method.startswith("vae_") and method != PERFECT


def percentiles95(values: np.ndarray) -> list[float]:
    return np.percentile(values, [2.5, 97.5]).tolist()


def bootstrap_summary(boot: dict[str, np.ndarray]) -> dict:
    """95 % intervals of each method's bootstrapped pAUC(20 %), of the default VAE score minus each baseline
    and of the quantized score relative to the float one; how often the VAE score is below each and every
    baseline. Draws without a single error (pAUC 0 for all) count as no win and give no ratio."""
    vae = boot[VAE_DEFAULT]
    baselines = [m for m in boot if is_baseline(m)]
    errors = vae > 0
    return {"resamples": len(vae),
            "pauc@20%_ci95": {m: percentiles95(v) for m, v in boot.items()},
            "vae_minus_baseline": {b: {"ci95": percentiles95(vae - boot[b]), "vae_lower": float(np.mean(vae < boot[b]))}
                                   for b in baselines},
            "vae_below_every_baseline": float(np.mean(np.all([vae < boot[b] for b in baselines], axis=0))),
            "quant_vs_float_relative_ci95": (percentiles95(boot[VAE_QUANT][errors] / vae[errors] - 1)
                                             if errors.any() else None)}


def evaluate(data: LfwSet, emb: dict[str, np.ndarray], quality: dict[str, np.ndarray],
             resamples: int = 0, calibration: dict[str, np.ndarray] | None = None) -> tuple[dict, dict, dict]:
    """Every protocol, recognizer and method: results[protocol][recognizer][setting] (threshold, summaries,
    with `resamples` > 0 a person-level bootstrap), the matching ERC curves, and per recognizer its
    accuracy on the pairs and number of impostor pairs. The FMR threshold is set on the impostor pairs of
    `calibration` (embeddings of the same images, e.g. clean ones) where given, else of `emb`."""
    index = {im: i for i, im in enumerate(data.images)}
    persons = np.array([im[0] for im in data.images])
    pa = np.array([index[a] for a, _, _ in data.pairs])
    pb = np.array([index[b] for _, b, _ in data.pairs])
    same = np.array([s for _, _, s in data.pairs])
    used = np.unique(np.concatenate([pa, pb]))
    ra, rb = data.probe_rows()
    results: dict = {"lfw_pairs": {}, "paper": {}}
    curves: dict = {"lfw_pairs": {}, "paper": {}}
    recognizers = {}
    for rec in RECOGNIZERS:
        e = emb[rec]
        scores = similarity(e[pa], e[pb])
        impostors = impostor_scores((emb if calibration is None else calibration)[rec][used], persons[used])
        configs = {("lfw_pairs", f"fmr={FMR:g}"): (pa[same], pb[same], scores[same], threshold_at_fmr(impostors, FMR))}
        genuine = similarity(e[ra], e[rb])
        for fnmr in INITIAL_FNMRS:
            configs["paper", f"initial_fnmr={fnmr:g}"] = (ra, rb, genuine, threshold_at_fnmr(genuine, fnmr))
        for (protocol, setting), (ia, ib, gen, thr) in tqdm(configs.items(), desc=f"ERC {rec}", unit="setting"):
            methods = {name: pair_quality(q[ia], q[ib]) for name, q in quality.items()}
            cell = results[protocol].setdefault(rec, {})[setting] = {"threshold": thr, "genuine_pairs": len(gen)}
            if resamples:
                cell["bootstrap"] = bootstrap_summary(bootstrap_pauc(methods, gen, thr, persons[ia], resamples))
            methods[PERFECT] = gen
            c = curves[protocol].setdefault(rec, {})[setting] = {name: erc(q, gen, thr) for name, q in methods.items()}
            cell["methods"] = {name: summarise(v) for name, v in c.items()}
        recognizers[rec] = {"lfw_pairs_accuracy": best_accuracy(scores, same), "impostor_pairs": len(impostors)}
    return results, curves, recognizers


def settings_of(results: dict) -> Iterator[tuple[str, dict]]:
    """("protocol/recognizer/setting", its result) for every cell of results[protocol][recognizer][setting]."""
    for protocol, recs in results.items():
        for rec, settings in recs.items():
            for setting, r in settings.items():
                yield f"{protocol}/{rec}/{setting}", r


def goals(results: dict) -> dict:
    """The issue's goal per protocol setting: VAE default score pAUC(20 %) below every baseline's, and
    the quantized (simulator) VAE within 5 % (relative) of the float one; with a bootstrap, the share of
    draws in which the first holds."""
    out = {}
    for name, r in settings_of(results):
        p = {m: v["pauc@20%"] for m, v in r["methods"].items()}
        baselines = {m: v for m, v in p.items() if is_baseline(m)}
        out[name] = {"vae_below_every_baseline": all(p[VAE_DEFAULT] < v for v in baselines.values()),
                     "best_baseline": min(baselines, key=baselines.get),
                     "quant_vs_float_relative": p[VAE_QUANT] / p[VAE_DEFAULT] - 1 if p[VAE_DEFAULT] else None}
        if "bootstrap" in r:
            out[name]["vae_below_every_baseline_share"] = r["bootstrap"]["vae_below_every_baseline"]
    return out


def write_csv(path: Path, data: LfwSet, feats: Arrays, quality: dict[str, np.ndarray], condition: Condition) -> None:
    """One row per image: its box, (degraded: its degradation and level) and every method's score."""
    drawn = ["degradation", "level"] if condition.degraded else []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person", "number", *drawn, "detected", "box_x", "box_y", "box_w", "box_h", *quality])
        for i, (person, number) in enumerate(data.images):
            kind = list(drawn_degradation(data.path((person, number)))[:2]) if drawn else []
            w.writerow([person, number, *kind, int(feats["detected"][i]), *np.round(feats["box"][i], 1),
                        *(f"{q[i]:.6g}" for q in quality.values())])


def markdown_table(results: dict, key: str = "pauc@20%") -> str:
    """One row per method, one column per protocol setting: `key` (x 1000), best non-oracle value in bold."""
    cells = dict(settings_of(results))
    methods = [m for m in next(iter(cells.values()))["methods"] if not ablation_only(m)]
    head = [" ".join([*name.split("/")[:2], name.split("=")[1]]) for name in cells]
    lines = [f"| method | {' | '.join(head)} |", "|---|" + "---|" * len(cells)]
    best = {c: min(r["methods"][m][key] for m in methods if m != PERFECT) for c, r in cells.items()}
    for m in methods:
        row = []
        for c, r in cells.items():
            v = r["methods"][m][key]
            row.append(f"**{1000 * v:.3f}**" if m != PERFECT and v == best[c] else f"{1000 * v:.3f}")
        lines.append(f"| {LABELS.get(m, m)} | {' | '.join(row)} |")
    return "\n".join(lines) + "\n"


def ablation_table(results: dict, default: str) -> str:
    """pAUC(20 %) x 1000 of `fisher` with each set of extra terms (the `default` variant among them), float and
    simulator, on the crop as cut and (where measured) exposure-normalised, against the best baseline of each
    setting; bold: a variant below every baseline."""
    cells = dict(settings_of(results))
    head = [" ".join([*name.split("/")[:2], name.split("=")[1]]) for name in cells]
    lines = [f"| variant | {' | '.join(head)} |", "|---|" + "---|" * len(cells)]
    best = {c: min((v["pauc@20%"], m) for m, v in r["methods"].items() if is_baseline(m)) for c, r in cells.items()}
    measured = next(iter(cells.values()))["methods"]
    for variant, model, suffix in product(ABLATION, ("float", "sim"), ("", "_expnorm")):
        m = (f"vae_{model}" if variant == default else f"vae_{variant}_{model}") + suffix
        if m not in measured:
            continue
        row = {c: cells[c]["methods"][m]["pauc@20%"] for c in cells}
        text = [f"**{1000 * v:.3f}**" if v < best[c][0] else f"{1000 * v:.3f}" for c, v in row.items()]
        name = f"{variant}{' (default)' if variant == default else ''}, {model}"
        lines.append(f"| {name}{', exposure-normalised' if suffix else ''} | {' | '.join(text)} |")
    lines.append(f"| best baseline | {' | '.join(f'{LABELS.get(b, b)} {1000 * v:.3f}' for v, b in best.values())} |")
    return "\n".join(lines) + "\n"


def bootstrap_table(results: dict) -> str:
    """Per setting: the VAE score's and the best baseline's pAUC(20 %) x 1000 with 95 % intervals, their
    difference, the share of draws with the VAE score below every baseline, quantized relative to float."""
    lines = ["| setting | VAE score | best baseline | VAE - best baseline | VAE below every baseline | "
             "quantized vs float |", "|---|---|---|---|---|---|"]
    fmt = "{:.3f} [{:.3f}, {:.3f}]".format
    for name, r in settings_of(results):
        b = r["bootstrap"]
        p = {m: v["pauc@20%"] for m, v in r["methods"].items()}
        best = min(b["vae_minus_baseline"], key=p.get)
        ci = b["pauc@20%_ci95"]
        diff = b["vae_minus_baseline"][best]["ci95"]
        rel = b["quant_vs_float_relative_ci95"]
        lines.append(f"| {name} | {fmt(1000 * p[VAE_DEFAULT], *(1000 * np.array(ci[VAE_DEFAULT])))} "
                     f"| {LABELS.get(best, best)} {fmt(1000 * p[best], *(1000 * np.array(ci[best])))} "
                     f"| {fmt(1000 * (p[VAE_DEFAULT] - p[best]), *(1000 * np.array(diff)))} "
                     f"| {100 * b['vae_below_every_baseline']:.1f} % "
                     f"| {'-' if rel is None else f'{100 * rel[0]:+.1f} % .. {100 * rel[1]:+.1f} %'} |")
    return "\n".join(lines) + "\n"


def report_markdown(summary: dict) -> str:
    """erc.md: both pAUC tables, then FNMR by the probe's degradation (degraded runs) and the bootstrap
    table (runs with a bootstrap)."""
    results = summary["results"]
    md = ("pAUC(20 %) x 1000\n\n" + markdown_table(results)
          + "\npAUC(30 %) x 1000\n\n" + markdown_table(results, "pauc@30%")
          + "\nAblation: pAUC(20 %) x 1000 of `fisher` with each set of the extra terms (pose, size, face-likeness; "
            "score.md), bold where below every baseline\n\n" + ablation_table(results, summary["default_variant"]))
    if "fnmr_by_degradation" in summary:
        md += (f"\nFNMR in % ({' / '.join(RECOGNIZERS)}) of the paper protocol's pairs by the probe's degradation, "
               f"at the clean FMR = {FMR:g} threshold (number of pairs)\n\n"
               + by_degradation.markdown(summary["fnmr_by_degradation"]))
    if summary["bootstrap_resamples"]:
        md += (f"\nPerson-level bootstrap ({summary['bootstrap_resamples']} draws, threshold fixed), "
               "pAUC(20 %) x 1000 [95 % interval]\n\n" + bootstrap_table(results))
    return md


def print_table(results: dict) -> None:
    for name, r in settings_of(results):
        print(f"\n{name.replace('/', ' / ')}: {r['genuine_pairs']} genuine pairs, threshold {r['threshold']:.4f}")
        print(f"  {'method':32s} " + " ".join(f"{k:>10s}" for k in next(iter(r["methods"].values()))))
        for m, v in sorted(r["methods"].items(), key=lambda kv: kv[1]["pauc@20%"]):
            print(f"  {m:32s} " + " ".join(f"{x:10.5f}" for x in v.values()))


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.erc", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=lfw_folder, default=DATA / "lfw-dev", help="LFW folder with pairs.txt and images/")
    ap.add_argument("--out", type=output_folder, default=None,
                    help="output folder (default docs/eval, with --degrade docs/eval/degraded)")
    ap.add_argument("--degrade", action="store_true",
                    help="degrade every image before detection: one of blur, dark, noise, JPEG, downscale at a "
                         "level 0-5, both drawn per image from its file name (camera-like conditions)")
    add_model_options(ap, "boxes, embeddings and VAE features")
    add_expnorm_options(ap, "without one, none for that model")
    ap.add_argument("--pairs-per-kind", type=positive_int, default=None, metavar="N",
                    help="use only the first N genuine and N impostor pairs (and their persons): a quick subset")
    ap.add_argument("--bootstrap", type=non_negative_int, default=1000, metavar="N",
                    help="person-level bootstrap draws for the 95 %% intervals (0: none)")
    ap.add_argument("--workers", type=positive_int, default=2,
                    help="processes for detection, recognizers and baselines")
    args = ap.parse_args(argv)
    if args.out is None:
        args.out = Path("docs/eval/degraded" if args.degrade else "docs/eval")
    condition = DEGRADED if args.degrade else CLEAN
    start = time.time()
    models = vae_models(args.checkpoint, args.build)
    data = load_input("--lfw", LFW_RULE, lambda p: lfw_set(p, args.pairs_per_kind), args.lfw)
    print(f"{len(data.images)} images, {len(data.pairs)} pairs, {len(data.probes)} reference/probe pairs",
          file=sys.stderr)
    paths = [data.path(im) for im in data.images]
    chunks: Counter = Counter()
    feats = image_features(paths, args.cache, args.workers, chunks, condition)
    quality = {name: feats[name].astype(float) for name in BASELINES}
    quality.update(vae_scores(paths, feats["box"], args.cache, models, chunks, condition, feats["landmarks"],
                              variants=ABLATION, expnorm=expnorm_references(args)))
    quality["random"] = np.random.default_rng(RANDOM_SEED).random(len(paths))
    # a recognizer's threshold is calibrated on clean photos, not on the degraded ones it then meets
    clean = image_features(paths, args.cache, args.workers, chunks) if args.degrade else feats
    results, curves, recognizers = evaluate(data, {r: feats[r] for r in RECOGNIZERS}, quality, args.bootstrap,
                                            {r: clean[r] for r in RECOGNIZERS})
    args.out.mkdir(parents=True, exist_ok=True)
    for protocol, recs in curves.items():
        shown_curves = {r: {s: {m: c for m, c in ms.items() if not ablation_only(m)} for s, ms in settings.items()}
                        for r, settings in recs.items()}
        plot_ercs(protocol, shown_curves, GRID, args.out / f"erc_{protocol}.png")
    summary = {"images": len(data.images), "degraded": args.degrade,
               "no_face_found": int((~feats["detected"].astype(bool)).sum()),
               "pairs": len(data.pairs), "probes": len(data.probes),
               "seconds": round(time.time() - start, 1), "cache_chunks": dict(chunks),
               "bootstrap_resamples": args.bootstrap, "checkpoint": shown(args.checkpoint),
               "default_variant": models[0].judge.variant,
               "build": shown(args.build), "recognizers": recognizers,
               "goals": goals(results), "results": results}
    if args.degrade:
        summary["fnmr_by_degradation"] = by_degradation.fnmr_by_degradation(
            data, feats, {r: results["lfw_pairs"][r][f"fmr={FMR:g}"]["threshold"] for r in RECOGNIZERS})
    (args.out / "erc.json").write_text(json.dumps(summary, indent=1))
    write_csv(args.out / "scores.csv", data, feats, quality, condition)
    (args.out / "erc.md").write_text(report_markdown(summary))
    print_table(results)
    if args.bootstrap:
        print("\n" + bootstrap_table(results))
    print(f"\n{args.out}: erc.json, scores.csv, erc_*.png ({summary['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
