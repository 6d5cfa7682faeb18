"""Vectors of chapter 06: Ed25519, the detached JWS, signed ops (spec/06-signatures.md).

Every seed and message is derived, never random: `seed(label)` is
BLAKE3("strata/vectors/signatures/" + label) (32 bytes) and `msg(label, n)`
the first n bytes of the BLAKE3 XOF output of the same string. Signatures that
must satisfy the verification equation while breaking another rule (small-order
keys, small-order R, S + L) are constructed with the affine Edwards arithmetic
below, and every such construction is checked against that equation before a
case is emitted, so each invalid case is rejected for exactly one reason.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import attrs
import blake3
import nacl.signing

from reference import wire_format
from reference.wire_format import Envelope
from tools.vectorgen import Case, GenerationError, VectorFile

FOLDER, CHAPTER = "signatures", "06-signatures"
PREFIX = b"strata/vectors/signatures/"

# --- derivation -------------------------------------------------------------


def derive(label: str, n: int = 32) -> bytes:
    """The first n bytes of BLAKE3's XOF output for PREFIX + label."""
    return blake3.blake3(PREFIX + label.encode()).digest(length=n)


def seed(label: str) -> bytes:
    return derive("seed/" + label)


def public(label: str) -> bytes:
    return bytes(nacl.signing.SigningKey(seed(label)).verify_key.encode())


def sign(label: str, message: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed(label)).sign(message).signature)


def ensure(cond: bool, message: str) -> None:
    """Stop generation when a constructed input does not have the property claimed for it."""
    if not cond:
        raise GenerationError(message)


def flip(data: bytes, bit: int) -> bytes:
    """`data` with one bit flipped (bit 0 is the low bit of byte 0)."""
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- affine Edwards arithmetic on edwards25519 (RFC 8032 section 5.1) ---------

Point = tuple[int, int]
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
IDENTITY: Point = (0, 1)


def add(a: Point, b: Point) -> Point:
    """The sum of two points (the complete twisted Edwards addition law)."""
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P,
            (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def _add_extended(a: tuple[int, int, int, int], b: tuple[int, int, int, int]
                  ) -> tuple[int, int, int, int]:
    """Addition in extended coordinates (X, Y, Z, T), x = X/Z, y = Y/Z (RFC 8032 section 5.1.4)."""
    p1, p2 = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    c, d = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = p2 - p1, d - c, d + c, p2 + p1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def mul(k: int, a: Point) -> Point:
    """[k]a by double and add (in extended coordinates, one inversion at the end)."""
    out, base = (0, 1, 1, 0), (a[0], a[1], 1, a[0] * a[1] % P)
    while k:
        if k & 1:
            out = _add_extended(out, base)
        base, k = _add_extended(base, base), k >> 1
    z_inv = pow(out[2], P - 2, P)
    return (out[0] * z_inv % P, out[1] * z_inv % P)


def neg(a: Point) -> Point:
    return ((-a[0]) % P, a[1])


def encode(a: Point) -> bytes:
    """RFC 8032 section 5.1.2: y little-endian, the low bit of x in bit 255."""
    return (a[1] | ((a[0] & 1) << 255)).to_bytes(32, "little")


def decode(data: bytes) -> Point:
    """RFC 8032 section 5.1.3 for encodings known to be canonical and on the curve."""
    y = int.from_bytes(data, "little") & ((1 << 255) - 1)
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    point = (x, y) if x & 1 == data[31] >> 7 else ((P - x) % P, y)
    if (v * x * x - u) % P or encode(point) != data:
        raise ValueError(f"{data.hex()} is not a canonical point encoding")
    return point


B: Point = decode(bytes.fromhex("58" + "66" * 31))
TORSION: Point = mul(L, decode(bytes.fromhex("03" + "00" * 31)))  # a point of order 8
ensure(mul(8, TORSION) == IDENTITY and mul(4, TORSION) != IDENTITY, "T is not of order 8")
SMALL_ORDER: list[Point] = [mul(m, TORSION) for m in range(8)]  # [m]T, m = 0..7


def order(a: Point) -> int:
    return next(n for n in (1, 2, 4, 8) if mul(n, a) == IDENTITY)


def challenge(r: bytes, a: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + a + message).digest(), "little") % L


