"""Encrypted, signed, chained records of kept face crops: HPKE (RFC 9180) to the authority's key of the current
retention period, Ed25519 signature of the camera, atomic writes.

A record file (format 2) is

    MAGIC | header length (4 bytes, big endian) | header (canonical JSON) |
    ciphertext length (8 bytes) | HPKE ciphertext (encapsulated key + AES-256-GCM) |
    Ed25519 signature of all before (64 bytes) | SHA-256 of all before

The header holds the non-identifying metadata in plaintext (camera, track, times, score, model, expiry, key id,
period) so records can be listed and purged without a key, the camera key's fingerprint, and the chain
position (chain id, sequence number, SHA-256 of the camera's previous record file, its own file name). It is
the HPKE ``info``, so any change to it makes decryption fail; the signature lets anyone holding the camera's
registered public key check who made the record and that nothing in it changed. A tombstone is a signed record
without ciphertext that lists the records a retention purge deleted, so the chain still verifies. The trailing
SHA-256 detects truncation and accidental corruption without any key. Format 1 records (no signature, no
chain) stay readable and are reported as unsigned.

Files are written to a temporary name, fsynced and renamed: a crash leaves either a complete record or a
``.tmp`` file (ciphertext only) that listing ignores and the next run removes.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from host.atomic import TMP_SUFFIX, write_atomic
from host.chain import resume
from host.errors import VaultError
from host.jsonfile import (
    canonical,
    check_format,
    field,
    link_fields,
    parse_object,
    parse_utc,
    read_file,
    sha256_field,
    time_field,
    utc_iso,
)
from host.schedule import Schedule, single_period
from host.signing import SIGNATURE_BYTES, key_id

MAGIC_V1, MAGIC = b"FVAULT\x00\x01", b"FVAULT\x00\x02"
FORMAT_V1, FORMAT = "facevault-record/1", "facevault-record/2"
SUFFIX = ".fvr"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
TOMBSTONE = "tombstone"
MAX_PIXELS = 1 << 28
_DIGEST = 32


def assemble(header: bytes, body: bytes, camera_key: Ed25519PrivateKey) -> bytes:
    """The record file of a header and a body: lengths, the camera's signature of all that, the checksum."""
    signed = MAGIC + struct.pack(">I", len(header)) + header + struct.pack(">Q", len(body)) + body
    data = signed + camera_key.sign(signed)
    return data + hashlib.sha256(data).digest()


def seal(image: np.ndarray, meta: dict, public_key: X25519PublicKey, camera_key: Ed25519PrivateKey) -> bytes:
    """One record's bytes: the uint8 image encrypted to `public_key`, `meta` authenticated, all signed."""
    image = np.ascontiguousarray(image, np.uint8)
    header = canonical({**meta, "format": FORMAT, "kind": "record", "key_id": key_id(public_key),
                         "camera_key": key_id(camera_key.public_key()),
                         "image": {"shape": list(image.shape), "dtype": "uint8"}})
    return assemble(header, SUITE.encrypt(image.tobytes(), public_key, info=MAGIC + header), camera_key)


def tombstone(meta: dict, camera_key: Ed25519PrivateKey) -> bytes:
    """A signed record without image saying which records were deleted and why (`meta["purged"]`)."""
    header = canonical({**meta, "format": FORMAT, "kind": TOMBSTONE, "camera_key": key_id(camera_key.public_key())})
    return assemble(header, b"", camera_key)


@dataclass(frozen=True)
class Record:
    """A parsed record file: its metadata and ciphertext (nothing decrypted, signature not yet checked)."""

    path: Path
    meta: dict
    header: bytes
    ciphertext: bytes
    sha256: str
    signed: bytes              # the bytes the signature covers
    signature: bytes | None    # None: format 1, unsigned

    @property
    def is_tombstone(self) -> bool:
        return self.meta.get("kind") == TOMBSTONE

    def open(self, private_key: X25519PrivateKey) -> np.ndarray:
        """Decrypt the image; fails if the key is not the record's or anything was altered."""
        if self.is_tombstone:
            raise VaultError(f"{self.path.name}: a tombstone holds no image")
        if key_id(private_key.public_key()) != self.meta["key_id"]:
            raise VaultError(f"{self.path.name}: encrypted to authority key {self.meta['key_id']}, "
                             f"not to {key_id(private_key.public_key())}")
        try:
            raw = SUITE.decrypt(self.ciphertext, private_key, info=self.signed[:len(MAGIC)] + self.header)
        except InvalidTag:
            raise VaultError(f"{self.path.name}: authentication failed (metadata or ciphertext altered)") from None
        shape = tuple(self.meta["image"]["shape"])
        if len(raw) != int(np.prod(shape)):
            raise VaultError(f"{self.path.name}: image of {len(raw)} bytes does not match shape {shape}")
        return np.frombuffer(raw, np.uint8).reshape(shape)


def _check_image(meta: dict, name: str) -> None:
    spec = field(meta, "image", dict, name)
    shape = field(spec, "shape", list, f"{name}: image")
    if spec.get("dtype") != "uint8" or not 1 <= len(shape) <= 4 or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 < n <= 65536 for n in shape) \
            or int(np.prod(shape)) > MAX_PIXELS:
        raise VaultError(f"{name}: an image is uint8 with 1-4 dimensions of 1..65536 and at most {MAX_PIXELS} "
                         f"values, not {str(spec)[:80]}")


