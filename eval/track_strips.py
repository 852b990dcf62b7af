"""Documentation figure (paper Fig. 7): crops along the longest tracks of a video, scored, the kept one framed.

    python -m eval.track_strips --video ../shared/data/video/crowd.mp4 --tracks 24 -o docs/clips/crowd_tracks.png
    python -m eval.track_strips --video ../shared/data/video/crowd.mp4 -o /tmp/strips.png \
        --compare fisher fisher+pose --compare-out /tmp/picks.png     # which frame each variant keeps

Runs the camera pipeline (host/pipeline.py, the simulator of the shipped build) over the video and records
every scored crop in memory with its score features, then draws `--tracks` tracks x `--per-track` crops spread
evenly along each, always including the one `--score` (default: the camera's) keeps (highest score, red frame).
Tracks do not depend on the score, so `--compare` ranks the same crops by other variants without another run.
The figures hold face pixels: they are for documentation, made on a workstation, never by the camera; the
records of the run are thrown away.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.extract import stack_rows
from host.faces import FaceDetector
from host.judge import QualityJudge, build_judge
from host.pipeline import FrameSelector, Settings
from host.quality import DEFAULT_SCORE, SCORES, Reference
from host.run import DEFAULT_BUILD
from host.sources import video_frames
from host.vault import throwaway_vault
from quant.cli import CliParser, output_file, positive_int, reports_input_errors
from quant.plots import plt, save_figure


@dataclass
class RecordingJudge(QualityJudge):
    """The camera's judge, also remembering every scored crop's features in scoring order, so that every score
    variant can rank the same crops of one run afterwards."""

    rows: list[dict[str, np.ndarray]] = field(default_factory=list)

    def features(self, crops: np.ndarray, boxes: np.ndarray | None = None, landmarks: np.ndarray | None = None,
                 sides: np.ndarray | None = None) -> dict[str, np.ndarray]:
        feats = super().features(crops, boxes, landmarks, sides)
        self.rows.extend({k: v[i] for k, v in feats.items()} for i in range(len(crops)))
        return feats


@dataclass
class ClipRun:
    """One camera run over a video: per stored track its scored crops as (frame, row of `features`, keepsake
    crop), the features of every scored crop, the score reference and the run's counts."""

    tracks: dict[int, list[tuple[int, int, np.ndarray]]]
    features: dict[str, np.ndarray]
    reference: Reference
    counts: dict[str, int]

    def scores(self, variant: str) -> np.ndarray:
        """`variant`'s score of every scored crop (indexed by the tracks' rows)."""
        return SCORES[variant](self.features, self.reference)

    def kept(self, variant: str) -> dict[int, int]:
        """The frame `variant` keeps per stored track (highest score; ties: the earlier crop, as the camera)."""
        scores = self.scores(variant)
        return {t: crops[int(np.argmax([scores[row] for _, row, _ in crops]))][0] for t, crops in self.tracks.items()}


def scored_tracks(video: Path, build: Path, settings: Settings) -> ClipRun:
    """Run the camera pipeline over `video` (the simulator of `build`, the default score) and record every scored
    crop of every track that the camera stores. Tracks do not depend on the score, so one run serves every variant."""
    crops: dict[int, list] = defaultdict(list)
    stored: set[int] = set()
    order = itertools.count()   # on_score sees the crops in the order the judge scored them

    def keep(track_id: int, frame: int, score: float, image: np.ndarray) -> None:
        crops[track_id].append((frame, next(order), image))

    def ended(summary: dict, history: list) -> None:
        if summary["record"]:
            stored.add(summary["track_id"])

    plain = build_judge(build)
    judge = RecordingJudge(plain.backend, plain.reference, plain.variant)
    with tempfile.TemporaryDirectory() as tmp:
        sel = FrameSelector(FaceDetector(), judge, throwaway_vault(Path(tmp), settings.camera_id)[0], settings,
                            "figure", on_track_end=ended, on_score=keep)
        for frame in video_frames(video):
            sel.process(frame)
        sel.finish()
    return ClipRun({t: c for t, c in crops.items() if t in stored}, stack_rows(judge.rows), judge.reference,
                   dict(sel.counts))


