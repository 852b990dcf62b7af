"""The console commands of pyproject.toml are installed and explain themselves, like their `python -m` twins."""

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_scripts_are_named_consistently():
    assert set(SCRIPTS) == {"facevault-camera", "facevault-authority", "facevault-build", "facevault-score"}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_help(name):
    script = Path(sys.executable).parent / name
    if not script.exists():
        pytest.skip(f"{name} is not installed in this environment (pip install -e . installs it)")
    module = SCRIPTS[name].split(":")[0].removesuffix(".__main__")
    by_script = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    by_module = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                               timeout=120)
    assert by_script.returncode == 0, by_script.stderr
    assert by_script.stdout == by_module.stdout
