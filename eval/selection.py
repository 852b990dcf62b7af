"""Selection benchmark: per person a walk-by track; each method keeps one frame; is the kept record recognisable?

    python -m eval.selection                     # both splits (see docs/evaluations.md for the run time)
    python -m eval.selection --persons 20        # a quick subset: the first 20 persons of each split

Persons: those of LFW ``pairs.txt`` (``../shared/data/lfw-dev``, never trained on, never in a score
reference) with at least 3 images; a person's fold is that of the pairs they appear in (600 pairs per
fold in file order): folds 1-2 are the design split, 3-5 the confirm split. Gallery: the person's
lowest-numbered image, clean. Track: --frames frames rendered from the person's other images by the
walk-by camera model of ``eval.walkby_tracks`` (one seed per person from --seed).

Every frame goes through the camera's path: MTCNN on the frame (faces from 20 px, the detector's
default), the detection nearest the rendered face (within half its width; none: the frame is no
candidate, counted as a missed detection), the shared 64x64 crop the judge scores and the 128x128 RGB
keepsake crop a record stores. FaceNet and dlib (``eval.recognizers``) measure the keepsake crop exactly
as stored, each with its own alignment from it: MTCNN on the crop, else the box the crop was cut around
(known: the crop adds 15 % of the box's side on every side). The gallery images are embedded as in
``eval.erc`` (MTCNN on the clean photo); each recognizer's threshold is at FMR 1e-3 over every
different-person pair of the split's clean images, up to 5 per person (the lowest-numbered; a cap that
halves the work and still gives 280,000 and 475,000 impostor pairs).

Methods (one kept frame per track): random (exact expectation), first, middle, largest face, Laplacian,
BRISQUE, MTCNN confidence, ORACLE (per recognizer: the candidate most similar to the gallery image; a
bound) and every score variant of ``host.quality`` for the float model (--checkpoint) and the simulator
of the shipped build (--build), on the plain crop (``vae_<variant>_<model>``) and on the exposure-
normalised crop (``..._expnorm``). Measured: FNMR of (kept crop, own gallery image) and rank-1
identification against the split's whole gallery, with a person-level bootstrap (--bootstrap draws):
95 % intervals, the gap closed ((random - method) / (random - ORACLE) in FNMR) and the share of draws
in which the default score (simulator) beats each method.

Only numbers are cached (--cache; per chunk of tracks, so an interrupted run resumes): boxes,
landmarks, confidences, baselines, embeddings and the VAE's per-crop features; the score variants are
computed from them, so a new variant needs no recomputation. Writes to --out: selection.json,
selection.md, selection_<split>.png (FNMR and rank-1 per method) and the documentation figures
walkby_examples.png and picks_<split>.png (they show LFW pixels).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eval import walkby_tracks as walkby
from eval.cache import Arrays, cached, digest
from eval.erc import FMR, impostor_scores, shown
from eval.extract import (
    VaeModel,
    add_expnorm_options,
    add_model_options,
    concat_parts,
    expnorm_references,
    features_cached,
    image_features,
    stack_rows,
    vae_models,
)
from eval.lfw import image_path, person_images, reference_image
from eval.measure import BASELINES, Measurer
from eval.metrics import threshold_at_fmr
from eval.probes import DATA
from eval.recognizers import RECOGNIZERS
from eval.selection_metrics import frame_outcomes, method_outcomes, positional_scores, summarise
from eval.selection_report import markdown, plot_methods, plot_picks
from host.faces import CROP_MARGIN, KEEP_SIZE, MIN_FACE_SIZE, Detection, crop_face, keepsake_crop, read_rgb
from host.pose import centred_sides, detection_features
from host.quality import DEFAULT_SCORE, Reference, crop_features, normalise_exposure, quality_scores
from host.scoring import reconstruct
from quant.cli import (
    LFW_RULE,
    CliParser,
    lfw_folder,
    load_input,
    non_negative_int,
    non_negative_number,
    number_rule,
    output_folder,
    positive_int,
    reports_input_errors,
)
from quant.data import read_pairs

FEATURES_VERSION = 1     # bump when what `measure_frame` or `vae_features` computes changes
CHUNK_TRACKS = 8         # tracks per cached chunk (the checkpoint of a long run)
MATCH_RADIUS = 0.5       # a detection is the rendered face's if its centre lies within this x face width
MIN_IMAGES = 3           # a gallery image and at least two for the track
CLEAN_IMAGES = 5         # clean images per person (lowest-numbered) whose impostor pairs set the threshold
SPLITS = {"design": (1, 2), "confirm": (3, 4, 5)}
KINDS = ("plain", "expnorm")   # the crop as cut, and exposure-normalised (host.quality.normalise_exposure)
DEFAULT_METHOD = f"vae_{DEFAULT_SCORE}_sim"
EMBEDDING = {"facenet": 512, "dlib": 128}   # embedding sizes (NaN rows where no face was found)
at_least_two = number_rule(int, "an integer of at least 2", lambda v: v >= 2)
_measurer: Measurer | None = None


@dataclass(frozen=True)
class Track:
    """One person's walk-by: the gallery image, the photos the frames are rendered from, the drawn plan."""

    person: str
    gallery: Path
    photos: tuple[Path, ...]
    plan: walkby.TrackPlan


