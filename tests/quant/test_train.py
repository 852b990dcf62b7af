import json

import numpy as np
import torch

from quant.train import TrainConfig, split_indices, train
from quant.vae import VAEConfig, load_checkpoint

CFG = VAEConfig(channels=4, latent=8)


def test_split_is_seeded_disjoint_and_complete():
    a, b = split_indices(100, 0.1, seed=3)
    assert len(b) == 10 and not set(a) & set(b) and len(set(a) | set(b)) == 100
    np.testing.assert_array_equal(b, split_indices(100, 0.1, seed=3)[1])


def test_training_lowers_the_loss_and_writes_checkpoint_and_report(tmp_path, blob_crops):
    report = train([blob_crops], tmp_path / "run", CFG, TrainConfig(epochs=3, batch=8), resume=False)
    losses = [h["train"]["loss"] for h in report["history"]]
    assert losses[-1] < losses[0]
    saved = json.loads((tmp_path / "run" / "report.json").read_text())
    assert saved["crops"] == {"total": 40, "train": 38, "validation": 2}
    assert load_checkpoint(tmp_path / "run" / report["checkpoint"]).cfg == CFG


def test_resuming_gives_the_same_model_as_an_uninterrupted_run(tmp_path, blob_crops):
    data = [blob_crops]
    straight = train(data, tmp_path / "a", CFG, TrainConfig(epochs=2, batch=8), resume=False)
    train(data, tmp_path / "b", CFG, TrainConfig(epochs=1, batch=8), resume=False)
    resumed = train(data, tmp_path / "b", CFG, TrainConfig(epochs=2, batch=8), resume=True)
    assert [h["train"] for h in resumed["history"]] == [h["train"] for h in straight["history"]]
    a = torch.load(tmp_path / "a" / "resume.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "resume.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
