"""The authority tool: k-of-n shares, logged decryption, verification, purge."""

from __future__ import annotations

import json

import numpy as np
import pytest

from authority import access_log, shares
from authority.__main__ import main
from host.vault import Vault, VaultError, load_public_key

META = {"camera_id": "cam-1", "best_time": "2026-11-26T10:00:00.000+00:00", "score": -1.5,
        "expires": "2026-12-26T10:00:00.000+00:00"}


@pytest.fixture
def authority(tmp_path):
    keys = tmp_path / "keys"
    assert main(["keygen", "--out", str(keys), "--holders", "judge", "operator", "dpo", "--threshold", "2"]) == 0
    records = tmp_path / "records"
    v = Vault(records, load_public_key(keys / "authority.pub"))
    images = [np.full((128, 128, 3), 40 * i, np.uint8) for i in range(3)]
    for i, img in enumerate(images):
        v.store(f"r{i}", img, {**META, "track_id": i})
    return keys, records, images


def test_private_key_is_never_written_whole(authority):
    keys, _, _ = authority
    assert sorted(p.name for p in keys.iterdir()) == ["authority.pub", "share-dpo.json", "share-judge.json",
                                                      "share-operator.json"]


def test_k_shares_open_k_minus_1_do_not(authority):
    keys, _, _ = authority
    _, holders = shares.combine([keys / "share-judge.json", keys / "share-dpo.json"])
    assert holders == ["judge", "dpo"]
    with pytest.raises(VaultError, match="needs 2"):
        shares.combine([keys / "share-judge.json"])
    with pytest.raises(VaultError, match="given twice"):
        shares.combine([keys / "share-judge.json", keys / "share-judge.json"])


def test_damaged_or_foreign_share_is_detected(authority, tmp_path):
    keys, _, _ = authority
    doc = json.loads((keys / "share-dpo.json").read_text())
    share = bytearray.fromhex(doc["share"])
    share[10] ^= 0x5A       # a middle byte: X25519 clamping ignores some bits of the first and last byte
    doc["share"] = share.hex()
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(VaultError, match="do not reconstruct"):
        shares.combine([keys / "share-judge.json", tmp_path / "bad.json"])
    other = tmp_path / "other"
    shares.generate(other, ["a", "b"], 2)
    with pytest.raises(VaultError, match="different keys"):
        shares.combine([keys / "share-judge.json", other / "share-a.json"])


def test_decrypt_writes_crops_montage_and_log(authority, tmp_path, capsys):
    keys, records, images = authority
    out = tmp_path / "opened"
    args = ["decrypt", str(records), "--share", str(keys / "share-operator.json"), "--share",
            str(keys / "share-judge.json"), "--reason", "warrant 17", "--out", str(out)]
    assert main(args) == 0
    assert (out / "montage.png").exists()
    import cv2
    for i, img in enumerate(images):
        np.testing.assert_array_equal(cv2.imread(str(out / f"r{i}.png"))[..., ::-1], img)
    entries = access_log.verify(records / access_log.LOG_FILE)
    assert [e["record"] for e in entries] == ["r0.fvr", "r1.fvr", "r2.fvr"]
    assert entries[0]["holders"] == ["operator", "judge"] and entries[0]["reason"] == "warrant 17"


def test_one_share_is_refused_and_nothing_written(authority, tmp_path, capsys):
    keys, records, _ = authority
    out = tmp_path / "opened"
    assert main(["decrypt", str(records), "--share", str(keys / "share-judge.json"), "--reason", "x",
                 "--out", str(out)]) == 2
    assert "needs 2" in capsys.readouterr().err
    assert not list(out.glob("*")) and not (records / access_log.LOG_FILE).exists()


def test_edited_log_is_detected(authority, tmp_path):
    keys, records, _ = authority
    main(["verify", str(records), "--share", str(keys / "share-judge.json"), "--share", str(keys / "share-dpo.json")])
    log = records / access_log.LOG_FILE
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], *lines[2:]]) + "\n")   # someone hides an access
    with pytest.raises(VaultError, match="chain broken at line 2"):
        access_log.verify(log)


def test_list_and_verify_reject_a_truncated_record(authority, capsys):
    keys, records, _ = authority
    victim = records / "r1.fvr"
    victim.write_bytes(victim.read_bytes()[:-10])
    assert main(["list", str(records)]) == 1
    assert "r1.fvr: REJECTED: r1.fvr: checksum mismatch" in capsys.readouterr().out
    assert main(["verify", str(records), "--share", str(keys / "share-judge.json"), "--share",
                 str(keys / "share-dpo.json")]) == 1


def test_purge_deletes_only_expired(authority):
    _, records, _ = authority
    assert main(["purge", str(records), "--now", "2026-12-01T00:00:00+00:00"]) == 0
    assert len(list(records.glob("*.fvr"))) == 3
    assert main(["purge", str(records), "--now", "2027-01-01T00:00:00+00:00"]) == 0
    assert list(records.glob("*.fvr")) == []


def test_a_clip_becomes_a_strip_with_its_best_frame_framed():
    from authority.montage import clip_strip

    frames = np.stack([np.full((8, 6, 3), 10 * i, np.uint8) for i in range(5)])
    strip = clip_strip(frames, best=2, border=1)
    assert strip.shape == (8, 30, 3)
    np.testing.assert_array_equal(strip[:, 6:12], frames[1])               # others untouched
    assert (strip[0, 12:18] == (0, 200, 0)).all() and (strip[4, 13:17] == 20).all()   # best: framed, inside kept
    with pytest.raises(ValueError, match="clip"):
        clip_strip(frames, best=5)
