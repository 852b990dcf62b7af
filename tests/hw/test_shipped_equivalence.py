"""The shipped build, integer for integer: simulator == FINN's Python execution == Brevitas, on real faces.

Uses the committed build folder (graphs, simulator artefacts, manifest) and the committed QAT checkpoint.
"""

import hashlib
import json

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper

from hw.build import DEFAULT_CHECKPOINT
from hw.execute import execute_dataflow
from sim.accelerator import SimAccelerator
from tests.conftest import BUILD
from tests.hw.conftest import FACES


def test_build_folder_matches_the_checkpoint_and_its_files():
    manifest = json.loads((BUILD / "manifest.json").read_text())
    assert manifest["checkpoint"]["sha256"] == hashlib.sha256(DEFAULT_CHECKPOINT.read_bytes()).hexdigest()
    for acc in ("encoder", "decoder"):
        graph = manifest["graphs"][acc]
        assert graph["sha256"] == hashlib.sha256((BUILD / graph["file"]).read_bytes()).hexdigest()
        artefact = graph["simulator_artefact"]
        assert artefact["sha256"] == hashlib.sha256((BUILD / artefact["file"]).read_bytes()).hexdigest()


@pytest.mark.parametrize("acc", ["encoder", "decoder"])
def test_simulator_equals_finn_equals_brevitas_on_256_faces(shipped_vectors, acc):
    vectors = shipped_vectors
    expected = vectors[f"{acc}_out"]
    assert len(expected) == FACES
    sim = SimAccelerator.load(BUILD / f"{acc}.npz").run(vectors[f"{acc}_in"]).reshape(expected.shape)
    finn = execute_dataflow(ModelWrapper(str(BUILD / f"{acc}.onnx")), vectors[f"{acc}_in"]).reshape(expected.shape)
    assert np.count_nonzero(sim != expected) == 0
    assert np.count_nonzero(finn != expected) == 0
    assert len(np.unique(expected)) > 20  # real, varied codes, not a degenerate output
