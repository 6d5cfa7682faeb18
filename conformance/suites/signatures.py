"""Property checks of chapter 06: Ed25519, the detached JWS, signed ops (spec/06-signatures.md).

Oracles are independent of any implementation: pynacl (libsodium) for key
derivation, signing and the equation of check 9, and the harness's own
transcription of checks 1 to 8 (`expected_code`) for the code a rejection
must carry.
"""

from __future__ import annotations

import base64
from typing import Any

import cbor2
import nacl.exceptions
import nacl.signing
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SMALL_ORDER = [bytes.fromhex(h) for h in (  # spec section 4.2
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
)]
PUBKEY, MALLEABLE, INVALID = "E_PUBKEY_INVALID", "E_SIGNATURE_MALLEABLE", "E_SIGNATURE_INVALID"
JWS_MALFORMED, MISSING = "E_JWS_MALFORMED", "E_SIGNATURE_MISSING"

seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=200)


# --- oracles --------------------------------------------------------------------


def public_key(seed: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed).verify_key.encode())


def sign(seed: bytes, message: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed).sign(message).signature)


def _key_decodes(a: bytes) -> bool:
    """Checks 2 to 4 of section 4.1: y < p, a square root exists, no x = 0 with the sign bit."""
    y, x_0 = int.from_bytes(a, "little") & ((1 << 255) - 1), a[31] >> 7
    if y >= P:
        return False
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    return (v * x * x - u) % P == 0 and not (x == 0 and x_0 == 1)


def expected_code(a: bytes, m: bytes, sig: bytes) -> str | None:
    """The code section 4.1 assigns to (A, M, sig), or None when it verifies."""
    if len(a) != 32 or not _key_decodes(a) or a in SMALL_ORDER:
        return PUBKEY
    if len(sig) != 64:
        return INVALID
    if int.from_bytes(sig[32:], "little") >= L:
        return MALLEABLE
    if sig[:32] in SMALL_ORDER:
        return INVALID
    try:
        nacl.signing.VerifyKey(a).verify(m, sig)
    except nacl.exceptions.BadSignatureError:
        return INVALID
    return None


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def header(a: bytes) -> bytes:
    return b'{"alg":"EdDSA","kid":"' + a.hex().encode("ascii") + b'"}'


def signing_input(a: bytes, payload: bytes) -> bytes:
    return (b64u(header(a)) + "." + b64u(payload)).encode("ascii")


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _verify(impl: Impl, a: bytes, m: bytes, sig: bytes) -> None:
    """ed25519.verify must give exactly the oracle's verdict and code."""
    want = expected_code(a, m, sig)
    args = {"public_key": a.hex(), "message": m.hex(), "signature": sig.hex()}
    if want is None:
        impl.ok("ed25519.verify", args)
    else:
        impl.err("ed25519.verify", args, want)


# --- Ed25519 ----------------------------------------------------------------------


@check("SIG-001", "SIG-003", "SIG-004", "SIG-014")
@given(seed=seeds, message=messages)
def check_sign_verify_round_trip(impl: Impl, seed: bytes, message: bytes) -> None:
    """The public key and signature equal RFC 8032's, and the signature verifies."""
    a = impl.ok("ed25519.public_key", {"seed": seed.hex()})["public_key"]
    expect(a == public_key(seed).hex(), f"public key {a} differs from RFC 8032's")
    sig = impl.ok("ed25519.sign", {"seed": seed.hex(), "message": message.hex()})["signature"]
    expect(sig == sign(seed, message).hex(), "signature differs from RFC 8032's deterministic one")
    impl.ok("ed25519.verify", {"public_key": a, "message": message.hex(), "signature": sig})


@check("SIG-005", "SIG-012", "SIG-014")
@given(seed=seeds, message=st.binary(min_size=1, max_size=100), target=st.sampled_from(
    ["message", "signature", "key"]), bit=st.integers(min_value=0, max_value=511))
def check_single_bit_flip_rejected(impl: Impl, seed: bytes, message: bytes, target: str,
                                   bit: int) -> None:
    """One flipped bit in the message, signature or key is rejected with section 4.1's code."""
    a, sig = public_key(seed), sign(seed, message)
    if target == "message":
        message = flip(message, bit % (8 * len(message)))
    elif target == "signature":
        sig = flip(sig, bit)
    else:
        a = flip(a, bit % 256)
    expect(expected_code(a, message, sig) is not None, "oracle accepted a flipped input")
    _verify(impl, a, message, sig)


