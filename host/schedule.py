"""The authority's key schedule: one X25519 public key per retention period (``python -m authority keygen``).

The camera encrypts each record to the key of the period it is sealed in, and refuses to run outside the
schedule, so it never encrypts to a retired key. Retiring a period (``python -m authority retire``) destroys
that key's shares: every record of the period, and every copy of it, can then never be opened. The file is
public (it holds public keys only); each period also names the Ed25519 key that signs evidence exported
from its records (derived from the period's private key, so only k share holders together can sign).

    {"format": "facevault-schedule/1", "periods": [{"id", "start", "end", "public_key", "evidence_key"}, ...]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from host.errors import VaultError
from host.jsonfile import check_format, field, hex_field, parse_object, read_file, time_field, utc_iso
from host.signing import ed25519_key, key_id

SCHEDULE_FILE = "schedule.json"
SCHEDULE_FORMAT = "facevault-schedule/1"
DAY = 86400.0


def period_spans(start: float, days: int, count: int) -> list[tuple[str, float, float]]:
    """`count` periods of `days` days from `start` (seconds), each named by its start date: (name, start, end)."""
    return [(utc_iso(start + i * days * DAY)[:10], start + i * days * DAY, start + (i + 1) * days * DAY)
            for i in range(count)]


def start_of_day(seconds: float) -> float:
    """00:00 UTC of the day `seconds` lies in."""
    return seconds // DAY * DAY


@dataclass(frozen=True)
class Period:
    """One retention period [start, end) and the key records sealed in it are encrypted to."""

    id: str
    start: float
    end: float
    public_key: X25519PublicKey
    evidence_key: Ed25519PublicKey | None = None

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)


@dataclass(frozen=True)
class Schedule:
    periods: tuple[Period, ...]
    source: str = "key schedule"

    def current(self, now: float) -> Period:
        """The period `now` lies in; `VaultError` if the schedule has not started, has a hole or has expired."""
        for period in self.periods:
            if period.start <= now < period.end:
                return period
        if now >= self.periods[-1].end:
            raise VaultError(f"{self.source} expired at {utc_iso(self.periods[-1].end)} (now {utc_iso(now)}): the "
                             "camera never encrypts to a retired key; install the authority's next schedule")
        raise VaultError(f"{self.source} has no period covering {utc_iso(now)} (its first starts "
                         f"{utc_iso(self.periods[0].start)})")

    def by_key_id(self, kid: str) -> Period | None:
        return next((p for p in self.periods if p.key_id == kid), None)

    def to_json(self) -> bytes:
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        periods = [{"id": p.id, "start": utc_iso(p.start), "end": utc_iso(p.end), "key_id": p.key_id,
                    "public_key": p.public_key.public_bytes(*raw).hex(),
                    "evidence_key": p.evidence_key.public_bytes(*raw).hex() if p.evidence_key else None}
                   for p in self.periods]
        return json.dumps({"format": SCHEDULE_FORMAT, "periods": periods}, indent=1).encode()


def single_period(public_key: X25519PublicKey, start: float, end: float) -> Schedule:
    """A schedule of one period, in memory (throwaway vaults of benchmarks, evaluations and tests)."""
    return Schedule((Period("single", start, end, public_key),))


def parse_schedule(data: bytes, where: str) -> Schedule:
    """A schedule from its JSON bytes; periods must be named uniquely, non-empty, in order, not overlapping."""
    doc = parse_object(data, where)
    check_format(doc, SCHEDULE_FORMAT, "key schedule", where)
    items = field(doc, "periods", list, where)
    if not items:
        raise VaultError(f"{where}: a key schedule needs at least one period, not 0")
    periods: list[Period] = []
    for number, item in enumerate(items):
        at = f"{where}: period {number}"
        if not isinstance(item, dict):
            raise VaultError(f"{at} must be a JSON object, not {type(item).__name__}")
        public = X25519PublicKey.from_public_bytes(hex_field(item, "public_key", 32, at))
        evidence = None
        if item.get("evidence_key") is not None:
            evidence = ed25519_key(hex_field(item, "evidence_key", 32, at), at)
        period = Period(field(item, "id", str, at), time_field(item, "start", at), time_field(item, "end", at),
                        public, evidence)
        if item.get("key_id", period.key_id) != period.key_id:
            raise VaultError(f"{at}: key_id must be its public key's fingerprint {period.key_id}, "
                             f"not {str(item['key_id'])[:40]!r}")
        if not period.start < period.end:
            raise VaultError(f"{at}: a period must start before it ends, not {item['start']} .. {item['end']}")
        if periods and period.start < periods[-1].end:
            raise VaultError(f"{at}: periods must be in order without overlap; {period.id} starts {item['start']}, "
                             f"before {periods[-1].id} ends")
        if any(p.id == period.id for p in periods):
            raise VaultError(f"{at}: period names must be unique, {period.id!r} is repeated")
        periods.append(period)
    return Schedule(tuple(periods), f"key schedule {where}")


def load_schedule(path: Path) -> Schedule:
    """The key schedule file (``python -m authority keygen`` writes it)."""
    return parse_schedule(read_file(path, "key schedule"), str(path))
