"""Make FINN's Python API importable on a machine without Vivado (`hw/__init__` runs `prepare_finn`).

- `FINN_BUILD_DIR` must exist before finn is imported; default: a `facevault-finn` folder in the system temp.
- `finn.builder.build_dataflow_steps` imports `finn.xsi.SimEngine`, whose lazy hook raises
  ``OSError: XILINX_VIVADO environment variable not set``; without Vivado that name is bound to None
  first, which leaves XSI simulation unavailable and everything else working (FINDINGS section 2).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def vivado_available() -> bool:
    """True where a Vivado installation is configured (``XILINX_VIVADO`` names an existing folder)."""
    root = os.environ.get("XILINX_VIVADO", "")
    return bool(root) and Path(root).is_dir()


def prepare_finn() -> None:
    os.environ.setdefault("FINN_BUILD_DIR", str(Path(tempfile.gettempdir()) / "facevault-finn"))
    Path(os.environ["FINN_BUILD_DIR"]).mkdir(parents=True, exist_ok=True)
    import finn.xsi

    if not vivado_available():
        finn.xsi.SimEngine = None

