"""The boards (hw.device) against FINN's own tables, and the committed KV260 build: a tiny model built for it, and
the shipped model's estimate-only folder (files, folding, limits, the simulator's integers)."""

import hashlib
import json

import numpy as np
import pytest

from hw.build import DEFAULT_CHECKPOINT, folding_path, main
from hw.device import KV260, RESOURCES, TARGETS, ZCU104
from sim.accelerator import SimAccelerator
from tests.conftest import ROOT

KV260_BUILD = ROOT / "bitstreams" / "kv260-vae_w4a4_c24"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_board_is_a_finn_pynq_board_with_its_part_and_finns_limits(target):
    from finn.util.basic import pynq_native_port_width, pynq_part_map
    from finn.util.platforms import DEFAULT_RES_LIMITS, platforms

    board = TARGETS[target]
    assert pynq_part_map[board.board] == board.part  # FINN's Zynq shell and driver know the board by this name
    assert board.board in pynq_native_port_width
    assert list(DEFAULT_RES_LIMITS) == [board.limit_fraction[r] for r in RESOURCES]
    if board.board in platforms:  # FINN lists the ZCU104's resources; a later finn-plus may add the KV260's
        assert platforms[board.board]().compute_resources[0] == [board.available[r] for r in RESOURCES]


def test_the_kv260_is_the_smaller_board():
    assert all(KV260.available[r] < ZCU104.available[r] for r in RESOURCES)
    assert KV260.limit("BRAM_18K") == pytest.approx(0.8 * 288) and KV260.limit("LUT") == pytest.approx(0.7 * 117120)


def test_a_kv260_build_uses_its_part_and_limits_and_has_no_shuffle(tiny_checkpoint, data_dir, tmp_path):
    out = tmp_path / "out"
    assert main(["--target", "kv260", "--checkpoint", str(tiny_checkpoint), "--estimate-only", "--search-fps", "1000",
                 "--folding", str(tmp_path / "folding.json"), "--faces", str(data_dir / "lfw-dev"), "--vectors", "4",
                 "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["target"] == {"name": "kv260", "board": "KV260_SOM", "part": "xck26-sfvc784-2LV-c",
                                  "clock_mhz": 200.0}
    chip = manifest["estimates"]["chip"]
    assert chip["recommended_limit"] == {r: KV260.limit(r) for r in RESOURCES}
    assert chip["within_limits"] and chip["faces_per_s"] >= 1000
    assert json.loads((tmp_path / "folding.json").read_text())["target"] == "kv260"
    assert not any("Shuffle" in op for op in manifest["graphs"]["decoder"]["layers"])
    assert manifest["verification"]["mismatching_integers"] == {
        "finn_python": {"encoder": 0, "decoder": 0}, "simulator": {"encoder": 0, "decoder": 0}}


def test_the_committed_kv260_build_is_the_shipped_model_within_the_kv260_limits():
    manifest = json.loads((KV260_BUILD / "manifest.json").read_text())
    assert manifest["target"]["part"] == KV260.part
    assert manifest["checkpoint"]["sha256"] == _sha(DEFAULT_CHECKPOINT)
    fold = folding_path(KV260, manifest["model"])
    assert manifest["folding"]["file"] == str(fold.relative_to(ROOT)) and manifest["folding"]["sha256"] == _sha(fold)
    for acc in ("encoder", "decoder"):
        graph = manifest["graphs"][acc]
        assert graph["sha256"] == _sha(KV260_BUILD / graph["file"])
        assert graph["simulator_artefact"]["sha256"] == _sha(KV260_BUILD / graph["simulator_artefact"]["file"])
        estimates = json.loads((KV260_BUILD / f"{acc}_estimates.json").read_text())
        assert manifest["estimates"][acc]["max_cycles"] == estimates["performance"]["max_cycles"]
    chip = manifest["estimates"]["chip"]
    used = {r: sum(manifest["estimates"][a]["resources"][r] for a in ("encoder", "decoder")) for r in chip["used"]}
    assert used == chip["used"] and all(used[r] <= KV260.limit(r) for r in used)
    assert chip["faces_per_s"] >= 1000  # the goal for the KV260


@pytest.mark.parametrize("acc", ["encoder", "decoder"])
def test_the_kv260_artefacts_compute_the_brevitas_integers(shipped_vectors, acc):
    """A different folding, the same arithmetic: the KV260 build's simulator artefacts on 64 real faces."""
    expected = shipped_vectors[f"{acc}_out"][:64]
    sim = SimAccelerator.load(KV260_BUILD / f"{acc}.npz").run(shipped_vectors[f"{acc}_in"][:64])
    assert np.count_nonzero(sim.reshape(expected.shape) != expected) == 0
    assert len(np.unique(expected)) > 20
