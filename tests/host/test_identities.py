"""One track and one record per person on synthetic clips of two LFW people: a hard cut at the same place, two
faces crossing, a non-face blob detected on every frame."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from host.faces import Detection, FaceDetector, keepsake_crop, read_rgb
from host.pipeline import FrameSelector, Settings
from host.sources import array_frames
from host.vault import parse
from tests.host.fakes import SharpnessJudge, camera_vault

PEOPLE = ("Colin_Powell", "Laura_Bush")


@pytest.fixture(scope="module")
def stills(data_dir) -> list[np.ndarray]:
    """One 250x250 LFW photo of each of two people (faces at the same place: the images are aligned)."""
    return [read_rgb(data_dir / "lfw-dev" / "images" / name / f"{name}_0001.jpg") for name in PEOPLE]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def run(detector, folder, frames, **settings):
    box, key, _ = camera_vault(folder)
    sel = FrameSelector(detector, SharpnessJudge(), box, Settings(**settings), "m")
    for frame in array_frames(frames, start_time=1_700_000_000.0):
        sel.process(frame)
    sel.finish()
    return sel, {parse(p).meta["track_id"]: parse(p).open(key) for p in folder.glob("*.fvr")}


def likeness(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two crops' grey pixels."""
    x, y = (cv2.cvtColor(c, cv2.COLOR_RGB2GRAY).astype(np.float64).ravel() for c in (a, b))
    return float(np.corrcoef(x, y)[0, 1])


def test_a_hard_cut_at_the_same_place_gives_two_tracks_and_two_records(detector, stills, tmp_path):
    sel, records = run(detector, tmp_path, [stills[0]] * 6 + [stills[1]] * 6)
    assert sel.counts["cuts"] == 1 and sel.counts["records"] == 2
    spans = sorted((t["first_frame"], t["last_frame"]) for t in sel.tracks if t["record"])
    assert spans == [(0, 5), (6, 11)]
    box = (75.0, 70.0, 100.0, 120.0)   # roughly where LFW's alignment puts the face
    for track in sel.tracks:
        person = 0 if track["first_frame"] < 6 else 1
        kept, own, other = records[track["track_id"]], stills[person], stills[1 - person]
        assert likeness(kept, keepsake_crop(own, box)) > likeness(kept, keepsake_crop(other, box))


PATHS = {"cross": ((90, 290), (290, 90)),                 # walk through each other
         "meet and turn back": ((90, 170, 90), (290, 210, 290))}   # where constant velocity predicts a crossing


def crossing_clip(stills: list[np.ndarray], path: str, frames: int = 24) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Two faces (100 px) walk along `path` on one line, the second in front, before a still background (a plain
    one would make the moving faces the whole picture: a cut); frames and true x per face."""
    faces = [cv2.resize(s[60:190, 60:190], (100, 100), interpolation=cv2.INTER_AREA) for s in stills]
    t = np.linspace(0, 1, frames)
    xs = [np.interp(t, np.linspace(0, 1, len(p)), p).round().astype(int) for p in PATHS[path]]
    coarse = np.random.default_rng(0).integers(60, 200, (10, 24, 3)).astype(np.uint8)
    background = cv2.resize(coarse, (480, 200), interpolation=cv2.INTER_LINEAR)
    clip = []
    for f in range(frames):
        canvas = background.copy()
        for face, x in zip(faces, xs, strict=True):
            canvas[50:150, x[f]:x[f] + 100] = face
        clip.append(canvas)
    return clip, xs


@pytest.mark.parametrize("path", PATHS)
def test_two_faces_crossing_keep_their_identities(detector, stills, tmp_path, path):
    clip, xs = crossing_clip(stills, path)
    box, _, _ = camera_vault(tmp_path)
    sel = FrameSelector(detector, SharpnessJudge(), box, Settings(min_hits=2), "m")
    who: dict[int, set[int]] = {}
    track = sel.tracker.update

    def watched(frame, dets, looks=None):
        update = track(frame, dets, looks)
        for t, d in update.matched:   # the face whose true position is nearest the detection
            who.setdefault(t.id, set()).add(int(np.argmin([abs(d.centre[0] - (x[frame] + 50)) for x in xs])))
        return update

    sel.tracker.update = watched
    for frame in array_frames(clip, start_time=0.0):
        sel.process(frame)
    sel.finish()
    assert all(len(people) == 1 for people in who.values()), who
    assert sel.counts["records"] == 2 and {p for t in sel.tracks if t["record"] for p in who[t["track_id"]]} == {0, 1}


class BlobDetector:
    """A detector that finds the same non-face every frame, with the confidence MTCNN gave such things."""

    def detect(self, rgb: np.ndarray, *, min_face: float | None = None, band: tuple[int, int] = (0, 1)
               ) -> list[Detection]:
        return [Detection((40.0, 30.0, 60.0, 60.0), 0.85, ((55, 50), (85, 50), (70, 62), (58, 75), (82, 75)))]


def test_a_static_non_face_detected_every_frame_is_not_stored(tmp_path):
    frames = [np.full((160, 200, 3), 90, np.uint8)] * 20
    box, _, _ = camera_vault(tmp_path)
    sel = FrameSelector(BlobDetector(), SharpnessJudge(), box, Settings(), "m")
    for frame in array_frames(frames, start_time=0.0):
        sel.process(frame)
    sel.finish()
    (track,) = sel.tracks
    assert sel.counts["false_faces"] == 1 and sel.counts["records"] == 0 and not list(tmp_path.glob("*.fvr"))
    assert track["confirmed"] and track["record"] is None and "0 of 20 detections" in track["dropped"]
