"""Tests of the spec-author tools (tools/spec.py, tools/trace.py) on tiny spec trees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference.introduction import ErrorCode
from tools import trace as trace_mod
from tools.spec import CHAPTERS, Spec, lint, load_spec, main_lint, split_sentences
from tools.trace import main_trace, render_trace, trace


def registry_table(codes: list[str]) -> str:
    """An error-code registry table in the shape spec/00 uses."""
    rows = "".join(f"| `{c}` | 05-clocks | something went wrong | no |\n" for c in codes)
    return ("## 5. Error-code registry\n\n| code | chapter | meaning | transient |\n"
            "| --- | --- | --- | --- |\n" + rows)


def chapter(stem: str, body: str) -> str:
    """A chapter file with the conventional two-line header."""
    code, cls = CHAPTERS[stem]
    return (f"# {stem[:2]}. Title\n\nRequirement code: {code}. Conformance class: {cls}.\n\n"
            f"{body}\n")


def make_tree(
    root: Path,
    clocks: str,
    *,
    codes: list[str] | None = None,
    untestable: list[str] | None = None,
    retired: list[str] | None = None,
    files: dict[str, str] | None = None,
) -> Spec:
    """Write spec/00 (with a registry), spec/05-clocks.md and extra files; load the spec."""
    spec_dir = root / "spec"
    spec_dir.mkdir(parents=True, exist_ok=True)
    registry = registry_table([str(c) for c in ErrorCode] if codes is None else codes)
    (spec_dir / "00-introduction.md").write_text(
        chapter("00-introduction", "Informative text only.\n\n" + registry))
    (spec_dir / "05-clocks.md").write_text(chapter("05-clocks", clocks))
    if untestable is not None:
        (spec_dir / "untestable.md").write_text(
            "# Untestable\n\n| id | evidence | why no vector |\n| --- | --- | --- |\n"
            + "".join(f"{row}\n" for row in untestable))
    if retired is not None:
        (spec_dir / "retired.md").write_text(
            "# Retired\n\n| id | retired in | why |\n| --- | --- | --- |\n"
            + "".join(f"| {rid} | 0.1.0 | merged |\n" for rid in retired))
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return load_spec(root)


def problems_of(spec: Spec) -> str:
    """All lint problems of `spec`, one per line."""
    return "\n".join(lint(spec))


CLEAN = (
    "A node MUST reject a timestamp too far ahead with `E_HLC_DRIFT` [CLK-001]. "
    "A node SHOULD log the drift [CLK-002].\n\n"
    "- Each tick MUST NOT go backwards [CLK-003].\n"
    "- A node MAY keep a wall clock.\n"
)


def test_clean_spec_has_no_problems(tmp_path: Path) -> None:
    """A spec following every convention lints clean."""
    spec = make_tree(tmp_path, CLEAN)
    assert lint(spec) == []
    assert [r.id for r in spec.requirements] == ["CLK-001", "CLK-002", "CLK-003"]


def test_requirement_fields(tmp_path: Path) -> None:
    """A requirement records its level, class, text without the id, codes and line."""
    spec = make_tree(tmp_path, CLEAN)
    req = spec.by_id()["CLK-001"]
    assert (req.level, req.chapter, req.cls, req.line) == ("MUST", "05-clocks", "Core", 5)
    assert req.text == "A node MUST reject a timestamp too far ahead with `E_HLC_DRIFT`."
    assert req.codes == ("E_HLC_DRIFT",)
    assert spec.by_id()["CLK-002"].level == "SHOULD"
    assert spec.by_id()["CLK-003"].line == 7


def test_levels_strongest_wins(tmp_path: Path) -> None:
    """Each keyword maps to its level and the strongest in a sentence wins."""
    spec = make_tree(tmp_path, (
        "It MAY retry but MUST stop after three tries [CLK-001]. "
        "It SHOULD NOT retry at once [CLK-002]. "
        "Jitter is RECOMMENDED [CLK-003]. "
        "A log is OPTIONAL [CLK-004]. "
        "A counter is REQUIRED [CLK-005]. "
        "Nodes SHALL NOT share clocks [CLK-006]."
    ))
    levels = {r.id: r.level for r in spec.requirements}
    assert levels == {"CLK-001": "MUST", "CLK-002": "SHOULD", "CLK-003": "SHOULD",
                      "CLK-004": "MAY", "CLK-005": "MUST", "CLK-006": "MUST"}


def test_lowercase_and_quoted_keywords_do_not_count(tmp_path: Path) -> None:
    """Lowercase keywords, quoted mentions and code spans are not requirements."""
    spec = make_tree(tmp_path, (
        'The words "MUST" and "SHOULD NOT" are read as in RFC 2119. '
        "A node must be patient. The constant `MUST_WAIT` is informative."
    ))
    assert lint(spec) == []
    assert all(s.level is None for s in spec.sentences)


def test_invalid_missing_id(tmp_path: Path) -> None:
    """A MUST or SHOULD sentence without an id is reported with its line."""
    spec = make_tree(tmp_path, "Intro text.\n\nA node MUST tick. A node SHOULD log.")
    problems = lint(spec)
    assert "spec/05-clocks.md:7: MUST sentence without an id: A node MUST tick." in problems
    assert any("SHOULD sentence without an id" in p for p in problems)


def test_may_without_id_is_allowed(tmp_path: Path) -> None:
    """A MAY sentence needs no id."""
    assert lint(make_tree(tmp_path, "A node MAY cache the time.")) == []


def test_invalid_duplicate_id(tmp_path: Path) -> None:
    """An id used twice is reported at the second use, naming the first."""
    spec = make_tree(tmp_path, "A MUST hold [CLK-001].\n\nB MUST hold [CLK-001].")
    assert ("spec/05-clocks.md:7: duplicate id CLK-001 (first at spec/05-clocks.md:5)"
            in lint(spec))


def test_invalid_wrong_prefix(tmp_path: Path) -> None:
    """An id with another chapter's code is reported."""
    spec = make_tree(tmp_path, "A node MUST tick [SIG-001].")
    assert "id SIG-001 does not use the chapter's code CLK" in problems_of(spec)


