"""The camera pipeline: frames -> MTCNN -> tracks -> quality judge -> best crop per track -> vault.

Per track only the best crop (highest quality score) is held, in memory, besides the crops of its latest
`SIZE_LAG` detections, whose score waits for the face size the detections around them give (host/pose.py);
when the track ends (or the stream stops, or a scene cut ends every track: host/cuts.py) it is encrypted and
written, whatever its score: one snapshot per person seen for at least `min_hits` detections, never a
threshold on the score. A track whose detections are mostly not face-like (host/facelike.py) is dropped as a
false face, counted. A record that cannot be written (disk full) stays in memory and is retried at every
later write and at the end. Nothing but ciphertext, counts, times and scores leaves this module.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import cv2
import numpy as np

from host.appearance import descriptor
from host.cadence import Cadence, CadenceController
from host.cuts import CutDetector
from host.facelike import is_face_track, why_not_a_face
from host.faces import Detection, FaceDetector, crop_face, keepsake_crop
from host.judge import QualityJudge
from host.lightface import LightFaceFinder
from host.pose import SIZE_LAG, box_side, landmark_array, window_side
from host.schedule import DAY
from host.sources import Frame
from host.tracking import Track, Tracker, iou
from host.vault import Vault, VaultError, utc_iso

log = logging.getLogger(__name__)
MAX_CLIP = 25      # detections on each side of the best a clip may hold
BLAS_THREADS = 1   # numpy's BLAS threads while the pipeline runs (see `blas_threads`)
MIN_FACE = 40.0    # default smallest face, full-frame pixels (docs/camera.md: chosen on the six real clips)
STEADY = 2         # a track seen at most this many frames ago, with a velocity, is looked for at its prediction only
REACH = 0.5        # ... any other also at its prediction shifted by this share of its size (`FaceDetector.refine`)
PROPOSAL_REACH = 0.25   # the light finder's proposals are looked at shifted by this share of their size ...
PROPOSAL_OVERLAP = 0.3  # ... unless one overlaps a live track's predicted box by a larger IoU (looked at there)
WHOLE_SEARCHES = ("bands", "burst", "light")   # how new faces are found between MTCNN's whole-frame searches


def blas_threads(count: int):
    """A context limiting numpy's BLAS to `count` threads (0: leave it as it is).

    The simulator's matrix products are small (a few crops at a time): a second BLAS thread hardly speeds them
    up, but OpenBLAS's idle threads keep spinning and take CPU from the detector running between them (on this
    2-core machine one BLAS thread made the whole pipeline 1.2-1.3x faster)."""
    if count < 0:
        raise ValueError(f"BLAS threads must be >= 0, not {count}")
    if count == 0:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=count, user_api="blas")


@dataclass(frozen=True)
class Settings:
    camera_id: str = "camera-0"
    retention_days: float = 30.0
    detect_every: int = 1          # run MTCNN on every k-th frame
    full_every: int = 1            # search the whole frame once per k detection frames (and always at the tracks)
    whole_search: str = "bands"    # ... how: one of WHOLE_SEARCHES (see `FrameSelector._detect`)
    detect_width: int = 960        # frames wider than this are downscaled for detection
    min_face: float = MIN_FACE     # smallest face searched for, pixels of the full frame
    min_hits: int = 3              # detections before a track counts as a person
    max_age: int = 12              # frames without a detection before a track ends
    gate: float = 1.5              # largest centre jump, in face sizes, for boxes that do not overlap
    score_every: int = 1           # score a track's crop on every k-th of its detections (1: all; see `_due`)
    clip: int = 0                  # also keep the crops of N detections before and after the best (0: none)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.camera_id):
            raise ValueError(f"camera id must be 1-64 letters, digits, '_', '.', '-', not {self.camera_id!r}")
        if (self.retention_days <= 0 or min(self.detect_every, self.full_every, self.score_every) < 1
                or self.detect_width < 64):
            raise ValueError("retention must be > 0 days, detect_every, full_every and score_every >= 1, "
                             "detect_width >= 64")
        if not self.min_face > 0:
            raise ValueError(f"min_face must be a positive number of pixels, not {self.min_face}")
        if self.whole_search not in WHOLE_SEARCHES:
            raise ValueError(f"whole_search must be one of {', '.join(WHOLE_SEARCHES)}, not {self.whole_search!r}")
        if not 0 <= self.clip <= MAX_CLIP:
            raise ValueError(f"clip must be 0..{MAX_CLIP} detections on each side of the best, not {self.clip}")


@dataclass
class Candidate:
    """A crop of a track waiting for its face size, the median box side of the `SIZE_WINDOW` detections centred on
    it (`host.pose`): scored once the track's next `SIZE_LAG` detections are known, or when it ends first."""

    index: int                 # its frame
    time: float
    number: int                # its detection's number along the track (the keeper's count, for clips)
    crop: np.ndarray           # the judge's 64x64 crop (memory only)
    keepsake: np.ndarray       # the crop a record holds (memory only)
    detection: Detection
    sides: list[float]         # box sides of the track's detections up to and including it, then after it
    after: int = 0             # how many of `sides` come after it

    def seen_after(self, side: float) -> None:
        self.sides.append(side)
        self.after += 1

    def ready(self) -> bool:
        return self.after >= SIZE_LAG

    def face_side(self) -> float:
        return window_side(self.sides)


