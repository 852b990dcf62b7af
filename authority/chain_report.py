"""The verify report: per camera, what the record chains of a vault show (records, tombstones, gaps, broken
links, restarts), whether each record was encrypted to the authority's key of its period, whether the chain
heads the authority collected before are still there, and whether the card's access log still begins with what
the authority saw of it.

Input: the records whose signatures checked (format 2), the ``purge`` entries of the card's access log, and the
authority's own heads file. A sequence number that no file holds is accounted for only by a camera-signed
tombstone or by a purge the heads file lists (`purge --heads` writes it there before deleting); a ``purge``
line of the access log alone proves nothing, since anyone holding the card can append one, so each one the
heads file does not list is an unconfirmed purge. A missing sequence number not accounted for is a gap; a
record whose ``prev`` is not the digest of the one before is a broken link; two files with one sequence number
are a replay or a fork; a file whose name is not the name it was signed under was renamed. Deleting the newest
records of a chain, or the end of the access log, leaves no trace on the card itself: the heads file keeps each
chain's newest record and the log's length and last line digest from the last ``verify --heads``, so such a
deletion is bounded to what was made since the authority last collected.

    heads file: {"format": "facevault-heads/2",
                 "chains": {chain id: {"camera_key", "camera_id", "seq", "sha256", "sealed"}},
                 "purged": [{"chain", "seq", "sha256", "name", "expires", "purged", "camera_key", "camera_id"}],
                 "log": null or {"entries", "sha256" (of its last line), "checked"}}

Format 1 heads files (chains only) are read as having no purges and no log seen yet.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from authority.access_log import GENESIS
from host.errors import VaultError
from host.jsonfile import check_format, parse_object, parse_utc, read_file, sha256_field, time_field
from host.jsonfile import field as json_field
from host.schedule import Schedule
from host.vault import Record, write_atomic

HEADS_FORMAT, HEADS_FORMAT_V1 = "facevault-heads/2", "facevault-heads/1"
CARD_ONLY = "anyone holding the card can append such a line to its access log"


@dataclass
class CameraChains:
    camera_id: str
    camera_key: str
    records: int = 0
    tombstones: int = 0
    accounted: int = 0
    chains: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        restarts = len(self.chains) - 1
        head = (f"camera {self.camera_id} (key {self.camera_key}): {self.records} record(s), {self.tombstones} "
                f"tombstone(s), {self.accounted} deletion(s) accounted for, {len(self.chains)} chain(s) ({restarts} "
                f"restart(s)), {len(self.findings)} finding(s)")
        return [head, *(f"  {line}" for line in self.chains), *(f"  {line}" for line in self.findings)]


@dataclass
class Heads:
    """The authority's heads file (trusted: kept with the shares): what `verify --heads` collected (each chain's
    head, the access log's end) and every record `purge --heads` deleted."""

    chains: dict[str, dict] = field(default_factory=dict)
    purged: list[dict] = field(default_factory=list)
    log: dict | None = None

    def confirmed(self) -> set[tuple[str, int, str]]:
        """(chain, seq, sha256) of each record the authority purged."""
        return {(p["chain"], p["seq"], p["sha256"]) for p in self.purged}

    def collect(self, records: list[Record]) -> None:
        """Each chain's newest record becomes its head (a head collected before and now missing stays, so that
        its finding stays until someone looks)."""
        for rec in records:
            old = self.chains.get(rec.meta["chain"])
            if old is None or rec.meta["seq"] > old["seq"]:
                self.chains[rec.meta["chain"]] = {"camera_key": rec.meta["camera_key"],
                                                  "camera_id": rec.meta["camera_id"], "seq": rec.meta["seq"],
                                                  "sha256": rec.sha256, "sealed": rec.meta["sealed"]}

    def add_purges(self, records: list[Record], when: str) -> None:
        """List `records` (signature-checked, format 2) as purged by the authority at `when`, each once."""
        listed = self.confirmed()
        self.purged += [{"chain": r.meta["chain"], "seq": r.meta["seq"], "sha256": r.sha256, "name": r.path.name,
                         "expires": r.meta["expires"], "purged": when, "camera_key": r.meta["camera_key"],
                         "camera_id": r.meta["camera_id"]}
                        for r in records if (r.meta["chain"], r.meta["seq"], r.sha256) not in listed]

    def check_log(self, digests: list[str], intact: bool, when: str) -> list[str]:
        """`LOG TRUNCATED`/`LOG REPLACED` if the access log (the SHA-256 of each line) no longer begins with the
        end collected before; if it does and its chain is `intact`, its end now is collected (a finding stays
        until the log is restored)."""
        seen = self.log or {"entries": 0}
        count = seen["entries"]
        if len(digests) < count:
            return [f"LOG TRUNCATED: the access log has {len(digests)} entries, {count} when collected "
                    f"{seen['checked']}: its end was removed (or the whole log)"]
        if count and digests[count - 1] != seen["sha256"]:
            return [f"LOG REPLACED: the access log's entry {count} is not the one collected {seen['checked']}: "
                    "the log was rewritten"]
        if intact:
            self.log = {"entries": len(digests), "sha256": digests[-1] if digests else GENESIS, "checked": when}
        return []

    def save(self, path: Path) -> None:
        """Write the heads file atomically (a crash leaves the old one or the new one)."""
        doc = {"format": HEADS_FORMAT, "chains": self.chains, "purged": self.purged, "log": self.log}
        write_atomic(Path(path), json.dumps(doc, indent=1).encode())


