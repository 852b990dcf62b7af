"""DepthToSpace: a FINN custom layer (Python model + our own SystemVerilog, `hw/rtl/depth_to_space.sv`).

The sub-pixel decoder (`hw.subpixel`) computes each upsample + 3x3 convolution block as one convolution
at the low resolution with F*F phases of C channels per pixel; this layer interleaves the phases into the
high-resolution map and crops the border the shared window produced in excess:

    x (1, H, W, F*F*C), channels ordered (phase row p, phase column q, channel c)
    y[Y*F + p - top, X*F + q - left, c] = x[Y, X, (p*F + q)*C + c], cropped by Crop = [top, left, bottom, right]

With Replicate = 1 the input has C channels and every phase is that same pixel: nearest-neighbour upsampling
by F (then cropped), which replaces FINN's HLS-only UpsampleNearestNeighbour in the decoder blocks that stay
upsample + convolution.

The stream is words of SIMD channels (C % SIMD == 0), raster order, as every FINN layer. The RTL keeps two
rows of input (ping-pong): one is written while the other is read out in output order, so it streams one
word per cycle on both sides. `register()` adds `DepthToSpace` and `DepthToSpace_rtl` to FINN's registries
(`hw/__init__` calls it), so qonnx, SpecializeLayers, PrepareIP and the estimate reports know them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp
from finn.custom_op.fpgadataflow.rtlbackend import RTLBackend
from qonnx.core.datatype import DataType

RTL_SOURCE = Path(__file__).resolve().parent / "rtl" / "depth_to_space.sv"


def depth_to_space(x: np.ndarray, block: int, crop: tuple[int, int, int, int] = (0, 0, 0, 0),
                   replicate: bool = False) -> np.ndarray:
    """(N, H, W, F*F*C) -> (N, H*F - top - bottom, W*F - left - right, C), phases ordered (p, q, c); with
    `replicate`, (N, H, W, C) with every phase the same C channels."""
    if replicate:
        x = np.tile(x, (1, 1, 1, block * block))
    n, h, w, depth = x.shape
    c = depth // (block * block)
    y = x.reshape(n, h, w, block, block, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * block, w * block, c)
    top, left, bottom, right = crop
    return y[:, top:h * block - bottom, left:w * block - right]


def _bram18(depth: int, width: int) -> int:
    """BRAM18 primitives for a depth x width memory (the aspect ratios of a RAMB18E2)."""
    if depth * width == 0:
        return 0
    for bits, rows in ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)):
        if width <= bits or bits == 36:
            return math.ceil(width / bits) * math.ceil(depth / rows)
    raise AssertionError


class DepthToSpace(HWCustomOp):
    """Phases of a low-resolution map interleaved into the high-resolution map, with a border crop."""

    def get_nodeattr_types(self) -> dict:
        attrs = {
            "ImgDim": ("ints", True, []),              # [H, W] of the low-resolution input
            "NumChannels": ("i", True, 0),             # C: channels of the output (input has F*F*C)
            "BlockSize": ("i", True, 2),               # F
            "Crop": ("ints", False, [0, 0, 0, 0]),     # top, left, bottom, right, each < F
            "Replicate": ("i", False, 0, {0, 1}),      # 1: input C channels, every phase the same (upsampling)
            "SIMD": ("i", False, 1),                   # channels per stream word, divides C
            "inputDataType": ("s", True, ""),
            "numInputVectors": ("i", False, 1),
            "ram_style": ("s", False, "auto", {"auto", "block", "distributed"}),
        }
        attrs.update(super().get_nodeattr_types())
        return attrs

    def _geometry(self) -> tuple[int, int, int, int, list[int]]:
        (h, w), c, f = self.get_nodeattr("ImgDim"), self.get_nodeattr("NumChannels"), self.get_nodeattr("BlockSize")
        crop = list(self.get_nodeattr("Crop"))
        if f < 1 or any(not 0 <= k < f for k in crop):
            raise ValueError(f"DepthToSpace Crop must be 0 <= crop < BlockSize {f} per side, not {crop}")
        return h, w, c, f, crop

    def get_normal_input_shape(self, ind: int = 0) -> tuple[int, ...]:
        h, w, c, f, _ = self._geometry()
        return (1, h, w, c if self.get_nodeattr("Replicate") else f * f * c)

    def get_normal_output_shape(self, ind: int = 0) -> tuple[int, ...]:
        h, w, c, f, (top, left, bottom, right) = self._geometry()
        return (1, h * f - top - bottom, w * f - left - right, c)

    def _fold(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        simd = self.get_nodeattr("SIMD")
        if self.get_nodeattr("NumChannels") % simd:
            raise ValueError(f"DepthToSpace SIMD must divide NumChannels {self.get_nodeattr('NumChannels')}, "
                             f"not {simd}")
        return (*shape[:-1], shape[-1] // simd, simd)

    def get_folded_input_shape(self, ind: int = 0) -> tuple[int, ...]:
        return self._fold(self.get_normal_input_shape())

    def get_folded_output_shape(self, ind: int = 0) -> tuple[int, ...]:
        return self._fold(self.get_normal_output_shape())

    def get_input_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr("inputDataType")]

    def get_output_datatype(self, ind: int = 0) -> DataType:
        return self.get_input_datatype()

    def get_instream_width(self, ind: int = 0) -> int:
        return self.get_input_datatype().bitwidth() * self.get_nodeattr("SIMD")

    def get_outstream_width(self, ind: int = 0) -> int:
        return self.get_instream_width()

    def get_number_output_values(self) -> int:
        return int(np.prod(self.get_folded_output_shape()[:-1]))

    def infer_node_datatype(self, model) -> None:
        dtype = model.get_tensor_datatype(self.onnx_node.input[0])
        self.set_nodeattr("inputDataType", dtype.name)
        model.set_tensor_datatype(self.onnx_node.output[0], dtype)

    def verify_node(self) -> list[str]:
        return []

    def execute_node(self, context: dict, graph) -> None:
        _, _, _, f, crop = self._geometry()
        node = self.onnx_node
        x = context[node.input[0]].reshape(self.get_normal_input_shape())
        out = depth_to_space(x, f, tuple(crop), bool(self.get_nodeattr("Replicate")))
        context[node.output[0]] = out.astype(np.float32)

    # cycles and resources of hw/rtl/depth_to_space.sv
    def row_words(self) -> int:
        """Stream words of one input row: the depth of one of the two row banks."""
        return int(np.prod(self.get_folded_input_shape()[2:-1]))

    def get_exp_cycles(self) -> int:
        """Steady-state cycles per frame: one word per cycle in and out, input and output rows overlapped, so
        the input or the output words of a frame, whichever are more."""
        words = max(np.prod(self.get_folded_input_shape()[:-1]), np.prod(self.get_folded_output_shape()[:-1]))
        return int(words * self.get_nodeattr("numInputVectors"))

    def _memory_bits(self) -> tuple[int, int]:
        return 2 * self.row_words(), self.get_instream_width()

    def _uses_bram(self) -> bool:
        """ram_style "auto": BRAM above 8 kbit (the estimate and the generated RTL agree)."""
        style = self.get_nodeattr("ram_style")
        depth, width = self._memory_bits()
        return style == "block" or (style == "auto" and depth * width > 8192)

    def bram_estimation(self, fpgapart: str) -> int:
        return _bram18(*self._memory_bits()) if self._uses_bram() else 0

    def uram_estimation(self, fpgapart: str) -> int:
        return 0

    def dsp_estimation(self, fpgapart: str) -> int:
        return 0

    def lut_estimation(self, fpgapart: str) -> int:
        """Address counters and control (~60), the 4-entry output queue's read mux (one LUT per bit) and,
        for LUT memory, RAM64M primitives (4 LUTs per 64 words x 3 bits, simple dual port)."""
        depth, width = self._memory_bits()
        lutram = 0 if self._uses_bram() else 4 * math.ceil(depth / 64) * math.ceil(width / 3)
        return 60 + width + lutram


class DepthToSpace_rtl(DepthToSpace, RTLBackend):
    """DepthToSpace in RTL: a generated wrapper around `depth_to_space` (hw/rtl/depth_to_space.sv)."""

    def get_nodeattr_types(self) -> dict:
        attrs = DepthToSpace.get_nodeattr_types(self)
        attrs.update(RTLBackend.get_nodeattr_types(self))
        return attrs

    def generate_hdl(self, model, fpgapart: str, clk: float) -> None:
        h, w, c, f, (top, left, bottom, right) = self._geometry()
        width = self.get_instream_width()
        padded = self.get_instream_width_padded()
        ram = "block" if self._uses_bram() else "distributed"  # "auto" resolved as the estimate assumes
        top_name = self.get_verilog_top_module_name()
        wrapper = WRAPPER.format(
            top=top_name, iw=padded, width=width, h=h, w=w, f=f, c=c,
            simd=self.get_nodeattr("SIMD"), bits=self.get_input_datatype().bitwidth(), ct=top, cl=left,
            cb=bottom, cr=right, rep=self.get_nodeattr("Replicate"), ram=ram,
            out=f"{{{padded - width}'b0, odat}}" if padded > width else "odat")
        self.set_nodeattr("gen_top_module", top_name)
        out_dir = Path(self.get_nodeattr("code_gen_dir_ipgen"))
        (out_dir / f"{top_name}.v").write_text(wrapper)
        self.set_nodeattr("ipgen_path", str(out_dir))
        self.set_nodeattr("ip_path", str(out_dir))

    def get_rtl_file_list(self, abspath: bool = False) -> list[str]:
        wrapper = f"{self.get_nodeattr('gen_top_module')}.v"
        if abspath:
            return [str(RTL_SOURCE), str(Path(self.get_nodeattr("code_gen_dir_ipgen")) / wrapper)]
        return [RTL_SOURCE.name, wrapper]

    def code_generation_ipi(self) -> list[str]:
        cmd = [f"add_files -norecurse {f}" for f in self.get_rtl_file_list(abspath=True)]
        cmd.append(f"create_bd_cell -type module -reference {self.get_nodeattr('gen_top_module')} "
                   f"{self.onnx_node.name}")
        return cmd

    def execute_node(self, context: dict, graph) -> None:
        if self.get_nodeattr("exec_mode") == "rtlsim":
            RTLBackend.execute_node(self, context, graph)
        else:
            DepthToSpace.execute_node(self, context, graph)


WRAPPER = """// generated by hw/depth_to_space.py: FINN's AXI-stream ports around depth_to_space
module {top} (
  input ap_clk, input ap_rst_n,
  input [{iw}-1:0] in0_V_TDATA, input in0_V_TVALID, output in0_V_TREADY,
  output [{iw}-1:0] out0_V_TDATA, output out0_V_TVALID, input out0_V_TREADY
);
  wire [{width}-1:0] odat;
  depth_to_space #(
    .H({h}), .W({w}), .F({f}), .C({c}), .SIMD({simd}), .ELEM_BITS({bits}),
    .CROP_T({ct}), .CROP_L({cl}), .CROP_B({cb}), .CROP_R({cr}), .REPLICATE({rep}), .RAM_STYLE("{ram}")
  ) core (
    .clk(ap_clk), .rst_n(ap_rst_n),
    .idat(in0_V_TDATA[{width}-1:0]), .ivld(in0_V_TVALID), .irdy(in0_V_TREADY),
    .odat(odat), .ovld(out0_V_TVALID), .ordy(out0_V_TREADY)
  );
  assign out0_V_TDATA = {out};
endmodule
"""


def register() -> None:
    """Make FINN's registries know DepthToSpace (generic) and DepthToSpace_rtl (idempotent)."""
    import finn.custom_op.fpgadataflow as generic
    import finn.custom_op.fpgadataflow.rtl as rtl

    generic.custom_op.setdefault("DepthToSpace", DepthToSpace)
    rtl.custom_op.setdefault("DepthToSpace_rtl", DepthToSpace_rtl)
