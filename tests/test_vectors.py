"""The checked-in vectors: schema-valid, equal to a fresh generation, and diffable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from tools import vectors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
SCHEMA = json.loads((VECTORS / "schemas" / "vector-file.schema.json").read_text())
FILES = sorted(p for p in VECTORS.rglob("*.json")
               if "cases" in json.loads(p.read_text()) and "schemas" not in p.parts)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(VECTORS).as_posix())
def test_vector_file_matches_schema(path: Path) -> None:
    """Every vector file validates against vectors/schemas/vector-file.schema.json."""
    jsonschema.validate(json.loads(path.read_text()), SCHEMA)


def test_checked_in_vectors_equal_fresh_generation(capsys: pytest.CaptureFixture[str]) -> None:
    """Regenerating from the reference reproduces every checked-in file byte for byte."""
    code = vectors.check(VECTORS)
    out = capsys.readouterr().out
    assert code == 0, f"{out}\nregenerate with: strata vectors generate"


def test_check_detects_an_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hand edit of a vector file is reported, with the command that regenerates."""
    copy = tmp_path / "v"
    shutil.copytree(VECTORS, copy)
    target = copy / "wire_format" / "hex.json"
    target.write_text(target.read_text().replace("E_HEX_INVALID", "E_CBOR_MALFORMED", 1))
    assert vectors.check(copy) == 1
    out = capsys.readouterr().out
    assert "differs: wire_format/hex.json" in out and "strata vectors generate" in out


def test_diff_reports_changed_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`strata vectors diff` names a changed case and the fields that changed."""
    copy = tmp_path / "v"
    shutil.copytree(VECTORS, copy)
    target = copy / "wire_format" / "hex.json"
    doc = json.loads(target.read_text())
    doc["cases"][0]["error"]["code"] = "E_OTHER"
    removed = doc["cases"].pop()
    target.write_text(json.dumps(doc))
    vectors.diff(VECTORS, copy)
    out = capsys.readouterr().out
    assert f"~ wire_format/hex.json#{doc['cases'][0]['id']} (error)" in out
    assert f"- wire_format/hex.json#{removed['id']}" in out
