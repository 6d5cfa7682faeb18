"""The repository's own spec: lint-clean, fully traced, registry mirrored by the reference."""

from __future__ import annotations

from pathlib import Path

from reference.introduction import ErrorCode
from tools.spec import lint, load_spec
from tools.trace import trace

ROOT = Path(__file__).resolve().parent.parent


def test_spec_lint_clean() -> None:
    """Every normative sentence of spec/ carries one unique id and registered codes."""
    problems = lint(load_spec(ROOT), [str(c) for c in ErrorCode])
    assert problems == []


def test_every_must_has_a_site_and_a_check() -> None:
    """`strata spec trace` finds a reference site and a check for every MUST."""
    result = trace(load_spec(ROOT), ROOT)
    errors = [p for p in result.problems if p.severity == "error"]
    assert errors == []


def test_untestable_register_only_names_real_tests() -> None:
    """Each `test:` entry of spec/untestable.md names a test function that exists."""
    for entry in load_spec(ROOT).untestable:
        if entry.evidence.startswith("test:"):
            path, _, name = entry.evidence.removeprefix("test:").partition("::")
            assert f"def {name}(" in (ROOT / path).read_text(), entry
