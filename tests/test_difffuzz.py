"""Differential fuzzing finds a broken build's disagreement and writes a candidate vector."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conformance.difffuzz import run_difffuzz
from conformance.runner import Suite, load_suite
from tools.controls import command_for

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
REFERENCE = f"{sys.executable} -m reference.adapter"


def _only(suite: Suite, rel: str) -> Suite:
    files = tuple((r, d) for r, d in suite.files if r == rel)
    return Suite(suite.root, suite.manifest, suite.catalogue, files, suite.digest)


def test_disagreement_becomes_candidate_vector(tmp_path: Path) -> None:
    """A build accepting duplicate map keys disagrees on mutated decode inputs (WIRE-011)."""
    suite = _only(load_suite(VECTORS), "wire_format/decode.json")
    written = run_difffuzz(command_for("drop:WIRE-011"), REFERENCE, suite, 300, tmp_path)
    assert len(written) == 1
    case = json.loads(written[0].read_text())["cases"][0]
    assert case["result"] == "invalid" and case["error"]["code"] == "E_NONCANONICAL"
    assert case["requirements"] == ["WIRE-011"]


def test_reference_agrees_with_itself(tmp_path: Path) -> None:
    """The reference against itself finds nothing."""
    suite = _only(load_suite(VECTORS), "identifiers/forms.json")
    assert run_difffuzz(REFERENCE, REFERENCE, suite, 50, tmp_path) == []
