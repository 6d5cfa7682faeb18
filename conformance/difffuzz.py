"""Differential fuzzing (spec/16-conformance.md section 5).

Every recorded input is sent first; then hypothesis draws a vector case,
mutates one leaf of its input (a hex digit, a length, an integer, a key) and
sends the same request to the reference and to the implementation under test.
Answers agree when both accept with equal results (floats within the case's
tolerance) or both reject with the same code. A disagreement is shrunk by
hypothesis and written out as a candidate vector whose expected answer is the
reference's and whose requirements are the ones the reference enforced (or,
for an acceptance, those its case cites).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.driver import Driver, Response
from conformance.runner import Suite, matches

Json = Any


@attrs.frozen
class Disagreement(Exception):
    """The reference and the implementation answered one request differently."""

    command: str
    args: Json
    requirements: tuple[str, ...]
    reference: Response
    implementation: Response
    tolerance: dict[str, float] | None


def _leaves(node: Json, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to every string and integer leaf of a JSON input."""
    if isinstance(node, dict):
        return [p for k in sorted(node) for p in _leaves(node[k], (*path, k))] + (
            [(*path, None)] if node else [])
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    if isinstance(node, (str, int)) and not isinstance(node, bool):
        return [path]
    return []


def _mutations(value: Json) -> list[Json]:
    """Small, plausible corruptions of one leaf."""
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2, 0, 2**48, -value]
    text = str(value)
    out = [text[:-2], text + "00", text.upper(), ""]
    for i in range(0, len(text), max(1, len(text) // 8)):
        if text[i] in "0123456789abcdef":
            out.append(text[:i] + ("1" if text[i] == "0" else "0") + text[i + 1:])
    return out


def _with(node: Json, path: tuple[Any, ...], value: Json) -> Json:
    """A copy of `node` with the leaf at `path` replaced (`None` as last step: drop a key)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        if head is None:
            return {k: v for k, v in node.items() if k != sorted(node)[0]}
        return {**node, head: _with(node[head], rest, value)}
    copy = list(node)
    copy[head] = _with(node[head], rest, value)
    return copy


def _get(node: Json, path: tuple[Any, ...]) -> Json:
    for step in path:
        if step is None:
            return None
        node = node[step]
    return node


@st.composite
def mutated_requests(draw: st.DrawFn, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """A vector case's request with one leaf of its input mutated."""
    case = draw(st.sampled_from(cases))
    paths = _leaves(case["input"])
    if not paths:
        return dict(case)
    path = draw(st.sampled_from(paths))
    leaf = _get(case["input"], path)
    new = None if path[-1] is None else draw(st.sampled_from(_mutations(leaf)))
    return {**case, "input": _with(case["input"], path, new)}


def agree(case: dict[str, Any], ref: Response, impl: Response) -> bool:
    """Whether two answers to one request agree."""
    if ref.ok != impl.ok:
        return False
    if not ref.ok:
        return ref.code == impl.code
    return matches(impl.result, ref.result, case.get("tolerance"))


def run_difffuzz(impl_command: str, reference_command: str, suite: Suite, examples: int,
                 out_dir: Path) -> list[Path]:
    """Fuzz per vector file; write one candidate vector file per disagreement found."""
    ref, impl = Driver(reference_command), Driver(impl_command)
    for driver in (ref, impl):
        driver.call("hello", {"spec_version": suite.manifest["spec_version"],
                              "harness": "strata-difffuzz"})
    written: list[Path] = []
    try:
        for rel, doc in suite.files:
            found = _fuzz_file(ref, impl, doc["cases"], examples)
            if found is not None:
                written.append(_write_candidate(out_dir, rel, doc, found))
    finally:
        ref.close()
        impl.close()
    return written


def _compare(ref: Driver, impl: Driver, case: dict[str, Any]) -> None:
    """Send one request to both; raise `Disagreement` when the answers differ."""
    a = ref.call(case["command"], case["input"])
    b = impl.call(case["command"], case["input"])
    if not agree(case, a, b):
        reqs = ((a.error or {}).get("requirement"),) if not a.ok else ()
        raise Disagreement(case["command"], case["input"],
                           tuple(r for r in reqs if r) or tuple(case["requirements"]),
                           a, b, case.get("tolerance"))


def _fuzz_file(ref: Driver, impl: Driver, cases: list[dict[str, Any]],
               examples: int) -> Disagreement | None:
    """Every recorded input first, in order; then hypothesis's mutations of them."""
    try:
        for case in cases:
            _compare(ref, impl, case)
    except Disagreement as found:
        return found

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=mutated_requests(cases))
    def differential(case: dict[str, Any]) -> None:
        _compare(ref, impl, case)

    try:
        differential()
    except Disagreement as found:
        return found
    return None


def _write_candidate(out_dir: Path, rel: str, doc: dict[str, Any], d: Disagreement) -> Path:
    """A vector file in the suite's format holding the shrunk disagreement."""
    case: dict[str, Any] = {
        "id": "candidate-1",
        "requirements": list(d.requirements),
        "description": "found by differential fuzzing; review before adding to the suite",
        "_comment": f"implementation answered {json.dumps(attrs.asdict(d.implementation))}",
        "command": d.command,
        "input": d.args,
        "result": "valid" if d.reference.ok else "invalid",
    }
    if d.reference.ok:
        case["output"] = d.reference.result
        if d.tolerance is not None:
            case["tolerance"] = d.tolerance
    else:
        case["error"] = {"code": d.reference.code}
    candidate = {"format": doc["format"], "spec_version": doc["spec_version"],
                 "chapter": doc["chapter"], "topic": f"{doc['topic']}-candidates",
                 "cases": [case]}
    path = out_dir / rel.replace(".json", ".candidates.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(candidate, indent=2, ensure_ascii=False) + "\n")
    return path
