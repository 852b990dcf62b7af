// Command-driven Verilator harness for a stitched FINN design; hw/rtlsim.py substitutes the placeholders.
// One command per stdin line, one reply per command on stdout:
//   load S FILE          queue the hex words of FILE (one per line) on input stream S          -> ok N
//   throttle S W C       stream S offers frame k (W words each) no earlier than C*k cycles
//                        after the next run starts (0 0: as fast as taken)                    -> ok
//   stall P              inputs withhold and outputs refuse a word P % of cycles (seeded)      -> ok
//   run FILE N0 N1 ...   clock until output stream k has given Nk more words; every output
//                        word to FILE as "stream hexword cycle"                                -> done|timeout START END
//   write P FILE         AXI-lite writes of FILE's 32-bit hex words to port P, addresses 0, 4, ... -> ok N
//   read P N FILE        N AXI-lite reads of port P from address 0 into FILE                   -> ok N
//   gauges               the peak occupancy of every FIFO gauge                                -> g C0 C1 ...
//   quit
#include "Vdesign_top.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

typedef std::vector<uint32_t> Word;
static Vdesign_top *m;
static long cycle = 0;
static int stall = 0;
static const long LIMIT = ${limit};
static const int N_IN = ${n_in}, N_OUT = ${n_out};
static const int IN_WORDS[] = {${in_words}}, OUT_WORDS[] = {${out_words}};

static void setw(CData &d, const Word &w) { d = w[0]; }
static void setw(SData &d, const Word &w) { d = w[0]; }
static void setw(IData &d, const Word &w) { d = w[0]; }
static void setw(QData &d, const Word &w) { d = ((uint64_t)w[1] << 32) | w[0]; }
template <std::size_t N> static void setw(VlWide<N> &d, const Word &w) { for (std::size_t i = 0; i < N; ++i) d[i] = w[i]; }
static Word getw(CData d) { return Word{d, 0}; }
static Word getw(SData d) { return Word{d, 0}; }
static Word getw(IData d) { return Word{d, 0}; }
static Word getw(QData d) { return Word{(uint32_t)d, (uint32_t)(d >> 32)}; }
template <std::size_t N> static Word getw(const VlWide<N> &d) { Word w(N); for (std::size_t i = 0; i < N; ++i) w[i] = d[i]; return w; }

static Word parse(const std::string &s, int n) {
  Word w(n < 2 ? 2 : n, 0);
  int word = 0, bit = 0;
  for (int i = (int)s.size() - 1; i >= 0 && word < n; --i) {
    char c = s[i]; uint32_t v = (c >= '0' && c <= '9') ? c - '0' : (c | 32) - 'a' + 10;
    w[word] |= v << bit; bit += 4; if (bit == 32) { bit = 0; ++word; }
  }
  return w;
}

static void set_in(int s, const Word &w) { switch (s) { ${set_in} } }
static void in_valid(int s, bool v) { switch (s) { ${in_valid} } }
static bool in_ready(int s) { switch (s) { ${in_ready} } return false; }
static bool out_valid(int s) { switch (s) { ${out_valid} } return false; }
static void out_ready(int s, bool v) { switch (s) { ${out_ready} } }
static Word get_out(int s) { switch (s) { ${get_out} } return Word(); }

struct Input { std::deque<Word> q; long per_frame = 0, period = 0, sent = 0; bool held = false; };
static Input in[N_IN > 0 ? N_IN : 1];
static long run_start = 0;

// One clock cycle: offer queued input words, take output words (into `got`, per stream).
static void tick(std::vector<std::vector<std::pair<Word, long>>> &got) {
  bool offered[N_IN > 0 ? N_IN : 1];
  for (int s = 0; s < N_IN; ++s) {
    Input &i = in[s];
    bool allowed = i.period == 0 || cycle - run_start >= (i.sent / i.per_frame) * i.period;
    offered[s] = !i.q.empty() && allowed && (i.held || stall == 0 || rand() % 100 >= stall);
    in_valid(s, offered[s]);
    if (offered[s]) set_in(s, i.q.front());
  }
  bool ready[N_OUT > 0 ? N_OUT : 1];
  for (int s = 0; s < N_OUT; ++s) { ready[s] = stall == 0 || rand() % 100 >= stall; out_ready(s, ready[s]); }
  m->ap_clk = 0; m->eval();
  bool fire[N_IN > 0 ? N_IN : 1];
  for (int s = 0; s < N_IN; ++s) fire[s] = offered[s] && in_ready(s);
  for (int s = 0; s < N_OUT; ++s)
    if (ready[s] && out_valid(s)) got[s].push_back({get_out(s), cycle});
  m->ap_clk = 1; m->eval();
  for (int s = 0; s < N_IN; ++s) {
    in[s].held = offered[s] && !fire[s];
    if (fire[s]) { in[s].q.pop_front(); ++in[s].sent; }
  }
  ++cycle;
}

// AXI-lite ports of the runtime-writeable weight memories (FINN's memstream), bound in main().
struct Axil { CData *awvalid, *awready, *wvalid, *wready, *wstrb, *bvalid, *bready, *arvalid, *arready, *rvalid, *rready;
              IData *awaddr, *wdata, *araddr, *rdata; };
