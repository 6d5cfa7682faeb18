"""Negative controls of chapters 07 and 08: each replaces one function of `reference.ucan`.

The harness (conformance/suites/authority.py and vectors/authority/) must fail every one.
"""

from __future__ import annotations

from collections.abc import Sequence

from reference import ucan
from tools.controls import control


@control("ucan-accept-widening", "UCAN-030",
         "a parent's capability covers any child capability: attenuation is never checked")
def accept_widening() -> None:
    def is_capability_covered(parent: ucan.Capability, child: ucan.Capability) -> bool:
        return True

    ucan.is_capability_covered = is_capability_covered


@control("ucan-ignore-expiry", "UCAN-027", "a token is never expired, whatever its exp")
def ignore_expiry() -> None:
    def is_expired(token: ucan.Token, wall_ms: int) -> bool:
        return False

    ucan.is_expired = is_expired


@control("ucan-ignore-revocation", "UCAN-032", "revocations are stored but never applied")
def ignore_revocation() -> None:
    def is_revoked(token_hash: bytes, revokers: frozenset[str],
                   revocations: Sequence[ucan.Revocation], ts: ucan.Ts) -> bool:
        return False

    ucan.is_revoked = is_revoked
