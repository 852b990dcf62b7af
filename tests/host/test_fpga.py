"""The fpga backend against a register-level mock of the board (tests/host/mock_pynq.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from host.accelerated import BundleError, simulated_vae
from host.fpga import BITFILE, RUNTIME_WEIGHTS, SETTINGS, DmaTimeout, fpga_vae
from tests.conftest import BUILD
from tests.host.mock_pynq import MockPynq, WeightMemory, board_folder

pytestmark = pytest.mark.skipif(not (BUILD / "manifest.json").exists(), reason="shipped build folder missing")


@pytest.fixture
def board_build(tmp_path):
    return board_folder(BUILD, tmp_path / "build")


def crops(n: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 64, 64), dtype=np.uint8)


def test_fpga_backend_equals_simulator(board_build):
    board = MockPynq(board_build)
    fpga = fpga_vae(board_build, pynq=board, batch=4)
    sim = simulated_vae(board_build)
    x = crops(5)                                  # 5 crops: two encoder batches (4 + 1)
    for got, want in zip(fpga.encode(x), sim.encode(x), strict=True):
        np.testing.assert_array_equal(got, want)
    z = np.random.default_rng(1).normal(size=(6, sim.latent)).astype(np.float32)
    for got, want in zip(fpga.decode(z), sim.decode(z), strict=True):
        np.testing.assert_array_equal(got, want)
    assert board.loaded == [str(board_build / BITFILE)]


def test_register_sequence(board_build):
    board = MockPynq(board_build)
    fpga_vae(board_build, pynq=board, batch=4).encode(crops(2))
    writes = [(dma, off) for dma, off, _ in board.log]
    assert writes == [("odma0", 0x10), ("odma0", 0x14), ("odma0", 0x1C), ("odma0", 0x00),
                      ("idma0", 0x10), ("idma0", 0x14), ("idma0", 0x1C), ("idma0", 0x00)]
    assert dict(((d, o), v) for d, o, v in board.log)[("idma0", 0x1C)] == 2


def test_hung_accelerator_times_out(board_build):
    board = MockPynq(board_build, hang="decoder")
    vae = fpga_vae(board_build, pynq=board, timeout=0.05)
    mu, _ = vae.encode(crops(1))
    with pytest.raises(DmaTimeout, match=r"decoder: no result 0\.05 s after"):
        vae.decode(mu)


def test_runtime_weights_are_written_verified_and_flushed(board_build, monkeypatch):
    """Each weight file goes to its own layer's AXI-lite interface (FINN's <partition>_<index>_<layer>.dat ->
    StreamingDataflowPartition_<partition>/s_axilite_<index>), is read back, and then one frame goes through
    each accelerator to drain the words the weight memories fetched before."""
    settings = json.loads((board_build / SETTINGS).read_text())
    settings["driver_information"]["runtime_weights"] = True
    (board_build / SETTINGS).write_text(json.dumps(settings))
    board = MockPynq(board_build, weight_interfaces={1: 2})
    with pytest.raises(BundleError, match=r"holds no \.dat file"):
        fpga_vae(board_build, pynq=board)
    (board_build / RUNTIME_WEIGHTS).mkdir()
    (board_build / RUNTIME_WEIGHTS / "1_0_MVAU_rtl_1.dat").write_text("0000000a\nffffffff\n00000003\n")
    (board_build / RUNTIME_WEIGHTS / "1_1_MVAU_rtl_7.dat").write_text("00000005\n")
    board.log.clear()
    fpga_vae(board_build, pynq=board)
    partition = board.overlays[-1].StreamingDataflowPartition_1
    assert partition.s_axilite_0.mmio.array[:4].tolist() == [10, 0xFFFFFFFF, 3, 0]
    assert partition.s_axilite_1.mmio.array[:2].tolist() == [5, 0]
    starts = [(dma, v) for dma, off, v in board.log if off == 0x1C]
    assert starts == [("odma0", 1), ("idma0", 1), ("odma1", 1), ("idma1", 1)]     # one flush frame each
    monkeypatch.setattr(WeightMemory, "write_mm", lambda self, offset, data: None)   # writes get lost
    with pytest.raises(BundleError, match="read back from StreamingDataflowPartition_1/s_axilite_0 differ"):
        fpga_vae(board_build, pynq=board)
    monkeypatch.undo()
    (board_build / RUNTIME_WEIGHTS / "1_2_MVAU_rtl_9.dat").write_text("00000001\n")
    with pytest.raises(BundleError, match="no StreamingDataflowPartition_1/s_axilite_2"):
        fpga_vae(board_build, pynq=board)


def test_clear_errors_without_bitstream_or_pynq(board_build):
    (board_build / BITFILE).unlink()
    with pytest.raises(BundleError, match=r"no bitfile/finn-accel\.bit: this build has no bitstream"):
        fpga_vae(board_build, pynq=MockPynq(board_build))
    with pytest.raises(BundleError, match="no bitfile"):
        fpga_vae(BUILD)                             # the shipped folder: estimates only, no Vivado run


def test_mismatched_driver_shapes_are_refused(board_build):
    settings = json.loads((board_build / SETTINGS).read_text())
    settings["driver_information"]["io_shape_dict"]["oshape_packed"][1] = [1, 1, 1]
    (board_build / SETTINGS).write_text(json.dumps(settings))
    with pytest.raises(BundleError, match="decoder output: the driver's packed shape"):
        fpga_vae(board_build, pynq=MockPynq(board_build))
