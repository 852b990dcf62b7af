"""What sealing, signing and storing a record cost on this machine (docs/security.md).

    python -m host.sign_bench [--records 500]

A 128x128 RGB keepsake crop: HPKE seal, Ed25519 signature of a whole record, its verification (the
authority's side), and the whole store (seal, sign, atomic record write, atomic chain state write).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from host.vault import SUITE, throwaway_vault


def per_record(fn: Callable[[], object], records: int) -> float:
    """Milliseconds per call of `fn`, over `records` calls."""
    t0 = time.perf_counter()
    for _ in range(records):
        fn()
    return (time.perf_counter() - t0) / records * 1e3


def bench(records: int) -> dict[str, float]:
    image = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    camera = Ed25519PrivateKey.generate()
    meta = {"camera_id": "bench", "track_id": 0, "best_time": "2026-11-30T00:00:00+00:00", "score": 0.0,
            "expires": "2099-01-01T00:00:00+00:00"}
    with tempfile.TemporaryDirectory() as folder:
        vault, key = throwaway_vault(Path(folder), "bench")
        record = vault.store("r", image, meta).read_bytes()
        signature = camera.sign(record)
        names = iter(range(records))
        return {"hpke_seal": per_record(lambda: SUITE.encrypt(image.tobytes(), key.public_key()), records),
                "ed25519_sign": per_record(lambda: camera.sign(record), records),
                "ed25519_verify": per_record(lambda: camera.public_key().verify(signature, record), records),
                "store (seal, sign, 2 atomic writes)": per_record(
                    lambda: vault.store(f"r{next(names)}", image, meta), records),
                "record_bytes": len(record)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host.sign_bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=500, help="records per measurement")
    args = ap.parse_args(argv)
    result = bench(args.records)
    print(f"record of {result.pop('record_bytes')} bytes, {time.strftime('%Y-%m-%d')}")
    for name, ms in result.items():
        print(f"{name:36s} {ms:7.3f} ms/record")
    return 0


if __name__ == "__main__":
    sys.exit(main())
