"""Quality gate of a quantized VAE: does it rank faces like the float model it came from?

    python -m quant.data ../shared/data/lfw-dev/images --only-pairs ../shared/data/lfw-dev/pairs.txt \\
        --sample 1100 -o work/heldout_crops.npz             # once: LFW crops no model or reference saw
    python -m eval.quality_eval --backend quant --checkpoint quant/checkpoints/w4a4_c24/vae_w4a4_c24.pt \\
        --probes work/probes.npz --reference-crops work/reference_crops.npz   # its reference + table
    python -m eval.quant_gate --quant quant/checkpoints/w4a4_c24/vae_w4a4_c24.pt \\
        --float quant/checkpoints/upsample_c24/vae_float_c24_upsample.pt --crops work/heldout_crops.npz \\
        --reference-crops work/reference_crops.npz

Passes when, on `--count` held-out crops, the Spearman correlation between float and quantized scores is
>= 0.95 for the default score and for the raw log RP, and the quantized model's degradation table
(``quality_table.json`` beside its checkpoint) has the clean crop scoring higher in >= 90% of images for
every degradation. Writes ``quant_gate.json`` and ``quant_gate.png`` beside the quantized checkpoint;
``--name fresh`` writes ``quant_gate_fresh.*`` instead, for a confirmation on a second held-out set;
``--build`` scores the quantized side with the bit-accurate simulator of the hw.build folder made from
that checkpoint (the accelerators as shipped) instead of Brevitas' float32 forward:

    python -m quant.data ../shared/data/lfw-dev/images --only-pairs ../shared/data/lfw-dev/pairs.txt \\
        --skip-listed work/heldout_crops.json --sample 1100 --seed 1 -o work/fresh_heldout_crops.npz
    python -m eval.quant_gate ... --build bitstreams/zcu104-vae_w4a4_c24 --name sim
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr

from eval.quality_eval import CROPS_RULE, features_of
from host.accelerated import BundleError, load_manifest
from host.quality import DEFAULT_CROP_SCORE, Reference, quality_scores
from host.scoring import VAEBackend
from quant.cli import CliParser, load_input, positive_int, reports_input_errors
from quant.plots import save_figure
from quant.score import MODEL_RULES, make_backend
from quant.train import load_crops

MIN_SPEARMAN = 0.95
MIN_CLEAN_HIGHER = 0.90


def scores_of(backend_name: str, backend: VAEBackend, crops: np.ndarray, good_faces: np.ndarray
              ) -> dict[str, np.ndarray]:
    """Default score (reference fitted by this model on `good_faces`) and raw log RP of every crop."""
    reference = Reference.fit(features_of(backend, good_faces, f"{backend_name} reference"))
    feats = features_of(backend, crops, f"{backend_name} model")
    return {DEFAULT_CROP_SCORE: quality_scores(feats, reference)[DEFAULT_CROP_SCORE], "log_rp": feats["log_rp"]}


def gate(float_scores: dict[str, np.ndarray], quant_scores: dict[str, np.ndarray], table: dict) -> dict:
    spearman = {k: float(spearmanr(float_scores[k], quant_scores[k]).statistic) for k in float_scores}
    clean_higher = {d: v["clean_higher"] for d, v in table["tables"][DEFAULT_CROP_SCORE].items()}
    return {"crops": len(next(iter(float_scores.values()))), "spearman": spearman,
            "clean_higher": clean_higher, "min_spearman": MIN_SPEARMAN, "min_clean_higher": MIN_CLEAN_HIGHER,
            "passed": min(spearman.values()) >= MIN_SPEARMAN and min(clean_higher.values()) >= MIN_CLEAN_HIGHER}


def plot_gate(float_scores: dict[str, np.ndarray], quant_scores: dict[str, np.ndarray], result: dict,
              out: Path) -> None:
    fig, axes = plt.subplots(1, len(float_scores), figsize=(4.2 * len(float_scores), 4))
    for ax, key in zip(axes, float_scores, strict=True):
        ax.scatter(float_scores[key], quant_scores[key], s=4, alpha=0.5)
        ax.set(xlabel=f"float {key}", ylabel=f"quantized {key}",
               title=f"{key}: Spearman {result['spearman'][key]:.3f} ({result['crops']} crops)")
    save_figure(fig, out)


def build_mismatch(build: Path, checkpoint: Path) -> str | None:
    """Why `build` is not the hw.build folder of `checkpoint` (None when it is)."""
    try:
        built_from = load_manifest(build)["checkpoint"]["sha256"]
        checkpoint_hash = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    except (BundleError, KeyError, OSError) as exc:
        return f"{build}: {exc}"
    if built_from != checkpoint_hash:
        return f"{build} was built from another checkpoint than {checkpoint} (run python -m hw.build)"
    return None


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.quant_gate", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quant", type=Path, required=True,
                    help="QAT checkpoint (quality_table.json from eval.quality_eval beside it)")
    ap.add_argument("--float", dest="float_ckpt", type=Path, required=True,
                    help="the float checkpoint it was initialised from")
    ap.add_argument("--reference-crops", type=Path, required=True,
                    help="good faces both models fit their score reference on (as in eval.quality_eval)")
    ap.add_argument("--crops", type=Path, required=True, help="held-out crops (quant.data output)")
    ap.add_argument("--count", type=positive_int, default=1000, help="how many of the crops to score (default 1000)")
    ap.add_argument("--name", help="write quant_gate_NAME.json/.png (another held-out set), not quant_gate.*")
    ap.add_argument("--build", type=Path, metavar="FOLDER",
                    help="score the quantized side with the simulator of this hw.build folder (built from --quant)"
                         " instead of Brevitas")
    args = ap.parse_args(argv)
    if args.build is not None and (problem := build_mismatch(args.build, args.quant)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    crops = load_input("--crops", CROPS_RULE, lambda p: load_crops([p]), args.crops)[: args.count]
    if len(crops) < args.count:
        print(f"error: {args.crops} holds {len(crops)} crops, --count asks for {args.count}", file=sys.stderr)
        return 2
    good_faces = load_input("--reference-crops", CROPS_RULE, lambda p: load_crops([p]), args.reference_crops)
    table = load_input("--quant", "a checkpoint with quality_table.json beside it (python -m eval.quality_eval)",
                       lambda p: json.loads((p.parent / "quality_table.json").read_text()), args.quant)
    quant_kind, quant_path = ("sim", args.build) if args.build else ("quant", args.quant)
    backends = {kind: load_input(option, MODEL_RULES[kind], lambda p, k=kind: make_backend(k, p), path)
                for kind, option, path in (("float", "--float", args.float_ckpt),
                                           (quant_kind, "--build" if args.build else "--quant", quant_path))}
    float_scores, quant_scores = (scores_of(kind, backend, crops, good_faces) for kind, backend in backends.items())
    result = gate(float_scores, quant_scores, table)
    result.update(float_checkpoint=str(args.float_ckpt), held_out_crops=str(args.crops),
                  reference_crops=str(args.reference_crops),
                  quantized_by=f"simulator of {args.build}" if args.build else "Brevitas (float32)")
    stem = args.quant.parent / ("quant_gate" + (f"_{args.name}" if args.name else ""))
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    plot_gate(float_scores, quant_scores, result, stem.with_suffix(".png"))
    print(json.dumps(result, indent=1))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
