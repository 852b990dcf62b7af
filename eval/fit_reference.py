"""Fit a score reference on good faces: every statistic the score variants need, pose and size included.

    python -m quant.data ../shared/data/lfw-dev/images --exclude-pairs ../shared/data/lfw-dev/pairs.txt \\
        -o work/reference_crops.npz                      # good faces of the deployment's kind, with detections
    python -m eval.fit_reference --backend float --crops work/reference_crops.npz   # beside the float checkpoint
    python -m eval.fit_reference --backend sim --crops work/reference_crops.npz     # into the shipped build

The crops file holds the 64x64 crops with their detector boxes and landmarks (``quant.data`` writes
them); a file without landmarks gives a reference without the pose and size terms. The reference is
written where the backend's judge reads it (``--out`` to write it elsewhere). ``--exposure-normalised``
fits it on brightness/contrast-normalised crops (``host.quality.normalise_exposure``) instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from eval.quality_eval import CROPS_RULE, features_of
from host.pose import detection_features
from host.quality import Reference, normalise_exposure
from host.scoring import VAEBackend
from quant.cli import CliParser, load_input, output_file, reports_input_errors
from quant.score import BACKENDS, DEFAULT_BUILD, DEFAULT_CHECKPOINT, MODEL_RULES, make_backend, reference_path


def reference_features(backend: VAEBackend, crops: np.ndarray, boxes: np.ndarray | None = None,
                       landmarks: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Score features of many crops (in chunks, with a progress bar), with pose and size where detections are given."""
    feats = features_of(backend, crops, "reference")
    if boxes is not None and landmarks is not None:
        feats.update(detection_features(boxes, landmarks))
    return feats


def _crops_file(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        if "crops" not in data.files:
            raise ValueError("it holds no crops")
        return {k: data[k] for k in data.files if k in ("crops", "boxes", "landmarks")}


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.fit_reference", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=BACKENDS, default="sim",
                    help="float, quant (a quant.qat checkpoint) or sim (a build folder); default sim")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help=f"the model (default: {DEFAULT_CHECKPOINT.name} for float, the shipped build for sim)")
    ap.add_argument("--crops", type=Path, required=True, help="good faces: " + CROPS_RULE)
    ap.add_argument("--exposure-normalised", action="store_true",
                    help="fit on brightness/contrast-normalised crops (for scores of normalised crops)")
    ap.add_argument("--out", type=output_file, default=None,
                    help="where to write the reference JSON (default: where the backend's judge reads it)")
    args = ap.parse_args(argv)
    checkpoint = args.checkpoint or (DEFAULT_BUILD if args.backend == "sim" else DEFAULT_CHECKPOINT)
    data = load_input("--crops", CROPS_RULE, _crops_file, args.crops)
    backend = load_input("--checkpoint", MODEL_RULES[args.backend], lambda p: make_backend(args.backend, p),
                         checkpoint)
    crops = normalise_exposure(data["crops"]) if args.exposure_normalised else data["crops"]
    reference = Reference.fit(reference_features(backend, crops, data.get("boxes"), data.get("landmarks")))
    out = args.out or reference_path(args.backend, checkpoint)
    reference.save(out)
    print(f"{out}: fitted on {reference.crops} crops; terms {', '.join(reference.terms) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
