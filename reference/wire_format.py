"""Chapter 03: deterministic CBOR, the op envelope, hex (spec/03-wire-format.md).

Encoding uses cbor2's canonical mode: with text-only map keys (WIRE-005) its
length-first key order equals RFC 8949 bytewise order. Decoding cannot rely on
cbor2 alone because it is lenient (it accepts non-shortest heads, duplicate
keys, indefinite lengths, tags and trailing bytes), so `decode_canonical` first
scans the item's structure itself, pass by pass in the error precedence of
section 5, and only then lets cbor2 build the value.
"""

from __future__ import annotations

import math
import re
import struct
from typing import Union, cast

import attrs
import cbor2

from reference._require import require
from reference.introduction import ErrorCode

Value = Union[int, bytes, str, float, bool, None, list["Value"], dict[str, "Value"]]  # noqa: UP007

MAX_ITEM_BYTES = 1_048_576  # section 5: one data item, at most 1 MiB
MAX_DEPTH = 32  # section 5: containers nested at most 32 deep
INT_MIN = -(2**64)
INT_MAX = 2**64 - 1

_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def decode_hex(text: str) -> bytes:
    """Parse lowercase, even-length hex with no prefix or spacing (section 7)."""
    require(
        isinstance(text, str) and _HEX.fullmatch(text) is not None,
        "WIRE-017",
        ErrorCode.E_HEX_INVALID,
        f"not lowercase even-length hex: {str(text)[:40]!r}",
    )
    return bytes.fromhex(text)


def encode_hex(data: bytes) -> str:
    """Render bytes as lowercase hex (section 7) [WIRE-017]."""
    return data.hex()


# --- encoding -------------------------------------------------------------


def encode_canonical(value: Value) -> bytes:
    """Encode `value` in the deterministic encoding of section 4 [WIRE-001] [WIRE-016]."""
    _check_encodable(value, depth=0)
    # [WIRE-008] [WIRE-009] [WIRE-010] cbor2's canonical mode writes shortest floats,
    # definite lengths and sorted keys (shortest integer heads it writes in either mode).
    data: bytes = cbor2.dumps(value, canonical=True)
    require(
        len(data) <= MAX_ITEM_BYTES,
        "WIRE-013",
        ErrorCode.E_CBOR_LIMIT,
        f"encoding is {len(data)} bytes, over the {MAX_ITEM_BYTES}-byte limit",
    )
    return data


def _check_encodable(value: Value, depth: int) -> None:
    """Reject values outside the data model of section 3 before encoding."""
    if isinstance(value, (bool, type(None), str, bytes)):
        return
    if isinstance(value, int):
        require(
            INT_MIN <= value <= INT_MAX,
            "WIRE-002",
            ErrorCode.E_CBOR_UNSUPPORTED,
            f"integer {value} is outside [-2^64, 2^64-1]",
        )
        return
    if isinstance(value, float):
        require(
            math.isfinite(value), "WIRE-006", ErrorCode.E_CBOR_UNSUPPORTED, "float is not finite"
        )
        return
    require(
        # The driver's value notation and the reference's own callers build only data-model
        # types: no driver input brings another Python type here.
        # equivalent mutant (require-true): unreachable from driver input (see above)
        isinstance(value, (list, dict)),
        "WIRE-002",
        ErrorCode.E_CBOR_UNSUPPORTED,
        f"{type(value).__name__} is not in the data model",
    )
    require(
        depth < MAX_DEPTH,
        "WIRE-013",
        ErrorCode.E_CBOR_LIMIT,
        f"containers nested deeper than {MAX_DEPTH}",
    )
    if isinstance(value, dict):
        for key, item in value.items():
            check_map_key(key)
            _check_encodable(item, depth + 1)
    else:
        for item in value:
            _check_encodable(item, depth + 1)


def check_map_key(key: object) -> None:
    """Reject a map key that is not a text string (section 3) [WIRE-005]."""
    require(
        isinstance(key, str),
        "WIRE-005",
        ErrorCode.E_CBOR_UNSUPPORTED,
        f"map key {key!r} is not a text string",
    )


# --- decoding -------------------------------------------------------------


@attrs.define
class _Item:
    """One data item found by the structural scan."""

    major: int
    info: int
    arg: int | None  # None for indefinite length
    start: int
    end: int = 0
    depth: int = 0  # arrays and maps on the path from the top, this item included [WIRE-013]
    children: list[_Item] = attrs.Factory(list)


@attrs.define
class _Frame:
    item: _Item
    remaining: int | None  # None: indefinite, ends at a break


