"""Per-image results for a list of image files, computed in worker processes and cached in chunks.

`image_features`: box, detection flag, non-VAE quality measures and both recognizers' embeddings.
`vae_scores`: every VAE method's score of the shared 64x64 crops (cut again from the cached boxes).
Both take a `Condition`: the images as they are, or degraded (``eval.conditions``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
from collections import Counter
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from eval.cache import Arrays, cached, digest, file_digest
from eval.conditions import CLEAN, Condition
from eval.measure import Measurer
from host.faces import crop_face
from host.judge import QualityJudge, build_judge
from host.pose import detection_features, landmark_array
from host.quality import DEFAULT_SCORE, SCORES, Reference, normalise_exposure
from quant.cli import load_input, output_folder
from quant.score import DEFAULT_BUILD, DEFAULT_CHECKPOINT, MODEL_RULES, make_backend, reference_path

CHUNK = 256            # images per cached chunk
FEATURES_VERSION = 3   # bump when what `_measure_file` computes changes
VAE_VERSION = 2        # bump when what `vae_scores` caches changes
ABLATION = tuple(v for v in SCORES if v.split("+")[0] == "fisher")   # `fisher` with each set of extra terms
_measurer: Measurer | None = None


def _measure_file(job: tuple[str, Condition]) -> dict[str, np.ndarray]:
    global _measurer
    if _measurer is None:
        _measurer = Measurer()
    path, condition = job
    rgb = condition.load(path)
    det = _measurer.detect(rgb)
    m = _measurer.measure(rgb, det)
    return {"box": np.array(m.box), "detected": np.array(m.detected), "landmarks": landmark_array([det.landmarks])[0],
            **{k: np.array(v) for k, v in m.baselines.items()}, **m.embeddings}


def stack_rows(rows: list[dict[str, np.ndarray]]) -> Arrays:
    """Per-item dicts of arrays -> one dict of stacked arrays (same keys)."""
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def _chunks(n: int) -> list[slice]:
    return [slice(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]


def concat_parts(parts: list[Arrays]) -> Arrays:
    """Chunks of arrays -> one dict of concatenated arrays (same keys)."""
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _feature_chunks(paths: list[Path], condition: Condition) -> tuple[list[str], list[tuple[slice, str]]]:
    names = [str(Path(p).resolve()) for p in paths]
    return names, [(s, digest(FEATURES_VERSION, names[s], *condition.key)) for s in _chunks(len(names))]


def features_cached(paths: list[Path], cache: Path, condition: Condition = CLEAN) -> bool:
    """Whether `image_features` would find every chunk of `paths` in `cache`."""
    return all((cache / f"features-{key}.npz").exists() for _, key in _feature_chunks(paths, condition)[1])


def image_features(paths: list[Path], cache: Path, workers: int = 2, stats: Counter | None = None,
                   condition: Condition = CLEAN) -> Arrays:
    """Features of every image as `condition` presents it (arrays in the order of `paths`)."""
    names, chunks = _feature_chunks(paths, condition)
    todo = not features_cached(paths, cache, condition)
    parts: list[Arrays] = []
    # no worker pool when every chunk is cached (starting workers takes seconds)
    with mp.get_context("spawn").Pool(workers) if todo else nullcontext() as pool, \
            tqdm(total=len(names), desc="faces + recognizers", unit="img") as bar:
        for s, key in chunks:
            def compute(s: slice = s) -> Arrays:
                rows = []
                for row in pool.imap(_measure_file, [(n, condition) for n in names[s]], chunksize=4):
                    rows.append(row)
                    bar.update()
                return stack_rows(rows)
            before = bar.n
            parts.append(cached(cache, "features", key, compute, stats))
            bar.update(s.stop - s.start - (bar.n - before))  # a cached chunk counts at once
    return concat_parts(parts)


@dataclass(frozen=True)
class VaeModel:
    """A VAE backend with its score reference; `key` identifies its weights for the cache (per-crop features
    depend on nothing else: a refitted reference or another default variant changes the scores, not them)."""

    name: str          # "float" or "sim"
    judge: QualityJudge
    key: str

    @property
    def scores_key(self) -> str:
        """What the judge's scores depend on: the weights, the score reference and the variant."""
        return digest(self.key, asdict(self.judge.reference), self.judge.variant)


def float_model(checkpoint: Path) -> VaeModel:
    judge = QualityJudge(make_backend("float", checkpoint), Reference.load(reference_path("float", checkpoint)),
                         DEFAULT_SCORE)
    return VaeModel("float", judge, digest(file_digest(checkpoint)))


def sim_model(build: Path) -> VaeModel:
    files = [build / n for n in ("encoder.npz", "decoder.npz", "manifest.json")]
    return VaeModel("sim", build_judge(build), digest(*(file_digest(f) for f in files)))


