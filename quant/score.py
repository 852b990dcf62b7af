"""Score face images with the quality VAE: one JSON object per image.

    python -m quant.score --backend float --json IMG [IMG ...]
    python -m quant.score --json --csv scores.csv FOLDER      # every image under FOLDER, also for a spreadsheet

Each image: MTCNN finds the main face (the one nearest the image centre), the shared crop function
makes the 64x64 grey crop, the backend runs 1 encoder + L decoder passes and the host computes
`log_rp` (the paper's raw reconstruction probability) and `score` (the chosen quality score, higher =
better; `--score` selects another). Without images, a built-in demo scores a public-domain portrait
(scikit-image's "astronaut", NASA) and degraded copies of it.

Images are read, detected and scored 32 at a time, so memory does not grow with their number; JSON and
CSV rows are written as each batch is done (the table is printed, ranked, at the end). An image that
cannot be read (missing, unreadable, not an image) gets an error line on stderr and a CSV row with its
`error`, and the run goes on (exit code 1). An option the program cannot use at all (a checkpoint that is
not one, a --csv that cannot be written) stops it with exit code 2 before anything is scored.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TextIO

import numpy as np
from tqdm import tqdm

from host.faces import CROP_SIZE, Detection, FaceDetector, ImageError, crop_face, main_face, read_rgb
from host.judge import REFERENCE_FILE, QualityJudge
from host.pose import landmark_array
from host.quality import DEFAULT_SCORE, SCORES, Reference
from host.scoring import VAEBackend
from quant.cli import CliParser, load_input, output_file, reports_input_errors
from quant.data import IMAGE_SUFFIXES
from quant.plots import plot_crops

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS / "upsample" / "vae_float_c32_upsample.pt"
BATCH = 32                                     # images read, detected and scored together
Image = tuple[str, np.ndarray | str]           # a name and its RGB pixels, or why they could not be read
JSON_FIELDS = ("path", "face", "score", "log_rp", "box", "confidence")
CSV_COLUMNS = ("path", "face", "score", "log_rp", "box_x", "box_y", "box_w", "box_h", "confidence", "error")


def image_files(inputs: Iterable[Path]) -> Iterator[Path]:
    """The inputs in order, each folder replaced (lazily, sorted, recursively) by the image files under it."""
    for path in inputs:
        if path.is_dir():
            yield from image_files(p for p in sorted(path.iterdir())
                                   if p.is_dir() or p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def read_images(paths: Iterable[Path]) -> Iterator[Image]:
    """Each path's name and RGB pixels as they are asked for, or why it could not be read."""
    for path in paths:
        try:
            yield str(path), read_rgb(path)
        except (ImageError, OSError) as exc:
            yield str(path), (exc.strerror if isinstance(exc, OSError) and exc.strerror
                              else str(exc).removeprefix(f"{path}: "))


def _result(path: str, det: Detection | None = None, error: str | None = None) -> dict:
    return {"path": path, "face": None if error else det is not None, "score": None, "log_rp": None,
            "box": None if det is None else [round(v, 1) for v in det.box],
            "confidence": None if det is None else round(det.confidence, 4), "error": error}


Cropped = tuple[dict, np.ndarray | None, Detection | None]   # result stub, crop, detection


def crop_images(images: Iterable[Image], detector: FaceDetector) -> list[Cropped]:
    """Detect the main face of each image: its result stub, its crop and its detection (None without a face
    or pixels)."""
    out: list[Cropped] = []
    for name, rgb in images:
        if isinstance(rgb, str):
            out.append((_result(name, error=rgb), None, None))
        else:
            det = main_face(detector.detect(rgb), rgb.shape)
            out.append((_result(name, det), None if det is None else crop_face(rgb, det.box), det))
    return out