@dataclass
class Keeper:
    """What is kept of one track: the best crop so far (in memory only), its score history, the crops waiting for
    their face size and, with a clip length N, the crops of up to N detections before and after the best (in
    memory only)."""

    track_id: int
    first_time: float
    clip_length: int = 0
    last_time: float = 0.0
    best_score: float = -np.inf
    best_log_rp: float = float("nan")
    best_time: float = 0.0
    best_frame: int = -1
    image: np.ndarray | None = None
    history: list[tuple[float, float]] = field(default_factory=list)
    waiting: list[Candidate] = field(default_factory=list)
    clip: list[tuple[float, np.ndarray]] = field(default_factory=list)   # (time, crop) around the best
    clip_best: int = 0                                                     # the best's index in `clip`
    seen: int = 0                                                          # detections seen (with clips)
    recent: deque = field(init=False)   # the latest (number, time, crop): N before a waiting crop, it, after it

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=self.clip_length + 1 + SIZE_LAG)

    def times(self) -> dict:
        """When the person was first and last seen and when the kept crop was taken (UTC ISO), its frame."""
        return {"first_seen": utc_iso(self.first_time), "last_seen": utc_iso(self.last_time),
                "best_time": utc_iso(self.best_time), "best_frame": self.best_frame}

    def wait(self, candidate: Candidate) -> None:
        self.waiting.append(candidate)

    def detected(self, side: float) -> list[Candidate]:
        """The track was detected again with a box of this side: the waiting crops whose size is now known."""
        for c in self.waiting:
            c.seen_after(side)
        return self.flush(ready_only=True)

    def flush(self, ready_only: bool = False) -> list[Candidate]:
        """The waiting crops that are ready (all of them: the track ended), taken out, oldest first."""
        taken = [c.ready() or not ready_only for c in self.waiting]
        out = [c for c, t in zip(self.waiting, taken, strict=True) if t]
        self.waiting = [c for c, t in zip(self.waiting, taken, strict=True) if not t]
        return out

    def offer(self, candidate: Candidate, score: float, log_rp: float) -> None:
        """A scored crop; the kept one (and its clip) when it scores best."""
        self.history.append((candidate.time, score))
        self.last_time = max(self.last_time, candidate.time)
        if score > self.best_score:
            self.best_score, self.best_log_rp = score, log_rp
            self.best_time, self.best_frame, self.image = candidate.time, candidate.index, candidate.keepsake
            if self.clip_length:
                n = candidate.number
                around = [(k, t, im) for k, t, im in self.recent if abs(k - n) <= self.clip_length]
                self.clip = [(t, im) for _, t, im in around]
                self.clip_best = [k for k, _, _ in around].index(n)

    def absorb(self, other: Keeper) -> None:
        """Take over what a duplicate track kept: its scores, and its best crop (and clip) if that is better."""
        if other is self:
            return
        self.history = sorted(self.history + other.history)
        self.first_time, self.last_time = min(self.first_time, other.first_time), max(self.last_time, other.last_time)
        if other.best_score > self.best_score:
            self.best_score, self.best_log_rp, self.best_time = other.best_score, other.best_log_rp, other.best_time
            self.best_frame, self.image = other.best_frame, other.image
            self.clip, self.clip_best = other.clip, other.clip_best

    def see(self, time: float, image: np.ndarray) -> int:
        """Clip bookkeeping for this track's crop at a detection frame; its detection number."""
        self.seen += 1
        self.recent.append((self.seen, time, image))
        if self.clip and len(self.clip) - self.clip_best - 1 < self.clip_length:
            self.clip.append((time, image))
        return self.seen


