"""Negative controls: deliberately broken builds of the reference (issue: the harness bites).

A control patches the reference in process, each breaking one requirement,
then serves the driver protocol: `python -m tools.controls NAME`. The harness
must fail every control. Two kinds exist:

- named controls registered by each chapter's module with `@control(...)`;
- `drop:REQ-ID`, which turns every `require(..., "REQ-ID", ...)` into a no-op.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import attrs


@attrs.frozen
class Control:
    """A broken build: the requirement it breaks and how."""

    name: str
    requirement: str
    description: str
    patch: Callable[[], None]


CONTROLS: dict[str, Control] = {}


def control(
    name: str, requirement: str, description: str
) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register a named control whose function applies its patch."""

    def register(patch: Callable[[], None]) -> Callable[[], None]:
        CONTROLS[name] = Control(name, requirement, description, patch)
        return patch

    return register


def drop_control(name: str, requirement: str, description: str) -> None:
    """Register a named control that stops enforcing one `require` id."""
    CONTROLS[name] = Control(name, requirement, description,
                             lambda: drop_requirement(requirement))


def drop_requirement(requirement: str) -> None:
    """Patch every reference module's `require` so that `requirement` is never enforced."""
    import reference._require as base

    original = base.require

    def lenient(cond: bool, req: str, code: Any, message: str) -> None:
        if req != requirement:
            original(cond, req, code, message)

    for name, module in list(sys.modules.items()):
        if name.startswith("reference") and getattr(module, "require", None) is original:
            module.require = lenient  # type: ignore[attr-defined]


def load_all() -> dict[str, Control]:
    """Import every chapter's controls so they register."""
    from tools.controls import (  # noqa: F401
        authority,
        authority_log,
        clocks,
        consolidation,
        engine,
        fsms,
        identifiers,
        lora,
        mesh,
        operations,
        projections,
        signatures,
        wavegen,
        wire_format,
    )

    return CONTROLS


def command_for(name: str) -> str:
    """The shell command that serves control `name` over the driver protocol."""
    return f"{sys.executable} -m tools.controls {name}"


def apply(name: str) -> None:
    """Apply control `name` (a registered name or `drop:REQ-ID`) to the loaded reference."""
    import reference.driver  # noqa: F401  (load every reference module before patching)

    if name.startswith("drop:"):
        drop_requirement(name.removeprefix("drop:"))
        return
    controls = load_all()
    if name not in controls:
        raise SystemExit(f"unknown control {name!r}; known: {', '.join(sorted(controls))}")
    controls[name].patch()
