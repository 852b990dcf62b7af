"""Tables and figures of the selection benchmark (``eval.selection``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.selection_metrics import ORACLE, RANDOM
from quant.plots import plt, save_figure

BASELINE_LABELS = {"random": "random (expectation)", "first": "first frame", "middle": "middle frame",
                   "face_size": "largest face", "laplacian": "Laplacian sharpness", "brisque": "BRISQUE",
                   "mtcnn_confidence": "MTCNN confidence", ORACLE: "ORACLE (bound)"}


def label(method: str) -> str:
    return BASELINE_LABELS.get(method, method)


def _pct(v: float | None) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.1f}"


def _ci(ci: list[float] | None) -> str:
    return "" if ci is None else f" [{_pct(ci[0])}, {_pct(ci[1])}]"


def _share(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f} %"


def method_table(methods: dict[str, dict], default: str) -> str:
    """One row per method, best non-oracle FNMR first: FNMR and rank-1 (%, 95 % interval), gap closed (%) and
    the shares of bootstrap draws in which `default` does better."""
    lines = ["| method | FNMR % [95 %] | rank-1 % [95 %] | gap closed % [95 %] | default lower FNMR | "
             "default higher rank-1 |", "|---|---|---|---|---|---|"]
    order = sorted(methods, key=lambda m: (m == ORACLE, methods[m]["fnmr"], -methods[m]["rank1"]))
    for m in order:
        r = methods[m]
        name = f"**{label(m)}**" if m == default else label(m)
        own = m == default
        lines.append(f"| {name} | {_pct(r['fnmr'])}{_ci(r.get('fnmr_ci95'))} "
                     f"| {_pct(r['rank1'])}{_ci(r.get('rank1_ci95'))} "
                     f"| {_pct(r['gap_closed'])}{_ci(r.get('gap_closed_ci95'))} "
                     f"| {'' if own else _share(r.get('default_lower_fnmr_share'))} "
                     f"| {'' if own else _share(r.get('default_higher_rank1_share'))} |")
    return "\n".join(lines) + "\n"


def _cells(summary: dict) -> dict[str, dict]:
    """"<split> <recognizer>" -> its methods' summaries."""
    return {f"{split} {rec}": r["methods"] for split, s in summary["splits"].items()
            for rec, r in s["recognizers"].items()}


def combined_table(summary: dict) -> str:
    """One row per method: FNMR % in every split/recognizer, then rank-1 %; the best non-oracle value in bold;
    rows by mean FNMR."""
    cells = _cells(summary)
    methods = list(next(iter(cells.values())))
    mean = {m: np.mean([c[m]["fnmr"] for c in cells.values()]) for m in methods}
    head = " | ".join(f"FNMR {c}" for c in cells) + " | " + " | ".join(f"rank-1 {c}" for c in cells)
    lines = [f"| method | {head} |", "|---|" + "---|" * (2 * len(cells))]
    best = {(c, k): (min if k == "fnmr" else max)(v[m][k] for m in methods if m != ORACLE)
            for c, v in cells.items() for k in ("fnmr", "rank1")}
    for m in sorted(methods, key=lambda m: (m == ORACLE, mean[m])):
        row = [f"**{_pct(v[m][k])}**" if m != ORACLE and v[m][k] == best[c, k] else _pct(v[m][k])
               for k in ("fnmr", "rank1") for c, v in cells.items()]
        lines.append(f"| {label(m)} | {' | '.join(row)} |")
    return "\n".join(lines) + "\n"


def goal_table(summary: dict) -> str:
    """The issue's goal per split and recognizer: the default score's FNMR against the best other non-oracle
    method, its gap closed, and the lowest share of draws in which it beats a baseline (non-VAE method)."""
    default = summary["default_method"]
    lines = ["| split, recognizer | default FNMR % [95 %] | best other non-oracle (FNMR %) | ORACLE FNMR % "
             "| gap closed % [95 %] | default beats every baseline in (lowest share) |", "|---|---|---|---|---|---|"]
    for c, v in _cells(summary).items():
        d = v[default]
        others = {m: r["fnmr"] for m, r in v.items() if m not in (default, ORACLE)}
        best = min(others, key=others.get)
        baselines = {m: r.get("default_lower_fnmr_share") for m, r in v.items()
                     if not m.startswith("vae_") and m != ORACLE}
        weakest = min(baselines, key=lambda m: baselines[m] if baselines[m] is not None else 2)
        lines.append(f"| {c} | {_pct(d['fnmr'])}{_ci(d.get('fnmr_ci95'))} | {label(best)} ({_pct(others[best])}) "
                     f"| {_pct(v[ORACLE]['fnmr'])} | {_pct(d['gap_closed'])}{_ci(d.get('gap_closed_ci95'))} "
                     f"| {_share(baselines[weakest])} ({label(weakest)}) |")
    return "\n".join(lines) + "\n"


