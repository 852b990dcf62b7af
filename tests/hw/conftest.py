"""A tiny calibrated low-bit VAE (c=4, latent 8) and its generic dataflow graphs, shared by the hw tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hw.build import DEFAULT_CHECKPOINT, face_crops
from hw.device import ZCU104
from hw.flow import dataflow_config, to_dataflow
from quant.export import export_accelerator
from quant.qat import load_quant_checkpoint, save_quant_checkpoint
from quant.qvae import QuantSpec, QuantVAE, from_float
from quant.vae import VAE, VAEConfig
from quant.vectors import integer_vectors

TINY = VAEConfig(channels=4, latent=8)
FACES = 256


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    spec = QuantSpec(4, 4, 8)
    model = QuantVAE(TINY, spec, *from_float(VAE(TINY).eval(), spec))
    with torch.no_grad():  # calibrate the activation scales
        model.train()(torch.rand(8, 1, 64, 64))
    path = tmp_path_factory.mktemp("tiny") / "vae_w4a4_c4.pt"
    save_quant_checkpoint(model.eval(), path, {})
    return path


@pytest.fixture(scope="session")
def tiny_generic(tiny_checkpoint, tmp_path_factory) -> dict:
    """Generic (unfolded) dataflow graphs of the tiny encoder and decoder."""
    model = load_quant_checkpoint(tiny_checkpoint)
    work = tmp_path_factory.mktemp("tiny_flow")
    return {name: to_dataflow(export_accelerator(net, work / f"{name}.onnx"), dataflow_config(work / name, ZCU104), {})
            for name, net in (("encoder", model.encoder), ("decoder", model.decoder))}


@pytest.fixture(scope="session")
def shipped_vectors(data_dir) -> dict:
    """256 LFW face crops of evaluation persons (none used in training or in the score reference)."""
    model = load_quant_checkpoint(DEFAULT_CHECKPOINT)
    crops = face_crops(data_dir / "lfw-dev", FACES, evaluation_persons=True)
    return integer_vectors(model.encoder, model.decoder, crops)
