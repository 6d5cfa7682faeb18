"""Tests of the harness runner and the suite loader (spec/16-conformance.md sections 2, 5, 6)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from conformance.driver import Response
from conformance.runner import Run, SuiteError, judge_case, load_suite

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
REFERENCE = f"{sys.executable} -m reference.adapter"


def test_invalid_suite_edited_file(tmp_path: Path) -> None:
    """A vector file edited after generation makes the harness refuse the suite."""
    shutil.copytree(VECTORS, tmp_path / "v")
    target = tmp_path / "v" / "wire_format" / "hex.json"
    doc = json.loads(target.read_text())
    doc["cases"][0]["error"]["code"] = "E_CBOR_MALFORMED"
    target.write_text(json.dumps(doc))
    with pytest.raises(SuiteError, match="manifest hash"):
        load_suite(tmp_path / "v")


def test_invalid_suite_unlisted_file(tmp_path: Path) -> None:
    """A vector file not in the manifest makes the harness refuse the suite."""
    shutil.copytree(VECTORS, tmp_path / "v")
    (tmp_path / "v" / "wire_format" / "extra.json").write_text("{}")
    with pytest.raises(SuiteError, match="unlisted"):
        load_suite(tmp_path / "v")


def test_invalid_suite_mixed_versions(tmp_path: Path) -> None:
    """A manifest naming another spec version than its files is refused."""
    shutil.copytree(VECTORS, tmp_path / "v")
    manifest = json.loads((tmp_path / "v" / "manifest.json").read_text())
    manifest["spec_version"] = "9.9.9"
    (tmp_path / "v" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SuiteError, match="spec"):
        load_suite(tmp_path / "v")


def test_judge_case_outcomes() -> None:
    """A case passes only on the recorded answer; code mismatches and wrong outputs fail."""
    invalid = {"result": "invalid", "error": {"code": "E_NONCANONICAL"}}
    assert judge_case(invalid, Response(ok=False, error={"code": "E_NONCANONICAL"}))[0] == "passed"
    assert judge_case(invalid, Response(ok=False, error={"code": "E_CBOR_LIMIT"}))[0] == "failed"
    assert judge_case(invalid, Response(ok=True, result={}))[0] == "failed"
    valid = {"result": "valid", "output": {"x": 1}}
    assert judge_case(valid, Response(ok=True, result={"x": 1}))[0] == "passed"
    assert judge_case(valid, Response(ok=True, result={"x": 2}))[0] == "failed"
    acceptable = {"result": "acceptable", "output": {"x": 1}}
    assert judge_case(acceptable, Response(ok=False, error={"code": "E_X"}))[0] == "acceptable"


def test_every_case_accounted() -> None:
    """A full run against the reference conforms and leaves no vector case unaccounted."""
    suite = load_suite(VECTORS)
    report = Run(REFERENCE, suite, examples=10).execute()
    failed = [r for r in report["requirements"] if r["verdict"] == "failed"]
    assert failed == [], failed[:3]
    total = sum(len(doc["cases"]) for _, doc in suite.files)
    assert report["cases"]["total"] == total
    assert report["cases"]["unaccounted"] == 0
    assert report["cases"]["passed"] == total
    claimed = set(report["implementation"]["classes"])
    for req in report["requirements"]:
        if req["class"] in claimed and req["level"] == "MUST":
            assert req["verdict"] in ("passed", "untested"), req["id"]


def test_f32_tolerance() -> None:
    """f32 arrays match within atol + rtol*|expected|; everything else must match exactly."""
    import struct

    from conformance.runner import matches

    def f32(*values: float) -> str:
        return struct.pack(f">{len(values)}f", *values).hex()

    tol = {"atol": 1e-4, "rtol": 1e-4}
    assert matches({"f32": f32(1.0, -2.0), "shape": [2]}, {"f32": f32(1.00015, -2.0),
                                                          "shape": [2]}, tol)
    assert not matches({"f32": f32(1.0, -2.0), "shape": [2]}, {"f32": f32(1.0003, -2.0),
                                                              "shape": [2]}, tol)
    assert not matches({"f32": f32(1.0), "shape": [1]}, {"f32": f32(1.0), "shape": [2]}, tol)
    assert not matches({"f32": f32(1.0, 2.0)}, {"f32": f32(1.0)}, tol)
    assert not matches({"n": True}, {"n": 1}, None)
    assert not matches({"f32": f32(1.0)}, {"f32": f32(1.00001)}, None)


def test_policy_makes_should_deviation_acceptable() -> None:
    """A failed case citing only SHOULD ids is acceptable iff a policy for one is declared."""
    suite = load_suite(VECTORS)
    run = Run(REFERENCE, suite, examples=1)
    run.requirement_level = {"X-001": "SHOULD", "X-002": "MUST"}
    run.policies = {"X-001": "untyped ids"}
    assert run._under_policy(("X-001",), "differs")[0] == "acceptable"
    assert run._under_policy(("X-001", "X-002"), "differs")[0] == "failed"
    run.policies = {}
    assert run._under_policy(("X-001",), "differs")[0] == "failed"
    run.driver.close()


def test_crash_in_a_property_check_is_one_stable_failure(tmp_path: Path) -> None:
    """An implementation that dies mid-check gets a fresh session for the replay, so the
    verdict names the crash (not hypothesis's FlakyFailure) and later checks still run."""
    crasher = tmp_path / "crasher.py"
    crasher.write_text(
        f"import os, sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from reference import driver\n"
        "real = driver.dispatch\n"
        "def dispatch(request):\n"
        "    if isinstance(request, dict) and request.get('cmd') == 'cbor.decode':\n"
        "        os._exit(3)\n"
        "    return real(request)\n"
        "driver.dispatch = dispatch\n"
        "driver.main()\n", "utf-8")
    report = Run(f"{sys.executable} {crasher}", load_suite(VECTORS), examples=5,
                 only=frozenset({"WIRE-016", "SIG-010"}), shrink=False).execute()
    checks = {c["name"]: c for r in report["requirements"] for c in r["checks"]
              if c["kind"] == "property"}
    crashed = [c for c in checks.values() if c["outcome"] == "failed"]
    assert crashed and all("implementation exited while answering 'cbor.decode'" in c["detail"]
                           for c in crashed), crashed
    assert any(c["outcome"] == "passed" for c in checks.values())
