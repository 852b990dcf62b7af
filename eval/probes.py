"""The degradation probe set: LFW images of evaluation persons, cropped clean and degraded.

    python -m eval.probes --out work/probes.npz

Each probe image is degraded (whole image, before detection) by every degradation at levels 1..5
and cropped by the shared crop function. Where the detector misses the degraded face, the box found
on the clean image is used, so the score is still measured on the same region (counted as a
fallback in the output).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from host.faces import FaceDetector, crop_face, main_face, read_rgb
from quant.cli import (
    LFW_RULE,
    CliParser,
    lfw_folder,
    load_input,
    non_negative_int,
    output_file,
    positive_int,
    reports_input_errors,
)
from quant.data import pair_persons
from quant.degradations import DEGRADATIONS, LEVELS, degrade

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
_detector: FaceDetector | None = None


def probe_images(lfw_root: Path, n: int = 500, seed: int = 0) -> list[Path]:
    """`n` images of distinct pairs.txt persons (never trained on), chosen by a seeded draw."""
    persons = sorted(pair_persons(lfw_root / "pairs.txt"))
    chosen = np.random.default_rng(seed).choice(len(persons), size=min(n, len(persons)), replace=False)
    images = []
    for i in sorted(chosen):
        files = sorted((lfw_root / "images" / persons[i]).glob("*.jpg"))
        images.append(files[0])
    return images


def probe_crops(path: Path) -> tuple[np.ndarray, int] | None:
    """Crops (1 + degradations x levels, 64, 64) of one image and its number of box fallbacks."""
    global _detector
    if _detector is None:
        cv2.setNumThreads(1)
        _detector = FaceDetector()
    rgb = read_rgb(path)
    clean = main_face(_detector.detect(rgb), rgb.shape)
    if clean is None:
        return None
    crops, fallbacks = [crop_face(rgb, clean.box)], 0
    seed = int.from_bytes(path.name.encode()[:8], "little")
    for name in DEGRADATIONS:
        for level in range(1, LEVELS + 1):
            img = degrade(rgb, name, level, seed)
            det = main_face(_detector.detect(img), img.shape)
            fallbacks += det is None
            crops.append(crop_face(img, (det or clean).box))
    return np.stack(crops), fallbacks


def build(images: list[Path], workers: int) -> dict:
    with mp.get_context("spawn").Pool(workers) as pool:
        results = list(tqdm(pool.imap(probe_crops, images, chunksize=4), total=len(images),
                            desc="probes", unit="img"))
    kept = [(p, r) for p, r in zip(images, results, strict=True) if r is not None]
    return {"crops": np.stack([r[0] for _, r in kept]), "paths": np.array([str(p) for p, _ in kept]),
            "fallbacks": np.array([r[1] for _, r in kept]),
            "degradations": np.array(list(DEGRADATIONS)), "no_face": len(images) - len(kept)}


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.probes", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=lfw_folder, default=DATA / "lfw-dev", help="LFW folder with pairs.txt and images/")
    ap.add_argument("-n", type=positive_int, default=500, help="number of probe images (one per person)")
    ap.add_argument("--seed", type=non_negative_int, default=0, help="seed of the probe draw")
    ap.add_argument("--workers", type=positive_int, default=2, help="detector processes")
    ap.add_argument("--out", type=output_file, required=True, help="output .npz")
    args = ap.parse_args(argv)
    images = load_input("--lfw", LFW_RULE, lambda p: probe_images(p, args.n, args.seed), args.lfw)
    probes = build(images, args.workers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **probes)
    print(f"{args.out}: {len(probes['crops'])} probes ({probes['no_face']} without a face), "
          f"{int(probes['fallbacks'].sum())} degraded crops used the clean box")
    return 0


if __name__ == "__main__":
    sys.exit(main())