def plot_strips(run: ClipRun, variant: str, out: Path, n_tracks: int, per_track: int) -> None:
    scores = run.scores(variant)
    longest = sorted(run.tracks, key=lambda t: -len(run.tracks[t]))[:n_tracks]
    title = f"Crops along each track with their quality score ({variant}); red: the one the camera keeps"
    fig, axes = _titled_grid(len(longest), per_track, (1.5, 1.75), title)
    for row, track_id in zip(axes, longest, strict=True):
        crops = run.tracks[track_id]
        best = int(np.argmax([scores[r] for _, r, _ in crops]))
        picks = sorted(set(np.linspace(0, len(crops) - 1, per_track - 1).round().astype(int)) | {best})
        picks = picks[:per_track]
        for ax in row:
            ax.axis("off")
        for ax, i in zip(row, picks, strict=False):
            frame, r, image = crops[i]
            ax.imshow(image)
            ax.set_title(f"f{frame}: {scores[r]:.1f}", fontsize=7, color="red" if i == best else "black")
            if i == best:
                _frame_red(ax)
        row[0].text(-0.1, 0.5, f"track {track_id}\n{len(crops)} crops", transform=row[0].transAxes,
                    ha="right", va="center", fontsize=7)
    save_figure(fig, out)


def plot_picks(run: ClipRun, variants: list[str], out: Path) -> None:
    """One row per stored track, one column per variant: the crop each variant keeps (red: differs from the
    first variant's)."""
    kept = {v: run.kept(v) for v in variants}
    tracks = sorted(run.tracks)
    fig, axes = _titled_grid(len(tracks), len(variants), (1.6, 1.75),
                             "The crop each score variant keeps; red: another frame than " + variants[0])
    for row, track_id in zip(axes, tracks, strict=True):
        images = {frame: image for frame, _, image in run.tracks[track_id]}
        for ax, variant in zip(row, variants, strict=True):
            frame = kept[variant][track_id]
            ax.imshow(images[frame])
            ax.set_title(f"{variant}\nf{frame}", fontsize=6)
            ax.axis("off")
            if frame != kept[variants[0]][track_id]:
                _frame_red(ax)
        row[0].text(-0.1, 0.5, f"track {track_id}", transform=row[0].transAxes, ha="right", va="center", fontsize=7)
    save_figure(fig, out)


def _titled_grid(rows: int, cols: int, cell: tuple[float, float], title: str) -> tuple[plt.Figure, np.ndarray]:
    """A figure of rows x cols axes under a title row of its own (tight_layout, which save_figure applies, does not
    leave room for a suptitle above tall grids)."""
    fig = plt.figure(figsize=(cell[0] * cols, cell[1] * rows + 0.4))
    grid = fig.add_gridspec(rows + 1, cols, height_ratios=[0.4 / cell[1], *[1] * rows])
    head = fig.add_subplot(grid[0, :])
    head.axis("off")
    head.text(0.5, 0.5, title, ha="center", va="center", fontsize=9)
    return fig, np.array([[fig.add_subplot(grid[r + 1, c]) for c in range(cols)] for r in range(rows)])


def _frame_red(ax: plt.Axes) -> None:
    ax.axis("on")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("red")
        spine.set_linewidth(3)


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.track_strips", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, required=True, help="video to run the camera pipeline on")
    ap.add_argument("--build", type=Path, default=DEFAULT_BUILD, help="build folder whose simulator scores")
    ap.add_argument("--tracks", type=positive_int, default=6, help="how many of the longest tracks to draw")
    ap.add_argument("--per-track", type=positive_int, default=8, help="crops per track")
    ap.add_argument("--score", choices=sorted(SCORES), default=DEFAULT_SCORE,
                    help=f"the variant whose keeps are framed (default {DEFAULT_SCORE}, the camera's)")
    ap.add_argument("--compare", nargs="+", choices=sorted(SCORES), default=[], metavar="VARIANT",
                    help="also print the frame each of these variants keeps per stored track, from the same run")
    ap.add_argument("--compare-out", type=output_file,
                    help="with --compare: also draw each variant's kept crop per track (--score's first) to this PNG")
    ap.add_argument("-o", "--out", type=output_file, required=True, help="PNG to write (holds face pixels)")
    args = ap.parse_args(argv)
    run = scored_tracks(args.video, args.build, Settings())
    plot_strips(run, args.score, args.out, args.tracks, args.per_track)
    print(f"wrote {args.out} ({min(args.tracks, len(run.tracks))} of {len(run.tracks)} stored tracks); "
          f"counts: {run.counts}")
    variants = list(dict.fromkeys([args.score, *args.compare]))
    if args.compare:
        kept = {v: run.kept(v) for v in variants}
        print("kept frame per stored track:\n" + "\n".join(
            f"track {t}: " + ", ".join(f"{v} f{kept[v][t]}" for v in variants) for t in sorted(run.tracks)))
    if args.compare and args.compare_out:
        plot_picks(run, variants, args.compare_out)
        print(f"wrote {args.compare_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