def _missing(held: set[int]) -> str:
    """The sequence numbers from 0 to the highest in `held` that `held` lacks, as ranges ("1, 4-6")."""
    runs, expected = [], 0
    for n in sorted(s for s in held if s >= 0):
        if n > expected:
            runs.append(str(expected) if n - 1 == expected else f"{expected}-{n - 1}")
        expected = n + 1
    return ", ".join(runs)


def _chain(cid: str, recs: list[Record], deleted: dict[int, str], report: CameraChains) -> str:
    """Check one chain; findings go to `report`; returns its summary line."""
    by_seq: dict[int, list[Record]] = defaultdict(list)
    for rec in recs:
        by_seq[rec.meta["seq"]].append(rec)
        if rec.path.name != rec.meta["name"]:
            report.findings.append(f"RENAMED {rec.path.name}: signed as {rec.meta['name']} (renamed or replayed)")
    for seq, held in sorted(by_seq.items()):
        if len(held) > 1:
            report.findings.append(f"DUPLICATE chain {cid} seq {seq} in {len(held)} files "
                                   f"({', '.join(r.path.name for r in held)}): a replayed copy or a forked chain")
        if seq > 0:
            before = {r.sha256 for r in by_seq.get(seq - 1, [])} | ({deleted[seq - 1]} if seq - 1 in deleted else set())
            for rec in held:
                if before and rec.meta["prev"] not in before:
                    report.findings.append(f"BROKEN LINK chain {cid} seq {seq} ({rec.path.name}) does not follow "
                                           f"seq {seq - 1} (altered history, replaced record or forked chain)")
    missing = _missing({*by_seq, *deleted})
    if missing:
        report.findings.append(f"GAP chain {cid}: seq {missing} missing (deleted without a tombstone or a purge "
                               "by the authority, or lost)")
    top = max([*by_seq, *deleted])
    first = min(recs, key=lambda r: r.meta["seq"])
    last = max(recs, key=lambda r: r.meta["seq"])
    return (f"chain {cid}: seq 0..{top}, started {first.meta['sealed']}, head seq {last.meta['seq']} "
            f"sha256 {last.sha256[:16]} sealed {last.meta['sealed']}")


