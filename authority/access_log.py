"""Append-only, hash-chained log of every decryption: each line names the SHA-256 of the line before it.

Deleting, editing or reordering a line breaks the chain, and `verify` says where.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from host.vault import VaultError

LOG_FILE = "access.log"
GENESIS = "0" * 64


def _last_hash(path: Path) -> str:
    if not path.exists() or path.stat().st_size == 0:
        return GENESIS
    last = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return hashlib.sha256(last).hexdigest()


def append(path: Path, entry: dict) -> dict:
    """Add one entry (time and chain link added here), flushed to disk before returning."""
    full = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **entry, "prev": _last_hash(path)}
    line = json.dumps(full, sort_keys=True).encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return full


def verify(path: Path) -> list[dict]:
    """All entries, in order, after checking the chain; `VaultError` names the first broken line."""
    if not path.exists():
        return []
    entries, prev = [], GENESIS
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VaultError(f"{path}: line {number} is not JSON (log damaged)") from exc
        if entry.get("prev") != prev:
            raise VaultError(f"{path}: chain broken at line {number} (a line was removed, edited or reordered)")
        entries.append(entry)
        prev = hashlib.sha256(line).hexdigest()
    return entries
