"""Frame sources for the camera program: a video file, a live camera, or any iterable of RGB frames.

Every source yields `Frame`s (index, capture time in seconds since the epoch, 8-bit RGB). A video that
cannot be opened or has no decodable frame raises `SourceError`; one that breaks off part-way (truncated,
corrupt) ends early with a warning, so whatever was collected up to there is kept. `prefetched` reads and
decodes a source a few frames ahead in a background thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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


def _capture_info(cap: cv2.VideoCapture) -> tuple[float, int]:
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    return (fps if 1 <= fps <= 1000 else DEFAULT_FPS), max(count, 0)


def _as_rgb(image: np.ndarray | None, where: str) -> np.ndarray | None:
    """An OpenCV frame as RGB, or None (with a warning) when it is empty or unusable."""
    try:
        return to_rgb8(image)
    except ImageError as exc:
        log.warning("%s: skipped (%s)", where, exc)
        return None


def video_frames(path: str | Path, *, start_time: float | None = None) -> Iterator[Frame]:
    """Frames of a video file, timed from `start_time` (default: now) at the file's frame rate."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"video {path} not found")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceError(f"{path}: not a video OpenCV can open (corrupt or unknown format)")
    fps, count = _capture_info(cap)
    t0 = time.time() if start_time is None else start_time
    index = 0
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            rgb = _as_rgb(image, f"{path.name} frame {index}")
            if rgb is not None:
                yield Frame(index, t0 + index / fps, rgb)
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

    def read() -> None:
        source = iter(frames)
        try:
            end: object = _END
            try:
                for frame in source:
                    if not offer(frame):
                        return
            except BaseException as exc:  # handed to the consumer, raised there
                end = exc
            offer(end)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="frame-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = ahead.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=READER_EXIT_SECONDS)
        if reader.is_alive():  # a read that blocks (a camera that hangs): the daemon thread ends with the process
            log.warning("frame reader still blocked in a read after %.0f s; leaving it", READER_EXIT_SECONDS)
