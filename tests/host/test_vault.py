"""Records: encryption round trip, authenticated metadata, rejected tampering and truncation, atomic writes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from host import vault
from host.vault import Vault, VaultError, parse, purge_expired, remove_stale_temporaries, seal

META = {"camera_id": "cam-1", "track_id": 7, "best_time": "2026-11-26T10:00:00.000+00:00", "score": -1.5,
        "expires": "2026-12-26T10:00:00.000+00:00"}


@pytest.fixture
def key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)


def test_round_trip_and_plaintext_metadata(tmp_path, key, image):
    path = Vault(tmp_path, key.public_key()).store("r1", image, META)
    rec = parse(path)
    assert rec.meta["track_id"] == 7 and rec.meta["key_id"] == vault.key_id(key.public_key())
    np.testing.assert_array_equal(rec.open(key), image)
    assert image.tobytes()[:64] not in path.read_bytes()


def test_other_key_is_rejected(tmp_path, key, image):
    rec = parse(Vault(tmp_path, key.public_key()).store("r1", image, META))
    with pytest.raises(VaultError, match="encrypted to authority key"):
        rec.open(X25519PrivateKey.generate())


def test_altered_metadata_fails_authentication(tmp_path, key, image):
    data = seal(image, META, key.public_key())
    forged = data[:-32].replace(b'"track_id":7', b'"track_id":8')
    path = tmp_path / "forged.fvr"
    path.write_bytes(forged + vault.hashlib.sha256(forged).digest())  # checksum recomputed by the forger
    with pytest.raises(VaultError, match="authentication failed"):
        parse(path).open(key)


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic"])
def test_damaged_files_are_rejected_without_key(tmp_path, key, image, damage):
    data = bytearray(seal(image, META, key.public_key()))
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


def test_failed_write_leaves_nothing(tmp_path, key, image, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        Vault(tmp_path, key.public_key()).store("r1", image, META)
    assert list(tmp_path.iterdir()) == []


def test_purge_and_stale_temporaries(tmp_path, key, image):
    v = Vault(tmp_path, key.public_key())
    old = v.store("old", image, {**META, "expires": "2026-01-01T00:00:00+00:00"})
    new = v.store("new", image, META)
    stale = tmp_path / ".crashed.fvr.tmp"
    stale.write_bytes(b"partial ciphertext")
    assert purge_expired(tmp_path, vault.parse_utc("2026-06-01T00:00:00+00:00")) == [old]
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert sorted(tmp_path.iterdir()) == [new]


def test_public_key_errors(tmp_path):
    with pytest.raises(VaultError, match="not found"):
        vault.load_public_key(tmp_path / "missing.pub")
    (tmp_path / "junk.pub").write_text("not a key")
    with pytest.raises(VaultError, match="not a PEM public key"):
        vault.load_public_key(tmp_path / "junk.pub")
    ed = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "ed.pub").write_bytes(ed)
    with pytest.raises(VaultError, match="not an X25519"):
        vault.load_public_key(tmp_path / "ed.pub")
