"""Channels x bit widths x MAC policy -> the fastest estimated faces/s that fits one board, and the quality.

    python -m hw.pareto --variants 32:4:4 24:4:4 16:4:4 24:3:3 --out docs/pareto
    python -m hw.pareto --target kv260 --variants 32:4:4 24:4:4 16:4:4 24:3:3 --out docs/pareto-kv260

For every variant (base channels c, weight bits, activation bits) a calibrated model of that shape goes
through the FINN flow once; the folding policy (hw.folding) is then searched for rising targets of
faces/s (1 encoder + `passes` decoder passes) until the chip no longer fits FINN's recommended limits.
Hardware cost does not depend on trained weight values (only accumulator widths move a little), so
untrained models of the same shape give the estimates; the quality columns come from trained QAT
checkpoints where they exist (quant_gate.json, quality_table.json beside the shipped checkpoint, hw.build's
default, for its shape; else in quant/checkpoints/w<W>a<A>_c<C>/).
Writes <out>.json, <out>.md and <out>.png.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from tqdm import tqdm

from host.quality import DEFAULT_CROP_SCORE
from hw.build import DEFAULT_CHECKPOINT, UPSAMPLING
from hw.device import ESTIMATED, TARGETS, Target
from hw.estimates import accelerator_summary, chip_summary
from hw.flow import dataflow_config, estimate, specialize_and_fold, to_dataflow
from hw.folding import search_folding
from quant.cli import positive_int
from quant.export import export_accelerator
from quant.plots import save_figure
from quant.qvae import QuantSpec, from_float
from quant.vae import VAE, VAEConfig

ROOT = Path(__file__).resolve().parents[1]
POLICIES = {"mixed": "mixed", "dsp": "dsp", "lut": "lut",
            "rtl-encoder": {"encoder": "dsp", "decoder": "mixed"}}  # MAC policy per accelerator
RATES = (500, 750, 1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500, 4000, 5000)


def generic_graphs(cfg: VAEConfig, spec: QuantSpec, work: Path, target: Target, subpixel: bool = True) -> dict:
    """Generic dataflow graphs of a calibrated, untrained model of this shape (`subpixel`: hw.build's
    --decoder-upsampling subpixel, else nearest)."""
    torch.manual_seed(0)
    enc, dec = from_float(VAE(cfg).eval(), spec)
    with torch.no_grad():
        enc.train()(torch.randint(0, 256, (16, 1, 64, 64)).float())
        dec.train()(torch.randint(-128, 128, (16, cfg.latent)).float())
    return {name: to_dataflow(export_accelerator(net.eval(), work / f"{name}.onnx"),
                              dataflow_config(work / name, target), {}, subpixel=subpixel)
            for name, net in (("encoder", enc), ("decoder", dec))}


def chip_at(generic: dict, rate: float, passes: int, macs: str | dict, target: Target, work: Path) -> dict:
    """Fold both accelerators for `rate` faces/s and return FINN's chip-level estimate."""
    cycles = {"encoder": int(target.clock_hz / rate), "decoder": int(target.clock_hz / (rate * passes))}
    folding = search_folding(generic, cycles, target, macs)
    summaries = {}
    for name, model in generic.items():
        cfg = dataflow_config(work / name, target)
        summaries[name] = accelerator_summary(estimate(specialize_and_fold(model, folding[name], cfg, {}), cfg), target)
    return chip_summary(summaries, passes, target)


def quality_folder(channels: int, spec: QuantSpec) -> Path:
    """Where a shape's trained checkpoint lies: the shipped one's folder if it has this shape (its name starts
    with w<W>a<A>_c<C>), else quant/checkpoints/w<W>a<A>_c<C>."""
    name = f"w{spec.weight_bits}a{spec.act_bits}_c{channels}"
    shipped = DEFAULT_CHECKPOINT.parent
    return shipped if shipped.name == name or shipped.name.startswith(f"{name}_") else shipped.parent / name


def quality_of(channels: int, spec: QuantSpec) -> dict | None:
    folder = quality_folder(channels, spec)
    gate, table = folder / "quant_gate.json", folder / "quality_table.json"
    if not gate.exists() or not table.exists():
        return None
    g, t = json.loads(gate.read_text()), json.loads(table.read_text())
    table = t["tables"][DEFAULT_CROP_SCORE]
    return {"spearman": g["spearman"], "clean_higher": table,
            "min_clean_higher": min(v["clean_higher"] for v in table.values())}


