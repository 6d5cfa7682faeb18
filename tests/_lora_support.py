"""Helpers shared by the LoRA (chapter 13) and WaveGen (chapter 14) tests (fixtures stay in
each module: imported fixtures are shadowed by the parameters that request them)."""

from __future__ import annotations

from typing import Any

import pytest

from reference._require import SpecViolation
from reference.introduction import ErrorCode

SEED = bytes(32)


def op(n: int) -> bytes:
    """A well-formed OpId (kind byte 0x01) numbered n."""
    return bytes([1]) + n.to_bytes(16, "big")


def rejects(code: ErrorCode, requirement: str) -> Any:
    """A pytest.raises context matching the violation's code and requirement id."""
    return pytest.raises(SpecViolation, match=rf"^{code} \[{requirement}\]")
