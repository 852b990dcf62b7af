"""The fpga backend against a register-level mock of the board (tests/host/mock_pynq.py)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from host.accelerated import BundleError, simulated_vae
from host.fpga import BITFILE, RUNTIME_WEIGHTS, SETTINGS, DmaTimeout, fpga_vae
from sim.accelerator import load_spec
from sim.packing import StreamFormat
from tests.conftest import BUILD
from tests.host.mock_pynq import MockPynq, WeightMemory

pytestmark = pytest.mark.skipif(not (BUILD / "manifest.json").exists(), reason="shipped build folder missing")


@pytest.fixture
def board_build(tmp_path):
    """The shipped build folder plus what a Vivado build adds: bitfile and FINN's driver settings."""
    folder = tmp_path / "build"
    shutil.copytree(BUILD, folder, ignore=shutil.ignore_patterns("*.onnx", "vectors.npz", "finn.log"))
    manifest = json.loads((folder / "manifest.json").read_text())
    specs = [load_spec(folder / manifest["graphs"][n]["simulator_artefact"]["file"]) for n in ("encoder", "decoder")]
    packed = {side: [[1, *StreamFormat.from_spec(s[side]).packed_shape] for s in specs] for side in ("input", "output")}
    io = {"idma_names": ["idma0", "idma1"], "odma_names": ["odma0", "odma1"], "ishape_packed": packed["input"],
          "oshape_packed": packed["output"]}
    (folder / SETTINGS).parent.mkdir()
    (folder / SETTINGS).write_text(json.dumps({"driver_information": {"io_shape_dict": io, "runtime_weights": False}}))
    (folder / BITFILE).parent.mkdir()
    (folder / BITFILE).write_bytes(b"not a real bitstream: the mock board does not read it")
    return folder


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


def test_runtime_weights_are_written_and_verified(board_build, monkeypatch):
    settings = json.loads((board_build / SETTINGS).read_text())
    settings["driver_information"]["runtime_weights"] = True
    (board_build / SETTINGS).write_text(json.dumps(settings))
    board = MockPynq(board_build, partitions=2)
    with pytest.raises(BundleError, match=r"holds no \.dat file"):
        fpga_vae(board_build, pynq=board)
    (board_build / RUNTIME_WEIGHTS).mkdir()
    (board_build / RUNTIME_WEIGHTS / "1_0_MVAU_rtl_3.dat").write_text("0000000a\nffffffff\n00000003\n")
    fpga_vae(board_build, pynq=board)
    assert board.overlays[-1].StreamingDataflowPartition_1.mmio.array[:4].tolist() == [10, 0xFFFFFFFF, 3, 0]
    monkeypatch.setattr(WeightMemory, "write_mm", lambda self, offset, data: None)   # writes get lost
    with pytest.raises(BundleError, match="read back from StreamingDataflowPartition_1 differ"):
        fpga_vae(board_build, pynq=board)
    monkeypatch.undo()
    (board_build / RUNTIME_WEIGHTS / "7_0_MVAU_rtl_9.dat").write_text("00000001\n")
    with pytest.raises(BundleError, match="no StreamingDataflowPartition_7"):
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