def decode_canonical(data: bytes) -> Value:
    """Decode one data item, rejecting anything not in deterministic form (section 5)."""
    require(
        len(data) <= MAX_ITEM_BYTES,
        "WIRE-013",
        ErrorCode.E_CBOR_LIMIT,
        f"input is {len(data)} bytes, over the {MAX_ITEM_BYTES}-byte limit",
    )
    canonical, value = _decode_if_canonical(data)
    if canonical:
        return value
    root = _scan(data)  # [WIRE-015] malformed before limits before model before form
    items = _preorder(root)
    _check_depth(items)
    _check_model(items)
    _check_form(items, data)  # [WIRE-014] reject, never re-encode
    # [WIRE-016] the scans above admit only deterministic encodings, so the value
    # cbor2 builds re-encodes to exactly `data`. (Only mutants get here: canonical input is
    # accepted by _decode_if_canonical, and the scans reject everything else.)
    # equivalent mutant (stmt-remove): unreached, the fast path accepts all canonical input
    return cbor2.loads(data)  # type: ignore[no-any-return]


def _decode_if_canonical(data: bytes) -> tuple[bool, Value]:
    """(True, cbor2's value) when it is in the data model and re-encodes to exactly `data`.

    [WIRE-016] Encoding is a function, so an input equal to the deterministic encoding of
    its own value is canonical by definition. This accepts the common case without the
    structural scan; anything else, (False, None), is scanned, which names the defect.
    """
    # Each statement below only lets more input reach the structural scan, which accepts the
    # same canonical input and returns the same value: dropping one changes speed only.
    # equivalent mutant (stmt-remove): without the fast path the scan decides alike
    try:
        # equivalent mutant (stmt-remove): the NameError goes to the scan, which decides alike
        value = cbor2.loads(data)
        # equivalent mutant (stmt-remove): the scan decides alike (see above)
        # equivalent mutant (const=1): counting one level more only sends a canonical value
        # at the depth limit to the scan, which accepts it and returns the same value
        if _in_model(value, 0) and cbor2.dumps(value, canonical=True) == data:
            # Returning False instead only sends canonical input to the structural scan,
            # which accepts it and returns the same value: this path saves time only.
            # equivalent mutant (const, stmt-remove): the slow path gives the same value
            return True, value
    except Exception:  # noqa: BLE001 -- any refusal by cbor2 goes to the scan for its code
        pass
    return False, None