def equation_holds(a: bytes, message: bytes, signature: bytes) -> bool:
    """The cofactorless equation of check 9 alone: encode([S]B - [k]A) == R."""
    s, k = int.from_bytes(signature[32:], "little"), challenge(signature[:32], a, message)
    return encode(add(mul(s, B), neg(mul(k, decode(a))))) == signature[:32]


def with_s(signature: bytes, s: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "little")


# --- constructed signatures ---------------------------------------------------


def small_order_key_forgery(point: Point, label: str) -> tuple[bytes, bytes, bytes]:
    """(A, M, sig) with A = `point` of small order and the equation satisfied.

    For A of order n, [k]A = [k mod n]A: pick S, try R_j = encode([S]B - [j]A)
    for j < n and keep the first message whose k = j (mod n).
    """
    a, n = encode(point), order(point)
    s = int.from_bytes(derive(label + "/S"), "little") % L
    for counter in range(1000):
        message = derive(f"{label}/{counter}")
        for j in range(n):
            r = encode(add(mul(s, B), neg(mul(j, point))))
            if challenge(r, a, message) % n == j:
                return a, message, r + s.to_bytes(32, "little")
    raise GenerationError(f"{label}: no forgery found")


MIXED_SCALAR = int.from_bytes(derive("mixed-order/scalar"), "little") % L
MIXED_KEY = encode(add(mul(MIXED_SCALAR, B), TORSION))  # [a]B + T: order 8L, not small


def mixed_key_signature(label: str, want: Callable[[int], bool], r_point: Point | None = None
                        ) -> tuple[bytes, bytes]:
    """(M, sig) under MIXED_KEY with R = [r]B (or `r_point`), S = r + k*a, for a k that `want`s."""
    r = int.from_bytes(derive(label + "/r"), "little") % L
    r_bytes = encode(mul(r, B) if r_point is None else r_point)
    for counter in range(1000):
        message = derive(f"{label}/{counter}")
        k = challenge(r_bytes, MIXED_KEY, message)
        if want(k):
            s = ((0 if r_point is not None else r) + k * MIXED_SCALAR) % L
            return message, r_bytes + s.to_bytes(32, "little")
    raise GenerationError(f"{label}: no message found")


# --- ed25519.json --------------------------------------------------------------


def _verify(cid: str, reqs: tuple[str, ...], desc: str, a: bytes, m: bytes, sig: bytes,
            error: str | None = None, comment: str | None = None) -> Case:
    return Case(cid, reqs, desc, "ed25519.verify",
                {"public_key": a.hex(), "message": m.hex(), "signature": sig.hex()},
                "invalid" if error else "valid", comment=comment, error=error)


