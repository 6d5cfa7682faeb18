"""Vectors for chapter 04 (spec/04-identifiers-and-hashing.md): ids, hashes, DIDs."""

from __future__ import annotations

from typing import Any

import blake3
import nacl.signing

from reference.identifiers import encode_base58btc
from tools.vectorgen import Case, VectorFile

CHAPTER = "04-identifiers-and-hashing"
KINDS = {"op": 1, "ev": 2, "ent": 3, "clm": 4, "job": 5, "art": 6, "epi": 7, "act": 8}


def _label_bytes(label: str, n: int) -> bytes:
    return blake3.blake3(f"strata/vectors/identifiers/{label}".encode()).digest()[:n]


def _ulid(label: str) -> bytes:
    """16 ULID bytes: a fixed 2023 timestamp and 80 bits from a labelled BLAKE3 hash."""
    return (1_700_000_000_000).to_bytes(6, "big") + _label_bytes(label, 10)


def _case(cid: str, reqs: tuple[str, ...], desc: str, cmd: str, args: dict[str, Any],
          result: str = "valid", error: str | None = None, comment: str | None = None) -> Case:
    return Case(cid, reqs, desc, cmd, args, result, comment=comment, error=error)  # type: ignore[arg-type]


ULID_COMMENT = ("byte form = kind byte || 48-bit ms 1700000000000 || first 10 bytes of "
                "blake3('strata/vectors/identifiers/<kind>')")


def id_form_cases() -> list[Case]:
    """Text and byte forms of every kind, and every malformed or confused form."""
    cases = []
    for prefix, kind in KINDS.items():
        raw = bytes([kind]) + _ulid(prefix)
        cases.append(_case(f"encode-{prefix}", ("ID-002", "ID-003"), f"text form of a {prefix} id",
                           "id.encode", {"kind": prefix, "bytes": raw.hex()}, comment=ULID_COMMENT))
    good = "01HF7YAT00" + "0" * 16
    cases += [
        _case("decode-op", ("ID-003",), "a canonical op id", "id.decode",
              {"kind": "op", "text": f"op_{good}"}),
        _case("decode-max", ("ID-003",), "the largest ULID, 7ZZ...Z", "id.decode",
              {"kind": "ev", "text": "ev_7" + "Z" * 25}),
        _case("decode-min", ("ID-003",), "the smallest ULID, 000...0", "id.decode",
              {"kind": "ent", "text": "ent_" + "0" * 26}),
    ]
    malformed = [
        ("overflow", "first character 8 overflows 128 bits", "op_8" + "0" * 25),
        ("lowercase", "lower-case Crockford", "op_" + good.lower()),
        ("letter-i", "the excluded letter I", "op_" + good[:-1] + "I"),
        ("letter-l", "the excluded letter L", "op_" + good[:-1] + "L"),
        ("letter-o", "the excluded letter O", "op_" + good[:-1] + "O"),
        ("letter-u", "the excluded letter U", "op_" + good[:-1] + "U"),
        ("short", "25 characters", "op_" + good[:-1]),
        ("long", "27 characters", "op_" + good + "0"),
        ("no-prefix", "a bare ULID", good),
        ("unknown-prefix", "prefix xx", "xx_" + good),
        ("upper-prefix", "prefix OP", "OP_" + good),
        ("two-underscores", "op__", "op__" + good),
    ]
    cases += [_case(f"decode-malformed-{cid}", ("ID-003",), desc, "id.decode",
                    {"kind": "op", "text": text}, "invalid", "E_ID_MALFORMED")
              for cid, desc, text in malformed]
    cases += [
        _case("decode-confused-ev-as-op", ("ID-004", "DM-004"),
              "an EvidenceId where an OpId is expected",
              "id.decode", {"kind": "op", "text": f"ev_{good}"}, "invalid", "E_ID_KIND"),
        _case("decode-confused-act-as-clm", ("ID-004",), "an ActionId where a ClaimId is expected",
              "id.decode", {"kind": "clm", "text": f"act_{good}"}, "invalid", "E_ID_KIND"),
        _case("encode-confused", ("ID-004",), "bytes of a job id encoded as an artifact id",
              "id.encode", {"kind": "art", "bytes": (b"\x05" + _ulid("job")).hex()}, "invalid",
              "E_ID_KIND", comment=ULID_COMMENT),
        _case("encode-short", ("ID-002",), "16 bytes (no kind byte)", "id.encode",
              {"kind": "op", "bytes": _ulid("op").hex()}, "invalid", "E_ID_MALFORMED"),
        _case("encode-kind-zero", ("ID-002",), "kind byte 0x00 is unassigned", "id.encode",
              {"kind": "op", "bytes": (b"\x00" + _ulid("op")).hex()}, "invalid", "E_ID_MALFORMED"),
        _case("encode-kind-nine", ("ID-002",), "kind byte 0x09 is unassigned", "id.encode",
              {"kind": "op", "bytes": (b"\x09" + _ulid("op")).hex()}, "invalid", "E_ID_MALFORMED"),
        _case("unknown-kind-name", ("ID-003",), "kind name 'user' is not a kind", "id.decode",
              {"kind": "user", "text": f"op_{good}"}, "invalid", "E_ID_MALFORMED"),
    ]
    return cases