def markdown(summary: dict) -> str:
    """selection.md: the set-up counts, then per split and recognizer the method table."""
    md = [f"Selection benchmark (`python -m eval.selection`), {summary['frames_per_track']} frames per track, "
          f"seed {summary['seed']}, {summary['bootstrap_resamples']} person-level bootstrap draws; "
          f"default score `{summary['default_method']}`; run time {summary['seconds']:.0f} s."
          + (f" Candidates: faces whose detector box is at least {summary['min_face']:g} px (`--min-face`)."
             if summary.get("min_face") else "") + "\n",
          "\n## All splits and recognizers (FNMR and rank-1 identification, %)\n\n" + combined_table(summary),
          "\n## The goal of issue 23\n\n" + goal_table(summary)]
    too_small = " (or below --min-face)" if summary.get("min_face") else ""
    for split, s in summary["splits"].items():
        md.append(f"\n## {split} split (folds {', '.join(map(str, s['folds']))})\n\n"
                  f"{s['persons']} persons, {s['frames']} frames, {s['missed_detections']} without a detection of the "
                  f"face{too_small} ({s['tracks_without_candidates']} tracks without any); gallery of {s['persons']} "
                  f"clean images, thresholds at FMR {summary['fmr']:g} over {s['impostor_pairs']} impostor pairs of "
                  f"{s['clean_images']} clean images.\n")
        for rec, r in s["recognizers"].items():
            md.append(f"\n### {split}, {rec} (threshold {r['threshold']:.4f})\n\n" + method_table(r["methods"],
                                                                                              summary["default_method"]))
    return "".join(md)


def plot_methods(split: str, recognizers: dict[str, dict], default: str, out: Path) -> None:
    """FNMR and rank-1 per method with 95 % intervals: one column per measure, one row per recognizer."""
    recs = list(recognizers)
    methods = recognizers[recs[0]]["methods"]
    order = sorted(methods, key=lambda m: methods[m]["fnmr"], reverse=True)
    fig, axes = plt.subplots(len(recs), 2, figsize=(11, 0.17 * len(order) * len(recs) + 1.5), squeeze=False)
    y = np.arange(len(order))
    for row, rec in zip(axes, recs, strict=True):
        ms = recognizers[rec]["methods"]
        for ax, key in zip(row, ("fnmr", "rank1"), strict=True):
            v = np.array([ms[m][key] for m in order]) * 100
            ci = np.array([ms[m].get(f"{key}_ci95") or [ms[m][key]] * 2 for m in order]) * 100
            colors = ["C3" if m == default else "k" if m == ORACLE else "0.5" if m == RANDOM
                      else "C0" if m.startswith("vae_") else "C2" for m in order]
            ax.barh(y, v, color=colors, height=0.7)
            ax.errorbar(v, y, xerr=[v - ci[:, 0], ci[:, 1] - v], fmt="none", ecolor="0.2", lw=0.7, capsize=1.5)
            ax.set_yticks(y, [label(m) for m in order], fontsize=6)
            ax.set_xlabel(f"{'FNMR' if key == 'fnmr' else 'rank-1 identification'} (%)")
            what = "FNMR (lower is better)" if key == "fnmr" else "rank-1 (higher is better)"
            ax.set_title(f"{split}: {rec}, {what}", fontsize=9)
            ax.grid(axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    kinds = (("C3", "default score (simulator)"), ("C0", "other VAE variants"), ("C2", "baselines"),
             ("0.5", "random"), ("k", "ORACLE"))
    axes[0, 0].legend([Patch(color=c) for c, _ in kinds], [n for _, n in kinds], fontsize=6, loc="lower right",
                      title="95 % person-level bootstrap intervals", title_fontsize=6)
    save_figure(fig, out)


def plot_picks(tracks: list[tuple[str, np.ndarray, dict[str, int]]], default: str, out: Path) -> None:
    """Documentation figure (holds LFW pixels): per track its keepsake crops (blank where no face was found) and
    which frame each method kept (`default` in red). tracks: (name, crops (T, 128, 128, 3), method -> frame or -1)."""
    methods = list(tracks[0][2])
    frames = len(tracks[0][1])
    fig, axes = plt.subplots(2, len(tracks), figsize=(4.2 * len(tracks), 1.2 + 0.13 * len(methods)), squeeze=False,
                             gridspec_kw={"height_ratios": [1.3, 0.13 * len(methods)]})
    for j, (name, crops, chosen) in enumerate(tracks):
        strip, ax = np.concatenate(list(crops), axis=1), axes[0, j]
        ax.imshow(strip, extent=(-0.5, frames - 0.5, 1, 0))
        ax.set_xticks(range(frames))
        ax.set_yticks([])
        ax.set_title(name, fontsize=8)
        grid = axes[1, j]
        for i, m in enumerate(methods):
            if chosen[m] >= 0:
                grid.plot(chosen[m], i, "o", color="C3" if m == default else "C0" if m.startswith("vae_") else "k",
                          ms=6 if m == default else 3)
        grid.set(xlim=(-0.5, frames - 0.5), ylim=(len(methods) - 0.5, -0.5), xticks=range(frames))
        grid.set_yticks(range(len(methods)), [label(m) for m in methods] if j == 0 else [], fontsize=5)
        for tick in grid.get_yticklabels():
            if tick.get_text() == label(default):
                tick.set_color("C3")
        grid.grid(alpha=0.3)
        grid.set_xlabel("frame")
    fig.suptitle(f"Which frame each method keeps (red: the default score, {label(default)}; blue: other VAE variants; "
                 "black: baselines); crops as a record stores them", fontsize=9)
    save_figure(fig, out)