class StageTimer:
    """Accumulated wall time per pipeline stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - t0


def timed_frames(frames: Iterable[Frame], timer: StageTimer) -> Iterator[Frame]:
    """The frames of a source, the time spent producing them (reading, decoding; waiting for a live one) booked
    as "decode"."""
    source = iter(frames)
    while True:
        with timer("decode"):
            frame = next(source, None)
        if frame is None:
            return
        yield frame


def processed(selector: FrameSelector, frames: Iterable[Frame],
              controller: CadenceController | None = None) -> Iterator[Frame]:
    """Each frame of `frames` after `selector` has processed it; with a controller, each frame's processing time
    adapts the selector's cadence (real time)."""
    for frame in timed_frames(frames, selector.timer):
        t0 = time.perf_counter()
        selector.process(frame)
        if controller is not None:
            controller.record(time.perf_counter() - t0)
        yield frame


def detect_scaled(detector: FaceDetector, rgb: np.ndarray, width: int, min_face: float,
                  band: tuple[int, int] = (0, 1)) -> list[Detection]:
    """Detect faces of at least about `min_face` full-frame pixels on a copy at most `width` pixels wide (in the
    k-th of n bands of the detector's windows, `band` (k, n)); boxes in full-frame pixels."""
    scale = min(1.0, width / rgb.shape[1])
    if scale == 1.0:
        return detector.detect(rgb, min_face=min_face, band=band)
    small = cv2.resize(rgb, (round(rgb.shape[1] * scale), max(round(rgb.shape[0] * scale), 1)),
                       interpolation=cv2.INTER_AREA)
    return [Detection(tuple(v / scale for v in d.box), d.confidence,
                      tuple((x / scale, y / scale) for x, y in d.landmarks))
            for d in detector.detect(small, min_face=min_face * scale, band=band)]