def _steps(*pairs: tuple[int, bytes]) -> list[dict[str, Any]]:
    return [{"now_ms": ms, "random": r.hex()} for ms, r in pairs]


R1, R2, R3 = (bytes([i]) * 10 for i in (0x11, 0x22, 0x33))
RMAX = b"\xff" * 10
T0 = 1_700_000_000_000


def generation_cases() -> list[Case]:
    """The monotonic generator of section 2.4 on clocks that stall, step back and overflow."""
    g = "id.generate"
    return [
        _case("advancing", ("ID-005",), "each step a later millisecond: fresh randomness", g,
              {"kind": "op", "steps": _steps((T0, R1), (T0 + 1, R2), (T0 + 5, R3))}),
        _case("same-ms", ("ID-005",), "same millisecond: the random part increments", g,
              {"kind": "op", "steps": _steps((T0, R1), (T0, R2), (T0, R3))}),
        _case("clock-steps-back", ("ID-005",),
              "the clock steps back 1 s: the last timestamp is kept and the random part "
              "increments, so ids still increase", g,
              {"kind": "ev", "steps": _steps((T0, R1), (T0 - 1000, R2), (T0 + 1, R3))}),
        _case("random-overflow", ("ID-005",),
              "random part at 2^80-1 in the same millisecond: borrow the next millisecond", g,
              {"kind": "op", "steps": _steps((T0, RMAX), (T0, R1), (T0, R2))}),
        _case("exhausted", ("ID-006", "ID-005"),
              "48-bit time and 80-bit random both at their maximum: no greater id fits", g,
              {"kind": "op", "steps": _steps((2**48 - 1, RMAX), (2**48 - 1, R1))}, "invalid",
              "E_ID_EXHAUSTED"),
        _case("clock-out-of-range", ("ID-006",), "a wall clock reading of 2^48 ms", g,
              {"kind": "op", "steps": _steps((2**48, R1))}, "invalid", "E_ID_EXHAUSTED"),
        _case("clock-negative", ("ID-006", "ID-005"), "a wall clock reading of -1 ms", g,
              {"kind": "op", "steps": _steps((-1, R1))}, "invalid", "E_ID_EXHAUSTED"),
        _case("clock-at-max", ("ID-006", "ID-005"), "a wall clock reading of 2^48-1 ms", g,
              {"kind": "op", "steps": _steps((2**48 - 1, R1))}),
        _case("clock-at-zero", ("ID-006", "ID-005"),
              "a wall clock reading of 0 ms, the lower bound, is in range", g,
              {"kind": "op", "steps": _steps((0, R1), (0, R2))}),
        _case("random-9-bytes", ("ID-005",), "fresh randomness of 72 bits, not 80", g,
              {"kind": "op", "steps": _steps((T0, R1[:9]))}, "invalid", "E_BAD_REQUEST"),
    ]


def hash_cases() -> list[Case]:
    """ContentHash of bytes and of values, and verification."""
    abc = b"abc".hex()
    return [
        _case("bytes-empty", ("ID-008",), "BLAKE3-256 of no bytes", "hash.bytes", {"bytes": ""}),
        _case("bytes-abc", ("ID-008",), "BLAKE3-256 of 'abc'", "hash.bytes", {"bytes": abc}),
        _case("value-map", ("ID-009",), "hash of a map is the hash of its canonical encoding",
              "hash.value", {"value": {"map": [[{"text": "b"}, {"int": "1"}],
                                                 [{"text": "a"}, {"int": "2"}]]}},
              comment="keys given b, a: the canonical encoding sorts them, so the hash equals "
                      "that of the map given a, b"),
        _case("value-map-sorted", ("ID-009",), "the same map given in canonical order",
              "hash.value", {"value": {"map": [[{"text": "a"}, {"int": "2"}],
                                                 [{"text": "b"}, {"int": "1"}]]}}),
        _case("verify-match", ("ID-010",), "bytes that match their hash", "hash.verify",
              {"bytes": abc, "hash": blake3.blake3(b"abc").hexdigest()}),
        _case("verify-mismatch", ("ID-010",), "one bit of the content changed", "hash.verify",
              {"bytes": b"abd".hex(), "hash": blake3.blake3(b"abc").hexdigest()}, "invalid",
              "E_HASH_MISMATCH"),
        _case("verify-short-hash", ("ID-010",), "a 31-byte hash", "hash.verify",
              {"bytes": abc, "hash": blake3.blake3(b"abc").hexdigest()[:62]}, "invalid",
              "E_HASH_MISMATCH"),
    ]