def ed25519_cases() -> list[Case]:
    out: list[Case] = []
    pk, bad_sig = "E_PUBKEY_INVALID", "E_SIGNATURE_INVALID"
    for who in ("alice", "bob"):
        out.append(Case(f"public-key-{who}", ("SIG-001", "SIG-003"),
                        "the public key (NodeId) of a derived seed", "ed25519.public_key",
                        {"seed": seed(who).hex()}, "valid", comment=f"seed('{who}')"))
    messages = {"empty": b"", "32": derive("message/32", 32), "1000": derive("message/1000", 1000)}
    for name, m in messages.items():
        out.append(Case(f"sign-{name}", ("SIG-001", "SIG-004"),
                        f"deterministic signature of a {len(m)}-byte message", "ed25519.sign",
                        {"seed": seed("alice").hex(), "message": m.hex()}, "valid",
                        comment=f"seed('alice'), msg('message/{name}', {len(m)})"))
        out.append(_verify(f"verify-{name}", ("SIG-005", "SIG-013", "SIG-014"),
                           f"a valid signature of a {len(m)}-byte message", public("alice"), m,
                           sign("alice", m), comment=f"seed('alice'), msg('message/{name}')"))
    for n in (0, 31, 33, 64):
        out.append(Case(f"seed-length-{n}", ("SIG-002", "SIG-004"),
                        f"a {n}-byte seed is refused: signing is defined on 32-byte seeds",
                        "ed25519.sign", {"seed": derive("seed/short", n).hex(), "message": ""},
                        "invalid", error="E_BAD_REQUEST"))
    out.append(Case("public-key-seed-length-31", ("SIG-002", "SIG-003"),
                    "a 31-byte seed is refused: A is derived from a 32-byte seed only",
                    "ed25519.public_key", {"seed": derive("seed/short", 31).hex()}, "invalid",
                    error="E_BAD_REQUEST"))

    m = derive("message/32", 32)
    a, sig = public("alice"), sign("alice", m)
    s = int.from_bytes(sig[32:], "little")
    # check 1: length
    for n in (0, 31, 33):
        key = (a + b"\x00")[:n] if n <= 32 else a + b"\x00"
        out.append(_verify(f"pubkey-length-{n}", ("SIG-006",), f"a {n}-byte public key", key, m,
                           sig, pk))
    # check 2: y < p
    for name, y, sign_bit, why in (
        ("y-equals-p", P, 0, "y = p, a non-canonical encoding of y = 0"),
        ("y-p-plus-1", P + 1, 0, "y = p + 1, a non-canonical encoding of the identity"),
        ("y-p-plus-3", P + 3, 0, "y = p + 3: y = 3 is on the curve; lenient decoders reduce"),
        ("y-max", 2**255 - 1, 0, "y = 2^255 - 1, the largest y field"),
        ("y-equals-p-sign", P, 1, "y = p with the sign bit set"),
    ):
        key = (y | (sign_bit << 255)).to_bytes(32, "little")
        out.append(_verify(f"pubkey-noncanonical-{name}", ("SIG-007",), why, key, m, sig, pk))
    # check 3: on the curve (y = 2 is the smallest y with no x)
    for sign_bit in (0, 1):
        key = (2 | (sign_bit << 255)).to_bytes(32, "little")
        out.append(_verify(f"pubkey-not-on-curve-sign-{sign_bit}", ("SIG-008",),
                           "y = 2: (y^2 - 1) / (d y^2 + 1) has no square root mod p", key, m,
                           sig, pk))
    # check 4: x = 0 with the sign bit set (only y = 1 and y = p - 1 have x = 0)
    for name, y in (("identity", 1), ("order-2", P - 1)):
        key = (y | (1 << 255)).to_bytes(32, "little")
        out.append(_verify(f"pubkey-x0-sign-{name}", ("SIG-009",),
                           f"y = {'1' if y == 1 else 'p - 1'}, x = 0, sign bit 1: non-canonical",
                           key, m, sig, pk))
    # check 5: small order, each with a signature that satisfies the equation
    for i, point in enumerate(SMALL_ORDER):
        key, fm, forged = small_order_key_forgery(point, f"small-order-key/{i}")
        ensure(equation_holds(key, fm, forged), f"small-order key {i}: equation fails")
        out.append(_verify(f"pubkey-small-order-{i}", ("SIG-010",),
                           f"A = [{i}]T has order {order(point)}; the forged signature passes "
                           "the equation, so only the small-order check rejects it",
                           key, fm, forged, pk,
                           comment=f"T = [L]decode(03 00..00); S from msg('small-order-key/{i}/S')"
                                   f"; M = msg('small-order-key/{i}/<counter>')"))
    # checks 6 to 8: the signature's encoding
    for n, desc in ((0, "an empty signature"), (63, "a truncated signature"),
                    (65, "a signature with one byte appended")):
        short = (sig + b"\x00")[:n]
        out.append(_verify(f"sig-length-{n}", ("SIG-011",), desc, a, m, short, bad_sig))
    for name, new_s, why in (
        ("s-plus-l", s + L, "a valid signature with S replaced by S + L ([S]B is unchanged)"),
        ("s-equals-l", L, "S = L exactly, the smallest rejected value"),
        ("s-max", 2**256 - 1, "S = 2^256 - 1"),
    ):
        out.append(_verify(f"sig-{name}", ("SIG-012",), why, a, m, with_s(sig, new_s),
                           "E_SIGNATURE_MALLEABLE"))
    out.append(_verify("sig-s-l-minus-1", ("SIG-012", "SIG-014"),
                       "S = L - 1 passes the S < L check and then fails the equation",
                       a, m, with_s(sig, L - 1), bad_sig))
    for i, point in enumerate(SMALL_ORDER):
        fm, forged = mixed_key_signature(f"small-order-r/{i}", _minus_k_mod_8_is(i),
                                         r_point=point)
        ensure(equation_holds(MIXED_KEY, fm, forged), f"small-order R {i}: equation fails")
        out.append(_verify(f"sig-r-small-order-{i}", ("SIG-013",),
                           f"R = [{i}]T (order {order(point)}) under a mixed-order key, S = k*a: "
                           "the equation holds, so only the small-order R check rejects it",
                           MIXED_KEY, fm, forged, bad_sig,
                           comment=mixed_comment(f"small-order-r/{i}", f"-k = {i} (mod 8)",
                                                 r_given=True)))
    # check 9: the equation
    fm, good = mixed_key_signature("mixed-order/valid", lambda k: k % 8 == 0)
    ensure(equation_holds(MIXED_KEY, fm, good), "mixed-order valid: equation fails")
    out.append(_verify("mixed-order-key-valid", ("SIG-010", "SIG-014"),
                       "a mixed-order key ([a]B + T) is not of small order; with k = 0 mod 8 "
                       "the cofactorless equation holds", MIXED_KEY, fm, good,
                       comment=mixed_comment("mixed-order/valid", "k = 0 (mod 8)")))
    fm, cof = mixed_key_signature("mixed-order/cofactored", lambda k: k % 8 != 0)
    ensure(not equation_holds(MIXED_KEY, fm, cof), "mixed-order cofactored: equation holds")
    out.append(_verify("mixed-order-key-cofactored-only", ("SIG-014",),
                       "R = [r]B, S = r + k*a with k != 0 mod 8: the cofactored equation holds, "
                       "the cofactorless one (required) does not", MIXED_KEY, fm, cof, bad_sig,
                       comment=mixed_comment("mixed-order/cofactored", "k != 0 (mod 8)")))
    out.append(_verify("wrong-key", ("SIG-014",), "alice's signature checked under bob's key",
                       public("bob"), m, sig, bad_sig))
    out.append(_verify("altered-message", ("SIG-014",), "one bit of the message flipped",
                       a, flip(m, 0), sig, bad_sig))
    out.append(_verify("altered-r", ("SIG-014",), "bit 0 of R flipped", a, m, flip(sig, 0),
                       bad_sig))
    out.append(_verify("altered-s", ("SIG-014",), "bit 0 of S flipped (S stays below L)",
                       a, m, flip(sig, 256), bad_sig))
    out.append(_verify("empty-message-under-32-byte-signature", ("SIG-014",),
                       "a valid signature of msg('message/32') checked against the empty message",
                       a, b"", sig, bad_sig))
    # the order of the checks: the first failing one decides
    so_key = encode(SMALL_ORDER[1])
    for cid, key, sg, err, why in (
        ("order-key-before-length", a[:31], sig[:63], pk, "short key and short signature"),
        ("order-key-before-s", so_key, with_s(sig, s + L), pk, "small-order key and S >= L"),
        ("order-s-before-r", a, encode(SMALL_ORDER[0]) + (s + L).to_bytes(32, "little"),
         "E_SIGNATURE_MALLEABLE", "S >= L and a small-order R"),
        ("order-length-before-s", a, sig[:32] + (s + L).to_bytes(32, "little") + b"\x00",
         bad_sig, "a 65-byte signature whose bytes 32..63 hold S + L"),
    ):
        out.append(_verify(cid, ("SIG-005",), f"{why}: the first failing check decides",
                           key, m, sg, err))
    return out


