"""The authority's tool (off camera): keys, k-of-n shares, cameras, listing, verifying, decrypting, purging.

    python -m authority keygen --out keys/ --holders judge operator dpo --threshold 2 --start 2026-12-01 \\
                               --period-days 30 --periods 12
    python -m authority register --registry keys/cameras.json --camera-id gate-3 camera.pub
    python -m authority list   VAULT
    python -m authority verify VAULT --registry keys/cameras.json [--schedule keys/schedule.json ...] \\
                               [--heads keys/heads-gate-3.json] [--share keys/share-judge.json --share ...]
    python -m authority decrypt VAULT --registry ... --share ... --share ... --reason "warrant 2026/117" --out DIR
    python -m authority evidence DIR/*.evidence.json --schedule keys/schedule.json
    python -m authority retire 2026-12-01 --schedule keys/schedule.json --share keys/share-judge.json ...
    python -m authority purge  VAULT --registry keys/cameras.json --heads keys/heads-gate-3.json
    python -m authority log    VAULT

The camera holds the public key schedule (one key per retention period) and its own signing key; each holder
keeps one share file, and any `--threshold` of them together open records. `verify`, `decrypt` and `purge`
check each record's signature against the camera registry; `verify` also reports each camera's record chain
(gaps, tombstones, purges, restarts) and, with `--heads`, what was deleted since the authority last collected;
`decrypt` writes a signed evidence sidecar beside each PNG. Every opening and every purge is first written to
VAULT/access.log (hash-chained, but on the card: anyone holding it can append); a deletion counts as lawful
only where a camera-signed tombstone or the authority's heads file (`purge --heads`) lists it. Exit codes: 0 ok,
1 a record, the chain or the log failed a check, 2 bad usage or keys.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from authority import access_log, chain_report, evidence, registry, shares
from authority.montage import clip_strip, save_montage
from host.jsonfile import utc_iso
from host.schedule import SCHEDULE_FILE, load_schedule, period_spans, start_of_day
from host.vault import Record, VaultError, expired, parse_utc, record_paths, scan

HOLDER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")   # holder names become file names: share-NAME.json


def _fmt(meta: dict) -> str:
    if meta.get("kind") == "tombstone":
        return f"tombstone of camera {meta['camera_id']}: {len(meta['purged'])} record(s) deleted ({meta['reason']})"
    return (f"camera {meta.get('camera_id')} track {meta.get('track_id')} best {meta.get('best_time')} "
            f"score {meta.get('score', float('nan')):.2f} expires {meta.get('expires')}")


def cmd_keygen(args: argparse.Namespace) -> int:
    bad = [h for h in args.holders if not HOLDER_NAME.fullmatch(h)]
    if bad:
        raise ValueError(f"holder names must be 1-64 letters, digits, '_', '.', '-', not {bad[0]!r}")
    held = sorted(p.name for p in (args.out / SCHEDULE_FILE, *args.out.glob("share-*.json")) if p.exists())
    if held:
        raise ValueError(f"--out must be a folder without a key, not {args.out}: it holds {', '.join(held)} "
                         "(a new key would replace them)")
    if args.period_days < 1 or args.periods < 1:
        raise ValueError(f"--period-days and --periods must be >= 1, not {args.period_days} and {args.periods}")
    start = parse_time("--start", args.start) if args.start else start_of_day(time.time())
    periods = period_spans(start, args.period_days, args.periods)
    schedule, files = shares.generate(args.out, args.holders, args.threshold, periods)
    print(f"key schedule (give to the cameras): {schedule}, {args.periods} period(s) of {args.period_days} day(s) "
          f"from {periods[0][0]} to {utc_iso(periods[-1][2])}")
    for f in files:
        print(f"share for {f.stem.removeprefix('share-')}: {f}  (hand over, then delete here)")
    print(f"any {args.threshold} of {len(files)} shares open records; no private key was ever written")
    return 0


def parse_time(option: str, text: str) -> float:
    try:
        return parse_utc(text if "T" in text or "+" in text else f"{text}T00:00:00+00:00")
    except ValueError:
        raise ValueError(f"{option} must be an ISO time such as 2026-12-01T00:00:00+00:00, not {text!r}") from None


def cmd_register(args: argparse.Namespace) -> int:
    kid = registry.register(args.registry, args.camera_id, args.public_key)
    print(f"camera {args.camera_id} registered with key {kid} in {args.registry}")
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    now = parse_time("--now", args.now) if args.now else time.time()
    done, left = shares.retire(args.share, args.period, load_schedule(args.schedule), now)
    print(f"period {args.period}: shares of {', '.join(done)} destroyed")
    if left:
        print(f"still to destroy theirs, unless done already: {', '.join(left)} (each runs: python -m authority "
              f"retire {args.period} --schedule {args.schedule} --share THEIR-SHARE-FILE); once fewer than the "
              "threshold remain, no record of the period can be opened by anyone, copies included")
    else:
        print("every holder's share is destroyed: no record of the period can be opened by anyone, copies included")
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    schedule, bad = load_schedule(args.schedule), 0
    for path in args.sidecar:
        try:
            doc = evidence.check(path, schedule)
        except VaultError as exc:
            bad += 1
            print(f"{path.name}: REJECTED: {exc}")
            continue
        access = doc["access"]
        print(f"{path.name}: ok: {doc['png']} from {doc['record']} (camera {doc['camera_id']}, "
              f"{doc['camera_signature']}), opened {access.get('time')} by {', '.join(access.get('holders', []))}: "
              f"{access.get('reason')}")
    return 1 if bad else 0


def cmd_list(args: argparse.Namespace) -> int:
    bad = 0
    results = list(scan(args.vault))
    for path, rec in results:
        if isinstance(rec, Record):
            print(f"{path.name}: {_fmt(rec.meta)}")
        else:
            bad += 1
            print(f"{path.name}: REJECTED: {rec}")
    if not results:
        print(f"no records in {args.vault}")
    return 1 if bad else 0


def _selected(args: argparse.Namespace) -> Iterator[tuple[Path, Record | VaultError]]:
    """The vault's records (parsed or rejected), only those named by --record where given."""
    return ((path, rec) for path, rec in scan(args.vault) if not args.record or path.name in args.record)


