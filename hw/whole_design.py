"""The whole merged design (encoder + decoder, `hw.merge`) as one circuit in Verilator: FIFO depths sized by
simulation, the runtime weights loaded as the host loads them, every integer checked, cycles per face measured.

    python -m hw.whole_design                                          # the shipped ZCU104 build
    python -m hw.whole_design --build bitstreams/kv260-vae_w4a4_c24 --crops 16

The merged graph gets FINN's width converters and a FIFO on every stream exactly as FINN's
``step_set_fifo_depths`` makes them when it is given a FIFO configuration (InsertDWC,
InsertFIFO(create_shallow_fifos), SpecializeLayers, GiveUniqueNodeNamesRecursive), so a FIFO's name here is
its name in the Vivado build. Sizing is FINN's classic RTL-simulation method: every FIFO an unbounded gauge
that is always ready, real crops and latents offered at the rate FINN's estimate promises, each FIFO's peak
occupancy its depth. The depths go to ``hw/foldings/<build>.fifo_depths.json`` (FINN's fifo_config_file
format plus the folding they were sized for), which `hw.build` hands to Vivado. Then the design is rebuilt with
FINN's real fifo.sv at those depths and measured: runtime (URAM) weights written over AXI-lite and a flush
frame, as the host does at start-up; crops and latents streamed through both halves at once (the overlap
FINN's faces/s estimate assumes), every output against the bit-accurate simulator; and one batch in the
host's sequence of today (a few crops, then their latents), where each batch pays both pipelines' latency.
The figures go into the build's manifest (``rtl_simulation``). The DMA engines are HLS (Vitis HLS) and not
simulated: words enter and leave where the DMAs hand them over, in the packing the host uses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
from finn.transformation.fpgadataflow.insert_fifo import InsertFIFO
from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
from finn.transformation.qonnx.give_unique_node_names_recursive import GiveUniqueNodeNamesRecursive
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.general import GiveReadableTensorNames

from host.accelerated import apply_host_tail, latent_codes
from host.likelihood import bound_log_sigma_z, latent_noise, sample_latents
from hw.build import DEFAULT_FACES, face_crops
from hw.device import TARGETS
from hw.fifo_config import fifo_config, fifo_file, folding_file, sized_fifo_config
from hw.merge import merge_accelerators
from hw.rtlsim import RTLDesign, RTLSession
from quant.cli import CliParser, lfw_folder, positive_int, reports_input_errors
from sim.accelerator import SimAccelerator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUILD = ROOT / "bitstreams" / "zcu104-vae_w4a4_c24"
ACCELERATORS = ("encoder", "decoder")     # hw.merge's order of the merged graph's inputs and outputs
MIN_DEPTH = 2                             # fifo.sv's smallest


class WholeDesignError(RuntimeError):
    """The whole design cannot be sized or measured; the message says why."""


def stitched(build: Path, part: str) -> ModelWrapper:
    """The build's two dataflow graphs merged, with width converters and a FIFO (depth 2) on every stream and
    FINN's node names, as FINN's step_set_fifo_depths makes them for a fifo_config_file."""
    merged = merge_accelerators({a: ModelWrapper(str(build / f"{a}.onnx")) for a in ACCELERATORS})
    for transform in (InsertDWC(), InsertFIFO(create_shallow_fifos=True), SpecializeLayers(part),
                      GiveUniqueNodeNamesRecursive(), GiveReadableTensorNames()):
        merged = merged.transform(transform)
    return merged


def with_depths(model: ModelWrapper, depths: dict[str, int]) -> ModelWrapper:
    """A copy with every FIFO at its depth from `depths` (all FIFOs of the model must be there)."""
    model = ModelWrapper(model.model.__deepcopy__())
    for node in model.get_nodes_by_op_type("StreamingFIFO_rtl"):
        if node.name not in depths:
            raise WholeDesignError(f"no depth for {node.name}: the FIFO depths were sized for another graph")
        getCustomOp(node).set_nodeattr("depth", int(depths[node.name]))
    return model


def fifo_cost(model: ModelWrapper, part: str) -> dict:
    """FIFO memory of a graph with its depths set: bits, and FINN's own BRAM/URAM/LUT estimates of the FIFOs."""
    fifos = [getCustomOp(n) for n in model.get_nodes_by_op_type("StreamingFIFO_rtl")]
    return {"fifos": len(fifos),
            "bits": int(sum(f.get_nodeattr("depth") * f.get_instream_width_padded() for f in fifos)),
            "BRAM_18K": float(sum(f.bram_estimation(part) for f in fifos)),
            "URAM": float(sum(f.uram_estimation(part) for f in fifos)),
            "LUT": float(sum(f.lut_estimation(part) for f in fifos)),
            "deepest": max((f.get_nodeattr("depth") for f in fifos), default=0)}


