"""Tests of tools.specdiff: requirement and vector differences between two trees or revisions."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools.specdiff import compare, main_specdiff

HEADER = "# 03. Wire format\n\nRequirement code: WIRE. Conformance class: Core.\n\n"
OLD_SPEC = HEADER + """\
An encoder MUST write every integer in the shortest form [WIRE-001].

A decoder MUST reject tags [WIRE-002].

A decoder MUST reject `undefined` [WIRE-003].

A decoder SHOULD report the offset of the first error [WIRE-004].

A map MUST NOT
contain two equal keys [WIRE-006].
"""
NEW_SPEC = HEADER + """\
An encoder MUST write every integer in its shortest form [WIRE-001].

A decoder MUST report the offset of the first error [WIRE-004].

A decoder MUST reject indefinite lengths [WIRE-005].

A map MUST NOT contain two equal keys [WIRE-006].
"""
RETIRED_HEAD = "# Retired requirement ids\n\n| id | retired in | why |\n| --- | --- | --- |\n"


def case(case_id: str, reqs: list[str], output: str) -> dict[str, Any]:
    """A vector case of `cbor.encode` citing `reqs`."""
    return {"id": case_id, "requirements": reqs, "description": case_id,
            "command": "cbor.encode", "input": {"value": {"int": "1"}}, "result": "valid",
            "output": {"bytes": output}}


OLD_CASES = [case("int-1", ["WIRE-001"], "01"), case("offset", ["WIRE-004"], "02"),
             case("tag", ["WIRE-002"], "c0"), case("keys", ["WIRE-006"], "a0")]
NEW_CASES = [{**case("int-1", ["WIRE-001"], "01"), "description": "reworded"},
             case("offset", ["WIRE-004"], "0203"), case("indef", ["WIRE-005"], "9f"),
             case("keys", ["WIRE-006"], "a0")]


def write_tree(root: Path, spec: str, retired: list[str], cases: list[dict[str, Any]]) -> Path:
    """A minimal repository tree: one chapter, spec/retired.md and one vector file."""
    (root / "spec").mkdir(parents=True, exist_ok=True)
    (root / "spec" / "03-wire-format.md").write_text(spec, "utf-8")
    rows = "".join(f"| {i} | 0.2.0 | replaced |\n" for i in retired)
    (root / "spec" / "retired.md").write_text(RETIRED_HEAD + rows, "utf-8")
    folder = root / "vectors" / "wire_format"
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": "strata-vectors/1", "spec_version": "0.1.0", "chapter": "03-wire-format",
           "cases": cases}
    (folder / "encode.json").write_text(json.dumps(doc, indent=2), "utf-8")
    return root


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    """OLD and NEW trees: WIRE-001 reworded, WIRE-002 retired, WIRE-003 dropped unretired,
    WIRE-004 raised to MUST, WIRE-005 added, WIRE-006 only rewrapped."""
    old = write_tree(tmp_path / "old", OLD_SPEC, [], OLD_CASES)
    new = write_tree(tmp_path / "new", NEW_SPEC, ["WIRE-002"], NEW_CASES)
    return old, new


def test_requirement_changes(trees: tuple[Path, Path]) -> None:
    """Added, retired, unretired and changed ids are told apart; rewrapping is no change."""
    diff = compare(*trees)
    assert diff.added == ("WIRE-005",)
    assert diff.retired == ("WIRE-002",)
    assert diff.unretired == ("WIRE-003",)
    assert diff.changed == (("WIRE-001", ("text",)), ("WIRE-004", ("text", "level")))
    assert diff.errors == 1


def test_vector_changes(trees: tuple[Path, Path]) -> None:
    """Cases are compared by file and id: added, removed and changed (with the fields)."""
    diff = compare(*trees)
    assert diff.cases_added == ("wire_format/encode.json#indef",)
    assert diff.cases_removed == ("wire_format/encode.json#tag",)
    assert diff.cases_changed == (("wire_format/encode.json#int-1", ("description",)),
                                  ("wire_format/encode.json#offset", ("output",)))


def test_changed_requirement_with_unchanged_vector_is_warned(trees: tuple[Path, Path]) -> None:
    """WIRE-001's case changed only its description, so it is warned; WIRE-004's output did."""
    diff = compare(*trees)
    assert diff.stale == (("WIRE-001", ("wire_format/encode.json#int-1",)),)
    assert diff.uncited == ()


def test_report_and_exit_code(trees: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """An id removed without being retired fails the diff (1) and the report says why."""
    old, new = trees
    assert main_specdiff(old, str(old), str(new)) == 1
    out = capsys.readouterr().out
    assert "WIRE-003 was removed but is not listed in spec/retired.md" in out
    assert "WIRE-001 changed but its vector case wire_format/encode.json#int-1 did not" in out
    assert "+ WIRE-005 MUST: A decoder MUST reject indefinite lengths" in out
    assert "level: SHOULD -> MUST" in out
    assert "requirements changed (2):" in out  # ids, not the lines that detail them


def test_retiring_every_removed_id_passes(tmp_path: Path) -> None:
    """With WIRE-002 and WIRE-003 both retired the diff is informational only (0)."""
    old = write_tree(tmp_path / "old", OLD_SPEC, [], OLD_CASES)
    new = write_tree(tmp_path / "new", NEW_SPEC, ["WIRE-002", "WIRE-003"], NEW_CASES)
    assert main_specdiff(tmp_path, str(old), str(new)) == 0


def test_reused_retired_id_is_an_error(tmp_path: Path) -> None:
    """An id retired in OLD that NEW defines again is reported as reused."""
    old = write_tree(tmp_path / "old", OLD_SPEC, ["WIRE-005"], OLD_CASES)
    new = write_tree(tmp_path / "new", NEW_SPEC, ["WIRE-002", "WIRE-003", "WIRE-005"], NEW_CASES)
    diff = compare(old, new)
    assert diff.reused == ("WIRE-005",) and diff.errors == 1


def test_unknown_revision_is_a_usage_error(tmp_path: Path) -> None:
    """A name that is neither a folder nor a revision is refused (2)."""
    assert main_specdiff(tmp_path, "no-such-revision", str(tmp_path)) == 2


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_revisions_are_diffed_without_touching_the_tree(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two commits are exported and diffed by revision; the working tree stays as it was."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    write_tree(repo, OLD_SPEC, [], OLD_CASES)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "old")
    write_tree(repo, NEW_SPEC, ["WIRE-002", "WIRE-003"], NEW_CASES)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "new")
    (repo / "untracked.txt").write_text("keep me")
    assert main_specdiff(repo, "HEAD~1", "HEAD") == 0
    out = capsys.readouterr().out
    assert "spec diff HEAD~1 -> HEAD" in out
    assert "+ WIRE-005" in out and "- WIRE-003" in out and "~ WIRE-001 (text)" in out
    assert "~ wire_format/encode.json#offset (output)" in out
    assert (repo / "spec" / "03-wire-format.md").read_text() == NEW_SPEC
    assert _git(repo, "status", "--porcelain") == "?? untracked.txt\n"
