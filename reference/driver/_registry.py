"""Command table and argument access for the driver protocol (spec/16-conformance.md section 3)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reference._require import SpecViolation
from reference.introduction import ErrorCode
from reference.wire_format import decode_hex

Result = dict[str, Any]
Handler = Callable[["Args"], Result]

COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    """Register `handler` as the implementation of driver command `name`."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = handler
        return handler

    return register


class Args:
    """A request's `args` object with typed accessors that reject bad input with E_BAD_REQUEST."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def _get(self, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        if key not in self.raw:
            raise SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, f"missing argument {key!r}")
        value = self.raw[key]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise SpecViolation(
                "CONF-005", ErrorCode.E_BAD_REQUEST, f"argument {key!r} must be {what}"
            )
        return value

    def has(self, key: str) -> bool:
        return key in self.raw and self.raw[key] is not None

    def text(self, key: str) -> str:
        return str(self._get(key, str, "a string"))

    def int(self, key: str) -> int:
        return int(self._get(key, int, "an integer"))

    def bytes(self, key: str) -> bytes:
        """A hex-encoded byte string argument (spec/03-wire-format.md section 7)."""
        return decode_hex(self._get(key, str, "a hex string"))

    def list(self, key: str) -> list[Any]:
        return list(self._get(key, list, "an array"))

    def obj(self, key: str) -> Args:
        return Args(self._get(key, dict, "an object"))

    def any(self, key: str) -> Any:
        if key not in self.raw:
            raise SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, f"missing argument {key!r}")
        return self.raw[key]
