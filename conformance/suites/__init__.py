"""Property checks that hold for any conforming implementation (spec/16-conformance.md section 5).

A check is a function of an `Impl`, usually wrapped by hypothesis `@given`, and
registered with the requirement ids it covers. The runner applies the settings
(examples, derandomisation) and records the shrunk failing example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from conformance.driver import Driver, Response


class CheckFailed(AssertionError):
    """A property check observed behaviour the spec forbids."""


def expect(cond: bool, message: str) -> None:
    """Fail the running check with `message` unless `cond` holds (not `assert`: -O strips it)."""
    if not cond:
        raise CheckFailed(message)


class Impl:
    """The implementation under test as the checks see it."""

    def __init__(self, driver: Driver, error_codes: frozenset[str] = frozenset(),
                 commands: tuple[str, ...] = (), fsms: dict[str, Any] | None = None,
                 revive: Callable[[], Driver] | None = None) -> None:
        self._driver = driver
        self.error_codes = error_codes  # the registry of spec/00 section 5.1, from the suite
        self.commands = commands  # every command the suite's vectors use
        self.fsms = fsms or {}  # vectors/fsms.json: the state-machine tables of spec/12
        self._revive = revive  # starts a fresh session after the implementation died

    @property
    def driver(self) -> Driver:
        """The running session; a fresh one when the last example crashed the implementation,
        so hypothesis replays a crash as the same failure instead of calling it flaky."""
        if not self._driver.alive and self._revive is not None:
            self._driver = self._revive()
        return self._driver

    def call(self, cmd: str, args: dict[str, Any]) -> Response:
        return self.driver.call(cmd, args)

    def raw(self, line: str, rid: int | None) -> Response:
        """Send a raw request line (for checks of the protocol's own framing)."""
        return self.driver.send_line(line, rid)

    def ok(self, cmd: str, args: dict[str, Any]) -> Any:
        """Call `cmd`; fail the check unless it succeeds; return its result."""
        response = self.driver.call(cmd, args)
        expect(response.ok, f"{cmd} {_brief(args)} was rejected: {response.error}")
        return response.result

    def err(self, cmd: str, args: dict[str, Any], code: str | None = None) -> dict[str, Any]:
        """Call `cmd`; fail the check unless it is rejected (with `code`, when given)."""
        response = self.driver.call(cmd, args)
        expect(not response.ok, f"{cmd} {_brief(args)} was accepted: {response.result}")
        assert response.error is not None
        if code is not None:
            expect(response.code == code, f"{cmd} {_brief(args)}: expected {code}, "
                                          f"got {response.code}")
        return response.error


def _brief(args: dict[str, Any]) -> str:
    text = repr(args)
    return text if len(text) < 300 else text[:297] + "..."


@attrs.frozen
class PropertyCheck:
    """A registered property check."""

    name: str
    requirements: tuple[str, ...]
    run: Callable[[Impl], None]
    doc: str


CHECKS: dict[str, PropertyCheck] = {}


def check(*requirements: str) -> Callable[[Callable[[Impl], None]], Callable[[Impl], None]]:
    """Register a property check covering `requirements`, named `<module>.<function>`."""

    def register(fn: Callable[[Impl], None]) -> Callable[[Impl], None]:
        module = fn.__module__.rsplit(".", 1)[-1]
        name = f"{module}.{fn.__name__.removeprefix('check_')}"
        doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else name
        CHECKS[name] = PropertyCheck(name, tuple(requirements), fn, doc)
        return fn

    return register


def load_all() -> dict[str, PropertyCheck]:
    """Import every chapter's suite so its checks register; return the registry."""
    from conformance.suites import (  # noqa: F401
        authority,
        authority_log,
        clocks,
        consolidation,
        driver_protocol,
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

    return CHECKS
