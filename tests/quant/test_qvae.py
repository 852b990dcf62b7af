import copy

import numpy as np
import pytest
import torch

from host.accelerated import latent_codes
from host.scoring import reconstruct
from quant.export import execute, export_accelerator, exported_in_float64, integer_codes
from quant.qat import load_quant_checkpoint, quantize_train
from quant.quant_backend import QuantBackend
from quant.qvae import QuantDecoder, QuantSpec, from_float
from quant.train import TrainConfig, train
from quant.vae import VAE, DecoderKind, VAEConfig

CFG = VAEConfig(channels=4, latent=8)


@pytest.fixture(scope="module")
def accelerators():
    torch.manual_seed(0)
    enc, dec = from_float(VAE(CFG).eval(), QuantSpec(4, 4, 8))
    with torch.no_grad():  # calibrate the activation scales once
        enc.train()(torch.randint(0, 256, (8, 1, 64, 64)).float())
        dec.train()(torch.randint(-128, 128, (8, CFG.latent)).float())
    return enc.eval(), dec.eval()


def test_variant_name_says_bits_and_channels():
    assert QuantSpec(4, 4, 8).name(VAEConfig()) == "vae_w4a4_c32"


def test_only_the_upsample_decoder_is_quantized():
    with pytest.raises(ValueError, match="must use upsample blocks, not transposed"):
        QuantDecoder(VAEConfig(decoder=DecoderKind.TRANSPOSED), QuantSpec())


def test_high_bit_init_from_float_stays_close_to_the_float_model():
    torch.manual_seed(1)
    model = VAE(CFG).eval()
    enc, _ = from_float(model, QuantSpec(8, 8, 8))
    x = torch.randint(0, 256, (4, 1, 64, 64)).float()
    with torch.no_grad():
        enc.train()(x)
        out = enc.eval()(x)
        mu, _ = model.encoder(x / 255)
    assert (out[:, :CFG.latent] - mu).abs().max() < 0.2 * mu.abs().max()


@pytest.mark.parametrize("which", ["encoder", "decoder"])
def test_qonnx_export_executes_exactly_like_brevitas(accelerators, tmp_path, which):
    net = accelerators[0] if which == "encoder" else accelerators[1]
    rng = np.random.default_rng(2)
    x = (rng.integers(0, 256, (1, 1, 64, 64)) if which == "encoder" else rng.integers(-128, 128, (1, CFG.latent)))
    model = export_accelerator(net, tmp_path / f"{which}.onnx")
    with torch.no_grad():
        expected = net(torch.from_numpy(x).float()).numpy()
    np.testing.assert_array_equal(execute(model, x).reshape(expected.shape), expected)


def _weight_codes_and_scales(net: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    with torch.no_grad():
        return [(w.int(), w.scale.double()) for w in (m.quant_weight() for m in net.modules()
                                                       if isinstance(m, torch.nn.Conv2d | torch.nn.Linear))]


def _put_a_weight_on_its_float32_rounding_boundary(layer: torch.nn.Linear) -> None:
    """Set one weight where float32 and float64 quantization round it to different codes."""
    weight = layer.weight.data
    top = weight.abs().max()
    s32, s64 = top / 7, top.double() / 7  # the abs-max scale as Brevitas computes it in either precision
    for boundary in (0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5):
        x = torch.nextafter(boundary * s32, torch.zeros(())).reshape(-1)
        for _ in range(400):  # float32 neighbours of the boundary, upwards
            x = torch.nextafter(x, torch.full_like(x, 7.0))
            if torch.round(x / s32) != torch.round(x.double() / s64):
                weight.view(-1)[0] = x[0]
                return
    raise AssertionError("no float32 boundary weight found")


def test_float64_reference_keeps_the_exported_weight_codes_where_a_plain_cast_does_not(accelerators):
    decoder = copy.deepcopy(accelerators[1])
    _put_a_weight_on_its_float32_rounding_boundary(decoder.fc[0])
    exported = _weight_codes_and_scales(decoder)
    exact = _weight_codes_and_scales(exported_in_float64(decoder))
    cast = _weight_codes_and_scales(copy.deepcopy(decoder).double())
    assert all(torch.equal(c, e) and torch.equal(s, t) for (c, s), (e, t) in zip(exported, exact, strict=True))
    assert int((cast[0][0] != exported[0][0]).sum()) == 1  # the plain cast moves the boundary weight's code
    assert not all(torch.equal(s, t) for (_, s), (_, t) in zip(exported, cast, strict=True))  # and scales


@pytest.mark.parametrize("which", ["encoder", "decoder"])
def test_integer_codes_do_not_depend_on_the_batch(accelerators, which):
    net = accelerators[0] if which == "encoder" else accelerators[1]
    rng = np.random.default_rng(5)
    x = (rng.integers(0, 256, (6, 1, 64, 64)) if which == "encoder" else rng.integers(-128, 128, (6, CFG.latent)))
    whole = integer_codes(net, x)
    np.testing.assert_array_equal(np.concatenate([integer_codes(net, x[i:i + 1]) for i in range(6)]), whole)
    assert len(np.unique(whole)) > 1


def test_quantization_aware_training_runs_and_reloads(tmp_path, blob_crops):
    report = train([blob_crops], tmp_path / "float", CFG, TrainConfig(epochs=1, batch=8), resume=False)
    float_ckpt = tmp_path / "float" / report["checkpoint"]
    q = quantize_train(float_ckpt, tmp_path / "q", QuantSpec(4, 4, 8), TrainConfig(epochs=2, batch=8), resume=False)
    assert q["checkpoint"] == "vae_w4a4_c4.pt" and len(q["history"]) == 2
    model = load_quant_checkpoint(tmp_path / "q" / q["checkpoint"])
    with torch.no_grad():
        mu_x, log_sigma_x, _, _ = model(torch.from_numpy(np.load(blob_crops)["crops"][:2, None] / 255).float())
    assert mu_x.shape == (2, 1, 64, 64) and torch.isfinite(log_sigma_x).all()
    rec = reconstruct(QuantBackend(tmp_path / "q" / q["checkpoint"]), np.load(blob_crops)["crops"][:3])
    assert rec.mu_x.shape == (3, 10, 64, 64) and np.isfinite(rec.log_rp).all()


def test_latent_codes_round_and_saturate_on_the_int8_grid():
    z = np.array([[0.0, 1 / 32 + 1e-6, -0.3, 100.0, -100.0]])
    np.testing.assert_array_equal(latent_codes(z, 1 / 16), [[0, 1, -5, 127, -128]])


def test_distillation_brings_the_quantized_model_closer_to_its_float_parent(tmp_path, blob_crops):
    report = train([blob_crops], tmp_path / "float", CFG, TrainConfig(epochs=1, batch=8), resume=False)
    float_ckpt = tmp_path / "float" / report["checkpoint"]
    q = quantize_train(float_ckpt, tmp_path / "q", QuantSpec(4, 4, 8), TrainConfig(epochs=3, batch=8, lr=0.003),
                       resume=False, distill=True)
    assert q["loss"] == "distillation" and set(q["history"][0]["train"]) == {"posterior_kl", "likelihood_kl", "loss"}
    losses = [h["train"]["loss"] for h in q["history"]]
    assert losses[-1] < losses[0]
    again = quantize_train(float_ckpt, tmp_path / "q2", QuantSpec(4, 4, 8), TrainConfig(epochs=1, batch=8),
                           resume=False, distill=True, init=tmp_path / "q" / q["checkpoint"])
    assert again["init"].endswith(q["checkpoint"])
