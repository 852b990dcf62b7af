"""The FINN flow for one accelerator: cleaned QONNX -> generic HW layers -> folded, specialised dataflow graph.

Steps are FINN's own build steps plus ours (`hw.transforms`), run in order by `run_steps` so that each is
timed and, when asked, its graph saved. `to_dataflow` stops before specialisation (the folding policy
needs the generic graph); `specialize_and_fold` applies a `Folding` and finishes the graph;
`estimate` runs FINN's estimate reports on it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import finn.builder.build_dataflow_config as bcfg
import finn.builder.build_dataflow_steps as finn_steps
import finn.transformation.streamline.absorb as absorb
from finn.transformation.fpgadataflow.convert_to_hw.upsample import InferUpsample
from finn.transformation.streamline.reorder import MakeScaleResizeNHWC
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.general import GiveReadableTensorNames, GiveUniqueNodeNames
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

from hw.device import Target
from hw.fc_layout import PermuteMatMulToNHWC
from hw.folding import Folding, apply_folding
from hw.mvau_cost import correct_report
from hw.subpixel import ConvertUpsampleConvToSubpixel, ConvertUpsampleToDepthToSpace
from hw.transforms import (
    AbsorbLeakyReluIntoMultiThreshold,
    ExposeReshapeLayoutForResize,
    RemoveIdentityMultiThreshold,
    SetReshapeLayouts,
    StripHostTail,
)

Step = Callable[[ModelWrapper, bcfg.DataflowBuildConfig], ModelWrapper]


def dataflow_config(out_dir: Path, target: Target, outputs: list[bcfg.DataflowOutputType] | None = None
                    ) -> bcfg.DataflowBuildConfig:
    """FINN build settings shared by every step: part, board, clock, RTL-friendly standalone thresholds."""
    return bcfg.DataflowBuildConfig(
        output_dir=str(out_dir), synth_clk_period_ns=target.clock_ns, fpga_part=target.part, board=target.board,
        shell_flow_type=bcfg.ShellFlowType.VIVADO_ZYNQ, standalone_thresholds=True,
        generate_outputs=outputs or [bcfg.DataflowOutputType.ESTIMATE_REPORTS], steps=[],
        save_intermediate_models=False, verbose=False)


def step_absorb_leaky_relu(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> ModelWrapper:
    return model.transform(AbsorbLeakyReluIntoMultiThreshold())


def step_remove_identity_thresholds(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> ModelWrapper:
    return model.transform(RemoveIdentityMultiThreshold())


def step_map_upsample(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> ModelWrapper:
    """Nearest-neighbour Resize (NCHW, after the FC's Reshape) -> NHWC UpsampleNearestNeighbour layers."""
    model = model.transform(InferDataLayouts())
    model = model.transform(ExposeReshapeLayoutForResize())
    model = model.transform(MakeScaleResizeNHWC())
    model = model.transform(absorb.AbsorbConsecutiveTransposes())
    for transform in (InferShapes(), InferDataTypes(), InferDataLayouts(), SetReshapeLayouts(), InferUpsample()):
        model = model.transform(transform)
    return model


def step_strip_host_tail(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> ModelWrapper:
    return model.transform(StripHostTail())


def step_fc_to_nhwc(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> ModelWrapper:
    """The decoder's FC emits NHWC directly (permuted weights): no Inner/OuterShuffle for its reshape."""
    return model.transform(PermuteMatMulToNHWC())


FRONT_STEPS: list[Step] = [
    finn_steps.step_qonnx_to_finn, step_absorb_leaky_relu, finn_steps.step_tidy_up, finn_steps.step_streamline,
    step_remove_identity_thresholds, step_map_upsample, step_strip_host_tail, step_fc_to_nhwc,
    finn_steps.step_convert_to_hw,
    finn_steps.step_minimize_bit_width_initial, finn_steps.step_create_dataflow_partition,
]


def step_subpixel_decoder(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> ModelWrapper:
    """Upsample + pad + 3x3 conv blocks -> sub-pixel convolution + DepthToSpace where that saves hardware, the
    other upsamplers -> DepthToSpace in replicate mode (hw.subpixel): no HLS upsampler left."""
    model = model.transform(ConvertUpsampleConvToSubpixel()).transform(ConvertUpsampleToDepthToSpace())
    return model.transform(GiveUniqueNodeNames())


def step_readable_names(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> ModelWrapper:
    """Stable tensor names: ``global_in`` / ``global_out`` at the borders (the merged bitstream graph uses them)."""
    return model.transform(GiveReadableTensorNames())


BACK_STEPS: list[Step] = [finn_steps.step_minimize_bit_width, finn_steps.step_transpose_decomposition,
                          step_readable_names]


def run_steps(model: ModelWrapper, steps: list[Step], cfg: bcfg.DataflowBuildConfig, log: dict[str, float],
              save_dir: Path | None = None) -> ModelWrapper:
    """Run `steps` in order, recording seconds per step in `log` (and saving each graph to `save_dir`)."""
    for step in steps:
        start = time.perf_counter()
        model = step(model, cfg)
        log[step.__name__] = round(time.perf_counter() - start, 2)
        if save_dir is not None:
            save_dir.mkdir(parents=True, exist_ok=True)
            model.save(str(save_dir / f"{step.__name__}.onnx"))
    return model


def to_dataflow(qonnx: ModelWrapper, cfg: bcfg.DataflowBuildConfig, log: dict[str, float],
                save_dir: Path | None = None, subpixel: bool = False) -> ModelWrapper:
    """Cleaned QONNX -> the generic (unspecialised, unfolded) dataflow graph, all layers HW layers; with
    `subpixel`, upsampling convolutions as sub-pixel convolutions (`step_subpixel_decoder`)."""
    model = run_steps(qonnx, FRONT_STEPS + [step_subpixel_decoder] * subpixel, cfg, log, save_dir)
    leftovers = [n.op_type for n in model.graph.node if not n.domain.startswith("finn.custom_op.fpgadataflow")]
    if leftovers:
        raise RuntimeError(f"layers FINN could not map to hardware: {leftovers}")
    return model


def specialize_and_fold(generic: ModelWrapper, folding: Folding, cfg: bcfg.DataflowBuildConfig,
                        log: dict[str, float]) -> ModelWrapper:
    """Specialise (RTL/HLS per the folding), fold, minimise bit widths and decompose shuffles."""
    start = time.perf_counter()
    model = apply_folding(generic, folding, cfg.fpga_part)
    log["specialize_and_fold"] = round(time.perf_counter() - start, 2)
    return run_steps(model, BACK_STEPS, cfg, log)


def estimate(model: ModelWrapper, cfg: bcfg.DataflowBuildConfig) -> dict:
    """FINN's estimate reports for a finished dataflow graph: per-layer cycles and resources, performance; the
    MVAU_rtl DSP/LUTRAM figures corrected (hw.mvau_cost; ``corrected`` lists the layers)."""
    finn_steps.step_generate_estimate_reports(model, cfg)
    report = Path(cfg.output_dir) / "report"

    def read(name: str) -> dict:
        return json.loads((report / name).read_text())

    resources = read("estimate_layer_resources.json")
    corrected = correct_report(model, resources, cfg.fpga_part)
    return {"performance": read("estimate_network_performance.json"),
            "cycles": read("estimate_layer_cycles.json"),
            "resources": resources, "corrected": corrected}
