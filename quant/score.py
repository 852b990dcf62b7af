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
from host.judge import REFERENCE_FILE, QualityJudge
from host.quality import DEFAULT_SCORE, SCORES, Reference
from host.scoring import VAEBackend
from quant.plots import plot_crops

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINTS / "upsample" / "vae_float_c32_upsample.pt"


def crop_images(images: list[tuple[str, np.ndarray]]) -> tuple[list[dict], np.ndarray]:
    """Detect the main face of each named RGB image; result stubs and the crops of those with a face."""
    detector = FaceDetector()
    results, crops = [], []
    for name, rgb in images:
        det = main_face(detector.detect(rgb), rgb.shape)
        results.append({"path": name, "face": det is not None, "score": None, "log_rp": None,
                        "box": None if det is None else [round(v, 1) for v in det.box],
                        "confidence": None if det is None else round(det.confidence, 4)})
        if det is not None:
            crops.append(crop_face(rgb, det.box))
    return results, np.stack(crops) if crops else np.zeros((0, 64, 64), np.uint8)


def score_crops(results: list[dict], crops: np.ndarray, backend: VAEBackend, reference: Reference,
                variant: str = DEFAULT_SCORE) -> list[dict]:
    """Fill `score` and `log_rp` of the results that have a face (in order) from their crops."""
    scores, log_rps = QualityJudge(backend, reference, variant).score(crops)
    with_face = [r for r in results if r["face"]]
    for r, s, lrp in zip(with_face, scores, log_rps, strict=True):
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


BACKENDS = ("float", "quant", "sim")
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m quant.score", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*", type=Path, help="image files (none: the built-in demo)")
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
    ap.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    ap.add_argument("--montage", type=Path, metavar="PNG",
                    help="also draw the crops with their scores into this image (for documentation: it "
                         "contains face pixels)")
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
    checkpoint = args.checkpoint or (DEFAULT_BUILD if args.backend == "sim" else DEFAULT_CHECKPOINT)
    backend = make_backend(args.backend, checkpoint)
    reference = Reference.load(reference_path(args.backend, checkpoint))
    results, crops = crop_images(images)
    score_crops(results, crops, backend, reference, args.score)
    if args.montage:
        titles = [f"{r['path']}\n{args.score} {r['score']:.1f}, log RP {r['log_rp']:.0f}" for r in results if r["face"]]
        plot_crops(crops, titles, args.montage)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in sorted(results, key=lambda r: np.inf if r["score"] is None else -r["score"]):
            score = "no face" if r["score"] is None else f"{r['score']:10.2f}   log RP {r['log_rp']:10.1f}"
            print(f"{score:40s} {r['path']}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