def _minus_k_mod_8_is(residue: int) -> Callable[[int], bool]:
    """The condition -k = residue (mod 8), which makes -[k]T equal [residue]T."""
    return lambda k: (-k) % 8 == residue


def mixed_comment(label: str, condition: str, r_given: bool = False) -> str:
    """How a mixed-order-key case was constructed."""
    r = "R as stated, S = k*a mod L" if r_given else (
        f"R = [r]B with r = msg('{label}/r') mod L, S = r + k*a mod L")
    return (f"A = [a]B + T with a = msg('mixed-order/scalar') as little-endian mod L and "
            f"T = [L]decode(03 00..00) of order 8; {r}; M = msg('{label}/<c>') for the first "
            f"counter c = 0, 1, ... with {condition}")


# --- jws.json -------------------------------------------------------------------


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def header(a: bytes) -> bytes:
    return b'{"alg":"EdDSA","kid":"' + a.hex().encode() + b'"}'


def _fill(template: str, a: bytes) -> str:
    """A header template with KID, KID_UPPER or KID_BOB replaced."""
    return (template.replace("KID_UPPER", a.hex().upper())
            .replace("KID_BOB", public("bob").hex()).replace("KID", a.hex()))


def jws_over(label: str, header_segment: str, payload: bytes) -> str:
    """A detached JWS whose signature is valid over `header_segment` "." B64U(payload)."""
    sig = sign(label, (header_segment + "." + b64u(payload)).encode())
    return header_segment + ".." + b64u(sig)


