"""The authority tool: k-of-n shares of period keys, logged decryption, verification, purge."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from authority import access_log, shares
from authority.__main__ import main
from host import signing
from host.schedule import load_schedule
from host.vault import Vault, VaultError, parse

META = {"camera_id": "cam-1", "best_time": "2026-11-26T10:00:00.000+00:00", "score": -1.5,
        "expires": "2026-12-26T10:00:00.000+00:00"}


@pytest.fixture
def authority(tmp_path):
    keys = tmp_path / "keys"
    assert main(["keygen", "--out", str(keys), "--holders", "judge", "operator", "dpo", "--threshold", "2"]) == 0
    camera_key, camera_pub = signing.generate(tmp_path / "camera")
    assert main(["register", "--registry", str(keys / "cameras.json"), "--camera-id", "cam-1", str(camera_pub)]) == 0
    records = tmp_path / "records"
    v = Vault(records, load_schedule(keys / "schedule.json"), signing.load_private_key(camera_key), "cam-1")
    images = [np.full((128, 128, 3), 40 * i, np.uint8) for i in range(3)]
    for i, img in enumerate(images):
        v.store(f"r{i}", img, {**META, "track_id": i})
    return keys, records, images


def test_private_key_is_never_written_whole(authority):
    keys, _, _ = authority
    assert sorted(p.name for p in keys.iterdir()) == ["cameras.json", "schedule.json", "share-dpo.json",
                                                      "share-judge.json", "share-operator.json"]


def test_k_shares_open_k_minus_1_do_not(authority):
    keys, records, images = authority
    keyring = shares.Keyring([keys / "share-judge.json", keys / "share-dpo.json"])
    assert keyring.holders == ["judge", "dpo"]
    rec = parse(records / "r1.fvr")
    np.testing.assert_array_equal(rec.open(keyring.key(rec.meta["key_id"])), images[1])
    with pytest.raises(VaultError, match="needs 2"):
        shares.Keyring([keys / "share-judge.json"])
    with pytest.raises(VaultError, match="given twice"):
        shares.Keyring([keys / "share-judge.json", keys / "share-judge.json"])


def test_damaged_or_foreign_share_is_detected(authority, tmp_path):
    keys, records, _ = authority
    kid = parse(records / "r0.fvr").meta["key_id"]
    doc = json.loads((keys / "share-dpo.json").read_text())
    share = bytearray.fromhex(doc["keys"][kid]["share"])
    share[10] ^= 0x5A       # a middle byte: X25519 clamping ignores some bits of the first and last byte
    doc["keys"][kid]["share"] = share.hex()
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(VaultError, match="do not reconstruct"):
        shares.Keyring([keys / "share-judge.json", tmp_path / "bad.json"]).key(kid)
    other = tmp_path / "other"
    shares.generate(other, ["a", "b"], 2, [("p", 0.0, 1.0)])
    with pytest.raises(VaultError, match="different keys"):
        shares.Keyring([keys / "share-judge.json", other / "share-a.json"])


def test_decrypt_writes_crops_montage_and_log(authority, tmp_path, capsys):
    keys, records, images = authority
    out = tmp_path / "opened"
    args = ["decrypt", str(records), "--registry", str(keys / "cameras.json"), "--share",
            str(keys / "share-operator.json"), "--share",
            str(keys / "share-judge.json"), "--reason", "warrant 17", "--out", str(out)]
    assert main(args) == 0
    assert (out / "montage.png").exists()
    import cv2
    for i, img in enumerate(images):
        np.testing.assert_array_equal(cv2.imread(str(out / f"r{i}.png"))[..., ::-1], img)
    entries = access_log.verify(records / access_log.LOG_FILE)
    assert [e["record"] for e in entries] == ["r0.fvr", "r1.fvr", "r2.fvr"]
    assert entries[0]["holders"] == ["operator", "judge"] and entries[0]["reason"] == "warrant 17"


def test_an_access_log_that_cannot_be_written_stops_decrypt_before_any_record_is_opened(authority, tmp_path,
                                                                                         capsys, monkeypatch):
    keys, records, _ = authority
    log = records / access_log.LOG_FILE

    def read_only(path, entry):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(access_log, "append", read_only)
    out = tmp_path / "opened"
    args = ["decrypt", str(records), "--registry", str(keys / "cameras.json"), "--share",
            str(keys / "share-operator.json"), "--share", str(keys / "share-judge.json"), "--reason", "w",
            "--out", str(out)]
    assert main(args) == 2
    assert capsys.readouterr().err == f"error: cannot use {log}: Permission denied\n"
    assert not out.exists() or not list(out.glob("*.png"))


def test_one_share_is_refused_and_nothing_written(authority, tmp_path, capsys):
    keys, records, _ = authority
    out = tmp_path / "opened"
    assert main(["decrypt", str(records), "--registry", str(keys / "cameras.json"), "--share",
                 str(keys / "share-judge.json"), "--reason", "x", "--out", str(out)]) == 2
    assert "needs 2" in capsys.readouterr().err
    assert not list(out.glob("*")) and not (records / access_log.LOG_FILE).exists()


def test_verify_logs_its_openings_with_a_reason(authority, capsys):
    keys, records, _ = authority
    opening = ["verify", str(records), "--registry", str(keys / "cameras.json"), "--share",
               str(keys / "share-judge.json"), "--share", str(keys / "share-dpo.json"), "--record", "r0.fvr"]
    assert main(opening) == 0 and main([*opening, "--reason", "audit 9"]) == 0
    capsys.readouterr()
    assert main(["log", str(records)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(" verify r0.fvr by judge, dpo: verify --share (authentication only)")
    assert lines[1].endswith(" verify r0.fvr by judge, dpo: audit 9")


def test_edited_log_is_detected(authority, tmp_path):
    keys, records, _ = authority
    main(["verify", str(records), "--registry", str(keys / "cameras.json"), "--share", str(keys / "share-judge.json"),
          "--share", str(keys / "share-dpo.json")])
    log = records / access_log.LOG_FILE
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], *lines[2:]]) + "\n")   # someone hides an access
    with pytest.raises(VaultError, match="chain broken at line 2"):
        access_log.verify(log)


def test_list_and_verify_reject_a_truncated_record(authority, capsys):
    keys, records, _ = authority
    victim = records / "r1.fvr"
    chain = parse(victim).meta["chain"]
    victim.write_bytes(victim.read_bytes()[:-10])
    assert main(["list", str(records)]) == 1
    assert "r1.fvr: REJECTED: r1.fvr: checksum mismatch" in capsys.readouterr().out
    assert main(["verify", str(records), "--registry", str(keys / "cameras.json"), "--share",
                 str(keys / "share-judge.json"), "--share", str(keys / "share-dpo.json")]) == 1
    assert capsys.readouterr().out.endswith(f"GAP chain {chain}: seq 1 missing (deleted without a tombstone or a "
                                            "purge by the authority, or lost)\n2 record(s) ok, 1 failed, "
                                            "1 finding(s)\n")
    assert main(["verify", str(records), "--registry", str(keys / "cameras.json"), "--record", "r1.fvr"]) == 1
    assert capsys.readouterr().out.endswith("\n0 record(s) ok, 1 failed, 0 finding(s)\n")


def test_purge_deletes_only_expired(authority):
    keys, records, _ = authority
    purge = ["purge", str(records), "--registry", str(keys / "cameras.json")]
    assert main([*purge, "--now", "2026-12-01T00:00:00+00:00"]) == 0
    assert len(list(records.glob("*.fvr"))) == 3
    assert main([*purge, "--now", "2027-01-01T00:00:00+00:00"]) == 0
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


def _command(command: str, keys: Path, vault: Path, out: Path) -> list[str]:
    """`command` on `vault` with the arguments it requires (decrypt: two shares, a reason, an output folder)."""
    opening = ["--share", str(keys / "share-judge.json"), "--share", str(keys / "share-dpo.json"), "--reason", "t",
               "--out", str(out)]
    registry = ["--registry", str(keys / "cameras.json")] if command in ("verify", "decrypt", "purge") else []
    return [command, str(vault), *registry, *(opening if command == "decrypt" else [])]


@pytest.mark.parametrize("command", ["list", "verify", "decrypt", "purge", "log"])
def test_a_vault_that_is_no_folder_is_an_error(command, authority, tmp_path, capsys):
    keys, records, _ = authority
    for vault, message in ((tmp_path / "typo", "no such folder"), (records / "r0.fvr", "not a folder")):
        assert main(_command(command, keys, vault, tmp_path / "opened")) == 2
        assert capsys.readouterr().err == f"error: {message}: {vault}\n"
    assert not (tmp_path / "opened").exists() and not (tmp_path / "typo").exists()


@pytest.mark.parametrize("command, line", [("list", "no records in {}"),
                                           ("verify", "no records in {}: 0 records checked"),
                                           ("decrypt", "no records in {}: nothing decrypted"),
                                           ("log", "no access log in {}: no record was opened")])
def test_an_empty_vault_says_so(command, line, authority, tmp_path, capsys):
    keys, _, _ = authority
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(_command(command, keys, empty, tmp_path / "opened")) == 0
    assert capsys.readouterr().out.splitlines()[-1] == line.format(empty)


@pytest.mark.parametrize("argv, message", [
    pytest.param("decrypt {records} {reg} {shares} --reason t --out {keys}/schedule.json",
                 "--out must be a folder, not a file: {keys}/schedule.json", id="decrypt --out file"),
    pytest.param("keygen --out {keys}/schedule.json", "--out must be a folder, not a file: {keys}/schedule.json",
                 id="keygen --out file"),
    pytest.param("keygen --out {keys}/schedule.json/new", "--out must be a folder, not a file: {keys}/schedule.json",
                 id="keygen --out below a file"),
    pytest.param("keygen --out {keys}",
                 "--out must be a folder without a key, not {keys}: it holds schedule.json, share-dpo.json, "
                 "share-judge.json, share-operator.json (a new key would replace them)", id="keygen --out key folder"),
    pytest.param("keygen --out {tmp}/new --holders judge ../dpo",
                 "holder names must be 1-64 letters, digits, '_', '.', '-', not '../dpo'", id="keygen --holders path"),
    pytest.param("keygen --out {tmp}/new --threshold 4",
                 "threshold must be between 2 and the number of holders (3), not 4", id="keygen --threshold 4 of 3"),
    pytest.param("verify {records} {reg} --share {keys}", "--share must be a share file, not a folder: {keys}",
                 id="verify --share folder"),
    pytest.param("decrypt {records} {reg} --share {keys} --share {keys}/share-dpo.json --reason t --out {tmp}/opened",
                 "--share must be a share file, not a folder: {keys}", id="decrypt --share folder"),
    pytest.param("verify {records} {reg} --record r9.fvr", "--record must name a record in {records}, not 'r9.fvr'",
                 id="verify --record unknown"),
    pytest.param("decrypt {records} {reg} {shares} --record r0.fvr --record r9.fvr --reason t --out {tmp}/opened",
                 "--record must name a record in {records}, not 'r9.fvr'", id="decrypt --record unknown"),
    pytest.param("purge {records} {reg} --now yesterday",
                 "--now must be an ISO time such as 2026-12-01T00:00:00+00:00, not 'yesterday'",
                 id="purge --now not ISO"),
])
def test_bad_arguments_are_refused_and_nothing_is_touched(argv, message, authority, tmp_path, capsys):
    keys, records, _ = authority
    names = {"keys": keys, "records": records, "tmp": tmp_path,
             "shares": f"--share {keys}/share-judge.json --share {keys}/share-dpo.json",
             "reg": f"--registry {keys}/cameras.json"}
    before = {p: p.read_bytes() for p in (*keys.iterdir(), *records.iterdir())}
    assert main(argv.format(**names).split()) == 2
    assert capsys.readouterr().err == f"error: {message.format(**names)}\n"
    assert {p: p.read_bytes() for p in (*keys.iterdir(), *records.iterdir())} == before
    assert not (tmp_path / "new").exists() and not (tmp_path / "opened").exists()
