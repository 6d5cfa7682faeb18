"""Tests of reference/signatures.py against spec/06-signatures.md."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import attrs
import nacl.exceptions
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import signatures, wire_format
from reference._require import SpecViolation
from reference.introduction import ErrorCode
from tools.vectorgen import build_file
from tools.vectorgen import signatures as gen

ROOT = Path(__file__).resolve().parent.parent
RFC8032 = ROOT / "vectors" / "external" / "rfc8032" / "ed25519.json"

SEED = gen.seed("alice")
A = gen.public("alice")
MESSAGE = gen.derive("message/32")
SIG = gen.sign("alice", MESSAGE)


def rejects(requirement: str, code: ErrorCode, fn: Any, *args: Any) -> None:
    """Call fn(*args) and check that it raises the given requirement and code."""
    with pytest.raises(SpecViolation) as info:
        fn(*args)
    assert (info.value.requirement, info.value.code) == (requirement, code), info.value


def with_s(sig: bytes, s: int) -> bytes:
    return sig[:32] + s.to_bytes(32, "little")


# --- keys, signing, RFC 8032 ---------------------------------------------------------


def test_rfc8032_section_7_1_vectors() -> None:
    """The reference reproduces every public key and signature of RFC 8032 section 7.1."""
    doc = json.loads(RFC8032.read_text())
    assert doc["chapter"] == "06-signatures" and len(doc["cases"]) == 15
    for case in doc["cases"]:
        args = {k: bytes.fromhex(v) for k, v in case["input"].items()}
        if case["command"] == "ed25519.public_key":
            got = {"public_key": signatures.compute_public_key(args["seed"]).hex()}
        elif case["command"] == "ed25519.sign":
            got = {"signature": signatures.sign(args["seed"], args["message"]).hex()}
        else:
            signatures.verify_signature(args["public_key"], args["message"], args["signature"])
            got = {}
        assert got == case["output"], case["id"]


def test_rfc8032_sha_abc_message_is_sha512_of_abc() -> None:
    """The transcribed TEST SHA(abc) message is SHA-512("abc"), as the RFC says."""
    doc = json.loads(RFC8032.read_text())
    case = next(c for c in doc["cases"] if c["id"] == "test-sha-abc-sign")
    assert case["input"]["message"] == hashlib.sha512(b"abc").hexdigest()


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_invalid_seed_length(length: int) -> None:
    """A seed that is not 32 bytes is refused with E_BAD_REQUEST."""
    rejects("SIG-002", ErrorCode.E_BAD_REQUEST, signatures.sign, bytes(length), b"")
    rejects("SIG-002", ErrorCode.E_BAD_REQUEST, signatures.compute_public_key, bytes(length))


def test_sign_is_deterministic_and_verifies() -> None:
    """Signing twice gives the same bytes, and the signature verifies."""
    assert signatures.sign(SEED, MESSAGE) == signatures.sign(SEED, MESSAGE) == SIG
    signatures.verify_signature(A, MESSAGE, SIG)


@settings(max_examples=30, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=100),
       bit=st.integers(min_value=0, max_value=10**6))
def test_any_bit_flip_in_message_is_rejected(seed: bytes, message: bytes, bit: int) -> None:
    """A signature does not verify a message with one bit flipped."""
    a, sig = signatures.compute_public_key(seed), signatures.sign(seed, message)
    signatures.verify_signature(a, message, sig)
    altered = gen.flip(message or b"\x00", bit % (8 * max(len(message), 1)))
    rejects("SIG-014", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_signature, a, altered, sig)


# --- checks 1 to 5: the public key ---------------------------------------------------------


def test_small_order_table_is_the_torsion_group() -> None:
    """The eight encodings of section 4.2 are exactly the points whose order divides 8."""
    points = [gen.decode(e) for e in signatures.SMALL_ORDER_ENCODINGS]
    assert len(set(points)) == 8
    assert all(gen.mul(8, p) == gen.IDENTITY for p in points)
    assert {gen.encode(p) for p in gen.SMALL_ORDER} == signatures.SMALL_ORDER_ENCODINGS


def test_decode_public_key_finds_the_base_point() -> None:
    """Decoding B's encoding gives RFC 8032's base point coordinates."""
    x, y = signatures.decode_public_key(bytes.fromhex("58" + "66" * 31))
    assert y == 4 * pow(5, signatures.P - 2, signatures.P) % signatures.P
    assert x == 15112221349535400772501151409588531511454012693041857206046113283949847762202


@pytest.mark.parametrize("length", [0, 31, 33])
def test_invalid_public_key_length(length: int) -> None:
    """A public key that is not 32 bytes is E_PUBKEY_INVALID (check 1)."""
    rejects("SIG-006", ErrorCode.E_PUBKEY_INVALID, signatures.verify_signature,
            (A * 2)[:length], MESSAGE, SIG)


@pytest.mark.parametrize("y", [signatures.P, signatures.P + 1, signatures.P + 3, 2**255 - 1,
                               signatures.P | (1 << 255)])
def test_invalid_public_key_noncanonical_y(y: int) -> None:
    """A public key with y >= p is E_PUBKEY_INVALID (check 2)."""
    rejects("SIG-007", ErrorCode.E_PUBKEY_INVALID, signatures.check_public_key,
            y.to_bytes(32, "little"))


def test_invalid_public_key_not_on_curve() -> None:
    """y = 2 has no x on the curve (check 3)."""
    rejects("SIG-008", ErrorCode.E_PUBKEY_INVALID, signatures.check_public_key,
            (2).to_bytes(32, "little"))


@pytest.mark.parametrize("y", [1, signatures.P - 1])
def test_invalid_public_key_x_zero_with_sign_bit(y: int) -> None:
    """x = 0 with the sign bit set is non-canonical (check 4)."""
    rejects("SIG-009", ErrorCode.E_PUBKEY_INVALID, signatures.check_public_key,
            (y | (1 << 255)).to_bytes(32, "little"))


@pytest.mark.parametrize("index", range(8))
def test_invalid_public_key_small_order(index: int) -> None:
    """Each small-order key is rejected, even with a signature that passes the equation."""
    key, message, forged = gen.small_order_key_forgery(gen.SMALL_ORDER[index], f"test/{index}")
    assert gen.equation_holds(key, message, forged)
    rejects("SIG-010", ErrorCode.E_PUBKEY_INVALID, signatures.verify_signature, key, message,
            forged)


def test_mixed_order_key_is_accepted_when_the_equation_holds() -> None:
    """A key [a]B + T is not of small order; cofactorless verification decides."""
    message, sig = gen.mixed_key_signature("test/mixed", lambda k: k % 8 == 0)
    signatures.verify_signature(gen.MIXED_KEY, message, sig)


def test_invalid_mixed_order_key_cofactored_only() -> None:
    """A signature that only the cofactored equation accepts is rejected (check 9)."""
    message, sig = gen.mixed_key_signature("test/cofactored", lambda k: k % 8 != 0)
    rejects("SIG-014", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_signature,
            gen.MIXED_KEY, message, sig)


# --- checks 6 to 9: the signature -----------------------------------------------------------


@pytest.mark.parametrize("length", [0, 63, 65])
def test_invalid_signature_length(length: int) -> None:
    """A signature that is not 64 bytes is E_SIGNATURE_INVALID (check 6)."""
    rejects("SIG-011", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_signature, A, MESSAGE,
            (SIG + b"\x00")[:length])


@pytest.mark.parametrize("s", ["s+L", "L", "max"])
def test_invalid_signature_s_not_reduced(s: str) -> None:
    """S >= L is E_SIGNATURE_MALLEABLE (check 7), S + L included."""
    value = {"s+L": int.from_bytes(SIG[32:], "little") + signatures.L, "L": signatures.L,
             "max": 2**256 - 1}[s]
    rejects("SIG-012", ErrorCode.E_SIGNATURE_MALLEABLE, signatures.verify_signature, A, MESSAGE,
            with_s(SIG, value))


def test_s_equal_to_l_minus_1_passes_check_7() -> None:
    """S = L - 1 is reduced; the equation then rejects it."""
    rejects("SIG-014", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_signature, A, MESSAGE,
            with_s(SIG, signatures.L - 1))


@pytest.mark.parametrize("index", range(8))
def test_invalid_signature_small_order_r(index: int) -> None:
    """A small-order R is rejected by check 8 even when the equation holds."""
    message, sig = gen.mixed_key_signature(
        f"test/r/{index}", lambda k: (-k) % 8 == index, r_point=gen.SMALL_ORDER[index])
    assert gen.equation_holds(gen.MIXED_KEY, message, sig)
    rejects("SIG-013", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_signature,
            gen.MIXED_KEY, message, sig)


def test_invalid_signature_wrong_key() -> None:
    """Alice's signature does not verify under Bob's key."""
    rejects("SIG-014", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_signature,
            gen.public("bob"), MESSAGE, SIG)


def test_check_order_key_before_signature() -> None:
    """With a small-order key and S >= L, the key check decides."""
    rejects("SIG-010", ErrorCode.E_PUBKEY_INVALID, signatures.verify_signature,
            gen.encode(gen.SMALL_ORDER[3]), MESSAGE, with_s(SIG, signatures.L))


def test_libsodium_agrees_with_every_generated_verdict() -> None:
    """libsodium's verdicts coincide with section 4.1 on every ed25519.verify vector (4.4)."""
    doc = build_file(gen.files()[0])
    checked = 0
    for case in doc["cases"]:
        if case["command"] != "ed25519.verify":
            continue
        args = {k: bytes.fromhex(v) for k, v in case["input"].items()}
        try:
            nacl.signing.VerifyKey(args["public_key"]).verify(args["message"], args["signature"])
            verdict = "valid"
        except (nacl.exceptions.BadSignatureError, ValueError):
            verdict = "invalid"
        assert verdict == case["result"], case["id"]
        checked += 1
    assert checked > 40


