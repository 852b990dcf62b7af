"""Score distillation: its torch statistics are the host's, and training on them runs, resumes and reports."""

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from eval.quant_gate import main as gate_main
from eval.quant_gate import scores_of
from host.likelihood import latent_noise
from host.quality import _stats, crop_features
from host.scoring import reconstruct
from hw.build import DEFAULT_CHECKPOINT, face_crops
from quant.float_backend import FloatBackend
from quant.qat import load_quant_checkpoint, quantize_train
from quant.quant_backend import QuantBackend
from quant.qvae import QuantSpec
from quant.score import make_backend
from quant.score_distill import (
    finest_noise,
    pearson,
    png_bits_of,
    score_agreement,
    soft_median,
    student_statistics,
    teacher_statistics,
)
from quant.train import TrainConfig, train
from quant.vae import VAEConfig, load_checkpoint
from tests.conftest import BUILD, FLOAT_C24, make_blob_crops

ONE_DEGRADATION_TABLE = {"tables": {"fisher": {"blur": {"clean_higher": 1.0}}}}  # a quality_table.json stand-in

CFG = VAEConfig(channels=4, latent=8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny float VAE and a quantized copy, trained one epoch each on synthetic blobs."""
    root = tmp_path_factory.mktemp("score_distill")
    crops = make_blob_crops(root / "crops.npz")
    report = train([crops], root / "float", CFG, TrainConfig(epochs=1, batch=8), resume=False)
    float_ckpt = root / "float" / report["checkpoint"]
    q = quantize_train(float_ckpt, root / "q", QuantSpec(4, 4, 8), TrainConfig(epochs=1, batch=8), resume=False)
    return crops, float_ckpt, root / "q" / q["checkpoint"]


def _host_statistics(backend, crops: np.ndarray) -> np.ndarray:
    return _stats(crop_features(reconstruct(backend, crops)))


def test_torch_statistics_equal_the_hosts_for_both_models(trained):
    crops_path, float_ckpt, quant_ckpt = trained
    crops = np.load(crops_path)["crops"][:6]
    x = torch.from_numpy(crops).float().div(255).unsqueeze(1)
    eps, bits = torch.from_numpy(latent_noise(CFG.latent)), png_bits_of(x)
    with torch.no_grad():
        mine = {"float": teacher_statistics(load_checkpoint(float_ckpt), x, eps, bits, soft=False),
                "quant": student_statistics(load_quant_checkpoint(quant_ckpt), x, eps, bits, soft=False)}
    host = {"float": _host_statistics(FloatBackend(float_ckpt), crops),
            "quant": _host_statistics(QuantBackend(quant_ckpt), crops)}
    for name in mine:
        np.testing.assert_allclose(mine[name].numpy(), host[name], rtol=1e-4, atol=1e-4)


def test_soft_median_is_the_middle_band_mean_and_passes_gradients_to_it():
    values = torch.arange(100.0).flip(0)[None].requires_grad_()
    m = soft_median(values)
    assert m.item() == pytest.approx(49.5)
    m.backward()
    assert (values.grad > 0).sum() == 20
    hard = finest_noise(torch.rand(3, 8, 8), soft=False)
    assert hard.shape == (3,) and (hard > 0).all()


def test_pearson_is_one_for_affine_maps_and_minus_one_for_reversal():
    a = torch.tensor([1.0, 3.0, 2.0, 7.0])
    assert pearson(a, 5 * a - 2).item() == pytest.approx(1.0)
    assert pearson(a, -a).item() == pytest.approx(-1.0)


def test_score_distillation_trains_reports_and_resumes(trained, tmp_path):
    _, float_ckpt, quant_ckpt = trained
    tc = TrainConfig(epochs=2, batch=8, lr=1e-3, freeze_bn=True, cosine=True)
    report = quantize_train(float_ckpt, tmp_path / "s", QuantSpec(4, 4, 8), tc, resume=False, distill=True,
                            init=quant_ckpt, score_weight=100.0)
    assert report["loss"] == "score distillation" and report["score_weight"] == 100.0
    assert {"rp_decorrelation", "noise_decorrelation"} <= set(report["history"][0]["train"])
    assert report["validation_score_spearman"] is None  # 2 validation crops cannot fit a score reference
    assert report["train"]["cosine"] and report["train"]["freeze_bn"]
    resumed = quantize_train(float_ckpt, tmp_path / "s", QuantSpec(4, 4, 8), tc, resume=True, distill=True,
                             init=quant_ckpt, score_weight=100.0)
    assert [h["train"] for h in resumed["history"]] == [h["train"] for h in report["history"]]


def test_frozen_weights_keep_every_weight_code_and_train_the_rest(trained, tmp_path):
    _, float_ckpt, quant_ckpt = trained
    tc = TrainConfig(epochs=1, batch=8, lr=1e-2, freeze_bn=True)
    report = quantize_train(float_ckpt, tmp_path / "f", QuantSpec(4, 4, 8), tc, resume=False, distill=True,
                            init=quant_ckpt, score_weight=100.0, freeze_weights=True)
    assert report["frozen_weights"]
    before = load_quant_checkpoint(quant_ckpt).state_dict()
    after = load_quant_checkpoint(tmp_path / "f" / report["checkpoint"]).state_dict()
    weights = [k for k, v in before.items() if v.ndim >= 2]
    others = [k for k, v in before.items() if v.ndim < 2 and v.is_floating_point() and "running" not in k]
    assert weights and all(torch.equal(before[k], after[k]) for k in weights)
    assert any(not torch.equal(before[k], after[k]) for k in others)  # biases and scales did move


def test_score_agreement_is_the_quality_gates_spearman(trained):
    crops_path, float_ckpt, quant_ckpt = trained
    crops = np.load(crops_path)["crops"]
    mine = score_agreement(load_checkpoint(float_ckpt), load_quant_checkpoint(quant_ckpt), crops[:20], crops[20:])
    f, q = (scores_of(kind, make_backend(kind, ckpt), crops[:20], crops[20:])
            for kind, ckpt in (("float", float_ckpt), ("quant", quant_ckpt)))
    gate = {k: spearmanr(f[k], q[k]).statistic for k in f}
    assert mine == pytest.approx(gate, abs=0.02)


def test_gate_cli_writes_its_verdict_under_the_given_name(trained):
    crops_path, float_ckpt, quant_ckpt = trained
    (quant_ckpt.parent / "quality_table.json").write_text(json.dumps(ONE_DEGRADATION_TABLE))
    code = gate_main(["--quant", str(quant_ckpt), "--float", str(float_ckpt), "--crops", str(crops_path),
                      "--count", "20", "--reference-crops", str(crops_path), "--name", "fresh"])
    result = json.loads((quant_ckpt.parent / "quant_gate_fresh.json").read_text())
    assert set(result["spearman"]) == {"fisher", "log_rp"} and result["crops"] == 20
    assert code == (0 if result["passed"] else 1)
    assert (quant_ckpt.parent / "quant_gate_fresh.png").exists()
    assert not (quant_ckpt.parent / "quant_gate.json").exists()


def test_gate_scores_the_simulator_of_the_build_made_from_the_checkpoint(tmp_path, data_dir):
    crops = tmp_path / "crops.npz"
    np.savez(crops, crops=face_crops(data_dir / "lfw-dev", 24, evaluation_persons=True))
    shipped = tmp_path / "shipped" / DEFAULT_CHECKPOINT.name
    shipped.parent.mkdir()
    shipped.write_bytes(DEFAULT_CHECKPOINT.read_bytes())
    (shipped.parent / "quality_table.json").write_text(json.dumps(ONE_DEGRADATION_TABLE))
    args = ["--float", str(FLOAT_C24), "--crops", str(crops), "--count", "12", "--reference-crops", str(crops)]
    code = gate_main(["--quant", str(shipped), *args, "--build", str(BUILD), "--name", "sim"])
    result = json.loads((shipped.parent / "quant_gate_sim.json").read_text())
    assert result["quantized_by"] == f"simulator of {BUILD}" and result["crops"] == 12
    assert code == (0 if result["passed"] else 1)
    assert min(result["spearman"].values()) > 0.5  # the simulator scores like its float parent, not at random


def test_gate_refuses_a_build_made_from_another_checkpoint(trained, capsys):
    crops_path, float_ckpt, quant_ckpt = trained
    code = gate_main(["--quant", str(quant_ckpt), "--float", str(float_ckpt), "--crops", str(crops_path),
                      "--reference-crops", str(crops_path), "--build", str(BUILD)])
    assert code == 2 and "built from another checkpoint" in capsys.readouterr().err


def test_cosine_learning_rate_falls_to_zero_and_plain_stays():
    tc = TrainConfig(epochs=4, lr=0.2, cosine=True)
    assert [round(tc.lr_at(e), 6) for e in range(4)] == [0.2, 0.170711, 0.1, 0.029289]
    assert TrainConfig(epochs=4, lr=0.2).lr_at(3) == 0.2


def test_score_weight_without_distillation_is_refused(tmp_path, capsys):
    from quant.qat import main

    (tmp_path / "f.pt").touch()
    assert main(["--float", str(tmp_path / "f.pt"), "--out", str(tmp_path / "o"), "--score-weight", "10"]) == 2
    assert capsys.readouterr().err == "error: --score-weight needs --distill\n"
