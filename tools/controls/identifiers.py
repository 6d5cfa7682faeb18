"""Negative controls for chapter 04."""

from __future__ import annotations

from tools.controls import control


@control("id-ignore-kind", "ID-004", "ids of any kind are accepted where one kind is expected")
def ignore_kind() -> None:
    from reference import identifiers
    from reference._require import require
    from reference.introduction import ErrorCode

    def check_id_bytes(kind: identifiers.IdKind, raw: bytes) -> None:
        require(len(raw) == identifiers.ID_BYTES, "ID-002", ErrorCode.E_ID_MALFORMED, "length")

    identifiers.check_id_bytes = check_id_bytes
    identifiers.kind_named = lambda prefix: identifiers.KIND_BY_PREFIX.get(
        prefix, identifiers.IdKind.OP)


@control("id-generator-wall-clock", "ID-005",
         "the generator follows the wall clock back (python-ulid's behaviour)")
def follow_wall_clock() -> None:
    from reference import identifiers

    def generate(self: identifiers.IdGenerator, now_ms: int, fresh_random: bytes) -> bytes:
        if now_ms == self.last_ms:
            rand = self.last_random + 1
        else:
            rand = int.from_bytes(fresh_random, "big")
        self.last_ms, self.last_random = now_ms, rand
        return bytes([self.kind]) + now_ms.to_bytes(6, "big") + rand.to_bytes(10, "big")

    identifiers.IdGenerator.generate = generate  # type: ignore[method-assign]