def score_crops(rows: list[Cropped], judge: QualityJudge) -> None:
    """Fill `score` and `log_rp` of the results that have a crop (pose and size from their detections)."""
    found = [(r, crop, det) for r, crop, det in rows if crop is not None and det is not None]
    crops = np.stack([c for _, c, _ in found]) if found else np.zeros((0, CROP_SIZE, CROP_SIZE), np.uint8)
    boxes = np.array([d.box for _, _, d in found]).reshape(-1, 4)
    scored = judge.score(crops, boxes, landmark_array([d.landmarks for _, _, d in found]))
    for (r, _, _), s, lrp in zip(found, *scored, strict=True):
        r["score"], r["log_rp"] = float(s), float(lrp)


def score_images(images: Iterable[Image], judge: QualityJudge,
                 batch: int = BATCH) -> Iterator[tuple[dict, np.ndarray | None]]:
    """Each image's result and crop, in order, taking `batch` images from `images` at a time."""
    detector = FaceDetector()
    images = iter(images)
    while chunk := list(islice(images, batch)):
        rows = crop_images(chunk, detector)
        score_crops(rows, judge)
        yield from ((r, crop) for r, crop, _ in rows)


def demo_images() -> list[Image]:
    """The built-in input: scikit-image's public-domain astronaut portrait, clean and degraded."""
    from skimage import data

    from quant.degradations import DEGRADATIONS, REFERENCE_LEVEL, degrade

    rgb = np.ascontiguousarray(data.astronaut())
    return [("astronaut (clean)", rgb)] + [
        (f"astronaut ({name}, level {REFERENCE_LEVEL})", degrade(rgb, name, REFERENCE_LEVEL))
        for name in DEGRADATIONS]


BACKENDS = ("float", "quant", "sim")
MODEL_RULES = {"float": "a float VAE checkpoint (python -m quant.train)",
               "quant": "a QAT checkpoint (python -m quant.qat)",
               "sim": "a hw build folder (python -m hw.build)"}
DEFAULT_BUILD = Path(__file__).resolve().parents[1] / "bitstreams" / "zcu104-vae_w4a4_c24"


def make_backend(kind: str, checkpoint: Path) -> VAEBackend:
    """``float``: the float PyTorch VAE; ``quant``: the Brevitas low-bit VAE (a quant.qat checkpoint);
    ``sim``: the bit-accurate simulator of a hw build folder (`checkpoint` is then that folder)."""
    if kind == "sim":
        from host.accelerated import simulated_vae

        return simulated_vae(checkpoint)
    if kind == "float":
        from quant.float_backend import FloatBackend

        return FloatBackend(checkpoint)
    if kind == "quant":
        from quant.quant_backend import QuantBackend

        return QuantBackend(checkpoint)
    raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {kind!r}")


def reference_path(kind: str, checkpoint: Path) -> Path:
    """Where a backend's score reference lies: beside the checkpoint, or inside a build folder."""
    return (checkpoint if kind == "sim" else checkpoint.parent) / REFERENCE_FILE


def load_judge(kind: str, checkpoint: Path, variant: str = DEFAULT_SCORE) -> QualityJudge:
    """A backend with its score reference; InputError where `checkpoint` is not what the backend needs."""
    return load_input("--checkpoint", MODEL_RULES[kind], lambda p: QualityJudge(
        make_backend(kind, p), Reference.load(reference_path(kind, p)), variant), checkpoint)


class JsonList:
    """A JSON list written one object per line as the objects come; valid JSON once closed."""

    def __init__(self, out: TextIO) -> None:
        self.out, self.sep = out, "[\n"

    def write(self, obj: dict) -> None:
        self.out.write(self.sep + json.dumps(obj))
        self.out.flush()
        self.sep = ",\n"

    def close(self) -> None:
        self.out.write("[]\n" if self.sep == "[\n" else "\n]\n")


def csv_row(r: dict) -> list:
    """A result as a CSV row (CSV_COLUMNS; empty cells for None)."""
    return [r["path"], r["face"], r["score"], r["log_rp"], *(r["box"] or [None] * 4), r["confidence"], r["error"]]


