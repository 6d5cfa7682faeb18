"""The traceability matrix: requirement id -> reference sites -> checks -> controls (DESIGN 3).

A MUST fails the trace when no reference code cites it or nothing checks it
(no vector case, no property check, no entry in spec/untestable.md). A SHOULD
with neither a site nor a check is a warning. Any citation of an id the spec
does not define (and has not retired) is an error: it is stale or a typo.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from tools.spec import CHAPTERS, CODES, Spec, default_root, load_spec

# An id as the reference cites it, `# [CLK-003]` or `require(..., "CLK-003", ...)`. Only the
# chapter codes count, so "SHA-256" or "AES-128" in a comment is not taken for an id.
SITE_RE = re.compile(
    r"(?<![A-Za-z0-9_])((?:" + "|".join(sorted(CODES, key=len, reverse=True)) + r")-\d{3})(?!\d)"
)
_SKIPPED_VECTOR_FILES = ("requirements.json", "manifest.json")
_SHOWN_PROBLEMS = 30  # ungrouped problems shown without --verbose


@attrs.frozen
class TraceRow:
    """One requirement and everything that points at it."""

    id: str
    level: str
    chapter: str
    sites: tuple[str, ...]  # "reference/clocks.py:42"
    checks: tuple[str, ...]  # "vectors/clocks/hlc.json#case", "property:x.y", "untestable:..."
    controls: tuple[str, ...]  # names of negative controls that break it
    mutants: tuple[str, ...] = ()  # mutation column: filled in later


@attrs.frozen
class Problem:
    """A hole in the matrix: `error` fails the trace, `warning` does not."""

    severity: str  # "error" | "warning"
    message: str
    kind: str = "other"  # "no-site" | "no-check" | "bare-should" | "other": grouping key
    id: str = ""  # the requirement a grouped problem is about


@attrs.frozen
class TraceResult:
    """The matrix, its problems, and the chapters in the order they were read."""

    rows: tuple[TraceRow, ...]
    problems: tuple[Problem, ...]
    chapters: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


HARNESS_CODES = ("CONF",)  # chapter 16 also binds the harness: its sites may be in conformance/


def find_sites(root: Path) -> dict[str, list[str]]:
    """Every id cited in reference/**/*.py (and CONF ids in conformance/), as id -> sites."""
    sites: dict[str, list[str]] = {}
    for folder, codes in (("reference", None), ("conformance", HARNESS_CODES)):
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for lineno, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
                for req_id in dict.fromkeys(SITE_RE.findall(line)):
                    if codes is None or req_id.split("-")[0] in codes:
                        sites.setdefault(req_id, []).append(f"{rel}:{lineno}")
    return sites


def find_vector_cases(root: Path, problems: list[Problem]) -> dict[str, list[str]]:
    """Every vector case citing an id, as id -> ["vectors/<file>#<case id>", ...]."""
    cited: dict[str, list[str]] = {}
    for path in sorted((root / "vectors").rglob("*.json")):
        if path.name in _SKIPPED_VECTOR_FILES:
            continue
        rel = path.relative_to(root).as_posix()
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(Problem("error", f"{rel}: not valid JSON ({exc})"))
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
            continue  # a schema or another non-vector file
        for case in doc["cases"]:
            if not isinstance(case, dict):
                continue
            for req_id in case.get("requirements") or ():
                cited.setdefault(str(req_id), []).append(f"{rel}#{case.get('id', '?')}")
    return cited


def load_property_checks(problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    """Registered property checks, name -> requirement ids (conformance.suites)."""
    from conformance import suites

    try:
        checks = suites.load_all()
    except Exception as exc:  # a suite that fails to import must not hide the rest
        problems.append(Problem("error", f"conformance.suites.load_all() failed: "
                                         f"{type(exc).__name__}: {exc}"))
        checks = suites.CHECKS
    return {name: tuple(c.requirements) for name, c in checks.items()}


def load_controls(problems: list[Problem]) -> dict[str, str]:
    """Registered negative controls, name -> the requirement each breaks (tools.controls)."""
    from tools import controls

    try:
        registered = controls.load_all()
    except Exception as exc:
        problems.append(Problem("error", f"tools.controls.load_all() failed: "
                                         f"{type(exc).__name__}: {exc}"))
        registered = controls.CONTROLS
    return {name: c.requirement for name, c in registered.items()}


def trace(
    spec: Spec,
    root: Path | None = None,
    *,
    property_checks: Mapping[str, Sequence[str]] | None = None,
    controls: Mapping[str, str] | None = None,
) -> TraceResult:
    """Build the matrix for `spec` from the tree at `root` (default: the spec's root).

    `property_checks` (name -> ids) and `controls` (name -> id) default to the
    registered ones; tests pass their own.
    """
    root = spec.root if root is None else root
    problems: list[Problem] = []
    sites = find_sites(root)
    checks: dict[str, list[str]] = find_vector_cases(root, problems)
    if property_checks is None:
        property_checks = load_property_checks(problems)
    if controls is None:
        controls = load_controls(problems)
    for name, ids in sorted(property_checks.items()):
        for req_id in ids:
            checks.setdefault(req_id, []).append(f"property:{name}")
    for entry in spec.untestable:
        checks.setdefault(entry.id, []).append(f"untestable:{entry.evidence}")
    targeted: dict[str, list[str]] = {}
    for name, req_id in sorted(controls.items()):
        targeted.setdefault(req_id, []).append(name)

    known = spec.by_id()
    rows = tuple(
        TraceRow(r.id, r.level, r.chapter, tuple(sites.get(r.id, ())),
                 tuple(checks.get(r.id, ())), tuple(targeted.get(r.id, ())))
        for r in sorted(known.values(), key=lambda r: (r.chapter, r.id))
    )
    for row in rows:
        if row.level == "MUST":
            if not row.sites:
                problems.append(Problem("error", f"{row.id} (MUST): no reference site",
                                        "no-site", row.id))
            if not row.checks:
                problems.append(Problem("error", f"{row.id} (MUST): no check (no vector, "
                                                 "property check or untestable entry)",
                                        "no-check", row.id))
        elif row.level == "SHOULD" and not row.sites and not row.checks:
            problems.append(Problem("warning", f"{row.id} (SHOULD): neither a reference "
                                               "site nor a check", "bare-should", row.id))

    retired = {r.id for r in spec.retired}
    citations = (("reference", sites), ("check", checks), ("control", targeted))
    for what, cited in citations:
        for req_id in sorted(set(cited) - set(known)):
            state = "retired" if req_id in retired else "unknown"
            problems.append(Problem(
                "warning" if state == "retired" else "error",
                f"{state} id {req_id} cited by {what}: {', '.join(cited[req_id])}",
                f"{state}-{what}", req_id))
    return TraceResult(rows, tuple(problems), spec.chapters)


def _count(rows: Sequence[TraceRow], level: str) -> int:
    return sum(1 for r in rows if r.level == level)


_GROUP_TITLES = {
    "no-site": "MUST without a reference site",
    "no-check": "MUST without a check (vector, property check or untestable entry)",
    "bare-should": "SHOULD with neither a reference site nor a check",
    "unknown-reference": "ids the reference cites that the spec does not define",
    "unknown-check": "ids vectors or property checks cite that the spec does not define",
    "unknown-control": "ids negative controls target that the spec does not define",
    "retired-reference": "retired ids the reference still cites",
    "retired-check": "retired ids vectors or property checks still cite",
    "retired-control": "retired ids negative controls still target",
}


def _grouped(problems: Sequence[Problem]) -> list[str]:
    """Problems for the short output: one wrapped id list per kind, other problems capped."""
    lines: list[str] = []
    others = [p.message for p in problems if p.kind not in _GROUP_TITLES]
    lines.extend(others[:_SHOWN_PROBLEMS])
    if len(others) > _SHOWN_PROBLEMS:
        lines.append(f"... {len(others) - _SHOWN_PROBLEMS} more (run with --verbose)")
    for kind, title in _GROUP_TITLES.items():
        ids = [p.id for p in problems if p.kind == kind]
        if ids:
            lines.append(f"{title} ({len(ids)}):")
            lines.extend(textwrap.wrap(" ".join(ids), 96, initial_indent="  ",
                                       subsequent_indent="  "))
    return lines


def render_trace(result: TraceResult, verbose: bool = False) -> str:
    """The matrix (with `verbose`), the per-chapter summary, the problems and the verdict."""
    out: list[str] = []
    if verbose:
        header = ("id", "level", "sites", "checks", "controls", "mutants")
        out.append(" | ".join(header))
        out.append(" | ".join("---" for _ in header))
        for row in result.rows:
            cells = (row.id, row.level, ", ".join(row.sites) or "-",
                     ", ".join(row.checks) or "-", ", ".join(row.controls) or "-",
                     ", ".join(row.mutants) or "-")
            out.append(" | ".join(cells))
        out.append("")

    out.append(f"{'chapter':<28} {'code':<6}{'MUST':>5}{'SHOULD':>7}{'MAY':>5}"
               f"{'sited':>8}{'checked':>9}")
    for chapter in result.chapters:
        rows = [r for r in result.rows if r.chapter == chapter]
        code = CHAPTERS.get(chapter, ("?", ""))[0]
        sited = sum(1 for r in rows if r.sites)
        checked = sum(1 for r in rows if r.checks)
        out.append(f"{chapter:<28} {code:<6}{_count(rows, 'MUST'):>5}"
                   f"{_count(rows, 'SHOULD'):>7}{_count(rows, 'MAY'):>5}"
                   f"{f'{sited}/{len(rows)}':>8}{f'{checked}/{len(rows)}':>9}")

    # Errors last: the hook that runs this shows only the final lines.
    for severity in ("warning", "error"):
        found = [p for p in result.problems if p.severity == severity]
        if found:
            out.append(f"{severity}s ({len(found)}):")
            out.extend(f"  {line}" for line in (
                [p.message for p in found] if verbose else _grouped(found)))
    every = result.rows
    errors = sum(1 for p in result.problems if p.severity == "error")
    verdict = "FAIL" if result.failed else "ok"
    out.append(f"trace: {len(every)} requirements ({_count(every, 'MUST')} MUST, "
               f"{_count(every, 'SHOULD')} SHOULD, {_count(every, 'MAY')} MAY); "
               f"{errors} errors, {len(result.problems) - errors} warnings: {verdict}")
    return "\n".join(out)


def main_trace(root: Path | None = None, verbose: bool = False) -> int:
    """Print the trace of the repository at `root`; 1 when a MUST problem exists."""
    result = trace(load_spec(root), root)
    print(render_trace(result, verbose))
    return 1 if result.failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tools.trace", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="print the whole matrix")
    parser.add_argument("--root", type=Path, default=default_root(), help="repository root")
    args = parser.parse_args()
    sys.exit(main_trace(args.root, args.verbose))
