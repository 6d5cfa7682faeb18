"""Vectors for chapter 03 (spec/03-wire-format.md): decode, encode, hex, envelope."""

from __future__ import annotations

import struct
from typing import Any

import blake3
import cbor2

from tools.vectorgen import Case, VectorFile

CHAPTER = "03-wire-format"


def _i(n: int) -> dict[str, str]:
    return {"int": str(n)}


def _t(s: str) -> dict[str, str]:
    return {"text": s}


def _f(x: float) -> dict[str, str]:
    return {"float": struct.pack(">d", x).hex()}


def _decode(cid: str, reqs: tuple[str, ...], desc: str, hexbytes: str, result: str = "valid",
            error: str | None = None, comment: str | None = None) -> Case:
    return Case(cid, reqs, desc, "cbor.decode", {"bytes": hexbytes}, result,  # type: ignore[arg-type]
                comment=comment, error=error)


def _nested_arrays(depth: int, inner: bytes = b"\x00") -> str:
    return (b"\x81" * depth + inner).hex()


def decode_cases() -> list[Case]:
    """Canonical inputs that decode, and every kind of rejected input."""
    ok = ("WIRE-001", "WIRE-016")
    cases = [
        _decode("uint-0", ok, "0 in one byte", "00"),
        _decode("uint-23", ok, "23, the largest immediate argument", "17"),
        _decode("uint-24", ok, "24, the smallest one-byte argument", "1818"),
        _decode("uint-255", ok, "255, the largest one-byte argument", "18ff"),
        _decode("uint-256", ok, "256, the smallest two-byte argument", "190100"),
        _decode("uint-65536", ok, "2^16, the smallest four-byte argument", "1a00010000"),
        _decode("uint-2p32", ok, "2^32, the smallest eight-byte argument", "1b0000000100000000"),
        _decode("uint-max", ("WIRE-002",) + ok, "2^64-1, the largest integer",
                "1bffffffffffffffff"),
        _decode("nint-1", ok, "-1", "20"),
        _decode("nint-25", ok, "-25, one-byte argument 24", "3818"),
        _decode("nint-min", ("WIRE-002",) + ok, "-2^64, the smallest integer",
                "3bffffffffffffffff"),
        _decode("bytes-empty", ok, "empty byte string", "40"),
        _decode("text-empty", ok, "empty text string", "60"),
        _decode("text-utf8", ok, "text with two- and three-byte UTF-8", "65c3bce6b0b4",
                comment="'\u00fc\u6c34' encoded as UTF-8: c3bc e6b0b4"),
        _decode("false-true-null", ("WIRE-004",) + ok, "the three allowed simple values",
                "83f4f5f6"),
        _decode("array-nested", ("WIRE-003", "WIRE-017") + ok, "nested arrays, no tags",
                "8301820203820405"),
        _decode("map-sorted", ("WIRE-010", "WIRE-005", "WIRE-011") + ok,
                "keys in bytewise order: 'a' < 'b' < 'aa'",
                "a361610161620262616103",
                comment="encodings 6161 < 6162 < 626161: shorter text keys sort first"),
        _decode("float16-1.5", ("WIRE-008", "WIRE-006") + ok, "1.5 fits binary16", "f93e00"),
        _decode("float16-neg-zero", ("WIRE-008",) + ok, "-0.0 fits binary16", "f98000"),
        _decode("float16-max", ("WIRE-008",) + ok, "65504, the largest binary16", "f97bff"),
        _decode("float16-subnormal", ("WIRE-008",) + ok, "2^-24, smallest binary16 subnormal",
                "f90001"),
        _decode("float32-100000", ("WIRE-008",) + ok, "100000.0 needs binary32", "fa47c35000"),
        _decode("float64-0.1", ("WIRE-008",) + ok, "0.1 needs binary64", "fb3fb999999999999a"),
        _decode("depth-32", ("WIRE-013",) + ok, "containers nested exactly 32 deep",
                _nested_arrays(32), comment="32 x 0x81 (array of one) around 0x00"),
        _decode("depth-32-empty", ("WIRE-013",) + ok,
                "32 arrays, the innermost empty: depth 32 counts the empty one",
                _nested_arrays(31, b"\x80"), comment="31 x 0x81 around 0x80 (empty array)"),
    ]
    bad = "E_CBOR_MALFORMED"
    malformed = [
        ("empty", "no bytes at all", ""),
        ("truncated-head", "one-byte argument missing", "18"),
        ("truncated-string", "text of length 2 with one byte", "6261"),
        ("truncated-array", "array of 2 with one member", "8201"),
        ("reserved-info-28", "additional information 28 is reserved", "1c"),
        ("reserved-info-30", "additional information 30 is reserved", "5e"),
        ("indefinite-uint", "major type 0 cannot be indefinite", "1f"),
        ("indefinite-nint", "major type 1 cannot be indefinite", "3f"),
        ("indefinite-tag", "major type 6 cannot be indefinite", "df"),
        ("lone-break", "break outside an indefinite item", "ff"),
        ("trailing-bytes", "a second item after the first", "0000"),
        ("invalid-utf8", "text string with byte ff", "61ff"),
        ("overlong-utf8", "text string with an overlong encoding of '/'", "62c0af"),
        ("simple-24-below-32", "two-byte simple value 16", "f810"),
        ("indefinite-chunk-type", "byte-string chunk inside an indefinite text", "7f4161ff"),
        ("indefinite-map-odd", "indefinite map ending after a key", "bf6161ff"),
        ("huge-array-count", "array declaring 2^64-1 members", "9bffffffffffffffff"),
        # Reserved additional information followed by as many bytes as the next widths
        # would take (16, 32, 64): a decoder that read 28-30 as wider heads would find a
        # complete but non-shortest integer there instead of a malformed head.
        ("reserved-info-28-then-16-bytes", "additional information 28, then 16 zero bytes",
         "1c" + "00" * 16),
        ("reserved-info-29-then-32-bytes", "additional information 29, then 32 zero bytes",
         "1d" + "00" * 32),
        ("reserved-info-30-then-64-bytes", "additional information 30, then 64 zero bytes",
         "1e" + "00" * 64),
        ("indefinite-tag-with-content", "major type 6 with indefinite length, then an item "
         "it could tag", "df00"),
        ("simple-24-value-31", "two-byte simple value 31, the largest below 32", "f81f"),
        ("indefinite-text-nested", "an indefinite text as a chunk of an indefinite text",
         "7f7f6161ffff"),
        ("indefinite-bytes-nested", "an indefinite byte string as a chunk of another",
         "5f5f4101ffff"),
    ]
    cases += [_decode(f"malformed-{cid}", ("WIRE-012",), desc, h, "invalid", bad)
              for cid, desc, h in malformed]
    cases.append(_decode("depth-33", ("WIRE-013", "WIRE-016"), "containers nested 33 deep",
                         _nested_arrays(33), "invalid", "E_CBOR_LIMIT",
                         comment="33 x 0x81 around 0x00"))
    cases.append(_decode("depth-33-empty", ("WIRE-013", "WIRE-016"),
                         "33 arrays, the innermost empty: an empty array counts as a level",
                         _nested_arrays(32, b"\x80"), "invalid", "E_CBOR_LIMIT",
                         comment="32 x 0x81 around 0x80 (empty array): depth 33"))
    # Well-formed (so not E_CBOR_MALFORMED): each names the boundary of a well-formedness rule
    # from the side that is well-formed, where the next check in WIRE-015's order decides.
    well_formed = [
        ("simple-24-value-32", "E_CBOR_UNSUPPORTED", "two-byte simple value 32, the smallest "
         "allowed in two bytes: well-formed, but outside the data model", "f820"),
        ("indefinite-array-one-member", "E_NONCANONICAL", "an indefinite array of one member "
         "(only a map needs an even count before its break)", "9f01ff"),
        ("indefinite-map-one-pair", "E_NONCANONICAL", "an indefinite map of one key and value",
         "bf616101ff"),
        ("indefinite-text-definite-chunk", "E_NONCANONICAL", "an indefinite text whose chunk "
         "is a definite text", "7f6161ff"),
    ]
    cases += [_decode(f"well-formed-{cid}", ("WIRE-012", "WIRE-015"), desc, h, "invalid", code)
              for cid, code, desc, h in well_formed]
    unsupported = [
        ("tag-bignum", "WIRE-003", "tag 2 bignum for 1", "c24101"),
        ("tag-datetime", "WIRE-003", "tag 0 date/time string", "c06130"),
        ("tag-self-describe", "WIRE-003", "tag 55799 self-described CBOR", "d9d9f700"),
        ("undefined", "WIRE-004", "undefined (simple 23)", "f7"),
        ("simple-16", "WIRE-004", "unassigned simple value 16", "f0"),
        ("simple-255", "WIRE-004", "simple value 255", "f8ff"),
        ("int-key", "WIRE-005", "map with integer key 1", "a10102"),
        ("bytes-key", "WIRE-005", "map with a byte-string key", "a1416101"),
        ("nan", "WIRE-006", "binary16 NaN", "f97e00"),
        ("infinity", "WIRE-006", "binary16 +infinity", "f97c00"),
        ("neg-infinity-64", "WIRE-006", "binary64 -infinity", "fbfff0000000000000"),
    ]
    cases += [_decode(f"unsupported-{cid}", (req,), desc, h, "invalid", "E_CBOR_UNSUPPORTED")
              for cid, req, desc, h in unsupported]
    noncanonical = [
        ("uint-0-in-1", "WIRE-007", "0 with a one-byte argument", "1800"),
        ("uint-23-in-1", "WIRE-007", "23 with a one-byte argument", "1817"),
        ("uint-255-in-2", "WIRE-007", "255 with a two-byte argument", "1900ff"),
        ("uint-65535-in-4", "WIRE-007", "65535 with a four-byte argument", "1a0000ffff"),
        ("uint-2p32m1-in-8", "WIRE-007", "2^32-1 with an eight-byte argument",
         "1b00000000ffffffff"),
        ("nint-1-in-1", "WIRE-007", "-1 with a one-byte argument", "3800"),
        ("text-length-in-1", "WIRE-007", "text length 1 with a one-byte argument", "780161"),
        ("array-length-in-1", "WIRE-007", "empty array with a one-byte length", "9800"),
        ("map-length-in-2", "WIRE-007", "empty map with a two-byte length", "b90000"),
        ("float32-1.5", "WIRE-008", "1.5 as binary32", "fa3fc00000"),
        ("float64-1.5", "WIRE-008", "1.5 as binary64", "fb3ff8000000000000"),
        ("float64-100000", "WIRE-008", "100000.0 as binary64", "fb40f86a0000000000"),
        ("float32-neg-zero", "WIRE-008", "-0.0 as binary32", "fa80000000"),
        ("indefinite-bytes", "WIRE-009", "indefinite byte string of one chunk", "5f4101ff"),
        ("indefinite-text", "WIRE-009", "indefinite text string of one chunk", "7f6161ff"),
        ("indefinite-array", "WIRE-009", "indefinite array", "9f01ff"),
        ("indefinite-map", "WIRE-009", "indefinite map", "bf616101ff"),
        ("keys-reversed", "WIRE-010", "keys 'b' then 'a'", "a2616201616102"),
        ("keys-length-first-violated", "WIRE-010", "key 'aa' before 'b'", "a262616101616202"),
        ("keys-duplicate", "WIRE-011", "key 'a' twice", "a2616101616102"),
        ("nested-noncanonical", "WIRE-007", "non-shortest integer inside a map value",
         "a16161811800"),
    ]
    # WIRE-016 too: a decoder accepting any of these would break the round trip (re-encoding
    # the decoded value cannot reproduce non-deterministic bytes).
    cases += [_decode(f"noncanonical-{cid}", (req, "WIRE-014", "WIRE-016"), desc, h, "invalid",
                      "E_NONCANONICAL")
              for cid, req, desc, h in noncanonical]
    precedence = [
        ("malformed-over-noncanonical", "unsorted map followed by a trailing byte",
         "a261620161610200", bad),
        ("malformed-over-unsupported", "tag followed by truncation", "c2", bad),
        ("limit-over-unsupported", "a tag nested 33 deep", _nested_arrays(33, b"\xc2\x41\x01"),
         "E_CBOR_LIMIT"),
        ("malformed-over-limit", "33 deep then a trailing byte", _nested_arrays(33) + "00", bad),
        ("unsupported-over-noncanonical", "tag inside an indefinite array", "9fc24101ff",
         "E_CBOR_UNSUPPORTED"),
        ("unsupported-after-noncanonical-item", "non-shortest int, then undefined",
         "821800f7", "E_CBOR_UNSUPPORTED"),
    ]
    cases += [_decode(f"precedence-{cid}", ("WIRE-015",), desc, h, "invalid", code)
              for cid, desc, h, code in precedence]
    # WIRE-013's depth at exactly the limit in input that reaches the structural checks (it
    # is not canonical), and what does and does not count as a level.
    maps32 = "a16161" * 32
    depth = [
        ("depth-32-noncanonical", "32 arrays around a non-shortest 0: depth 32 is within the "
         "limit, so only the form is wrong", _nested_arrays(32, b"\x18\x00"), "E_NONCANONICAL"),
        ("depth-32-maps-noncanonical", "32 maps (each {'a': ...}) around a non-shortest 0",
         maps32 + "1800", "E_NONCANONICAL"),
        ("depth-33-maps", "33 maps (each {'a': ...}) around 0: maps count as levels",
         "a16161" * 33 + "00", "E_CBOR_LIMIT"),
        ("tag-does-not-count-as-depth", "a tag inside 32 arrays: depth 32 (tags are not "
         "containers), so the tag is reported, not the limit",
         _nested_arrays(32, b"\xc2\x41\x01"), "E_CBOR_UNSUPPORTED"),
        ("chunk-does-not-count-as-depth", "an indefinite text inside 32 arrays: depth 32 "
         "(strings are not containers), so it is only non-deterministic",
         _nested_arrays(32, b"\x7f\x61\x61\xff"), "E_NONCANONICAL"),
        ("tag-between-arrays", "32 arrays, a tag, then an array holding 0: the tag adds no "
         "level and takes none away, so the inner array is at depth 33",
         _nested_arrays(32, b"\xc0\x81\x00"), "E_CBOR_LIMIT"),
    ]
    cases += [_decode(f"precedence-{cid}", ("WIRE-013", "WIRE-015"), desc, h, "invalid", code)
              for cid, desc, h, code in depth]
    # In the data model, so not E_CBOR_UNSUPPORTED: each of these is rejected only for its
    # form. They pin down what WIRE-003/WIRE-004 leave in: untagged items and all 3 float widths.
    in_model = [
        ("untagged-noncanonical", ("WIRE-003",), "no tag anywhere, a non-shortest integer",
         "821800a0"),
        ("simple-values-noncanonical-neighbour", ("WIRE-004",),
         "false, true and null next to a non-shortest integer", "84f4f5f61800"),
        ("text-key-noncanonical-value", ("WIRE-005",),
         "a text key (in the model) whose value is a non-shortest 0", "a161611800"),
        ("float16-noncanonical-neighbour", ("WIRE-004", "WIRE-008"),
         "binary16 1.5 (a float, not a simple value) next to a non-shortest integer",
         "82f93e001800"),
        ("float32-is-a-float", ("WIRE-004", "WIRE-008"), "1.5 as binary32 (info 26)",
         "fa3fc00000"),
        ("float64-is-a-float", ("WIRE-004", "WIRE-008"), "1.5 as binary64 (info 27)",
         "fb3ff8000000000000"),
    ]
    cases += [_decode(f"in-model-{cid}", reqs + ("WIRE-014",), desc, h, "invalid",
                      "E_NONCANONICAL") for cid, reqs, desc, h in in_model]
    return cases


