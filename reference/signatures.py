"""Chapter 06: Ed25519 signatures, the detached JWS form and signed ops (spec/06-signatures.md).

Verification follows section 4 check by check, in its order. Checks 1 to 6
(the public key and the signature's encoding) are done here in Python, each
with its own requirement id and error code; only the final equation (check 7)
is delegated to libsodium through pynacl. libsodium's own pre-checks coincide
with ours (section 4.4), but the reference never relies on them: a library's
choice is not the spec.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import cast

import attrs
import nacl.exceptions
import nacl.signing

from reference import wire_format
from reference._require import require
from reference.introduction import ErrorCode
from reference.wire_format import Envelope, Value

# --- constants (section 1.2) -----------------------------------------------

P = 2**255 - 19  # the field prime p
L = 2**252 + 27742317777372353535851937790883648493  # the prime order of the base point B
D = -121665 * pow(121666, P - 2, P) % P  # the curve constant d
SQRT_M1 = pow(2, (P - 1) // 4, P)  # a square root of -1 modulo p

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64

# Section 4.2: the canonical encodings of the 8 points whose order divides 8.
SMALL_ORDER_ENCODINGS: frozenset[bytes] = frozenset(
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",  # order 1
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
        "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
        "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  # order 8
    )
)


# --- keys and signing (sections 2 and 3) ------------------------------------


def check_seed(seed: bytes) -> None:
    """A secret key is a 32-byte seed, taken as is (section 2) [SIG-002]."""
    require(
        len(seed) == SEED_BYTES,
        "SIG-002",
        ErrorCode.E_BAD_REQUEST,
        f"a seed is {SEED_BYTES} bytes, got {len(seed)}",
    )


def compute_public_key(seed: bytes) -> bytes:
    """The public key A of a seed, which is also the node's NodeId (section 2) [SIG-003]."""
    check_seed(seed)
    # [SIG-001] RFC 8032 section 5.1.5 key generation (pure Ed25519)
    return bytes(nacl.signing.SigningKey(seed).verify_key.encode())


def sign(seed: bytes, message: bytes) -> bytes:
    """The deterministic Ed25519 signature of `message` (section 3) [SIG-004]."""
    check_seed(seed)
    # [SIG-001] [SIG-004] RFC 8032 section 5.1.6: r = SHA-512(prefix || M), no randomness
    return bytes(nacl.signing.SigningKey(seed).sign(message).signature)


# --- verification (section 4) -----------------------------------------------


def decode_public_key(public_key: bytes) -> tuple[int, int]:
    """Checks 1 to 4: decode A as RFC 8032 section 5.1.3 does, strictly (section 4.1)."""
    bad = ErrorCode.E_PUBKEY_INVALID
    require(
        len(public_key) == PUBLIC_KEY_BYTES,
        "SIG-006",
        bad,
        f"a public key is {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}",
    )
    encoded = int.from_bytes(public_key, "little")
    x_0 = encoded >> 255  # the sign bit: bit 7 of byte 31
    y = encoded & ((1 << 255) - 1)
    require(y < P, "SIG-007", bad, f"public key y = p + {y - P} is not reduced below p")
    # [SIG-008] recover x from x^2 = u / v (one exponentiation, RFC 8032 section 5.1.3 step 2)
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        x = x * SQRT_M1 % P
    require(
        (v * x * x - u) % P == 0,
        "SIG-008",
        bad,
        f"public key y = {y} is not the y-coordinate of a curve point",
    )
    require(
        not (x == 0 and x_0 == 1),
        "SIG-009",
        bad,
        "public key has x = 0 with the sign bit set (a non-canonical encoding)",
    )
    if x % 2 != x_0:
        x = P - x
    return x, y


def is_small_order(encoding: bytes) -> bool:
    """Whether `encoding` is one of the 8 small-order encodings of section 4.2."""
    return encoding in SMALL_ORDER_ENCODINGS


