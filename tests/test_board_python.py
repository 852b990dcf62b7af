"""The board side on the PYNQ boards' Pythons (`.ci/board-venv`): PYNQ 3.x = CPython 3.10 with numpy 1.21,
PYNQ 4.0 = CPython 3.12 with numpy 1.26.

Runs the simulator's, the host program's and the authority tool's own tests there (the camera demo end to end
included; the slow crowd-clip run only in the main suite); the workstation suite around this test runs them on
Python 3.11 with numpy 2.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT

BOARD_TESTS = ["tests/sim/test_layers.py", "tests/sim/test_fusion.py", "tests/sim/test_packing.py",
               "tests/sim/test_accelerator.py", "tests/host", "tests/authority"]


@pytest.mark.slow
@pytest.mark.parametrize("profile, versions", [("pynq3", "(3, 10) 1.21.6"), ("pynq4", "(3, 12) 1.26.4")])
def test_board_side_passes_on_the_boards_python(profile, versions):
    setup = subprocess.run(["bash", ".ci/board-venv", profile], cwd=ROOT, capture_output=True, text=True)
    if setup.returncode == 3:
        pytest.skip(f"{setup.stderr.strip()} on this machine (pyenv or python3.x needed)")
    assert setup.returncode == 0, setup.stderr[-3000:]
    py = ROOT / f".venv-{profile}" / "bin" / "python"
    found = subprocess.run([str(py), "-c", "import sys, numpy; print(sys.version_info[:2], numpy.__version__)"],
                           capture_output=True, text=True, check=True).stdout
    assert found.strip() == versions
    run = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *BOARD_TESTS],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-5000:]
