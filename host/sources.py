"""Frame sources for the camera program: a video file, a live camera, or any iterable of RGB frames.

Every source yields `Frame`s (index, capture time in seconds since the epoch, 8-bit RGB): a video file's own
timestamps from a start time, a camera's wall clock. A video that cannot be opened or has no decodable frame
raises `SourceError`; one that breaks off part-way (truncated, corrupt) ends early with a warning, so whatever
was collected up to there is kept. `prefetched` reads and decodes a source a few frames ahead in a background
thread; `Newest` reads a live source in a background thread and hands out only the newest frame (real time),
and `paced` delivers a video's frames at their own times, as a live camera would.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from host.faces import ImageError, to_rgb8

log = logging.getLogger(__name__)
DEFAULT_FPS = 25.0
CAMERA_RETRIES = 25
PREFETCH = 4           # frames decoded ahead by `prefetched`
READER_EXIT_SECONDS = 5.0
_END = object()        # the end of a prefetched source


class SourceError(RuntimeError):
    """A frame source that cannot deliver a single frame."""


@dataclass(frozen=True)
class Frame:
    index: int
    time: float          # capture time, seconds since the epoch
    rgb: np.ndarray      # (H, W, 3) uint8
    cut: bool | None = None   # a new shot starts here or at a frame dropped just before it (None: not tested)


def _capture_info(cap: cv2.VideoCapture) -> tuple[float, int]:
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    return (fps if 1 <= fps <= 1000 else DEFAULT_FPS), max(count, 0)


def frame_count(path: str | Path) -> int:
    """How many frames the container of video `path` says it holds (0: unknown or unreadable)."""
    cap = cv2.VideoCapture(str(path))
    try:
        return _capture_info(cap)[1]
    finally:
        cap.release()


def _as_rgb(image: np.ndarray | None, where: str) -> np.ndarray | None:
    """An OpenCV frame as RGB, or None (with a warning) when it is empty or unusable."""
    try:
        return to_rgb8(image)
    except ImageError as exc:
        log.warning("%s: skipped (%s)", where, exc)
        return None


def video_frames(path: str | Path, *, start_time: float | None = None) -> Iterator[Frame]:
    """Frames of a video file, timed by the container's timestamps from `start_time` (default: the file's
    modification time); a path that is no file fails here, before a frame is asked for."""
    path = Path(path)
    if path.is_dir():
        raise SourceError(f"{path} is a folder, not a video file")
    if not path.is_file():
        raise SourceError(f"video {path} not found")
    return _decoded(path, start_time)


def video_offset(stamp: float, previous: float, fps: float) -> float:
    """Seconds since the start of the video of the frame just read: the container's timestamp `stamp`, or, where
    the container gives none that increases (raw streams, broken indexes), `previous` plus one frame period."""
    return stamp if math.isfinite(stamp) and stamp > previous else previous + 1.0 / fps


def _decoded(path: Path, start_time: float | None) -> Iterator[Frame]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceError(f"{path}: not a video OpenCV can open (corrupt or unknown format)")
    fps, count = _capture_info(cap)
    t0 = path.stat().st_mtime if start_time is None else start_time
    index, offset = 0, -1.0 / fps
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            offset = video_offset(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000, offset, fps)
            rgb = _as_rgb(image, f"{path.name} frame {index}")
            if rgb is not None:
                yield Frame(index, t0 + offset, rgb)
            index += 1
    finally:
        cap.release()
    if index == 0:
        raise SourceError(f"{path}: no decodable frame (corrupt or empty video)")
    if count and index < count:
        log.warning("%s: ended after %d of %d frames (truncated or corrupt); keeping what was seen",
                    path.name, index, count)


def camera_frames(device: int) -> Iterator[Frame]:
    """Live frames of camera `device`, timed by the wall clock; ends after repeated read failures."""
    cap = cv2.VideoCapture(device)
    if not cap.isOpened():
        raise SourceError(f"camera {device} cannot be opened")
    index, failures = 0, 0
    try:
        while failures < CAMERA_RETRIES:
            ok, image = cap.read()
            if not ok:
                failures += 1
                continue
            failures = 0
            rgb = _as_rgb(image, f"camera {device} frame {index}")
            if rgb is not None:
                yield Frame(index, time.time(), rgb)
            index += 1
    finally:
        cap.release()
    log.warning("camera %d: %d reads failed in a row; stopping", device, CAMERA_RETRIES)


def array_frames(images: Iterator[np.ndarray], *, fps: float = DEFAULT_FPS,
                 start_time: float | None = None) -> Iterator[Frame]:
    """Frames from in-memory RGB images (synthetic clips, tests)."""
    t0 = time.time() if start_time is None else start_time
    for index, rgb in enumerate(images):
        yield Frame(index, t0 + index / fps, rgb)


def paced(frames: Iterable[Frame], *, fps: float | None = None, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[Frame]:
    """The same frames, each released no earlier than its own time after the first one's (a video played as a
    live camera delivers it); with `fps`, frame i is released i / fps after frame 0 instead."""
    start: tuple[float, float] | None = None
    for frame in frames:
        at = frame.time if fps is None else frame.index / fps
        if start is None:
            start = clock(), at
        wait = start[0] + at - start[1] - clock()
        if wait > 0:
            sleep(wait)
        yield frame


def _start_reader(frames: Iterable[Frame], hand: Callable[[object], bool]) -> threading.Thread:
    """A background thread handing each frame of `frames`, then `_END` or the source's exception, to `hand`
    (which returns False once the consumer has gone); it closes the source when it stops."""

    def read() -> None:
        source = iter(frames)
        try:
            end: object = _END
            try:
                for frame in source:
                    if not hand(frame):
                        return
            except BaseException as exc:  # handed to the consumer, raised there
                end = exc
            hand(end)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="frame-reader", daemon=True)
    reader.start()
    return reader


def _stop_reader(reader: threading.Thread, stop: threading.Event) -> None:
    stop.set()
    reader.join(timeout=READER_EXIT_SECONDS)
    if reader.is_alive():  # a read that blocks (a camera that hangs): the daemon thread ends with the process
        log.warning("frame reader still blocked in a read after %.0f s; leaving it", READER_EXIT_SECONDS)


def _delivered(item: object) -> Frame | None:
    """A frame handed over by a reader thread; None at the end of the source; the source's error raised."""
    if item is _END:
        return None
    if isinstance(item, BaseException):
        raise item
    return item