def split_persons(root: Path, limit: int | None = None) -> dict[str, list[str]]:
    """Persons of ``pairs.txt`` with at least MIN_IMAGES images per split (sorted; the first `limit` of each)."""
    header = (root / "pairs.txt").read_text().split("\n", 1)[0].split()
    pairs = read_pairs(root / "pairs.txt")
    folds = int(header[0]) if len(header) == 2 else 1
    per_fold = max(len(pairs) // max(folds, 1), 1)
    fold: dict[str, int] = {}
    for i, pair in enumerate(pairs):
        for person, _ in pair[:2]:
            fold.setdefault(person, i // per_fold + 1)
    out = {name: sorted(p for p, f in fold.items() if f in folds_ and len(person_images(root, p)) >= MIN_IMAGES)
           for name, folds_ in SPLITS.items()}
    if not any(out.values()):
        raise ValueError(f"{root / 'pairs.txt'} names no person with at least {MIN_IMAGES} images in {root / 'images'}")
    return {name: persons[:limit] for name, persons in out.items()}


def make_track(root: Path, person: str, frames: int, seed: int) -> Track:
    """A person's track: gallery = the lowest-numbered image; walk-by seeded by (`seed`, name)."""
    images = person_images(root, person)
    gallery = reference_image(images)
    photos = tuple(image_path(root, im) for im in images if im != gallery)
    plan = walkby.draw_track(int(digest(seed, person), 16) % 2**63, frames, len(photos))
    return Track(person, image_path(root, gallery), photos, plan)


def keepsake_box(box: tuple[float, float, float, float], size: int = KEEP_SIZE) -> tuple[float, float, float, float]:
    """Where `box` lies in its keepsake crop (the square of `host.faces.square_region`, resized to `size`)."""
    x, y, w, h = box
    side = max(w, h) * (1 + 2 * CROP_MARGIN)
    x0, y0 = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
    k = size / max(round(side), 1)
    return ((x - x0) * k, (y - y0) * k, w * k, h * k)


def rendered_face(dets: list[Detection], truth: tuple[float, float, float, float]) -> Detection | None:
    """The detection nearest the rendered face's centre, if within MATCH_RADIUS x its width."""
    cx, cy = truth[0] + truth[2] / 2, truth[1] + truth[3] / 2
    near = [(np.hypot(d.centre[0] - cx, d.centre[1] - cy), i) for i, d in enumerate(dets)]
    dist, i = min(near, default=(np.inf, -1))
    return dets[i] if dist <= MATCH_RADIUS * truth[2] else None


def measure_frame(m: Measurer, frame: np.ndarray, truth: tuple[float, float, float, float]) -> dict[str, np.ndarray]:
    """The camera's path on one frame: numbers of the kept face and its 64x64 crop (``crop``, zeros if none)."""
    dets = m.detector.detect(frame)
    det = rendered_face(dets, truth)
    row = {"detections": np.array(len(dets)), "detected": np.array(det is not None), "box": np.full(4, np.nan),
           "landmarks": np.full((5, 2), np.nan), "keep_box": np.full(4, np.nan), "keep_detected": np.array(False),
           **{b: np.array(np.nan) for b in BASELINES},
           **{r: np.full(n, np.nan, np.float32) for r, n in EMBEDDING.items()},
           "crop": np.zeros((64, 64), np.uint8)}
    if det is None:
        return row
    crop = crop_face(frame, det.box)
    keep = keepsake_crop(frame, det.box)
    align = m.detect(keep, fallback=keepsake_box(det.box))
    row.update({"box": np.array(det.box), "keep_box": np.array(align.box),
                "keep_detected": np.array(align.confidence > 0),
                **{b: np.array(v) for b, v in m.baselines(frame, det, crop).items()}, **m.embed(keep, align.box),
                "crop": crop})
    if len(det.landmarks) == 5:
        row["landmarks"] = np.array(det.landmarks)
    return row


def _measure_job(job: tuple[Track, int]) -> dict[str, np.ndarray]:
    global _measurer
    if _measurer is None:
        _measurer = Measurer()
    track, t = job
    frame = walkby.render_frame(read_rgb(track.photos[track.plan.frames[t].image]), track.plan, t)
    return measure_frame(_measurer, frame, walkby.face_box(track.plan, t))


def frames_key(tracks: list[Track]) -> str:
    """Cache key of a chunk of tracks' frame numbers: everything they depend on but the VAE."""
    return digest(FEATURES_VERSION, walkby.parameters(), MIN_FACE_SIZE, MATCH_RADIUS,
                  [(t.person, str(t.gallery.resolve()), [str(p.resolve()) for p in t.photos], t.plan.seed,
                    len(t.plan.frames)) for t in tracks])


def rendered_crops(tracks: list[Track], boxes: np.ndarray, keepsake: bool = False) -> np.ndarray:
    """The crops of every frame of `tracks` at `boxes` (rows in track, frame order; zeros where NaN): the 64x64
    grey VAE crop, or with `keepsake` the 128x128 RGB record crop. In memory only."""
    out = []
    for track in tracks:
        scene = walkby.background(track.plan)
        for t, f in enumerate(track.plan.frames):
            box = boxes[len(out)]
            if not np.isfinite(box).all():
                out.append(np.zeros((KEEP_SIZE, KEEP_SIZE, 3) if keepsake else (64, 64), np.uint8))
                continue
            frame = walkby.render_frame(read_rgb(track.photos[f.image]), track.plan, t, scene)
            out.append(keepsake_crop(frame, tuple(box)) if keepsake else crop_face(frame, tuple(box)))
    return np.stack(out)


def vae_features(model: VaeModel, crops: np.ndarray, detected: np.ndarray) -> Arrays:
    """``<kind>__<feature>`` per frame (NaN where no face was found) for the plain and the exposure-normalised
    crops: the per-crop features every score variant is computed from."""
    out: Arrays = {}
    for kind in KINDS:
        x = crops[detected] if kind == "plain" else normalise_exposure(crops[detected])
        feats = crop_features(reconstruct(model.judge.backend, x)) if len(x) else {}
        for name, v in feats.items():
            full = np.full((len(crops), *v.shape[1:]), np.nan)
            full[detected] = v
            out[f"{kind}__{name}"] = full
    return out


def track_features(groups: list[list[Track]], cache: Path, models: dict[str, VaeModel], workers: int,
                   stats: Counter | None = None) -> Arrays:
    """Numbers of every frame of every track of every group (rows in group, track, frame order), cached per
    CHUNK_TRACKS tracks of a group (so a subset's chunks are the whole set's) and computed taking the groups in
    turn (an interrupted run has the same number of tracks of each group); the VAE features of each model
    (`models`: weights key -> model) are keys ``<name>.<kind>__<feature>``."""
    split = [[g[i:i + CHUNK_TRACKS] for i in range(0, len(g), CHUNK_TRACKS)] for g in groups]
    place = sorted(((c, g) for g, chunks_ in enumerate(split) for c in range(len(chunks_))))
    chunks = [split[g][c] for c, g in place]
    tracks = [t for g in groups for t in g]
    keys = [frames_key(c) for c in chunks]
    todo = [c for c, k in zip(chunks, keys, strict=True) if not (cache / f"selection-frames-{k}.npz").exists()]
    jobs = ((track, t) for c in todo for track in c for t in range(len(track.plan.frames)))
    parts: dict[tuple[int, int], Arrays] = {}
    with mp.get_context("spawn").Pool(workers) if todo else nullcontext() as pool, \
            tqdm(total=sum(len(t.plan.frames) for t in tracks), desc="walk-by frames", unit="frame") as bar:
        results = pool.imap(_measure_job, jobs, chunksize=2) if todo else iter(())
        for (c, g), chunk, key in zip(place, chunks, keys, strict=True):
            crops: list[np.ndarray] = []
            n = sum(len(t.plan.frames) for t in chunk)

            def compute(n: int = n, crops: list = crops) -> Arrays:
                rows = []
                for _ in range(n):
                    rows.append(next(results))
                    crops.append(rows[-1].pop("crop"))
                    bar.update()
                return stack_rows(rows)
            before = bar.n
            part = cached(cache, "selection-frames", key, compute, stats)
            detected = part["detected"].astype(bool)
            for weights, model in models.items():
                def vae(chunk: list[Track] = chunk, model: VaeModel = model, crops: list = crops,
                        boxes: np.ndarray = part["box"], detected: np.ndarray = detected) -> Arrays:
                    if not crops:   # frames from the cache: cut the crops again (rendering is deterministic)
                        crops.extend(rendered_crops(chunk, boxes))
                    return vae_features(model, np.stack(crops), detected)
                feats = cached(cache, f"selection-vae-{model.name}", digest(weights, key), vae, stats)
                part.update({f"{model.name}.{k}": v for k, v in feats.items()})
            parts[g, c] = part
            bar.update(n - (bar.n - before))
    return concat_parts([parts[k] for k in sorted(parts)])


def track_sides(boxes: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Each candidate frame's face size as the camera gives it to the score: `centred_sides` over the track's
    candidate detections. boxes (P*T, 4), candidate (P, T) -> (P*T,), NaN elsewhere."""
    side = boxes[:, 2:].max(axis=1).reshape(candidate.shape)
    out = np.full(candidate.shape, np.nan)
    for p in range(len(candidate)):
        out[p, candidate[p]] = centred_sides(side[p, candidate[p]])
    return out.reshape(-1)


def candidates(feats: Arrays, frames: int, min_face: float) -> np.ndarray:
    """(tracks, frames): where the face was detected with a box side of at least `min_face` pixels."""
    side = np.nan_to_num(feats["box"][:, 2:].max(axis=1), nan=0.0)
    return (feats["detected"].astype(bool) & (side >= min_face)).reshape(-1, frames)


def method_scores(feats: Arrays, models: list[VaeModel], frames: int, min_face: float = 0.0,
                  expnorm: dict[str, Reference] | None = None) -> dict[str, np.ndarray]:
    """Every scored method's score per frame (NaN where no face was found): the baselines and each VAE variant
    of each model on the plain and the exposure-normalised crop, computed from the cached features, with the
    size the camera gives a track of `frames` detections of at least `min_face` pixels (`track_sides`; a frame
    below it keeps its own box's). The normalised crops are scored against `expnorm`[model name] where given,
    else the model's own reference."""
    detected = feats["detected"].astype(bool)
    out = {b: feats[b].astype(float) for b in BASELINES}
    sides = track_sides(feats["box"], candidates(feats, frames, min_face))
    own = np.nan_to_num(feats["box"][:, 2:].max(axis=1), nan=1.0)
    pose = detection_features(feats["box"][detected], feats["landmarks"][detected],
                              np.where(np.isnan(sides), own, sides)[detected])
    for model in models:
        for kind in KINDS:
            prefix = f"{model.name}.{kind}__"
            crop = {k.removeprefix(prefix): v[detected] for k, v in feats.items() if k.startswith(prefix)}
            ref = (expnorm or {}).get(model.name, model.judge.reference) if kind == "expnorm" else model.judge.reference
            for variant, s in quality_scores({**crop, **pose}, ref).items():
                full = np.full(len(detected), np.nan)
                full[detected] = s
                out[f"vae_{variant}_{model.name}" + ("_expnorm" if kind == "expnorm" else "")] = full
    return out


def clean_embeddings(root: Path, persons: list[str], cache: Path, workers: int, stats: Counter,
                     split: list[str] | None = None) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Embeddings of the CLEAN_IMAGES lowest-numbered clean images of each of `persons` (the gallery image
    first) as eval.erc makes them, each row's person index, and the row of each person's gallery image.
    Where every image of `split` (the whole split, of which `persons` is a prefix) is cached, they are
    taken from there, so a subset reuses a whole run's cache."""
    def listed(names: list[str]) -> list:
        return [im for p in names for im in person_images(root, p)[:CLEAN_IMAGES]]
    images = listed(persons)
    every = listed(split or persons)
    if features_cached([image_path(root, im) for im in every], cache):
        feats = {k: v[:len(images)] for k, v in image_features([image_path(root, im) for im in every], cache).items()}
    else:
        feats = image_features([image_path(root, im) for im in images], cache, workers, stats)
    owner = np.array([persons.index(p) for p, _ in images])
    rows = {im: i for i, im in enumerate(images)}
    gallery = np.array([rows[reference_image(person_images(root, p))] for p in persons])
    return {r: feats[r] for r in RECOGNIZERS}, owner, gallery


def evaluate_split(feats: Arrays, scores: dict[str, np.ndarray], clean: tuple, frames: int, resamples: int,
                   min_face: float = 0.0) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """Counts and, per recognizer, threshold and every method's summary; and per recognizer each method's picks.
    A frame is a candidate where the face was detected with a box side of at least `min_face` pixels."""
    emb, owner, gallery = clean
    persons = len(gallery)
    candidate = candidates(feats, frames, min_face)
    per_frame = {m: s.reshape(persons, frames) for m, s in scores.items()}
    per_frame.update(positional_scores(persons, frames))
    aligned = feats["keep_detected"].astype(bool).reshape(persons, frames)
    result = {"persons": persons, "frames": persons * frames, "missed_detections": int((~candidate).sum()),
              "tracks_without_candidates": int((~candidate.any(axis=1)).sum()),
              "alignment_fallbacks": int((candidate & ~aligned).sum()),
              "clean_images": len(owner), "recognizers": {}}
    chosen_all = {}
    for rec in RECOGNIZERS:
        impostors = impostor_scores(emb[rec], owner)
        threshold = threshold_at_fmr(impostors, FMR)
        kept = feats[rec].reshape(persons, frames, -1)
        frame = frame_outcomes(kept, emb[rec][gallery], candidate, threshold)
        outcomes, chosen = method_outcomes(per_frame, frame, candidate)
        result["impostor_pairs"] = len(impostors)
        result["recognizers"][rec] = {"threshold": threshold, "methods": summarise(outcomes, DEFAULT_METHOD, resamples)}
        chosen_all[rec] = chosen
    return result, chosen_all


def documentation_figures(tracks: list[Track], feats: Arrays, chosen: dict[str, np.ndarray], split: str, out: Path,
                          count: int = 3) -> None:
    """walkby_examples.png (first split only) and picks_<split>.png for the first `count` tracks (LFW pixels)."""
    frames = len(tracks[0].plan.frames)
    shown_tracks = tracks[:count]
    if split == next(iter(SPLITS)) or not (out / "walkby_examples.png").exists():
        walkby.plot_tracks([(t.person, walkby.render_track([read_rgb(p) for p in t.photos], t.plan))
                            for t in tracks[:4]], out / "walkby_examples.png")
    boxes = feats["box"][:len(shown_tracks) * frames]
    crops = rendered_crops(shown_tracks, boxes, keepsake=True)
    crops = crops.reshape(len(shown_tracks), frames, *crops.shape[1:])
    plot_picks([(t.person, crops[i], {m: int(p[i]) for m, p in chosen.items()}) for i, t in enumerate(shown_tracks)],
               DEFAULT_METHOD, out / f"picks_{split}.png")


def print_summary(summary: dict) -> None:
    for split, s in summary["splits"].items():
        print(f"\n{split}: {s['persons']} persons, {s['missed_detections']} of {s['frames']} frames without the face")
        for rec, r in s["recognizers"].items():
            print(f"  {rec} (threshold {r['threshold']:.4f}): FNMR % / rank-1 % / gap closed %")
            for m, v in sorted(r["methods"].items(), key=lambda kv: kv[1]["fnmr"]):
                print(f"    {m:40s} {100 * v['fnmr']:6.1f} {100 * v['rank1']:6.1f} {100 * v['gap_closed']:7.1f}")


@reports_input_errors
def main(argv: list[str] | None = None) -> int:
    ap = CliParser(prog="python -m eval.selection", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=lfw_folder, default=DATA / "lfw-dev",
                    help="LFW folder with pairs.txt (folds of 600 pairs in file order) and images/")
    ap.add_argument("--out", type=output_folder, default=Path("docs/selection"),
                    help="output folder for selection.json, selection.md and the figures (default docs/selection)")
    add_model_options(ap, "boxes, embeddings and VAE features")
    add_expnorm_options(ap, "default: the model's own reference")
    ap.add_argument("--frames", type=at_least_two, default=10, metavar="T", help="frames per track (at least 2)")
    ap.add_argument("--persons", type=at_least_two, default=None, metavar="N",
                    help="only the first N persons (by name) of each split: a quick subset (a threshold needs "
                         "impostor pairs, so at least 2)")
    ap.add_argument("--split", choices=("design", "confirm", "both"), default="both",
                    help="design (persons of folds 1-2), confirm (folds 3-5) or both")
    ap.add_argument("--bootstrap", type=non_negative_int, default=1000, metavar="N",
                    help="person-level bootstrap draws for the 95 %% intervals and shares (0: none)")
    ap.add_argument("--workers", type=positive_int, default=2,
                    help="processes rendering frames and running detector, recognizers and baselines")
    ap.add_argument("--seed", type=non_negative_int, default=0, help="seed of the walk-by tracks")
    ap.add_argument("--min-face", type=non_negative_number, default=0.0, metavar="PX",
                    help="only faces whose detector box is at least PX pixels are candidates (the camera program's "
                         "--min-face; default 0: every detection, down to MTCNN's own 20 px)")
    args = ap.parse_args(argv)
    start = time.time()
    models = vae_models(args.checkpoint, args.build)
    expnorm = expnorm_references(args)
    everyone = load_input("--lfw", LFW_RULE, split_persons, args.lfw)
    persons = {s: p[:args.persons] for s, p in everyone.items()}
    splits = [s for s in SPLITS if args.split in (s, "both")]
    tracks = {s: [make_track(args.lfw, p, args.frames, args.seed) for p in persons[s]] for s in splits}
    print(", ".join(f"{s}: {len(t)} persons" for s, t in tracks.items()), file=sys.stderr)
    stats: Counter = Counter()
    weights = {m.key: m for m in models}
    feats = track_features([tracks[s] for s in splits], args.cache, weights, args.workers, stats)
    scores = method_scores(feats, models, args.frames, args.min_face, expnorm)
    args.out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"date": time.strftime("%Y-%m-%d"), "frames_per_track": args.frames, "seed": args.seed,
                     "bootstrap_resamples": args.bootstrap, "fmr": FMR, "min_face": args.min_face,
                     "default_method": DEFAULT_METHOD,
                     "checkpoint": shown(args.checkpoint), "build": shown(args.build), "lfw": shown(args.lfw),
                     "walkby": walkby.parameters(),
                     "expnorm_references": {n: shown(p) for n, p in (("float", args.expnorm_float_reference),
                                                                     ("sim", args.expnorm_sim_reference)) if p},
                     "splits": {}}
    row = 0
    for s in splits:
        n = len(tracks[s]) * args.frames
        part = {k: v[row:row + n] for k, v in feats.items()}
        clean = clean_embeddings(args.lfw, persons[s], args.cache, args.workers, stats, everyone[s])
        result, chosen = evaluate_split(part, {m: v[row:row + n] for m, v in scores.items()}, clean, args.frames,
                                        args.bootstrap, args.min_face)
        summary["splits"][s] = {"folds": SPLITS[s], **result}
        plot_methods(s, result["recognizers"], DEFAULT_METHOD, args.out / f"selection_{s}.png")
        documentation_figures(tracks[s], part, chosen[RECOGNIZERS[0]], s, args.out)
        row += n
    summary["seconds"] = round(time.time() - start, 1)
    summary["cache_chunks"] = dict(stats)
    (args.out / "selection.json").write_text(json.dumps(summary, indent=1))
    (args.out / "selection.md").write_text(markdown(summary))
    print_summary(summary)
    print(f"\n{args.out}: selection.json, selection.md, selection_*.png, picks_*.png ({summary['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
