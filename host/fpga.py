"""The VAE on the ZCU104: the build's bitstream loaded with PYNQ, FINN's DMA engines driven with a timeout.

Register protocol of FINN's IODMA engines (zynq-iodma platform, as finn-plus-driver 1.6.1 drives them):
0x10 / 0x14 buffer address (low / high 32 bits), 0x1C batch size, 0x00 control (write 1: start) and status
(bit 1: done, bit 2: idle). The output engine is started before the input engine; the batch is complete
when the output engine reports done. FINN's driver waits for that forever; here a timeout raises
`DmaTimeout`. PYNQ is imported only when the backend is made (PYNQ 3.x / Python 3.10 and 4.0 / Python 3.12).

Layers whose weights live in URAM are runtime-writeable: the bitstream does not hold those weights, so they
are written at start-up from ``driver/runtime_weights/<partition>_<index>_<name>.dat`` (hex words, as FINN's
step_make_driver writes them) to AXI-lite interface ``s_axilite_<index>`` of
``StreamingDataflowPartition_<partition>``, read back and compared, as finn-plus-driver 1.6.1 does. Each
weight memory has read its first words before the weights arrive, so one frame goes through each
accelerator afterwards and is discarded (FINN's driver flushes likewise; `hw.whole_design` shows the first
frame of the Verilator design differ without it).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from host.accelerated import AcceleratedVAE, BundleError, load_manifest
from sim.accelerator import load_spec
from sim.packing import StreamFormat

ADDR_LO, ADDR_HI, BATCH, CONTROL = 0x10, 0x14, 0x1C, 0x00
START, DONE, IDLE = 0x1, 0x2, 0x4
BITFILE = Path("bitfile") / "finn-accel.bit"
SETTINGS = Path("driver") / "settings.json"
RUNTIME_WEIGHTS = Path("driver") / "runtime_weights"
ACCELERATORS = ("encoder", "decoder")   # hw.merge puts their inputs and outputs in this order


class DmaTimeout(RuntimeError):
    """The accelerator did not finish a transfer in time."""


class DmaAccelerator:
    """One accelerator of the overlay: packed batches through its input and output DMA engines."""

    def __init__(self, name: str, idma, odma, allocate: Callable, fmt_in: StreamFormat, fmt_out: StreamFormat, *,
                 batch: int = 100, timeout: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.idma, self.odma = name, idma, odma
        self.input, self.output = fmt_in, fmt_out
        self.batch, self.timeout, self.clock = batch, timeout, clock
        self.ibuf = allocate(shape=(batch, *fmt_in.packed_shape), dtype=np.uint8)
        self.obuf = allocate(shape=(batch, *fmt_out.packed_shape), dtype=np.uint8)

    @staticmethod
    def _start(dma, address: int, n: int) -> None:
        dma.write(ADDR_LO, address & 0xFFFFFFFF)
        dma.write(ADDR_HI, (address >> 32) & 0xFFFFFFFF)
        dma.write(BATCH, n)
        dma.write(CONTROL, START)

    def _transfer(self, n: int) -> None:
        if not self.odma.read(CONTROL) & IDLE:
            raise DmaTimeout(f"{self.name}: output DMA is busy before a transfer (reload the bitstream)")
        self._start(self.odma, self.obuf.device_address, n)
        self._start(self.idma, self.ibuf.device_address, n)
        deadline = self.clock() + self.timeout
        while not self.odma.read(CONTROL) & DONE:
            if self.clock() > deadline:
                raise DmaTimeout(f"{self.name}: no result {self.timeout:g} s after starting a batch of {n} "
                                 "(accelerator hung or wrong bitstream; reload it)")

    def execute(self, packed: np.ndarray) -> np.ndarray:
        """Packed uint8 inputs (N, *packed input shape) -> packed outputs, in batches of at most `batch`."""
        out = []
        for start in range(0, len(packed), self.batch):
            chunk = packed[start:start + self.batch]
            self.ibuf[:len(chunk)] = chunk
            self.ibuf.flush()
            self._transfer(len(chunk))
            self.obuf.invalidate()
            out.append(np.array(self.obuf[:len(chunk)]))
        return np.concatenate(out) if out else np.zeros((0, *self.output.packed_shape), np.uint8)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Integers (N, *input shape) -> integers (N, *output shape)."""
        return self.output.unpack(self.execute(self.input.pack(x)))

    def flush(self) -> None:
        """One frame of zeros through the accelerator, its result discarded: drains the weight words the
        weight memories fetched before the runtime weights were written."""
        self.execute(np.zeros((1, *self.input.packed_shape), np.uint8))


