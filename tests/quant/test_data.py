import json
import shutil

import cv2
import numpy as np

from quant.data import crop_files, list_images, main, pair_persons


def test_pair_persons_reads_same_and_different_pairs(tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("1\t2\nAnn_A\t1\t2\nBob_B\t1\tCid_C\t3\n")
    assert pair_persons(pairs) == {"Ann_A", "Bob_B", "Cid_C"}


def test_list_images_skips_excluded_persons_and_non_images(tmp_path):
    for name in ("Ann_A", "Dan_D"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}_0001.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("no image")
    assert [p.parent.name for p in list_images([tmp_path], {"Ann_A"})] == ["Dan_D"]
    assert [p.parent.name for p in list_images([tmp_path], only_persons={"Ann_A"})] == ["Ann_A"]


def test_cropping_a_mixed_folder_reports_every_file_and_never_stops(data_dir, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    face = cv2.imread(str(data_dir / "celeba-aligned-10k" / "000002.jpg"))
    cv2.imwrite(str(src / "a_colour.png"), face)
    cv2.imwrite(str(src / "b_grey.png"), cv2.cvtColor(face, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(src / "c_rgba.png"), cv2.cvtColor(face, cv2.COLOR_BGR2BGRA))
    cv2.imwrite(str(src / "d_16bit.png"), face.astype(np.uint16) * 257)
    cv2.imwrite(str(src / "e_blank.png"), np.full((100, 100, 3), 90, np.uint8))
    (src / "f_corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    results = crop_files(list_images([src]), workers=1)
    assert [r["status"] for r in results] == ["ok"] * 4 + ["no_face", "unreadable"]
    # colour, RGBA and 16-bit encodings of one face give the same crop (grey is detected apart)
    crops = np.stack([results[i]["crop"] for i in (0, 2, 3)]).astype(int)
    assert np.abs(crops - crops[0]).max() <= 1


def test_cli_writes_crops_and_manifest(data_dir, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("000003.jpg", "000004.jpg"):
        shutil.copy(data_dir / "celeba-aligned-10k" / name, src / name)
    (src / "broken.jpg").write_bytes(b"")
    out = tmp_path / "crops.npz"
    assert main([str(src), "-o", str(out), "--workers", "1"]) == 0
    arrays = np.load(out)
    assert arrays["crops"].shape == (2, 64, 64) and arrays["crops"].dtype == np.uint8
    assert arrays["boxes"].shape == (2, 4) and (arrays["confidence"] > 0.9).all()
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["counts"] == {"ok": 2, "unreadable": 1}


def test_cli_fails_clearly_on_an_empty_folder(tmp_path, capsys):
    assert main([str(tmp_path), "-o", str(tmp_path / "x.npz")]) == 2
    assert "no image files found" in capsys.readouterr().err


def test_cli_skips_the_files_of_an_earlier_manifest(data_dir, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("000003.jpg", "000004.jpg", "000005.jpg"):
        shutil.copy(data_dir / "celeba-aligned-10k" / name, src / name)
    first, second = tmp_path / "first.npz", tmp_path / "second.npz"
    assert main([str(src), "-o", str(first), "--sample", "2", "--workers", "1"]) == 0
    assert main([str(src), "-o", str(second), "--skip-listed", str(first.with_suffix(".json")),
                 "--workers", "1"]) == 0
    paths = [set(np.load(out)["paths"]) for out in (first, second)]
    assert len(paths[0]) == 2 and len(paths[1]) == 1 and not paths[0] & paths[1]
    (tmp_path / "bad.json").write_text("[]")
    assert main([str(src), "-o", str(second), "--skip-listed", str(tmp_path / "bad.json")]) == 2
    assert "not a crops manifest" in capsys.readouterr().err