def inputs_of(encoder: SimAccelerator, manifest: dict, faces: Path, crops: int, passes: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """`crops` real face crops of evaluation persons of an LFW folder and `passes` latents per crop sampled from
    the outputs of `encoder` (the build's simulator) exactly as the camera samples them (`host.likelihood`), in
    latent codes."""
    x = face_crops(faces, crops, evaluation_persons=True)[..., None]
    out = apply_host_tail(encoder.run(x), manifest["graphs"]["encoder"]["host_tail"])
    latent = int(manifest["model_config"]["latent"])
    z = sample_latents(out[:, :latent], bound_log_sigma_z(out[:, latent:]), latent_noise(latent, passes))
    return x, latent_codes(z.reshape(-1, latent), float(manifest["z_scale"]))


def simulators(build: Path, manifest: dict) -> list[SimAccelerator]:
    return [SimAccelerator.load(build / manifest["graphs"][a]["simulator_artefact"]["file"]) for a in ACCELERATORS]


def start(design: RTLDesign, flush: tuple[np.ndarray, np.ndarray]) -> RTLSession:
    """A running design with its runtime weights written and one frame through each half, as the host starts
    the board: the weight memories prefetch their first words before the weights arrive, and that frame
    drains them (FINN's driver does the same)."""
    sim = design.session()
    sim.load_runtime_weights()
    sim.stream([flush[0][:1], flush[1][:1]], [1, 1])
    return sim


def estimated_periods(manifest: dict) -> list[int]:
    """FINN's estimated cycles per frame of each half (its slowest layer)."""
    return [int(manifest["estimates"][a]["max_cycles"]) for a in ACCELERATORS]


def size_fifos(model: ModelWrapper, work: Path, part: str, clock_ns: float, x: np.ndarray, z: np.ndarray,
               periods: list[int]) -> tuple[dict[str, int], list[float]]:
    """Every FIFO an unbounded gauge. First a few frames as fast as the circuit takes them: the cycles per
    frame each half sustains; then all of `x` and `z` offered at that rate (or the estimate's, if slower) and
    each FIFO's depth is its peak occupancy (at least fifo.sv's 2). Offered faster than the slowest layer
    drains them, the gauges in front of it would grow with the batch: that is a queue, not a FIFO to size."""
    design = RTLDesign(model, None, work, part, clock_ns, fifo_gauges=True)
    probe = [x[:3], z[:3 * len(z) // len(x)]]
    with start(design, (x, z)) as sim:
        free = [r.interval for r in sim.stream(probe, [len(p) for p in probe])]
    with start(design, (x, z)) as sim:
        for k, (estimate, sustained) in enumerate(zip(periods, free, strict=True)):
            sim.throttle(k, int(np.ceil(max(estimate, sustained))))
        sim.stream([x, z], [len(x), len(z)])
        peaks = sim.gauges()
    return {name: max(MIN_DEPTH, peak) for name, peak in peaks.items()}, free


def measure(model: ModelWrapper, work: Path, part: str, clock_ns: float, x: np.ndarray, z: np.ndarray,
            expected: list[np.ndarray], host_batch: int) -> dict:
    """Real FIFOs. Both halves at once on all of `x` and `z` (steady-state cycles per crop and per latent,
    every integer against `expected`); then one batch as the host sends it today: `host_batch` crops, and when
    they are back, their latents."""
    design = RTLDesign(model, None, work, part, clock_ns)
    passes = len(z) // len(x)
    with start(design, (x, z)) as sim:
        both = sim.stream([x, z], [len(x), len(z)])
        crops = sim.stream([x[:host_batch], None], [host_batch, 0])[0]
        latents = sim.stream([None, z[:host_batch * passes]], [0, host_batch * passes])[1]
    mismatches = sum(int(np.count_nonzero(r.outputs != e)) for r, e in zip(both, expected, strict=True))
    mismatches += int(np.count_nonzero(crops.outputs != expected[0][:host_batch]))
    mismatches += int(np.count_nonzero(latents.outputs != expected[1][:host_batch * passes]))
    return {"interval": [r.interval for r in both], "host_batch_cycles": [crops.cycles, latents.cycles],
            "mismatching_integers": mismatches, "values_checked": sum(int(e.size) for e in expected)}


def faces_per_s(clock_mhz: float, crop_cycles: float, latent_cycles: float, passes: int) -> float:
    """Faces/s with both halves busy at once (FINN's estimate assumes this overlap)."""
    return clock_mhz * 1e6 / max(crop_cycles, passes * latent_cycles)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(build: Path, faces: Path, crops: int, sizing_crops: int | None, passes: int, host_batch: int,
        work: Path) -> dict:
    """Size the FIFOs and write them (`sizing_crops` None: use the depths already sized for this folding), then
    measure the sized design; the manifest's ``rtl_simulation`` entry."""
    manifest = json.loads((build / "manifest.json").read_text())
    target = TARGETS[manifest["target"]["name"]]
    model = stitched(build, target.part)
    sims = simulators(build, manifest)
    x, z = inputs_of(sims[0], manifest, faces, crops, passes)
    expected = [s.run(v) for s, v in zip(sims, (x, z), strict=True)]
    started = time.perf_counter()
    periods = estimated_periods(manifest)
    path = fifo_file(manifest)
    sizing = {"sized_on_crops": sizing_crops}
    if sizing_crops is None:
        if sized_fifo_config(folding_file(manifest), manifest["folding"]["sha256"]) is None:
            raise WholeDesignError(f"no FIFO depths sized for this folding at {path}: run without --measure-only")
        config = json.loads(path.read_text())
        depths, sizing = config["fifo_depths"], config.get("sizing", {})
    else:
        say(f"1/2 sizing {sum(1 for n in model.graph.node if n.op_type == 'StreamingFIFO_rtl')} FIFOs: building "
            f"the design with FIFO gauges (Verilator, ~5-10 min), then {sizing_crops} crops + "
            f"{sizing_crops * passes} latents")
        depths, sustained = size_fifos(model, work / "gauges", target.part, target.clock_ns, x[:sizing_crops],
                                       z[:sizing_crops * passes], periods)
        sizing["unbounded_fifo_cycles_per_frame"] = dict(zip(ACCELERATORS, sustained, strict=True))
        path.write_text(json.dumps({**fifo_config(depths, manifest["folding"]["sha256"]), "sizing": sizing},
                                   indent=1) + "\n")
        say(f"wrote {path}")
    sized = with_depths(model, depths)
    cost = fifo_cost(sized, target.part)
    say(f"measuring with those depths: building the design (~5-10 min), then {crops} crops + {len(z)} latents "
        f"through both halves, and a host batch of {host_batch}")
    result = measure(sized, work / "sized", target.part, target.clock_ns, x, z, expected, host_batch)
    (work / "measured.json").write_text(json.dumps(result, indent=1))
    mhz = float(manifest["target"]["clock_mhz"])
    estimate = faces_per_s(mhz, *periods, passes)
    measured = faces_per_s(mhz, *result["interval"], passes)
    entry = {
        "date": time.strftime("%Y-%m-%d"), "verilator": version("verilator"),
        "crops": crops, "latents": len(z), "mismatching_integers": result["mismatching_integers"],
        "values_checked": result["values_checked"],
        "cycles_per_frame": dict(zip(ACCELERATORS, result["interval"], strict=True)),
        "estimated_cycles_per_frame": dict(zip(ACCELERATORS, periods, strict=True)),
        "estimated_faces_per_s": estimate, "measured_rtl_faces_per_s": measured,
        "measured_over_estimate": measured / estimate,
        "host_batch": {"crops": host_batch, "latents": host_batch * passes,
                       "cycles": dict(zip(ACCELERATORS, result["host_batch_cycles"], strict=True)),
                       "faces_per_s": host_batch * mhz * 1e6 / sum(result["host_batch_cycles"])},
        "fifo": {"file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path), **sizing,
                 **cost},
        "seconds": round(time.perf_counter() - started, 1)}
    manifest["rtl_simulation"] = entry
    (build / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str))
    return entry


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m hw.whole_design", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, default=DEFAULT_BUILD,
                    help="build folder (hw.build) with encoder.onnx, decoder.onnx, the simulator artefacts and "
                         "manifest.json (default: the shipped ZCU104 build)")
    ap.add_argument("--faces", type=lfw_folder, default=DEFAULT_FACES,
                    help="LFW folder (images/ + pairs.txt); crops of its evaluation persons (default ../shared/data/"
                         "lfw-dev)")
    ap.add_argument("--crops", type=positive_int, default=64,
                    help="real face crops, checked and timed with both halves busy (default 64); each brings "
                         "--passes latents")
    ap.add_argument("--sizing-crops", type=positive_int, default=8,
                    help="crops (and their latents) streamed through the FIFO gauges to size the FIFOs (default 8)")
    ap.add_argument("--measure-only", action="store_true",
                    help="do not size the FIFOs again: measure with the depths already sized for this folding "
                         "(hw/foldings/<build>.fifo_depths.json)")
    ap.add_argument("--host-batch", type=positive_int, default=4,
                    help="crops in the batch timed as the host sends it today: the crops, then their latents "
                         "(default 4, a few faces per camera frame)")
    ap.add_argument("--passes", type=positive_int, default=10, help="latents per crop (L Monte-Carlo samples)")
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "whole_design",
                    help="folder for the generated HDL and the Verilator builds (default .cache/whole_design)")
    args = ap.parse_args(argv)
    if not (args.build / "manifest.json").is_file():
        print(f"error: --build must be a build folder with manifest.json, not {args.build}", file=sys.stderr)
        return 2
    if args.sizing_crops > args.crops or args.host_batch > args.crops:
        print("error: --sizing-crops and --host-batch must be at most --crops", file=sys.stderr)
        return 2
    sizing_crops = None if args.measure_only else args.sizing_crops
    try:
        entry = run(args.build, args.faces, args.crops, sizing_crops, args.passes, args.host_batch, args.work)
    except WholeDesignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(entry, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
