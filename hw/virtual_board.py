"""A virtual board: the whole merged design in Verilator behind the register-level PYNQ mock, so that the camera
program's own FPGA path (`host.fpga`: runtime-weight loading, its flush, the DMA register sequence, timeouts)
runs against the real circuit instead of the simulator.

`VerilatorFabric` is the fabric of ``tests/host/mock_pynq.MockPynq``: a DMA transfer streams the packed bytes
of the buffer through the design's input stream of that accelerator and collects as many frames from its
output stream; a runtime-weight interface ``StreamingDataflowPartition_<p>/s_axilite_<i>`` is the AXI-lite
port of the design's i-th runtime-writeable weight memory (FINN numbers them in graph order, as here).
`runtime_weight_files` writes the ``driver/runtime_weights/*.dat`` files FINN's step_make_driver would write.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hw.rtlsim import RTLDesign, RTLSession, runtime_weight_words


class AxiliteWeights:
    """A weight memory's AXI-lite port with PYNQ's MMIO face: ``write_mm(0, bytes)`` and ``array[:n]``."""

    def __init__(self, session: RTLSession, port: int) -> None:
        self.session, self.port = session, port

    def write_mm(self, offset: int, data: bytes) -> None:
        if offset:
            raise ValueError(f"weights are written from address 0 (FINN's driver does), not {offset:#x}")
        self.session.write_words(self.port, np.frombuffer(data, np.uint32))

    @property
    def array(self) -> _ReadBack:
        return _ReadBack(self)


class _ReadBack:
    def __init__(self, memory: AxiliteWeights) -> None:
        self.memory = memory

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.start not in (None, 0) or index.step not in (None, 1):
            raise IndexError("read back as array[:n]")
        return self.memory.session.read_words(self.memory.port, index.stop)


class VerilatorFabric:
    """The merged design (`hw.whole_design.stitched`, built by `RTLDesign`) as the board's fabric."""

    def __init__(self, design: RTLDesign) -> None:
        self.design = design
        self.session = design.session()

    def compute(self, accelerator: int, packed: np.ndarray) -> np.ndarray:
        return self.session.stream_packed(accelerator, packed)

    def weight_memory(self, partition: int, index: int) -> AxiliteWeights:
        return AxiliteWeights(self.session, index)

    def close(self) -> None:
        self.session.close()


def runtime_weight_files(design: RTLDesign, folder: Path, partition: int = 0) -> list[Path]:
    """FINN's ``<partition>_<index>_<layer>.dat`` files of the design's runtime-writeable layers."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for index, name in enumerate(design.weight_ports):
        words = runtime_weight_words(design.model, design.model.get_node_from_name(name))
        path = folder / f"{partition}_{index}_{name}.dat"
        path.write_text("".join(f"{int(w):08x}\n" for w in words))
        files.append(path)
    return files
