"""Strict reading of the small JSON files an attacker could touch (state, schedule, registry, shares).

Every parser goes through `parse_object` and `field`, so a damaged or hostile file gives a `VaultError` that
states the rule and the bad value, never a traceback.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from host.errors import VaultError

MAX_BYTES = 1 << 20
SHA256 = re.compile(r"[0-9a-f]{64}")
EPOCH, LAST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2999, 12, 31, tzinfo=timezone.utc)


def parse_object(data: bytes, where: str) -> dict:
    """`data` as a JSON object; `where` names the file in the error."""
    if len(data) > MAX_BYTES:
        raise VaultError(f"{where}: a facevault JSON file is at most {MAX_BYTES} bytes, not {len(data)}")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:   # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise VaultError(f"{where}: not JSON ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not isinstance(doc, dict):
        raise VaultError(f"{where}: must hold a JSON object, not {type(doc).__name__}")
    return doc


def canonical(doc: dict) -> bytes:
    """The one byte form of a JSON object that is signed and checked (sorted keys, no spaces)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def check_format(doc: dict, allowed: str | tuple[str, ...], what: str, where: str) -> str:
    """The document's ``format``, which must be one of `allowed` for a `what`."""
    allowed = (allowed,) if isinstance(allowed, str) else allowed
    fmt = doc.get("format")
    if fmt not in allowed:
        raise VaultError(f"{where}: a {what} has format {' or '.join(map(repr, allowed))}, not {str(fmt)[:40]!r}")
    return fmt


def read_file(path: Path, what: str) -> bytes:
    """The bytes of `path`; `what` says which kind of file it should be when it is missing or unreadable."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise VaultError(f"{what} {path} not found") from None
    except OSError as exc:
        raise VaultError(f"{what} {path} cannot be read: {exc.strerror}") from None


def utc_iso(seconds: float) -> str:
    """The time format of every facevault file: ISO 8601, UTC, milliseconds."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def parse_utc(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (`ValueError` if it is none)."""
    return datetime.fromisoformat(text).timestamp()


def field(doc: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """`doc[key]`, which must exist and be of `kind` (a bool is not an int here)."""
    if key not in doc:
        raise VaultError(f"{where}: field {key!r} is required")
    value = doc[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise VaultError(f"{where}: field {key!r} must be {' or '.join(k.__name__ for k in kinds)}, "
                         f"not {type(value).__name__} {str(value)[:40]!r}")
    return value


def time_field(doc: dict, key: str, where: str) -> float:
    """An ISO 8601 time with a UTC offset, as seconds since the epoch."""
    text = field(doc, key, str, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise VaultError(f"{where}: field {key!r} must be an ISO 8601 time, not {text[:40]!r}") from None
    if moment.tzinfo is None:
        raise VaultError(f"{where}: field {key!r} must carry a UTC offset, not {text[:40]!r}")
    if not EPOCH <= moment <= LAST:
        raise VaultError(f"{where}: field {key!r} must lie in the years 1970-2999, not {text[:40]!r}")
    return moment.timestamp()


def hex_field(doc: dict, key: str, size: int, where: str) -> bytes:
    """`size` bytes written as hex digits."""
    text = field(doc, key, str, where)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise VaultError(f"{where}: field {key!r} must be hex digits, not {text[:40]!r}") from None
    if len(raw) != size:
        raise VaultError(f"{where}: field {key!r} must be {size} bytes, not {len(raw)}")
    return raw


def sha256_field(doc: dict, key: str, where: str) -> str:
    """A SHA-256 digest in lower-case hex."""
    text = field(doc, key, str, where)
    if not SHA256.fullmatch(text):
        raise VaultError(f"{where}: field {key!r} must be a SHA-256 in hex, not {text[:70]!r}")
    return text


def link_fields(doc: dict, seq_key: str, prev_key: str, where: str) -> tuple[int, str | None]:
    """A chain position: a sequence number >= 0, and the SHA-256 of the record before exactly when it is > 0."""
    seq = field(doc, seq_key, int, where)
    if seq < 0:
        raise VaultError(f"{where}: field {seq_key!r} must be >= 0, not {seq}")
    if seq == 0:
        if doc.get(prev_key) is not None:
            raise VaultError(f"{where}: field {prev_key!r} must be null at {seq_key} 0 (a chain's start), "
                             f"not {str(doc[prev_key])[:70]!r}")
        return seq, None
    return seq, sha256_field(doc, prev_key, where)
