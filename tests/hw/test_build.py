import hashlib
import json

import numpy as np
import pytest

from hw.build import DEFAULT_CHECKPOINT, VIVADO_STEPS, main
from quant.score import DEFAULT_CHECKPOINT as FLOAT_CHECKPOINT


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def no_vivado(monkeypatch):
    monkeypatch.delenv("XILINX_VIVADO", raising=False)


def test_estimate_only_build_writes_a_complete_manifest(tiny_checkpoint, data_dir, tmp_path, no_vivado):
    out, folding = tmp_path / "out", tmp_path / "folding.json"
    rc = main(["--checkpoint", str(tiny_checkpoint), "--estimate-only", "--search-fps", "1000", "--folding",
               str(folding), "--faces", str(data_dir / "lfw-dev"), "--vectors", "4", "--out", str(out)])
    assert rc == 0 and folding.exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "vae_w4a4_c4" and manifest["target"]["part"] == "xczu7ev-ffvc1156-2-e"
    assert set(manifest["versions"]) >= {"finn-plus", "brevitas"}
    assert manifest["bits"] == {"input": 8, "latent_input": 8, "weights": 4, "activations": 4, "outputs": 8}
    for acc in ("encoder", "decoder"):
        assert manifest["graphs"][acc]["sha256"] == _sha(out / f"{acc}.onnx")
        assert manifest["graphs"][acc]["host_tail"][-1]["op"] == "Mul"
        assert manifest["verification"]["mismatching_integers"]["finn_python"][acc] == 0
        assert manifest["verification"]["mismatching_integers"]["simulator"][acc] == 0
        assert manifest["graphs"][acc]["simulator_artefact"]["sha256"] == _sha(out / f"{acc}.npz")
    assert manifest["graphs"]["decoder"]["output"]["shape"] == [1, 64, 64, 2]
    chip = manifest["estimates"]["chip"]
    assert chip["faces_per_s"] >= 1000 and chip["within_limits"]
    assert set(chip["fraction_of_device"]) == {"LUT", "BRAM_18K", "URAM", "DSP"}
    assert chip["not_estimated_by_finn"] == ["FF"]
    assert manifest["verification"]["vectors"]["sha256"] == _sha(out / "vectors.npz")
    assert manifest["vivado"]["bitstream"] is False
    assert not list(out.glob("*.bit"))


def test_without_vivado_a_full_build_stops_and_writes_nothing(tiny_checkpoint, data_dir, tmp_path, no_vivado,
                                                            capsys):
    folding, out = tmp_path / "folding.json", tmp_path / "out"
    rc = main(["--checkpoint", str(tiny_checkpoint), "--search-fps", "1000", "--folding", str(folding),
               "--faces", str(data_dir / "lfw-dev"), "--vectors", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and not out.exists()
    assert "XILINX_VIVADO is not set" in err and all(step in err for step in VIVADO_STEPS)
    assert "Steps that ran" in err


def test_a_missing_folding_is_a_clear_error(tiny_checkpoint, tmp_path, capsys):
    rc = main(["--checkpoint", str(tiny_checkpoint), "--estimate-only", "--folding", str(tmp_path / "none.json"),
               "--out", str(tmp_path / "out")])
    assert rc == 2 and "--search-fps" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_shipped_model_meets_its_targets_and_finn_executes_it_exactly(data_dir, tmp_path, no_vivado):
    """The shipped checkpoint through the whole flow with the committed folding: >= 1,000 faces/s within FINN's
    limits, and FINN's Python execution of the final graphs == Brevitas integer codes on 32 real face crops."""
    out = tmp_path / "out"
    assert main(["--checkpoint", str(DEFAULT_CHECKPOINT), "--estimate-only", "--faces", str(data_dir / "lfw-dev"),
                 "--vectors", "32", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    chip = manifest["estimates"]["chip"]
    assert chip["faces_per_s"] >= 1000 and chip["within_limits"]
    assert manifest["verification"]["face_crops"] == 32
    assert manifest["verification"]["mismatching_integers"] == {
        "finn_python": {"encoder": 0, "decoder": 0}, "simulator": {"encoder": 0, "decoder": 0}}


QAT = "--checkpoint must be a QAT checkpoint (python -m quant.qat), not {t}"
OUT = "argument --out: must be a new folder, an empty one or an earlier build (with manifest.json), not {t}"


@pytest.mark.parametrize(("args", "message"), [
    (["--vectors", "0"], "argument --vectors: must be a positive integer, not 0"),
    (["--passes", "-1"], "argument --passes: must be a positive integer, not -1"),
    (["--search-fps", "-5"], "argument --search-fps: must be a non-negative number, not -5"),
    (["--search-fps", "fast"], "argument --search-fps: must be a non-negative number, not fast"),
    (["--faces", "{t}/none"], "argument --faces: must be an LFW folder (pairs.txt and images/), not {t}/none "
                              "(no such folder)"),
    (["--out", "{t}/random.pt"], OUT + "/random.pt ({t}/random.pt is a file)"),
    (["--out", "{t}"], OUT + " (a folder of other files, which the build would delete)"),
    (["--target", "zcu999"], "argument --target: invalid choice: 'zcu999'"),
    (["--checkpoint", "{t}/random.pt"], QAT + "/random.pt (UnpicklingError: Weights only load failed)"),
    (["--checkpoint", "{t}/empty.pt"], QAT + "/empty.pt (empty or truncated)"),
    (["--checkpoint", "{t}/none.pt"], QAT + "/none.pt (No such file or directory)"),
    (["--checkpoint", str(FLOAT_CHECKPOINT)], f"--checkpoint must be a QAT checkpoint (python -m quant.qat), not "
                                              f"{FLOAT_CHECKPOINT} (KeyError: 'spec')"),
], ids=["zero-vectors", "negative-passes", "negative-fps", "text-fps", "missing-faces", "out-is-a-file",
        "out-is-another-folder", "unknown-target", "random-checkpoint", "empty-checkpoint", "missing-checkpoint",
        "float-checkpoint"])
def test_bad_input_is_one_clear_error_line(args, message, tmp_path, capsys):
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "empty.pt").touch()
    assert main(["--estimate-only", "--out", str(tmp_path / "out"), *(a.format(t=tmp_path) for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message.format(t=tmp_path)}") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()


def test_a_folding_that_is_not_one_is_a_clear_error(tiny_checkpoint, tmp_path, capsys):
    folding = tmp_path / "folding.json"
    folding.write_text('{"encoder": {}}')
    rc = main(["--checkpoint", str(tiny_checkpoint), "--estimate-only", "--folding", str(folding),
               "--out", str(tmp_path / "out")])
    assert rc == 2 and capsys.readouterr().err == (f"error: --folding must be a folding JSON (written by "
                                                   f"--search-fps), not {folding} (ValueError: no encoder and decoder "
                                                   "foldings)\n")
