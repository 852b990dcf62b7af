"""Folding policy: PE/SIMD per layer, DSP (MVAU_rtl) or LUT (MVAU_hls) MACs, and where each weight memory lives.

FINN's stock `SetFolding` caps the paper-sized decoder (FINDINGS section 7): it never folds the
upsampling layer and limits MVAU weight-stream width. Our policy, for a target rate on one chip shared
by the encoder (1 pass per face) and the decoder (`passes` per face):

1. `SetFolding` (no width cap, no relaxation) folds every non-MVAU layer for the accelerator's cycle
   target; the upsampling layer's SIMD is raised until it meets the target too.
2. Each MVAU gets, per implementation (rtl: DSP48 MACs; hls: LUT MACs), the (PE, SIMD) meeting the
   target at the smallest resource cost by FINN's own estimators, and per weight memory
   (BRAM, URAM, and LUTRAM for hls) its resources.
3. Over both accelerators together, a local search picks one option per MVAU that minimises the peak
   utilisation against the device's recommended limits (then the summed utilisation).

A `Folding` (impl choice keyed by pre-specialisation MVAU name + FINN folding config keyed by final
node name) round-trips through JSON; `hw.build` applies the committed one.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass, field

from finn.transformation.fpgadataflow.set_folding import SetFolding
from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
from finn.transformation.general import ApplyConfig
from finn.util.config import extract_model_config
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.general import GiveUniqueNodeNames
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

from hw.device import ESTIMATED, Target
from hw.mvau_cost import node_resources

FOLDING_ATTRS = ("PE", "SIMD", "parallel_window", "ram_style", "resType", "mem_mode",
                 "runtime_writeable_weights", "ram_style_thresholds", "depth_trigger_uram", "depth_trigger_bram")
MEMORIES = {"rtl": ("block", "ultra", "distributed"), "hls": ("block", "ultra", "distributed")}
# MVAU_rtl.lut_estimation counts no LUTRAM and too few DSPs for weights over 4 bits: hw.mvau_cost corrects both.
# URAM weights need runtime_writeable_weights=1 (the host loads them at start-up). The paper-sized
# weights (c=24: 9.5 Mbit at 4 bit) do not fit the 11 Mbit of BRAM without them.
HLS_WEIGHT_STREAM_MAX = 8191  # AP_INT_MAX_W: PE x SIMD x weight bits of an MVAU_hls weight stream


@dataclass
class Folding:
    """One accelerator's folding: MVAU implementations (generic name -> rtl|hls) and FINN's folding config."""

    impl: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"impl": self.impl, "nodes": self.nodes}

    @classmethod
    def from_dict(cls, d: dict) -> Folding:
        return cls(dict(d["impl"]), {k: dict(v) for k, v in d["nodes"].items()})


def _mvaus(model: ModelWrapper) -> list:
    return [n for n in model.graph.node if n.op_type.startswith("MVAU")]


def specialize(model: ModelWrapper, impl: dict[str, str], part: str) -> ModelWrapper:
    """Set each generic MVAU's implementation style, then let FINN specialise every layer for `part`."""
    model = copy.deepcopy(model)
    names = {n.name for n in _mvaus(model)}
    if set(impl) != names:
        raise ValueError(f"folding names MVAUs {sorted(impl)}, the graph has {sorted(names)}")
    for node in _mvaus(model):
        getCustomOp(node).set_nodeattr("preferred_impl_style", impl[node.name])
    model = model.transform(SpecializeLayers(part))
    model = model.transform(GiveUniqueNodeNames())
    model = model.transform(InferShapes())
    return model.transform(InferDataTypes())


def apply_folding(model: ModelWrapper, folding: Folding, part: str) -> ModelWrapper:
    """Specialise with the folding's implementations and apply its node attributes (names must all match)."""
    model = specialize(model, folding.impl, part)
    missing = set(folding.nodes) - {n.name for n in model.graph.node}
    if missing:
        raise ValueError(f"folding config names nodes the graph lacks: {sorted(missing)}")
    return model.transform(ApplyConfig({"Defaults": {}, **copy.deepcopy(folding.nodes)}))


