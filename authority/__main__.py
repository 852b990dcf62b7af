"""The authority's tool (off camera): keys, k-of-n shares, listing, verifying, decrypting and purging records.

    python -m authority keygen --out keys/ --holders judge operator dpo --threshold 2
    python -m authority list   VAULT
    python -m authority verify VAULT [--share keys/share-judge.json --share keys/share-dpo.json]
    python -m authority decrypt VAULT --share ... --share ... --reason "warrant 2026/117" --out DIR
    python -m authority purge  VAULT
    python -m authority log    VAULT

The camera holds only `authority.pub`; each holder keeps one share file, and any `--threshold` of them
together open records. Every decryption is first written to VAULT/access.log (hash-chained). Exit codes:
0 ok, 1 a record or the log failed a check, 2 bad usage or keys.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2

from authority import access_log, shares
from authority.montage import clip_strip, save_montage
from host.vault import Record, VaultError, parse_utc, purge_expired, scan


def _fmt(meta: dict) -> str:
    return (f"camera {meta.get('camera_id')} track {meta.get('track_id')} best {meta.get('best_time')} "
            f"score {meta.get('score', float('nan')):.2f} expires {meta.get('expires')}")


def cmd_keygen(args: argparse.Namespace) -> int:
    public, files = shares.generate(args.out, args.holders, args.threshold)
    print(f"public key (give to the cameras): {public}")
    for f in files:
        print(f"share for {f.stem.removeprefix('share-')}: {f}  (hand over, then delete here)")
    print(f"any {args.threshold} of {len(files)} shares open records; the private key was never written")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    bad = 0
    for path, rec in scan(args.vault):
        if isinstance(rec, Record):
            print(f"{path.name}: {_fmt(rec.meta)}")
        else:
            bad += 1
            print(f"{path.name}: REJECTED: {rec}")
    return 1 if bad else 0


def _opened(args: argparse.Namespace, action: str):
    """Records of the vault (all or --record), the key from the shares, each access logged first."""
    key, holders = shares.combine(args.share)
    for path, rec in scan(args.vault):
        if args.record and path.name not in args.record:
            continue
        if isinstance(rec, VaultError):
            yield path, rec, None
            continue
        access_log.append(args.vault / access_log.LOG_FILE, {
            "action": action, "record": path.name, "record_sha256": rec.sha256, "holders": holders,
            "reason": getattr(args, "reason", None)})
        try:
            yield path, rec, rec.open(key)
        except VaultError as exc:
            yield path, exc, None


def cmd_verify(args: argparse.Namespace) -> int:
    bad = 0
    items = _opened(args, "verify") if args.share else ((p, r, None) for p, r in scan(args.vault))
    for path, rec, image in items:
        if isinstance(rec, VaultError):
            bad += 1
            print(f"{path.name}: REJECTED: {rec}")
        else:
            print(f"{path.name}: ok ({'decrypts and authenticates' if image is not None else 'checksum, no key'})")
    return 1 if bad else 0


def cmd_decrypt(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    tiles, bad = [], 0
    for path, rec, image in _opened(args, "decrypt"):
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
        print(f"{path.name}: {_fmt(rec.meta)} -> {png}")
    if tiles:
        save_montage(tiles, args.out / "montage.png")
        print(f"montage: {args.out / 'montage.png'}")
    return 1 if bad else 0


def cmd_purge(args: argparse.Namespace) -> int:
    now = parse_utc(args.now) if args.now else time.time()
    gone = purge_expired(args.vault, now)
    for path in gone:
        print(f"purged {path.name}")
    print(f"{len(gone)} expired record(s) deleted (SD cards do not wipe reliably: destroy the period's key too)")
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    for e in access_log.verify(args.vault / access_log.LOG_FILE):
        print(f"{e['time']} {e['action']} {e['record']} by {', '.join(e['holders'])}: {e.get('reason')}")
    print("access log chain intact")
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m authority", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("keygen", help="new key pair: public key + one share per holder")
    p.add_argument("--out", type=Path, required=True, help="folder for authority.pub and the share files")
    p.add_argument("--holders", nargs="+", default=["judge", "operator", "dpo"], help="share holders' names")
    p.add_argument("--threshold", type=int, default=2, help="shares needed to decrypt (k of n)")
    p.set_defaults(fn=cmd_keygen)
    for name, fn, text in (("list", cmd_list, "records and their metadata (no key needed)"),
                           ("verify", cmd_verify, "check every record (with --share: also authenticate)"),
                           ("decrypt", cmd_decrypt, "decrypt records to PNGs + montage.png (logged)"),
                           ("purge", cmd_purge, "delete records past their expiry"),
                           ("log", cmd_log, "check and print the access log")):
        p = sub.add_parser(name, help=text)
        p.add_argument("vault", type=Path, help="the camera's record folder")
        if name in ("verify", "decrypt"):
            p.add_argument("--share", type=Path, action="append", default=[], required=name == "decrypt",
                           help="a holder's share file (repeat: k of them)")
            p.add_argument("--record", action="append", default=[], help="only this record file name (repeatable)")
        if name == "decrypt":
            p.add_argument("--reason", required=True, help="warrant or case reference, written to the access log")
            p.add_argument("--out", type=Path, required=True, help="folder for the decrypted crops")
        if name == "purge":
            p.add_argument("--now", help="ISO time to purge against (default: now)")
        p.set_defaults(fn=fn)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except (VaultError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