def _in_model(value: object, depth: int) -> bool:
    """Whether a decoded value is in the data model of section 3 (types, ranges, depth)."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return True
    if isinstance(value, int):
        return INT_MIN <= value <= INT_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    if depth >= MAX_DEPTH:
        return False
    if isinstance(value, list):
        return all(_in_model(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(type(k) is str and _in_model(v, depth + 1) for k, v in value.items())
    return False


def _read_head(data: bytes, pos: int) -> tuple[int, int, int | None, int]:
    """Read an initial byte and its argument; return (major, info, arg, next position)."""
    require(pos < len(data), "WIRE-012", ErrorCode.E_CBOR_MALFORMED, "input ends inside an item")
    major, info = data[pos] >> 5, data[pos] & 0x1F
    pos += 1
    if info < 24:
        return major, info, info, pos
    require(
        info != 28 and info != 29 and info != 30,
        "WIRE-012",
        ErrorCode.E_CBOR_MALFORMED,
        f"reserved additional information {info} at offset {pos - 1}",
    )
    if info == 31:
        require(
            major not in (0, 1, 6),
            "WIRE-012",
            ErrorCode.E_CBOR_MALFORMED,
            f"major type {major} cannot have indefinite length (offset {pos - 1})",
        )
        return major, info, None, pos
    size = 1 << (info - 24)
    require(
        pos + size <= len(data),
        "WIRE-012",
        ErrorCode.E_CBOR_MALFORMED,
        "input ends inside an item's argument",
    )
    arg = int.from_bytes(data[pos : pos + size], "big")
    require(
        not (major == 7 and info == 24 and arg < 32),
        "WIRE-012",
        ErrorCode.E_CBOR_MALFORMED,
        f"two-byte simple value {arg} below 32 (offset {pos - 1})",
    )
    return major, info, arg, pos + size


def _scan(data: bytes) -> _Item:
    """Check well-formedness of the whole input and return its item tree [WIRE-012]."""
    # The root is a placeholder parent holding the one top-level item: only its `children`
    # and `depth` (0) are read, and its major only has to be none of 2, 3 and 5.
    # equivalent mutant (const): major -2 or 0, and any info, arg or start, read nowhere
    root = _Item(major=-1, info=0, arg=1, start=0)
    stack = [_Frame(root, 1)]
    pos = 0
    while stack:
        frame = stack[-1]
        if frame.remaining == 0:
            # `end` is read only for map keys, which _check_model makes text strings (their
            # end is set below or at their break) before _check_form reads it.
            # equivalent mutant (stmt-remove): a container's end is never read
            frame.item.end = pos
            stack.pop()
            continue
        start = pos
        major, info, arg, pos = _read_head(data, pos)
        parent = frame.item
        if major == 7 and info == 31:
            require(
                frame.remaining is None,
                "WIRE-012",
                ErrorCode.E_CBOR_MALFORMED,
                f"break outside an indefinite-length item (offset {start})",
            )
            require(
                parent.major != 5 or len(parent.children) % 2 == 0,
                "WIRE-012",
                ErrorCode.E_CBOR_MALFORMED,
                f"indefinite map ends after a key with no value (offset {start})",
            )
            parent.end = pos
            stack.pop()
            continue
        if parent.major in (2, 3) and frame.remaining is None:
            require(
                major == parent.major and info != 31,
                "WIRE-012",
                ErrorCode.E_CBOR_MALFORMED,
                f"chunk of an indefinite string is not a definite string of its type ({start})",
            )
        # [WIRE-013] depth counts arrays and maps only: tags and string chunks add none
        item = _Item(major, info, arg, start, depth=parent.depth + (1 if major in (4, 5) else 0))
        parent.children.append(item)
        if frame.remaining is not None:
            frame.remaining -= 1
        if major in (2, 3) and arg is not None:
            require(
                pos + arg <= len(data),
                "WIRE-012",
                ErrorCode.E_CBOR_MALFORMED,
                f"string at offset {start} runs past the end of input",
            )
            if major == 3:
                try:
                    data[pos : pos + arg].decode("utf-8")
                except UnicodeDecodeError:
                    require(
                        False,
                        "WIRE-012",
                        ErrorCode.E_CBOR_MALFORMED,
                        f"text string at offset {start} is not valid UTF-8",
                    )
            pos += arg
            item.end = pos
        elif major in (2, 3, 4, 5, 6):
            count = None if arg is None else (2 * arg if major == 5 else arg)
            if major == 6:
                count = 1
            # Early exit only: every member takes at least one byte, so a count past the end
            # fails the next head read ("input ends inside an item") with the same code.
            require(
                # equivalent mutant (arith-swap, require-true): the head read rejects it alike
                count is None or count <= len(data) - pos,
                "WIRE-012",
                ErrorCode.E_CBOR_MALFORMED,
                f"item at offset {start} declares {count} members; the input is shorter",
            )
            stack.append(_Frame(item, count))
        else:
            item.end = pos
    # pos past the end is left to the truncation checks above, which own it.
    require(
        pos >= len(data),
        "WIRE-012",
        ErrorCode.E_CBOR_MALFORMED,
        f"{len(data) - pos} bytes follow the data item",
    )
    return root.children[0]


def _preorder(root: _Item) -> list[_Item]:
    """All items in document order, iteratively (no recursion on deep input)."""
    out: list[_Item] = []
    stack = [root]
    while stack:
        item = stack.pop()
        out.append(item)
        stack.extend(reversed(item.children))
    return out


def _check_depth(items: list[_Item]) -> None:
    """Reject nesting deeper than MAX_DEPTH [WIRE-013]."""
    deepest = max(item.depth for item in items)
    require(
        deepest <= MAX_DEPTH,
        "WIRE-013",
        ErrorCode.E_CBOR_LIMIT,
        f"nested {deepest} deep, over the limit of {MAX_DEPTH}",
    )


def _check_model(items: list[_Item]) -> None:
    """Reject well-formed items outside the data model (section 3)."""
    for item in items:
        at = f"offset {item.start}"
        require(
            item.major != 6, "WIRE-003", ErrorCode.E_CBOR_UNSUPPORTED, f"tag {item.arg} at {at}"
        )
        if item.major == 7:
            require(
                item.info in (20, 21, 22, 25, 26, 27),
                "WIRE-004",
                ErrorCode.E_CBOR_UNSUPPORTED,
                f"simple value {item.arg} at {at} (only false, true, null and floats)",
            )
            if item.info >= 25:
                require(
                    math.isfinite(_float_value(item)),
                    "WIRE-006",
                    ErrorCode.E_CBOR_UNSUPPORTED,
                    f"float at {at} is NaN or infinite",
                )
        if item.major == 5:
            for key in item.children[0::2]:
                require(
                    key.major == 3,
                    "WIRE-005",
                    ErrorCode.E_CBOR_UNSUPPORTED,
                    f"map key at offset {key.start} is not a text string",
                )


def _check_form(items: list[_Item], data: bytes) -> None:
    """Reject items that are valid but not in deterministic form (section 4)."""
    for item in items:
        at = f"offset {item.start}"
        if item.arg is None:
            require(False, "WIRE-009", ErrorCode.E_NONCANONICAL, f"indefinite-length item at {at}")
        elif item.major == 7 and item.info >= 25:
            require(
                not _fits_shorter_float(item),
                "WIRE-008",
                ErrorCode.E_NONCANONICAL,
                f"float at {at} has a shorter exact form",
            )
        elif item.major != 7:
            require(
                item.info == _shortest_info(item.arg),
                "WIRE-007",
                ErrorCode.E_NONCANONICAL,
                f"argument {item.arg} at {at} is not in its shortest form",
            )
        if item.major == 5:
            keys = [data[k.start : k.end] for k in item.children[0::2]]
            for before, after in zip(keys, keys[1:], strict=False):
                # `<` differs only for equal keys, which the duplicate-key check rejects alike.
                require(
                    # equivalent mutant (cmp-flip): equal keys are E_NONCANONICAL either way
                    before <= after,
                    "WIRE-010",
                    ErrorCode.E_NONCANONICAL,
                    f"map keys at {at} are not in bytewise order of their encodings",
                )
                require(
                    before != after,
                    "WIRE-011",
                    ErrorCode.E_NONCANONICAL,
                    f"duplicate map key {after.hex()} in the map at {at}",
                )


def _shortest_info(arg: int) -> int:
    """The additional-information value of the shortest head for `arg` [WIRE-007]."""
    # A `<=` below only makes this stricter, at 24, 0x100, 0x10000 or 2^32, whose canonical
    # heads decode_canonical's fast path accepts without this scan: input holding one reaches
    # _check_form only with another form defect, so it is E_NONCANONICAL either way.
    # equivalent mutant (cmp-flip, const=25): at 24 both branches return 24
    if arg < 24:
        return arg
    # equivalent mutant (cmp-flip, const=257): stricter only where the fast path decides
    if arg < 0x100:
        return 24  # equivalent mutant (const=23): stricter only (no head holds 24 up in 23)
    # equivalent mutant (cmp-flip, const=65537): stricter only where the fast path decides
    if arg < 0x10000:
        return 25  # equivalent mutant (const=24): stricter only (no 1-byte head holds 256 up)
    # equivalent mutant (cmp-flip, const=4294967297): stricter only where the fast path decides
    if arg < 0x100000000:
        return 26  # equivalent mutant (const=25): stricter only (no 2-byte head holds 2^16 up)
    # equivalent mutant (const, stmt-remove): no shorter head holds 2^32 up, so only stricter
    return 27


def _float_value(item: _Item) -> float:
    """The value of a float item from its raw argument bits."""
    width = {25: 2, 26: 4, 27: 8}[item.info]
    raw = (item.arg or 0).to_bytes(width, "big")
    fmt = {2: ">e", 4: ">f", 8: ">d"}[width]
    return float(struct.unpack(fmt, raw)[0])


def _fits_shorter_float(item: _Item) -> bool:
    """Whether a float item's value is exactly representable in a narrower width [WIRE-008]."""
    value = _float_value(item)
    narrower = {25: [], 26: [">e"], 27: [">e", ">f"]}[item.info]
    for fmt in narrower:
        try:
            packed = struct.pack(fmt, value)
        except OverflowError:
            continue
        if struct.unpack(fmt, packed) == (value,):
            return True
    # True here is stricter only: every input reaching _check_form has a form defect (canonical
    # input takes the fast path), so it is E_NONCANONICAL either way; dropping the statement
    # returns None, as falsy as False.
    # equivalent mutant (const, stmt-remove): see above
    return False