def test_invalid_id_mid_sentence(tmp_path: Path) -> None:
    """An id that is not right before the final punctuation is reported."""
    spec = make_tree(tmp_path, "A node MUST tick [CLK-001] on every event.")
    assert "id CLK-001 is not at the end of its sentence" in problems_of(spec)


def test_invalid_two_ids(tmp_path: Path) -> None:
    """A sentence carrying two ids is reported."""
    spec = make_tree(tmp_path, "A node MUST tick [CLK-001] and MUST log [CLK-002].")
    assert "more than one id in a sentence: CLK-001, CLK-002" in problems_of(spec)


def test_invalid_malformed_id(tmp_path: Path) -> None:
    """Ids without exactly three digits, or several in one bracket, are malformed."""
    spec = make_tree(tmp_path, "A MUST hold [CLK-01]. B MUST hold [CLK-001, CLK-002].")
    text = problems_of(spec)
    assert "malformed id [CLK-01]" in text
    assert "malformed id [CLK-001, CLK-002]" in text


def test_invalid_id_without_keyword(tmp_path: Path) -> None:
    """An id on an informative sentence is reported."""
    spec = make_tree(tmp_path, "Clocks are hybrid [CLK-001].")
    assert "id CLK-001 on a sentence without a keyword" in problems_of(spec)


def test_invalid_unknown_error_code(tmp_path: Path) -> None:
    """An error code missing from the registry is reported."""
    spec = make_tree(tmp_path, "A node MUST reject it with `E_NOT_A_CODE` [CLK-001].")
    assert "error code E_NOT_A_CODE is not in the error-code registry" in problems_of(spec)


def test_invalid_registry_differs_from_error_code_enum(tmp_path: Path) -> None:
    """Codes only in the spec registry or only in `ErrorCode` are both reported."""
    enum = [str(c) for c in ErrorCode]
    spec = make_tree(tmp_path, "Nothing normative.", codes=enum[1:] + ["E_SPEC_ONLY"])
    text = problems_of(spec)
    assert "E_SPEC_ONLY is in the registry but not in reference.introduction.ErrorCode" in text
    assert f"{enum[0]} is in reference.introduction.ErrorCode but not in the registry" in text


def test_invalid_retired_id_in_use(tmp_path: Path) -> None:
    """A retired id that still appears in a chapter is reported."""
    spec = make_tree(tmp_path, "A node MUST tick [CLK-001].", retired=["CLK-001"])
    assert "id CLK-001 is listed in spec/retired.md but still used" in problems_of(spec)


def test_invalid_untestable_entries(tmp_path: Path) -> None:
    """Untestable entries must name an existing MUST/SHOULD and a known evidence kind."""
    spec = make_tree(tmp_path, "A node MUST tick [CLK-001]. A node MAY nap [CLK-002].",
                     untestable=["| CLK-009 | prove:z3 | none |",
                                 "| CLK-002 | test:tests/test_x.py::test_y | none |",
                                 "| CLK-001 | guess:whatever | none |"])
    text = problems_of(spec)
    assert "spec/untestable.md:5: CLK-009 is not a requirement of the spec" in text
    assert "CLK-002 is a MAY; only MUST and SHOULD belong here" in text
    assert "CLK-001: evidence must be prove:, test:, bench: or property:" in text


