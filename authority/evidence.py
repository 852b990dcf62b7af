"""Exported evidence: beside each decrypted PNG a signed JSON sidecar an investigator can check later.

It names the PNG and its SHA-256, the record (file, SHA-256, camera, times, camera signature status, chain
position, period) and the access-log entry of the opening (who, when, the stated reason). It is signed with
Ed25519 by a key derived from the period's private key, so only the k share holders who opened the record
can sign it, and anyone can check it against the period's ``evidence_key`` in the public key schedule
(``python -m authority evidence SIDECAR --schedule schedule.json``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from host.errors import VaultError
from host.jsonfile import canonical, check_format, field, hex_field, parse_object, read_file
from host.schedule import Schedule
from host.signing import check as check_signature
from host.signing import ed25519_key, key_id
from host.vault import Record, write_atomic

SIDECAR_FORMAT = "facevault-evidence/1"
SIDECAR_SUFFIX = ".evidence.json"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def signing_key(period_key: X25519PrivateKey) -> Ed25519PrivateKey:
    """The evidence signing key of a period: HKDF-SHA256 of its private key (a separate, derived key)."""
    raw = period_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
    seed = HKDF(hashes.SHA256(), 32, salt=None, info=b"facevault evidence signing key v1").derive(raw)
    return Ed25519PrivateKey.from_private_bytes(seed)


def write(png: Path, rec: Record, status: str, access: dict, period_key: X25519PrivateKey) -> Path:
    """Sign and write ``<png stem>.evidence.json`` for `png` decrypted from `rec`."""
    meta = rec.meta
    signer = signing_key(period_key)
    doc = {"format": SIDECAR_FORMAT, "png": png.name, "png_sha256": hashlib.sha256(png.read_bytes()).hexdigest(),
           "record": rec.path.name, "record_sha256": rec.sha256, "camera_id": meta["camera_id"],
           "camera_key": meta.get("camera_key"), "camera_signature": status,
           "times": {k: meta[k] for k in ("first_seen", "best_time", "last_seen", "sealed", "expires") if k in meta},
           "chain": {k: meta[k] for k in ("chain", "seq", "prev") if k in meta} or None,
           "period": meta.get("period"), "key_id": meta["key_id"], "access": access,
           "signer": signer.public_key().public_bytes(*_RAW).hex()}
    doc["sidecar_signature"] = signer.sign(canonical(doc)).hex()
    path = png.with_name(png.stem + SIDECAR_SUFFIX)
    write_atomic(path, json.dumps(doc, indent=1).encode())
    return path


def check(path: Path, schedule: Schedule) -> dict:
    """The sidecar after checking its signature, its signer (the evidence key of the record's period in
    `schedule`) and the PNG beside it; `VaultError` says which check failed."""
    where = str(path)
    doc = parse_object(read_file(path, "evidence sidecar"), where)
    check_format(doc, SIDECAR_FORMAT, "evidence sidecar", where)
    signature = hex_field(doc, "sidecar_signature", 64, where)
    signer = ed25519_key(hex_field(doc, "signer", 32, where), where)
    check_signature(signer, signature, canonical({k: v for k, v in doc.items() if k != "sidecar_signature"}), where)
    period = schedule.by_key_id(field(doc, "key_id", str, where))
    if period is None or period.evidence_key is None or key_id(period.evidence_key) != key_id(signer):
        raise VaultError(f"{where}: evidence is signed by the evidence key of the record's period in "
                         f"{schedule.source}, not by key {key_id(signer)}")
    for key in ("record", "camera_id", "camera_signature"):
        field(doc, key, str, where)
    holders = field(field(doc, "access", dict, where), "holders", list, f"{where}: access")
    if not all(isinstance(h, str) for h in holders):
        raise VaultError(f"{where}: access holders are names, not {str(holders)[:60]}")
    png = field(doc, "png", str, where)
    if Path(png).name != png:
        raise VaultError(f"{where}: the PNG is named without a folder, not {png[:60]!r}")
    digest = hashlib.sha256(read_file(path.parent / png, "decrypted PNG")).hexdigest()
    if digest != field(doc, "png_sha256", str, where):
        raise VaultError(f"{where}: {png} has SHA-256 {digest[:16]}..., the signed one is "
                         f"{str(doc['png_sha256'])[:16]}... (the image was altered)")
    return doc