def encode_cases() -> list[Case]:
    """Values whose deterministic encodings are fixed, and values outside the data model."""
    ok = ("WIRE-001", "WIRE-016")

    def enc(cid: str, reqs: tuple[str, ...], desc: str, value: Any, result: str = "valid",
            error: str | None = None) -> Case:
        return Case(cid, reqs, desc, "cbor.encode", {"value": value}, result,  # type: ignore[arg-type]
                    error=error)

    return [
        enc("uint-boundaries", ("WIRE-007", "WIRE-002") + ok,
            "integers at every head-width boundary",
            {"array": [_i(n) for n in (0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32,
                                       2**64 - 1, -1, -24, -25, -(2**64))]}),
        enc("keys-sorted", ("WIRE-009", "WIRE-010", "WIRE-005", "WIRE-011") + ok,
            "keys given as 'b','aa','a' come out a, b, aa",
            {"map": [[_t("b"), _i(1)], [_t("aa"), _i(2)], [_t("a"), _i(3)]]}),
        enc("keys-unicode", ("WIRE-010",) + ok, "keys sorted by UTF-8 bytes, not code points",
            {"map": [[_t("\uff41"), _i(1)], [_t("\U0001f600"), _i(2)], [_t("z"), _i(3)]]}),
        enc("floats-shortest", ("WIRE-008",) + ok, "each float in its shortest exact width",
            {"array": [_f(x) for x in (0.0, -0.0, 1.5, 65504.0, 2.0**-24, 100000.0, 0.1,
                                       1e300, 2.0)]}),
        enc("simple-values", ok, "false, true, null", {"array": [False, True, None]}),
        enc("bytes-and-text", ("WIRE-009", "WIRE-017") + ok,
            "byte and text strings (definite lengths; output as lowercase hex)",
            {"array": [{"bytes": "00ff"}, _t(""), _t("strata")]}),
        enc("depth-32", ("WIRE-013",) + ok, "32 nested arrays",
            _nest_notation(32)),
        enc("int-too-large", ("WIRE-002", "WIRE-001", "WIRE-016"), "2^64 needs a bignum tag "
            "(outside the model: it has no deterministic encoding to write)", _i(2**64),
            "invalid", "E_CBOR_UNSUPPORTED"),
        enc("int-too-small", ("WIRE-002",), "-2^64-1 needs a bignum tag", _i(-(2**64) - 1),
            "invalid", "E_CBOR_UNSUPPORTED"),
        enc("key-int", ("WIRE-005",), "a map with an integer key",
            {"map": [[_i(1), _i(2)]]}, "invalid", "E_CBOR_UNSUPPORTED"),
        enc("keys-int-and-true", ("WIRE-005", "WIRE-015"),
            "keys 1 and true: two distinct non-text keys, outside the model before any "
            "duplicate check", {"map": [[_i(1), None], [True, None]]}, "invalid",
            "E_CBOR_UNSUPPORTED"),
        enc("key-duplicate", ("WIRE-011",), "a map naming key 'a' twice",
            {"map": [[_t("a"), _i(1)], [_t("a"), _i(2)]]}, "invalid", "E_NONCANONICAL"),
        enc("float-nan", ("WIRE-006",), "NaN", {"float": "7ff8000000000000"}, "invalid",
            "E_CBOR_UNSUPPORTED"),
        enc("float-infinity", ("WIRE-006",), "+infinity", {"float": "7ff0000000000000"},
            "invalid", "E_CBOR_UNSUPPORTED"),
        enc("depth-33", ("WIRE-013", "WIRE-001", "WIRE-016"),
            "33 nested arrays: no encoding of it may be produced", _nest_notation(33),
            "invalid", "E_CBOR_LIMIT"),
        enc("bad-notation-int", ("CONF-007",), "'int' given as a JSON number", {"int": 5},
            "invalid", "E_BAD_REQUEST"),
    ]


