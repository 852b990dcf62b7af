"""The authority's keys: one X25519 key per retention period, each written only as k-of-n Shamir shares
(pyshamir), never whole; retiring a period destroys its shares.

`generate` writes the public key schedule (for the cameras) and one share file per holder (say judge,
operator, data-protection officer) holding that holder's share of every period's key. Decryption needs any
k holders' files; each combined key is checked against its fingerprint, so k-1 shares, shares of other keys
or a damaged share give a clear error instead of a wrong key. `retire` deletes one period's share from the
files it is given and records the retirement there; once every holder has done so, that period's records
(and every copy of them) can never be opened. Format 1 share files (one key, before key periods) are read
as a set holding that one key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyshamir
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from authority.evidence import signing_key
from host.errors import VaultError
from host.jsonfile import check_format, hex_field, parse_object, read_file, utc_iso
from host.jsonfile import field as json_field
from host.schedule import SCHEDULE_FILE, Period, Schedule
from host.signing import key_id
from host.vault import write_atomic

SHARE_FORMAT_V1, SHARE_FORMAT = "facevault-share/1", "facevault-share/2"
SHARE_BYTES = 33   # pyshamir: a 32-byte key + the x coordinate


def generate(folder: Path, holders: list[str], threshold: int,
             periods: list[tuple[str, float, float]]) -> tuple[Path, list[Path]]:
    """A key pair per period (id, start, end): the schedule and one share file per holder in `folder`."""
    if len(set(holders)) != len(holders):
        raise ValueError(f"holder names must be distinct: {holders}")
    if not 2 <= threshold <= len(holders):
        raise ValueError(f"threshold must be between 2 and the number of holders ({len(holders)}), not {threshold}")
    schedule_path, paths = folder / SCHEDULE_FILE, [folder / f"share-{h}.json" for h in holders]
    taken = [str(p) for p in (schedule_path, *paths) if p.exists()]
    if taken:
        raise ValueError(f"key files are never overwritten (issue a new schedule into a new folder): {taken} exist")
    privates = [X25519PrivateKey.generate() for _ in periods]
    schedule = Schedule(tuple(Period(pid, start, end, key.public_key(), signing_key(key).public_key())
                              for (pid, start, end), key in zip(periods, privates, strict=True)))
    docs = {h: {"format": SHARE_FORMAT, "holder": h, "holders": holders, "threshold": threshold, "keys": {},
                "retired": {}} for h in holders}
    for period, key in zip(schedule.periods, privates, strict=True):
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        for holder, share in zip(holders, pyshamir.split(raw, len(holders), threshold), strict=True):
            docs[holder]["keys"][period.key_id] = {"period": period.id, "share": bytes(share).hex()}
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(schedule_path, schedule.to_json())
    schedule_path.chmod(0o644)
    for path, holder in zip(paths, holders, strict=True):
        write_atomic(path, json.dumps(docs[holder], indent=1).encode())
    return schedule_path, paths


@dataclass
class ShareFile:
    """One holder's share file: the shares it holds by key id, and the keys retired from it."""

    path: Path
    holder: str
    holders: list[str]
    threshold: int
    keys: dict[str, tuple[str, bytes]]                  # key id -> (period, share)
    retired: dict[str, dict] = field(default_factory=dict)
    doc: dict = field(default_factory=dict)


def parse_share(data: bytes, where: str) -> ShareFile:
    """A share file of format 1 or 2 from its bytes."""
    doc = parse_object(data, where)
    fmt = check_format(doc, (SHARE_FORMAT, SHARE_FORMAT_V1), "key share file", where)
    holder, threshold = json_field(doc, "holder", str, where), json_field(doc, "threshold", int, where)
    if threshold < 2:
        raise VaultError(f"{where}: a threshold is at least 2, not {threshold}")
    if fmt == SHARE_FORMAT_V1:
        kid = json_field(doc, "key_id", str, where)
        return ShareFile(Path(where), holder, [holder], threshold, {kid: ("", hex_field(doc, "share", SHARE_BYTES,
                                                                                            where))})
    holders = json_field(doc, "holders", list, where)
    keys = {}
    for kid, entry in json_field(doc, "keys", dict, where).items():
        at = f"{where}: key {kid[:20]}"
        if not isinstance(entry, dict):
            raise VaultError(f"{at} must be a JSON object, not {type(entry).__name__}")
        keys[kid] = (json_field(entry, "period", str, at), hex_field(entry, "share", SHARE_BYTES, at))
    retired = json_field(doc, "retired", dict, where)
    if not all(isinstance(v, dict) for v in retired.values()):
        raise VaultError(f"{where}: each retired key is a JSON object (period, time), not {str(retired)[:60]}")
    return ShareFile(Path(where), holder, [str(h) for h in holders], threshold, keys, retired, doc)


