"""The evaluation set: pairs parsing, the reference rule, protocol membership, missing files."""

from __future__ import annotations

import pytest

from eval.lfw import lfw_set, reference_image
from quant.data import pair_persons, read_pairs


def _lfw(tmp_path, files: dict[str, int], pairs: list[str]):
    for person, count in files.items():
        (tmp_path / "images" / person).mkdir(parents=True)
        for i in range(1, count + 1):
            (tmp_path / "images" / person / f"{person}_{i:04d}.jpg").write_bytes(b"")
    (tmp_path / "pairs.txt").write_text("1\t2\n" + "\n".join(pairs) + "\n")
    return tmp_path


def test_pairs_and_protocols(tmp_path):
    root = _lfw(tmp_path, {"Ann": 3, "Bob": 1, "Cy": 2, "Dee": 4},
                ["Ann\t2\t3", "Cy\t1\t2", "Ann\t1\tBob\t1"])
    assert read_pairs(root / "pairs.txt")[2] == (("Ann", 1), ("Bob", 1), False)
    assert pair_persons(root / "pairs.txt") == {"Ann", "Bob", "Cy"}
    s = lfw_set(root)
    assert ("Dee", 1) not in s.images                           # not an evaluation person
    assert s.probes == [(("Ann", 1), ("Ann", 2)), (("Ann", 1), ("Ann", 3)), (("Cy", 1), ("Cy", 2))]
    assert s.images == [("Ann", 1), ("Ann", 2), ("Ann", 3), ("Bob", 1), ("Cy", 1), ("Cy", 2)]
    quick = lfw_set(root, pairs_per_kind=1)
    assert [p[2] for p in quick.pairs] == [True, False]
    assert {p[0][0] for p in quick.probes} == {"Ann"}            # only the kept pairs' persons


def test_reference_is_the_lowest_number():
    assert reference_image([("A", 7), ("A", 2), ("A", 11)]) == ("A", 2)


def test_bad_pairs_file_and_missing_images_are_clear_errors(tmp_path):
    root = _lfw(tmp_path, {"Ann": 1}, ["Ann\t1\t2"])
    with pytest.raises(FileNotFoundError, match="1 images named by"):
        lfw_set(root)
    (root / "pairs.txt").write_text("1 1\nAnn 1\n")
    with pytest.raises(ValueError, match="3 or 4 fields"):
        read_pairs(root / "pairs.txt")