def _unconfirmed(logged_purges: list[dict], heads: Heads | None,
                 chain_keys: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """An `UNCONFIRMED PURGE` finding for each purge of the card's access log that the heads file does not list:
    by camera key where its chain is known, and those of no known chain."""
    confirmed = heads.confirmed() if heads is not None else set()
    why = ("the heads file does not list it" if heads is not None else "no heads file (--heads) to confirm it")
    by_key: dict[str, list[str]] = defaultdict(list)
    stray = []
    for entry in logged_purges:
        chain, seq, sha = entry.get("chain"), entry.get("seq"), entry.get("record_sha256")
        typed = isinstance(chain, str) and isinstance(seq, int) and isinstance(sha, str)
        if typed and (chain, seq, sha) in confirmed:
            continue
        line = (f"UNCONFIRMED PURGE {entry['record'][:80]} (chain {str(chain)[:40]} seq {str(seq)[:20]}): logged as "
                f"purged {entry['time']} in the card's access log only, {why} ({CARD_ONLY})")
        kid = chain_keys.get(chain) if isinstance(chain, str) else None
        (by_key[kid] if kid else stray).append(line)
    return by_key, stray


def analyse(records: list[Record], logged_purges: list[dict],
            heads: Heads | None = None) -> tuple[list[CameraChains], list[str]]:
    """The chain report of each camera key among `records` (signature-checked, format 2) and `heads` (the
    authority's heads file, or None when none is given: each head collected before must still be there or be
    accounted for), and the unconfirmed logged purges of no known chain."""
    known = heads or Heads()
    by_key: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        by_key[rec.meta["camera_key"]].append(rec)
    names = {h["camera_key"]: h["camera_id"] for h in [*known.chains.values(), *known.purged]}
    chain_keys = {**{cid: h["camera_key"] for cid, h in known.chains.items()},
                  **{p["chain"]: p["camera_key"] for p in known.purged},
                  **{r.meta["chain"]: r.meta["camera_key"] for r in records}}
    claims, stray = _unconfirmed(logged_purges, heads, chain_keys)
    reports = []
    for kid in sorted({*by_key, *names}):
        recs = by_key.get(kid, [])
        report = CameraChains(recs[0].meta["camera_id"] if recs else names[kid], kid)
        deleted: dict[str, dict[int, str]] = defaultdict(dict)   # chain -> seq -> sha256 of the deleted file
        stones = [r for r in recs if r.is_tombstone]
        for entry in [e for r in stones for e in r.meta["purged"]] + [p for p in known.purged
                                                                     if p["camera_key"] == kid]:
            if isinstance(entry.get("chain"), str) and isinstance(entry.get("seq"), int):
                deleted[entry["chain"]][entry["seq"]] = entry["sha256"]
        report.records, report.tombstones = len(recs) - len(stones), len(stones)
        chains: dict[str, list[Record]] = defaultdict(list)
        for rec in recs:
            chains[rec.meta["chain"]].append(rec)
        report.accounted = sum(len(deleted[cid]) for cid in chains)
        ordered = sorted(chains.items(), key=lambda item: min(r.meta["sealed"] for r in item[1]))
        report.chains = [_chain(cid, chain_recs, deleted[cid], report) for cid, chain_recs in ordered]
        for cid, head in known.chains.items():
            present = {r.meta["seq"]: r.sha256 for r in chains.get(cid, [])}
            if head["camera_key"] == kid and head["sha256"] not in (present.get(head["seq"]),
                                                                    deleted[cid].get(head["seq"])):
                report.findings.append(f"TAIL chain {cid}: its head seq {head['seq']} (sealed {head['sealed']}), "
                                       "collected before, is gone without a tombstone or a purge by the authority: "
                                       "records were deleted")
        report.findings += claims.get(kid, [])
        reports.append(report)
    return reports, stray


def key_findings(records: list[Record], schedules: list[Schedule]) -> list[str]:
    """Records not encrypted to the key of the period they were sealed in, in any of `schedules` (a replaced
    schedule or a wrong clock on the camera)."""
    found = []
    for rec in records:
        if rec.is_tombstone:
            continue
        kid, sealed = rec.meta["key_id"], parse_utc(rec.meta["sealed"])
        period = next((p for s in schedules if (p := s.by_key_id(kid)) is not None), None)
        if period is None:
            found.append(f"KEY {rec.path.name}: encrypted to key {kid}, which is not in "
                         f"{' or '.join(s.source for s in schedules)}")
        elif not period.start <= sealed < period.end:
            found.append(f"KEY {rec.path.name}: sealed {rec.meta['sealed']}, outside the period {period.id} of its "
                         "key (camera clock wrong?)")
    return found


def _parse_purge(entry: object, where: str) -> dict:
    if not isinstance(entry, dict):
        raise VaultError(f"{where} must be a JSON object, not {type(entry).__name__}")
    for key in ("chain", "name", "camera_key", "camera_id"):
        json_field(entry, key, str, where)
    if json_field(entry, "seq", int, where) < 0:
        raise VaultError(f"{where}: field 'seq' must be >= 0, not {entry['seq']}")
    sha256_field(entry, "sha256", where)
    time_field(entry, "expires", where)
    time_field(entry, "purged", where)
    return entry


def _parse_log(log: object, where: str) -> dict | None:
    if log is None:
        return None
    if not isinstance(log, dict):
        raise VaultError(f"{where}: field 'log' must be null or a JSON object, not {type(log).__name__}")
    if json_field(log, "entries", int, f"{where}: log") < 0:
        raise VaultError(f"{where}: log: field 'entries' must be >= 0, not {log['entries']}")
    sha256_field(log, "sha256", f"{where}: log")
    time_field(log, "checked", f"{where}: log")
    return log


def parse_heads(data: bytes, where: str) -> Heads:
    """The heads file: chain heads by chain id, the authority's purges, the access log's end."""
    doc = parse_object(data, where)
    fmt = check_format(doc, (HEADS_FORMAT, HEADS_FORMAT_V1), "heads file", where)
    heads = json_field(doc, "chains", dict, where)
    for cid, head in heads.items():
        at = f"{where}: chain {cid[:20]}"
        if not isinstance(head, dict):
            raise VaultError(f"{at} must be a JSON object, not {type(head).__name__}")
        for key in ("camera_key", "camera_id", "sealed"):
            json_field(head, key, str, at)
        if json_field(head, "seq", int, at) < 0:
            raise VaultError(f"{at}: field 'seq' must be >= 0, not {head['seq']}")
        sha256_field(head, "sha256", at)
    if fmt == HEADS_FORMAT_V1:
        return Heads(heads)
    purged = [_parse_purge(p, f"{where}: purged entry {i}") for i, p in enumerate(json_field(doc, "purged", list,
                                                                                              where))]
    return Heads(heads, purged, _parse_log(doc.get("log"), where))


def load_heads(path: Path) -> Heads:
    """The authority's heads file (none yet: empty)."""
    return parse_heads(read_file(path, "heads file"), str(path)) if Path(path).exists() else Heads()
