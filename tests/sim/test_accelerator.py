"""The simulator's batching: running a few items at a time through the large layers changes no integer."""

from __future__ import annotations

import numpy as np
import pytest

from sim.accelerator import SimAccelerator
from tests.conftest import BUILD


@pytest.fixture(scope="module")
def decoder() -> SimAccelerator:
    path = BUILD / "decoder.npz"
    if not path.exists():
        pytest.skip("shipped build folder missing")
    return SimAccelerator.load(path)


def test_large_layers_run_in_chunks_small_ones_on_the_whole_batch(decoder):
    chunked = [(len(layers), chunk) for layers, chunk in decoder.segments if chunk is not None]
    assert len(chunked) == 1 and chunked[0][1] < 8
    assert decoder.segments[0][1] is None and sum(len(layers) for layers, _ in decoder.segments) == len(decoder.layers)


def test_chunked_run_equals_whole_batch_run(decoder):
    x = np.clip(np.random.default_rng(0).normal(0, 20, (7, *decoder.in_shape)).round(), -128, 127).astype(np.int64)
    whole = decoder.run(x, trace=[])         # with a trace every layer sees the whole batch
    np.testing.assert_array_equal(decoder.run(x), whole)
    np.testing.assert_array_equal(np.concatenate([decoder.run(x[i:i + 1]) for i in range(7)]), whole)
