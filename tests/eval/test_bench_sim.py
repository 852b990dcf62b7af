"""The simulator-versus-PyTorch benchmark runs and prints its ratio (figures themselves: README)."""

from __future__ import annotations

from eval.bench_sim import main
from tests.conftest import BUILD, FLOAT_C24


def test_benchmark_prints_both_backends_and_the_ratio(capsys):
    assert main(["--build", str(BUILD), "--float", str(FLOAT_C24), "--faces", "2", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "simulator " in out and "float PyTorch " in out and "median of 2 rounds" in out
    assert "simulator / float:" in out and "x scored (" in out
