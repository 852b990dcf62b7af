"""A small on-disk cache of numeric results (npz), keyed by a digest of everything the result depends on.

Only numbers are cached (boxes, embeddings, scores): no face pixels.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

Arrays = dict[str, np.ndarray]


def digest(*parts: object) -> str:
    """A short stable digest of JSON-serialisable parts (paths and tuples as strings/lists)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def file_digest(path: Path) -> str:
    """Digest of a file's bytes (a model checkpoint, a build's weights)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def cached(folder: Path, name: str, key: str, compute: Callable[[], Arrays], stats: Counter | None = None) -> Arrays:
    """`compute()`'s arrays, from ``folder/name-key.npz`` when present, else computed and saved there.
    `stats` counts ``cached`` and ``computed`` results."""
    path = Path(folder) / f"{name}-{key}.npz"
    hit = path.exists()
    if stats is not None:
        stats["cached" if hit else "computed"] += 1
    if hit:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **result)
    tmp.replace(path)
    return result