# --- the op envelope (section 6) -------------------------------------------

ENVELOPE_VERSION = 1
ENVELOPE_KEYS = frozenset({"author", "id", "payload", "sig", "ts", "v"})
SANITIZED_KEYS = ENVELOPE_KEYS | {"san"}  # plus a sanitization record (spec/07 section 8.1)
WALL_MS_MAX = 2**48 - 1
LOGICAL_MAX = 2**16 - 1


@attrs.frozen
class Envelope:
    """The common shape of every operation (section 6; spec/01-data-model.md section 4.1)."""

    op_id: bytes  # OpId, 17 bytes (spec/04-identifiers-and-hashing.md)
    author: bytes  # NodeId, 32 bytes
    ts: tuple[int, int, bytes]  # (wall_ms, logical, node), spec/05-clocks.md
    payload: dict[str, Value]
    sig: bytes | None
    v: int = ENVELOPE_VERSION
    san: dict[str, Value] | None = None  # sanitization record, only when sig is null (07 8.1)

    def to_value(self) -> dict[str, Value]:
        """The envelope as a data-model map (with `san` only when the op carries one)."""
        wall_ms, logical, node = self.ts
        value: dict[str, Value] = {
            "author": self.author,
            "id": self.op_id,
            "payload": self.payload,
            "sig": self.sig,
            "ts": [wall_ms, logical, node],
            "v": self.v,
        }
        if self.san is not None:
            value["san"] = self.san
        return value