def load_runtime_weights(overlay, folder: Path) -> int:
    """Write every ``<partition>_<index>_<name>.dat`` weight file to its layer's AXI-lite interface; return how
    many."""
    files = sorted(folder.glob("*.dat")) if folder.is_dir() else []
    if not files:
        raise BundleError(f"the accelerator has runtime-writeable (URAM) weights but {folder} holds no .dat file")
    for path in files:
        match = re.match(r"(\d+)_(\d+)_", path.name)
        if match is None:
            raise BundleError(f"{path.name}: not a FINN runtime weight file name (<partition>_<index>_<name>.dat)")
        partition, interface = f"StreamingDataflowPartition_{match.group(1)}", f"s_axilite_{match.group(2)}"
        ip = f"{partition}/{interface}"
        if ip not in overlay.ip_dict:
            raise BundleError(f"{path.name}: the overlay has no {ip} to write it to")
        words = np.array([int(w, 16) for w in path.read_text().split()], dtype=np.uint32)
        mmio = getattr(getattr(overlay, partition), interface).mmio
        mmio.write_mm(0, words.tobytes())
        if not np.array_equal(np.asarray(mmio.array[:len(words)], np.uint32), words):
            raise BundleError(f"{path.name}: weights read back from {ip} differ from those written")
    return len(files)


def _pynq() -> ModuleType:
    try:
        import pynq
    except ImportError as exc:
        raise BundleError("the fpga backend needs PYNQ (run on the board's PYNQ image, or use --backend sim)") from exc
    return pynq


def fpga_vae(folder: Path, *, timeout: float = 5.0, batch: int = 100, pynq: ModuleType | None = None) -> AcceleratedVAE:
    """Load the build's bitstream and return the VAE backend driving both accelerators on it."""
    folder = Path(folder)
    manifest = load_manifest(folder)
    for needed in (BITFILE, SETTINGS):
        if not (folder / needed).is_file():
            raise BundleError(f"{folder} has no {needed}: this build has no bitstream (build one with Vivado: "
                              "README, 'Building a bitstream')")
    info = json.loads((folder / SETTINGS).read_text())["driver_information"]
    io = info["io_shape_dict"]
    pynq = pynq or _pynq()
    overlay = pynq.Overlay(str(folder / BITFILE))
    if info.get("runtime_weights"):
        load_runtime_weights(overlay, folder / RUNTIME_WEIGHTS)
    accs = {}
    for i, name in enumerate(ACCELERATORS):
        spec = load_spec(folder / manifest["graphs"][name]["simulator_artefact"]["file"])
        fmt_in, fmt_out = StreamFormat.from_spec(spec["input"]), StreamFormat.from_spec(spec["output"])
        for what, fmt, shapes in (("input", fmt_in, io["ishape_packed"]), ("output", fmt_out, io["oshape_packed"])):
            if tuple(shapes[i][1:]) != fmt.packed_shape:
                raise BundleError(f"{name} {what}: the driver's packed shape {shapes[i][1:]} differs from the "
                                  f"simulator artefact's {fmt.packed_shape} (bitstream and build folder disagree)")
        dmas = [getattr(overlay, io[key][i], None) for key in ("idma_names", "odma_names")]
        if None in dmas:
            raise BundleError(f"the overlay lacks {io['idma_names'][i]} / {io['odma_names'][i]} for the {name}")
        accs[name] = DmaAccelerator(name, *dmas, pynq.allocate, fmt_in, fmt_out, batch=batch, timeout=timeout)
    if info.get("runtime_weights"):
        for acc in accs.values():
            acc.flush()
    return AcceleratedVAE(accs["encoder"], accs["decoder"], manifest)
