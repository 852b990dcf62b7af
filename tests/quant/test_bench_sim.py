"""The simulator-versus-PyTorch benchmark runs and prints its ratio (figures themselves: README)."""

from __future__ import annotations

from quant.bench_sim import main
from tests.conftest import BUILD, ROOT

FLOAT = ROOT / "quant" / "checkpoints" / "upsample_c24" / "vae_float_c24_upsample.pt"


def test_benchmark_prints_both_backends_and_the_ratio(capsys):
    assert main(["--build", str(BUILD), "--float", str(FLOAT), "--faces", "2", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "simulator " in out and "float PyTorch " in out and "median of 2 rounds" in out
    assert "simulator / float:" in out and "x scored (" in out
