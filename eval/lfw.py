"""The evaluation set: LFW persons of ``pairs.txt`` (never trained on) and the two comparison protocols."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quant.data import LfwImage, read_pairs


def image_path(root: Path, image: LfwImage) -> Path:
    person, number = image
    return root / "images" / person / f"{person}_{number:04d}.jpg"


def person_images(root: Path, person: str) -> list[LfwImage]:
    """Every image of `person` in the LFW folder, by number."""
    files = sorted((root / "images" / person).glob(f"{person}_*.jpg"))
    return [(person, int(f.stem.rsplit("_", 1)[1])) for f in files]


@dataclass(frozen=True)
class LfwSet:
    """Images, the standard pairs, and the paper's reference/probe comparisons."""

    root: Path
    images: list[LfwImage]                          # sorted; every image used by either protocol
    pairs: list[tuple[LfwImage, LfwImage, bool]]    # protocol 1: pairs.txt (image a, image b, same)
    probes: list[tuple[LfwImage, LfwImage]]         # protocol 2: (reference, probe) of the same person

    def path(self, image: LfwImage) -> Path:
        return image_path(self.root, image)

    def probe_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows in `images` of every (reference, probe) pair: two aligned int arrays."""
        index = {im: i for i, im in enumerate(self.images)}
        return (np.array([index[r] for r, _ in self.probes], dtype=int),
                np.array([index[p] for _, p in self.probes], dtype=int))


def reference_image(images: list[LfwImage]) -> LfwImage:
    """The paper protocol's reference of a person: the lowest-numbered LFW image. The numbering follows
    no quality criterion, so the rule is independent of every method under test."""
    return min(images, key=lambda im: im[1])


def lfw_set(root: Path, pairs_per_kind: int | None = None) -> LfwSet:
    """The set from ``root/pairs.txt`` and ``root/images``.

    `pairs_per_kind` keeps only the first that many genuine and impostor pairs (a quick subset); the
    paper protocol then uses only the persons of the kept pairs.
    """
    pairs = read_pairs(root / "pairs.txt")
    if pairs_per_kind is not None:
        pairs = ([p for p in pairs if p[2]][:pairs_per_kind] + [p for p in pairs if not p[2]][:pairs_per_kind])
    persons = sorted({im[0] for a, b, _ in pairs for im in (a, b)})
    images = {im for a, b, _ in pairs for im in (a, b)}
    probes = []
    for person in persons:
        own = person_images(root, person)
        if len(own) >= 2:
            ref = reference_image(own)
            probes += [(ref, im) for im in own if im != ref]
            images.update(own)
    missing = [im for im in images if not image_path(root, im).exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} images named by {root / 'pairs.txt'} are missing, "
                                f"e.g. {image_path(root, missing[0])}")
    return LfwSet(root, sorted(images), pairs, probes)
