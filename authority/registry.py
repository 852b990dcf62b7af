"""The authority's registry of cameras: which Ed25519 public key belongs to which camera name.

A record is trusted only if its signature checks against a registered key and that key is registered to
the camera its header names. The registry file is public (public keys only) but must not be altered: keep it
with the authority's keys (``python -m authority register`` adds a camera).

    {"format": "facevault-cameras/1", "cameras": {fingerprint: {"camera_id", "public_key", "registered"}}}
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from host.errors import VaultError
from host.jsonfile import check_format, field, hex_field, parse_object, read_file, utc_iso
from host.signing import check, ed25519_key, key_id, load_public_key
from host.vault import Record, write_atomic

REGISTRY_FORMAT = "facevault-cameras/1"
UNSIGNED = "unsigned (format 1 record: made before camera signatures)"


@dataclass(frozen=True)
class Camera:
    camera_id: str
    public_key: Ed25519PublicKey
    registered: str


def parse_registry(data: bytes, where: str) -> dict[str, Camera]:
    """Cameras by key fingerprint; each fingerprint must be its key's."""
    doc = parse_object(data, where)
    check_format(doc, REGISTRY_FORMAT, "camera registry", where)
    cameras = {}
    for kid, entry in field(doc, "cameras", dict, where).items():
        at = f"{where}: camera key {kid[:20]}"
        if not isinstance(entry, dict):
            raise VaultError(f"{at} must be a JSON object, not {type(entry).__name__}")
        public = ed25519_key(hex_field(entry, "public_key", 32, at), at)
        if key_id(public) != kid:
            raise VaultError(f"{at}: a camera is filed under its key's fingerprint {key_id(public)}, not {kid[:20]!r}")
        cameras[kid] = Camera(field(entry, "camera_id", str, at), public, field(entry, "registered", str, at))
    return cameras


def load(path: Path) -> dict[str, Camera]:
    return parse_registry(read_file(path, "camera registry (python -m authority register makes one)"), str(path))


def register(path: Path, camera_id: str, public_key_file: Path) -> str:
    """Add a camera's public key (camera.pub) under `camera_id`; return its fingerprint. Creates the file."""
    public = load_public_key(read_file(public_key_file, "camera public key"), str(public_key_file))
    cameras = load(path) if Path(path).exists() else {}
    kid = key_id(public)
    if kid in cameras:
        raise VaultError(f"a camera key is registered once; {kid} is already camera {cameras[kid].camera_id!r}")
    cameras[kid] = Camera(camera_id, public, utc_iso(time.time()))
    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    doc = {"format": REGISTRY_FORMAT, "cameras": {
        k: {"camera_id": c.camera_id, "public_key": c.public_key.public_bytes(*raw).hex(), "registered": c.registered}
        for k, c in cameras.items()}}
    write_atomic(Path(path), json.dumps(doc, indent=1).encode())
    Path(path).chmod(0o644)
    return kid


def signature_status(cameras: dict[str, Camera], rec: Record) -> str:
    """How `rec` is signed, e.g. "signed by gate-3 (key ab12...)"; `VaultError` for an unknown camera key, a bad
    signature or a key registered to another camera than the header names. Format 1: `UNSIGNED`."""
    if rec.signature is None:
        return UNSIGNED
    name, kid = rec.path.name, rec.meta["camera_key"]
    camera = cameras.get(kid)
    if camera is None:
        raise VaultError(f"{name}: signed by camera key {kid[:40]}, which is not registered (unknown camera)")
    check(camera.public_key, rec.signature, rec.signed, name)
    if camera.camera_id != rec.meta["camera_id"]:
        raise VaultError(f"{name}: signed by camera {camera.camera_id!r} but its header names camera "
                         f"{rec.meta['camera_id']!r}")
    return f"signed by {camera.camera_id} (key {kid})"
