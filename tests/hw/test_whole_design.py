"""The whole merged design of the shipped build (encoder + decoder, width converters, FIFOs at the committed
sized depths) in Verilator: runtime weights written over AXI-lite, bit-exact against the simulator, and
driven by the camera program's own FPGA code through the register-level PYNQ mock (a virtual board).
The full measurement is `python -m hw.whole_design`; here a few faces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qonnx.custom_op.registry import getCustomOp

from host.accelerated import simulated_vae
from host.fpga import RUNTIME_WEIGHTS, SETTINGS, fpga_vae
from hw.device import ZCU104
from hw.fifo_config import fifo_file
from hw.rtlsim import RTLDesign, runtime_weight_nodes
from hw.virtual_board import VerilatorFabric, runtime_weight_files
from hw.whole_design import ACCELERATORS, start, stitched, with_depths
from sim.accelerator import SimAccelerator
from tests.conftest import BUILD
from tests.host.mock_pynq import MockPynq, board_folder

MANIFEST = json.loads((BUILD / "manifest.json").read_text())
CROPS = 3


def _fifo_depths() -> dict[str, int]:
    return json.loads(fifo_file(MANIFEST).read_text())["fifo_depths"]


@pytest.fixture(scope="module")
def sized_design(tmp_path_factory) -> RTLDesign:
    model = with_depths(stitched(BUILD, ZCU104.part), _fifo_depths())
    return RTLDesign(model, None, tmp_path_factory.mktemp("whole"), ZCU104.part, ZCU104.clock_ns)


@pytest.fixture(scope="module")
def faces(shipped_vectors) -> tuple[np.ndarray, np.ndarray]:
    """Real crops and, per crop, latents near its own code (the decoder sees what the camera gives it)."""
    x = shipped_vectors["encoder_in"][:CROPS]
    z = np.repeat(shipped_vectors["decoder_in"][:CROPS], 10, axis=0)
    z = np.clip(z + np.random.default_rng(0).integers(-3, 4, z.shape), -128, 127)
    return x, z


def test_fifo_depths_belong_to_the_shipped_folding_and_cover_every_fifo():
    """The committed depths (what hw.build gives Vivado) were sized for this folding, one per FIFO of the graph
    FINN's step_set_fifo_depths makes, and the manifest's measurement used them."""
    config = json.loads(fifo_file(MANIFEST).read_text())
    assert config["folding_sha256"] == MANIFEST["folding"]["sha256"]
    fifos = [n.name for n in stitched(BUILD, ZCU104.part).get_nodes_by_op_type("StreamingFIFO_rtl")]
    assert sorted(config["fifo_depths"]) == sorted(fifos)
    assert all(d >= 2 for d in config["fifo_depths"].values())
    assert MANIFEST["rtl_simulation"]["mismatching_integers"] == 0


def test_whole_design_equals_the_simulator_with_runtime_weights_loaded(sized_design, faces):
    """Both halves at once, all RTL (our DepthToSpace in both modes among them), URAM weights written over
    AXI-lite and read back as the host does, one flush frame: every integer equal to the simulator's; without
    the flush the first frame computes with stale words."""
    ops = [n.op_type for n in sized_design.nodes]
    assert all(op.endswith("_rtl") for op in ops) and len(ops) == len(sized_design.model.graph.node)
    modes = {getCustomOp(n).get_nodeattr("Replicate") for n in sized_design.nodes if n.op_type == "DepthToSpace_rtl"}
    assert modes == {0, 1}
    x, z = faces
    assert sized_design.weight_ports == [n.name for n in runtime_weight_nodes(sized_design.model)]
    assert len(sized_design.weight_ports) == 2                  # one URAM layer in each half
    sims = [SimAccelerator.load(BUILD / MANIFEST["graphs"][a]["simulator_artefact"]["file"]) for a in ACCELERATORS]
    expected = [sims[0].run(x), sims[1].run(z)]
    with start(sized_design, (x, z)) as sim:
        results = sim.stream([x, z], [len(x), len(z)])
        for got, want in zip(results, expected, strict=True):
            np.testing.assert_array_equal(got.outputs, want)
        first_words = sim.read_words(0, 8)
    assert np.count_nonzero(first_words), "weights read back over AXI-lite are empty"
    with sized_design.session() as cold:
        cold.load_runtime_weights()
        unflushed = cold.stream([x[:2], z[:2]], [2, 2])
    assert any(np.any(r.outputs[0] != e[0]) for r, e in zip(unflushed, expected, strict=True))
    for r, e in zip(unflushed, expected, strict=True):
        np.testing.assert_array_equal(r.outputs[1], e[1])


def test_virtual_board_runs_the_camera_programs_fpga_path(sized_design, faces, tmp_path):
    """host.fpga against the Verilator design through the PYNQ mock: runtime weights from FINN-format .dat
    files to each layer's AXI-lite interface, the flush, the DMA register sequence; the same VAE outputs as
    the simulator backend on a few faces."""
    folder = board_folder(BUILD, tmp_path / "board")
    settings = json.loads((folder / SETTINGS).read_text())
    settings["driver_information"]["runtime_weights"] = True
    (folder / SETTINGS).write_text(json.dumps(settings))
    runtime_weight_files(sized_design, folder / RUNTIME_WEIGHTS, partition=1)
    fabric = VerilatorFabric(sized_design)
    try:
        board = MockPynq(folder, weight_interfaces={1: len(sized_design.weight_ports)}, fabric=fabric)
        fpga, sim = fpga_vae(folder, pynq=board, batch=2), simulated_vae(folder)
        crops = faces[0][..., 0]                   # the camera's (N, 64, 64) crops
        mu_sigma = fpga.encode(crops)
        for got, want in zip(mu_sigma, sim.encode(crops), strict=True):
            np.testing.assert_array_equal(got, want)
        z = np.repeat(mu_sigma[0], 2, axis=0)
        for got, want in zip(fpga.decode(z), sim.decode(z), strict=True):
            np.testing.assert_array_equal(got, want)
    finally:
        fabric.close()



@pytest.mark.parametrize("argv, message", [
    (["--build", "{tmp}"], "--build must be a build folder with manifest.json"),
    (["--crops", "4", "--sizing-crops", "8"], "--sizing-crops and --host-batch must be at most --crops"),
    (["--crops", "0"], "--crops"),
])
def test_cli_refuses_bad_input_before_any_work(argv, message, tmp_path, capsys):
    from hw.whole_design import main

    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2 and message in capsys.readouterr().err