class FrameSelector:
    """Runs the pipeline frame by frame; `finish` stores every open track. See the module docstring."""

    def __init__(self, detector: FaceDetector, judge: QualityJudge, vault: Vault | None, settings: Settings,
                 model_id: str, on_track_end: Callable[[dict, list], None] | None = None,
                 on_score: Callable[[int, int, float, np.ndarray], None] | None = None,
                 reference_id: str | None = None) -> None:
        """`on_track_end(summary, history)` sees each ended track's summary and (time, score) history;
        `on_score(track id, frame index, score, crop)` every scored crop, once per crop of the batch just scored,
        in its order (evaluation and calibration only: it gets pixels); a crop is scored `SIZE_LAG` detections of
        its track later (or when the track ends), when its face size is known. `vault` None: persons are counted,
        no record is made (a calibration run). `reference_id`: the score reference's digest, named in each record."""
        self.detector, self.judge, self.vault, self.settings = detector, judge, vault, settings
        self.model_id, self.reference_id = model_id, reference_id
        self.on_track_end, self.on_score = on_track_end, on_score
        self.tracker = Tracker(min_hits=settings.min_hits, max_age=settings.max_age, gate=settings.gate)
        self.keepers: dict[int, Keeper] = {}
        self.pending: list[tuple[str, np.ndarray, dict]] = []
        self.run_stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.timer = StageTimer()
        self.cuts = CutDetector()
        self.cadence = Cadence(settings.detect_every, settings.score_every)   # a controller may change it
        self._last_detection: int | None = None   # the frame last detected on (None: the next one is)
        self._searched = False   # the whole frame was searched since the start or the last cut
        self._whole_in = 0       # without bands: detection frames before the next whole-frame search (0: the next one)
        self._band = 0           # with bands: the band of the whole frame searched on the next detection frame
        self.light = LightFaceFinder() if settings.whole_search == "light" and settings.full_every > 1 else None
        self.counts = {"frames": 0, "detection_frames": 0, "whole_frame_detections": 0, "band_detections": 0,
                       "light_searches": 0,
                       "faces": 0, "faces_scored": 0, "cuts": 0, "tracks_ended": 0, "tracks_merged": 0,
                       "false_faces": 0, "persons": 0, "records": 0, "store_failures": 0}
        self.tracks: list[dict] = []

    def process(self, frame: Frame) -> None:
        """Detect (on a frame `cadence.detect_every` source frames after the last detection or later), track,
        score the crops of the faces seen (each track's every `cadence.score_every`-th), keep each track's best."""
        self.counts["frames"] += 1
        with self.timer("cut"):   # unless the frame was tested as it came (real time: host/cuts.py `marked`)
            cut = self.cuts.is_cut(frame.rgb) if frame.cut is None else frame.cut
        if cut:   # a new shot (or a moved camera): nobody's track continues into it
            self.counts["cuts"] += 1
            self._searched, self._whole_in = False, 0
            self._end(self.tracker.finish())
        if self._last_detection is not None and frame.index - self._last_detection < self.cadence.detect_every:
            return
        self._last_detection = frame.index
        self.counts["detection_frames"] += 1
        dets = self._detect(frame)
        self.counts["faces"] += len(dets)
        with self.timer("appearance"):
            looks = [descriptor(frame.rgb, d.box) for d in dets]
        with self.timer("track"):
            update = self.tracker.update(frame.index, dets, looks)
        self._end(update.ended)
        for older, younger in update.merged:
            self._merge(older, younger)
        due = {t.id for t, _ in update.matched if self._due(t)}
        clips = self.settings.clip > 0   # every detection feeds the clips
        ready: list[tuple[Keeper, Candidate]] = []
        for track, det in update.matched:
            if track.id in due:
                self.keepers.setdefault(track.id, Keeper(track.id, frame.time, self.settings.clip))
            keeper = self.keepers.get(track.id)
            if keeper is None:
                continue
            ready += [(keeper, c) for c in keeper.detected(box_side(det.box))]
            if not (clips or track.id in due):
                continue
            with self.timer("crop"):   # a keepsake crop of each scored detection, and of every one with clips
                keep = keepsake_crop(frame.rgb, det.box)
                number = keeper.see(frame.time, keep) if clips else 0
                if track.id in due:
                    keeper.wait(Candidate(frame.index, frame.time, number, crop_face(frame.rgb, det.box), keep, det,
                                          list(track.sides)))
        self._score(ready)

    def _score(self, ready: list[tuple[Keeper, Candidate]]) -> None:
        """Score the crops whose face size is known, in one batch, and offer each to its track's keeper."""
        if not ready:
            return
        dets = [c.detection for _, c in ready]
        with self.timer("score"):
            scores, log_rps = self.judge.score(np.stack([c.crop for _, c in ready]), np.array([d.box for d in dets]),
                                               landmark_array([d.landmarks for d in dets]),
                                               np.array([c.face_side() for _, c in ready]))
        self.counts["faces_scored"] += len(ready)
        for (keeper, candidate), score, lrp in zip(ready, scores, log_rps, strict=True):
            keeper.offer(candidate, float(score), float(lrp))
            if self.on_score is not None:
                self.on_score(keeper.track_id, candidate.index, float(score), candidate.keepsake)

    def _due(self, track: Track) -> bool:
        """Whether this detection of `track` is scored: every `score_every`-th detection from the
        min(`score_every`, `min_hits`)-th on, and any detection from there while none is scored yet (a merge may
        skip one). With `score_every` > 1 a track that never becomes a person costs no scoring."""
        every = self.cadence.score_every
        first = min(every, self.settings.min_hits)
        return track.hits >= first and ((track.hits - first) % every == 0 or track.id not in self.keepers)

    def _detect(self, frame: Frame) -> list[Detection]:
        """The faces of a detection frame. With `full_every` 1 MTCNN searches the whole frame on each. Otherwise
        MTCNN searches the whole frame on the first detection frame and the first after a cut, and then, by
        `whole_search`: once per `full_every` detection frames, a 1/`full_every` horizontal band of MTCNN's windows
        on each ("bands"; the cost spread evenly) or all of it on every `full_every`-th ("burst"); or never again,
        the light finder (`LightFaceFinder`) proposing new faces on every detection frame instead, each looked at by
        MTCNN's last two networks within `PROPOSAL_REACH` of its size ("light"). On every frame faces are also looked
        for near the live tracks' predicted boxes (`FaceDetector.refine`: MTCNN's last network alone where a track
        was seen `STEADY` frames ago or less and has a velocity, its last two within `REACH` of its size
        otherwise)."""
        n, s = self.settings.full_every, self.settings
        if n == 1 or not self._searched or (s.whole_search == "burst" and not self._whole_in):
            self._searched, self._whole_in, self._band = True, n - 1, 0
            self.counts["whole_frame_detections"] += 1
            with self.timer("detect"):
                return detect_scaled(self.detector, frame.rgb, s.detect_width, s.min_face)
        near = self._near_tracks(frame)
        if s.whole_search == "burst":
            self._whole_in -= 1
            return near
        if s.whole_search == "light":
            self.counts["light_searches"] += 1
            with self.timer("detect"):
                predicted = [t.predicted(frame.index) for t in self.tracker.tracks]
                new = [b for b in self.light.propose(frame.rgb, min_face=s.min_face)
                       if all(iou(b, p) <= PROPOSAL_OVERLAP for p in predicted)]
                return near + self.detector.refine(frame.rgb, new, reach=PROPOSAL_REACH)
        band, self._band = self._band, (self._band + 1) % n
        self.counts["band_detections"] += 1
        with self.timer("detect"):
            return near + detect_scaled(self.detector, frame.rgb, s.detect_width, s.min_face, (band, n))

    def _near_tracks(self, frame: Frame) -> list[Detection]:
        """Faces near the live tracks' predicted boxes (see `_detect`)."""
        steady, unsure = [], []
        for t in self.tracker.tracks:
            sure = t.hits > 1 and frame.index - t.last_frame <= STEADY
            (steady if sure else unsure).append(t.predicted(frame.index))
        with self.timer("detect at tracks"):
            return self.detector.refine(frame.rgb, steady) + self.detector.refine(frame.rgb, unsure, reach=REACH)

    def finish(self) -> None:
        """The stream is over: store every open track, then retry any record that could not be written."""
        self._end(self.tracker.finish())
        self._retry_pending()

    def _merge(self, older: Track, younger: Track) -> None:
        """The tracker found `younger` to be a duplicate of `older`: the best crops of both compete (the younger's
        waiting crops scored with the sizes it has seen)."""
        self.counts["tracks_merged"] += 1
        young = self.keepers.pop(younger.id, None)
        if young is not None:
            self._score([(young, c) for c in young.flush()])
            self.keepers.setdefault(older.id, young).absorb(young)
            self.keepers[older.id].track_id = older.id

    def _end(self, tracks: list[Track]) -> None:
        """Tracks ended: their waiting crops are scored (with the sizes seen so far), then each is summarised and,
        when a person, stored."""
        self._score([(k, c) for t in tracks if (k := self.keepers.get(t.id)) is not None for c in k.flush()])
        for track in tracks:
            self._end_one(track)

    def _end_one(self, track: Track) -> None:
        keeper = self.keepers.pop(track.id, None)
        self.counts["tracks_ended"] += 1
        summary = {"track_id": track.id, "confirmed": track.confirmed, "detections": track.hits,
                   "first_frame": track.first_frame, "last_frame": track.last_frame, "record": None}
        if keeper is not None:
            summary.update(keeper.times(), best_score=keeper.best_score, best_log_rp=keeper.best_log_rp)
        face = is_face_track(track.facelike, track.hits)
        if track.confirmed and not face:
            self.counts["false_faces"] += 1
            summary["dropped"] = why_not_a_face(track.facelike, track.hits)
        person = track.confirmed and face and keeper is not None and keeper.image is not None
        if person:
            self.counts["persons"] += 1
        if person and self.vault is not None:   # no vault: a calibration run, which stores nothing
            name = f"{self.settings.camera_id}-{self.run_stamp}-t{track.id:05d}"
            summary["record"] = f"{name}.fvr"
            meta = self._metadata(keeper)
            self.pending.append((name, keeper.image, meta))
            if keeper.clip:
                summary["clip_record"] = f"{name}-clip.fvr"
                clip = {"frames": len(keeper.clip), "best_index": keeper.clip_best,
                        "times": [utc_iso(t) for t, _ in keeper.clip]}
                self.pending.append((f"{name}-clip", np.stack([c for _, c in keeper.clip]), {**meta, "clip": clip}))
            self._retry_pending()
        self.tracks.append(summary)
        if self.on_track_end is not None and keeper is not None:
            self.on_track_end(summary, keeper.history)

    def _metadata(self, keeper: Keeper) -> dict:
        return {"camera_id": self.settings.camera_id, "track_id": keeper.track_id, **keeper.times(),
                "score": keeper.best_score, "score_variant": self.judge.variant, "log_rp": keeper.best_log_rp,
                "faces_scored": len(keeper.history), "model": self.model_id,
                **({"score_reference": self.reference_id} if self.reference_id else {}),
                "expires": utc_iso(keeper.last_time + self.settings.retention_days * DAY)}

    def _retry_pending(self) -> None:
        with self.timer("encrypt+write"):
            while self.pending:
                name, image, meta = self.pending[0]
                try:
                    self.vault.store(name, image, meta)
                except (OSError, VaultError) as exc:   # disk full; key schedule ran out mid-run
                    self.counts["store_failures"] += 1
                    log.error("record %s not written (%s); %d record(s) held in memory, retried later",
                              name, exc, len(self.pending))
                    return
                self.pending.pop(0)
                self.counts["records"] += 1
