"""The camera's record chain: every record carries its sequence number and the SHA-256 of the one before.

The head (chain id, next sequence number, digest of the last record) is kept in a small state file, written
atomically after each record. A crash between writing a record and its state is repaired at start-up from
the records themselves; a lost state file starts a new chain (new id, sequence 0), which the authority's
``verify`` reports as a restart. A damaged state file or one of another camera key is refused.

    {"format": "facevault-chain/1", "camera_key": fingerprint, "chain": id, "seq": next, "head": sha256 | null}
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from host.atomic import write_atomic
from host.errors import VaultError
from host.jsonfile import check_format, field, link_fields, parse_object, read_file

log = logging.getLogger("facevault")
STATE_FILE = "chain.json"
STATE_FORMAT = "facevault-chain/1"


@dataclass
class Chain:
    path: Path
    camera_key: str
    chain: str
    seq: int
    head: str | None

    def link(self) -> dict:
        """The chain fields of the next record's header."""
        return {"chain": self.chain, "seq": self.seq, "prev": self.head}

    def advance(self, digest: str) -> None:
        """The record `link()` was made for is written: it becomes the head (state written atomically)."""
        self.seq, self.head = self.seq + 1, digest
        write_atomic(self.path, json.dumps({"format": STATE_FORMAT, "camera_key": self.camera_key,
                                            "chain": self.chain, "seq": self.seq, "head": self.head}).encode())


def parse_state(data: bytes, where: str, camera_key: str) -> tuple[str, int, str | None]:
    """(chain id, next sequence number, head digest) of a state file written for `camera_key`."""
    doc = parse_object(data, where)
    check_format(doc, STATE_FORMAT, "chain state", where)
    owner = field(doc, "camera_key", str, where)
    if owner != camera_key:
        raise VaultError(f"{where}: a chain state continues its own camera key's chain; this one is key "
                         f"{owner[:40]!r}, the camera's is {camera_key} (move the file away to start a new chain)")
    return (field(doc, "chain", str, where), *link_fields(doc, "seq", "head", where))


def resume(folder: Path, camera_key: str, written: Iterable[tuple[str, int, str]]) -> Chain:
    """The chain continued from `folder`'s state file; `written` = (chain, seq, sha256) of the camera's records,
    to catch up on a record written just before a crash. No state file: a new chain, logged."""
    path, written = Path(folder) / STATE_FILE, list(written)
    if not path.exists():
        chain = Chain(path, camera_key, secrets.token_hex(8), 0, None)
        if written:
            log.warning("no chain state in %s beside this camera's records: starting a new record chain %s (the "
                        "authority sees a restart)", folder, chain.chain)
        return chain
    chain = Chain(path, camera_key, *parse_state(read_file(path, "chain state"), str(path), camera_key))
    ahead = [(seq, digest) for cid, seq, digest in written if cid == chain.chain and seq >= chain.seq]
    if ahead:
        seq, digest = max(ahead)
        log.warning("chain state %s was behind its records (interrupted write): resumed after seq %d", path, seq)
        chain.seq, chain.head = seq, None
        chain.advance(digest)
    return chain
