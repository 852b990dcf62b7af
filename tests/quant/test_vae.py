import numpy as np
import pytest
import torch

from host import likelihood
from quant.vae import (
    VAE,
    DecoderKind,
    VAEConfig,
    bound_log_sigma,
    bound_log_sigma_z,
    load_checkpoint,
    save_checkpoint,
)


@pytest.mark.parametrize("kind", list(DecoderKind))
def test_shapes_of_both_decoder_variants(kind):
    model = VAE(VAEConfig(channels=4, latent=16, decoder=kind)).eval()
    mu_x, log_sigma_x, mu_z, log_sigma_z = model(torch.rand(3, 1, 64, 64))
    assert mu_x.shape == log_sigma_x.shape == (3, 1, 64, 64)
    assert mu_z.shape == log_sigma_z.shape == (3, 16)


def test_paper_sized_model_has_about_3_9_million_parameters():
    n = sum(p.numel() for p in VAE(VAEConfig()).parameters())
    assert 3.8e6 < n < 4.0e6


def test_config_round_trips_through_a_dict():
    cfg = VAEConfig(channels=24, latent=64, decoder=DecoderKind.TRANSPOSED)
    assert VAEConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.name == "vae_float_c24_transposed"


def test_torch_bounds_equal_the_host_bounds():
    raw = torch.linspace(-20, 20, 101, dtype=torch.float64)
    for torch_fn, host_fn in [(bound_log_sigma, likelihood.bound_log_sigma),
                              (bound_log_sigma_z, likelihood.bound_log_sigma_z)]:
        np.testing.assert_allclose(torch_fn(raw).numpy(), host_fn(raw.numpy()), rtol=1e-9, atol=1e-15)


def test_checkpoint_round_trip(tmp_path):
    model = VAE(VAEConfig(channels=4, latent=8)).eval()
    save_checkpoint(model, tmp_path / "m.pt")
    loaded = load_checkpoint(tmp_path / "m.pt")
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        a, b = model.encoder(x), loaded.encoder(x)
    # weights are stored as float16: equal to half precision
    torch.testing.assert_close(a[0], b[0], rtol=2e-2, atol=2e-2)
    assert loaded.cfg == model.cfg
