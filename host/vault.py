"""Encrypted records of kept face crops: HPKE (RFC 9180) to the authority's public key, atomic writes.

The camera holds only the authority's X25519 public key. A record file is

    MAGIC | header length (4 bytes, big endian) | header (canonical JSON) |
    ciphertext length (8 bytes) | HPKE ciphertext (encapsulated key + AES-256-GCM) | SHA-256 of all before

The header holds the non-identifying metadata (camera, track, times, score, model, expiry, key id) in
plaintext, so records can be listed and purged without a key; it is the HPKE ``info``, so any change to it
makes decryption fail (authenticated). The trailing SHA-256 detects truncation and accidental corruption
without a key. Files are written to a temporary name, fsynced and renamed: a crash leaves either a complete
record or a ``.tmp`` file (ciphertext only) that listing ignores and the next run removes.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

MAGIC = b"FVAULT\x00\x01"
FORMAT = "facevault-record/1"
SUFFIX = ".fvr"
TMP_SUFFIX = ".tmp"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
_DIGEST = 32


class VaultError(ValueError):
    """A key or record that cannot be used; the message says which file and why."""


def key_id(public_key: X25519PublicKey) -> str:
    """Short fingerprint of an authority public key (first 16 hex digits of SHA-256 of its raw bytes)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(path: str | Path) -> X25519PublicKey:
    """The authority's X25519 public key from a PEM file (``python -m authority keygen`` writes it)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise VaultError(f"authority public key {path} not found (python -m authority keygen makes one)") from exc
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise VaultError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, X25519PublicKey):
        raise VaultError(f"{path} holds a {type(key).__name__}, not an X25519 public key")
    return key


def utc_iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def parse_utc(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _canonical(meta: dict) -> bytes:
    return json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()


def seal(image: np.ndarray, meta: dict, public_key: X25519PublicKey) -> bytes:
    """One record's bytes: the uint8 image encrypted to `public_key`, `meta` authenticated."""
    image = np.ascontiguousarray(image, np.uint8)
    header = _canonical({**meta, "format": FORMAT, "key_id": key_id(public_key),
                         "image": {"shape": list(image.shape), "dtype": "uint8"}})
    body = SUITE.encrypt(image.tobytes(), public_key, info=MAGIC + header)
    data = MAGIC + struct.pack(">I", len(header)) + header + struct.pack(">Q", len(body)) + body
    return data + hashlib.sha256(data).digest()


@dataclass(frozen=True)
class Record:
    """A parsed record file: its metadata and ciphertext (nothing decrypted)."""

    path: Path
    meta: dict
    header: bytes
    ciphertext: bytes
    sha256: str

    def open(self, private_key: X25519PrivateKey) -> np.ndarray:
        """Decrypt the image; fails if the key is not the record's or anything was altered."""
        if key_id(private_key.public_key()) != self.meta["key_id"]:
            raise VaultError(f"{self.path.name}: encrypted to authority key {self.meta['key_id']}, "
                             f"not to {key_id(private_key.public_key())}")
        try:
            raw = SUITE.decrypt(self.ciphertext, private_key, info=MAGIC + self.header)
        except InvalidTag as exc:
            raise VaultError(f"{self.path.name}: authentication failed (metadata or ciphertext altered)") from exc
        shape = tuple(self.meta["image"]["shape"])
        if len(raw) != int(np.prod(shape)):
            raise VaultError(f"{self.path.name}: image of {len(raw)} bytes does not match shape {shape}")
        return np.frombuffer(raw, np.uint8).reshape(shape)


def parse(path: str | Path) -> Record:
    """Read and check a record's structure and checksum (no key needed); `VaultError` says what is wrong."""
    path = Path(path)
    data = path.read_bytes()
    name = path.name
    if not data.startswith(MAGIC):
        raise VaultError(f"{name}: not a facevault record (bad magic)")
    if len(data) < len(MAGIC) + 4 + 8 + _DIGEST:
        raise VaultError(f"{name}: truncated ({len(data)} bytes)")
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise VaultError(f"{name}: checksum mismatch (truncated or corrupted file)")
    (hlen,) = struct.unpack_from(">I", data, len(MAGIC))
    start = len(MAGIC) + 4
    header = data[start:start + hlen]
    (clen,) = struct.unpack_from(">Q", data, start + hlen)
    body = data[start + hlen + 8:-_DIGEST]
    if len(body) != clen:
        raise VaultError(f"{name}: ciphertext of {len(body)} bytes, header says {clen}")
    try:
        meta = json.loads(header)
    except json.JSONDecodeError as exc:
        raise VaultError(f"{name}: header is not JSON: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise VaultError(f"{name}: unknown record format {meta.get('format')!r}")
    return Record(path, meta, header, body, hashlib.sha256(data).hexdigest())


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves the old state or the complete file, never a part."""
    tmp = path.with_name(f".{path.name}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def record_paths(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob(f"*{SUFFIX}"))


def scan(folder: Path) -> Iterator[tuple[Path, Record | VaultError]]:
    """Every record file in `folder` with its parsed record or the error that rejects it."""
    for path in record_paths(folder):
        try:
            yield path, parse(path)
        except VaultError as exc:
            yield path, exc


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete ``.tmp`` files a crashed run left behind (they hold ciphertext only); return them."""
    stale = sorted(Path(folder).glob(f".*{SUFFIX}{TMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def purge_expired(folder: Path, now: float) -> list[Path]:
    """Delete the records whose ``expires`` lies before `now` (seconds since the epoch); return them."""
    gone = []
    for path, rec in scan(folder):
        if isinstance(rec, Record) and parse_utc(rec.meta["expires"]) < now:
            path.unlink()
            gone.append(path)
    return gone


class Vault:
    """The camera side: seals kept crops to the authority key and writes them atomically into `folder`."""

    def __init__(self, folder: Path, public_key: X25519PublicKey) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.public_key = public_key

    def store(self, name: str, image: np.ndarray, meta: dict) -> Path:
        """Encrypt and write one record as ``<name>.fvr``; raises OSError (e.g. disk full) with nothing left."""
        path = self.folder / f"{name}{SUFFIX}"
        write_atomic(path, seal(image, meta, self.public_key))
        return path
