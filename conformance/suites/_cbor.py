"""The harness's own CBOR helpers: value strategies, value notation and non-canonical variants.

Independent of any implementation under test: cbor2 (canonical mode) is the oracle
for deterministic encodings, and `encode_variant` writes the non-canonical forms
of spec/03-wire-format.md section 4 on purpose.
"""

from __future__ import annotations

import struct
from typing import Any

import cbor2
from hypothesis import strategies as st

Value = Any

INT_MIN, INT_MAX = -(2**64), 2**64 - 1

scalars = st.one_of(
    st.integers(min_value=INT_MIN, max_value=INT_MAX),
    st.sampled_from([0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, INT_MAX, -1, -25,
                     INT_MIN]),
    st.binary(max_size=40),
    st.text(max_size=20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)

values: st.SearchStrategy[Value] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=25,
)


def canonical(value: Value) -> bytes:
    """Deterministic encoding by the oracle (text keys only, so cbor2's order is bytewise)."""
    return bytes(cbor2.dumps(value, canonical=True))


def to_notation(value: Value) -> Any:
    """Value notation (spec/16 section 4), map entries in canonical key order."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, float):
        return {"float": struct.pack(">d", value).hex()}
    if isinstance(value, list):
        return {"array": [to_notation(v) for v in value]}
    keys = sorted(value, key=lambda k: canonical(k))
    return {"map": [[to_notation(k), to_notation(value[k])] for k in keys]}


def _head(major: int, arg: int, width: int | None = None) -> bytes:
    """A head with `arg` in the given argument width (None: shortest)."""
    if width is None:
        width = 0 if arg < 24 else 1 if arg < 256 else 2 if arg < 65536 else 4 if arg < 2**32 else 8
    if width == 0:
        return bytes([major << 5 | arg])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + arg.to_bytes(width, "big")


def widen_first_head(data: bytes) -> bytes | None:
    """Re-encode the first item's head one argument width wider, if it has an integer argument."""
    major, info = data[0] >> 5, data[0] & 0x1F
    if major == 7 or info > 27:
        return None
    if info < 24:
        arg, rest = info, data[1:]
        width = 1
    else:
        size = 1 << (info - 24)
        arg, rest = int.from_bytes(data[1 : 1 + size], "big"), data[1 + size :]
        if size == 8:
            return None
        width = size * 2
    return _head(major, arg, width) + rest


def indefinite_array(items: list[Value]) -> bytes:
    """An array in indefinite-length form (non-canonical by WIRE-009)."""
    return b"\x9f" + b"".join(canonical(v) for v in items) + b"\xff"


def map_with_order(pairs: list[tuple[str, Value]]) -> bytes:
    """A map whose entries are written in exactly the given order."""
    return _head(5, len(pairs)) + b"".join(canonical(k) + canonical(v) for k, v in pairs)


def float_wider(x: float) -> bytes:
    """`x` written as binary64 (non-canonical when a narrower width is exact)."""
    return b"\xfb" + struct.pack(">d", x)