def prefetched(frames: Iterable[Frame], depth: int = PREFETCH) -> Iterator[Frame]:
    """The same frames, read and decoded up to `depth` ahead by a background thread, so decoding overlaps the
    detection and scoring of earlier frames. An error of the source reaches the caller after the frames before
    it; closing this generator (end of the loop, Ctrl-C, SIGTERM) stops the thread and closes the source."""
    if depth < 1:
        raise ValueError(f"prefetch depth must be >= 1, not {depth}")
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Queue `item`, waiting while the queue is full; False when the consumer has gone."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    reader = _start_reader(frames, offer)
    try:
        while (frame := _delivered(ahead.get())) is not None:
            yield frame
    finally:
        _stop_reader(reader, stop)


class Newest:
    """A live source read by a background thread into a one-frame slot: iterating gives the newest frame each
    time (waiting only when none has come since the last one), never a queue of old ones. A frame replaced
    before it was taken is dropped and counted in `dropped`; a dropped frame that starts a new shot (`cut`) passes
    that mark to the frame replacing it. Errors and closing as in `prefetched`."""

    def __init__(self, frames: Iterable[Frame]) -> None:
        self.frames = frames
        self.dropped = 0

    def __iter__(self) -> Iterator[Frame]:
        slot: list[object] = []
        ready = threading.Condition()
        stop = threading.Event()

        def put(item: object) -> bool:
            with ready:
                if isinstance(item, Frame) and slot:   # the frame before was not taken: replaced
                    self.dropped += 1
                    if slot.pop().cut:
                        item = replace(item, cut=True)
                slot.append(item)                      # the end comes last: after the newest frame
                ready.notify()
            return not stop.is_set()

        reader = _start_reader(self.frames, put)
        try:
            while True:
                with ready:
                    ready.wait_for(lambda: slot)
                    item = slot.pop(0)
                if (frame := _delivered(item)) is None:
                    return
                yield frame
        finally:
            _stop_reader(reader, stop)
