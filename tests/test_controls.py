"""Proof the harness bites: every negative control is failed on the requirement it breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.runner import Run, is_conforming, load_suite
from tools.controls import command_for, load_all

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
CONTROLS = load_all()


def _failed(command: str, requirement: str) -> set[str]:
    # Every selected check cites `requirement`, so its first failure is the verdict.
    report = Run(command, load_suite(VECTORS), examples=10, only=frozenset({requirement}),
                 stop_on_failure=True, shrink=False).execute()
    return {r["id"] for r in report["requirements"] if r["verdict"] == "failed"}


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_control_is_rejected(name: str) -> None:
    """The checks citing the control's requirement fail that requirement."""
    control = CONTROLS[name]
    assert control.requirement in _failed(command_for(name), control.requirement)


def test_drop_control_is_rejected() -> None:
    """A build that stops enforcing WIRE-011 (duplicate map keys) fails WIRE-011."""
    assert "WIRE-011" in _failed(command_for("drop:WIRE-011"), "WIRE-011")


def test_reference_is_not_a_control() -> None:
    """The unbroken reference, served through the control launcher, conforms."""
    report = Run(command_for("drop:NONE-000"), load_suite(VECTORS), examples=5).execute()
    assert is_conforming(report)