static std::vector<Axil> ax;

static void idle_streams() {
  for (int s = 0; s < N_IN; ++s) { in_valid(s, false); in[s].held = false; }
  for (int s = 0; s < N_OUT; ++s) out_ready(s, false);
}

// One AXI-lite write (address and data channels, then the response); false if it did not finish.
static bool axil_write(int p, uint32_t addr, uint32_t data) {
  Axil &a = ax[p]; idle_streams();
  *a.awaddr = addr; *a.wdata = data; *a.wstrb = 0xF; *a.bready = 1;
  bool aw = false, w = false;
  for (int c = 0; c < 1000; ++c) {
    *a.awvalid = !aw; *a.wvalid = !w;
    m->ap_clk = 0; m->eval();
    bool awf = *a.awvalid && *a.awready, wf = *a.wvalid && *a.wready, bf = aw && w && *a.bvalid;
    m->ap_clk = 1; m->eval(); ++cycle;
    aw |= awf; w |= wf;
    if (bf) { *a.awvalid = 0; *a.wvalid = 0; *a.bready = 0; m->eval(); return true; }
  }
  return false;
}

static bool axil_read(int p, uint32_t addr, uint32_t *value) {
  Axil &a = ax[p]; idle_streams();
  *a.araddr = addr; *a.rready = 1;
  bool ar = false;
  for (int c = 0; c < 1000; ++c) {
    *a.arvalid = !ar;
    m->ap_clk = 0; m->eval();
    bool arf = *a.arvalid && *a.arready, rf = ar && *a.rvalid;
    if (rf) *value = *a.rdata;
    m->ap_clk = 1; m->eval(); ++cycle;
    ar |= arf;
    if (rf) { *a.arvalid = 0; *a.rready = 0; m->eval(); return true; }
  }
  return false;
}

int main(int argc, char **argv) {
  Verilated::commandArgs(argc, argv);
  m = new Vdesign_top;
  srand(1);
  m->ap_clk = 0; m->ap_rst_n = 0;
  ${axilite_bind}
  for (int i = 0; i < 32; ++i) { m->ap_clk = !m->ap_clk; m->eval(); }
  m->ap_rst_n = 1; m->eval();
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream cmd(line); std::string op; cmd >> op;
    if (op == "load") {
      int s; std::string file; cmd >> s >> file;
      std::ifstream f(file); std::string w; long n = 0;
      while (std::getline(f, w)) if (!w.empty()) { in[s].q.push_back(parse(w, IN_WORDS[s])); ++n; }
      printf("ok %ld\n", n);
    } else if (op == "throttle") {
      int s; cmd >> s >> in[s].per_frame >> in[s].period; printf("ok\n");
    } else if (op == "stall") {
      cmd >> stall; printf("ok\n");
    } else if (op == "run") {
      std::string file; cmd >> file;
      std::vector<long> want(N_OUT, 0); for (int s = 0; s < N_OUT; ++s) cmd >> want[s];
      std::vector<std::vector<std::pair<Word, long>>> got(N_OUT);
      run_start = cycle; for (int s = 0; s < N_IN; ++s) in[s].sent = 0;
      long end = cycle + LIMIT;
      auto done = [&]() { for (int s = 0; s < N_OUT; ++s) if ((long)got[s].size() < want[s]) return false; return true; };
      while (!done() && cycle < end) tick(got);
      FILE *out = fopen(file.c_str(), "w");
      for (int s = 0; s < N_OUT; ++s)
        for (auto &g : got[s]) {
          fprintf(out, "%d ", s);
          for (int w = OUT_WORDS[s] - 1; w >= 0; --w) fprintf(out, "%08x", g.first[w]);
          fprintf(out, " %ld\n", g.second);
        }
      fclose(out);
      printf("%s %ld %ld\n", done() ? "done" : "timeout", run_start, cycle);
    } else if (op == "write") {
      int p; std::string file; cmd >> p >> file;
      std::ifstream f(file); std::string w; long n = 0; bool ok = true;
      while (ok && f >> w) { ok = axil_write(p, 4 * n, (uint32_t)std::stoul(w, nullptr, 16)); ++n; }
      if (ok) printf("ok %ld\n", n); else printf("error AXI-lite write %ld of port %d timed out\n", n, p);
    } else if (op == "read") {
      int p; long n; std::string file; cmd >> p >> n >> file;
      FILE *out = fopen(file.c_str(), "w"); bool ok = true; long k = 0;
      for (; ok && k < n; ++k) { uint32_t v = 0; ok = axil_read(p, 4 * k, &v); fprintf(out, "%08x\n", v); }
      fclose(out);
      if (ok) printf("ok %ld\n", n); else printf("error AXI-lite read %ld of port %d timed out\n", k, p);
    } else if (op == "gauges") {
      printf("g");
      ${gauges}
      printf("\n");
    } else if (op == "quit") {
      break;
    } else {
      printf("error unknown command %s\n", op.c_str());
    }
    fflush(stdout);
  }
  m->final(); delete m;
  return 0;
}