def read_share(path: Path) -> ShareFile:
    return parse_share(read_file(path, "share file"), str(path))


class Keyring:
    """The keys k holders' share files open together; each key combined on first use."""

    def __init__(self, paths: list[Path]) -> None:
        files = [read_share(p) for p in paths]
        if not files:
            raise VaultError("no key shares given")
        self.holders = [f.holder for f in files]
        if len(set(self.holders)) != len(self.holders):
            raise VaultError(f"the same holder's share was given twice: {self.holders}")
        self.retired = {kid: info for f in files for kid, info in f.retired.items()}
        self._shares: dict[str, list[tuple[ShareFile, bytes]]] = {}
        for f in files:
            for kid, (_, share) in f.keys.items():
                self._shares.setdefault(kid, []).append((f, share))
        self._keys: dict[str, X25519PrivateKey] = {}
        if not any(len(held) >= held[0][0].threshold for held in self._shares.values()):
            if len({frozenset(f.keys) for f in files}) > 1:
                raise VaultError(f"the shares belong to different keys: {sorted(self._shares)}")
            if not self._shares:
                raise VaultError(f"the shares hold no key any more (retired: {sorted(self.retired)})")
            kid = next(iter(self._shares))
            raise VaultError(f"{len(files)} share(s) given ({', '.join(self.holders)}); key {kid} needs "
                             f"{files[0].threshold}")

    def key(self, kid: str) -> X25519PrivateKey:
        """The private key with fingerprint `kid`; `VaultError` if it was retired or too few shares hold it."""
        if kid in self._keys:
            return self._keys[kid]
        held = self._shares.get(kid, [])
        if kid in self.retired and len(held) < (held[0][0].threshold if held else 1):
            info = self.retired[kid]
            raise VaultError(f"key {kid} of period {info.get('period')} was retired on {info.get('time')}: "
                             "its records can no longer be opened by anyone")
        if not held:
            raise VaultError(f"no share given for key {kid}")
        need = held[0][0].threshold
        if len(held) < need or any(f.threshold != need for f, _ in held):
            raise VaultError(f"key {kid} needs {need} shares of the same threshold, given "
                             f"{', '.join(f'{f.holder} ({f.threshold})' for f, _ in held)}")
        try:
            raw = bytes(pyshamir.combine([bytearray(s) for _, s in held]))
            private = X25519PrivateKey.from_private_bytes(raw)
        except ValueError as exc:
            raise VaultError(f"the shares do not combine to a key: {exc}") from None
        if key_id(private.public_key()) != kid:
            raise VaultError(f"the shares do not reconstruct key {kid} (a share is damaged or forged)")
        self._keys[kid] = private
        return private


def retire(paths: list[Path], period: str, schedule: Schedule, now: float) -> tuple[list[str], list[str]]:
    """Destroy `period`'s share in each share file of `paths` (rewritten atomically, the retirement recorded);
    return (holders done, holders who must still retire theirs). Only a period that has ended can retire."""
    ended = next((p for p in schedule.periods if p.id == period), None)
    if ended is None:
        raise VaultError(f"retire names a period of the schedule ({', '.join(p.id for p in schedule.periods)}), "
                         f"not {period!r}")
    if now < ended.end:
        raise VaultError(f"only an ended period can retire (cameras may still encrypt to it): {period} ends "
                         f"{utc_iso(ended.end)}, now is {utc_iso(now)}")
    files = [read_share(p) for p in paths]
    if not files:
        raise VaultError("retire needs the share files kept here (--share)")
    kid = ended.key_id
    for f, path in zip(files, paths, strict=True):   # all checked before any is rewritten
        if f.doc.get("format") != SHARE_FORMAT:
            raise VaultError(f"{path}: only period share files ({SHARE_FORMAT}) can retire a period")
        if kid not in f.keys and kid not in f.retired:
            raise VaultError(f"{path}: a share file of this schedule holds key {kid} of period {period}; this one "
                             f"holds {sorted(f.keys)[:4]}")
    for f, path in zip(files, paths, strict=True):
        if kid in f.keys:
            del f.doc["keys"][kid]
            f.doc["retired"][kid] = {"period": period, "time": utc_iso(now)}
            write_atomic(path, json.dumps(f.doc, indent=1).encode())
    done = [f.holder for f in files]
    return done, [h for h in files[0].holders if h not in done]