def _nest_notation(depth: int) -> Any:
    value: Any = _i(0)
    for _ in range(depth):
        value = {"array": [value]}
    return value


def hex_cases() -> list[Case]:
    """The hex rules of section 7, exercised through `cbor.decode`."""
    bad = [
        ("uppercase", "upper-case digits", "0A"),
        ("odd-length", "an odd number of digits", "abc"),
        ("prefix", "a 0x prefix", "0x00"),
        ("space", "a space between bytes", "00 01"),
        ("non-hex", "a character outside 0-9a-f", "0g"),
    ]
    return [Case(f"hex-{cid}", ("WIRE-017",), f"hex with {desc}", "cbor.decode",
                 {"bytes": h}, "invalid", error="E_HEX_INVALID") for cid, desc, h in bad]


def _author() -> bytes:
    return blake3.blake3(b"strata/vectors/wire_format/author").digest()


def _envelope(**over: Any) -> dict[str, Any]:
    author = _author()
    env: dict[str, Any] = {
        "author": author,
        "id": b"\x01" + blake3.blake3(b"strata/vectors/wire_format/op-id").digest()[:16],
        "payload": {"type": "Example", "n": 1},
        "sig": b"\x00" * 64,
        "ts": [1_700_000_000_000, 0, author],
        "v": 1,
    }
    env.update(over)
    return env