def add_model_options(ap: argparse.ArgumentParser, cached: str) -> None:
    """The options of an evaluation of both VAE models: ``--cache`` (of `cached`, numbers only), ``--checkpoint``
    and ``--build`` (the two models `vae_models` loads)."""
    ap.add_argument("--cache", type=output_folder, default=Path(".cache/eval"),
                    help=f"cache of {cached} (numbers only); delete it to recompute")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                    help="float VAE checkpoint (its score_reference.json beside it)")
    ap.add_argument("--build", type=Path, default=DEFAULT_BUILD,
                    help="hw build folder whose bit-accurate simulator gives the quantized VAE's scores")


REFERENCE_RULE = "a score reference (python -m eval.fit_reference)"


def add_expnorm_options(ap: argparse.ArgumentParser, absent: str) -> None:
    """``--expnorm-float-reference`` and ``--expnorm-sim-reference``: references fitted on exposure-normalised
    good faces, for the ``*_expnorm`` methods (`expnorm_references`); `absent` says what happens without one."""
    for name in ("float", "sim"):
        ap.add_argument(f"--expnorm-{name}-reference", type=Path, default=None, metavar="JSON",
                        help=f"score reference of the {name} model fitted on exposure-normalised good faces (python "
                             f"-m eval.fit_reference --exposure-normalised) for the *_expnorm methods ({absent})")


def expnorm_references(args: argparse.Namespace) -> dict[str, Reference]:
    """The references `add_expnorm_options` gave, by model name; InputError naming the option that fails."""
    return {name: load_input(f"--expnorm-{name}-reference", REFERENCE_RULE, Reference.load, path)
            for name, path in (("float", args.expnorm_float_reference), ("sim", args.expnorm_sim_reference))
            if path is not None}


def vae_models(checkpoint: Path, build: Path) -> list[VaeModel]:
    """The float model of `checkpoint` and the simulator of `build`; InputError naming the option that fails."""
    return [load_input("--checkpoint", MODEL_RULES["float"], float_model, checkpoint),
            load_input("--build", MODEL_RULES["sim"], sim_model, build)]


def crops_of(paths: list[Path], boxes: np.ndarray, condition: Condition = CLEAN) -> np.ndarray:
    """The shared 64x64 grey crops of the images, as `condition` presents them, at the given boxes."""
    return np.stack([crop_face(condition.load(p), tuple(b)) for p, b in zip(paths, boxes, strict=True)])


def variant_scores(model: VaeModel, feats: Arrays, variants: tuple[str, ...] = (),
                   reference: Reference | None = None) -> Arrays:
    """``vae_<model>`` (the judge's score), ``vae_<variant>_<model>`` for each other of `variants` and
    ``vae_raw_<model>`` (the paper's log RP) from a model's features, against `reference` (default: the
    model's own)."""
    ref = model.judge.reference if reference is None else reference
    out = {f"vae_{model.name}": SCORES[model.judge.variant](feats, ref)}
    out.update({f"vae_{v}_{model.name}": SCORES[v](feats, ref) for v in variants if v != model.judge.variant})
    return {**out, f"vae_raw_{model.name}": feats["log_rp"]}


def vae_scores(paths: list[Path], boxes: np.ndarray, cache: Path, models: list[VaeModel],
               stats: Counter | None = None, condition: Condition = CLEAN, landmarks: np.ndarray | None = None,
               variants: tuple[str, ...] = (), expnorm: dict[str, Reference] | None = None) -> Arrays:
    """``vae_raw_<model>`` (the paper's log RP), ``vae_<model>`` (the judge's score) and ``vae_<variant>_<model>``
    for each of `variants`, for every image; for a model named in `expnorm` also all of them with ``_expnorm``:
    the crop exposure-normalised (`normalise_exposure`) and scored against that reference. The VAE's features
    are cached; the scores are computed from them with the images' boxes and `landmarks` (N, 5, 2; NaN where
    unknown, default all unknown)."""
    names = [str(Path(p).resolve()) for p in paths]
    marks = np.full((len(paths), 5, 2), np.nan) if landmarks is None else landmarks
    out: dict[str, list[np.ndarray]] = {}
    for model in models:
        kinds = [("", None), *([("_expnorm", expnorm[model.name])] if model.name in (expnorm or {}) else [])]
        for suffix, ref in kinds:
            for s in tqdm(_chunks(len(names)), desc=f"VAE ({model.name}{suffix})", unit="chunk"):
                def compute(s: slice = s, model: VaeModel = model, norm: bool = bool(suffix)) -> Arrays:
                    crops = crops_of(paths[s], boxes[s], condition)
                    return model.judge.features(normalise_exposure(crops) if norm else crops)
                key = digest(VAE_VERSION, model.key, names[s], boxes[s].tolist(), *condition.key,
                             *(["expnorm"] if suffix else []))
                feats = cached(cache, f"vae-{model.name}", key, compute, stats) | detection_features(boxes[s], marks[s])
                for name, score in variant_scores(model, feats, variants, ref).items():
                    out.setdefault(name + suffix, []).append(score)
    return {k: np.concatenate(v) for k, v in out.items()}
