"""Frame sources: the prefetching reader hands over the same frames, errors and ends as the source itself."""

from __future__ import annotations

import os
import threading
import time

import cv2
import numpy as np
import pytest

from host.pipeline import blas_threads
from host.sources import (
    Frame,
    Newest,
    SourceError,
    array_frames,
    frame_count,
    paced,
    prefetched,
    video_frames,
    video_offset,
)


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


def test_a_video_path_that_is_no_file_fails_before_the_first_frame_is_asked_for(tmp_path):
    with pytest.raises(SourceError, match="is a folder, not a video file"):
        video_frames(tmp_path)
    with pytest.raises(SourceError, match="not found"):
        video_frames(tmp_path / "missing.mp4")


def _write_video(path, count: int, fps: float) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
    for i in range(count):
        writer.write(np.full((24, 32, 3), 10 * i, np.uint8))
    writer.release()


def test_video_frames_carry_the_videos_own_times_from_the_start_time(tmp_path):
    video = tmp_path / "v.avi"
    _write_video(video, 5, 10.0)
    times = [f.time for f in video_frames(video, start_time=1_000.0)]
    assert times == pytest.approx([1_000.0, 1_000.1, 1_000.2, 1_000.3, 1_000.4])
    os.utime(video, (2_000.0, 2_000.0))                        # default: the file's modification time
    assert next(iter(video_frames(video))).time == pytest.approx(2_000.0)


def test_frame_count_is_the_containers_and_0_for_what_is_no_video(tmp_path):
    video = tmp_path / "v.avi"
    _write_video(video, 7, 10.0)
    (tmp_path / "junk.avi").write_bytes(b"not a video")
    assert frame_count(video) == 7 and frame_count(tmp_path / "junk.avi") == 0


def test_a_missing_or_stuck_container_timestamp_advances_by_one_frame_period():
    assert video_offset(0.5, 0.4, 10.0) == 0.5                  # the container's own time
    assert video_offset(0.4, 0.4, 10.0) == pytest.approx(0.5)   # not increasing: one period on
    assert video_offset(float("nan"), 0.4, 10.0) == pytest.approx(0.5)


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


class FakeClock:
    """A clock that only `sleep` (or the test) moves; notes every sleep."""

    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_paced_frames_come_at_their_own_times_or_at_once_when_late():
    clock = FakeClock()
    frames = paced(array_frames(_images(4), fps=10.0, start_time=0.0), clock=clock, sleep=clock.sleep)
    assert next(frames).index == 0 and clock.slept == []
    assert next(frames).index == 1 and clock.slept == [0.1]
    clock.now += 0.5                                               # the consumer was busy for 0.5 s
    assert [f.index for f in frames] == [2, 3] and clock.slept == [0.1]
    told = paced(array_frames(_images(3), fps=10.0, start_time=0.0), fps=25.0, clock=clock, sleep=clock.sleep)
    assert [f.index for f in told] == [0, 1, 2] and clock.slept[1:] == [0.04, 0.04]   # the rate it is told


def test_newest_hands_out_the_latest_frame_and_counts_the_dropped_ones():
    taken, live = [], Newest(array_frames(_images(200)))
    for frame in live:
        taken.append(frame.index)
        time.sleep(0.002)                                          # a slow consumer: the reader runs ahead
    assert taken == sorted(set(taken)) and taken[-1] == 199       # in order, and the last one always comes
    assert live.dropped == 200 - len(taken) > 0 and not _readers()


def test_newest_raises_the_sources_error_after_its_last_frame_and_closes_it_when_left():
    def breaking():
        yield from array_frames(_images(3))
        raise SourceError("camera gone")

    seen = []
    with pytest.raises(SourceError, match="camera gone"):
        for frame in Newest(breaking()):
            seen.append(frame.index)
    assert seen[-1] == 2 and not _readers()
    closed = threading.Event()

    def endless():
        try:
            yield from array_frames(_images(10**9))
        finally:
            closed.set()

    frames = iter(Newest(endless()))
    next(frames)
    frames.close()
    assert closed.is_set() and not _readers()


def test_a_dropped_frames_cut_mark_passes_to_the_frame_that_replaces_it():
    frames = [Frame(i, float(i), np.zeros((2, 2, 3), np.uint8), cut=i == 1) for i in range(3)]
    live = iter(Newest(frames))
    first = next(live)
    time.sleep(0.05)                                             # the reader puts frames 1 and 2 meanwhile
    taken = [first, *live]
    assert taken[-1].index == 2 and sum(bool(f.cut) for f in taken) == 1
