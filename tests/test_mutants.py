"""Tests of tools.mutants: mutant generation, sampling, and the harness's verdict on mutants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import mutants
from tools.mutants import Mutant, mutants_at

ROOT = Path(__file__).resolve().parent.parent

SOURCE = '''\
"""A synthetic chapter module [CLK-012]."""

from reference._require import require

LIMIT = 5  # [CLK-006]


def check(x: int, flags: list[int], seen: set[int], value: object, data: bytes) -> int:
    require(x < 10 and x >= 0, "CLK-001", E, "range")
    total = x + 2  # [CLK-002]
    # [CLK-003]
    if not flags:
        return total * 3
    total //= 2  # [CLK-004]
    done = True  # [CLK-005]
    missing = value is None  # [CLK-009]
    require(
        len(data) <= LIMIT,
        "CLK-010",
        E,
        f"data is {len(data) - 1} bytes",
    )
    label = "é" if x > 1 else ""  # [CLK-011]
    return total if x in seen else -total  # [CLK-007]


def scale(a: int, b: int) -> int:
    """Scale a by b [CLK-008]."""
    c = a * b
    return c // a
'''
DATA = SOURCE.encode("utf-8")


def line_of(tag: str) -> int:
    """The 1-based line of SOURCE holding `tag`."""
    return next(n for n, line in enumerate(SOURCE.splitlines(), 1) if tag in line)


def mutated(req: str, tag: str | None = None) -> set[tuple[str, str]]:
    """(operator, mutated line) of every mutant of the citation of `req` in SOURCE."""
    found = mutants_at("reference/x.py", DATA, line_of(tag or f"[{req}]"), req)
    return {(m.operator, m.mutated_line(DATA)) for m in found}


def test_require_condition_operators() -> None:
    """A require's condition gets require-true, not-insert, boolop, comparison and constants."""
    rest = ', "CLK-001", E, "range")'
    assert mutated("CLK-001", '"CLK-001"') == {
        ("require-true", "require(True" + rest),
        ("not-insert", "require((not (x < 10 and x >= 0))" + rest),
        ("boolop-swap", "require(x < 10 or x >= 0" + rest),
        ("cmp-flip", "require(x <= 10 and x >= 0" + rest),
        ("cmp-flip", "require(x < 10 and x > 0" + rest),
        ("const", "require(x < 11 and x >= 0" + rest),
        ("const", "require(x < 9 and x >= 0" + rest),
        ("const", "require(x < 10 and x >= 1" + rest),
        ("const", "require(x < 10 and x >= (-1)" + rest),
    }


def test_multiline_require_mutates_its_condition_line_only() -> None:
    """An id on its own line of a require call charges the condition, never the message."""
    assert mutated("CLK-010", '"CLK-010"') == {
        ("require-true", "True,"),
        ("not-insert", "(not (len(data) <= LIMIT)),"),
        ("cmp-flip", "len(data) < LIMIT,"),
    }


def test_trailing_comment_mutates_its_statement() -> None:
    """A `# [ID]` after code stands for that statement: removal, arithmetic and constants."""
    assert mutated("CLK-002") == {
        ("stmt-remove", "pass  # [CLK-002]"),
        ("arith-swap", "total = x - 2  # [CLK-002]"),
        ("const", "total = x + 3  # [CLK-002]"),
        ("const", "total = x + 1  # [CLK-002]"),
    }


def test_standalone_comment_mutates_the_next_statement_header() -> None:
    """A comment alone on its line stands for the next statement; a compound one keeps its body."""
    assert mutated("CLK-003") == {("stmt-remove", "pass"), ("not-remove", "if (flags):")}


def test_augmented_assignment_and_booleans() -> None:
    """`//=` swaps to `*=`, True becomes False, `is` becomes `is not`, `in` becomes `not in`."""
    assert ("arith-swap", "total *= 2  # [CLK-004]") in mutated("CLK-004")
    assert mutated("CLK-005") == {("stmt-remove", "pass  # [CLK-005]"),
                                  ("const", "done = False  # [CLK-005]")}
    assert ("cmp-flip", "missing = value is not None  # [CLK-009]") in mutated("CLK-009")
    assert ("cmp-flip", "return total if x not in seen else -total  # [CLK-007]") \
        in mutated("CLK-007")


def test_offsets_are_bytes_of_utf8_source() -> None:
    """A non-ASCII character before the operator does not shift the edit."""
    assert ("cmp-flip", 'label = "é" if x >= 1 else ""  # [CLK-011]') in mutated("CLK-011")


def test_docstring_citation_mutates_the_function_body() -> None:
    """A docstring citing an id stands for every statement of its function."""
    assert mutated("CLK-008") == {
        ("stmt-remove", "pass"), ("arith-swap", "c = a // b"), ("arith-swap", "return c * a"),
    }