def _jws(cid: str, reqs: tuple[str, ...], desc: str, a: bytes, payload: bytes, text: str,
         error: str | None = None, comment: str | None = None) -> Case:
    return Case(cid, reqs, desc, "jws.verify",
                {"public_key": a.hex(), "payload": payload.hex(), "jws": text},
                "invalid" if error else "valid", comment=comment, error=error)


def jws_cases() -> list[Case]:
    out: list[Case] = []
    bad = "E_JWS_MALFORMED"
    payloads = {"empty": b"", "text": b"strata", "binary": derive("jws/binary", 40)}
    for name, pl in payloads.items():
        how = {"empty": "the empty payload", "text": "ASCII 'strata'",
               "binary": "msg('jws/binary', 40), not UTF-8"}[name]
        out.append(Case(f"sign-{name}", ("SIG-015", "SIG-016", "SIG-017"),
                        f"the detached JWS of a {len(pl)}-byte payload", "jws.sign",
                        {"seed": seed("alice").hex(), "payload": pl.hex()}, "valid",
                        comment=f"seed('alice'); payload: {how}"))
        good = jws_over("alice", b64u(header(public("alice"))), pl)
        out.append(_jws(f"verify-{name}", ("SIG-018", "SIG-023"), "a valid detached JWS",
                        public("alice"), pl, good))
    a, pl = public("alice"), payloads["binary"]
    good = jws_over("alice", b64u(header(a)), pl)
    h_seg, _, s_seg = good.split(".")
    for name, hdr, why in (
        ("spaces", '{"alg": "EdDSA", "kid": "KID"}', "JSON with spaces"),
        ("key-order", '{"kid":"KID","alg":"EdDSA"}', "members in the other order"),
        ("alg-none", '{"alg":"none","kid":"KID"}', "alg none"),
        ("alg-ed25519", '{"alg":"Ed25519","kid":"KID"}', "alg Ed25519 (RFC 9864 name)"),
        ("kid-uppercase", '{"alg":"EdDSA","kid":"KID_UPPER"}', "kid in uppercase hex"),
        ("extra-member", '{"alg":"EdDSA","kid":"KID","typ":"JOSE"}', "an extra member"),
        ("rfc7797", '{"alg":"EdDSA","b64":false,"crit":["b64"],"kid":"KID"}',
         "the RFC 7797 unencoded-payload header"),
        ("kid-other-key", '{"alg":"EdDSA","kid":"KID_BOB"}',
         "kid names bob while alice signs and verifies"),
    ):
        out.append(_jws(f"header-{name}", ("SIG-020",),
                        f"{why}; the signature is valid over this header, so only the exact "
                        "header comparison rejects it", a, pl,
                        jws_over("alice", b64u(_fill(hdr, a).encode()), pl), bad))
    out.append(_jws("header-padding", ("SIG-020",), "the header segment with '==' padding",
                    a, pl, jws_over("alice", h_seg + "==", pl), bad))
    out.append(_jws("header-wrong-kid", ("SIG-020",), "bob's JWS checked under alice's key",
                    a, pl, jws_over("bob", b64u(header(public("bob"))), pl), bad))
    out.append(_jws("segments-two", ("SIG-019", "SIG-018"), "no payload segment", a, pl,
                    h_seg + "." + s_seg, bad))
    out.append(_jws("segments-four", ("SIG-019", "SIG-018"), "a fourth segment", a, pl,
                    good + ".", bad))
    out.append(_jws("segments-empty", ("SIG-019",), "the empty string", a, pl, "", bad))
    out.append(_jws("attached-payload", ("SIG-021", "SIG-018"),
                    "the payload attached (RFC 7515 form); the signature is valid, so only the "
                    "form check rejects it",
                    a, pl, h_seg + "." + b64u(pl) + "." + s_seg, bad))
    out.append(_jws("attached-other", ("SIG-021", "SIG-018"),
                    "a non-empty middle segment before a valid signature", a, pl,
                    h_seg + ".e30." + s_seg, bad))
    sig = bytes.fromhex(_b64u_hex(s_seg))
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    noisy = s_seg[:-1] + last[last.index(s_seg[-1]) + 1]  # sets an unused low bit
    for name, seg, why in (
        ("padding", s_seg + "==", "'==' padding"),
        ("trailing-bits", noisy, "nonzero unused bits in the last character (same 64 bytes)"),
        ("standard-alphabet", s_seg.translate(str.maketrans("-_", "+/")) if "-" in s_seg or
         "_" in s_seg else s_seg[:-2] + "+" + s_seg[-1], "'+' or '/' from standard base64"),
        ("newline", s_seg + "\n", "a trailing newline"),
        ("63-bytes", b64u(sig[:63]), "a truncated signature (63 bytes)"),
        ("65-bytes", b64u(sig + b"\x00"), "a signature with one byte appended"),
        ("81-chars", s_seg[:81], "81 characters: a length base64 can never produce"),
        ("90-chars", s_seg + "AAAA", "90 characters: decodes to 67 bytes"),
    ):
        out.append(_jws(f"signature-{name}", ("SIG-022",), why, a, pl, h_seg + ".." + seg, bad))
    out.append(_jws("altered-payload", ("SIG-023", "SIG-014"), "one payload bit flipped", a,
                    flip(pl, 0), good, "E_SIGNATURE_INVALID"))
    out.append(_jws("altered-signature", ("SIG-023", "SIG-014"), "bit 0 of R flipped", a, pl,
                    h_seg + ".." + b64u(flip(sig, 0)), "E_SIGNATURE_INVALID"))
    s = int.from_bytes(sig[32:], "little")
    out.append(_jws("signature-s-plus-l", ("SIG-023", "SIG-012"), "S replaced by S + L", a, pl,
                    h_seg + ".." + b64u(with_s(sig, s + L)), "E_SIGNATURE_MALLEABLE"))
    ident = encode(IDENTITY)
    forged_s = int.from_bytes(derive("jws/identity-key/S"), "little") % L
    si = (b64u(header(ident)) + "." + b64u(pl)).encode()
    forged = encode(mul(forged_s, B)) + forged_s.to_bytes(32, "little")  # [S]B - [k]O = [S]B
    ensure(equation_holds(ident, si, forged), "identity-key JWS: equation fails")
    out.append(_jws("identity-key", ("SIG-018", "SIG-010"),
                    "a well-formed JWS under the identity key, with a signature that passes the "
                    "equation: the key check rejects it", ident, pl,
                    b64u(header(ident)) + ".." + b64u(forged), "E_PUBKEY_INVALID",
                    comment="S = msg('jws/identity-key/S') mod L, R = encode([S]B)"))
    out.append(_jws("order-form-before-key", ("SIG-018",),
                    "a bad header and a small-order key: the form check decides", ident, pl,
                    good, bad))
    out.append(_jws("order-signature-length-before-key", ("SIG-018", "SIG-022"),
                    "the identity key with its own header and a 63-byte signature: check 4 "
                    "(E_JWS_MALFORMED) comes before the key check of section 4.1", ident, pl,
                    b64u(header(ident)) + ".." + b64u(forged[:63]), bad,
                    comment="the identity-key case's signature without its last byte"))
    short = a[:31]
    out.append(_jws("order-key-after-form", ("SIG-018", "SIG-006"),
                    "a 31-byte key whose header matches: the key check rejects it", short, pl,
                    jws_over("alice", b64u(header(short)), pl), "E_PUBKEY_INVALID"))
    return out


