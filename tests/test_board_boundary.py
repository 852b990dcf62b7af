"""The board side (host/, sim/) must never import a workstation package."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKSTATION = ("torch", "brevitas", "finn", "qonnx", "onnx", "onnxruntime", "quant", "hw", "eval")

PROBE = """
import importlib, pkgutil, sys
import host, sim
for pkg in (host, sim):
    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(mod.name)
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))
print(",".join(loaded))
"""


def test_board_side_imports_no_workstation_package():
    out = subprocess.run([sys.executable, "-c", PROBE, *WORKSTATION], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_board_side_source_names_no_workstation_package():
    offenders = []
    for path in [*(ROOT / "host").rglob("*.py"), *(ROOT / "sim").rglob("*.py")]:
        for line in path.read_text().splitlines():
            words = line.split()
            if words[:1] in (["import"], ["from"]) and words[1].split(".")[0] in WORKSTATION:
                offenders.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert offenders == []
