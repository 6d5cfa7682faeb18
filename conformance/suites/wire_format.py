"""Property checks of chapter 03 (spec/03-wire-format.md) through the driver."""

from __future__ import annotations

import struct

import cbor2
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._cbor import (
    canonical,
    float_wider,
    indefinite_array,
    map_with_order,
    to_notation,
    values,
    widen_first_head,
)

CBOR_CODES = {"E_CBOR_MALFORMED", "E_CBOR_LIMIT", "E_CBOR_UNSUPPORTED", "E_NONCANONICAL"}


@check("WIRE-001", "WIRE-007", "WIRE-008", "WIRE-010", "WIRE-016")
@given(value=values)
def check_encode_matches_oracle(impl: Impl, value: object) -> None:
    """cbor.encode writes exactly the deterministic encoding, and it decodes back to the value."""
    out = impl.ok("cbor.encode", {"value": to_notation(value)})
    expected = canonical(value)
    expect(out["bytes"] == expected.hex(),
           f"encoding {out['bytes']} differs from the deterministic {expected.hex()}")
    back = impl.ok("cbor.decode", {"bytes": out["bytes"]})
    expect(back["value"] == to_notation(value), f"decode(encode(v)) gave {back['value']}")


@check("WIRE-007", "WIRE-012")
@given(value=values)
def check_decode_rejects_wide_heads(impl: Impl, value: object) -> None:
    """A head one argument width wider than needed is rejected as non-canonical."""
    data = widen_first_head(canonical(value))
    assume(data is not None)
    assert data is not None
    impl.err("cbor.decode", {"bytes": data.hex()}, "E_NONCANONICAL")


@check("WIRE-009")
@given(items=st.lists(values, max_size=4))
def check_decode_rejects_indefinite(impl: Impl, items: list[object]) -> None:
    """An indefinite-length array is rejected as non-canonical."""
    impl.err("cbor.decode", {"bytes": indefinite_array(items).hex()}, "E_NONCANONICAL")


@check("WIRE-010", "WIRE-011")
@given(entries=st.dictionaries(st.text(max_size=6), values, min_size=2, max_size=5),
       data=st.data())
def check_decode_key_order(impl: Impl, entries: dict[str, object], data: st.DataObject) -> None:
    """A map is accepted exactly when its keys are in bytewise order of their encodings."""
    pairs = data.draw(st.permutations(list(entries.items())))
    encoded = map_with_order(pairs)
    ordered = sorted(pairs, key=lambda kv: canonical(kv[0])) == pairs
    if ordered:
        impl.ok("cbor.decode", {"bytes": encoded.hex()})
    else:
        impl.err("cbor.decode", {"bytes": encoded.hex()}, "E_NONCANONICAL")
    dup = pairs + [pairs[0]]
    dup.sort(key=lambda kv: canonical(kv[0]))
    impl.err("cbor.decode", {"bytes": map_with_order(dup).hex()}, "E_NONCANONICAL")


@check("WIRE-008")
@given(x=st.floats(allow_nan=False, allow_infinity=False, width=32))
def check_decode_float_width(impl: Impl, x: float) -> None:
    """A binary64 float whose value fits a narrower width is rejected; the shortest is accepted."""
    impl.err("cbor.decode", {"bytes": float_wider(x).hex()}, "E_NONCANONICAL")
    out = impl.ok("cbor.decode", {"bytes": canonical(x).hex()})
    expect(out["value"] == {"float": struct.pack(">d", x).hex()}, f"decoded {out['value']}")


@check("WIRE-012", "WIRE-015", "WIRE-016")
@given(blob=st.binary(min_size=0, max_size=24))
def check_decode_accepts_only_canonical(impl: Impl, blob: bytes) -> None:
    """Arbitrary bytes are either rejected with a wire-format code or are canonical already."""
    response = impl.call("cbor.decode", {"bytes": blob.hex()})
    if not response.ok:
        expect(response.code in CBOR_CODES, f"rejected with {response.code}, not a CBOR code")
        return
    try:
        decoded = cbor2.loads(blob)
        again = canonical(decoded)
    except Exception as exc:  # noqa: BLE001 -- the oracle itself refused: the input was bad
        expect(False, f"accepted {blob.hex()}, which the oracle cannot round-trip ({exc})")
        return
    expect(again == blob, f"accepted {blob.hex()}, whose deterministic form is {again.hex()}")


@check("WIRE-013", "WIRE-001", "WIRE-016")
def check_size_and_depth_limits(impl: Impl) -> None:
    """Items of exactly 1 MiB and 32 levels are accepted; one byte or one level more is not."""
    limit = 1_048_576
    body = limit - 5  # head of a byte string of this length: 0x5a + 4 bytes
    exact = b"\x5a" + body.to_bytes(4, "big") + b"\x00" * body
    impl.ok("cbor.decode", {"bytes": exact.hex()})
    over = b"\x5a" + (body + 1).to_bytes(4, "big") + b"\x00" * (body + 1)
    impl.err("cbor.decode", {"bytes": over.hex()}, "E_CBOR_LIMIT")
    encoded = impl.ok("cbor.encode", {"value": {"bytes": "00" * body}})
    expect(encoded["bytes"] == exact.hex(), "cbor.encode of a 1 MiB item differs")
    impl.err("cbor.encode", {"value": {"bytes": "00" * (body + 1)}}, "E_CBOR_LIMIT")
    impl.ok("cbor.decode", {"bytes": (b"\x81" * 32 + b"\x00").hex()})
    impl.err("cbor.decode", {"bytes": (b"\x81" * 33 + b"\x00").hex()}, "E_CBOR_LIMIT")