def test_invalid_chapter_not_in_table(tmp_path: Path) -> None:
    """A spec/NN-*.md file that is not a known chapter is reported."""
    spec = make_tree(tmp_path, "Nothing.", files={"spec/99-extra.md": "# 99. Extra\n"})
    assert "spec/99-extra.md:1: chapter file not in the chapter table" in problems_of(spec)


def test_invalid_header_line(tmp_path: Path) -> None:
    """The line after the title must state the chapter's code and class."""
    make_tree(tmp_path, "Nothing.")
    (tmp_path / "spec" / "05-clocks.md").write_text(
        "# 05. Clocks\n\nRequirement code: CLK. Conformance class: Mesh.\n")
    assert "the line after the title must read" in problems_of(load_spec(tmp_path))


def test_abbreviations_and_decimals_do_not_split() -> None:
    """`e.g.`, `i.e.`, decimals, code spans and bracketed ids stay inside one sentence."""
    text = ("Wait 1.5 s, e.g. on start, i.e. once; see `a. b` and [CLK-001]. "
            "Next one? Last!")
    assert [s for _, s in split_sentences(text)] == [
        "Wait 1.5 s, e.g. on start, i.e. once; see `a. b` and [CLK-001].",
        "Next one?",
        "Last!",
    ]


def test_fenced_code_blockquotes_and_comments_ignored(tmp_path: Path) -> None:
    """Keywords in fences, blockquotes and HTML comments are not requirements."""
    spec = make_tree(tmp_path, (
        "```\nA node MUST do this.\n```\n\n"
        "> Note: a node MUST NOT read this.\n\n"
        "<!-- a node SHOULD\nnot see this -->\n\n"
        "| field | rule |\n| --- | --- |\n| t | It MUST fit in 48 bits [CLK-001]. |\n"
    ))
    assert lint(spec) == []
    assert [(r.id, r.line) for r in spec.requirements] == [("CLK-001", 16)]


def test_catalogue_is_sorted_and_deterministic(tmp_path: Path) -> None:
    """The catalogue lists requirements by chapter then id and does not vary between loads."""
    spec = make_tree(tmp_path, "B MUST hold [CLK-002]. A MUST hold [CLK-001].",
                     untestable=["| CLK-002 | prove:by construction | no input exercises it |"])
    cat = spec.catalogue()
    assert cat["format"] == "strata-requirements/1"
    assert [r["id"] for r in cat["requirements"]] == ["CLK-001", "CLK-002"]
    assert cat["requirements"][0] == {"id": "CLK-001", "level": "MUST", "chapter": "05-clocks",
                                      "class": "Core", "text": "A MUST hold.", "codes": []}
    assert cat["untestable"] == [{"id": "CLK-002", "evidence": "prove:by construction",
                                  "why": "no input exercises it"}]
    assert len(cat["error_codes"]) == len(ErrorCode)
    assert json.dumps(cat) == json.dumps(load_spec(tmp_path).catalogue())


