"""A register-level stand-in for PYNQ on a ZCU104 with the facevault bitstream.

`MockPynq` has PYNQ's `Overlay` and `allocate`; the overlay's DMA engines decode the register writes that
FINN's IODMA understands (address, batch, start; status done/idle), fetch the input batch from the
"physical" buffer at the programmed address and have the fabric compute the output: by default the
bit-accurate simulator (`SimFabric`); `hw.virtual_board.VerilatorFabric` is the whole design in Verilator,
whose weight memories take the runtime weights. Runtime-weight interfaces
(``StreamingDataflowPartition_<p>/s_axilite_<i>``) accept AXI-lite writes and read them back.
"""

from __future__ import annotations

import itertools
import json
import shutil
from functools import partial
from pathlib import Path

import numpy as np

from host.fpga import BITFILE, SETTINGS
from sim.accelerator import SimAccelerator, load_spec
from sim.packing import StreamFormat


class Buffer(np.ndarray):
    """pynq.allocate's contiguous buffer: an ndarray with a physical address and cache operations."""

    def flush(self) -> None:
        self.flushed = True

    def invalidate(self) -> None:
        pass


class Memory:
    def __init__(self) -> None:
        self.buffers: dict[int, Buffer] = {}
        self._next = itertools.count(0x1_2000_0000, 0x100_0000)

    def allocate(self, shape, dtype) -> Buffer:
        buf = np.zeros(shape, dtype).view(Buffer)
        buf.device_address = next(self._next)
        self.buffers[buf.device_address] = buf
        return buf


class WeightMemory:
    def __init__(self) -> None:
        self.array = np.zeros(1 << 16, np.uint32)

    def write_mm(self, offset: int, data: bytes) -> None:
        words = np.frombuffer(data, np.uint32)
        self.array[offset // 4:offset // 4 + len(words)] = words


class SimFabric:
    """The two accelerators as the bit-accurate simulator; weight interfaces are plain memories."""

    def __init__(self, build: Path) -> None:
        manifest = json.loads((build / "manifest.json").read_text())
        self.sims = [SimAccelerator.load(build / manifest["graphs"][name]["simulator_artefact"]["file"])
                     for name in ("encoder", "decoder")]

    def compute(self, accelerator: int, packed: np.ndarray) -> np.ndarray:
        return self.sims[accelerator].execute(packed)

    def weight_memory(self, partition: int, index: int) -> WeightMemory:
        return WeightMemory()


class Dma:
    """One IODMA engine's AXI-lite registers; `peer` is the output engine of the same accelerator."""

    def __init__(self, name: str, memory: Memory, log: list) -> None:
        self.name, self.memory, self.log = name, memory, log
        self.regs = {0x00: 0x4, 0x10: 0, 0x14: 0, 0x1C: 0}
        self.compute = None          # input engines: packed input -> packed output
        self.peer: Dma | None = None
        self.hang = False

    def write(self, offset: int, value: int) -> None:
        self.log.append((self.name, offset, value))
        if offset == 0x00 and value & 1:
            self.regs[0x00] = 0x0            # running: neither idle nor done
            if self.compute is not None:
                self._run()
        else:
            self.regs[offset] = value

    def read(self, offset: int) -> int:
        return self.regs[offset]

    def address(self) -> int:
        return self.regs[0x10] | self.regs[0x14] << 32

    def _run(self) -> None:
        out = self.peer
        if out.regs[0x00] & 0x4:
            raise AssertionError(f"{self.name} started before its output engine {out.name}")
        n = self.regs[0x1C]
        result = self.compute(np.asarray(self.memory.buffers[self.address()][:n]))
        if out.hang:
            return
        out_buf = self.memory.buffers[out.address()]
        out_buf[:n] = result.reshape(n, *out_buf.shape[1:])
        self.regs[0x00] = out.regs[0x00] = 0x6   # done + idle


class MockPynq:
    """Module-like: `Overlay(bitfile)` and `allocate(shape, dtype)` of a simulated board. `weight_interfaces`:
    partition -> how many runtime-weight AXI-lite interfaces it has."""

    def __init__(self, build: Path, *, weight_interfaces: dict[int, int] | None = None, hang: str | None = None,
                 fabric=None) -> None:
        self.memory, self.log = Memory(), []
        self.build, self.hang = Path(build), hang
        self.weight_interfaces = weight_interfaces or {}
        self.fabric = fabric or SimFabric(self.build)
        self.loaded: list[str] = []
        self.overlays: list = []

    def allocate(self, shape, dtype):
        return self.memory.allocate(shape, dtype)

    def Overlay(self, bitfile: str):  # PYNQ's name
        self.loaded.append(bitfile)
        overlay = type("Overlay", (), {})()
        overlay.ip_dict = {}
        for i, name in enumerate(("encoder", "decoder")):
            idma, odma = Dma(f"idma{i}", self.memory, self.log), Dma(f"odma{i}", self.memory, self.log)
            idma.compute, idma.peer, odma.hang = partial(self.fabric.compute, i), odma, self.hang == name
            for dma in (idma, odma):
                setattr(overlay, dma.name, dma)
                overlay.ip_dict[dma.name] = {}
        for p, count in self.weight_interfaces.items():
            partition = type("Partition", (), {})()
            setattr(overlay, f"StreamingDataflowPartition_{p}", partition)
            overlay.ip_dict[f"StreamingDataflowPartition_{p}"] = {}
            for i in range(count):
                interface = type("Interface", (), {})()
                interface.mmio = self.fabric.weight_memory(p, i)
                setattr(partition, f"s_axilite_{i}", interface)
                overlay.ip_dict[f"StreamingDataflowPartition_{p}/s_axilite_{i}"] = {}
        self.overlays.append(overlay)
        return overlay


def board_folder(build: Path, folder: Path) -> Path:
    """A copy of build folder `build` plus what a Vivado build adds: bitfile and FINN's driver settings."""
    shutil.copytree(build, folder, ignore=shutil.ignore_patterns("*.onnx", "vectors.npz", "finn.log"))
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
