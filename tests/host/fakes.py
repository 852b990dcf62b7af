"""A fast stand-in for the quality judge (Laplacian sharpness), for pipeline tests that are not about the VAE; a
camera vault with throwaway keys."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from host import vault
from host.vault import Vault, throwaway_vault


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
