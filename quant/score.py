"""Score face images with the quality VAE: one JSON object per image.

    python -m quant.score --backend float --json IMG [IMG ...]

Each image: MTCNN finds the main face (the one nearest the image centre), the shared crop function
makes the 64x64 grey crop, the backend runs 1 encoder + L decoder passes and the host computes
`log_rp` (the paper's raw reconstruction probability) and `score` (the chosen quality score, higher =
better; `--score` selects another). Without images, a built-in demo scores a public-domain portrait
(scikit-image's "astronaut", NASA) and degraded copies of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from host.faces import FaceDetector, ImageError, crop_face, main_face, read_rgb
from host.quality import DEFAULT_SCORE, SCORES, Reference, crop_features, quality_scores
from host.scoring import VAEBackend, reconstruct

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS / "upsample" / "vae_float_c32_upsample.pt"


def score_images(images: list[tuple[str, np.ndarray]], backend: VAEBackend, reference: Reference,
                 variant: str = DEFAULT_SCORE) -> list[dict]:
    """Score named RGB images; images without a face get ``face: false`` and null scores."""
    detector = FaceDetector()
    results, crops = [], []
    for name, rgb in images:
        det = main_face(detector.detect(rgb), rgb.shape)
        results.append({"path": name, "face": det is not None, "score": None, "log_rp": None,
                        "box": None if det is None else [round(v, 1) for v in det.box],
                        "confidence": None if det is None else round(det.confidence, 4)})
        if det is not None:
            crops.append(crop_face(rgb, det.box))
    if crops:
        feats = crop_features(reconstruct(backend, np.stack(crops)))
        scores = quality_scores(feats, reference)[variant]
        with_face = [r for r in results if r["face"]]
        for r, s, lrp in zip(with_face, scores, feats["log_rp"], strict=True):
            r["score"], r["log_rp"] = float(s), float(lrp)
    return results


def demo_images() -> list[tuple[str, np.ndarray]]:
    """The built-in input: scikit-image's public-domain astronaut portrait, clean and degraded."""
    from skimage import data

    from quant.degradations import DEGRADATIONS, REFERENCE_LEVEL, degrade

    rgb = np.ascontiguousarray(data.astronaut())
    return [("astronaut (clean)", rgb)] + [
        (f"astronaut ({name}, level {REFERENCE_LEVEL})", degrade(rgb, name, REFERENCE_LEVEL))
        for name in DEGRADATIONS]


def make_backend(kind: str, checkpoint: Path) -> VAEBackend:
    if kind == "float":
        from quant.float_backend import FloatBackend

        return FloatBackend(checkpoint)
    raise ValueError(f"backend must be one of float, not {kind!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m quant.score", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*", type=Path, help="image files (none: the built-in demo)")
    ap.add_argument("--backend", choices=["float"], default="float", help="which model computes the VAE")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                    help="float checkpoint; its score reference must lie beside it (score_reference.json)")
    ap.add_argument("--score", choices=sorted(SCORES), default=DEFAULT_SCORE,
                    help=f"quality score reported as `score` (default: {DEFAULT_SCORE})")
    ap.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    args = ap.parse_args(argv)
    images, errors = [], []
    if not args.images:
        print("no images given: scoring the built-in demo (scikit-image's public-domain astronaut)",
              file=sys.stderr)
        images = demo_images()
    for path in args.images:
        try:
            images.append((str(path), read_rgb(path)))
        except (ImageError, OSError) as exc:
            errors.append(str(exc))
            print(f"error: {exc}", file=sys.stderr)
    backend = make_backend(args.backend, args.checkpoint)
    reference = Reference.load(args.checkpoint.parent / "score_reference.json")
    results = score_images(images, backend, reference, args.score)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in sorted(results, key=lambda r: -np.inf if r["score"] is None else -r["score"]):
            score = "no face" if r["score"] is None else f"{r['score']:10.2f}   log RP {r['log_rp']:10.1f}"
            print(f"{score:40s} {r['path']}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