keys = st.one_of(
    st.binary(min_size=32, max_size=32),  # about half of all y have no point
    st.builds(lambda y, sign: (y | sign << 255).to_bytes(32, "little"),  # y >= p
              st.integers(min_value=P, max_value=2**255 - 1), st.integers(0, 1)),
    st.sampled_from([(1 | 1 << 255).to_bytes(32, "little"),  # x = 0 with the sign bit
                     (P - 1 | 1 << 255).to_bytes(32, "little")]),
    st.sampled_from(SMALL_ORDER),
)


@check("SIG-006", "SIG-007", "SIG-008", "SIG-009", "SIG-010")
@given(key=keys, seed=seeds, message=messages)
def check_public_key_checks(impl: Impl, key: bytes, seed: bytes, message: bytes) -> None:
    """Arbitrary 32-byte keys get the verdict and code of checks 1 to 5."""
    _verify(impl, key, message, sign(seed, message))


@check("SIG-011", "SIG-006")
@given(seed=seeds, message=messages, cut=st.integers(min_value=0, max_value=63))
def check_wrong_lengths_rejected(impl: Impl, seed: bytes, message: bytes, cut: int) -> None:
    """A truncated signature and a truncated key are rejected with their codes."""
    a, sig = public_key(seed), sign(seed, message)
    _verify(impl, a, message, sig[:cut])
    _verify(impl, a[: cut % 32], message, sig)


@check("SIG-012")
@given(seed=seeds, message=messages, extra=st.integers(min_value=0, max_value=14))
def check_s_plus_l_malleable(impl: Impl, seed: bytes, message: bytes, extra: int) -> None:
    """A valid signature with S + L (or any S at least L) gives E_SIGNATURE_MALLEABLE."""
    a, sig = public_key(seed), sign(seed, message)
    s = int.from_bytes(sig[32:], "little") + L * (1 + extra)
    bad = sig[:32] + s.to_bytes(32, "little")
    impl.err("ed25519.verify", {"public_key": a.hex(), "message": message.hex(),
                                "signature": bad.hex()}, MALLEABLE)


@check("SIG-005", "SIG-010", "SIG-013")
@given(which=st.integers(min_value=0, max_value=7), seed=seeds, message=messages,
       sig=st.binary(min_size=64, max_size=64))
def check_small_order_rejected(impl: Impl, which: int, seed: bytes, message: bytes,
                               sig: bytes) -> None:
    """Small-order keys are E_PUBKEY_INVALID whatever the signature; small-order R is invalid."""
    _verify(impl, SMALL_ORDER[which], message, sig)
    a = public_key(seed)
    _verify(impl, a, message, SMALL_ORDER[which] + sign(seed, message)[32:])


# --- JWS ------------------------------------------------------------------------------


@check("SIG-015", "SIG-016", "SIG-017", "SIG-023")
@given(seed=seeds, payload=messages)
def check_jws_sign_exact(impl: Impl, seed: bytes, payload: bytes) -> None:
    """jws.sign gives exactly B64U(H(A)) || ".." || B64U(sig), which jws.verify accepts."""
    a = public_key(seed)
    text = impl.ok("jws.sign", {"seed": seed.hex(), "payload": payload.hex()})["jws"]
    want = b64u(header(a)) + ".." + b64u(sign(seed, signing_input(a, payload)))
    expect(text == want, f"jws.sign gave {text!r}, expected {want!r}")
    impl.ok("jws.verify", {"public_key": a.hex(), "payload": payload.hex(), "jws": text})


_HEADER_VARIANTS = [
    '{"alg": "EdDSA", "kid": "%s"}', '{"kid":"%s","alg":"EdDSA"}', '{"alg":"none","kid":"%s"}',
    '{"alg":"Ed25519","kid":"%s"}', '{"alg":"EdDSA","kid":"%s","typ":"JOSE"}',
    '{"alg":"EdDSA","kid":"%s"} ', '{"alg":"EdDSA","kid":"%s"}\n',
]


