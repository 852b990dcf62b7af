"""The shipped build, integer for integer: simulator == FINN's Python execution == Brevitas, on real faces.

Uses the committed build folder (graphs, simulator artefacts, manifest) and the committed QAT checkpoint.
"""

import hashlib
import json

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper

from hw.build import DEFAULT_CHECKPOINT, ROOT
from hw.execute import execute_dataflow
from quant.data import crop_file, list_images, pair_persons
from quant.qat import load_quant_checkpoint
from quant.vectors import integer_vectors
from sim.accelerator import SimAccelerator

BUILD = ROOT / "bitstreams" / "zcu104-vae_w4a4_c24"
COUNT = 256


@pytest.fixture(scope="module")
def vectors(data_dir):
    """256 LFW face crops of evaluation persons (none used in training or in the score reference)."""
    lfw = data_dir / "lfw-dev"
    files = list_images([lfw / "images"], only_persons=pair_persons(lfw / "pairs.txt"))[::7]
    crops = []
    for path in files:
        result = crop_file(path)
        if result["status"] == "ok":
            crops.append(result["crop"])
        if len(crops) == COUNT:
            break
    model = load_quant_checkpoint(DEFAULT_CHECKPOINT)
    return integer_vectors(model.encoder, model.decoder, np.stack(crops))


def test_build_folder_matches_the_checkpoint_and_its_files():
    manifest = json.loads((BUILD / "manifest.json").read_text())
    assert manifest["checkpoint"]["sha256"] == hashlib.sha256(DEFAULT_CHECKPOINT.read_bytes()).hexdigest()
    for acc in ("encoder", "decoder"):
        graph = manifest["graphs"][acc]
        assert graph["sha256"] == hashlib.sha256((BUILD / graph["file"]).read_bytes()).hexdigest()
        artefact = graph["simulator_artefact"]
        assert artefact["sha256"] == hashlib.sha256((BUILD / artefact["file"]).read_bytes()).hexdigest()


@pytest.mark.parametrize("acc", ["encoder", "decoder"])
def test_simulator_equals_finn_equals_brevitas_on_256_faces(vectors, acc):
    expected = vectors[f"{acc}_out"]
    assert len(expected) == COUNT
    sim = SimAccelerator.load(BUILD / f"{acc}.npz").run(vectors[f"{acc}_in"]).reshape(expected.shape)
    finn = execute_dataflow(ModelWrapper(str(BUILD / f"{acc}.onnx")), vectors[f"{acc}_in"]).reshape(expected.shape)
    assert np.count_nonzero(sim != expected) == 0
    assert np.count_nonzero(finn != expected) == 0
    assert len(np.unique(expected)) > 20  # real, varied codes, not a degenerate output
