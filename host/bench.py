"""Benchmark of the camera program: end-to-end frames/s with per-stage times, real time on one core, memory.

    python -m host.bench                      # the six clips of ../shared/data/video + 10,000-frame stream

1. The crowd clip (1920x1080, 25 fps, 105 frames) through the whole pipeline on the simulator, in several
   configurations (detector resolution and rate, scoring rate): frames/s and milliseconds per frame per stage.
2. Every clip of `--clips` frame by frame with the defaults of host.run: frames/s and persons stored.
3. The same clips in real time on one core (a child process pinned to one CPU, one BLAS thread), each played
   as a camera delivering `--fps` frames/s (host.run --realtime): frames dropped, the cadence it ran at,
   whether it kept up, which persons of the frame-by-frame run it lost (no stored track on the same face) and when
   that run saw them, and what one search of the whole frame costs on that core.
4. A synthetic stream of walk-by clips (a new person every 75 frames, 320x240) for `--stream-frames` frames:
   resident memory sampled along the way; it must stay flat (kept crops leave memory when tracks end).
Writes a JSON of all figures and a memory plot.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from tqdm import tqdm

from host import cuts
from host.accelerated import BundleError
from host.cadence import BEHIND, CadenceController
from host.faces import FaceDetector
from host.judge import QualityJudge, build_judge
from host.pipeline import BLAS_THREADS, WHOLE_SEARCHES, FrameSelector, Settings, blas_threads, detect_scaled, processed
from host.run import DEFAULT_BUILD, FULL_DETECT_EVERY, MAX_DETECT_EVERY, MAX_SCORE_EVERY, resolve_whole_search
from host.sources import PREFETCH, Newest, array_frames, frame_count, paced, prefetched, video_frames
from host.tracking import iou
from host.vault import throwaway_vault
from host.walkby import walkby_clip

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT.parent / "shared" / "data" / "video"
CROWD = VIDEOS / "crowd.mp4"
CLIPS = ("crowd.mp4", "cuts-dance.mp4", "cuts-singer.mp4", "two-people.mp4", "expressions.mp4", "face-then-title.mov")
CAMERA_FPS = 25.0
WHOLE_SEARCH_FRAMES = 6    # frames, spread over a clip, on which a whole-frame search is timed
SPARSE = Settings(detect_every=5, detect_width=640, score_every=4)


@dataclass(frozen=True)
class Config:
    """One crowd-clip run: pipeline settings and how the program uses the CPU (its defaults: the host.run ones)."""

    settings: Settings
    prefetch: int = PREFETCH
    blas_threads: int = BLAS_THREADS


CONFIGS = {
    "every frame, detect at 960 px (defaults)": Config(Settings()),
    "every frame at 960 px, no prefetch, BLAS on all cores": Config(Settings(), 0, 0),
    "detect every 2nd frame at 640 px": Config(Settings(detect_every=2, detect_width=640)),
    "detect every 2nd at 640 px, score every 4th": Config(Settings(detect_every=2, detect_width=640, score_every=4)),
    "detect every 5th at 640 px, score every 2nd": Config(Settings(detect_every=5, detect_width=640, score_every=2)),
    "detect every 5th at 640 px, score every 4th": Config(SPARSE),
    "every 5th at 640 px, score every 4th, no prefetch, BLAS on all cores": Config(SPARSE, 0, 0),
}


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def logged_boxes(sel: FrameSelector) -> dict[int, dict[int, list[float]]]:
    """Each track's box per detection frame, filled in as `sel` runs (a merged track's go to its survivor)."""
    boxes: dict[int, dict[int, list[float]]] = {}
    update = sel.tracker.update

    def logging_update(frame, detections, looks=None):
        result = update(frame, detections, looks)
        for older, younger in result.merged:
            boxes.setdefault(older.id, {}).update(boxes.pop(younger.id, {}))
        for track, det in result.matched:
            boxes.setdefault(track.id, {})[frame] = list(det.box)
        return result

    sel.tracker.update = logging_update
    return boxes


def run_pipeline(judge: QualityJudge, frames, settings: Settings, folder: Path, on_frame=None,
                 bounds: tuple[int, int] | None = None, keep_boxes: bool = False) -> dict:
    """One run; with `bounds` (max detect-every, max score-every) the cadence adapts as in real time
    ("cadence"); with `keep_boxes` the result holds each stored track's boxes ("stored_boxes", for
    `lost_persons`)."""
    sel = FrameSelector(FaceDetector(), judge, throwaway_vault(folder, settings.camera_id)[0], settings, "bench")
    boxes = logged_boxes(sel)
    controller = CadenceController(sel.cadence, *bounds) if bounds else None
    t0 = time.perf_counter()
    for _ in processed(sel, frames, controller):
        if on_frame is not None:
            on_frame(sel)
    sel.finish()
    wall = time.perf_counter() - t0
    n = sel.counts["frames"]
    best = [t["best_score"] for t in sel.tracks if t["record"]]   # how good a choice the settings allow
    result = {**sel.counts, "wall_seconds": round(wall, 2), "frames_per_second": round(n / wall, 2),
              "ms_per_frame": {k: round(1000 * v / n, 2) for k, v in sel.timer.seconds.items()},
              "median_best_score": round(float(np.median(best)), 2) if best else None}
    if controller is not None:
        result["cadence"] = controller.summary()
    if keep_boxes:
        result["stored_boxes"] = {t["track_id"]: boxes[t["track_id"]] for t in sel.tracks if t["record"]}
    return result


def lost_persons(reference: dict, run: dict) -> list[int]:
    """Stored tracks of `reference` with no stored track of `run` on the same face (box IoU > 0.5 on a frame);
    either may have been through JSON (frame numbers as strings)."""
    def frames(boxes: dict) -> dict[int, np.ndarray]:
        return {int(f): np.array(b) for f, b in boxes.items()}

    def same(a: dict, b: dict) -> bool:
        return any(iou(a[f], b[f]) > 0.5 for f in a.keys() & b.keys())

    found = [frames(b) for b in run["stored_boxes"].values()]
    return [int(t) for t, boxes in reference["stored_boxes"].items()
            if not any(same(frames(boxes), b) for b in found)]


def crowd_benchmark(judge: QualityJudge, video: Path) -> dict:
    results = {}
    for name, config in CONFIGS.items():
        frames = video_frames(video)
        with tempfile.TemporaryDirectory() as tmp, blas_threads(config.blas_threads):
            r = run_pipeline(judge, prefetched(frames, config.prefetch) if config.prefetch else frames,
                             config.settings, Path(tmp))
        results[name] = {**r, "prefetch": config.prefetch, "blas_threads": config.blas_threads}
        print(f"{name:68s} {r['frames_per_second']:6.2f} frames/s  {r['persons']:3d} persons  "
              f"{r['faces_scored']:4d} crops scored  median best score {r['median_best_score']}  "
              f"ms/frame: {r['ms_per_frame']}")
    return results


def clips_benchmark(judge: QualityJudge, clips: list[Path]) -> dict:
    """Every clip frame by frame with host.run's defaults (stored boxes kept for `lost_persons`)."""
    results = {}
    for clip in clips:
        with tempfile.TemporaryDirectory() as tmp, blas_threads(BLAS_THREADS):
            r = run_pipeline(judge, prefetched(video_frames(clip), PREFETCH), Settings(), Path(tmp), keep_boxes=True)
        results[clip.name] = r
        print(f"{clip.name:22s} {r['frames']:4d} frames {r['frames_per_second']:6.2f} frames/s  {r['persons']:3d} "
              f"persons  ms/frame: {r['ms_per_frame']}")
    return results


