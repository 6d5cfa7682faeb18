"""Signed operations for vector generators and tests, derived from labels (no randomness).

`OpFactory(label)` is one author: its Ed25519 seed is BLAKE3 of
`strata/vectors/<label>`; ids and timestamps come from counters, so the same
script of calls always yields the same bytes.
"""

from __future__ import annotations

from typing import Any

import attrs
import blake3

from reference import identifiers, signatures, wire_format
from reference.identifiers import IdKind
from reference.wire_format import Envelope

BASE_MS = 1_700_000_000_000


def derive(label: str, n: int = 32) -> bytes:
    """`n` bytes of BLAKE3 XOF output for a label (the vectors' only source of 'randomness')."""
    return blake3.blake3(f"strata/vectors/{label}".encode()).digest(length=n)


@attrs.define
class OpFactory:
    """Builds signed ops of one author with ascending timestamps and ids."""

    label: str
    wall_ms: int = BASE_MS
    logical: int = 0
    counter: int = 0

    @property
    def seed(self) -> bytes:
        return derive(f"{self.label}/seed")

    @property
    def node(self) -> bytes:
        return signatures.compute_public_key(self.seed)

    def new_id(self, kind: IdKind) -> bytes:
        """A fresh record id of `kind`: the factory's clock, then 10 derived bytes."""
        self.counter += 1
        rand = derive(f"{self.label}/id/{self.counter}", 10)
        return bytes([kind]) + self.wall_ms.to_bytes(6, "big") + rand

    def op(self, payload: dict[str, Any], *, ts: tuple[int, int] | None = None,
           sign: bool = True) -> bytes:
        """A signed op carrying `payload`; the clock advances by 1 ms unless `ts` is given."""
        if ts is None:
            self.wall_ms += 1
            ts = (self.wall_ms, 0)
        env = Envelope(op_id=self.new_id(IdKind.OP), author=self.node,
                       ts=(ts[0], ts[1], self.node), payload=payload, sig=None)
        if sign:
            env = signatures.sign_op(self.seed, env)
        return wire_format.encode_envelope(env)


def op_hash(data: bytes) -> bytes:
    """The hash of an op's bytes (spec/04 section 4)."""
    return identifiers.compute_op_hash(data)