def capture_folding(generic: ModelWrapper, specialized: ModelWrapper) -> Folding:
    """The `Folding` that reproduces `specialized` from the generic (pre-specialisation) graph."""
    impl = {g.name: ("rtl" if s.op_type.endswith("_rtl") else "hls")
            for g, s in zip(_mvaus(generic), _mvaus(specialized), strict=True)}
    nodes = extract_model_config(specialized, None, FOLDING_ATTRS)
    nodes.pop("Defaults", None)
    return Folding(impl, nodes)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _resources(inst, part: str) -> dict[str, float]:
    return node_resources(inst, part)


@dataclass(frozen=True)
class MVAUOption:
    """One way to build one MVAU: implementation, weight memory, folding and FINN's resource estimate."""

    impl: str
    memory: str
    pe: int
    simd: int
    resources: dict[str, float]
    cycles: int = 0


def _set_memory(inst, memory: str) -> None:
    inst.set_nodeattr("ram_style", memory)
    inst.set_nodeattr("runtime_writeable_weights", int(memory == "ultra"))  # FINN: URAM weights need it


def _cost(resources: dict[str, float], target: Target) -> float:
    return sum(v / target.limit(r) for r, v in resources.items())


def mvau_options(node, impl: str, cycles: int, target: Target, uram: bool = True) -> list[MVAUOption]:
    """Per weight memory, the cheapest (PE, SIMD) of a specialised MVAU that meets `cycles` (else the fastest)."""
    inst = getCustomOp(node)
    mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
    vectors = math.prod(int(v) for v in inst.get_nodeattr("numInputVectors"))
    wbits = inst.get_input_datatype(1).bitwidth()
    folds = [((mh // pe) * (mw // simd) * vectors, pe, simd)
             for pe, simd in itertools.product(_divisors(mh), _divisors(mw))
             if impl == "rtl" or pe * simd * wbits <= HLS_WEIGHT_STREAM_MAX]
    feasible = [f for f in folds if f[0] <= cycles] or [min(folds)]
    # the cheapest fold is among the least parallel ones meeting the target: keep PE x SIMD <= 2 x minimum
    least = min(pe * simd for _, pe, simd in feasible)
    feasible = [f for f in feasible if f[1] * f[2] <= 2 * least]
    options = []
    for memory in [m for m in MEMORIES[impl] if uram or m != "ultra"]:
        best = None
        for fold_cycles, pe, simd in feasible:
            inst.set_nodeattr("PE", pe)
            inst.set_nodeattr("SIMD", simd)
            _set_memory(inst, memory)
            res = _resources(inst, target.part)
            key = (_cost(res, target), pe * simd)
            if best is None or key < best[0]:
                best = (key, MVAUOption(impl, memory, pe, simd, res, fold_cycles))
        options.append(best[1])
    return options


def _fold_non_mvau(model: ModelWrapper, cycles: int) -> ModelWrapper:
    """FINN's SetFolding for `cycles` without its MVAU width cap, then fold the layers it does not (upsampling,
    our DepthToSpace) too."""
    model = model.transform(SetFolding(cycles, mvau_wwidth_max=1 << 30, two_pass_relaxation=False))
    for node in model.graph.node:
        if node.op_type.startswith(("UpsampleNearestNeighbour", "DepthToSpace")):
            inst = getCustomOp(node)
            for simd in _divisors(inst.get_nodeattr("NumChannels")):
                inst.set_nodeattr("SIMD", simd)
                if inst.get_exp_cycles() <= cycles:
                    break
    return model


def _width_options(node) -> list[dict[str, int]]:
    """A streaming non-MVAU layer's parallelism settings in increasing width, or [] for layers not adjusted:
    SIMD for sliding windows (and, at SIMD = channels, the whole window per cycle), padding and depth-to-space,
    PE for thresholds."""
    inst = getCustomOp(node)
    if node.op_type.startswith("ConvolutionInputGenerator"):
        channels = inst.get_nodeattr("IFMChannels")
        options = [{"SIMD": d, "parallel_window": 0} for d in _divisors(channels)]
        return options + ([{"SIMD": channels, "parallel_window": 1}] if node.op_type.endswith("_rtl") else [])
    if node.op_type.startswith(("FMPadding", "DepthToSpace")):
        return [{"SIMD": d} for d in _divisors(inst.get_nodeattr("NumChannels"))]
    if node.op_type.startswith("Thresholding"):
        return [{"PE": d} for d in _divisors(inst.get_nodeattr("NumChannels"))]
    return []


def _odd(a: int, b: int) -> bool:
    return max(a, b) % min(a, b) != 0


def stream_fits(model: ModelWrapper, node) -> tuple[bool, bool]:
    """Whether `node`'s input words suit its producer's, and its output words a fixed-width consumer's (an
    MVAU's), in the sense that one width is a multiple of the other; True where there is no such neighbour."""
    inst = getCustomOp(node)
    producer, consumer = model.find_producer(node.input[0]), model.find_consumer(node.output[0])
    up = producer is None or not _odd(getCustomOp(producer).get_folded_output_shape()[-1],
                                      inst.get_folded_input_shape()[-1])
    down = consumer is None or bool(_width_options(consumer)) or not _odd(
        getCustomOp(consumer).get_folded_input_shape()[-1], inst.get_folded_output_shape()[-1])
    return up, down


def _set(inst, option: dict[str, int]) -> None:
    for k, v in option.items():
        inst.set_nodeattr(k, v)


def _fitting(model: ModelWrapper, node, options: list[dict[str, int]]) -> dict[str, int] | None:
    """The first of `options` at which `node` fits its neighbours (`stream_fits`), left set; None (the node
    left at the last option tried) if none does."""
    inst = getCustomOp(node)
    for option in options:
        _set(inst, option)
        if all(stream_fits(model, node)):
            return option
    return None


def align_stream_widths(model: ModelWrapper) -> ModelWrapper:
    """Raise the parallelism of sliding-window, padding, depth-to-space and threshold layers (never lower it)
    so that every stream joins words whose widths are multiples of each other, where a setting allows it.

    FINN puts a width converter on every stream whose widths differ and estimates none of them; with a
    non-integer ratio FINN's DWC_rtl is slower than one word per cycle (6 -> 16 values: 5 cycles per 4 input
    words; 16 -> 12: 2 cycles per input word), which made converters the decoder's slowest layers (11,560 and
    13,068 cycles where FINN estimated 10,404 for the decoder; measured in Verilator, `hw.whole_design`). In
    graph order each such layer that does not fit takes the smallest setting that suits its producer and a
    fixed-width consumer (an MVAU's); where none does and the producer is itself adjustable, the producer is
    raised to its smallest setting that lets both fit. Repeats until nothing changes (widths only grow)."""
    changed = True
    while changed:
        changed = False
        for node in model.graph.node:
            options = _width_options(node)
            inst = getCustomOp(node)
            current = {k: inst.get_nodeattr(k) for k in options[0]} if options else None
            if current not in options or all(stream_fits(model, node)):
                continue
            later = options[options.index(current):]
            if _fitting(model, node, later) is not None:
                changed = True
                continue
            _set(inst, current)
            producer = model.find_producer(node.input[0])
            if producer is None or not _width_options(producer):
                continue
            pinst = getCustomOp(producer)
            pcurrent = {k: pinst.get_nodeattr(k) for k in _width_options(producer)[0]}
            for poption in _width_options(producer)[_width_options(producer).index(pcurrent) + 1:]:
                _set(pinst, poption)
                if all(stream_fits(model, producer)) and _fitting(model, node, later) is not None:
                    changed = True
                    break
                _set(inst, current)
            else:
                _set(pinst, pcurrent)
    return model


def _non_mvau_resources(model: ModelWrapper, part: str) -> dict[str, float]:
    total = dict.fromkeys(ESTIMATED, 0.0)
    for node in model.graph.node:
        if not node.op_type.startswith("MVAU"):
            for r, v in _resources(getCustomOp(node), part).items():
                total[r] += v
    return total


def _peak(choice: list[MVAUOption], fixed: dict[str, float], target: Target) -> tuple[float, float]:
    used = dict(fixed)
    for option in choice:
        for r, v in option.resources.items():
            used[r] += v
    fractions = [used[r] / target.limit(r) for r in used]
    return max(fractions), sum(fractions)


def choose_options(options: list[list[MVAUOption]], fixed: dict[str, float], target: Target) -> list[MVAUOption]:
    """Local search: one option per MVAU minimising (peak, summed) utilisation against the target's limits.

    Moves of one MVAU until none improves, then of two at once (moving multipliers off the peak resource may
    need another layer's weights moved to make room), until neither does."""
    choice = [min(opts, key=lambda o: _cost(o.resources, target)) for opts in options]
    best = _peak(choice, fixed, target)
    improved = True
    while improved:
        improved = False
        for i, opts in enumerate(options):
            for option in opts:
                trial = [*choice[:i], option, *choice[i + 1:]]
                score = _peak(trial, fixed, target)
                if score < best:
                    choice, best, improved = trial, score, True
        if improved:
            continue
        for i, j in itertools.combinations(range(len(options)), 2):
            for a, b in itertools.product(options[i], options[j]):
                trial = list(choice)
                trial[i], trial[j] = a, b
                score = _peak(trial, fixed, target)
                if score < best:
                    choice, best, improved = trial, score, True
    return choice


MAC_POLICIES = {"dsp": ("rtl",), "lut": ("hls",), "mixed": ("rtl", "hls")}


def search_folding(generic: dict[str, ModelWrapper], cycles: dict[str, int], target: Target,
                   macs: str | dict[str, str] = "mixed", uram: bool = True) -> dict[str, Folding]:
    """Fold every accelerator in `generic` (name -> graph before specialisation) for its cycle target.

    `macs` (one policy, or one per accelerator): "dsp" (every MVAU on DSPs: a pure-RTL design),
    "lut" (every MVAU on LUTs) or "mixed" (chosen per layer). `uram`: also offer URAM for weights.
    """
    policy = macs if isinstance(macs, dict) else dict.fromkeys(generic, macs)
    options, fixed = {}, dict.fromkeys(ESTIMATED, 0.0)
    for name, model in generic.items():
        impls = MAC_POLICIES[policy[name]]
        for impl in impls:
            spec = _fold_non_mvau(specialize(model, dict.fromkeys((n.name for n in _mvaus(model)), impl),
                                             target.part), cycles[name])
            for k, node in enumerate(_mvaus(spec)):
                options.setdefault((name, k), []).extend(mvau_options(node, impl, cycles[name], target, uram))
            if impl == impls[0]:  # the other layers cost the same whichever MVAU implementation
                for r, v in _non_mvau_resources(spec, target.part).items():
                    fixed[r] += v
    for (name, k), opts in options.items():  # an implementation that cannot meet the rate (an HLS weight
        meeting = [o for o in opts if o.cycles <= cycles[name]]  # stream over its width cap) only where none can
        options[name, k] = meeting or opts
    keys = list(options)
    choice = dict(zip(keys, choose_options([options[k] for k in keys], fixed, target), strict=True))
    result = {}
    for name, model in generic.items():
        impl = {n.name: choice[name, k].impl for k, n in enumerate(_mvaus(model))}
        spec = _fold_non_mvau(specialize(model, impl, target.part), cycles[name])
        for k, node in enumerate(_mvaus(spec)):
            inst, option = getCustomOp(node), choice[name, k]
            inst.set_nodeattr("PE", option.pe)
            inst.set_nodeattr("SIMD", option.simd)
            _set_memory(inst, option.memory)
        result[name] = capture_folding(model, align_stream_widths(spec))
    return result
