"""The board side on the PYNQ 3.x board's Python: CPython 3.10 with numpy 1.21 (`.ci/board-venv`).

Runs the simulator's and the host program's own tests there (the camera demo end to end included); the
workstation suite around this test runs them on Python 3.11 with numpy 2.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT

BOARD_TESTS = ["tests/sim/test_layers.py", "tests/sim/test_packing.py", "tests/host", "tests/authority"]


@pytest.mark.slow
def test_board_side_passes_on_python_3_10_with_numpy_1_21():
    setup = subprocess.run(["bash", ".ci/board-venv"], cwd=ROOT, capture_output=True, text=True)
    if setup.returncode == 3:
        pytest.skip("no Python 3.10 on this machine (pyenv or python3.10 needed)")
    assert setup.returncode == 0, setup.stderr[-3000:]
    py = ROOT / ".venv-board" / "bin" / "python"
    versions = subprocess.run([str(py), "-c", "import sys, numpy; print(sys.version_info[:2], numpy.__version__)"],
                              capture_output=True, text=True, check=True).stdout
    assert versions.strip() == "(3, 10) 1.21.6"
    run = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", *BOARD_TESTS], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-5000:]
