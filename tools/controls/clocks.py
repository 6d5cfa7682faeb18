"""Negative controls of chapter 05: each replaces one function of `reference.clocks`.

The harness (conformance/suites/clocks.py and vectors/clocks/) must fail every one.
"""

from __future__ import annotations

import struct

from reference import clocks, wire_format
from tools.controls import control


@control("hlc-logical-backwards", "CLK-013", "a tick resets logical to 0 when wall_ms stays")
def logical_backwards() -> None:
    def compute_tick(state: clocks.ClockState, pt: int) -> clocks.ClockState:
        return clocks.ClockState(max(state.l, pt), 0)

    clocks.compute_tick = compute_tick


@control("hlc-no-drift-check", "CLK-014", "any future remote timestamp is accepted and advances")
def no_drift_check() -> None:
    def check_drift(m: clocks.Timestamp, pt: int) -> None:
        return None

    clocks.check_drift = check_drift


@control("hlc-drift-inclusive", "CLK-014", "a remote exactly MAX_DRIFT_MS ahead is rejected")
def drift_inclusive() -> None:
    original = clocks.check_drift

    def check_drift(m: clocks.Timestamp, pt: int) -> None:
        original(m, pt - 1)

    clocks.check_drift = check_drift


@control("hlc-no-carry", "CLK-017", "logical wraps to 0 at 65536 without advancing wall_ms")
def no_carry() -> None:
    def carry(candidate: clocks.ClockState) -> clocks.ClockState:
        return clocks.ClockState(candidate.l, candidate.c % (clocks.LOGICAL_MAX + 1))

    clocks.carry = carry


@control("hlc-receive-as-tick", "CLK-016", "a receive ignores the remote timestamp")
def receive_as_tick() -> None:
    def compute_receive(
        state: clocks.ClockState, m: clocks.Timestamp, pt: int
    ) -> clocks.ClockState:
        return clocks.compute_tick(state, pt)

    clocks.compute_receive = compute_receive


@control("hlc-receive-copies-remote", "CLK-016", "l' == m.wall_ms gives c' = m.logical, not + 1")
def receive_copies_remote() -> None:
    original = clocks.compute_receive

    def compute_receive(
        state: clocks.ClockState, m: clocks.Timestamp, pt: int
    ) -> clocks.ClockState:
        out = original(state, m, pt)
        if out.l == m.wall_ms and out.l != state.l:
            return clocks.ClockState(out.l, m.logical)
        return out

    clocks.compute_receive = compute_receive


@control("hlc-resume-fresh", "CLK-025", "a restarted clock ignores its persisted state")
def resume_fresh() -> None:
    def resume_clock(
        node: bytes, persisted: clocks.ClockState, persist: clocks.Persist
    ) -> clocks.Clock:
        return clocks.new_clock(node, persist)

    clocks.resume_clock = resume_clock


@control("hlc-order-signed-node", "CLK-006", "node bytes compare as signed bytes")
def order_signed_node() -> None:
    def compare_timestamps(a: clocks.Timestamp, b: clocks.Timestamp) -> int:
        clocks.validate_timestamp(a)
        clocks.validate_timestamp(b)

        def key(t: clocks.Timestamp) -> tuple[int, int, tuple[int, ...]]:
            return (t.wall_ms, t.logical, struct.unpack(f"{len(t.node)}b", t.node))

        return (key(a) > key(b)) - (key(a) < key(b))

    clocks.compare_timestamps = compare_timestamps


@control("hlc-order-logical-first", "CLK-006", "logical is compared before wall_ms")
def order_logical_first() -> None:
    def compare_timestamps(a: clocks.Timestamp, b: clocks.Timestamp) -> int:
        clocks.validate_timestamp(a)
        clocks.validate_timestamp(b)
        ka, kb = (a.logical, a.wall_ms, a.node), (b.logical, b.wall_ms, b.node)
        return (ka > kb) - (ka < kb)

    clocks.compare_timestamps = compare_timestamps


@control("hlc-encode-fixed-width", "CLK-004", "wall_ms always takes an 8-byte CBOR head")
def encode_fixed_width() -> None:
    def encode_timestamp(ts: clocks.Timestamp) -> bytes:
        clocks.validate_timestamp(ts)
        head = b"\x1b" + ts.wall_ms.to_bytes(8, "big")
        rest = wire_format.encode_canonical([ts.logical, ts.node])[1:]
        return b"\x83" + head + rest

    clocks.encode_timestamp = encode_timestamp