def check_public_key(public_key: bytes) -> None:
    """Checks 1 to 5: A is a canonical encoding of a curve point of large order (section 4.1)."""
    decode_public_key(public_key)
    require(
        not is_small_order(public_key),
        "SIG-010",
        ErrorCode.E_PUBKEY_INVALID,
        f"public key {public_key.hex()} is a point of small order",
    )


def is_canonical_scalar(s: int) -> bool:
    """Whether the scalar S is fully reduced, S < L (section 4.1, check 7)."""
    return s < L


def check_signature_encoding(signature: bytes) -> None:
    """Checks 6 to 8: the signature's length, S < L, and R not of small order (section 4.1)."""
    require(
        len(signature) == SIGNATURE_BYTES,
        "SIG-011",
        ErrorCode.E_SIGNATURE_INVALID,
        f"a signature is {SIGNATURE_BYTES} bytes, got {len(signature)}",
    )
    s = int.from_bytes(signature[32:], "little")
    require(
        is_canonical_scalar(s),
        "SIG-012",
        ErrorCode.E_SIGNATURE_MALLEABLE,
        f"S = L + {s - L} is not reduced below L",
    )
    # Dropping this check changes no answer of the reference: verify_equation's libsodium
    # call rejects a small-order R itself (its own pre-check), with the same code.
    require(
        # equivalent mutant (const, require-true): libsodium rejects small-order R (see above)
        not is_small_order(signature[:32]),
        "SIG-013",
        ErrorCode.E_SIGNATURE_INVALID,
        f"R = {signature[:32].hex()} is a point of small order",
    )


def compute_challenge(public_key: bytes, message: bytes, signature: bytes) -> int:
    """k = SHA-512(R || A || M) as a little-endian integer, reduced mod L (section 4.1)."""
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    return int.from_bytes(digest, "little") % L