def test_module_level_statement_is_never_removed() -> None:
    """Removing a module-level statement only breaks the import, so only constants change."""
    assert mutated("CLK-006") == {("const", "LIMIT = 6  # [CLK-006]"),
                                  ("const", "LIMIT = 4  # [CLK-006]")}


def test_module_docstring_citation_has_no_mutants() -> None:
    """A module docstring stands for the whole module: nothing specific to mutate."""
    assert mutated("CLK-012") == set()


def test_edits_leave_every_other_line_untouched() -> None:
    """Each single-line edit changes its own line and no other."""
    for req in ("CLK-001", "CLK-002", "CLK-004", "CLK-007", "CLK-011"):
        tag = f'"{req}"' if req == "CLK-001" else f"[{req}]"
        for m in mutants_at("reference/x.py", DATA, line_of(tag), req):
            before, after = SOURCE.splitlines(), m.apply(DATA).decode().splitlines()
            assert len(before) == len(after)
            assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] \
                == [m.line - 1]


def _fake(req: str, n: int) -> list[Mutant]:
    return [Mutant("reference/x.py", i, "const", i, i + 1, "1", "0", req) for i in range(n)]


def test_sample_is_evenly_spaced_and_deterministic() -> None:
    """Quick mode takes the middle of each of three equal slices of a requirement's mutants."""
    group_a, group_b = _fake("A-001", 7), _fake("B-001", 2)
    chosen = mutants.sample(group_a + group_b, 3)
    assert chosen == [group_a[1], group_a[3], group_a[5], group_b[0], group_b[1]]
    assert mutants.sample(group_a + group_b, 3) == chosen


def test_shard_takes_every_nth_from_i() -> None:
    """Shard i/n takes mutants i, i+n, i+2n, ...; a shard outside 0..n-1 is refused."""
    every = _fake("A-001", 8)
    assert mutants.take_shard(every, "1/3") == [every[1], every[4], every[7]]
    with pytest.raises(ValueError):
        mutants.take_shard(every, "3/3")


def test_summary_counts_and_score() -> None:
    """Timeouts count as detected; equivalent mutants and evaluation errors leave the score;
    a mutant only a test outside the harness kills counts in `score_with_tests` alone."""
    statuses = {"A-001": ["killed", "killed", "survived"],
                "B-001": ["timeout", "equivalent", "error"], "C-001": ["killed-by-test"]}
    results = [{"requirement": req, "status": st, "detail": "", "file": "reference/x.py",
                "line": 1, "operator": "const", "original": "0", "mutated_line": "x = 1"}
               for req, sts in statuses.items() for st in sts]
    summary = mutants.summarise(results)
    assert summary["totals"] == {"mutants": 7, "killed": 2, "survived": 1, "timeout": 1,
                                 "equivalent": 1, "error": 1, "killed-by-test": 1}
    assert summary["score"] == 0.6 and summary["score_with_tests"] == 0.8
    rows = {row["id"]: row for row in summary["requirements"]}
    assert rows["A-001"]["score"] == pytest.approx(2 / 3, abs=1e-4)
    assert [s["status"] for s in rows["A-001"]["survivors"]] == ["survived"]
    assert rows["B-001"]["score"] == 1.0
    text = mutants.render(summary, 0.9, ["CLK-027"])
    assert "A-001 reference/x.py:1 const: x = 1" in text
    assert "of 7: FAIL" in text and "CLK-027" in text
    assert "a test outside the harness kills: 0.800" in text
    assert "of 7: ok" in mutants.render(summary, 0.6, [])


def _wire011_mutants() -> tuple[Mutant, Mutant, Mutant]:
    """A flipped WIRE-011 condition, a changed WIRE-011 message, and a no-op rewrite."""
    flip = next(m for m in mutants.generate(ROOT, ["WIRE-011"])
                if m.file == "reference/wire_format.py" and m.operator == "cmp-flip")
    source = (ROOT / flip.file).read_bytes()
    start = source.index(b'f"duplicate map key {after.hex()}')
    message = Mutant(flip.file, flip.line + 3, "message", start + 2, start + 11, "twin", "",
                     "WIRE-011")
    same = Mutant(flip.file, flip.line, "no-op", flip.start, flip.end, "!=", "!=", "WIRE-011")
    return flip, message, same


def test_flipped_require_condition_is_killed() -> None:
    """The harness kills `before == after` in WIRE-011's check and passes the unmutated one."""
    flip, _, _ = _wire011_mutants()
    assert flip.mutated_line((ROOT / flip.file).read_bytes()) == "before == after,"
    assert mutants.evaluate(ROOT, flip, frozenset({"WIRE-011"}))["status"] == "killed"
    assert mutants.evaluate(ROOT, None, frozenset({"WIRE-011"}))["status"] == "survived"


