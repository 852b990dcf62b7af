"""Append-only, hash-chained log of every opening and purge: each line names the SHA-256 of the line before it.

Deleting, editing or reordering a line breaks the chain, and `verify` says where. The log lives on the card and
is not signed, so its chain cannot show a line appended by anyone holding the card, its end cut off or the
whole file replaced: the authority's heads file keeps the log's length and last line digest
(`chain_report.Heads.check_log`), and a purge counts as lawful only where the heads file lists it.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from host.errors import VaultError
from host.jsonfile import field, parse_object

LOG_FILE = "access.log"
GENESIS = "0" * 64


def line_digests(path: Path) -> list[str]:
    """The SHA-256 of each line, in order (each is the link the next line names); none without a log."""
    return [hashlib.sha256(line).hexdigest() for line in path.read_bytes().splitlines()] if path.exists() else []


def append(path: Path, entry: dict) -> dict:
    """Add one entry (time and chain link added here), flushed to disk before returning."""
    prev = (line_digests(path) or [GENESIS])[-1]
    full = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **entry, "prev": prev}
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
        where = f"{path}: line {number}"
        entry = parse_object(line, where)
        if entry.get("prev") != prev:
            raise VaultError(f"{path}: chain broken at line {number} (a line was removed, edited or reordered)")
        for key in ("time", "action", "record"):
            field(entry, key, str, where)
        if not all(isinstance(h, str) for h in field(entry, "holders", list, where)):
            raise VaultError(f"{where}: holders are names, not {str(entry['holders'])[:60]}")
        entries.append(entry)
        prev = hashlib.sha256(line).hexdigest()
    return entries
