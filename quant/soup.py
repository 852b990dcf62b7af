"""Average the weights of quantized checkpoints fine-tuned from one common parent (a uniform "model soup",
Wortsman et al., ICML 2022).

    python -m quant.soup --out quant/checkpoints/w4a4_c24_score/vae_w4a4_c24.pt RUN1.pt RUN2.pt RUN3.pt

Every floating-point tensor (weights, biases, learned quantizer scales, BatchNorm statistics) becomes
the mean of the ingredients' (one they all share stays bit-identical); integer buffers (BatchNorm's batch
counters) come from the first. The average of 4-bit runs is again a float checkpoint that Brevitas
quantizes on load, like any QAT checkpoint. Only meaningful for runs that share an initialisation
(their weights lie in one basin); check the result, e.g. with eval.quant_gate.
"""

from __future__ import annotations

import argparse
import copy
import sys

import torch

from quant.cli import CliParser, input_file, output_path, reports_input_errors
from quant.qat import load_quant_checkpoint, save_quant_checkpoint
from quant.qvae import QuantVAE


def _mean(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The mean; a tensor every ingredient shares (frozen while fine-tuning) comes back bit for bit, where a
    float32 mean of equal values can land an ulp away and move a scale (abs max / 7) with it."""
    if all(torch.equal(tensors[0], t) for t in tensors[1:]):
        return tensors[0]
    return torch.stack(tensors).mean(0)


def soup(models: list[QuantVAE]) -> QuantVAE:
    """A copy of the first model holding the mean of every model's floating-point state."""
    if len(models) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    first = models[0]
    if any(m.cfg != first.cfg or m.spec != first.spec for m in models[1:]):
        raise ValueError("checkpoints differ in architecture or bit widths")
    states = [m.state_dict() for m in models]
    mean = {key: _mean([s[key] for s in states]) if value.is_floating_point() else value
            for key, value in states[0].items()}
    out = copy.deepcopy(first)
    out.load_state_dict(mean)
    return out.eval()


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m quant.soup", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", type=input_file, nargs="+", help="quant.qat checkpoints from one common parent")
    ap.add_argument("--out", type=output_path, required=True, help="where to write the averaged checkpoint")
    args = ap.parse_args(argv)
    try:
        model = soup([load_quant_checkpoint(p) for p in args.checkpoints])
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_quant_checkpoint(model, args.out, {"soup_of": [str(p) for p in args.checkpoints]})
    print(f"wrote {args.out}: the mean of {len(args.checkpoints)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