class Opened(NamedTuple):
    """One record file: parsed, or the error that rejects it; its signature status; the image where opened."""

    path: Path
    rec: Record | VaultError
    status: str = ""
    image: np.ndarray | None = None
    access: dict | None = None
    key: X25519PrivateKey | None = None


def _opened(args: argparse.Namespace, action: str) -> Iterator[Opened]:
    """Records of the vault (all or --record), signatures checked against the registry; with --share each
    record is also opened with its period's key, each opening logged first."""
    cameras = registry.load(args.registry)
    keyring = shares.Keyring(args.share) if args.share else None
    for path, rec in _selected(args):
        if isinstance(rec, VaultError):
            yield Opened(path, rec)
            continue
        try:
            status = registry.signature_status(cameras, rec)
        except VaultError as exc:
            yield Opened(path, exc)
            continue
        if keyring is None or rec.is_tombstone:
            yield Opened(path, rec, status)
            continue
        entry = access_log.append(args.vault / access_log.LOG_FILE, {
            "action": action, "record": path.name, "record_sha256": rec.sha256, "holders": keyring.holders,
            "reason": args.reason})
        try:
            key = keyring.key(rec.meta["key_id"])
            opened = Opened(path, rec, status, rec.open(key), entry, key)
        except VaultError as exc:
            opened = Opened(path, exc, status)
        yield opened


def cmd_verify(args: argparse.Namespace) -> int:
    schedules = [load_schedule(path) for path in args.schedule]
    whole = not args.record                      # chains, purges and heads are judged on the whole vault only
    heads = chain_report.load_heads(args.heads) if args.heads and whole else None
    checked = bad = 0
    signed = []
    for item in _opened(args, "verify"):
        checked += 1
        if isinstance(item.rec, VaultError):
            bad += 1
            print(f"{item.path.name}: REJECTED: {item.rec}")
            continue
        if item.rec.signature is not None:
            signed.append(item.rec)
        how = ("tombstone" if item.rec.is_tombstone else
               "decrypts and authenticates" if item.image is not None else "checksum, no key")
        print(f"{item.path.name}: ok ({item.status}; {how})")
    log = args.vault / access_log.LOG_FILE
    try:
        purges, intact = [e for e in access_log.verify(log) if e["action"] == "purge"], True
    except VaultError as exc:
        bad += 1
        purges, intact = [], False
        print(f"ACCESS LOG REJECTED: {exc}")
    reports, stray = chain_report.analyse(signed, purges, heads) if whole else ([], [])
    logged = heads.check_log(access_log.line_digests(log), intact, utc_iso(time.time())) if heads is not None else []
    keys = chain_report.key_findings(signed, schedules) if schedules else []
    for line in [*(line for report in reports for line in report.lines()), *stray, *logged, *keys]:
        print(line)
    if heads is not None:
        heads.collect(signed)
        heads.save(args.heads)
        print(f"chain heads and the access log's end collected in {args.heads} (the next verify --heads reports "
              "any deleted since)")
    findings = sum(len(r.findings) for r in reports) + len(stray) + len(logged) + len(keys)
    print(f"{checked - bad} record(s) ok, {bad} failed, {findings} finding(s)" if checked
          else f"no records in {args.vault}: 0 records checked")
    return 1 if bad or findings else 0


