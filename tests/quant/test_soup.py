"""quant.soup: the averaged checkpoint holds the mean of its ingredients and loads like any QAT checkpoint."""

import pytest
import torch

from quant.qat import load_quant_checkpoint, save_quant_checkpoint
from quant.qvae import QuantDecoder, QuantEncoder, QuantSpec, QuantVAE
from quant.soup import main, soup
from quant.vae import VAEConfig

CFG = VAEConfig(channels=4, latent=8)
W4A4 = QuantSpec()


def _model(seed: int, spec: QuantSpec = W4A4) -> QuantVAE:
    """A randomly initialised model whose activation scales are calibrated (as after QAT)."""
    torch.manual_seed(seed)
    model = QuantVAE(CFG, spec, QuantEncoder(CFG, spec), QuantDecoder(CFG, spec)).train()
    with torch.no_grad():
        model.encoder(torch.randint(0, 256, (8, 1, 64, 64)).float())
        model.decoder(torch.randint(-128, 128, (8, CFG.latent)).float())
    return model.eval()


def test_soup_is_the_mean_of_floating_state_and_keeps_integer_buffers():
    a, b, c = _model(0), _model(1), _model(2)
    mixed = soup([a, b, c]).state_dict()
    key = "decoder.out.weight"
    torch.testing.assert_close(mixed[key], (a.state_dict()[key] + b.state_dict()[key] + c.state_dict()[key]) / 3)
    counter = "decoder.fc.1.num_batches_tracked"
    assert torch.equal(mixed[counter], a.state_dict()[counter])


def test_a_tensor_every_ingredient_shares_stays_bit_identical():
    a, b, c = _model(0), _model(1), _model(2)
    shared = a.decoder.out.weight.detach() * 1.37  # a float32 mean of three copies of it moves some values
    with torch.no_grad():  # weights frozen while fine-tuning: equal in every child, biases not
        for child in (a, b, c):
            child.decoder.out.weight.copy_(shared)
    mixed = soup([a, b, c]).state_dict()
    assert torch.equal(mixed["decoder.out.weight"], a.state_dict()["decoder.out.weight"])
    assert not torch.equal(mixed["decoder.out.bias"], a.state_dict()["decoder.out.bias"])


def test_soup_refuses_one_checkpoint_or_different_bit_widths():
    with pytest.raises(ValueError, match="at least two"):
        soup([_model(0)])
    with pytest.raises(ValueError, match="bit widths"):
        soup([_model(0), _model(1, QuantSpec(8, 8, 8))])


def test_cli_writes_a_loadable_checkpoint_and_reports_bad_input(tmp_path, capsys):
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"m{seed}.pt")
        save_quant_checkpoint(_model(seed), paths[-1], {})
    assert main([*map(str, paths), "--out", str(tmp_path / "soup" / "s.pt")]) == 0
    loaded = load_quant_checkpoint(tmp_path / "soup" / "s.pt")
    torch.testing.assert_close(loaded.state_dict()["encoder.head.bias"], soup([_model(0), _model(1)]).state_dict()
                               ["encoder.head.bias"])
    assert main([str(paths[0]), "--out", str(tmp_path / "x.pt")]) == 2
    assert "at least two" in capsys.readouterr().err