def sweep(variants: list[tuple[int, QuantSpec]], policies: list[str], passes: int, target: Target,
          work: Path, subpixel: bool = True, rates: tuple[float, ...] = RATES) -> list[dict]:
    rows = []
    for channels, spec in variants:
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter):
            generic = generic_graphs(VAEConfig(channels=channels), spec, work / f"c{channels}", target, subpixel)
        for macs in policies:
            best = None
            for rate in tqdm(sorted(rates), desc=f"c={channels} W{spec.weight_bits}A{spec.act_bits} {macs}"):
                with contextlib.redirect_stdout(chatter):
                    chip = chip_at(generic, rate, passes, POLICIES[macs], target, work / f"c{channels}")
                if not chip["within_limits"]:
                    break
                best = {"target": rate, **chip}
            rows.append({"target": target.name, "decoder_upsampling": "subpixel" if subpixel else "nearest",
                         "channels": channels, "weight_bits": spec.weight_bits, "act_bits": spec.act_bits,
                         "macs": macs, "best": best, "quality": quality_of(channels, spec)})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| c | W/A bits | MACs | faces/s (est.) | LUT | BRAM18 | URAM | DSP | Spearman fisher / log RP "
             "vs float | worst clean>degraded |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b, q = r["best"], r["quality"]
        fr = b["fraction_of_device"] if b else {}
        cells = [f"{b['faces_per_s']:,.0f}" if b else "none fits"] + [
            f"{100 * fr[k]:.0f}%" if b else "-" for k in ESTIMATED]
        quality = ["not trained", "not trained"]
        if q:
            rho = q["spearman"]
            quality = [f"{rho[DEFAULT_CROP_SCORE]:.3f} / {rho['log_rp']:.3f}", f"{q['min_clean_higher']:.2f}"]
        lines.append(f"| {r['channels']} | {r['weight_bits']}/{r['act_bits']} | {r['macs']} | "
                     + " | ".join(cells + quality) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], out: Path, target: Target) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for r in rows:
        if r["best"]:
            peak = max(r["best"]["fraction_of_device"][k] for k in ESTIMATED)
            ax.scatter(r["best"]["faces_per_s"], peak, marker={"mixed": "o", "dsp": "s"}.get(r["macs"], "^"))
            ax.annotate(f"c{r['channels']} W{r['weight_bits']}A{r['act_bits']} {r['macs']}",
                        (r["best"]["faces_per_s"], peak), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axvline(1000, color="grey", ls="--", lw=0.8)
    ax.set(xlabel=f"estimated faces/s (1 encoder + 10 decoder passes, {target.clock_mhz:.0f} MHz)",
           ylabel=f"largest resource fraction of the {target.part}",
           title=f"Fastest fitting folding per variant, {target.board}")
    save_figure(fig, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hw.pareto", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", nargs="+", default=["32:4:4", "24:4:4", "16:4:4"],
                    help="variants as CHANNELS:WEIGHT_BITS:ACT_BITS")
    ap.add_argument("--policies", nargs="+", choices=sorted(POLICIES), default=["mixed", "rtl-encoder", "dsp"],
                    help="MAC policies to compare (rtl-encoder: encoder all-DSP = pure RTL, decoder mixed)")
    ap.add_argument("--target", choices=sorted(TARGETS), default="zcu104",
                    help="board whose resources and recommended limits the foldings must fit (hw.device)")
    ap.add_argument("--passes", type=int, default=10, help="decoder passes per face")
    ap.add_argument("--decoder-upsampling", choices=UPSAMPLING, default="subpixel",
                    help="decoder mapping, as hw.build's option of that name (default: subpixel)")
    ap.add_argument("--rates", type=positive_int, nargs="+", default=list(RATES),
                    help="targets in faces/s, tried in rising order until one does not fit (default: "
                         + ", ".join(map(str, RATES)) + ")")
    ap.add_argument("--work", type=Path, default=Path("/tmp/facevault-pareto"), help="scratch folder")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "pareto", help="output stem (.json/.md/.png)")
    ap.add_argument("--refresh-quality", action="store_true",
                    help="no sweep: reread <out>.json and update only the quality columns from the checkpoints")
    args = ap.parse_args(argv)
    if args.refresh_quality:
        rows = json.loads(args.out.with_suffix(".json").read_text())
        for r in rows:
            r["quality"] = quality_of(r["channels"], QuantSpec(r["weight_bits"], r["act_bits"], 8))
    else:
        variants = []
        for v in args.variants:
            c, w, a = (int(x) for x in v.split(":"))
            variants.append((c, QuantSpec(w, a, 8)))
        rows = sweep(variants, args.policies, args.passes, TARGETS[args.target], args.work,
                     args.decoder_upsampling == "subpixel", tuple(args.rates))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    args.out.with_suffix(".md").write_text(markdown(rows) + "\n")
    plot(rows, args.out.with_suffix(".png"), TARGETS[args.target])
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