def cmd_decrypt(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    tiles, seen, bad = [], 0, 0
    for path, rec, status, image, access, key in _opened(args, "decrypt"):
        seen += 1
        if isinstance(rec, Record) and rec.is_tombstone:
            print(f"{path.name}: {_fmt(rec.meta)}")
            continue
        if image is None:
            bad += 1
            print(f"{path.name}: REJECTED: {rec}")
            continue
        png = args.out / f"{path.stem}.png"
        if "clip" in rec.meta:   # the crops around the best side by side, the best one framed
            image = clip_strip(image, int(rec.meta["clip"]["best_index"]))
        else:
            tiles.append((image, f"track {rec.meta['track_id']} · {rec.meta['score']:.1f}\n"
                                 f"{rec.meta['best_time'][11:19]}"))
        cv2.imwrite(str(png), cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image)
        sidecar = evidence.write(png, rec, status, access, key)
        print(f"{path.name}: {_fmt(rec.meta)} ({status}) -> {png}, {sidecar.name}")
    if tiles:
        save_montage(tiles, args.out / "montage.png")
        print(f"montage: {args.out / 'montage.png'}")
    if not seen:
        print(f"no records in {args.vault}: nothing decrypted")
    return 1 if bad else 0


def cmd_purge(args: argparse.Namespace) -> int:
    now = parse_time("--now", args.now) if args.now else time.time()
    cameras = registry.load(args.registry)
    heads = chain_report.load_heads(args.heads) if args.heads else None
    gone, refused = [], 0
    for rec in expired(args.vault, now):      # `expires` of the header, which the verified signature covers
        try:
            if rec.signature is None:
                raise VaultError(registry.UNSIGNED)
            registry.signature_status(cameras, rec)
        except VaultError as exc:
            refused += 1
            print(f"{rec.path.name}: not purged: only a record whose camera signature verifies is purged, not this "
                  f"one ({exc})")
            continue
        gone.append(rec)
    if heads is not None and gone:   # listed first: a crash leaves a listed purge of a record still there
        heads.add_purges(gone, utc_iso(time.time()))
        heads.save(args.heads)
    for rec in gone:                 # logged before deleting, as every purge
        access_log.append(args.vault / access_log.LOG_FILE, {
            "action": "purge", "record": rec.path.name, "record_sha256": rec.sha256, "holders": [],
            "reason": "retention period expired", "chain": rec.meta["chain"], "seq": rec.meta["seq"]})
        rec.path.unlink()
        print(f"purged {rec.path.name} (expired {rec.meta['expires']})")
    print(f"{len(gone)} expired record(s) deleted, each logged (SD cards do not wipe reliably: `retire` destroys "
          "a period's key)" + (f" and listed in {args.heads}" if heads is not None else
                              "; without --heads, verify reports each as UNCONFIRMED PURGE"))
    return 1 if refused else 0


def cmd_log(args: argparse.Namespace) -> int:
    entries = access_log.verify(args.vault / access_log.LOG_FILE)
    for e in entries:
        print(f"{e['time']} {e['action']} {e['record']} by {', '.join(e['holders']) or 'the authority tool'}: "
              f"{e.get('reason')}")
    print("access log chain intact" if entries else f"no access log in {args.vault}: no record was opened")
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m authority", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keygen", help="new key schedule (a key per period) + one share file per holder")
    p.add_argument("--out", type=Path, required=True, help="folder for schedule.json and the share files")
    p.add_argument("--holders", nargs="+", default=["judge", "operator", "dpo"], help="share holders' names")
    p.add_argument("--threshold", type=int, default=2, help="shares needed to decrypt (k of n)")
    p.add_argument("--start", help="start of the first period, ISO date or time (default: today 00:00 UTC)")
    p.add_argument("--period-days", type=int, default=30, help="length of each key period in days")
    p.add_argument("--periods", type=int, default=12, help="number of periods")
    p.set_defaults(fn=cmd_keygen)
    p = sub.add_parser("register", help="add a camera's public key (camera.pub) to the camera registry")
    p.add_argument("public_key", type=Path, help="the camera's camera.pub (python -m host.signing keygen)")
    p.add_argument("--registry", type=Path, required=True, help="the registry file (made if missing)")
    p.add_argument("--camera-id", required=True, help="the camera's name, as its records name it")
    p.set_defaults(fn=cmd_register)
    p = sub.add_parser("retire", help="destroy a period's key shares: its records can never be opened again")
    p.add_argument("period", help="the period's name (its start date, as in schedule.json)")
    p.add_argument("--schedule", type=Path, required=True, help="the key schedule (schedule.json)")
    p.add_argument("--share", type=Path, action="append", required=True,
                   help="a share file kept here, rewritten without the period's share (repeatable)")
    p.add_argument("--now", help="ISO time to check the period's end against (default: now)")
    p.set_defaults(fn=cmd_retire)
    p = sub.add_parser("evidence", help="check exported evidence sidecars and the PNGs beside them")
    p.add_argument("sidecar", type=Path, nargs="+", help="*.evidence.json files written by decrypt")
    p.add_argument("--schedule", type=Path, required=True, help="the key schedule (schedule.json)")
    p.set_defaults(fn=cmd_evidence)
    for name, fn, text in (("list", cmd_list, "records and their metadata (no key needed)"),
                           ("verify", cmd_verify, "check every record (with --share: also authenticate)"),
                           ("decrypt", cmd_decrypt, "decrypt records to PNGs + montage.png (logged)"),
                           ("purge", cmd_purge, "delete signed records past their expiry (logged)"),
                           ("log", cmd_log, "check and print the access log")):
        p = sub.add_parser(name, help=text)
        p.add_argument("vault", type=Path, help="the camera's record folder")
        if name in ("verify", "decrypt", "purge"):
            p.add_argument("--registry", type=Path, required=True, help="the camera registry (cameras.json)")
        if name in ("verify", "decrypt"):
            p.add_argument("--share", type=Path, action="append", default=[], required=name == "decrypt",
                           help="a holder's share file (repeat: k of them)")
            p.add_argument("--record", action="append", default=[], help="only this record file name (repeatable)")
        if name == "verify":
            p.add_argument("--schedule", type=Path, action="append", default=[],
                           help="a key schedule: also check each record was encrypted to its period's key in one of "
                                "them (repeatable: a card spanning two schedules)")
            p.add_argument("--heads", type=Path, help="the authority's heads file: report chain heads and access "
                                                      "log entries collected before that are gone, and purges it "
                                                      "does not list, then collect the current ones into it")
            p.add_argument("--reason", default="verify --share (authentication only)",
                           help="written to the access log for each opening with --share")
        if name == "decrypt":
            p.add_argument("--reason", required=True, help="warrant or case reference, written to the access log")
            p.add_argument("--out", type=Path, required=True, help="folder for the decrypted crops")
        if name == "purge":
            p.add_argument("--heads", type=Path, help="the authority's heads file (as verify --heads): each "
                                                      "deletion is listed there, or verify reports it unconfirmed")
            p.add_argument("--now", help="ISO time to purge against (default: now)")
        p.set_defaults(fn=fn)
    return ap


def check_paths(args: argparse.Namespace) -> None:
    """Refuse a vault, --out, --share or --record that cannot be meant, before any work: a typo must not look
    like an empty vault. `ValueError` states the rule, then the bad value."""
    vault, out = getattr(args, "vault", None), getattr(args, "out", None)
    if vault is not None and not vault.is_dir():
        raise ValueError(f"not a folder: {vault}" if vault.exists() else f"no such folder: {vault}")
    existing = next((p for p in (out, *out.parents) if p.exists()), None) if out else None
    if existing is not None and not existing.is_dir():   # --out, or a folder it would be made in
        raise ValueError(f"--out must be a folder, not a file: {existing}")
    for share in getattr(args, "share", []):
        if share.is_dir():
            raise ValueError(f"--share must be a share file, not a folder: {share}")
    named = getattr(args, "record", [])
    unknown = sorted(set(named) - {p.name for p in record_paths(vault)}) if named else []
    if unknown:
        raise ValueError(f"--record must name a record in {vault}, not {unknown[0]!r}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        check_paths(args)
        return args.fn(args)
    except (VaultError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:   # e.g. a read-only vault: the access log is written before any record is opened
        print(f"error: cannot use {exc.filename or 'a file'}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
