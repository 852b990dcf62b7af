"""A fast stand-in for the quality judge (Laplacian sharpness), for pipeline tests that are not about the VAE; a
camera vault with throwaway keys; a group photo of LFW faces."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from host import lightface, vault
from host.faces import read_rgb
from host.vault import Vault, throwaway_vault

_LIGHT_MISSING = lightface.unavailable()
needs_light_finder = pytest.mark.skipif(_LIGHT_MISSING is not None,
                                        reason=f"the light face finder cannot run here: {_LIGHT_MISSING}")


class SharpnessJudge:
    variant = "sharpness"

    def score(self, crops: np.ndarray, boxes: np.ndarray | None = None, landmarks: np.ndarray | None = None,
              sides: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        sharp = np.array([cv2.Laplacian(c.astype(np.float64), cv2.CV_64F).var() for c in crops])
        return sharp, np.zeros(len(crops))


def patch_judge(monkeypatch) -> None:
    """Make host.run use the fake judge instead of the simulator."""
    import host.run

    monkeypatch.setattr(host.run, "make_judge", lambda args: (SharpnessJudge(), "fake-model"))


def camera_vault(folder: Path, camera_id: str = "cam-1",
                 key: X25519PrivateKey | None = None) -> tuple[Vault, X25519PrivateKey, Ed25519PrivateKey]:
    """`throwaway_vault` with its camera key: (vault, period key, camera key)."""
    box, key = throwaway_vault(folder, camera_id, key)
    return box, key, box.camera_key


def format1_record(path: Path, image: np.ndarray, meta: dict, key: X25519PrivateKey) -> None:
    """A record as the camera wrote it before signatures and chains (facevault-record/1)."""
    header = json.dumps({**meta, "format": vault.FORMAT_V1, "key_id": vault.key_id(key.public_key()),
                         "image": {"shape": list(image.shape), "dtype": "uint8"}}, sort_keys=True).encode()
    body = vault.SUITE.encrypt(image.tobytes(), key.public_key(), info=vault.MAGIC_V1 + header)
    data = vault.MAGIC_V1 + struct.pack(">I", len(header)) + header + struct.pack(">Q", len(body)) + body
    path.write_bytes(data + hashlib.sha256(data).digest())


def group_canvas(data_dir: Path) -> np.ndarray:
    """A 640x960 canvas with six LFW faces of three sizes, some across the middle rows."""
    canvas = np.full((640, 960, 3), 90, np.uint8)
    names = ("Colin_Powell", "Laura_Bush", "Tony_Blair", "Jonathan_Schroeder", "Doris_Schroeder", "Hugo_Chavez")
    places = ((250, 0, 0), (250, 300, 330), (160, 20, 600), (160, 380, 700), (100, 250, 420), (100, 520, 80))
    for name, (size, y, x) in zip(names, places, strict=True):
        face = read_rgb(data_dir / "lfw-dev" / "images" / name / f"{name}_0001.jpg")
        canvas[y:y + size, x:x + size] = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA)
    return canvas
