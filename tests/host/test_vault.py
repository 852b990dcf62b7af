"""Records: encryption round trip, signature, chain, authenticated metadata, rejected tampering and truncation,
atomic writes, tombstones, the chain state file, key schedule and camera key errors, format 1 records."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from host import signing, vault
from host.chain import STATE_FILE
from host.schedule import load_schedule, single_period
from host.vault import Vault, VaultError, parse, remove_stale_temporaries, seal
from tests.host.fakes import camera_vault, format1_record

META = {"camera_id": "cam-1", "track_id": 7, "best_time": "2026-11-26T10:00:00.000+00:00", "score": -1.5,
        "expires": "2026-12-26T10:00:00.000+00:00"}


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)


def test_round_trip_signature_and_plaintext_metadata(tmp_path, image):
    v, key, camera = camera_vault(tmp_path)
    rec = parse(v.store("r1", image, META))
    assert rec.meta["track_id"] == 7 and rec.meta["key_id"] == vault.key_id(key.public_key())
    assert rec.meta["camera_key"] == signing.key_id(camera.public_key()) and rec.meta["period"] == "single"
    camera.public_key().verify(rec.signature, rec.signed)
    np.testing.assert_array_equal(rec.open(key), image)
    assert image.tobytes()[:64] not in rec.path.read_bytes()


def test_records_are_chained_across_restarts(tmp_path, image):
    v, _, camera = camera_vault(tmp_path)
    first, second = parse(v.store("a", image, META)), parse(v.store("b", image, META))
    again = Vault(tmp_path, v.schedule, camera, "cam-1")      # a restart continues the chain
    third = parse(again.store("c", image, META))
    assert [r.meta["seq"] for r in (first, second, third)] == [0, 1, 2]
    assert first.meta["prev"] is None and second.meta["prev"] == first.sha256 and third.meta["prev"] == second.sha256
    assert len({r.meta["chain"] for r in (first, second, third)}) == 1 and third.meta["name"] == "c.fvr"


def test_lost_state_starts_a_new_chain_and_a_lagging_one_catches_up(tmp_path, image, caplog):
    v, _, camera = camera_vault(tmp_path)
    old_state = (tmp_path / STATE_FILE).read_bytes() if v.store("a", image, META) else b""
    last = parse(v.store("b", image, META))
    (tmp_path / STATE_FILE).write_bytes(old_state)           # a crash after writing b, before its state
    resumed = parse(Vault(tmp_path, v.schedule, camera, "cam-1").store("c", image, META))
    assert resumed.meta["seq"] == 2 and resumed.meta["prev"] == last.sha256 and "resumed after seq 1" in caplog.text
    (tmp_path / STATE_FILE).unlink()
    fresh = parse(Vault(tmp_path, v.schedule, camera, "cam-1").store("d", image, META))
    assert fresh.meta["seq"] == 0 and fresh.meta["chain"] != last.meta["chain"] and "new record chain" in caplog.text


@pytest.mark.parametrize("content, message", [
    (b"{not json", "not JSON"),
    (b'{"format": "facevault-chain/1", "camera_key": "other", "chain": "c", "seq": 1, "head": null}',
     "its own camera key"),
    (b'{"format": "facevault-chain/1", "camera_key": "%s", "chain": "c", "seq": 3, "head": null}',
     "field 'head' must be str"),
])
def test_a_damaged_or_foreign_chain_state_is_refused(tmp_path, content, message):
    v, _, camera = camera_vault(tmp_path)
    (tmp_path / STATE_FILE).write_bytes(content.replace(b"%s", signing.key_id(camera.public_key()).encode()))
    with pytest.raises(VaultError, match=message):
        Vault(tmp_path, v.schedule, camera, "cam-1")


def test_other_key_is_rejected(tmp_path, image):
    v, _, _ = camera_vault(tmp_path)
    rec = parse(v.store("r1", image, META))
    with pytest.raises(VaultError, match="encrypted to authority key"):
        rec.open(X25519PrivateKey.generate())


def test_altered_metadata_fails_authentication(tmp_path, image):
    v, key, _ = camera_vault(tmp_path)
    data = v.store("r1", image, META).read_bytes()
    forged = data[:-32].replace(b'"track_id":7', b'"track_id":8')
    path = tmp_path / "forged.fvr"
    path.write_bytes(forged + hashlib.sha256(forged).digest())  # checksum recomputed by the forger
    with pytest.raises(VaultError, match="authentication failed"):
        parse(path).open(key)


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic"])
def test_damaged_files_are_rejected_without_key(tmp_path, image, damage):
    v, _, _ = camera_vault(tmp_path)
    data = bytearray(v.store("r1", image, META).read_bytes())
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "flip":
        data[200] ^= 1
    else:
        data[:6] = b"NOTREC"
    path = tmp_path / "bad.fvr"
    path.write_bytes(bytes(data))
    with pytest.raises(VaultError, match=r"checksum|bad magic"):
        parse(path)


def test_a_forged_length_field_with_a_valid_checksum_is_refused(tmp_path, image):
    v, _, _ = camera_vault(tmp_path)
    data = bytearray(v.store("r1", image, META).read_bytes()[:-32])
    data[8:12] = struct.pack(">I", 2**32 - 1)
    path = tmp_path / "long.fvr"
    path.write_bytes(bytes(data) + hashlib.sha256(data).digest())
    with pytest.raises(VaultError, match="runs past the end"):
        parse(path)


def test_failed_write_leaves_nothing(tmp_path, image, monkeypatch):
    v, _, _ = camera_vault(tmp_path)

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        v.store("r1", image, META)
    assert list(tmp_path.iterdir()) == [] and v.chain.seq == 0


def test_purge_writes_a_tombstone_and_stale_temporaries_go(tmp_path, image):
    v, key, _ = camera_vault(tmp_path)
    old = parse(v.store("old", image, {**META, "expires": "2026-01-01T00:00:00+00:00"}))
    new = v.store("new", image, META)
    stale = tmp_path / ".crashed.fvr.tmp"
    stale.write_bytes(b"partial ciphertext")
    assert v.purge_expired(vault.parse_utc("2026-06-01T00:00:00+00:00")) == [old.path]
    assert v.purge_expired(vault.parse_utc("2026-06-01T00:00:00+00:00")) == []          # nothing left to purge
    assert remove_stale_temporaries(tmp_path) == [stale]
    (stone,) = [r for _, r in vault.scan(tmp_path) if r.is_tombstone]
    assert sorted(p.name for p in tmp_path.glob("*.fvr")) == sorted([new.name, stone.path.name])
    assert stone.meta["purged"] == [{"name": "old.fvr", "sha256": old.sha256, "chain": old.meta["chain"], "seq": 0,
                                     "expires": "2026-01-01T00:00:00+00:00"}]
    assert stone.meta["seq"] == 2 and stone.ciphertext == b""
    with pytest.raises(VaultError, match="no image"):
        stone.open(key)


def test_an_expired_schedule_stops_the_camera(tmp_path, image):
    v, _, _ = camera_vault(tmp_path)
    with pytest.raises(VaultError, match=r"expired at .* never encrypts to a retired key"):
        v.schedule.current(time.time() + 2 * 86400)
    with pytest.raises(VaultError, match="no period covering"):
        v.schedule.current(time.time() - 7200)
    schedule = single_period(X25519PrivateKey.generate().public_key(), 0.0, 86400.0)
    path = tmp_path / "schedule.json"
    path.write_bytes(schedule.to_json())
    assert load_schedule(path).periods[0].key_id == schedule.periods[0].key_id
    doc = json.loads(path.read_text())
    doc["periods"].append({**doc["periods"][0], "id": "again"})
    path.write_text(json.dumps(doc))
    with pytest.raises(VaultError, match="in order without overlap"):
        load_schedule(path)


def test_camera_key_file_rules(tmp_path):
    key_path, public_path = signing.generate(tmp_path / "cam")
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert signing.key_id(signing.load_private_key(key_path).public_key()) == signing.key_id(
        signing.load_public_key(public_path.read_bytes(), "camera.pub"))
    with pytest.raises(VaultError, match="never overwritten"):
        signing.generate(tmp_path / "cam")
    key_path.chmod(0o644)
    with pytest.raises(VaultError, match=r"owner only .* not mode 0644"):
        signing.load_private_key(key_path)
    with pytest.raises(VaultError, match="not found"):
        signing.load_private_key(tmp_path / "missing.key")
    public_path.chmod(0o600)
    with pytest.raises(VaultError, match="not an unencrypted PEM private key"):
        signing.load_private_key(public_path)


def test_format_1_records_stay_readable_unsigned(tmp_path, image):
    key = X25519PrivateKey.generate()
    format1_record(tmp_path / "old.fvr", image, META, key)
    rec = parse(tmp_path / "old.fvr")
    assert rec.signature is None and "chain" not in rec.meta
    np.testing.assert_array_equal(rec.open(key), image)


def test_seal_binds_header_and_signature(image):
    key = X25519PrivateKey.generate()
    camera = signing.Ed25519PrivateKey.generate()
    data = seal(image, META, key.public_key(), camera)
    assert data.startswith(vault.MAGIC) and hashlib.sha256(data[:-32]).digest() == data[-32:]
    camera.public_key().verify(data[-96:-32], data[:-96])
