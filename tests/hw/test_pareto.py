"""hw.pareto's quality columns: read from the shipped checkpoint's folder for its shape, else by name."""

import json

from hw.build import DEFAULT_CHECKPOINT
from hw.pareto import quality_folder, quality_of
from quant.qvae import QuantSpec


def test_the_shipped_shape_reads_the_shipped_checkpoints_folder_and_others_their_own_name():
    assert quality_folder(24, QuantSpec(4, 4, 8)) == DEFAULT_CHECKPOINT.parent
    assert quality_folder(2, QuantSpec(4, 4, 8)).name == "w4a4_c2"  # a prefix of c24 is not c24
    assert quality_folder(16, QuantSpec(3, 3, 8)).name == "w3a3_c16"


def test_quality_of_the_shipped_shape_is_its_committed_gate_and_table():
    quality = quality_of(24, QuantSpec(4, 4, 8))
    gate = json.loads((DEFAULT_CHECKPOINT.parent / "quant_gate.json").read_text())
    assert quality["spearman"] == gate["spearman"] and quality["min_clean_higher"] >= 0.9
    assert quality_of(16, QuantSpec(4, 4, 8)) is None  # never trained
