"""Property-based fuzzing (hypothesis) of every parser that reads a file an attacker could touch: records
(and tombstones), share files, the key schedule, the camera registry, the access log, the chain state file,
the authority's heads file (chain heads, purges, the access log's end) and evidence sidecars.

Each input is a genuine file damaged at random (garbage, truncation, byte flips, splices) or, structurally, a
genuine document with one field replaced by arbitrary JSON or removed and then re-sealed so that checksums,
signatures and log links are right again (what a forger holding the camera key could write). The property:
the parser, and the checks the authority's tool runs after it, either accept the input or refuse it with a
`VaultError` that gives the reason; never another exception, and the genuine files stay as they were.
Development tool: needs `hypothesis` (the dev extra); the camera never imports it.

    python -m authority.fuzz --examples 10000      # the benchmark: inputs/s and slowest input per parser
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authority import access_log, chain_report, evidence, registry, shares
from host import vault
from host.chain import STATE_FILE, parse_state
from host.errors import VaultError
from host.jsonfile import canonical
from host.schedule import SCHEDULE_FILE, load_schedule, parse_schedule
from host.signing import generate, key_id, load_private_key

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=8)
_MISSING = object()
NOW = "2026-12-01T00:00:00.000+00:00"


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a JSON document (dict keys and list indices)."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    return [p for k, v in items for p in ((*prefix, k), *_paths(v, (*prefix, k)))]


def _replaced(doc: object, path: tuple, value: object) -> object:
    """A copy of `doc` with the value at `path` replaced (or removed if `value` is _MISSING)."""
    if not path:
        return value
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    if len(path) == 1 and value is _MISSING:
        del copy[path[0]]
    else:
        copy[path[0]] = _replaced(copy[path[0]], path[1:], value)
    return copy


def damaged(seed: bytes) -> st.SearchStrategy[bytes]:
    """Byte-level damage of `seed`: garbage, truncation, flips, splices."""
    n = len(seed)

    def flip(flips: list[tuple[int, int]]) -> bytes:
        data = bytearray(seed)
        for i, x in flips:
            data[i % n] ^= x
        return bytes(data)

    return st.one_of(st.binary(max_size=256), st.integers(0, n).map(lambda k: seed[:k]),
                     st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, 255)), min_size=1, max_size=8).map(flip),
                     st.tuples(st.integers(0, n), st.binary(max_size=64), st.integers(0, 64)).map(
                         lambda t: seed[:t[0]] + t[1] + seed[t[0] + t[2]:]))


def edited(doc: dict, seal: Callable[[dict], bytes]) -> st.SearchStrategy[bytes]:
    """Structural damage: one field of `doc` replaced by arbitrary JSON or removed, re-sealed by `seal`."""
    paths = _paths(doc)
    return st.tuples(st.sampled_from(paths), JSON_VALUES | st.just(_MISSING)).map(
        lambda t: seal(_replaced(doc, *t)))


@dataclass
class Target:
    """One parser: a genuine file, how to check a candidate, and how to re-seal an edited document."""

    seed: bytes
    check: Callable[[bytes], object]
    doc: dict
    seal: Callable[[dict], bytes]

    def inputs(self) -> st.SearchStrategy[bytes]:
        return damaged(self.seed) | edited(self.doc, self.seal)


def _json(doc: dict) -> bytes:
    return json.dumps(doc).encode()


class Workspace:
    """Genuine files of every kind in a temporary folder: keys, a camera, records, a log, a sidecar."""

    def __init__(self, root: Path) -> None:
        self.root, self.scratch = root, root / "fuzz"
        self.scratch.mkdir()
        keys, now = root / "keys", time.time()
        shares.generate(keys, ["a", "b", "c"], 2, [("p", now - 60, now + 86400)])
        self.schedule = load_schedule(keys / SCHEDULE_FILE)
        camera_file, public = generate(root / "camera")
        self.camera = load_private_key(camera_file)
        registry.register(keys / "cameras.json", "cam-1", public)
        self.cameras = registry.load(keys / "cameras.json")
        self.keyring = shares.Keyring([keys / "share-a.json", keys / "share-b.json"])
        self.share_a, self.share_b = keys / "share-a.json", keys / "share-b.json"
        records = root / "records"
        box = vault.Vault(records, self.schedule, self.camera, "cam-1")
        meta = {"camera_id": "cam-1", "track_id": 1, "best_time": "2026-11-30T10:00:00.000+00:00", "score": 1.5,
                "expires": "2026-12-01T00:00:00.000+00:00", "clip": {"frames": 1, "best_index": 0}}
        self.record = vault.parse(box.store("r0", np.zeros((4, 4, 3), np.uint8), meta))
        self.old = vault.parse(box.store("old", np.zeros((4, 4), np.uint8),
                                         {**meta, "expires": "2026-01-01T00:00:00+00:00"}))
        box.purge_expired(vault.parse_utc("2026-06-01T00:00:00+00:00"))
        self.tombstone = next(r for _, r in vault.scan(records) if r.is_tombstone)
        self.log = records / access_log.LOG_FILE
        access_log.append(self.log, {"action": "purge", "record": "old.fvr", "record_sha256": self.old.sha256,
                                     "holders": [], "reason": "fuzz", "chain": self.old.meta["chain"],
                                     "seq": self.old.meta["seq"]})
        for action in ("verify", "decrypt"):
            entry = access_log.append(self.log, {"action": action, "record": "r0.fvr",
                                                 "record_sha256": self.record.sha256, "holders": ["a", "b"],
                                                 "reason": "fuzz"})
        png = root / "r0.png"
        cv2.imwrite(str(png), np.zeros((4, 4, 3), np.uint8))
        self.sidecar = evidence.write(png, self.record, "signed", entry, self.keyring.key(self.record.meta["key_id"]))
        self.png, self.heads = png, root / "heads.json"
        heads = chain_report.Heads()
        heads.collect([self.record, self.tombstone])
        heads.add_purges([self.old], NOW)
        heads.check_log(access_log.line_digests(self.log), True, NOW)
        heads.save(self.heads)
        self.genuine = [*keys.iterdir(), *records.iterdir(), png, self.sidecar, self.heads]
        self.digests = self._digests()

    def _digests(self) -> dict[Path, str]:
        return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in self.genuine}

    def unchanged(self) -> bool:
        return self._digests() == self.digests

    def _file(self, name: str, data: bytes) -> Path:
        path = self.scratch / name
        path.write_bytes(data)
        return path

    def _reseal(self, rec: vault.Record) -> Callable[[dict], bytes]:
        """A record with an edited header, lengths, signature and checksum made right (a key-holding forger)."""
        return lambda meta: vault.assemble(canonical(meta), rec.ciphertext, self.camera)

    def check_record(self, data: bytes) -> None:
        rec = vault.parse(self._file("x.fvr", data))
        registry.signature_status(self.cameras, rec)
        chain_report.analyse([rec], [])
        if not rec.is_tombstone:
            rec.open(self.keyring.key(rec.meta["key_id"]))

    def check_share(self, data: bytes) -> None:
        shares.Keyring([self.share_a, self._file("share-x.json", data)]).key(self.record.meta["key_id"])

    def check_schedule(self, data: bytes) -> None:
        parse_schedule(data, "schedule").current(time.time())

    def check_registry(self, data: bytes) -> None:
        registry.signature_status(registry.parse_registry(data, "registry"), self.record)

    def check_log(self, data: bytes) -> None:
        path = self._file("access.log", data)
        purges = [e for e in access_log.verify(path) if e["action"] == "purge"]
        heads = chain_report.load_heads(self.heads)
        chain_report.analyse([self.record, self.tombstone], purges, heads)
        heads.check_log(access_log.line_digests(path), True, NOW)

    def check_state(self, data: bytes) -> None:
        parse_state(data, "state", key_id(self.camera.public_key()))

    def check_heads(self, data: bytes) -> None:
        """Parse, report against, update, save and reread a heads file."""
        heads, chained = chain_report.parse_heads(data, "heads"), [self.record, self.tombstone]
        chain_report.analyse(chained, [e for e in access_log.verify(self.log) if e["action"] == "purge"], heads)
        heads.check_log(access_log.line_digests(self.log), True, NOW)
        heads.collect(chained)
        heads.add_purges([self.old], NOW)
        heads.save(self.scratch / "heads.json")
        chain_report.load_heads(self.scratch / "heads.json")

    def check_sidecar(self, data: bytes) -> None:
        (self.scratch / self.png.name).write_bytes(self.png.read_bytes())
        evidence.check(self._file("x.evidence.json", data), self.schedule)

    def targets(self) -> dict[str, Target]:
        log_lines = (self.root / "records" / access_log.LOG_FILE).read_bytes()

        def relinked(first: dict) -> bytes:   # an edited first entry, the chain links after it made right
            lines, prev = [], access_log.GENESIS
            for entry in [first, *map(json.loads, log_lines.splitlines()[1:])]:
                line = json.dumps({**entry, "prev": prev} if isinstance(entry, dict) else entry).encode()
                lines.append(line)
                prev = hashlib.sha256(line).hexdigest()
            return b"\n".join(lines) + b"\n"

        def target(seed: bytes, check: Callable[[bytes], object], seal: Callable[[dict], bytes] = _json,
                   doc: dict | None = None) -> Target:
            return Target(seed, check, doc if doc is not None else json.loads(seed), seal)

        state = (self.root / "records" / STATE_FILE).read_bytes()
        return {
            "record": target(self.record.path.read_bytes(), self.check_record, self._reseal(self.record),
                             self.record.meta),
            "tombstone": target(self.tombstone.path.read_bytes(), self.check_record, self._reseal(self.tombstone),
                                self.tombstone.meta),
            "share file": target(self.share_b.read_bytes(), self.check_share),
            "key schedule": target((self.root / "keys" / SCHEDULE_FILE).read_bytes(), self.check_schedule),
            "camera registry": target((self.root / "keys" / "cameras.json").read_bytes(), self.check_registry),
            "access log": target(log_lines, self.check_log, relinked, json.loads(log_lines.splitlines()[0])),
            "chain state": target(state, self.check_state),
            "chain heads": target(self.heads.read_bytes(), self.check_heads),
            "evidence sidecar": target(self.sidecar.read_bytes(), self.check_sidecar),
        }


def fuzz(target: Target, examples: int) -> dict[str, float]:
    """Run `examples` generated inputs through `target`; raises on any input not accepted or refused cleanly."""
    counts = {"accepted": 0, "refused": 0}
    slowest = 0.0

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(target.inputs())
    def refused_cleanly(data: bytes) -> None:
        nonlocal slowest
        t0 = time.perf_counter()
        try:
            target.check(data)
            counts["accepted"] += 1
        except VaultError as exc:
            assert str(exc), "a refusal must state its reason"
            counts["refused"] += 1
        slowest = max(slowest, time.perf_counter() - t0)

    t0 = time.perf_counter()
    refused_cleanly()
    seconds = time.perf_counter() - t0
    total = counts["accepted"] + counts["refused"]
    return {**counts, "inputs": total, "per_second": total / seconds, "slowest_ms": slowest * 1e3}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m authority.fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=10_000, help="generated inputs per parser")
    ap.add_argument("--parser", action="append", help="only this parser (repeatable; default: all)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Workspace(Path(folder))
        targets = work.targets()
        for name in args.parser or targets:
            result = fuzz(targets[name], args.examples)
            print(f"{name:17s} {result['inputs']:6d} inputs ({result['refused']} refused, {result['accepted']} "
                  f"accepted) {result['per_second']:7.0f} inputs/s, slowest {result['slowest_ms']:.1f} ms", flush=True)
        if not work.unchanged():
            print("error: a genuine file changed while fuzzing", file=sys.stderr)
            return 1
    print("every input was accepted or refused with a reason; no genuine file changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