@check("SIG-019", "SIG-020", "SIG-021", "SIG-022", "SIG-023")
@given(seed=seeds, payload=messages, how=st.sampled_from(
    ["header", "kid-upper", "header-pad", "attached", "sig-pad", "extra-dot", "payload-bit"]),
    variant=st.sampled_from(_HEADER_VARIANTS))
def check_jws_altered_rejected(impl: Impl, seed: bytes, payload: bytes, how: str,
                               variant: str) -> None:
    """A JWS altered in form is E_JWS_MALFORMED; with another payload it is E_SIGNATURE_INVALID."""
    a = public_key(seed)
    h = b64u(header(a))
    good_sig = b64u(sign(seed, signing_input(a, payload)))
    code = JWS_MALFORMED
    if how == "header":  # a header JOSE accepts, validly signed: only SIG-020 rejects it
        h = b64u((variant % a.hex()).encode())
        text = h + ".." + b64u(sign(seed, (h + "." + b64u(payload)).encode()))
    elif how == "kid-upper":
        h = b64u(header(a).replace(a.hex().encode(), a.hex().upper().encode()))
        text = h + ".." + b64u(sign(seed, (h + "." + b64u(payload)).encode()))
    elif how == "header-pad":
        text = h + "==.." + good_sig
    elif how == "attached":  # an empty payload attached is the detached form itself
        payload = payload or b"\x00"
        good_sig = b64u(sign(seed, signing_input(a, payload)))
        text = h + "." + b64u(payload) + "." + good_sig
    elif how == "sig-pad":
        text = h + ".." + good_sig + "=="
    elif how == "extra-dot":
        text = h + "..." + good_sig
    else:  # the form is intact, the payload is not the one signed
        text = h + ".." + good_sig
        payload = flip(payload, 0) if payload else b"\x00"
        code = INVALID
    impl.err("jws.verify", {"public_key": a.hex(), "payload": payload.hex(), "jws": text}, code)


# --- signed ops -------------------------------------------------------------------------

payloads = st.fixed_dictionaries(
    {"type": st.text(min_size=1, max_size=12), "x": st.binary(min_size=1, max_size=40)},
    optional={"n": st.integers(min_value=-(2**63), max_value=2**63), "t": st.text(max_size=20)},
)


def envelope(author: bytes, wall_ms: int, logical: int, rand: bytes, payload: dict[str, Any],
             sig: bytes | None) -> bytes:
    """The canonical CBOR of an op envelope (spec/03-wire-format.md section 6)."""
    op_id = b"\x01" + wall_ms.to_bytes(6, "big") + rand
    return bytes(cbor2.dumps({"v": 1, "id": op_id, "author": author, "ts": [wall_ms, logical,
                              author], "payload": payload, "sig": sig}, canonical=True))


@check("SIG-024", "SIG-026", "SIG-027", "SIG-028")
@given(seed=seeds, wall_ms=st.integers(min_value=0, max_value=2**48 - 1),
       logical=st.integers(min_value=0, max_value=2**16 - 1),
       rand=st.binary(min_size=10, max_size=10), payload=payloads,
       old_sig=st.one_of(st.none(), st.binary(min_size=64, max_size=64)))
def check_op_sign_then_verify(impl: Impl, seed: bytes, wall_ms: int, logical: int, rand: bytes,
                              payload: dict[str, Any], old_sig: bytes | None) -> None:
    """op.sign sets the author's signature of SI(author, signing payload); op.verify accepts it."""
    a = public_key(seed)
    unsigned = envelope(a, wall_ms, logical, rand, payload, None)
    si = signing_input(a, unsigned)
    want = envelope(a, wall_ms, logical, rand, payload, sign(seed, si))
    got = impl.ok("op.sign", {"seed": seed.hex(),
                              "op": envelope(a, wall_ms, logical, rand, payload, old_sig).hex()})
    expect(got["op"] == want.hex(), "op.sign did not produce the expected signed envelope")
    out = impl.ok("op.verify", {"op": want.hex()})
    expect(out.get("signing_input") == si.decode(), f"signing_input {out!r} differs")
    altered = {**payload, "x": flip(payload["x"], 0)}
    sig = sign(seed, si)
    impl.err("op.verify", {"op": envelope(a, wall_ms, logical, rand, altered, sig).hex()},
             INVALID)
    impl.err("op.verify", {"op": unsigned.hex()}, MISSING)