# --- base64url and the JWS form ---------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=70))
def test_base64url_round_trip(data: bytes) -> None:
    """B64U is unpadded and decodes back to the same bytes."""
    text = signatures.encode_base64url(data)
    assert "=" not in text and signatures.decode_base64url(text) == data


@pytest.mark.parametrize("text", ["AA==", "AB", "AAB", "A", "A+", "A/", "AA\n", " AA", "AA.A"])
def test_invalid_base64url_not_canonical(text: str) -> None:
    """Padding, nonzero trailing bits, a 1-mod-4 length and foreign characters are malformed."""
    rejects("SIG-022", ErrorCode.E_JWS_MALFORMED, signatures.decode_base64url, text)


def test_jws_header_is_exactly_the_fixed_bytes() -> None:
    """H(A) has no whitespace, alg then kid, and the kid is 64 lowercase hex digits."""
    header = signatures.compute_jws_header(A)
    assert header == b'{"alg":"EdDSA","kid":"' + A.hex().encode() + b'"}' and len(header) == 88


def test_jws_sign_is_detached_compact() -> None:
    """The JWS is header, empty payload segment, signature of the signing input."""
    text = signatures.sign_jws(SEED, MESSAGE)
    head, middle, sig = text.split(".")
    assert head == signatures.encode_base64url(signatures.compute_jws_header(A)) and middle == ""
    signing_input = f"{head}.{signatures.encode_base64url(MESSAGE)}".encode()
    assert signatures.decode_base64url(sig) == gen.sign("alice", signing_input)
    signatures.verify_jws(A, MESSAGE, text)