def _b64u_hex(segment: str) -> str:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).hex()


# --- ops.json -------------------------------------------------------------------


def envelope(author: bytes, label: str, payload: dict[str, Any], sig: bytes | None = None
             ) -> Envelope:
    """An op envelope by `author`, its id and timestamp derived from `label`."""
    wall_ms = 1_700_000_000_000 + int.from_bytes(derive(label + "/ms", 2), "big")
    op_id = bytes([0x01]) + wall_ms.to_bytes(6, "big") + derive(label + "/id", 10)
    return Envelope(op_id=op_id, author=author, ts=(wall_ms, 0, author), payload=payload,
                    sig=sig)


def signed(label: str, env: Envelope) -> Envelope:
    """`env` signed by seed(label) as section 7.1 says (independently of the reference)."""
    si = (b64u(header(env.author)) + "."
          + b64u(wire_format.signing_payload(env))).encode()
    return attrs.evolve(env, sig=sign(label, si))


def _op(cid: str, reqs: tuple[str, ...], desc: str, env: Envelope | bytes,
        error: str | None = None) -> Case:
    data = env if isinstance(env, bytes) else wire_format.encode_envelope(env)
    return Case(cid, reqs, desc, "op.verify", {"op": data.hex()},
                "invalid" if error else "valid", error=error)


