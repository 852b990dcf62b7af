"""The camera program: keep one encrypted, high-quality snapshot of each person a video shows.

    python -m host.run                                   # built-in synthetic walk-by clip, simulator, demo keys
    python -m host.run --video crowd.mp4 --authority-key keys/authority.pub --out vault/
    python -m host.run --camera 0 --backend fpga --authority-key /etc/facevault/authority.pub --out /var/facevault

Frames -> MTCNN (every k-th frame, downscaled) -> tracking -> 64x64 crops -> the VAE on the accelerator
(simulator or FPGA) -> quality score -> per track the best crop, kept in memory and encrypted to the
authority's public key when the track ends. Writes OUT/records/*.fvr (ciphertext), OUT/report.json (counts,
timings, scores) and OUT/plots/track-*.svg (score over time); never a face pixel in plaintext.
Without --video/--camera it generates a synthetic walk-by clip and, without --authority-key, a throwaway
demo authority (2-of-3 shares in OUT/demo-authority) so that the result can be decrypted and looked at.
Exit codes: 0 done, 1 some records could not be written, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python host/run.py): make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm

from host.accelerated import BundleError, load_manifest
from host.faces import FaceDetector
from host.fpga import DmaTimeout, fpga_vae
from host.judge import QualityJudge, build_judge
from host.pipeline import BLAS_THREADS, FrameSelector, Settings, blas_threads, timed_frames
from host.quality import DEFAULT_SCORE, SCORES
from host.report import TrackPlots, write_report
from host.sources import PREFETCH, SourceError, array_frames, camera_frames, prefetched, video_frames
from host.vault import Vault, VaultError, load_public_key, purge_expired, remove_stale_temporaries

log = logging.getLogger("facevault")
DEFAULT_BUILD = Path(__file__).resolve().parents[1] / "bitstreams" / "zcu104-vae_w4a4_c24"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m host.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--video", type=Path, help="video file to process")
    src.add_argument("--camera", type=int, metavar="N", help="live camera device number (OpenCV)")
    ap.add_argument("--backend", choices=("sim", "fpga"), default="sim",
                    help="the VAE accelerator: the bit-accurate simulator (any PC) or the FPGA (PYNQ board)")
    ap.add_argument("--build", type=Path, default=DEFAULT_BUILD,
                    help="build folder of the accelerators (manifest, simulator artefacts, bitstream)")
    ap.add_argument("--out", type=Path, default=Path("facevault-out"),
                    help="output folder: records/, report.json, plots/ (default: ./facevault-out)")
    ap.add_argument("--authority-key", type=Path,
                    help="the authority's X25519 public key (PEM, python -m authority keygen); required with "
                         "--video/--camera")
    ap.add_argument("--camera-id", default="camera-0", help="this camera's name, written into every record")
    ap.add_argument("--retention", type=float, default=30.0, metavar="DAYS",
                    help="days after a person was last seen until the record expires (purged at start-up)")
    ap.add_argument("--score", choices=sorted(SCORES), default=DEFAULT_SCORE, help="quality score that ranks crops")
    ap.add_argument("--detect-every", type=int, default=1, metavar="K",
                    help="run the face detector on every K-th frame (tracks persist in between)")
    ap.add_argument("--detect-width", type=int, default=960,
                    help="downscale wider frames to this width for detection (faster; misses tiny faces)")
    ap.add_argument("--score-every", type=int, default=1, metavar="K",
                    help="score a person's crop on every K-th detection only (1: every one; >1 trades selection "
                         "for speed where the accelerator is the simulator)")
    ap.add_argument("--clip", type=int, default=0, metavar="N",
                    help="also store, encrypted as a second record, the crops of N detections before and after "
                         "each person's best one (0: only the best crop)")
    ap.add_argument("--min-hits", type=int, default=3, help="detections before a track counts as a person")
    ap.add_argument("--max-age", type=int, default=12, help="frames without detection before a track ends")
    ap.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: whole input)")
    ap.add_argument("--prefetch", type=int, default=PREFETCH, metavar="N",
                    help="frames read and decoded ahead by a background thread (0: read in the main loop)")
    ap.add_argument("--blas-threads", type=int, default=BLAS_THREADS, metavar="N",
                    help="threads numpy's BLAS may use for the simulator's matrix products (0: numpy's default; "
                         "1 leaves the other cores to the detector)")
    ap.add_argument("--timeout", type=float, default=5.0, help="fpga: seconds to wait for one DMA transfer")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def make_judge(args: argparse.Namespace) -> tuple[QualityJudge, str]:
    """The accelerator backend of the build folder, its score reference, and the model id for records."""
    manifest = load_manifest(args.build)
    backend = None if args.backend == "sim" else fpga_vae(args.build, timeout=args.timeout)
    judge = build_judge(args.build, backend, args.score)
    model_id = hashlib.sha256((args.build / "manifest.json").read_bytes()).hexdigest()[:16]
    log.info("model %s (%s), backend %s", manifest.get("model"), model_id, args.backend)
    return judge, model_id


def open_source(args: argparse.Namespace):
    if args.video is not None:
        return video_frames(args.video)
    if args.camera is not None:
        return camera_frames(args.camera)
    from host.walkby import SOURCE, walkby_clip

    print(f"no --video or --camera: generating a synthetic walk-by clip from {SOURCE}", file=sys.stderr)
    return array_frames(walkby_clip())


def authority_key(args: argparse.Namespace):
    if args.authority_key is not None:
        return load_public_key(args.authority_key)
    if args.video is not None or args.camera is not None:
        raise VaultError("--authority-key is required: records are encrypted to the authority's public key")
    from authority.shares import generate

    folder = args.out / "demo-authority"
    public, _ = generate(folder, ["judge", "operator", "dpo"], 2)
    print(f"demo only: made a throwaway authority key in {folder} (2 of 3 shares open the records)", file=sys.stderr)
    return load_public_key(public)


class _Stop(Exception):
    pass


def _stop(signum, frame) -> None:
    raise _Stop(signal.Signals(signum).name)


def run(args: argparse.Namespace) -> int:
    settings = Settings(camera_id=args.camera_id, retention_days=args.retention, detect_every=args.detect_every,
                        detect_width=args.detect_width, min_hits=args.min_hits, max_age=args.max_age,
                        score_every=args.score_every, clip=args.clip)
    key = authority_key(args)
    judge, model_id = make_judge(args)
    frames = open_source(args)
    if args.prefetch:
        frames = prefetched(frames, args.prefetch)
    records = args.out / "records"
    vault = Vault(records, key)
    for path in remove_stale_temporaries(records):
        log.warning("removed %s left by an interrupted run (ciphertext only)", path.name)
    for path in purge_expired(records, time.time()):
        log.info("purged expired record %s", path.name)
    selector = FrameSelector(FaceDetector(), judge, vault, settings, model_id, TrackPlots(args.out / "plots"))
    t0 = time.perf_counter()
    stopped_by = None
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with tqdm(desc="frames", unit="frame", disable=args.quiet) as bar:
            for frame in timed_frames(frames, selector.timer):
                selector.process(frame)
                bar.update()
                bar.set_postfix(persons=selector.counts["persons"] + len(selector.keepers), refresh=False)
                if args.max_frames and selector.counts["frames"] >= args.max_frames:
                    break
    except (KeyboardInterrupt, _Stop) as exc:
        stopped_by = type(exc).__name__ if isinstance(exc, KeyboardInterrupt) else str(exc)
        print(f"stopped by {stopped_by}: storing the open tracks", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        selector.finish()
        wall = time.perf_counter() - t0
        report = {"camera_id": settings.camera_id, "model": model_id, "backend": args.backend,
                  "source": str(args.video) if args.video else (f"camera {args.camera}" if args.camera is not None
                                                                else "synthetic walk-by"),
                  "settings": vars(settings), "stopped_by": stopped_by, **selector.counts,
                  "unstored_records": len(selector.pending), "wall_seconds": wall,
                  "frames_per_second": selector.counts["frames"] / wall if wall else None,
                  "stage_seconds": dict(selector.timer.seconds), "tracks": selector.tracks}
        write_report(args.out / "report.json", report)
    c = selector.counts
    print(f"{c['frames']} frames, {c['faces']} faces, {c['persons']} person(s): {c['records']} record(s) in "
          f"{records} ({report['frames_per_second']:.1f} frames/s)")
    if args.authority_key is None and c["records"]:
        keys = args.out / "demo-authority"
        print(f"open them (any 2 of the 3 demo shares): python -m authority decrypt {records} "
              f"--share {keys / 'share-judge.json'} --share {keys / 'share-dpo.json'} --reason demo "
              f"--out {args.out / 'opened'}")
    if selector.pending:
        print(f"error: {len(selector.pending)} record(s) could not be written (see the log); they are lost "
              "when this process ends", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        with blas_threads(args.blas_threads):
            return run(args)
    except (SourceError, VaultError, BundleError, DmaTimeout, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
