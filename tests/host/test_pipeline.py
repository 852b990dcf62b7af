"""The camera pipeline on synthetic input with a fast stand-in judge: persons, odd input, full disk."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from host.faces import Detection, FaceDetector, read_rgb
from host.pipeline import Candidate, FrameSelector, Keeper, Settings
from host.pose import SIZE_LAG
from host.sources import array_frames
from host.tracking import distinct, iou
from host.vault import Vault, parse
from host.walkby import portrait, walkby_clip
from tests.host.fakes import SharpnessJudge, camera_vault, needs_light_finder
from tests.host.walkby_checks import near_bright_sharp_frontal


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture
def key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def selector(detector, key, folder, **settings) -> FrameSelector:
    return FrameSelector(detector, SharpnessJudge(), camera_vault(folder, key=key)[0], Settings(**settings), "m")


def run(sel: FrameSelector, frames) -> FrameSelector:
    for frame in array_frames(frames, start_time=1_700_000_000.0):
        sel.process(frame)
    sel.finish()
    return sel


def test_walkby_keeps_one_record_with_the_best_crop(detector, key, tmp_path):
    sel = run(selector(detector, key, tmp_path), walkby_clip())
    records = sorted(tmp_path.glob("*.fvr"))
    assert sel.counts["persons"] == 1 and len(records) == 1
    rec = parse(records[0])
    assert rec.meta["faces_scored"] == sel.counts["faces_scored"] > 60
    assert rec.open(key).shape == (128, 128, 3)
    assert near_bright_sharp_frontal(rec.meta["best_frame"])


@pytest.mark.parametrize("clip, score_every", [(3, 1), (2, 3)])
def test_a_clip_around_the_best_crop_is_a_second_record(detector, key, tmp_path, clip, score_every):
    sel = run(selector(detector, key, tmp_path, clip=clip, score_every=score_every), walkby_clip())
    (clip_path,) = tmp_path.glob("*-clip.fvr")
    (best,) = set(tmp_path.glob("*.fvr")) - {clip_path}
    assert sel.counts["persons"] == 1 and sel.counts["records"] == 2
    kept, record = parse(best), parse(clip_path)
    frames, info = record.open(key), record.meta["clip"]
    assert frames.shape == (info["frames"], 128, 128, 3) and info["frames"] == 2 * clip + 1  # the face stays long
    np.testing.assert_array_equal(frames[info["best_index"]], kept.open(key))
    assert info["times"][info["best_index"]] == kept.meta["best_time"] == record.meta["best_time"]
    assert info["times"] == sorted(info["times"]) and len(set(info["times"])) == len(info["times"])
    assert (sel.tracks[0]["record"], sel.tracks[0]["clip_record"]) == (best.name, clip_path.name)


def candidate(frame: int, number: int = 0) -> Candidate:
    """A waiting crop of frame `frame` (its pixels: the frame number), detection `number` of its track."""
    crop = np.full(1, frame, np.uint8)
    return Candidate(frame, float(frame), number, crop, crop, Detection((0, 0, 40, 40), 1.0), [40.0])


def test_clip_bookkeeping_keeps_n_before_the_best_and_n_after():
    """As the camera does: each crop is scored `SIZE_LAG` detections later (the rest at the track's end), and the
    clip is cut around the best from the crops seen."""
    keeper = Keeper(1, 0.0, clip_length=2)
    scores = [1, 5, 2, 3, 9, 4, 0, 0, 0]   # best at 1, then a better one at 4
    for i in range(len(scores)):
        ready = keeper.detected(40.0)
        keeper.wait(candidate(i, keeper.see(float(i), np.full(1, i, np.uint8))))
        assert [c.index for c in ready] == ([i - SIZE_LAG] if i >= SIZE_LAG else [])
        for c in ready:
            keeper.offer(c, scores[c.index], 0.0)
    assert [c.index for c in keeper.flush()] == list(range(len(scores) - SIZE_LAG, len(scores)))
    assert [int(c[0]) for _, c in keeper.clip] == [2, 3, 4, 5, 6] and keeper.clip_best == 2
    assert keeper.best_frame == 4 and [s for _, s in keeper.history] == scores[:-SIZE_LAG]
    with pytest.raises(ValueError, match="clip"):
        Settings(clip=-1)


def test_no_faces_no_records(detector, key, tmp_path):
    frames = [np.full((240, 320, 3), 90, np.uint8)] * 5
    sel = run(selector(detector, key, tmp_path), frames)
    assert sel.counts["frames"] == 5 and sel.counts["faces"] == 0 and not list(tmp_path.glob("*.fvr"))


def test_odd_frame_sizes_do_not_stop_the_stream(detector, key, tmp_path):
    frames = [np.zeros((1, 1, 3), np.uint8), np.zeros((17, 9, 3), np.uint8), np.zeros((3, 2000, 3), np.uint8),
              np.zeros((601, 33, 3), np.uint8), next(walkby_clip(1))]
    sel = run(selector(detector, key, tmp_path, detect_width=320), frames)
    assert sel.counts["frames"] == 5


def crowd_frame(rows: int = 6, cols: int = 6) -> np.ndarray:
    face = cv2.resize(portrait(), (96, 108), interpolation=cv2.INTER_AREA)
    frame = np.full((rows * 130, cols * 120, 3), 110, np.uint8)
    for r in range(rows):
        for c in range(cols):
            frame[r * 130 + 10:r * 130 + 118, c * 120 + 12:c * 120 + 108] = face
    return frame


def test_36_faces_per_frame(detector, key, tmp_path):
    frame = crowd_frame()
    sel = run(selector(detector, key, tmp_path, min_hits=2, detect_width=1024), [frame] * 3)
    assert sel.counts["faces"] >= 3 * 30
    assert sel.counts["records"] == sel.counts["persons"] >= 30


def test_full_disk_keeps_records_in_memory_until_writable(detector, key, tmp_path, monkeypatch):
    failures = {"left": 3}
    real_store = Vault.store

    def flaky_store(self, name, image, meta):
        if failures["left"]:
            failures["left"] -= 1
            raise OSError(28, "No space left on device")
        return real_store(self, name, image, meta)

    monkeypatch.setattr(Vault, "store", flaky_store)
    sel = selector(detector, key, tmp_path, min_hits=2)
    run(sel, [crowd_frame(1, 3)] * 2)
    assert sel.counts["store_failures"] == 3 and sel.pending == []
    assert sel.counts["records"] == 3 == len(list(tmp_path.glob("*.fvr")))


def test_settings_are_validated():
    with pytest.raises(ValueError, match="camera id"):
        Settings(camera_id="../etc")
    with pytest.raises(ValueError, match="retention"):
        Settings(retention_days=0)


def test_a_merged_duplicate_track_offers_its_best_crop_to_the_older_one():
    def keeper(track_id: int, scores: dict[int, float]) -> Keeper:
        k = Keeper(track_id, 0.0)
        for i, score in scores.items():
            k.offer(candidate(i), score, 0.0)
        return k

    older, younger = keeper(1, {0: 1.0, 1: 2.0}), keeper(2, {2: 5.0, 3: 0.5})
    older.absorb(younger)
    assert (older.best_score, older.best_frame, int(older.image[0])) == (5.0, 2, 2)
    assert [t for t, _ in older.history] == [0.0, 1.0, 2.0, 3.0] and older.last_time == 3.0
    older.absorb(keeper(3, {4: 0.1}))   # a worse one adds its scores only
    assert older.best_frame == 2 and len(older.history) == 5


class CountingDetector:
    """Finds nothing; notes each call's frame width and minimum face size."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float | None]] = []

    def detect(self, rgb: np.ndarray, *, min_face: float | None = None, band: tuple[int, int] = (0, 1)) -> list:
        self.calls.append((rgb.shape[1], min_face))
        return []


def test_detection_runs_k_source_frames_after_the_last_and_maps_the_minimum_face_size(key, tmp_path):
    from host.sources import Frame

    found = CountingDetector()
    sel = FrameSelector(found, SharpnessJudge(), camera_vault(tmp_path, key=key)[0],
                        Settings(detect_every=3, detect_width=400, min_face=40), "m")
    for index in (0, 1, 2, 4, 5, 6, 7, 11, 12):   # frames 3 and 8-10 were dropped (real time)
        sel.process(Frame(index, float(index), np.zeros((300, 800, 3), np.uint8)))
    assert sel.counts["detection_frames"] == 4 == len(found.calls)     # frames 0, 4, 7 and 11
    assert found.calls[0] == (400, 20.0)                                  # 40 full-frame pixels at half size
    with pytest.raises(ValueError, match="min_face must be a positive number of pixels, not 0"):
        Settings(min_face=0)


class ScriptedDetector:
    """One face at a fixed centre whose box side on frame i is `sides[i]` (landmarks of a frontal face)."""

    def __init__(self, sides: list[float]) -> None:
        self.sides, self.frame = sides, 0

    def detect(self, rgb: np.ndarray, *, min_face: float | None = None, band: tuple[int, int] = (0, 1)) -> list:
        side, self.frame = self.sides[self.frame], self.frame + 1
        x0 = y0 = 100 - side / 2
        marks = tuple((x0 + fx * side, y0 + fy * side) for fx, fy in
                      ((0.3, 0.4), (0.7, 0.4), (0.5, 0.55), (0.35, 0.75), (0.65, 0.75)))
        return [Detection((x0, y0, side, side), 0.99, marks)]


class SizeRecordingJudge(SharpnessJudge):
    def __init__(self) -> None:
        self.sides: list[float] = []

    def score(self, crops, boxes=None, landmarks=None, sides=None):
        self.sides.extend(sides.tolist())
        return super().score(crops, boxes, landmarks, sides)


@pytest.mark.parametrize(("boxes", "sizes"), [
    ([40, 42, 70, 44, 46], [42, 43, 44, 45, 46]),                   # one inflated box
    ([40, 44, 48, 52, 56, 60, 64], [44, 46, 48, 52, 56, 58, 60])])  # approaching: no lag but at the cut-off ends
def test_each_crop_is_scored_with_the_size_of_the_detections_around_it(key, tmp_path, boxes, sizes):
    """The judge gets a crop once the track's next `SIZE_LAG` detections are known, with the median box side of
    the window centred on it; the last ones when the track ends."""
    from host.sources import Frame

    judge = SizeRecordingJudge()
    sel = FrameSelector(ScriptedDetector(boxes), judge, camera_vault(tmp_path, key=key)[0], Settings(min_hits=1),
                        "m")
    for index in range(len(boxes)):
        sel.process(Frame(index, float(index), np.full((200, 200, 3), 120, np.uint8)))
        assert len(judge.sides) == max(index + 1 - SIZE_LAG, 0)
    sel.finish()
    assert judge.sides == sizes and sel.counts["faces_scored"] == len(boxes) and sel.counts["records"] == 1


def lfw_scene(data_dir, frames: int, *, second_from: int) -> list[np.ndarray]:
    """`frames` 720x360 frames: Colin Powell's LFW photo moving right by 4 px a frame, Laura Bush's standing still,
    fading in over 3 frames from frame `second_from` on (no scene cut)."""
    people = [read_rgb(data_dir / "lfw-dev" / "images" / n / f"{n}_0001.jpg") for n in ("Colin_Powell", "Laura_Bush")]
    scene = []
    for i in range(frames):
        frame = np.full((360, 720, 3), 90, np.uint8)
        frame[50:300, 40 + 4 * i:290 + 4 * i] = people[0]
        if i >= second_from:
            share = min(1.0, (i - second_from + 1) / 3)
            frame[60:310, 430:680] = (share * people[1] + (1 - share) * frame[60:310, 430:680]).astype(np.uint8)
        scene.append(frame)
    return scene


def detections_per_frame(sel: FrameSelector) -> dict[int, list]:
    """Each frame's detections as `sel`'s tracker receives them, filled in as it runs."""
    seen: dict[int, list] = {}
    update = sel.tracker.update

    def logging_update(frame, detections, looks=None):
        seen[frame] = list(detections)
        return update(frame, detections, looks)

    sel.tracker.update = logging_update
    return seen


def test_between_whole_frame_searches_tracked_faces_are_found_at_their_boxes_and_new_ones_wait(
        detector, key, data_dir, tmp_path):
    scene = lfw_scene(data_dir, 9, second_from=1)
    runs = {}
    for every in (1, 4):
        sel = selector(detector, key, tmp_path / str(every), full_every=every, whole_search="burst")
        runs[every] = detections_per_frame(sel), run(sel, scene)
    (whole, _), (sparse, sel) = runs[1], runs[4]
    assert sel.counts["cuts"] == 0
    assert sel.counts["whole_frame_detections"] == 3 and sel.counts["detection_frames"] == 9   # frames 0, 4, 8
    for frame in range(9):   # the moving face on every frame, where the whole-frame search finds it
        moving = next(d for d in whole[frame] if d.box[0] < 360)
        assert any(iou(np.array(d.box), np.array(moving.box)) > 0.75 for d in sparse[frame])
        assert len(sparse[frame]) == (1 if frame < 4 else 2)   # the second face: from the next whole search on
    spans = sorted((t["first_frame"], t["last_frame"], t["detections"]) for t in sel.tracks if t["record"])
    assert spans == [(0, 8, 9), (4, 8, 5)]


def searched_both_ways(detector, key, data_dir, tmp_path, whole_search: str) -> tuple[tuple, tuple]:
    """The LFW scene of a moving face and one fading in from frame 1, run searching the whole frame on every frame
    and with `whole_search` between whole searches every 4th: each run's detections per frame and its selector."""
    scene = lfw_scene(data_dir, 9, second_from=1)
    runs = []
    for name, settings in (("whole", {}), (whole_search, {"full_every": 4, "whole_search": whole_search})):
        sel = selector(detector, key, tmp_path / name, **settings)
        seen = detections_per_frame(sel)
        runs.append((seen, run(sel, scene)))
    return runs[0], runs[1]


def test_with_bands_the_whole_frame_is_searched_a_band_a_frame_and_new_faces_found_within_a_cycle(
        detector, key, data_dir, tmp_path):
    (whole, _), (banded, sel) = searched_both_ways(detector, key, data_dir, tmp_path, "bands")
    assert sel.counts["whole_frame_detections"] == 1 and sel.counts["band_detections"] == 8
    faces = {f: len(distinct(banded[f])) for f in range(9)}           # a band and the tracks may find one face twice
    second = min(f for f in range(9) if len(whole[f]) == 2)          # when a whole search first sees her
    assert min(f for f in range(9) if faces[f] == 2) <= second + 3 and all(faces[f] >= 1 for f in range(9))
    assert sorted((t["first_frame"], t["last_frame"]) for t in sel.tracks if t["record"])[0] == (0, 8)
    assert sum(1 for t in sel.tracks if t["record"]) == 2


@needs_light_finder
def test_with_the_light_finder_new_faces_are_found_on_the_frame_they_appear_and_mtcnn_boxes_them(
        detector, key, data_dir, tmp_path):
    (whole, whole_sel), (light, sel) = searched_both_ways(detector, key, data_dir, tmp_path, "light")
    assert sel.counts["whole_frame_detections"] == 1 and sel.counts["light_searches"] == 8
    assert sel.counts["band_detections"] == 0
    for frame in range(9):   # every face MTCNN's pyramid finds, found on the same frame, an MTCNN box with landmarks
        for face in whole[frame]:
            assert any(iou(np.array(d.box), np.array(face.box)) > 0.75 and len(d.landmarks) == 5
                       for d in light[frame]), frame
    assert sorted((t["first_frame"], t["last_frame"]) for t in sel.tracks if t["record"]) == \
        sorted((t["first_frame"], t["last_frame"]) for t in whole_sel.tracks if t["record"])


def test_a_cut_makes_the_next_detection_search_the_whole_frame(detector, key, data_dir, tmp_path):
    first, second = lfw_scene(data_dir, 5, second_from=99), lfw_scene(data_dir, 5, second_from=-3)
    second = [f[:, ::-1].copy() for f in second]   # mirrored: a new shot
    sel = run(selector(detector, key, tmp_path, full_every=100), first + second)
    assert sel.counts["cuts"] == 1 and sel.counts["whole_frame_detections"] == 2
    assert sorted((t["first_frame"], t["last_frame"]) for t in sel.tracks if t["record"]) == [(0, 4), (5, 9), (5, 9)]


@pytest.mark.parametrize("score_every, scored", [(1, 9), (2, 4), (4, 2)])
def test_a_track_is_scored_from_its_confirmation_on_every_kth_detection(detector, key, data_dir, tmp_path,
                                                                        score_every, scored):
    sel = run(selector(detector, key, tmp_path, score_every=score_every),
              lfw_scene(data_dir, 9, second_from=99))   # one face, 9 detections; confirmed at the 3rd
    assert sel.counts["faces"] == 9 and sel.counts["faces_scored"] == scored   # 1-9; 2, 4, 6, 8; 3, 7
    assert sel.counts["records"] == 1
