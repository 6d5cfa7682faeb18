"""Tests of reference.wire_format (spec/03-wire-format.md)."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import wire_format as wf
from reference._require import SpecViolation
from reference.introduction import ErrorCode

values = st.recursive(
    st.one_of(st.integers(-(2**64), 2**64 - 1), st.binary(max_size=20), st.text(max_size=10),
              st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=20,
)


def _code(fn: object, *args: object) -> ErrorCode:
    with pytest.raises(SpecViolation) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.code


@given(values)
def test_round_trip_and_fixed_point(value: object) -> None:
    """Encoding then decoding gives the value back, and re-encoding gives the same bytes."""
    data = wf.encode_canonical(value)  # type: ignore[arg-type]
    back = wf.decode_canonical(data)
    assert wf.encode_canonical(back) == data
    assert back == value or (value != value)  # noqa: PLR0124 (floats are finite here)


@given(st.dictionaries(st.text(max_size=6), st.integers(0, 5), min_size=2, max_size=6))
def test_keys_sorted_bytewise(entries: dict[str, int]) -> None:
    """Map keys come out in bytewise order of their encodings."""
    data = wf.encode_canonical(entries)  # type: ignore[arg-type]
    keys = list(cbor2.loads(data))
    assert keys == sorted(keys, key=lambda k: cbor2.dumps(k))


def test_invalid_duplicate_key() -> None:
    """A map holding one key twice is not canonical (WIRE-011)."""
    assert _code(wf.decode_canonical, bytes.fromhex("a2616100616101")) == ErrorCode.E_NONCANONICAL


def test_invalid_trailing_bytes() -> None:
    """A second item after the first is malformed."""
    assert _code(wf.decode_canonical, b"\x00\x00") == ErrorCode.E_CBOR_MALFORMED


def test_invalid_deep_nesting_without_recursion() -> None:
    """100,000 nested arrays are rejected as over the depth limit, without a RecursionError."""
    assert _code(wf.decode_canonical, b"\x81" * 100_000 + b"\x00") == ErrorCode.E_CBOR_LIMIT


def test_invalid_huge_declared_length() -> None:
    """A declared length beyond the input is malformed and allocates nothing."""
    assert _code(wf.decode_canonical, b"\x5b" + b"\xff" * 8) == ErrorCode.E_CBOR_MALFORMED


def test_invalid_encode_bignum() -> None:
    """An integer beyond 64 bits cannot be encoded."""
    assert _code(wf.encode_canonical, 2**64) == ErrorCode.E_CBOR_UNSUPPORTED


def test_invalid_encode_non_text_key() -> None:
    """A map key must be text."""
    assert _code(wf.encode_canonical, {1: 2}) == ErrorCode.E_CBOR_UNSUPPORTED


def test_invalid_hex_uppercase() -> None:
    """Upper-case hex is rejected."""
    assert _code(wf.decode_hex, "AB") == ErrorCode.E_HEX_INVALID


def test_envelope_round_trip_and_signing_payload() -> None:
    """An envelope decodes to its fields, and its signing payload has sig null."""
    author = bytes(range(32))
    env = wf.Envelope(op_id=b"\x01" + bytes(16), author=author, ts=(5, 1, author),
                      payload={"type": "X"}, sig=b"\x01" * 64)
    data = wf.encode_envelope(env)
    assert wf.decode_envelope(data) == env
    assert cbor2.loads(wf.signing_payload(env))["sig"] is None


def test_invalid_envelope_node_not_author() -> None:
    """The ts node must be the author."""
    author = bytes(range(32))
    env = wf.Envelope(op_id=b"\x01" + bytes(16), author=author, ts=(5, 1, bytes(32)),
                      payload={"type": "X"}, sig=None)
    assert _code(wf.decode_envelope, wf.encode_envelope(env)) == ErrorCode.E_ENVELOPE_INVALID


def test_invalid_depth_counts_an_empty_innermost_array() -> None:
    """33 nested arrays whose innermost is empty exceed the depth limit, as the encoder says."""
    data = b"\x81" * 32 + b"\x80"
    assert _code(wf.decode_canonical, data) == ErrorCode.E_CBOR_LIMIT
    nested: list[object] = []
    for _ in range(31):
        nested = [nested]
    assert wf.decode_canonical(b"\x81" * 31 + b"\x80") == nested  # depth 32: accepted
    assert _code(wf.encode_canonical, [nested]) == ErrorCode.E_CBOR_LIMIT  # depth 33


def test_depth_ignores_tags_and_string_chunks() -> None:
    """Tags and indefinite-string chunks are not containers: 32 arrays around them are in limit."""
    tagged = b"\x81" * 32 + b"\xc2\x41\x01"
    assert _code(wf.decode_canonical, tagged) == ErrorCode.E_CBOR_UNSUPPORTED
    chunked = b"\x81" * 32 + b"\x7f\x61\x61\xff"
    assert _code(wf.decode_canonical, chunked) == ErrorCode.E_NONCANONICAL


def test_invalid_map_key_check_shared_by_the_driver() -> None:
    """check_map_key rejects every non-text key and accepts text."""
    wf.check_map_key("a")
    for key in (1, b"a", None, True, 1.5):
        assert _code(wf.check_map_key, key) == ErrorCode.E_CBOR_UNSUPPORTED


@pytest.mark.parametrize("head, width", [(0x1C, 16), (0x1D, 32), (0x1E, 64)])
def test_invalid_reserved_info_with_room_for_an_argument(head: int, width: int) -> None:
    """Reserved additional information 28-30 is malformed even with bytes enough after it."""
    data = bytes([head]) + bytes(width)
    assert _code(wf.decode_canonical, data) == ErrorCode.E_CBOR_MALFORMED


@pytest.mark.parametrize("hexdata", ["18", "1900", "6261", "f93e", "816261"])
def test_invalid_truncated_argument_or_string(hexdata: str) -> None:
    """An argument or a string cut short by the end of input is malformed."""
    assert _code(wf.decode_canonical, bytes.fromhex(hexdata)) == ErrorCode.E_CBOR_MALFORMED
