"""Negative controls of chapter 09: each breaks one rule of reference/mesh.

The harness (conformance/suites/mesh.py and vectors/mesh/) must fail every one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

import reference.mesh as mesh
from reference import identifiers, operations, oplog, wire_format
from reference.mesh import node, reconcile
from reference.oplog import AppendResult, OpLog, StoredOp, Ts
from tools.controls import control


@control("mesh-merge-wall-clock-tiebreak", "MESH-032",
         "merges are ordered by wall_ms alone: a tie keeps the order the ops arrived in")
def merge_wall_clock_tiebreak() -> None:
    def merge_order_key(op: StoredOp) -> Ts:
        return (op.ts[0], 0, b"")  # the sort is stable: equal wall_ms keeps arrival order

    mesh.merge_order_key = merge_order_key


@control("mesh-xor-fingerprint", "MESH-017",
         "a range's fingerprint is the XOR of its op hashes (first 16 bytes): linear, forgeable")
def xor_fingerprint() -> None:
    def compute_fingerprint(salt: bytes, keys: Sequence[bytes]) -> bytes:
        acc = 0
        for k in keys:
            acc ^= int.from_bytes(reconcile.get_hash(k)[:reconcile.FP_BYTES], "big")
        return acc.to_bytes(reconcile.FP_BYTES, "big")

    reconcile.compute_fingerprint = compute_fingerprint


@control("mesh-skip-verify", "MESH-025",
         "ops received from a peer are stored without signature, payload or authority checks")
def skip_verify() -> None:
    def accept_op(log: OpLog, data: bytes, now_ms: int) -> AppendResult:
        op = _decode_unchecked(data)
        try:
            log._in_transaction(lambda: log._store(op))
        except sqlite3.IntegrityError:
            return AppendResult("duplicate", op.hash)
        return AppendResult("applied", op.hash, None, (op,))

    node.accept_op = accept_op
    # the applied ops are read back without decoding again, so the unverified ones show
    oplog.OpLog.ops = _ops_unchecked  # type: ignore[method-assign]


def _decode_unchecked(data: bytes) -> StoredOp:
    """An op decoded as far as its envelope, its signature never looked at."""
    env = wire_format.decode_envelope(data)
    try:
        payload: operations.Payload | operations.ReservedPayload = (
            operations.parse_payload(env.payload))
    except Exception:  # noqa: BLE001 -- a broken build stores whatever it gets
        payload = operations.ReservedPayload(str(env.payload.get("type")), env.payload)
    return StoredOp(identifiers.compute_op_hash(data), env, payload, data)


def _ops_unchecked(self: OpLog) -> Iterator[StoredOp]:
    rows = self.db.execute(f"SELECT data FROM ops WHERE {oplog.APPLIED} "
                           "ORDER BY wall, logical, node")
    for (data,) in rows:
        yield _decode_unchecked(bytes(data))
