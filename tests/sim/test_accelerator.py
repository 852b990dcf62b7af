"""The simulator's fast paths (fused convolutions, a few items at a time through large layers) change no integer."""

from __future__ import annotations

import numpy as np
import pytest

from sim.accelerator import SimAccelerator
from sim.layers import Upsample
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
    assert decoder.segments[0][1] is None and sum(len(layers) for layers, _ in decoder.segments) == len(decoder.fused)


def test_every_upsampling_convolution_of_the_decoder_is_fused(decoder):
    """Upsamplers (FINN's, or the sub-pixel decoder's DepthToSpace in replicate mode) fused with their convolution;
    the blocks that are sub-pixel convolutions in hardware already run at the low resolution."""
    kinds = [layer.kind for layer in decoder.fused]
    upsamplers = sum(isinstance(layer.fn, Upsample) for layer in decoder.layers)
    assert upsamplers and kinds.count("fused SubpixelConv+Threshold") == upsamplers
    assert not any(isinstance(layer.fn, Upsample) for layer in decoder.fused)
    assert kinds.count("fused TapSumConv+Threshold") == 1   # the last convolution: 24 -> 2 channels


def test_fused_chunked_run_equals_layer_by_layer_whole_batch_run(decoder):
    x = np.clip(np.random.default_rng(0).normal(0, 20, (7, *decoder.in_shape)).round(), -128, 127).astype(np.int64)
    whole = decoder.run(x, trace=[])         # with a trace every layer sees the whole batch
    np.testing.assert_array_equal(decoder.run(x), whole)
    np.testing.assert_array_equal(np.concatenate([decoder.run(x[i:i + 1]) for i in range(7)]), whole)
