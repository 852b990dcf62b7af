"""Frame sources: the prefetching reader hands over the same frames, errors and ends as the source itself."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from host.pipeline import blas_threads
from host.sources import Frame, SourceError, array_frames, prefetched


def _images(count: int):
    return (np.full((4, 6, 3), i, np.uint8) for i in range(count))


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "frame-reader"]


def test_prefetched_frames_are_the_source_frames_in_order():
    frames = list(prefetched(array_frames(_images(10), start_time=0.0), depth=3))
    assert [f.index for f in frames] == list(range(10))
    assert [int(f.rgb[0, 0, 0]) for f in frames] == list(range(10)) and frames[4].time == pytest.approx(4 / 25)
    assert not _readers()


def test_an_error_of_the_source_arrives_after_the_frames_before_it():
    def breaking():
        yield from array_frames(_images(3))
        raise SourceError("disk gone")

    seen = []
    with pytest.raises(SourceError, match="disk gone"):
        for frame in prefetched(breaking(), depth=2):
            seen.append(frame.index)
    assert seen == [0, 1, 2] and not _readers()


def test_leaving_early_stops_the_reader_and_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            index = 0
            while True:
                yield Frame(index, float(index), np.zeros((2, 2, 3), np.uint8))
                index += 1
        finally:
            closed.set()

    frames = prefetched(endless(), depth=2)
    assert [next(frames).index for _ in range(3)] == [0, 1, 2]
    frames.close()
    assert closed.is_set() and not _readers()


def test_prefetch_depth_must_be_positive():
    with pytest.raises(ValueError, match="prefetch depth"):
        next(prefetched(array_frames(_images(1)), depth=0))


def test_blas_threads_are_limited_inside_the_context_only():
    from threadpoolctl import threadpool_info

    def blas() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas()
    with blas_threads(1):
        assert all(n == 1 for n in blas())
    assert blas() == before
    with pytest.raises(ValueError, match="BLAS threads"):
        blas_threads(-1)
