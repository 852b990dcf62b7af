"""A register-level stand-in for PYNQ on a ZCU104 with the facevault bitstream.

`MockPynq` has PYNQ's `Overlay` and `allocate`; the overlay's DMA engines decode the register writes that
FINN's IODMA understands (address, batch, start; status done/idle), fetch the input batch from the
"physical" buffer at the programmed address and compute the output with the bit-accurate simulator, as the
fabric would. URAM weight partitions accept AXI-lite writes and read them back.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from sim.accelerator import SimAccelerator


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
        out_buf[:n] = result
        self.regs[0x00] = out.regs[0x00] = 0x6   # done + idle


class WeightMemory:
    def __init__(self) -> None:
        self.array = np.zeros(1 << 16, np.uint32)

    def write_mm(self, offset: int, data: bytes) -> None:
        words = np.frombuffer(data, np.uint32)
        self.array[offset // 4:offset // 4 + len(words)] = words


class Partition:
    def __init__(self) -> None:
        self.mmio = WeightMemory()


class MockPynq:
    """Module-like: `Overlay(bitfile)` and `allocate(shape, dtype)` of a simulated board."""

    def __init__(self, build: Path, *, partitions: int = 0, hang: str | None = None) -> None:
        self.memory, self.log = Memory(), []
        self.build, self.partitions, self.hang = Path(build), partitions, hang
        self.loaded: list[str] = []
        self.overlays: list = []

    def allocate(self, shape, dtype):
        return self.memory.allocate(shape, dtype)

    def Overlay(self, bitfile: str):  # PYNQ's name
        self.loaded.append(bitfile)
        manifest = json.loads((self.build / "manifest.json").read_text())
        overlay = type("Overlay", (), {})()
        overlay.ip_dict = {}
        for i, name in enumerate(("encoder", "decoder")):
            sim = SimAccelerator.load(self.build / manifest["graphs"][name]["simulator_artefact"]["file"])
            idma, odma = Dma(f"idma{i}", self.memory, self.log), Dma(f"odma{i}", self.memory, self.log)
            idma.compute, idma.peer, odma.hang = sim.execute, odma, self.hang == name
            for dma in (idma, odma):
                setattr(overlay, dma.name, dma)
                overlay.ip_dict[dma.name] = {}
        for p in range(self.partitions):
            ip = f"StreamingDataflowPartition_{p}"
            setattr(overlay, ip, Partition())
            overlay.ip_dict[ip] = {}
        self.overlays.append(overlay)
        return overlay