def ops_cases() -> list[Case]:
    out: list[Case] = []
    a = public("alice")
    note: dict[str, Any] = {"type": "Note", "text": "hello", "tags": ["a", "b"]}
    blob: dict[str, Any] = {"type": "IngestEvidence", "hash": derive("ops/hash"), "n": 7}
    for name, pl in (("note", note), ("blob", blob)):
        env = envelope(a, f"ops/{name}", pl)
        out.append(Case(f"sign-{name}", ("SIG-024",), "sign an unsigned op as its author",
                        "op.sign", {"seed": seed("alice").hex(),
                                    "op": wire_format.encode_envelope(env).hex()}, "valid"))
        out.append(_op(f"verify-{name}", ("SIG-026", "SIG-028", "WIRE-026"),
                       "a validly signed op; its signing input embeds the signing payload",
                       signed("alice", env)))
    env = envelope(a, "ops/note", note)
    good = signed("alice", env)
    out.append(Case("sign-replaces-sig", ("SIG-024",), "a sig already present is replaced",
                    "op.sign", {"seed": seed("alice").hex(), "op": wire_format.encode_envelope(
                        attrs.evolve(env, sig=derive("ops/junk", 64))).hex()}, "valid",
                    comment="the op of sign-note carrying sig = msg('ops/junk', 64)"))
    out.append(Case("sign-author-mismatch", ("SIG-025", "SIG-024"),
                    "bob's seed cannot sign alice's op (its sig would not be made with the seed "
                    "whose public key is author)",
                    "op.sign", {"seed": seed("bob").hex(),
                                "op": wire_format.encode_envelope(env).hex()},
                    "invalid", error="E_BAD_REQUEST"))
    out.append(_op("sig-null", ("SIG-027", "DM-016"),
                   "an unsigned op (no sanitization record exists)",
                   env, "E_SIGNATURE_MISSING"))
    out.append(_op("altered-payload", ("SIG-028",), "the payload's text changed after signing",
                   attrs.evolve(good, payload={**note, "text": "hellp"}), "E_SIGNATURE_INVALID"))
    out.append(_op("altered-ts", ("SIG-028",), "the logical counter changed after signing",
                   attrs.evolve(good, ts=(good.ts[0], 1, a)), "E_SIGNATURE_INVALID"))
    raw = attrs.evolve(env, sig=sign("alice", wire_format.signing_payload(env)))
    out.append(_op("sig-over-raw-payload", ("SIG-024", "SIG-028"),
                   "signed over the signing payload itself, not the JWS signing input", raw,
                   "E_SIGNATURE_INVALID"))
    good_sig = good.sig or b""
    s = int.from_bytes(good_sig[32:], "little")
    out.append(_op("sig-s-plus-l", ("SIG-028", "SIG-012"), "S replaced by S + L",
                   attrs.evolve(good, sig=with_s(good_sig, s + L)), "E_SIGNATURE_MALLEABLE"))
    b = public("bob")
    other = attrs.evolve(good, author=b, ts=(good.ts[0], 0, b))
    out.append(_op("wrong-author", ("SIG-028",), "author (and ts node) replaced by bob", other,
                   "E_SIGNATURE_INVALID"))
    ident = encode(IDENTITY)
    so = envelope(ident, "ops/identity", note)
    forged_s = int.from_bytes(derive("ops/identity/S"), "little") % L
    so = attrs.evolve(so, sig=encode(mul(forged_s, B)) + forged_s.to_bytes(32, "little"))
    ensure(equation_holds(ident, (b64u(header(ident)) + "." + b64u(
        wire_format.signing_payload(so))).encode(), so.sig or b""), "identity op: equation fails")
    out.append(_op("author-small-order", ("SIG-028", "SIG-010"),
                   "the author is the identity point; the forged signature passes the equation",
                   so, "E_PUBKEY_INVALID"))
    out.append(_op("order-null-before-key", ("SIG-026", "SIG-027"),
                   "sig null and a small-order author: the null check decides",
                   attrs.evolve(so, sig=None), "E_SIGNATURE_MISSING"))
    data = wire_format.encode_envelope(good)
    wide = bytes([0xB8, 0x06]) + data[1:]  # the map head in 2 bytes, not 1
    out.append(_op("order-envelope-first", ("SIG-026",),
                   "a validly signed op encoded non-canonically: chapter 03 rejects it first",
                   wide, "E_NONCANONICAL"))
    return out


def files() -> list[VectorFile]:
    """The vector files of chapter 06."""
    common = ("seed(label) = BLAKE3('strata/vectors/signatures/seed/' + label), 32 bytes; "
              "msg(label, n) = the first n bytes of the BLAKE3 XOF of "
              "'strata/vectors/signatures/' + label (n = 32 unless stated)")
    return [
        VectorFile(FOLDER, CHAPTER, "ed25519", tuple(ed25519_cases()),
                   comment=common + ". Unless a case says otherwise, the key is seed('alice')'s, "
                   "the message msg('message/32') and the signature alice's signature of it"),
        VectorFile(FOLDER, CHAPTER, "jws", tuple(jws_cases()),
                   comment=common + ". Unless a case says otherwise, the key is seed('alice')'s "
                   "and the payload msg('jws/binary', 40); 'alice' and 'bob' name seeds"),
        VectorFile(FOLDER, CHAPTER, "ops", tuple(ops_cases()),
                   comment=common + "; op ids and wall_ms are derived from 'ops/<name>/id' and "
                                    "'ops/<name>/ms'"),
    ]