def test_run_all_accounts_killed_survived_and_equivalent() -> None:
    """A changed error message survives (messages are not judged); a no-op is equivalent."""
    flip, message, same = _wire011_mutants()
    results = mutants.run_all(ROOT, [flip, message, same], workers=2)
    assert [r["status"] for r in results] == ["killed", "survived", "equivalent"]
    summary = mutants.summarise(results)
    assert summary["totals"]["mutants"] == 3 and summary["score"] == 0.5
    assert summary["requirements"][0]["survivors"][0]["operator"] == "message"


def test_main_writes_json_and_applies_the_threshold(tmp_path: Path) -> None:
    """One requirement in quick mode: three mutants judged, JSON written, threshold applied."""
    out = tmp_path / "mutants.json"
    assert mutants.main_mutants(ROOT, shard=None, full=False, workers=2, out=out,
                                requirement="WIRE-011", threshold=0.0) == 0
    report = json.loads(out.read_text())
    assert report["format"] == "strata-mutants/1" and report["totals"]["mutants"] == 3
    assert report["requirements"][0]["id"] == "WIRE-011"


def test_main_refuses_unknown_requirement_and_bad_shard() -> None:
    """An id that is not a MUST, or a malformed shard, is a usage error (2)."""
    assert mutants.main_mutants(ROOT, shard=None, full=False, workers=1, out=None,
                                requirement="WIRE-999") == 2
    assert mutants.main_mutants(ROOT, shard="2/2", full=False, workers=1, out=None,
                                requirement="WIRE-011") == 2


def test_declared_equivalent_applies_to_its_line_and_operators_only() -> None:
    """A pragma on the mutated line or the comment line above names the operators it covers."""
    source = (b"def f(x: int) -> int:\n"
              b"    # equivalent mutant (cmp-flip): x is never 3\n"
              b"    y = x < 3\n"
              b"    z = x < 4  # equivalent mutant (const, arith-swap): z is unused\n"
              b"    return x\n")

    def at(line: int, op: str) -> mutants.Mutant:
        return mutants.Mutant("m.py", line, op, 0, 0, "", "", "X-001")

    assert mutants.declared_equivalent(source, at(3, "cmp-flip")) == "x is never 3"
    assert mutants.declared_equivalent(source, at(3, "const")) is None
    assert mutants.declared_equivalent(source, at(4, "const")) == "z is unused"
    assert mutants.declared_equivalent(source, at(4, "cmp-flip")) is None
    assert mutants.declared_equivalent(source, at(5, "const")) is None  # code line above


def test_declared_equivalent_can_name_one_replacement() -> None:
    """`const=25` covers the const mutant that writes 25 on its line, and no other."""
    source = (b"def f(x: int) -> bool:\n"
              b"    return x < 24  # equivalent mutant (const=25, cmp-flip): stricter only\n")

    def at(op: str, replacement: str) -> mutants.Mutant:
        return mutants.Mutant("m.py", 2, op, 0, 0, replacement, "24", "X-001")

    assert mutants.declared_equivalent(source, at("const", "25")) == "stricter only"
    assert mutants.declared_equivalent(source, at("const", "23")) is None
    assert mutants.declared_equivalent(source, at("cmp-flip", "<=")) == "stricter only"


def test_a_named_test_judges_a_mutant_outside_the_harness() -> None:
    """`find_test` locates a test function; `run_test` runs it with the mutant swapped in:
    the flipped duplicate-key check lets a duplicate through, a changed message does not."""
    flip, message, _ = _wire011_mutants()
    nodeid = mutants.find_test(ROOT, "test_invalid_duplicate_key")
    assert nodeid == "tests/test_wire_format.py::test_invalid_duplicate_key"
    assert mutants.find_test(ROOT, "test_no_such_test") is None
    assert mutants.run_test(ROOT, flip, nodeid)["status"] == "killed-by-test"
    assert mutants.run_test(ROOT, message, nodeid)["status"] == "survived"


def test_no_pragma_in_the_reference_names_a_requirement() -> None:
    """A pragma explains a mutant; an id in it would make its line a site of that id."""
    from tools.trace import SITE_RE

    found = []
    for path in sorted((ROOT / "reference").rglob("*.py")):
        in_pragma = False
        for lineno, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            comment = line.strip().startswith("#")
            in_pragma = bool(mutants.PRAGMA.search(line)) or (in_pragma and comment)
            if in_pragma and SITE_RE.findall(line[line.index("#"):]):
                found.append(f"{path.relative_to(ROOT)}:{lineno}")
    assert found == []
