"""Build the face-quality accelerators (encoder + decoder, one bitstream) for an FPGA board with FINN.

    python -m hw.build --target zcu104 --estimate-only
    python -m hw.build --target zcu104 --search-fps 1200 --estimate-only   # new folding, then estimates
    python -m hw.build --target kv260 --search-fps 1200 --decoder-macs dsp --estimate-only   # the Kria KV260
    XILINX_VIVADO=/tools/Xilinx/Vivado/2024.2 python -m hw.build --target zcu104   # bitstream + driver

Steps without Vivado: QONNX export of the QAT checkpoint, FINN cleanup/streamlining, our transformations
(hw.transforms), HW layers, specialisation + folding (hw.folding), FINN's estimate reports, and a check
that FINN's Python execution of the final graphs equals the Brevitas integer codes on real face crops.
Result: bitstreams/<target>-<model>/ with manifest.json, the dataflow graphs (encoder.onnx,
decoder.onnx), the simulator's artefacts (encoder.npz, decoder.npz: sim/), FINN's estimate reports and
the test vectors (vectors.npz: face crops, not committed); the simulator is checked on them too.
Without --estimate-only the same run goes on, with Vivado, to IP generation, FIFO sizing, stitched IP,
bitstream and PYNQ driver for the merged graph (hw.merge); without Vivado it stops before them with exit
code 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import TextIO

import numpy as np

from hw.artefact import export_artefact
from hw.device import ESTIMATED, TARGETS, Target
from hw.estimates import accelerator_summary, chip_summary
from hw.execute import execute_dataflow
from hw.fifo_config import sized_fifo_config
from hw.finn_env import vivado_available
from hw.flow import dataflow_config, estimate, specialize_and_fold, to_dataflow
from hw.folding import MAC_POLICIES, Folding, search_folding
from hw.transforms import HOST_TAIL_KEY
from quant.cli import (
    CliParser,
    folder_problem,
    lfw_folder,
    load_input,
    non_negative_number,
    path_rule,
    positive_int,
    reports_input_errors,
)
from quant.data import crop_file, list_images, pair_persons
from quant.export import export_accelerator
from quant.qat import load_quant_checkpoint
from quant.qvae import Z_SCALE
from quant.score import MODEL_RULES
from quant.vectors import integer_vectors
from sim.accelerator import SimAccelerator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = ROOT / "quant" / "checkpoints" / "w4a4_c24_score" / "vae_w4a4_c24.pt"
DEFAULT_FACES = ROOT.parent / "shared" / "data" / "lfw-dev"
ACCELERATORS = ("encoder", "decoder")
UPSAMPLING = ("nearest", "subpixel")  # decoder blocks: upsampler + 3x3 conv, or sub-pixel conv + DepthToSpace
VIVADO_STEPS = ["step_hw_codegen", "step_hw_ipgen", "step_set_fifo_depths", "step_create_stitched_ip",
                "step_synthesize_bitfile", "step_make_driver", "step_deployment_package"]


class BuildError(RuntimeError):
    """A build that cannot go on; the message says why and what to do."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folding_path(target: Target, model_name: str) -> Path:
    return ROOT / "hw" / "foldings" / f"{target.name}-{model_name}.json"


def _read_folding(path: Path) -> dict:
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or not all(isinstance(doc.get(a), dict) for a in ACCELERATORS):
        raise ValueError(f"no {' and '.join(ACCELERATORS)} foldings")
    return doc


def load_folding(path: Path) -> dict:
    """A folding JSON (written by --search-fps): the search settings and one folding per accelerator."""
    if not path.exists():
        raise BuildError(f"no folding at {path}: run once with --search-fps N (faces/s) to create it")
    return load_input("--folding", "a folding JSON (written by --search-fps)", _read_folding, path)


def _out_problem(path: Path) -> str | None:
    """Why a build may not replace `path`: a file in the way, or a folder of other files (it would be deleted)."""
    if path.is_dir() and any(path.iterdir()) and not (path / "manifest.json").is_file():
        return "a folder of other files, which the build would delete"
    return folder_problem(path)


build_out = path_rule("a new folder, an empty one or an earlier build (with manifest.json)", _out_problem)