def whole_search_ms(clip: Path, settings: Settings, frames: int = WHOLE_SEARCH_FRAMES) -> float:
    """Median milliseconds of one search of the whole frame (MTCNN's image pyramid at `settings`' detection width
    and minimum face) on every (length // `frames`)-th frame of `clip` from the first (`frames` or one more; its
    first `frames` when its length is unknown)."""
    count, detector, seconds = frame_count(clip), FaceDetector(), []
    for frame in itertools.islice(video_frames(clip), 0, None if count else frames, max(1, count // frames)):
        t0 = time.perf_counter()
        detect_scaled(detector, frame.rgb, settings.detect_width, settings.min_face)
        seconds.append(time.perf_counter() - t0)
    return round(1000 * float(np.median(seconds)), 1)


def realtime_benchmark(judge: QualityJudge, clips: list[Path], fps: float, whole_search: str) -> dict:
    """Every clip played as a camera delivering `fps` frames/s, in real time with host.run's defaults but for its
    --whole-search `whole_search`; first, what one search of the whole frame costs there, in milliseconds and in
    frame intervals (a schedule that does not search the whole frame on every frame can miss a face seen on only a
    few)."""
    results, settings = {}, Settings(full_every=FULL_DETECT_EVERY, whole_search=whole_search)
    for clip in clips:
        whole_ms = whole_search_ms(clip, settings)
        live = Newest(cuts.marked(paced(video_frames(clip), fps=fps)))
        with tempfile.TemporaryDirectory() as tmp, blas_threads(1):
            r = run_pipeline(judge, live, settings, Path(tmp),
                             bounds=(MAX_DETECT_EVERY, MAX_SCORE_EVERY), keep_boxes=True)
        offered = r["frames"] + live.dropped
        results[clip.name] = {**r, "camera_fps": fps, "frames_offered": offered, "frames_dropped": live.dropped,
                              "kept_up": kept_up(r["cadence"]), "whole_search_ms": whole_ms,
                              "whole_search_frame_intervals": round(whole_ms * fps / 1000, 2)}
        print(f"{clip.name:22s} real time at {fps:g} frames/s: {live.dropped} of {offered} frames dropped, "
              f"{r['persons']} persons, cadence {r['cadence']}, a whole-frame search {whole_ms} ms")
    return results


def kept_up(cadence: dict) -> bool:
    """Whether a real-time run kept up: busy at most `BEHIND` of the time, and never behind at its bounds."""
    return cadence["behind_at_bounds"] == 0 and cadence["busy_share"] <= BEHIND


def one_core(clips: list[Path], build: Path, fps: float, whole_search: str) -> dict:
    """`realtime_benchmark` in a child process pinned to one CPU (the first this process may use)."""
    core = min(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "realtime.json"
        subprocess.run([sys.executable, "-m", "host.bench", "--realtime-only", "--clips", *map(str, clips),
                        "--build", str(build), "--fps", str(fps), "--stream-frames", "0", "--json", str(out),
                        "--whole-search", whole_search],
                       cwd=ROOT, check=True, preexec_fn=lambda: os.sched_setaffinity(0, {core}))
        return {"cpu": core, **json.loads(out.read_text())["realtime"]}


def seen(boxes: dict) -> dict:
    """When a stored track was seen: its first and last frame and how many detections it had."""
    frames = sorted(map(int, boxes))
    return {"first": frames[0], "last": frames[-1], "detections": len(frames)}


def compare(reference: dict, realtime: dict) -> None:
    """Add to each real-time result the persons of the frame-by-frame run it lost, and when the frame-by-frame run
    saw each of them; drop the boxes."""
    for name, r in realtime.items():
        if isinstance(r, dict):
            lost = lost_persons(reference[name], r) if name in reference else None
            r["persons_lost"] = lost
            if lost is not None:
                r["lost_seen"] = {int(t): seen(b) for t, b in reference[name]["stored_boxes"].items() if int(t) in lost}
            r.pop("stored_boxes")
    for r in reference.values():
        r.pop("stored_boxes")


def stream_frames(total: int, size: tuple[int, int]):
    clips = itertools.chain.from_iterable(walkby_clip(size=size, seed=i) for i in itertools.count())
    return array_frames(itertools.islice(clips, total))


def memory_benchmark(judge: QualityJudge, total: int, out: Path) -> dict:
    samples: list[tuple[int, float]] = []
    bar = tqdm(total=total, desc="stream", unit="frame")

    def sample(sel: FrameSelector) -> None:
        bar.update()
        if sel.counts["frames"] % 250 == 0:
            samples.append((sel.counts["frames"], rss_mb()))

    settings = Settings(detect_every=5, score_every=3)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_pipeline(judge, stream_frames(total, (320, 240)), settings, Path(tmp), sample)
    bar.close()
    warm = [m for f, m in samples if f >= total // 10]
    result.update(settings=vars(settings), rss_mb=samples, rss_after_warmup_mb=round(warm[0], 1),
                  rss_end_mb=round(samples[-1][1], 1), rss_max_mb=round(max(m for _, m in samples), 1))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([f for f, _ in samples], [m for _, m in samples], marker=".")
    ax.set_xlabel("frames processed")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_title(f"host pipeline, {total:,} frames, {result['persons']} persons (simulator)", fontsize=9)
    ax.set_ylim(0, max(m for _, m in samples) * 1.1)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"stream: {total} frames, {result['persons']} persons, RSS after warm-up {result['rss_after_warmup_mb']} "
          f"MiB, at the end {result['rss_end_mb']} MiB, max {result['rss_max_mb']} MiB -> {out}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=CROWD, help="clip for the configurations' frames/s figures")
    ap.add_argument("--clips", type=Path, nargs="*", default=[VIDEOS / c for c in CLIPS],
                    help="clips run with the defaults, frame by frame and in real time on one core (none: skip)")
    ap.add_argument("--fps", type=float, default=CAMERA_FPS, help="the camera rate the real-time runs are told")
    ap.add_argument("--realtime-only", action="store_true",
                    help="only the real-time runs of --clips, in this process on whatever CPUs it has (the "
                         "benchmark runs itself so, pinned to one core)")
    ap.add_argument("--whole-search", choices=WHOLE_SEARCHES,
                    help="the real-time runs' host.run --whole-search (default: host.run's)")
    ap.add_argument("--build", type=Path, default=DEFAULT_BUILD, help="build folder whose simulator scores")
    ap.add_argument("--stream-frames", type=int, default=10_000, help="length of the memory test stream (0: skip)")
    ap.add_argument("--skip-crowd", action="store_true", help="no crowd-clip configurations")
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "host_bench.json", help="where the figures go")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "host_memory.png", help="memory plot")
    args = ap.parse_args(argv)
    if missing := [str(p) for p in [args.video, *args.clips] if not p.is_file()]:
        ap.error(f"--video and --clips must be video files, not {', '.join(missing)}")
    if args.fps <= 0 or args.stream_frames < 0:
        ap.error(f"--fps must be > 0 and --stream-frames >= 0, not {args.fps} and {args.stream_frames}")
    try:
        judge = build_judge(args.build)
    except BundleError as exc:
        ap.error(f"--build must be a build folder: {exc}")
    try:
        args.whole_search = resolve_whole_search(args.whole_search, FULL_DETECT_EVERY)
    except ValueError as exc:
        ap.error(str(exc))
    report = {"date": time.strftime("%Y-%m-%d"), "video": str(args.video), "whole_search": args.whole_search}
    if args.realtime_only:
        report["realtime"] = realtime_benchmark(judge, args.clips, args.fps, args.whole_search)
    else:
        if not args.skip_crowd:
            report["crowd"] = crowd_benchmark(judge, args.video)
        if args.clips:
            report["clips"] = clips_benchmark(judge, args.clips)
            report["one_core_realtime"] = one_core(args.clips, args.build, args.fps, args.whole_search)
            compare(report["clips"], report["one_core_realtime"])
    if args.stream_frames:
        report["stream"] = memory_benchmark(judge, args.stream_frames, args.plot)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
