"""Driver commands of chapter 03: `cbor.encode`, `cbor.decode`, `op.decode` (spec/16)."""

from __future__ import annotations

import re
import struct
from typing import Any

from reference import identifiers, wire_format
from reference._require import SpecViolation, require
from reference.driver._registry import Args, command
from reference.introduction import ErrorCode
from reference.wire_format import Value

_INT = re.compile(r"-?(0|[1-9][0-9]*)")


def _bad(message: str) -> SpecViolation:
    return SpecViolation("CONF-007", ErrorCode.E_BAD_REQUEST, message)


def from_notation(node: Any, depth: int = 0) -> Value:
    """A data-model value from its JSON value notation (spec/16-conformance.md section 4)."""
    # This guard only bounds recursion: encode_canonical rejects any value nested past
    # MAX_DEPTH with the same E_CBOR_LIMIT, so a tighter or looser bound changes no answer
    # (a node at depth 33 already has 33 containers around it). Without the guard the
    # recursion is still bounded: the driver's JSON reader gives up on notation nested about
    # 500 deep, well before this recursion would reach Python's limit.
    require(
        # equivalent mutant (const, cmp-flip, require-true): encode_canonical rejects alike
        depth <= wire_format.MAX_DEPTH + 1,
        "WIRE-013",
        ErrorCode.E_CBOR_LIMIT,
        f"value nested deeper than {wire_format.MAX_DEPTH}",
    )
    if node is None or isinstance(node, bool):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise _bad(f"not a value in notation: {str(node)[:60]}")
    (tag, body), = node.items()
    if tag == "int":
        if not isinstance(body, str) or not _INT.fullmatch(body):
            raise _bad(f"'int' takes a decimal string, got {body!r}")
        return int(body)
    if tag == "bytes":
        if not isinstance(body, str):
            raise _bad("'bytes' takes a hex string")
        return wire_format.decode_hex(body)
    if tag == "text":
        if not isinstance(body, str):
            raise _bad("'text' takes a string")
        return body
    if tag == "float":
        if not isinstance(body, str) or len(body) != 16:
            raise _bad("'float' takes 16 hex digits of IEEE 754 binary64")
        return float(struct.unpack(">d", wire_format.decode_hex(body))[0])
    if tag == "array":
        if not isinstance(body, list):
            raise _bad("'array' takes a list")
        return [from_notation(item, depth + 1) for item in body]
    if tag == "map":
        if not isinstance(body, list) or not all(
            isinstance(e, list) and len(e) == 2 for e in body
        ):
            raise _bad("'map' takes a list of [key, value] pairs")
        out: dict[Any, Value] = {}
        for key_node, value_node in body:
            key = from_notation(key_node, depth + 1)
            # before the duplicate check: 1 and true are distinct keys, yet equal in Python
            wire_format.check_map_key(key)
            require(
                key not in out,
                "WIRE-011",
                ErrorCode.E_NONCANONICAL,
                f"duplicate map key {key!r}",
            )
            out[key] = from_notation(value_node, depth + 1)
        return out
    raise _bad(f"unknown value notation {tag!r}")


def to_notation(value: Value) -> Any:
    """The JSON value notation of a data-model value; map entries in canonical order."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, bytes):
        return {"bytes": wire_format.encode_hex(value)}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, float):
        return {"float": struct.pack(">d", value).hex()}
    if isinstance(value, list):
        return {"array": [to_notation(item) for item in value]}
    ordered = sorted(value.items(), key=lambda kv: wire_format.encode_canonical(kv[0]))
    return {"map": [[to_notation(k), to_notation(v)] for k, v in ordered]}


@command("cbor.encode")
def cbor_encode(args: Args) -> dict[str, Any]:
    """Encode a value deterministically (spec/03-wire-format.md section 4)."""
    value = from_notation(args.any("value"))
    return {"bytes": wire_format.encode_hex(wire_format.encode_canonical(value))}


@command("cbor.decode")
def cbor_decode(args: Args) -> dict[str, Any]:
    """Decode one canonical data item (spec/03-wire-format.md section 5)."""
    return {"value": to_notation(wire_format.decode_canonical(args.bytes("bytes")))}


@command("op.decode")
def op_decode(args: Args) -> dict[str, Any]:
    """Validate an op envelope's structure and report its fields and hash (section 6)."""
    data = args.bytes("op")
    env = wire_format.decode_envelope(data)
    wall_ms, logical, node = env.ts
    return {
        "id": identifiers.encode_id_text(identifiers.IdKind.OP, env.op_id),
        "author": env.author.hex(),
        "ts": [wall_ms, logical, node.hex()],
        "payload": to_notation(env.payload),
        "sig": None if env.sig is None else env.sig.hex(),
        "hash": identifiers.compute_op_hash(data).hex(),
    }