def face_crops(lfw: Path, count: int, *, evaluation_persons: bool = False) -> np.ndarray:
    """`count` real face crops evenly spread over an LFW folder: identities outside pairs.txt, or (with
    `evaluation_persons`) only those in it."""
    if not (lfw / "images").is_dir():
        raise BuildError(f"no face images at {lfw}/images: pass --faces (an LFW folder with images/ and pairs.txt)")
    persons = pair_persons(lfw / "pairs.txt")
    files = (list_images([lfw / "images"], only_persons=persons) if evaluation_persons
             else list_images([lfw / "images"], persons))
    crops = []
    for path in files[:: max(1, len(files) // (2 * count))]:
        result = crop_file(path)
        if result["status"] == "ok":
            crops.append(result["crop"])
        if len(crops) == count:
            return np.stack(crops)
    raise BuildError(f"found only {len(crops)} faces in {lfw}, need {count}")


@contextlib.contextmanager
def _quiet(log: TextIO) -> Iterator[None]:
    """Send FINN's prints, warnings and log records to the build log instead of the console."""
    handler = logging.StreamHandler(log)
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.handlers = saved


def _versions() -> dict[str, str]:
    return {p: version(p) for p in ("finn-plus", "brevitas", "qonnx", "torch", "onnx")}


def build(args: argparse.Namespace) -> dict:
    """Run the build in a temporary folder; only a complete result is copied to the output folder."""
    work = Path(tempfile.mkdtemp(prefix="facevault-hw-"))
    try:
        return _build(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _build(args: argparse.Namespace, work: Path) -> dict:
    target: Target = TARGETS[args.target]
    model = load_input("--checkpoint", MODEL_RULES["quant"], load_quant_checkpoint, args.checkpoint)
    name = model.spec.name(model.cfg)
    nets = {"encoder": model.encoder.eval(), "decoder": model.decoder.eval()}
    stage = work / "out"
    stage.mkdir()
    seconds: dict[str, dict[str, float]] = {a: {} for a in ACCELERATORS}
    fold_file = args.folding or folding_path(target, name)
    folding_doc = None if args.search_fps else load_folding(fold_file)  # a bad one stops the build before FINN
    # the graph a folding was searched for: the search's option, else what the folding JSON records
    upsampling = args.decoder_upsampling if args.search_fps else folding_doc.get("decoder_upsampling", "nearest")
    log = (stage / "finn.log").open("w")
    print(f"building {name} for {target.board} ({target.part}, {target.clock_mhz:.0f} MHz)")
    generic = {}
    with _quiet(log):
        for acc in ACCELERATORS:
            qonnx = export_accelerator(nets[acc], stage / f"{acc}_qonnx.onnx")
            generic[acc] = to_dataflow(qonnx, dataflow_config(work / acc, target), seconds[acc],
                                       subpixel=upsampling == "subpixel")
    if args.search_fps:
        macs = {"encoder": args.encoder_macs, "decoder": args.decoder_macs}
        cycles = {"encoder": int(target.clock_hz / args.search_fps),
                  "decoder": int(target.clock_hz / (args.search_fps * args.passes))}
        with _quiet(log):
            found = search_folding(generic, cycles, target, macs, uram=not args.no_uram)
        fold_file.parent.mkdir(parents=True, exist_ok=True)
        fold_file.write_text(json.dumps({"target": target.name, "model": name, "search_fps": args.search_fps,
                                         "decoder_passes": args.passes, "macs": macs, "uram": not args.no_uram,
                                         "decoder_upsampling": upsampling,
                                         **{a: found[a].to_dict() for a in ACCELERATORS}}, indent=1))
        print(f"wrote folding {fold_file}")
        folding_doc = load_folding(fold_file)
    final, reports = {}, {}
    for acc in ACCELERATORS:
        cfg = dataflow_config(work / acc, target)
        try:
            with _quiet(log):
                final[acc] = specialize_and_fold(generic[acc], Folding.from_dict(folding_doc[acc]), cfg, seconds[acc])
                reports[acc] = estimate(final[acc], cfg)
        except ValueError as exc:
            raise BuildError(f"{fold_file} does not fit this model's {acc} graph ({exc}); "
                             "search a new one with --search-fps N") from exc
        final[acc].save(str(stage / f"{acc}.onnx"))
        (stage / f"{acc}_estimates.json").write_text(json.dumps(reports[acc], indent=1))
    summaries = {a: accelerator_summary(reports[a], target) for a in ACCELERATORS}
    chip = chip_summary(summaries, args.passes, target)
    print(f"estimated {chip['faces_per_s']:.0f} faces/s (encoder {summaries['encoder']['fps']:.0f} fps, decoder "
          f"{summaries['decoder']['fps']:.0f} fps / {args.passes}); "
          + ", ".join(f"{r} {chip['used'][r]:.0f} ({100 * chip['fraction_of_device'][r]:.1f}%)"
                      for r in ESTIMATED))

    crops = face_crops(args.faces, args.vectors)
    vectors = integer_vectors(nets["encoder"], nets["decoder"], crops)
    mismatches: dict[str, dict[str, int]] = {"finn_python": {}, "simulator": {}}
    for acc in ACCELERATORS:
        export_artefact(final[acc], stage / f"{acc}.npz")
        expected = vectors[f"{acc}_out"]
        start = time.perf_counter()
        finn_out = execute_dataflow(final[acc], vectors[f"{acc}_in"]).reshape(expected.shape)
        seconds[acc]["python_execution_check"] = round(time.perf_counter() - start, 2)
        sim_out = SimAccelerator.load(stage / f"{acc}.npz").run(vectors[f"{acc}_in"]).reshape(expected.shape)
        mismatches["finn_python"][acc] = int(np.count_nonzero(finn_out != expected))
        mismatches["simulator"][acc] = int(np.count_nonzero(sim_out != expected))
    if any(v for m in mismatches.values() for v in m.values()):
        raise BuildError(f"integer outputs differ from Brevitas: {mismatches} mismatching integers")
    print(f"FINN Python execution == simulator == Brevitas integer codes on {len(crops)} face crops and "
          f"{len(crops)} latents")
    np.savez_compressed(stage / "vectors.npz", **vectors)

    manifest = {
        "model": name, "target": {"name": target.name, "board": target.board, "part": target.part,
                                  "clock_mhz": target.clock_mhz},
        "checkpoint": {"path": str(Path(args.checkpoint).resolve().relative_to(ROOT)) if Path(args.checkpoint)
                       .resolve().is_relative_to(ROOT) else str(args.checkpoint), "sha256": sha256(args.checkpoint)},
        "model_config": model.cfg.to_dict(),
        "bits": {"input": 8, "latent_input": 8, "weights": model.spec.weight_bits,
                 "activations": model.spec.act_bits, "outputs": model.spec.out_bits},
        "versions": _versions(),
        "graphs": {a: {"file": f"{a}.onnx", "sha256": sha256(stage / f"{a}.onnx"),
                       "simulator_artefact": {"file": f"{a}.npz", "sha256": sha256(stage / f"{a}.npz")},
                       "input": {"shape": final[a].get_tensor_shape(final[a].graph.input[0].name),
                                 "dtype": final[a].get_tensor_datatype(final[a].graph.input[0].name).name},
                       "output": {"shape": final[a].get_tensor_shape(final[a].graph.output[0].name),
                                  "dtype": final[a].get_tensor_datatype(final[a].graph.output[0].name).name},
                       "host_tail": json.loads(final[a].get_metadata_prop(HOST_TAIL_KEY) or "[]"),
                       "layers": [n.op_type for n in final[a].graph.node]} for a in ACCELERATORS},
        "z_scale": Z_SCALE,
        "folding": {"file": str(fold_file.resolve().relative_to(ROOT)) if fold_file.resolve().is_relative_to(ROOT)
                    else str(fold_file), "sha256": sha256(fold_file),
                    "decoder_upsampling": upsampling,
                    **{a: folding_doc[a] for a in ACCELERATORS}},
        "estimates": {**summaries, "chip": chip},
        "verification": {"face_crops": len(crops), "latents": len(crops), "mismatching_integers": mismatches,
                         "vectors": {"file": "vectors.npz", "sha256": sha256(stage / "vectors.npz")}},
        "build_seconds": seconds,
        "vivado": {"bitstream": False, "steps_needing_vivado": VIVADO_STEPS},
    }
    if not args.estimate_only:
        if not vivado_available():
            raise BuildError(
                "stopped before " + ", ".join(VIVADO_STEPS) + ": XILINX_VIVADO is not set (these steps need Vivado "
                "and Vitis HLS). Steps that ran: QONNX export, FINN streamlining, HW conversion, folding, estimates,"
                " Python-execution check. Nothing was written; rerun with --estimate-only for the estimates.")
        fifo_config = sized_fifo_config(fold_file, sha256(fold_file))
        print(f"FIFO depths: {fifo_config}" if fifo_config else "FIFO depths: none sized for this folding "
              "(python -m hw.whole_design sizes them); FINN sizes them by its own simulation")
        manifest["vivado"] = build_bitstream(final, target, work, stage, fifo_config)
    reference = Path(args.checkpoint).parent / "score_reference.json"
    if reference.exists():  # the host scores with the quantized model's own reference
        shutil.copy(reference, stage / "score_reference.json")
    manifest["score_reference"] = "score_reference.json" if reference.exists() else None
    stage.joinpath("manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
    out = args.out or ROOT / "bitstreams" / f"{target.name}-{name}"
    for f in ("encoder_qonnx.onnx", "decoder_qonnx.onnx"):
        stage.joinpath(f).unlink()
    if out.exists():
        shutil.rmtree(out)
    log.close()
    shutil.copytree(stage, out)
    print(f"wrote {out}")
    return manifest


def build_bitstream(final: dict, target: Target, work: Path, stage: Path, fifo_config: Path | None) -> dict:
    """Vivado part: both accelerators merged into one graph -> stitched IP, bitstream and PYNQ driver; with the
    FIFO depths of `fifo_config` (`hw.whole_design`) where given, else FINN's own FIFO sizing."""
    import finn.builder.build_dataflow_config as bcfg
    import finn.builder.build_dataflow_steps as finn_steps

    from hw.flow import run_steps
    from hw.merge import merge_accelerators

    outputs = [bcfg.DataflowOutputType.ESTIMATE_REPORTS, bcfg.DataflowOutputType.STITCHED_IP,
               bcfg.DataflowOutputType.BITFILE, bcfg.DataflowOutputType.PYNQ_DRIVER,
               bcfg.DataflowOutputType.DEPLOYMENT_PACKAGE]
    cfg = dataflow_config(work / "bitstream", target, outputs)
    if fifo_config is not None:
        cfg.auto_fifo_depths, cfg.fifo_config_file = False, fifo_config
    seconds: dict[str, float] = {}
    run_steps(merge_accelerators(final), [getattr(finn_steps, s) for s in VIVADO_STEPS], cfg, seconds)
    for sub in ("bitfile", "driver", "report"):
        shutil.copytree(work / "bitstream" / sub, stage / sub, dirs_exist_ok=True)
    return {"bitstream": True, "seconds": seconds, "fifo_depths": str(fifo_config) if fifo_config else "finn",
            "files": sorted(str(p.relative_to(stage)) for p in stage.rglob("*") if p.is_file())}


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m hw.build", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=sorted(TARGETS), default="zcu104",
                    help="board: zcu104 (ZCU104) or kv260 (Kria KV260 / K26 SOM); its part, clock and resource "
                         "limits are hw.device's, its folding hw/foldings/<target>-<model>.json")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="QAT checkpoint (quant.qat)")
    ap.add_argument("--estimate-only", action="store_true",
                    help="stop after FINN's estimates and the execution check (no Vivado needed)")
    ap.add_argument("--folding", type=Path, default=None,
                    help="folding JSON (default: hw/foldings/<target>-<model>.json)")
    ap.add_argument("--search-fps", type=non_negative_number, default=0,
                    help="search a new folding for this many faces/s and write it to the folding JSON first "
                         "(default 0: no search, use the folding JSON)")
    ap.add_argument("--encoder-macs", choices=sorted(MAC_POLICIES), default="dsp",
                    help="with --search-fps: the encoder's MVAU multipliers on DSPs (default: a pure-RTL encoder, "
                         "which Verilator can simulate), on LUTs, or chosen per layer (mixed)")
    ap.add_argument("--decoder-macs", choices=sorted(MAC_POLICIES), default="mixed",
                    help="with --search-fps: the same for the decoder (default: mixed, chosen per layer)")
    ap.add_argument("--decoder-upsampling", choices=UPSAMPLING, default="subpixel",
                    help="with --search-fps: decoder blocks as sub-pixel convolution + DepthToSpace where that saves "
                         "hardware (hw.subpixel; default) or as upsampler + 3x3 convolution (nearest, the mapping "
                         "until 2026-11-30); without --search-fps the folding JSON says which")
    ap.add_argument("--no-uram", action="store_true",
                    help="with --search-fps: keep weights out of URAM (BRAM and LUTRAM only); the c=24 model "
                         "then does not fit 1,000 faces/s")
    ap.add_argument("--passes", type=positive_int, default=10, help="decoder passes per face (L Monte-Carlo samples)")
    ap.add_argument("--faces", type=lfw_folder, default=DEFAULT_FACES,
                    help="LFW folder (images/ + pairs.txt) for the test vectors")
    ap.add_argument("--vectors", type=positive_int, default=32, help="face crops (and latents) in the test vectors")
    ap.add_argument("--out", type=build_out, default=None,
                    help="output folder, replaced by the new build (default: bitstreams/<target>-<model>)")
    args = ap.parse_args(argv)
    try:
        build(args)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
