"""The authority's key: generated once, written only as k-of-n Shamir shares (pyshamir), never whole.

Each holder (say judge, operator, data-protection officer) gets one share file. Decryption needs any k of
them; the combined key is checked against the public key's fingerprint, so k-1 shares, a share of another
key or a damaged share give a clear error instead of a wrong key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyshamir
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from host.vault import VaultError, key_id, write_atomic

SHARE_FORMAT = "facevault-share/1"
PUBLIC_KEY_FILE = "authority.pub"


def generate(folder: Path, holders: list[str], threshold: int) -> tuple[Path, list[Path]]:
    """A new X25519 key pair: the public key as PEM and one share file per holder in `folder`."""
    if len(set(holders)) != len(holders):
        raise ValueError(f"holder names must be distinct: {holders}")
    if not 2 <= threshold <= len(holders):
        raise ValueError(f"threshold must be between 2 and the number of holders ({len(holders)}), not {threshold}")
    folder.mkdir(parents=True, exist_ok=True)
    private = X25519PrivateKey.generate()
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    kid = key_id(private.public_key())
    public_path = folder / PUBLIC_KEY_FILE
    write_atomic(public_path, private.public_key().public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    paths = []
    for holder, share in zip(holders, pyshamir.split(raw, len(holders), threshold), strict=True):
        path = folder / f"share-{holder}.json"
        doc = {"format": SHARE_FORMAT, "key_id": kid, "holder": holder, "threshold": threshold,
               "holders": len(holders), "share": bytes(share).hex()}
        write_atomic(path, json.dumps(doc, indent=1).encode())
        paths.append(path)
    return public_path, paths


def read_share(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise VaultError(f"share file {path} not found") from exc
    except json.JSONDecodeError as exc:
        raise VaultError(f"share file {path} is not JSON: {exc}") from exc
    if doc.get("format") != SHARE_FORMAT or not {"key_id", "holder", "threshold", "share"} <= doc.keys():
        raise VaultError(f"{path} is not a facevault key share")
    return doc


def combine(paths: list[Path]) -> tuple[X25519PrivateKey, list[str]]:
    """The authority's private key from k share files, and the holders who gave them."""
    docs = [read_share(p) for p in paths]
    if not docs:
        raise VaultError("no key shares given")
    kids = {d["key_id"] for d in docs}
    if len(kids) > 1:
        raise VaultError(f"the shares belong to different keys: {sorted(kids)}")
    holders = [d["holder"] for d in docs]
    if len(set(holders)) != len(holders):
        raise VaultError(f"the same holder's share was given twice: {holders}")
    need = docs[0]["threshold"]
    if len(docs) < need:
        raise VaultError(f"{len(docs)} share(s) given ({', '.join(holders)}); key {docs[0]['key_id']} needs {need}")
    raw = bytes(pyshamir.combine([bytearray.fromhex(d["share"]) for d in docs]))
    try:
        private = X25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise VaultError(f"the shares do not combine to a key: {exc}") from exc
    if key_id(private.public_key()) != docs[0]["key_id"]:
        raise VaultError(f"the shares do not reconstruct key {docs[0]['key_id']} (a share is damaged or forged)")
    return private, holders
