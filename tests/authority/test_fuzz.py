"""Every parser of a file an attacker could touch, fuzzed (a few hundred inputs each; the benchmark
`python -m authority.fuzz` runs 10,000): each input accepted or refused with a reason, genuine files unchanged."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis", reason="hypothesis (the dev extra) is not installed")

from authority.fuzz import Workspace, fuzz

PARSERS = ["record", "tombstone", "share file", "key schedule", "camera registry", "access log", "chain state",
           "chain heads", "evidence sidecar"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("fuzz"))


@pytest.mark.parametrize("parser", PARSERS)
def test_fuzzed_input_is_accepted_or_refused_with_a_reason(parser, workspace):
    result = fuzz(workspace.targets()[parser], 200)
    assert result["inputs"] >= 100 and result["refused"] > 0
    assert workspace.unchanged()


def test_every_parser_is_fuzzed(workspace):
    assert sorted(workspace.targets()) == sorted(PARSERS)
