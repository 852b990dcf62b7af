"""Benchmark of the camera program: end-to-end frames/s with per-stage times, and memory over a long stream.

    python -m host.bench                      # crowd clip (../shared/data/video/crowd.mp4) + 10,000-frame stream

1. The crowd clip (1920x1080, 25 fps, 105 frames) through the whole pipeline on the simulator, in several
   configurations (detector resolution and rate, scoring rate): frames/s and milliseconds per frame per stage.
2. A synthetic stream of walk-by clips (a new person every 75 frames, 320x240) for `--stream-frames` frames:
   resident memory sampled along the way; it must stay flat (kept crops leave memory when tracks end).
Writes a JSON of all figures and a memory plot.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from tqdm import tqdm

from host.faces import FaceDetector
from host.judge import QualityJudge, build_judge
from host.pipeline import BLAS_THREADS, FrameSelector, Settings, blas_threads, timed_frames
from host.run import DEFAULT_BUILD
from host.sources import PREFETCH, array_frames, prefetched, video_frames
from host.vault import Vault
from host.walkby import walkby_clip

ROOT = Path(__file__).resolve().parents[1]
CROWD = ROOT.parent / "shared" / "data" / "video" / "crowd.mp4"
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


def run_pipeline(judge: QualityJudge, frames, settings: Settings, folder: Path, on_frame=None) -> dict:
    sel = FrameSelector(FaceDetector(), judge, Vault(folder, X25519PrivateKey.generate().public_key()), settings,
                        "bench")
    t0 = time.perf_counter()
    for frame in timed_frames(frames, sel.timer):
        sel.process(frame)
        if on_frame is not None:
            on_frame(sel)
    sel.finish()
    wall = time.perf_counter() - t0
    n = sel.counts["frames"]
    best = [t["best_score"] for t in sel.tracks if t["record"]]   # how good a choice the settings allow
    return {**sel.counts, "wall_seconds": round(wall, 2), "frames_per_second": round(n / wall, 2),
            "ms_per_frame": {k: round(1000 * v / n, 2) for k, v in sel.timer.seconds.items()},
            "median_best_score": round(float(np.median(best)), 2) if best else None}


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
    ap.add_argument("--video", type=Path, default=CROWD, help="clip for the frames/s figures")
    ap.add_argument("--build", type=Path, default=DEFAULT_BUILD, help="build folder whose simulator scores")
    ap.add_argument("--stream-frames", type=int, default=10_000, help="length of the memory test stream (0: skip)")
    ap.add_argument("--skip-crowd", action="store_true", help="only the memory test")
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "host_bench.json", help="where the figures go")
    ap.add_argument("--plot", type=Path, default=ROOT / "docs" / "host_memory.png", help="memory plot")
    args = ap.parse_args(argv)
    judge = build_judge(args.build)
    report = {"date": time.strftime("%Y-%m-%d"), "video": str(args.video)}
    if not args.skip_crowd:
        report["crowd"] = crowd_benchmark(judge, args.video)
    if args.stream_frames:
        report["stream"] = memory_benchmark(judge, args.stream_frames, args.plot)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
