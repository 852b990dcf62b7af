"""Records as evidence: forged records refused, deletions, reordering and replays reported, lawful purges and
chain restarts accounted for, purges only the card's access log claims and a cut access log reported, retired
periods unopenable, exported evidence checkable, format 1 unsigned."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyshamir
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from authority import access_log
from authority.__main__ import main
from host import signing
from host.chain import STATE_FILE
from host.schedule import load_schedule
from host.vault import Vault, key_id, parse
from tests.host.fakes import format1_record

META = {"camera_id": "cam-1", "best_time": "2026-11-26T10:00:00.000+00:00", "score": -1.5,
        "expires": "2099-01-01T00:00:00.000+00:00"}
EXPIRED = {**META, "expires": "2026-01-01T00:00:00+00:00"}
PURGE_TIME = ("--now", "2026-06-01T00:00:00+00:00")
HOLDERS = ("judge", "operator", "dpo")


@dataclass
class Site:
    keys: Path
    records: Path
    camera: Ed25519PrivateKey

    def vault(self, camera_id: str = "cam-1", key: Ed25519PrivateKey | None = None, folder: Path | None = None):
        return Vault(folder or self.records, load_schedule(self.keys / "schedule.json"), key or self.camera,
                     camera_id)

    def args(self, command: str, *extra: str, shares: tuple[str, ...] = (), folder: Path | None = None) -> list[str]:
        share_args = [a for h in shares for a in ("--share", str(self.keys / f"share-{h}.json"))]
        return [command, str(folder or self.records), "--registry", str(self.keys / "cameras.json"), *share_args,
                *extra]

    def heads(self) -> tuple[str, str]:
        return "--heads", str(self.keys / "heads.json")


def _register(keys: Path, folder: Path, camera_id: str) -> Ed25519PrivateKey:
    key_path, public = signing.generate(folder)
    assert main(["register", "--registry", str(keys / "cameras.json"), "--camera-id", camera_id, str(public)]) == 0
    return signing.load_private_key(key_path)


@pytest.fixture
def site(tmp_path) -> Site:
    """A key schedule (2-of-3), cameras cam-1 and cam-2 registered, three records of cam-1."""
    keys = tmp_path / "keys"
    assert main(["keygen", "--out", str(keys), "--periods", "2", "--period-days", "7"]) == 0
    camera = _register(keys, tmp_path / "cam-1", "cam-1")
    _register(keys, tmp_path / "cam-2", "cam-2")
    site = Site(keys, tmp_path / "records", camera)
    vault = site.vault()
    for i in range(3):
        vault.store(f"r{i}", np.full((8, 8, 3), 40 * i, np.uint8), {**META, "track_id": i})
    return site


def verify(site: Site, capsys, *extra: str, folder: Path | None = None) -> tuple[int, str]:
    code = main(site.args("verify", *extra, folder=folder))
    return code, capsys.readouterr().out


def test_genuine_records_verify_with_their_camera(site, capsys):
    code, out = verify(site, capsys)
    assert code == 0, out
    assert "r0.fvr: ok (signed by cam-1 (key" in out and "0 finding(s)" in out and "3 record(s) ok, 0 failed" in out


@pytest.mark.parametrize("forgery, reason", [
    ("unknown-key", "which is not registered (unknown camera)"),
    ("other-camera", "signed by camera 'cam-2' but its header names camera 'cam-1'"),
    ("altered", "bad signature (altered after signing, or forged)"),
])
def test_a_forged_record_is_refused_by_verify_and_decrypt(forgery, reason, site, tmp_path, capsys):
    forged = tmp_path / "forged"
    if forgery == "unknown-key":      # anyone: the schedule is public, a signing key is easy to make
        site.vault(key=Ed25519PrivateKey.generate(), folder=forged).store("f", np.zeros((8, 8, 3), np.uint8),
                                                                           {**META, "track_id": 9})
    elif forgery == "other-camera":   # a registered camera claims to be another
        cam2 = signing.load_private_key(tmp_path / "cam-2" / signing.KEY_FILE)
        site.vault("cam-1", key=cam2, folder=forged).store("f", np.zeros((8, 8, 3), np.uint8), {**META, "track_id": 9})
    else:                             # a genuine record, header edited, checksum recomputed
        forged.mkdir()
        data = (site.records / "r1.fvr").read_bytes()[:-32].replace(b'"track_id":1', b'"track_id":5')
        (forged / "r1.fvr").write_bytes(data + hashlib.sha256(data).digest())
    code, out = verify(site, capsys, folder=forged)
    assert code == 1 and reason in out
    opened = tmp_path / "opened"
    assert main(site.args("decrypt", "--reason", "t", "--out", str(opened), shares=("judge", "dpo"),
                          folder=forged)) == 1
    assert reason in capsys.readouterr().out and not list(opened.glob("*.png"))


def test_a_deleted_record_shows_as_a_gap(site, capsys):
    chain = parse(site.records / "r1.fvr").meta["chain"]
    (site.records / "r1.fvr").unlink()
    code, out = verify(site, capsys)
    assert code == 1 and f"GAP chain {chain}: seq 1 missing" in out


def test_lawful_purges_leave_no_gap(site, capsys):
    vault = site.vault()
    vault.store("old", np.zeros((8, 8, 3), np.uint8), {**EXPIRED, "track_id": 3})
    vault.store("r4", np.zeros((8, 8, 3), np.uint8), {**META, "track_id": 4})
    assert [p.name for p in vault.purge_expired(1.8e9)] == ["old.fvr"]          # the camera: a signed tombstone
    code, out = verify(site, capsys)
    assert code == 0 and "4 record(s), 1 tombstone(s), 1 deletion(s) accounted for" in out and "GAP" not in out
    site.vault().store("late", np.zeros((8, 8, 3), np.uint8), {**EXPIRED, "track_id": 5})
    assert main(site.args("purge", *site.heads(), *PURGE_TIME)) == 0                # the authority: heads file
    assert "purged late.fvr (expired 2026-01-01T00:00:00+00:00)" in capsys.readouterr().out
    listed = json.loads((site.keys / "heads.json").read_text())["purged"]
    assert [(p["name"], p["seq"], p["expires"]) for p in listed] == [("late.fvr", 6, EXPIRED["expires"])]
    code, out = verify(site, capsys, *site.heads())
    assert code == 0 and "GAP" not in out and "2 deletion(s) accounted for" in out and "0 finding(s)" in out


def _forge_purge_line(records: Path, name: str) -> None:
    """What anyone holding the card can do: delete a record and log its purge, chain link and all."""
    rec = parse(records / name)
    (records / name).unlink()
    access_log.append(records / access_log.LOG_FILE, {
        "action": "purge", "record": name, "record_sha256": rec.sha256, "holders": [],
        "reason": "retention period expired", "chain": rec.meta["chain"], "seq": rec.meta["seq"]})


@pytest.mark.parametrize("with_heads, why", [(False, "no heads file (--heads) to confirm it"),
                                             (True, "the heads file does not list it")])
def test_a_purge_only_the_card_logs_is_unconfirmed(with_heads, why, site, capsys):
    heads = site.heads() if with_heads else ()
    assert verify(site, capsys, *heads)[0] == 0
    chain = parse(site.records / "r1.fvr").meta["chain"]
    _forge_purge_line(site.records, "r1.fvr")     # the record expires in 2099: nothing was due
    code, out = verify(site, capsys, *heads)
    assert code == 1 and f"UNCONFIRMED PURGE r1.fvr (chain {chain} seq 1): logged as purged" in out
    assert f"in the card's access log only, {why} (anyone holding the card can append" in out
    assert f"GAP chain {chain}: seq 1 missing" in out and "0 finding(s)" not in out


def test_a_purge_without_the_heads_file_is_unconfirmed(site, capsys):
    assert verify(site, capsys, *site.heads())[0] == 0
    site.vault().store("late", np.zeros((8, 8, 3), np.uint8), {**EXPIRED, "track_id": 3})
    assert main(site.args("purge", *PURGE_TIME)) == 0
    assert "without --heads, verify reports each as UNCONFIRMED PURGE" in capsys.readouterr().out
    code, out = verify(site, capsys, *site.heads())
    assert code == 1 and "UNCONFIRMED PURGE late.fvr" in out and "the heads file does not list it" in out


def test_purge_deletes_only_records_whose_signature_verifies(site, tmp_path, capsys):
    vault = site.vault()
    vault.store("late", np.zeros((8, 8, 3), np.uint8), {**EXPIRED, "track_id": 3})
    victim = site.records / "r1.fvr"               # made to look expired: its signature no longer verifies
    data = victim.read_bytes()[:-32].replace(META["expires"].encode(), b"2026-01-01T00:00:00.000+00:00")
    victim.write_bytes(data + hashlib.sha256(data).digest())
    format1_record(site.records / "v1.fvr", np.zeros((8, 8, 3), np.uint8), {**EXPIRED, "track_id": 4},
                   X25519PrivateKey.generate())
    assert main(site.args("purge", *site.heads(), *PURGE_TIME)) == 1
    out = capsys.readouterr().out
    assert "r1.fvr: not purged: only a record whose camera signature verifies is purged, not this one (r1.fvr: " \
           "bad signature" in out and "v1.fvr: not purged: " in out and "(unsigned (format 1 record" in out
    assert victim.exists() and (site.records / "v1.fvr").exists() and not (site.records / "late.fvr").exists()


@pytest.mark.parametrize("cut, finding", [
    ("end", "LOG TRUNCATED: the access log has 2 entries, 3 when collected"),
    ("whole", "LOG TRUNCATED: the access log has 0 entries, 3 when collected"),
    ("replaced", "LOG REPLACED: the access log's entry 3 is not the one collected"),
])
def test_a_cut_or_replaced_access_log_shows_against_the_heads_file(cut, finding, site, capsys):
    log = site.records / access_log.LOG_FILE
    assert verify(site, capsys, *site.heads(), "--share", str(site.keys / "share-judge.json"), "--share",
                  str(site.keys / "share-dpo.json"))[0] == 0                        # 3 openings logged, collected
    lines = log.read_bytes().splitlines(keepends=True)
    if cut == "end":
        log.write_bytes(b"".join(lines[:-1]))
    elif cut == "whole":
        log.unlink()
    else:                                          # a fresh chain of as many lines, the openings hidden
        log.unlink()
        for name in ("r0.fvr", "r1.fvr", "r2.fvr", "r0.fvr"):
            access_log.append(log, {"action": "list", "record": name, "holders": []})
    for _ in range(2):                             # the finding stays until the log is restored
        code, out = verify(site, capsys, *site.heads())
        assert code == 1 and finding in out


@pytest.mark.parametrize("attack", ["swap", "replay"])
def test_reordered_or_replayed_records_are_reported(attack, site, capsys):
    r0, r1 = site.records / "r0.fvr", site.records / "r1.fvr"
    if attack == "swap":
        data0 = r0.read_bytes()
        r0.write_bytes(r1.read_bytes())
        r1.write_bytes(data0)
    else:
        shutil.copy(r0, site.records / "r9.fvr")
    code, out = verify(site, capsys)
    assert code == 1
    if attack == "swap":
        assert "RENAMED r0.fvr: signed as r1.fvr" in out and "RENAMED r1.fvr: signed as r0.fvr" in out
    else:
        assert "RENAMED r9.fvr: signed as r0.fvr" in out and "seq 0 in 2 files (r0.fvr, r9.fvr)" in out


def test_a_lost_state_file_shows_as_a_chain_restart(site, capsys):
    (site.records / STATE_FILE).unlink()
    site.vault().store("r3", np.zeros((8, 8, 3), np.uint8), {**META, "track_id": 3})
    code, out = verify(site, capsys)
    assert code == 0 and "2 chain(s) (1 restart(s))" in out


def test_a_retired_period_cannot_be_opened_by_anyone(site, tmp_path, capsys):
    schedule = load_schedule(site.keys / "schedule.json")
    period = schedule.periods[0].id
    retire = ["retire", period, "--schedule", str(site.keys / "schedule.json")]
    assert main([*retire, "--share", str(site.keys / "share-judge.json")]) == 2          # not ended yet
    assert "only an ended period can retire" in capsys.readouterr().err
    copy = tmp_path / "sd-card-copy"
    shutil.copytree(site.records, copy)
    after = ["--now", "2099-01-01T00:00:00+00:00"]
    assert main([*retire, *after, "--share", str(site.keys / "share-judge.json"), "--share",
                 str(site.keys / "share-operator.json")]) == 0
    assert "still to destroy theirs, unless done already: dpo" in capsys.readouterr().out
    out = tmp_path / "opened"
    assert main(site.args("decrypt", "--reason", "t", "--out", str(out), shares=("judge", "dpo"), folder=copy)) == 1
    assert f"of period {period} was retired on" in capsys.readouterr().out
    assert main([*retire, *after, "--share", str(site.keys / "share-dpo.json")]) == 0
    assert "shares of dpo destroyed" in capsys.readouterr().out
    assert main(site.args("decrypt", "--reason", "t", "--out", str(out), shares=HOLDERS, folder=copy)) == 1
    assert capsys.readouterr().out.count("its records can no longer be opened by anyone") == 3
    assert not list(out.glob("*.png"))
    doc = json.loads((site.keys / "share-dpo.json").read_text())
    assert all(entry["period"] != period for entry in doc["keys"].values())


def test_exported_evidence_is_signed_and_checkable(site, tmp_path, capsys):
    out = tmp_path / "opened"
    assert main(site.args("decrypt", "--reason", "warrant 17", "--out", str(out), shares=("judge", "dpo"))) == 0
    sidecars = sorted(out.glob("*.evidence.json"))
    assert len(sidecars) == 3
    doc = json.loads(sidecars[1].read_text())
    assert doc["record"] == "r1.fvr" and doc["chain"]["seq"] == 1 and doc["camera_signature"].startswith(
        "signed by cam-1") and doc["access"]["reason"] == "warrant 17" and doc["access"]["holders"] == ["judge", "dpo"]
    check = ["evidence", *map(str, sidecars), "--schedule", str(site.keys / "schedule.json")]
    capsys.readouterr()
    assert main(check) == 0 and "opened" in capsys.readouterr().out
    (out / "r0.png").write_bytes((out / "r2.png").read_bytes())                       # an image swapped
    doc["access"]["reason"] = "no warrant"                                            # a sidecar edited
    sidecars[1].write_text(json.dumps(doc))
    assert main(check) == 1
    text = capsys.readouterr().out
    assert "r0.evidence.json: REJECTED" in text and "the image was altered" in text
    assert "r1.evidence.json: REJECTED" in text and "bad signature" in text
    other = tmp_path / "other"
    assert main(["keygen", "--out", str(other)]) == 0
    capsys.readouterr()
    assert main(["evidence", str(sidecars[2]), "--schedule", str(other / "schedule.json")]) == 1
    assert "not by key" in capsys.readouterr().out


def test_a_format_1_record_is_reported_unsigned_and_still_opens(site, tmp_path, capsys):
    old = tmp_path / "old-vault"
    old.mkdir()
    key = X25519PrivateKey.generate()
    format1_record(old / "old.fvr", np.full((8, 8, 3), 7, np.uint8), {**META, "track_id": 1}, key)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    paths = []
    for holder, share in zip(("a", "b"), pyshamir.split(raw, 2, 2), strict=True):
        paths.append(tmp_path / f"share-{holder}.json")
        paths[-1].write_text(json.dumps({"format": "facevault-share/1", "key_id": key_id(key.public_key()),
                                         "holder": holder, "threshold": 2, "holders": 2, "share": bytes(share).hex()}))
    code, out = verify(site, capsys, folder=old)
    assert code == 0 and "old.fvr: ok (unsigned (format 1 record" in out
    opened = tmp_path / "opened"
    assert main(["decrypt", str(old), "--registry", str(site.keys / "cameras.json"), "--share", str(paths[0]),
                 "--share", str(paths[1]), "--reason", "t", "--out", str(opened)]) == 0
    assert json.loads((opened / "old.evidence.json").read_text())["camera_signature"].startswith("unsigned")


def test_a_deleted_tail_shows_against_the_collected_heads(site, tmp_path, capsys):
    heads = ["--heads", str(tmp_path / "heads.json")]
    assert verify(site, capsys, *heads)[0] == 0                                      # the authority collects
    site.vault().store("r3", np.zeros((8, 8, 3), np.uint8), {**META, "track_id": 3})
    assert verify(site, capsys, *heads)[0] == 0                                      # new records: fine
    (site.records / "r3.fvr").unlink()
    (site.records / "r2.fvr").unlink()                                               # the newest ones deleted
    code, out = verify(site, capsys)
    assert code == 0, "without the heads a deleted tail leaves no trace in the chain"
    code, out = verify(site, capsys, *heads)
    assert code == 1 and "TAIL chain" in out and "head seq 3" in out
    doc = json.loads((tmp_path / "heads.json").read_text())          # a heads file of format 1: chains only
    (tmp_path / "heads.json").write_text(json.dumps({"format": "facevault-heads/1", "chains": doc["chains"]}))
    code, out = verify(site, capsys, *heads)
    assert code == 1 and "head seq 3" in out and "LOG" not in out


def test_a_record_encrypted_to_a_foreign_key_is_reported(site, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(["keygen", "--out", str(other)]) == 0
    replaced = Vault(site.records, load_schedule(other / "schedule.json"), site.camera, "cam-1")   # swapped schedule
    replaced.store("r3", np.zeros((8, 8, 3), np.uint8), {**META, "track_id": 3})
    capsys.readouterr()
    assert verify(site, capsys)[0] == 0
    code, out = verify(site, capsys, "--schedule", str(site.keys / "schedule.json"))
    assert code == 1 and "KEY r3.fvr: encrypted to key" in out and "which is not in key schedule" in out
    code, out = verify(site, capsys, "--schedule", str(site.keys / "schedule.json"), "--schedule",
                       str(other / "schedule.json"))                  # a card spanning two schedules
    assert code == 0 and "KEY" not in out
