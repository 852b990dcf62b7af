"""Documentation figure (paper Fig. 7): crops along the longest tracks of a video, scored, the kept one framed.

    python -m eval.track_strips --video ../shared/data/video/crowd.mp4 --tracks 24 -o docs/clips/crowd_tracks.png

Runs the camera pipeline (host/pipeline.py, the simulator of the shipped build) over the video and records
every scored crop in memory, then draws `--tracks` tracks x `--per-track` crops spread evenly along each,
always including the one the camera keeps (highest score, red frame). The figure holds face pixels: it is
for documentation, made on a workstation, never by the camera; the records of the run are thrown away.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from host.faces import FaceDetector
from host.judge import build_judge
from host.pipeline import FrameSelector, Settings
from host.run import DEFAULT_BUILD
from host.sources import Frame, video_frames
from host.vault import throwaway_vault
from quant.cli import CliParser, output_file, positive_int, reports_input_errors
from quant.plots import plt, save_figure


def scored_tracks(video: Path, build: Path, settings: Settings
                  ) -> tuple[dict[int, list[tuple[int, float, np.ndarray]]], dict[str, int]]:
    """Every scored crop of every track of `video` that the camera stores, (frame, score, crop), and the run's
    counts (frames, tracks, records, cuts, false faces, ...)."""
    crops: dict[int, list] = defaultdict(list)
    stored: set[int] = set()

    def keep(track_id: int, frame: Frame, score: float, image: np.ndarray) -> None:
        crops[track_id].append((frame.index, score, image))

    def ended(summary: dict, history: list) -> None:
        if summary["record"]:
            stored.add(summary["track_id"])

    judge = build_judge(build)
    with tempfile.TemporaryDirectory() as tmp:
        sel = FrameSelector(FaceDetector(), judge, throwaway_vault(Path(tmp), settings.camera_id)[0], settings,
                            "figure", on_track_end=ended, on_score=keep)
        for frame in video_frames(video):
            sel.process(frame)
        sel.finish()
    return {t: c for t, c in crops.items() if t in stored}, dict(sel.counts)


def plot_strips(tracks: dict[int, list], out: Path, n_tracks: int, per_track: int) -> None:
    longest = sorted(tracks, key=lambda t: -len(tracks[t]))[:n_tracks]
    fig, axes = plt.subplots(len(longest), per_track, figsize=(1.5 * per_track, 1.75 * len(longest)), squeeze=False)
    for row, track_id in zip(axes, longest, strict=True):
        crops = tracks[track_id]
        best = int(np.argmax([s for _, s, _ in crops]))
        picks = sorted(set(np.linspace(0, len(crops) - 1, per_track - 1).round().astype(int)) | {best})
        picks = picks[:per_track]
        for ax in row:
            ax.axis("off")
        for ax, i in zip(row, picks, strict=False):
            frame, score, image = crops[i]
            ax.imshow(image)
            ax.set_title(f"f{frame}: {score:.1f}", fontsize=7, color="red" if i == best else "black")
            if i == best:
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_edgecolor("red")
                    spine.set_linewidth(3)
        row[0].text(-0.1, 0.5, f"track {track_id}\n{len(crops)} crops", transform=row[0].transAxes,
                    ha="right", va="center", fontsize=7)
    fig.suptitle("Crops along each track with their quality score; red: the one the camera keeps", fontsize=9)
    save_figure(fig, out)


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.track_strips", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, required=True, help="video to run the camera pipeline on")
    ap.add_argument("--build", type=Path, default=DEFAULT_BUILD, help="build folder whose simulator scores")
    ap.add_argument("--tracks", type=positive_int, default=6, help="how many of the longest tracks to draw")
    ap.add_argument("--per-track", type=positive_int, default=8, help="crops per track")
    ap.add_argument("-o", "--out", type=output_file, required=True, help="PNG to write (holds face pixels)")
    args = ap.parse_args(argv)
    tracks, counts = scored_tracks(args.video, args.build, Settings())
    plot_strips(tracks, args.out, args.tracks, args.per_track)
    print(f"wrote {args.out} ({min(args.tracks, len(tracks))} of {len(tracks)} stored tracks); counts: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
