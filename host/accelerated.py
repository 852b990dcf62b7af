"""The VAE on integer accelerators (the simulator or the FPGA): scales, layouts and latent codes on the host.

A build folder (``bitstreams/<target>-<model>/``) describes both accelerators in ``manifest.json``: input
and output shapes and integer types, the output scales and layout the host applies (``host_tail``), and
the latent scale. `AcceleratedVAE` turns two integer accelerators into a `host.scoring.VAEBackend`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np


class IntegerAccelerator(Protocol):
    def run(self, x: np.ndarray) -> np.ndarray:
        """Integers (N, *input shape) -> integers (N, *output shape)."""
        ...


class BundleError(ValueError):
    """A build folder that cannot drive the accelerators; the message says what is wrong."""


def load_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise BundleError(f"{folder} is not a build folder: no manifest.json (run python -m hw.build)") from exc
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path} is not valid JSON: {exc}") from exc
    for key in ("graphs", "z_scale", "model_config"):
        if key not in manifest:
            raise BundleError(f"{path} lacks {key!r}")
    return manifest


def latent_codes(z: np.ndarray, z_scale: float) -> np.ndarray:
    """Sampled latents -> the decoder's int8 input codes (round to the z_scale grid, saturate)."""
    return np.clip(np.rint(np.asarray(z, np.float64) / z_scale), -128, 127).astype(np.int64)


def apply_host_tail(codes: np.ndarray, tail: list[dict]) -> np.ndarray:
    """Apply the operations the build moved off the accelerator (in order): transposes, then scales."""
    out = np.asarray(codes, np.float64)
    for op in tail:
        if op["op"] == "Transpose":
            out = out.transpose(op["perm"])
        elif op["op"] == "Mul":
            out = out * np.reshape(op["scale"], op["shape"])
        else:
            raise BundleError(f"unknown host operation {op['op']!r}")
    return out


class AcceleratedVAE:
    """`VAEBackend` on an encoder and a decoder accelerator described by a build manifest."""

    def __init__(self, encoder: IntegerAccelerator, decoder: IntegerAccelerator, manifest: dict) -> None:
        self.encoder, self.decoder = encoder, decoder
        self.latent = int(manifest["model_config"]["latent"])
        self.z_scale = float(manifest["z_scale"])
        self.tails = {a: manifest["graphs"][a]["host_tail"] for a in ("encoder", "decoder")}

    def encode(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = apply_host_tail(self.encoder.run(np.asarray(crops)[..., None]), self.tails["encoder"])
        return out[:, : self.latent].astype(np.float32), out[:, self.latent:].astype(np.float32)

    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = apply_host_tail(self.decoder.run(latent_codes(z, self.z_scale)), self.tails["decoder"])
        return out[:, 0].astype(np.float32), out[:, 1].astype(np.float32)


def simulated_vae(folder: Path) -> AcceleratedVAE:
    """The bit-accurate simulator of a build folder's two accelerators."""
    from sim.accelerator import SimAccelerator

    manifest = load_manifest(folder)
    accs = {}
    for name in ("encoder", "decoder"):
        artefact = Path(folder) / manifest["graphs"][name]["simulator_artefact"]["file"]
        accs[name] = SimAccelerator.load(artefact)
    return AcceleratedVAE(accs["encoder"], accs["decoder"], manifest)