def encode_envelope(env: Envelope) -> bytes:
    """The canonical bytes of an op envelope (section 6)."""
    return encode_canonical(env.to_value())


def signing_payload(env: Envelope) -> bytes:
    """The canonical bytes of the envelope with `sig` cleared to null (section 6) [WIRE-026]."""
    return encode_envelope(attrs.evolve(env, sig=None))


def _is_uint(x: Value) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def decode_envelope(data: bytes) -> Envelope:
    """Decode and validate an op envelope, checks in the order of section 6 [WIRE-027]."""
    from reference import identifiers

    value = decode_canonical(data)
    bad = ErrorCode.E_ENVELOPE_INVALID
    require(isinstance(value, dict), "WIRE-018", bad, "an op envelope is a map")
    env = cast(dict[str, Value], value)
    keys = set(env)
    require(
        keys in (ENVELOPE_KEYS, SANITIZED_KEYS),
        "WIRE-019",
        bad,
        f"envelope keys {sorted(keys)}; missing {sorted(ENVELOPE_KEYS - keys)}, "
        f"unknown {sorted(keys - SANITIZED_KEYS)}",
    )
    require(
        _is_uint(env["v"]) and env["v"] == ENVELOPE_VERSION,
        "WIRE-020",
        bad,
        f"envelope version {env['v']!r} is not {ENVELOPE_VERSION}",
    )
    require(isinstance(env["id"], bytes), "WIRE-021", bad, "'id' is not a byte string")
    op_id = cast(bytes, env["id"])
    identifiers.check_id_bytes(identifiers.IdKind.OP, op_id)
    author = env["author"]
    require(
        isinstance(author, bytes) and len(author) == 32,
        "WIRE-021",
        bad,
        "'author' is not a 32-byte NodeId",
    )
    ts = env["ts"]
    require(
        isinstance(ts, list)
        and len(ts) == 3
        and _is_uint(ts[0])
        and _is_uint(ts[1])
        and isinstance(ts[2], bytes)
        and len(ts[2]) == 32,
        "WIRE-022",
        bad,
        "'ts' is not [wall_ms, logical, node]",
    )
    wall_ms, logical, node = cast(tuple[int, int, bytes], tuple(cast(list[Value], ts)))
    require(
        0 <= wall_ms <= WALL_MS_MAX and 0 <= logical <= LOGICAL_MAX,
        "WIRE-022",
        ErrorCode.E_HLC_RANGE,
        f"timestamp ({wall_ms}, {logical}) outside 48-bit wall_ms / 16-bit logical",
    )
    require(node == author, "WIRE-023", bad, "'ts' node is not the op's author")
    payload = env["payload"]
    require(
        isinstance(payload, dict) and isinstance(payload.get("type"), str),
        "WIRE-024",
        bad,
        "'payload' is not a map with a text 'type'",
    )
    sig = env["sig"]
    require(
        sig is None or (isinstance(sig, bytes) and len(sig) == 64),
        "WIRE-025",
        bad,
        "'sig' is neither null nor a 64-byte signature",
    )
    san = env.get("san")
    if "san" in env:  # [WIRE-027] last: the sanitization record's place (spec/07 section 8.1)
        require(sig is None, "UCAN-039", bad, "an envelope with 'san' has a non-null 'sig'")
        require(isinstance(san, dict), "UCAN-039", bad, "'san' is not a map")
    return Envelope(
        op_id=op_id,
        author=cast(bytes, author),
        ts=(wall_ms, logical, node),
        payload=cast(dict[str, Value], payload),
        sig=cast(bytes | None, sig),
        san=cast(dict[str, Value] | None, san),
    )