def _public_key(label: str) -> bytes:
    seed = blake3.blake3(f"strata/vectors/identifiers/{label}".encode()).digest()
    return bytes(nacl.signing.SigningKey(seed).verify_key)


KEY_COMMENT = "public key of the Ed25519 seed blake3('strata/vectors/identifiers/<label>')"
IDENTITY = bytes([1]) + bytes(31)  # the neutral element: small order


def did_cases() -> list[Case]:
    """did:key encoding and strict decoding."""
    pk = _public_key("user")
    good = "did:key:z" + encode_base58btc(b"\xed\x01" + pk)
    secp = "did:key:z" + encode_base58btc(b"\xe7\x01" + b"\x02" + pk)
    return [
        _case("encode", ("ID-011",), "did:key of an Ed25519 key", "did.encode",
              {"public_key": pk.hex()}, comment=KEY_COMMENT),
        _case("decode", ("ID-012",), "decode the same did:key", "did.decode", {"did": good},
              comment=KEY_COMMENT),
        _case("encode-small-order", ("ID-007", "DM-005", "ID-011"),
              "the identity point is no NodeId",
              "did.encode",
              {"public_key": IDENTITY.hex()}, "invalid", "E_PUBKEY_INVALID"),
        _case("decode-plc", ("ID-013",), "did:plc is not supported", "did.decode",
              {"did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"}, "invalid", "E_DID_UNSUPPORTED"),
        _case("decode-not-did", ("ID-012",), "not a DID at all", "did.decode",
              {"did": "key:z6Mk"}, "invalid", "E_DID_INVALID"),
        _case("decode-base64-multibase", ("ID-012",), "multibase 'm' (base64) instead of 'z'",
              "did.decode", {"did": "did:key:m" + good[9:]}, "invalid", "E_DID_INVALID"),
        _case("decode-bad-char", ("ID-012",), "'0' is not in the base58btc alphabet",
              "did.decode", {"did": good[:-1] + "0"}, "invalid", "E_DID_INVALID"),
        _case("decode-secp256k1", ("ID-012",), "a secp256k1 multicodec", "did.decode",
              {"did": secp}, "invalid", "E_DID_INVALID"),
        _case("decode-truncated", ("ID-012",), "the key's last base58 digit removed",
              "did.decode", {"did": good[:-1]}, "invalid", "E_DID_INVALID"),
        _case("decode-key-31-bytes", ("ID-012",), "the Ed25519 multicodec and a 31-byte key",
              "did.decode", {"did": "did:key:z" + encode_base58btc(b"\xed\x01" + pk[:31])},
              "invalid", "E_DID_INVALID", comment=KEY_COMMENT + ", without its last byte"),
        _case("decode-key-33-bytes", ("ID-012",), "the Ed25519 multicodec and a 33-byte key",
              "did.decode",
              {"did": "did:key:z" + encode_base58btc(b"\xed\x01" + pk + b"\x00")},
              "invalid", "E_DID_INVALID", comment=KEY_COMMENT + ", with a zero byte appended"),
        _case("decode-base64-multibase-small-order", ("ID-012",),
              "multibase 'm' before the base58btc digits of the identity point: the prefix "
              "is rejected (E_DID_INVALID), no key is decoded",
              "did.decode", {"did": "did:key:m" + encode_base58btc(b"\xed\x01" + IDENTITY)},
              "invalid", "E_DID_INVALID"),
        _case("decode-small-order", ("ID-012", "ID-007"),
              "the canonical spelling of the identity point: not E_DID_INVALID, but the key is "
              "no valid Ed25519 public key (section 3)",
              "did.decode", {"did": "did:key:z" + encode_base58btc(b"\xed\x01" + IDENTITY)},
              "invalid", "E_PUBKEY_INVALID"),
        _case("decode-leading-one", ("ID-012",), "a leading '1' adds a zero byte",
              "did.decode", {"did": "did:key:z1" + good[9:]}, "invalid", "E_DID_INVALID"),
    ]


def files() -> list[VectorFile]:
    """Every vector file of chapter 04."""
    return [
        VectorFile("identifiers", CHAPTER, "forms", tuple(id_form_cases())),
        VectorFile("identifiers", CHAPTER, "generation", tuple(generation_cases()),
                   comment="random parts: 0x11, 0x22, 0x33 repeated 10 times; 0xff x10 = 2^80-1"),
        VectorFile("identifiers", CHAPTER, "hashing", tuple(hash_cases())),
        VectorFile("identifiers", CHAPTER, "did", tuple(did_cases())),
    ]
