"""Crop every face image of one or more folder trees into a training/evaluation array file.

    python -m quant.data ../shared/data/celeba-aligned-10k ../shared/data/utkface-aligned -o crops.npz

``--skip-listed`` takes the manifest of an earlier run, so that a second sample never repeats an image of
the first (a fresh held-out set).

Writes OUT.npz (``crops`` uint8 N x 64 x 64, ``paths``, ``boxes`` x/y/w/h, ``confidence``, MTCNN's five
``landmarks`` N x 5 x 2) and
OUT.json, a manifest with one entry per input file: ``ok`` or the reason it was skipped. One bad
file never stops the run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from host.faces import FaceDetector, ImageError, crop_face, main_face, read_rgb
from quant.cli import (
    CliParser,
    input_file,
    input_folder,
    non_negative_int,
    output_path,
    positive_int,
    reports_input_errors,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}

_detector: FaceDetector | None = None


LfwImage = tuple[str, int]  # (person, image number) of an LFW file <person>/<person>_<number:04d>.jpg


def read_pairs(pairs_txt: Path) -> list[tuple[LfwImage, LfwImage, bool]]:
    """The pairs of an LFW ``pairs.txt``: (image a, image b, same person), in file order."""
    pairs = []
    for line in pairs_txt.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 3:
            pairs.append(((parts[0], int(parts[1])), (parts[0], int(parts[2])), True))
        elif len(parts) == 4:
            pairs.append(((parts[0], int(parts[1])), (parts[2], int(parts[3])), False))
        elif parts:
            raise ValueError(f"{pairs_txt}: a pair line has 3 or 4 fields, not {line!r}")
    return pairs


def pair_persons(pairs_txt: Path) -> set[str]:
    """Names of every person that appears in an LFW ``pairs.txt`` (the evaluation identities)."""
    return {image[0] for pair in read_pairs(pairs_txt) for image in pair[:2]}


def list_images(roots: Iterable[Path], exclude_persons: set[str] = frozenset(),
                only_persons: set[str] | None = None) -> list[Path]:
    """Image files under `roots` (sorted): none in a folder named after an excluded person, and, where
    `only_persons` is given, only those in a folder named after one of them."""
    files = []
    for root in roots:
        if not root.is_dir():
            raise FileNotFoundError(f"source must be a folder, not {root}")
        files += [p for p in sorted(root.rglob("*"))
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.parent.name not in exclude_persons
                  and (only_persons is None or p.parent.name in only_persons)]
    return files


def listed_files(manifest: Path) -> set[Path]:
    """Every input file (resolved) of a manifest this tool wrote, whatever its status."""
    try:
        entries = json.loads(manifest.read_text())["files"]
        return {Path(entry["path"]).resolve() for entry in entries}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{manifest} is not a crops manifest of quant.data: {exc}") from exc


def crop_file(path: Path) -> dict:
    """Detect the main face of one image file and crop it; errors become a status, never raise."""
    global _detector
    if _detector is None:
        cv2.setNumThreads(1)
        _detector = FaceDetector()
    try:
        rgb = read_rgb(path)
    except ImageError as exc:
        return {"path": str(path), "status": "unreadable", "detail": str(exc)}
    det = main_face(_detector.detect(rgb), rgb.shape)
    if det is None:
        return {"path": str(path), "status": "no_face"}
    return {"path": str(path), "status": "ok", "box": det.box, "confidence": det.confidence,
            "landmarks": det.landmarks, "crop": crop_face(rgb, det.box)}


def crop_files(files: list[Path], *, workers: int = 2) -> list[dict]:
    """Crop many files in `workers` processes, in input order, with a progress bar."""
    if workers <= 1:
        return [crop_file(p) for p in tqdm(files, desc="cropping", unit="img")]
    with mp.get_context("spawn").Pool(workers) as pool:
        return list(tqdm(pool.imap(crop_file, files, chunksize=16), total=len(files),
                         desc="cropping", unit="img"))


def write_crops(results: list[dict], out: Path) -> dict:
    """Write OUT.npz with the successful crops and OUT.json with every file's status; return counts."""
    ok = [r for r in results if r["status"] == "ok"]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        crops=np.stack([r["crop"] for r in ok]) if ok else np.zeros((0, 64, 64), np.uint8),
        paths=np.array([r["path"] for r in ok], dtype=str),
        boxes=np.array([r["box"] for r in ok], dtype=np.float32).reshape(-1, 4),
        confidence=np.array([r["confidence"] for r in ok], dtype=np.float32),
        landmarks=np.array([r["landmarks"] for r in ok], dtype=np.float32).reshape(-1, 5, 2),
    )
    counts = dict(Counter(r["status"] for r in results))
    manifest = {"counts": counts,
                "files": [{k: v for k, v in r.items() if k not in ("crop", "landmarks")} for r in results]}
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=1))
    return counts


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m quant.data", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="+", type=input_folder, help="folders searched recursively for images")
    ap.add_argument("-o", "--out", type=output_path, required=True, help="output .npz (manifest: same name .json)")
    ap.add_argument("--exclude-pairs", type=input_file, metavar="PAIRS_TXT",
                    help="skip images in folders named after any person of this LFW pairs.txt")
    ap.add_argument("--only-pairs", type=input_file, metavar="PAIRS_TXT",
                    help="keep only images in folders named after a person of this LFW pairs.txt")
    ap.add_argument("--skip-listed", type=input_file, action="append", default=[], metavar="MANIFEST_JSON",
                    help="skip every file listed in this earlier manifest (repeatable): disjoint samples")
    ap.add_argument("--sample", type=positive_int, help="crop a seeded random sample of N of the images found")
    ap.add_argument("--seed", type=non_negative_int, default=0, help="seed of --sample")
    ap.add_argument("--limit", type=positive_int, help="crop only the first N images found (quick runs)")
    ap.add_argument("--workers", type=positive_int, default=2, help="detector processes (default 2)")
    args = ap.parse_args(argv)
    exclude = pair_persons(args.exclude_pairs) if args.exclude_pairs else set()
    only = pair_persons(args.only_pairs) if args.only_pairs else None
    try:
        skip = set().union(*(listed_files(m) for m in args.skip_listed))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = [f for f in list_images(args.sources, exclude, only) if f.resolve() not in skip][: args.limit]
    if args.sample is not None and args.sample < len(files):
        pick = np.random.default_rng(args.seed).choice(len(files), args.sample, replace=False)
        files = [files[i] for i in sorted(pick)]
    if not files:
        print("error: no image files found under " + ", ".join(map(str, args.sources)), file=sys.stderr)
        return 2
    counts = write_crops(crop_files(files, workers=args.workers), args.out)
    print(f"{args.out}: {counts.get('ok', 0)} crops from {len(files)} files; {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