def write_results(results: Iterable[tuple[dict, np.ndarray | None]], args: argparse.Namespace,
                  csv_file: TextIO | None) -> int:
    """Send each result where `args` asks as it comes (stdout, `csv_file`, the montage); the number of images
    that could not be read."""
    failed, ranked, shown = 0, [], []
    sheet = csv.writer(csv_file) if csv_file else None
    if sheet:
        sheet.writerow(CSV_COLUMNS)
    listing = JsonList(sys.stdout) if args.json else None
    for r, crop in results:
        if sheet:
            sheet.writerow(csv_row(r))
        if r["error"]:
            failed += 1
            tqdm.write(f"error: {r['path']}: {r['error']}", file=sys.stderr)
        elif listing:
            listing.write({k: r[k] for k in JSON_FIELDS})
        else:
            ranked.append((r["score"], r["log_rp"], r["path"]))
        if args.montage and crop is not None:
            shown.append((crop, f"{r['path']}\n{args.score} {r['score']:.1f}, log RP {r['log_rp']:.0f}"))
    if listing:
        listing.close()
    for score, log_rp, path in sorted(ranked, key=lambda t: np.inf if t[0] is None else -t[0]):
        text = "no face" if score is None else f"{score:10.2f}   log RP {log_rp:10.1f}"
        print(f"{text:40s} {path}")
    if shown:
        plot_crops(np.stack([c for c, _ in shown]), [t for _, t in shown], args.montage)
    return failed


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m quant.score", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*", type=Path,
                    help="image files, and folders (every image file under them, sorted); none: the built-in demo")
    ap.add_argument("--backend", choices=BACKENDS, default="float",
                    help="which model computes the VAE: float PyTorch, the Brevitas low-bit model (--checkpoint "
                         "must then be a quant.qat checkpoint), or the bit-accurate accelerator simulator "
                         "(--checkpoint is then a hw build folder; default bitstreams/zcu104-vae_w4a4_c24)")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="float checkpoint (default), quant.qat checkpoint (--backend quant) or build folder "
                         "(--backend sim); its score reference must lie beside it, or in the build folder "
                         "(score_reference.json)")
    ap.add_argument("--score", choices=sorted(SCORES), default=DEFAULT_SCORE,
                    help=f"quality score reported as `score` (default: {DEFAULT_SCORE})")
    ap.add_argument("--json", action="store_true",
                    help="print a JSON list, one object per line as images are scored, instead of the ranked "
                         "table (images that cannot be read are left out: see stderr or --csv)")
    ap.add_argument("--csv", type=Path, metavar="FILE",
                    help="also write one row per image to FILE as images are scored: " + ", ".join(CSV_COLUMNS)
                         + " (error: why an image could not be read)")
    ap.add_argument("--montage", type=output_file, metavar="PNG",
                    help="also draw the crops with their scores into this image (for documentation: it "
                         "contains face pixels; keeps every crop in memory, so for a few images)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    checkpoint = args.checkpoint or (DEFAULT_BUILD if args.backend == "sim" else DEFAULT_CHECKPOINT)
    judge = load_judge(args.backend, checkpoint, args.score)
    csv_out = load_input("--csv", "a file that can be written", lambda p: p.open("w", newline="", buffering=1),
                         args.csv) if args.csv else contextlib.nullcontext()
    if args.images:
        images: Iterable[Image] = read_images(image_files(args.images))
        total = None if any(p.is_dir() for p in args.images) else len(args.images)
    else:
        print("no images given: scoring the built-in demo (scikit-image's public-domain astronaut)", file=sys.stderr)
        images = demo_images()
        total = len(images)
    with csv_out as csv_file:
        results = tqdm(score_images(images, judge), total=total, desc="scoring", unit="img", disable=args.quiet)
        failed = write_results(results, args, csv_file)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