def test_main_lint_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`main_lint` prints problems and returns 1 only when there are some."""
    make_tree(tmp_path, CLEAN)
    assert main_lint(tmp_path) == 0
    (tmp_path / "spec" / "05-clocks.md").write_text(chapter("05-clocks", "It MUST tick."))
    assert main_lint(tmp_path) == 1
    assert "MUST sentence without an id" in capsys.readouterr().out


# --- trace --------------------------------------------------------------------------------

VECTOR = json.dumps({"format": "strata-vectors/1", "cases": [
    {"id": "tick-once", "requirements": ["CLK-001"], "command": "hlc.run"}]})


def test_trace_fails_on_must_without_site_or_check(tmp_path: Path) -> None:
    """A MUST with no reference site and no check makes the trace fail with both problems."""
    spec = make_tree(tmp_path, "A node MUST tick [CLK-001].")
    result = trace(spec, tmp_path, property_checks={}, controls={})
    messages = [p.message for p in result.problems]
    assert result.failed
    assert "CLK-001 (MUST): no reference site" in messages
    assert any(m.startswith("CLK-001 (MUST): no check") for m in messages)


def test_trace_passes_with_site_and_vector(tmp_path: Path) -> None:
    """A MUST cited by the reference and by a vector case traces clean."""
    spec = make_tree(tmp_path, "A node MUST tick [CLK-001].", files={
        "reference/clocks.py": "x = 1\n# [CLK-001] tick\n",
        "vectors/clocks/hlc.json": VECTOR,
        "vectors/manifest.json": json.dumps({"cases": [{"id": "m", "requirements": ["X"]}]}),
    })
    result = trace(spec, tmp_path, property_checks={}, controls={"hlc-back": "CLK-001"})
    assert not result.failed, result.problems
    (row,) = result.rows
    assert row.sites == ("reference/clocks.py:2",)
    assert row.checks == ("vectors/clocks/hlc.json#tick-once",)
    assert row.controls == ("hlc-back",)


def test_trace_counts_property_checks_and_untestable(tmp_path: Path) -> None:
    """Property checks and untestable entries are checks; a site alone is not."""
    spec = make_tree(tmp_path, "A MUST hold [CLK-001]. B MUST hold [CLK-002]. "
                               "C MUST hold [CLK-003].",
                     untestable=["| CLK-002 | prove:z3 | structural |"],
                     files={"reference/clocks.py": '"CLK-001" "CLK-002"\n"CLK-003"\n'})
    result = trace(spec, tmp_path, property_checks={"clocks.mono": ("CLK-001",)}, controls={})
    checks = {r.id: r.checks for r in result.rows}
    assert checks["CLK-001"] == ("property:clocks.mono",)
    assert checks["CLK-002"] == ("untestable:prove:z3",)
    assert [p.message for p in result.problems] == [
        "CLK-003 (MUST): no check (no vector, property check or untestable entry)"]


def test_trace_should_without_anything_is_a_warning(tmp_path: Path) -> None:
    """A SHOULD with neither site nor check warns but does not fail."""
    spec = make_tree(tmp_path, "A node SHOULD log [CLK-001].")
    result = trace(spec, tmp_path, property_checks={}, controls={})
    assert not result.failed
    assert [(p.severity, p.message) for p in result.problems] == [
        ("warning", "CLK-001 (SHOULD): neither a reference site nor a check")]


def test_trace_unknown_site_id_fails(tmp_path: Path) -> None:
    """A reference site or vector citing an id the spec lacks fails; a retired one warns."""
    spec = make_tree(tmp_path, "A node MAY nap.", retired=["CLK-007"], files={
        "reference/clocks.py": "# [CLK-099] and [CLK-007]; SHA-256 is no id\n",
        "vectors/clocks/hlc.json": VECTOR,
    })
    result = trace(spec, tmp_path, property_checks={}, controls={})
    problems = {(p.severity, p.message) for p in result.problems}
    assert problems == {
        ("error", "unknown id CLK-099 cited by reference: reference/clocks.py:1"),
        ("warning", "retired id CLK-007 cited by reference: reference/clocks.py:1"),
        ("error", "unknown id CLK-001 cited by check: vectors/clocks/hlc.json#tick-once"),
    }
    assert result.failed


def test_render_trace_default_and_verbose(tmp_path: Path) -> None:
    """The default output is summary plus problems; verbose adds the matrix."""
    spec = make_tree(tmp_path, "A node MUST tick [CLK-001]. It SHOULD log [CLK-002].",
                     files={"reference/clocks.py": "# [CLK-001]\n"})
    result = trace(spec, tmp_path, property_checks={}, controls={})
    short = render_trace(result)
    assert "CLK-001 | MUST" not in short
    assert short.splitlines()[-1] == (
        "trace: 2 requirements (1 MUST, 1 SHOULD, 0 MAY); 1 errors, 1 warnings: FAIL")
    assert "  MUST without a check (vector, property check or untestable entry) (1):" \
        in short.splitlines()
    assert "    CLK-001" in short.splitlines()
    assert "  SHOULD with neither a reference site nor a check (1):" in short.splitlines()
    assert "05-clocks" in short
    full = render_trace(result, verbose=True)
    assert "CLK-001 | MUST | reference/clocks.py:1 | - | - | -" in full
    assert "  CLK-001 (MUST): no check (no vector, property check or untestable entry)" in full


def test_main_trace_exit_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """`main_trace` returns 1 while a MUST lacks a check and 0 once a vector covers it."""
    monkeypatch.setattr(trace_mod, "load_property_checks", lambda problems: {})
    monkeypatch.setattr(trace_mod, "load_controls", lambda problems: {})
    make_tree(tmp_path, "A node MUST tick [CLK-001].",
              files={"reference/clocks.py": "# [CLK-001]\n"})
    assert main_trace(tmp_path) == 1
    (tmp_path / "vectors").mkdir()
    (tmp_path / "vectors" / "hlc.json").write_text(VECTOR)
    assert main_trace(tmp_path) == 0
    assert capsys.readouterr().out.rstrip().endswith(": ok")