def _op(cid: str, reqs: tuple[str, ...], desc: str, env: Any, result: str = "valid",
        error: str | None = None, raw: bytes | None = None) -> Case:
    data = raw if raw is not None else cbor2.dumps(env, canonical=True)
    return Case(cid, reqs, desc, "op.decode", {"op": data.hex()}, result,  # type: ignore[arg-type]
                comment=ENVELOPE_COMMENT, error=error)


ENVELOPE_COMMENT = (
    "author = blake3('strata/vectors/wire_format/author'); id = 0x01 || first 16 bytes of "
    "blake3('strata/vectors/wire_format/op-id'); sig is 64 zero bytes: op.decode checks "
    "structure only, signatures are chapter 06's"
)


def envelope_cases() -> list[Case]:
    """Op envelopes: the valid shape and each structural violation of section 6."""
    bad = "E_ENVELOPE_INVALID"
    base = _envelope()
    unsorted = b"\xa6" + b"".join(
        cbor2.dumps(k) + cbor2.dumps(base[k], canonical=True)
        for k in ("v", "ts", "sig", "payload", "id", "author")
    )
    extra = dict(base, extra=1)
    missing = {k: v for k, v in base.items() if k != "sig"}
    return [
        _op("valid", ("WIRE-018", "WIRE-019", "WIRE-020", "WIRE-021", "WIRE-022", "WIRE-023",
                      "WIRE-024", "WIRE-025", "WIRE-027", "ID-014"), "a well-formed envelope",
            base),
        _op("valid-wall-zero", ("WIRE-022",), "wall_ms 0 and logical 65535 are in range",
            _envelope(ts=[0, 65535, _author()])),
        _op("valid-wall-max", ("WIRE-022",), "wall_ms 2^48-1, the largest 48-bit value",
            _envelope(ts=[2**48 - 1, 0, _author()])),
        _op("valid-unsigned-shape", ("WIRE-025",), "sig null is a valid shape",
            _envelope(sig=None)),
        _op("noncanonical", ("WIRE-001",), "envelope keys out of order", None, "invalid",
            "E_NONCANONICAL", raw=unsorted),
        _op("not-a-map", ("WIRE-018",), "an array instead of a map", [1, 2], "invalid", bad),
        _op("not-a-map-null", ("WIRE-018",), "null instead of a map", None, "invalid", bad),
        _op("not-a-map-int", ("WIRE-018",), "the integer 7 instead of a map", 7, "invalid",
            bad),
        _op("not-a-map-key-names", ("WIRE-018", "WIRE-027"), "an array of the six key names: "
            "the map shape is checked before the key set",
            ["author", "id", "payload", "sig", "ts", "v"], "invalid", bad),
        _op("missing-key", ("WIRE-019",), "no 'sig' key", missing, "invalid", bad),
        _op("extra-key", ("WIRE-019",), "an unknown key 'extra'", extra, "invalid", bad),
        _op("version-2", ("WIRE-020",), "envelope version 2", _envelope(v=2), "invalid", bad),
        _op("version-float", ("WIRE-020",), "envelope version 1.0 (a float)", _envelope(v=1.0),
            "invalid", bad),
        _op("id-wrong-kind", ("ID-004",), "an EvidenceId where the OpId goes",
            _envelope(id=b"\x02" + base["id"][1:]), "invalid", "E_ID_KIND"),
        _op("id-short", ("ID-002",), "a 16-byte id", _envelope(id=base["id"][1:]), "invalid",
            "E_ID_MALFORMED"),
        _op("id-text", ("WIRE-021",), "the id as text", _envelope(id="op_x"), "invalid", bad),
        _op("author-short", ("WIRE-021",), "a 31-byte author",
            _envelope(author=_author()[:31]), "invalid", bad),
        _op("ts-two-fields", ("WIRE-022",), "ts without its node",
            _envelope(ts=[1_700_000_000_000, 0]), "invalid", bad),
        _op("ts-logical-range", ("WIRE-022",), "logical 65536",
            _envelope(ts=[1_700_000_000_000, 65536, _author()]), "invalid", "E_HLC_RANGE"),
        _op("ts-wall-range", ("WIRE-022",), "wall_ms 2^48",
            _envelope(ts=[2**48, 0, _author()]), "invalid", "E_HLC_RANGE"),
        _op("ts-wall-negative", ("WIRE-022",), "wall_ms -1: an integer below the 48-bit range",
            _envelope(ts=[-1, 0, _author()]), "invalid", "E_HLC_RANGE"),
        _op("ts-logical-negative", ("WIRE-022",), "logical -1: an integer below the 16-bit "
            "range", _envelope(ts=[1_700_000_000_000, -1, _author()]), "invalid",
            "E_HLC_RANGE"),
        _op("ts-wall-float", ("WIRE-022",), "wall_ms the float 1.0, not an integer",
            _envelope(ts=[1.0, 0, _author()]), "invalid", bad),
        _op("ts-logical-text", ("WIRE-022",), "logical the text '0', not an integer",
            _envelope(ts=[1_700_000_000_000, "0", _author()]), "invalid", bad),
        _op("ts-node-not-author", ("WIRE-023",), "ts node differs from author",
            _envelope(ts=[1_700_000_000_000, 0, b"\x07" * 32]), "invalid", bad),
        _op("payload-no-type", ("WIRE-024",), "payload without 'type'",
            _envelope(payload={"n": 1}), "invalid", bad),
        _op("payload-type-int", ("WIRE-024",), "payload 'type' is an integer",
            _envelope(payload={"type": 3}), "invalid", bad),
        _op("sig-short", ("WIRE-025",), "a 63-byte sig", _envelope(sig=b"\x00" * 63), "invalid",
            bad),
        _op("order-id-before-node", ("WIRE-027",), "wrong id kind and a foreign ts node: the id "
            "is checked first", _envelope(id=b"\x02" + base["id"][1:],
                                          ts=[1_700_000_000_000, 0, b"\x07" * 32]),
            "invalid", "E_ID_KIND"),
        _op("order-ts-before-sig", ("WIRE-027",), "ts out of range and a short sig: ts first",
            _envelope(ts=[2**48, 0, _author()], sig=b"\x00"), "invalid", "E_HLC_RANGE"),
        _op("order-author-before-ts", ("WIRE-027", "WIRE-021"), "a 31-byte author and ts out "
            "of range: the author is checked first", _envelope(author=_author()[:31],
                                                               ts=[2**48, 0, _author()]),
            "invalid", bad),
        _op("order-text-author-before-ts", ("WIRE-027", "WIRE-021"), "a 32-character text "
            "author (not a byte string) and ts out of range: the author is checked first",
            _envelope(author="a" * 32, ts=[2**48, 0, _author()]), "invalid", bad),
        _op("order-keys-before-ts", ("WIRE-027", "WIRE-019"), "an unknown key 'extra' and ts "
            "out of range: the key set is checked first",
            dict(_envelope(ts=[2**48, 0, _author()]), extra=1), "invalid", bad),
        _op("order-version-before-ts", ("WIRE-027", "WIRE-020"), "version 2 and ts out of "
            "range: the version is checked first", _envelope(v=2, ts=[2**48, 0, _author()]),
            "invalid", bad),
        _op("order-version-float-before-ts", ("WIRE-027", "WIRE-020"), "version 1.0 and ts out "
            "of range: the version is checked first",
            _envelope(v=1.0, ts=[2**48, 0, _author()]), "invalid", bad),
        _op("order-id-shape-before-id-form", ("WIRE-027", "WIRE-021"), "the id as text: it is "
            "not a byte string (E_ENVELOPE_INVALID) before its form is judged (chapter 04)",
            _envelope(id="op_x"), "invalid", bad),
    ]


def files() -> list[VectorFile]:
    """Every vector file of chapter 03."""
    return [
        VectorFile("wire_format", CHAPTER, "decode", tuple(decode_cases()),
                   comment="cbor.decode: bytes in, value notation out (spec/16 section 4)"),
        VectorFile("wire_format", CHAPTER, "encode", tuple(encode_cases())),
        VectorFile("wire_format", CHAPTER, "hex", tuple(hex_cases())),
        VectorFile("wire_format", CHAPTER, "envelope", tuple(envelope_cases())),
    ]