def _check_header(meta: dict, signed: bool, name: str) -> None:
    """The fields the tools rely on, with their types; `VaultError` names the first one that is wrong."""
    check_format(meta, FORMAT if signed else FORMAT_V1, "record header", name)
    field(meta, "camera_id", str, name)
    if signed:
        for key in ("camera_key", "chain", "name"):
            field(meta, key, str, name)
        time_field(meta, "sealed", name)
        link_fields(meta, "seq", "prev", name)
    if meta.get("kind", "record") == TOMBSTONE and signed:
        field(meta, "reason", str, name)
        for item in field(meta, "purged", list, name):
            if not isinstance(item, dict):
                raise VaultError(f"{name}: a purged entry is a JSON object, not {str(item)[:80]}")
            field(item, "name", str, f"{name}: purged entry")
            sha256_field(item, "sha256", f"{name}: purged entry")
        return
    if meta.get("kind", "record") != "record":
        raise VaultError(f"{name}: a record's kind is 'record' or 'tombstone', not {str(meta.get('kind'))[:40]!r}")
    field(meta, "key_id", str, name)
    field(meta, "track_id", int, name)
    field(meta, "score", (int, float), name)
    time_field(meta, "best_time", name)
    time_field(meta, "expires", name)
    _check_image(meta, name)
    if "clip" in meta:
        field(field(meta, "clip", dict, name), "best_index", int, f"{name}: clip")


def parse(path: str | Path) -> Record:
    """Read and check a record's structure, fields and checksum (no key needed); `VaultError` says what is wrong."""
    path = Path(path)
    data, name = read_file(path, "record"), path.name
    signed = data.startswith(MAGIC)
    if not (signed or data.startswith(MAGIC_V1)):
        raise VaultError(f"{name}: not a facevault record (bad magic)")
    tail = _DIGEST + (SIGNATURE_BYTES if signed else 0)
    start = len(MAGIC) + 4
    if len(data) < start + 8 + tail:
        raise VaultError(f"{name}: truncated ({len(data)} bytes)")
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise VaultError(f"{name}: checksum mismatch (truncated or corrupted file)")
    (hlen,) = struct.unpack_from(">I", data, len(MAGIC))
    if start + hlen + 8 > len(data) - tail:
        raise VaultError(f"{name}: header length {hlen} runs past the end of the {len(data)}-byte file")
    header = data[start:start + hlen]
    (clen,) = struct.unpack_from(">Q", data, start + hlen)
    body = data[start + hlen + 8:len(data) - tail]
    if len(body) != clen:
        raise VaultError(f"{name}: ciphertext of {len(body)} bytes, header says {clen}")
    meta = parse_object(header, f"{name}: header")
    _check_header(meta, signed, name)
    signature = data[-tail:-_DIGEST] if signed else None
    return Record(path, meta, header, body, hashlib.sha256(data).hexdigest(), data[:len(data) - tail], signature)


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
    stale = sorted(Path(folder).glob(f".*{TMP_SUFFIX}"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def expired(folder: Path, now: float) -> list[Record]:
    """The records (not tombstones) whose ``expires`` lies before `now` (seconds since the epoch)."""
    return [rec for _, rec in scan(folder)
            if isinstance(rec, Record) and not rec.is_tombstone and parse_utc(rec.meta["expires"]) < now]


class Vault:
    """The camera side: seals kept crops to the current period's key, signs, chains, writes atomically."""

    def __init__(self, folder: Path, schedule: Schedule, camera_key: Ed25519PrivateKey, camera_id: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schedule, self.camera_key, self.camera_id = schedule, camera_key, camera_id
        fingerprint = key_id(camera_key.public_key())
        own = [(r.meta["chain"], r.meta["seq"], r.sha256) for _, r in scan(self.folder)
               if isinstance(r, Record) and r.meta.get("camera_key") == fingerprint]
        self.chain = resume(self.folder, fingerprint, own)

    def store(self, name: str, image: np.ndarray, meta: dict) -> Path:
        """Encrypt, sign and write one record as ``<name>.fvr``; raises OSError (e.g. disk full) with nothing
        left, `VaultError` if the key schedule has no current period."""
        now = time.time()
        period = self.schedule.current(now)
        data = seal(image, {**meta, **self._position(name, now), "period": period.id}, period.public_key,
                    self.camera_key)
        return self._commit(name, data)

    def purge_expired(self, now: float) -> list[Path]:
        """Delete the records expired at `now`, after writing a signed tombstone that lists them; return them."""
        gone = expired(self.folder, now)
        if not gone:
            return []
        name = f"{self.camera_id}-{TOMBSTONE}-{self.chain.chain}-{self.chain.seq:06d}"
        purged = [{"name": r.path.name, "sha256": r.sha256, "chain": r.meta.get("chain"), "seq": r.meta.get("seq"),
                   "expires": r.meta["expires"]} for r in gone]
        meta = {"camera_id": self.camera_id, "reason": "retention period expired", "purged": purged,
                **self._position(name, now)}
        self._commit(name, tombstone(meta, self.camera_key))
        for rec in gone:
            rec.path.unlink(missing_ok=True)
        return [rec.path for rec in gone]

    def _position(self, name: str, now: float) -> dict:
        return {**self.chain.link(), "name": f"{name}{SUFFIX}", "sealed": utc_iso(now)}

    def _commit(self, name: str, data: bytes) -> Path:
        path = self.folder / f"{name}{SUFFIX}"
        write_atomic(path, data)
        self.chain.advance(hashlib.sha256(data).hexdigest())
        return path


def throwaway_vault(folder: Path, camera_id: str = "camera-0",
                    key: X25519PrivateKey | None = None) -> tuple[Vault, X25519PrivateKey]:
    """A vault with a fresh camera key, encrypting to `key` (default: a new one) for a day: for benchmarks,
    evaluations and tests. Returns the vault and `key`."""
    key, now = key or X25519PrivateKey.generate(), time.time()
    schedule = single_period(key.public_key(), now - 60, now + 86400)
    return Vault(folder, schedule, Ed25519PrivateKey.generate(), camera_id), key
