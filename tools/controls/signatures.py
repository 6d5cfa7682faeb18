"""Negative controls of chapter 06: verifiers that accept what spec/06-signatures.md rejects.

Each control removes one of the reference's own checks and, where libsodium
would still reject the input for its own reasons, also replaces check 9 with a
verifier that lacks that check too (as a lenient library would), so the broken
build really accepts: the harness must notice an acceptance, not only a
different error code.
"""

from __future__ import annotations

import base64
import json

from reference import signatures
from reference._require import require
from reference.introduction import ErrorCode
from tools.controls import control
from tools.vectorgen.signatures import equation_holds


def _equation_unreduced(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check 9 computed with S as given, not reduced: [S]B = [S mod L]B, so S + L passes."""
    s = int.from_bytes(signature[32:], "little") % signatures.L
    reduced = signature[:32] + s.to_bytes(32, "little")
    require(
        equation_holds(public_key, message, reduced),
        "SIG-014",
        ErrorCode.E_SIGNATURE_INVALID,
        "encode([S]B - [k]A) differs from R",
    )


@control("sig-accept-s-ge-l", "SIG-012", "skips the S < L check; [S]B is computed from S as is")
def accept_s_ge_l() -> None:
    signatures.is_canonical_scalar = lambda s: True
    signatures.verify_equation = _equation_unreduced


def _equation_in_python(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check 9 without libsodium's pre-checks (which would reject a small-order key)."""
    require(
        equation_holds(public_key, message, signature),
        "SIG-014",
        ErrorCode.E_SIGNATURE_INVALID,
        "encode([S]B - [k]A) differs from R",
    )


def _public_key_checks_1_to_4(public_key: bytes) -> None:
    """Checks 1 to 4 of the reference; check 5 (small order) left out."""
    signatures.decode_public_key(public_key)


@control("sig-accept-small-order-key", "SIG-010",
         "skips the small-order check on public keys (checks 1 to 4 still run)")
def accept_small_order_key() -> None:
    signatures.check_public_key = _public_key_checks_1_to_4
    signatures.verify_equation = _equation_in_python


def _signature_encoding_without_r(signature: bytes) -> None:
    """Checks 6 and 7 as the reference has them; check 8 (R of small order) left out."""
    require(len(signature) == 64, "SIG-011", ErrorCode.E_SIGNATURE_INVALID, "not 64 bytes")
    require(
        signatures.is_canonical_scalar(int.from_bytes(signature[32:], "little")),
        "SIG-012",
        ErrorCode.E_SIGNATURE_MALLEABLE,
        "S is not reduced below L",
    )


@control("sig-accept-small-order-r", "SIG-013",
         "skips the small-order check on R; check 9 without libsodium, which has its own")
def accept_small_order_r() -> None:
    signatures.check_signature_encoding = _signature_encoding_without_r
    signatures.verify_equation = _equation_in_python


def _lenient_header(segment: str, public_key: bytes) -> None:
    """Accept any header that base64url-decodes (padding allowed) to JSON with alg EdDSA."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        alg = decoded.get("alg") if isinstance(decoded, dict) else None
    except ValueError:
        alg = None
    require(alg == "EdDSA", "SIG-020", ErrorCode.E_JWS_MALFORMED, "header alg is not EdDSA")


@control("jws-lenient-header", "SIG-020",
         "parses the protected header as JSON and accepts any with alg EdDSA")
def jws_lenient_header() -> None:
    signatures.check_jws_header = _lenient_header
