"""Negative controls for chapter 03: codecs that accept or write what they must not."""

from __future__ import annotations

import cbor2

from tools.controls import control, drop_control

drop_control("wire-accept-unsorted-keys", "WIRE-010", "map keys in any order are accepted")
drop_control("wire-accept-duplicate-keys", "WIRE-011", "a map may repeat a key")
drop_control("wire-accept-wide-heads", "WIRE-007", "non-shortest integer heads are accepted")
drop_control("wire-accept-indefinite", "WIRE-009", "indefinite lengths are accepted")
drop_control("wire-accept-tags", "WIRE-003", "tagged items are accepted")
drop_control("wire-accept-trailing", "WIRE-012", "malformed input (trailing bytes) is accepted")


@control("wire-encode-code-point-order", "WIRE-010",
         "the encoder sorts map keys by code point, not by their encoded bytes")
def encode_code_point_order() -> None:
    from reference import wire_format

    def resort(value: wire_format.Value) -> wire_format.Value:
        if isinstance(value, dict):
            return {k: resort(value[k]) for k in sorted(value)}
        if isinstance(value, list):
            return [resort(v) for v in value]
        return value

    def encode(value: wire_format.Value) -> bytes:
        wire_format._check_encodable(value, depth=0)
        return bytes(cbor2.dumps(resort(value), canonical=False))

    wire_format.encode_canonical = encode