def _resigned(header: bytes, payload: bytes) -> str:
    head = signatures.encode_base64url(header)
    sig = gen.sign("alice", f"{head}.{signatures.encode_base64url(payload)}".encode())
    return f"{head}..{signatures.encode_base64url(sig)}"


@pytest.mark.parametrize("header", [
    '{"alg": "EdDSA", "kid": "%s"}', '{"kid":"%s","alg":"EdDSA"}', '{"alg":"none","kid":"%s"}',
    '{"alg":"Ed25519","kid":"%s"}', '{"alg":"EdDSA","kid":"%s","typ":"JOSE"}',
])
def test_invalid_jws_header_variants(header: str) -> None:
    """A validly signed JWS whose header is not H(A) byte for byte is E_JWS_MALFORMED."""
    text = _resigned((header % A.hex()).encode(), MESSAGE)
    rejects("SIG-020", ErrorCode.E_JWS_MALFORMED, signatures.verify_jws, A, MESSAGE, text)


def test_invalid_jws_form() -> None:
    """Wrong segment counts, an attached payload and a short signature are E_JWS_MALFORMED."""
    text = signatures.sign_jws(SEED, MESSAGE)
    head, _, sig = text.split(".")
    attached = f"{head}.{signatures.encode_base64url(MESSAGE)}.{sig}"
    short = f"{head}..{signatures.encode_base64url(SIG[:63])}"
    bad = ErrorCode.E_JWS_MALFORMED
    rejects("SIG-019", bad, signatures.verify_jws, A, MESSAGE, f"{head}.{sig}")
    rejects("SIG-019", bad, signatures.verify_jws, A, MESSAGE, text + ".")
    rejects("SIG-021", bad, signatures.verify_jws, A, MESSAGE, attached)
    rejects("SIG-022", bad, signatures.verify_jws, A, MESSAGE, short)
    rejects("SIG-022", bad, signatures.verify_jws, A, MESSAGE, text + "==")
    rejects("SIG-020", bad, signatures.verify_jws, gen.public("bob"), MESSAGE, text)
    rejects("SIG-014", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_jws, A,
            gen.flip(MESSAGE, 3), text)