def verify_equation(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check 9: encode([S]B - [k]A) equals R byte for byte (section 4.1) [SIG-014]."""
    # libsodium's crypto_sign_verify_detached computes exactly this cofactorless
    # comparison once its pre-checks pass; ours (checks 1 to 8) ran before it.
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        require(
            False,
            "SIG-014",
            ErrorCode.E_SIGNATURE_INVALID,
            "encode([S]B - [k]A) differs from R: wrong key, message or signature",
        )


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Verify an Ed25519 signature, checks in the order of section 4.1 [SIG-005]."""
    check_public_key(public_key)
    check_signature_encoding(signature)
    verify_equation(public_key, message, signature)


# --- base64url (section 5) ---------------------------------------------------

_B64U_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def encode_base64url(data: bytes) -> str:
    """B64U: RFC 4648 section 5 base64url without padding (section 5)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_base64url(text: str) -> bytes:
    """The bytes of a canonical B64U text; anything else is malformed (section 5) [SIG-022]."""
    canonical = _B64U_ALPHABET.fullmatch(text) is not None and len(text) % 4 != 1
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) if canonical else b""
    # canonical: the text is exactly what the encoder writes (so unused trailing bits are zero)
    require(
        canonical and encode_base64url(data) == text,
        "SIG-022",
        ErrorCode.E_JWS_MALFORMED,
        f"{text[:60]!r} is not canonical unpadded base64url",
    )
    return data


# --- the JWS form (section 6) ------------------------------------------------


def compute_jws_header(public_key: bytes) -> bytes:
    """H(A): the exact protected-header bytes for signer A (section 6.1) [SIG-015]."""
    return b'{"alg":"EdDSA","kid":"' + public_key.hex().encode("ascii") + b'"}'


def compute_signing_input(public_key: bytes, payload: bytes) -> bytes:
    """SI(A, payload) = ASCII(B64U(H(A)) || "." || B64U(payload)) (section 6.2) [SIG-016]."""
    header = encode_base64url(compute_jws_header(public_key))
    return (header + "." + encode_base64url(payload)).encode("ascii")


def sign_jws(seed: bytes, payload: bytes) -> str:
    """The detached compact JWS B64U(H(A)) || ".." || B64U(sig) of `payload` (section 6.3)."""
    public_key = compute_public_key(seed)
    signature = sign(seed, compute_signing_input(public_key, payload))
    # [SIG-017] compact serialization, payload segment left empty (RFC 7515 Appendix F)
    return encode_base64url(compute_jws_header(public_key)) + ".." + encode_base64url(signature)


def check_jws_header(segment: str, public_key: bytes) -> None:
    """The header segment is B64U(H(A)), compared character for character (section 6.4)."""
    require(
        segment == encode_base64url(compute_jws_header(public_key)),
        "SIG-020",
        ErrorCode.E_JWS_MALFORMED,
        f"protected header {segment[:60]!r} is not B64U(H(A)) for the verifying key",
    )


def verify_jws(public_key: bytes, payload: bytes, jws: str) -> None:
    """Verify a detached compact JWS against A and the payload, in section 6.4's order [SIG-018]."""
    bad = ErrorCode.E_JWS_MALFORMED
    segments = jws.split(".")
    require(
        len(segments) == 3,
        "SIG-019",
        bad,
        f"a JWS has three segments separated by '.', found {len(segments)}",
    )
    header, middle, signature_segment = segments
    check_jws_header(header, public_key)
    require(
        middle == "",
        "SIG-021",
        bad,
        "the payload segment is not empty (the payload is detached)",
    )
    signature = decode_base64url(signature_segment)
    require(
        len(signature) == SIGNATURE_BYTES,
        "SIG-022",
        bad,
        f"the signature segment decodes to {len(signature)} bytes, not {SIGNATURE_BYTES}",
    )
    # [SIG-023] section 4 over the signing input built from the header segment received
    signing_input = (header + "." + encode_base64url(payload)).encode("ascii")
    verify_signature(public_key, signing_input, signature)


# --- signed operations (section 7) -------------------------------------------


def compute_op_signing_input(env: Envelope) -> bytes:
    """SI(author, signing_payload(op)): what an op's signature signs (section 7.1) [SIG-024]."""
    return compute_signing_input(env.author, wire_format.signing_payload(env))


def sign_op(seed: bytes, env: Envelope) -> Envelope:
    """The envelope with `sig` set to the author's signature (section 7.1) [SIG-024]."""
    require(
        compute_public_key(seed) == env.author,
        "SIG-025",
        ErrorCode.E_BAD_REQUEST,
        "the op's author is not the NodeId of the signing seed",
    )
    # a signed op carries no sanitization record (spec/07 UCAN-039): any `san` is dropped
    unsigned = attrs.evolve(env, sig=None, san=None)
    return attrs.evolve(unsigned, sig=sign(seed, compute_op_signing_input(unsigned)))


def is_sanitized(env: Envelope) -> bool:
    """Whether an unsigned op carries a sanitization record that verifies (section 7.2).

    The record is chapter 07's (spec/07 section 8): False when the op has none;
    a record that fails a check of chapter 07 section 8 raises `E_SIGNATURE_MISSING`.
    """
    if env.san is None:
        return False
    from reference import ucan  # chapter 07 builds on this chapter (a local import: no cycle)

    ucan.verify_sanitization(env, env.san)  # [SIG-027] raises E_SIGNATURE_MISSING
    return True


def verify_op(env: Envelope) -> bytes:
    """Verify a decoded op's signature (section 7.2); return the signing input it covers."""
    signing_input = compute_op_signing_input(env)
    # [SIG-026] the envelope was decoded under chapter 03 first; then the null check
    if env.sig is None:  # [DM-016]
        require(
            is_sanitized(env),
            "SIG-027",
            ErrorCode.E_SIGNATURE_MISSING,
            "the op's sig is null and it carries no sanitization record",
        )
        from reference import ucan

        # a sanitized op is covered by its filter's signature, not its author's (07 8.3)
        return ucan.compute_sanitized_signing_input(
            env, ucan.decode_sanitization(cast(Value, env.san)))
    verify_signature(env.author, signing_input, env.sig)  # [SIG-028]
    return signing_input


def verify_op_bytes(data: bytes) -> bytes:
    """Decode an op (chapter 03) and verify its signature (section 7.2) [SIG-026]."""
    return verify_op(wire_format.decode_envelope(data))
