"""Chapter 09 section 4: frames, the unit of every exchange between peers.

A frame is a 4-byte big-endian length followed by that many bytes holding one
deterministic-CBOR map whose `t` names its type. Frames are read with bounded
timeouts from asyncio streams; a frame that breaks a rule of section 4 is
refused with `E_MESH_FRAME`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from reference import wire_format
from reference._require import SpecViolation, require
from reference.introduction import ErrorCode
from reference.wire_format import Value

PREFIX_BYTES = 4
MAX_FRAME_BYTES = wire_format.MAX_ITEM_BYTES  # section 4.1: the chapter 03 limit, 1 MiB
HASH_BYTES = 32
NODE_BYTES = 32

# Section 4.2: the keys of each frame type.
FRAME_KEYS: dict[str, tuple[frozenset[str], ...]] = {
    "hello": (frozenset({"t", "v", "root", "rules", "node"}),),
    "error": (frozenset({"t", "code", "msg"}),),
    "rec": (frozenset({"t", "r"}), frozenset({"t", "r", "salt"})),
    "ops": (frozenset({"t", "ops"}),),
}

BAD = ErrorCode.E_MESH_FRAME
Frame = dict[str, Value]


def encode_frame(body: Frame) -> bytes:
    """Length prefix and deterministic CBOR of one frame map (section 4.1) [MESH-008]."""
    data = wire_format.encode_canonical(body)
    # equivalent mutant (require-true, stmt-remove): the chapter 03 encoder above already
    # refuses any encoding over MAX_ITEM_BYTES (= MAX_FRAME_BYTES), so no longer body gets here
    require(len(data) <= MAX_FRAME_BYTES, "MESH-009", BAD,
            f"a frame body of {len(data)} bytes is over {MAX_FRAME_BYTES}")
    return len(data).to_bytes(PREFIX_BYTES, "big") + data


def check_length(prefix: bytes) -> int:
    """The body length a prefix announces, 1 to MAX_FRAME_BYTES (section 4.1) [MESH-009]."""
    n = int.from_bytes(prefix, "big")
    # A body over 1 MiB is over the CBOR decoder's limit (chapter 03) and decode_body would
    # refuse it with E_MESH_FRAME too, but only after reading it: a session (mesh.session)
    # tells the two apart, since the peer's bytes run out while the node waits for the body.
    # equivalent mutant (const=0): a prefix of 0 then reads 0 bytes, an empty body that
    # decode_body refuses at once with the same E_MESH_FRAME
    require(n >= 1
            and n <= MAX_FRAME_BYTES, "MESH-009", BAD,
            f"a frame announces {n} bytes; a body is 1 to {MAX_FRAME_BYTES} bytes")
    return n


def _is_uint(x: Value) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def decode_body(data: bytes) -> Frame:
    """Decode and check one frame body, in the order of section 4.2 [MESH-010]."""
    try:
        value = wire_format.decode_canonical(data)  # [MESH-008] deterministic CBOR only
    except SpecViolation as violation:
        raise SpecViolation("MESH-010", BAD,
                            f"the frame body is not deterministic CBOR ({violation.code}: "
                            f"{violation.message})") from violation
    require(isinstance(value, dict), "MESH-010", BAD, "a frame body is a map")
    body = cast(Frame, value)
    kind = body.get("t")
    require(isinstance(kind, str) and kind in FRAME_KEYS, "MESH-010", BAD,
            f"frame type {kind!r} is not hello, error, rec or ops")
    require(frozenset(body) in FRAME_KEYS[cast(str, kind)], "MESH-010", BAD,
            f"a {kind!r} frame has the keys {sorted(body)}")
    if kind == "hello":
        require(_is_uint(body["v"]) and isinstance(body["root"], str)
                and isinstance(body["rules"], bytes) and len(body["rules"]) == HASH_BYTES
                and isinstance(body["node"], bytes) and len(body["node"]) == NODE_BYTES,
                "MESH-010", BAD, "a hello frame holds v (uint), root (text), rules (32 bytes) "
                                 "and node (32 bytes)")
    elif kind == "error":
        require(isinstance(body["code"], str) and isinstance(body["msg"], str), "MESH-010",
                BAD, "an error frame holds code and msg as text")
    elif kind == "ops":
        ops = body["ops"]
        require(isinstance(ops, list) and len(ops) >= 1
                and all(isinstance(o, bytes) for o in ops), "MESH-010", BAD,
                "an ops frame holds a non-empty array of byte strings")
    elif "salt" in body:  # rec; its ranges are checked by reconcile.decode_entries
        # equivalent mutant (require-true): every reader of a salt (a session's first message,
        # mesh.decode_frame) requires 16 bytes with the same E_MESH_FRAME, and a later message
        # with any salt is refused with it too
        require(isinstance(body["salt"], bytes), "MESH-010", BAD, "'salt' is not bytes")
    return body


def decode_frame(frame: bytes) -> Frame:
    """Decode one whole frame, prefix included (section 4) [MESH-009]."""
    # equivalent mutant (cmp-flip, require-true, stmt-remove): a frame of 4 bytes or fewer
    # has no body, so the match of its length below (or check_length, for a prefix of 0)
    # refuses it with the same E_MESH_FRAME
    require(len(frame) >= PREFIX_BYTES, "MESH-009", BAD, "a frame is shorter than its prefix")
    n = check_length(frame[:PREFIX_BYTES])
    require(len(frame) - PREFIX_BYTES == n, "MESH-009", BAD,
            f"the prefix announces {n} bytes, {len(frame) - PREFIX_BYTES} follow")
    return decode_body(frame[PREFIX_BYTES:])


def _head(n: int) -> int:
    """Bytes of a CBOR head whose argument is n (chapter 03 section 4)."""
    return 1 if n < 24 else 2 if n < 256 else 3 if n < 65536 else 5 if n < 2**32 else 9


def batch_ops(ops: Sequence[bytes]) -> list[list[bytes]]:
    """`ops` in order, cut into the batches of section 4.2's greedy packing [MESH-011]."""
    # [MESH-011] a frame is closed when the next op would take its body over the limit
    out: list[list[bytes]] = []
    batch: list[bytes] = []
    size = 0  # the bytes of the batch's elements

    def body_size(count: int, elements: int) -> int:
        return 1 + 2 + 4 + 4 + _head(count) + elements  # {"t": "ops", "ops": [...]}

    for op in ops:
        item = _head(len(op)) + len(op)
        # equivalent mutant (const): an array of 0, 1 or 2 elements has a one-byte head alike
        # equivalent mutant (require-true, stmt-remove): the op then goes alone into a frame
        # whose encoding the chapter 03 encoder refuses with the same E_CBOR_LIMIT
        require(body_size(1, item) <= MAX_FRAME_BYTES, "MESH-011", ErrorCode.E_CBOR_LIMIT,
                f"an op of {len(op)} bytes does not fit in a frame")
        if batch and body_size(len(batch) + 1, size + item) > MAX_FRAME_BYTES:
            out.append(batch)
            batch, size = [], 0
        batch.append(op)
        size += item
    if batch:
        out.append(batch)
    return out


def pack_ops(ops: Sequence[bytes]) -> list[bytes]:
    """Ops frames holding `ops` in order, each filled greedily to MAX_FRAME_BYTES (4.2)."""
    return [encode_frame({"t": "ops", "ops": list(b)}) for b in batch_ops(ops)]


async def read_frame(reader: asyncio.StreamReader, timeout_s: float) -> tuple[Frame, int]:
    """Read and decode one frame within `timeout_s` seconds; the frame and its size."""
    # [MESH-031] the wait is bounded; a live session only reads frames from a socket
    # outside the harness (stmt-remove): live session only; test_silent_peer_times_out
    async with asyncio.timeout(timeout_s):
        prefix = await reader.readexactly(PREFIX_BYTES)
        n = check_length(prefix)
        data = await reader.readexactly(n)
    return decode_body(data), PREFIX_BYTES + n


async def write_frame(writer: asyncio.StreamWriter, frame: bytes, timeout_s: float) -> None:
    """Write one encoded frame and wait until it is flushed, within `timeout_s` seconds."""
    writer.write(frame)
    async with asyncio.timeout(timeout_s):
        await writer.drain()