def test_jws_interoperates_with_joserfc() -> None:
    """joserfc verifies the reference's JWS, and its own detached JWS is byte-identical."""
    jws = pytest.importorskip("joserfc.jws")
    okp = pytest.importorskip("joserfc.jwk").OKPKey
    payload = b"\xff\x00not utf-8 \x80"
    text = signatures.sign_jws(SEED, payload)
    x = signatures.encode_base64url(A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that RFC 9864 deprecates "EdDSA"
        public = okp.import_key({"kty": "OKP", "crv": "Ed25519", "x": x})
        got = jws.deserialize_compact(text, public, algorithms=["EdDSA"], payload=payload)
        assert got.payload == payload and got.headers() == {"alg": "EdDSA", "kid": A.hex()}
        head, _, sig = text.split(".")
        attached = f"{head}.{signatures.encode_base64url(payload)}.{sig}"
        assert jws.deserialize_compact(attached, public, algorithms=["EdDSA"]).payload == payload
        private = okp.import_key({"kty": "OKP", "crv": "Ed25519", "x": x,
                                  "d": signatures.encode_base64url(SEED)})
        theirs = jws.serialize_compact({"alg": "EdDSA", "kid": A.hex()}, payload, private,
                                       algorithms=["EdDSA"])
    assert jws.detach_content(theirs) == text


# --- signed ops ---------------------------------------------------------------------------------


ENV = gen.envelope(A, "test/op", {"type": "Note", "text": "hello"})


def test_op_sign_then_verify() -> None:
    """A signed op verifies and its signing input is SI(author, signing payload)."""
    signed = signatures.sign_op(SEED, ENV)
    data = wire_format.encode_envelope(signed)
    si = signatures.verify_op_bytes(data)
    payload = wire_format.signing_payload(ENV)
    assert si == signatures.compute_signing_input(A, payload)
    assert si.startswith(signatures.encode_base64url(signatures.compute_jws_header(A)).encode())
    assert signed.sig == gen.sign("alice", si)


def test_invalid_op_altered_payload() -> None:
    """Changing the payload after signing breaks the signature."""
    signed = signatures.sign_op(SEED, ENV)
    altered = attrs.evolve(signed, payload={"type": "Note", "text": "hellp"})
    rejects("SIG-014", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_op_bytes,
            wire_format.encode_envelope(altered))


def test_invalid_op_sig_null() -> None:
    """An unsigned op is E_SIGNATURE_MISSING: no sanitization record exists yet."""
    rejects("SIG-027", ErrorCode.E_SIGNATURE_MISSING, signatures.verify_op_bytes,
            wire_format.encode_envelope(ENV))


def test_invalid_op_sign_by_other_seed() -> None:
    """A seed whose public key is not the op's author cannot sign it."""
    rejects("SIG-025", ErrorCode.E_BAD_REQUEST, signatures.sign_op, gen.seed("bob"), ENV)


def test_invalid_op_signed_without_jws_wrapping() -> None:
    """A signature over the bare signing payload is not the op's signature."""
    raw = attrs.evolve(ENV, sig=gen.sign("alice", wire_format.signing_payload(ENV)))
    rejects("SIG-014", ErrorCode.E_SIGNATURE_INVALID, signatures.verify_op, raw)


# --- vectors ----------------------------------------------------------------------------------


def test_generated_vectors_agree_with_their_intent() -> None:
    """Every generated case gets the verdict and code its author declared."""
    for vfile in gen.files():
        doc = build_file(vfile)
        assert doc["cases"], vfile.topic
        assert all(c["requirements"] for c in doc["cases"])
