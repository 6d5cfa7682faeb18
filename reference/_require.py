"""The one primitive every validity rule goes through (DESIGN section 7).

`require(cond, "SIG-004", ErrorCode.E_SIGNATURE_INVALID, "...")` raises a
`SpecViolation` carrying the requirement id and its registered error code.
Never a bare `assert`: `python -O` strips those.
"""

from __future__ import annotations

from reference.introduction import ErrorCode


class SpecViolation(Exception):
    """A rejection: the requirement broken, its registered error code, and what was wrong."""

    def __init__(self, requirement: str, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code} [{requirement}]: {message}")
        self.requirement = requirement
        self.code = code
        self.message = message


def require(cond: bool, requirement: str, code: ErrorCode, message: str) -> None:
    """Raise `SpecViolation(requirement, code, message)` unless `cond` holds."""
    if not cond:
        raise SpecViolation(requirement, code, message)
