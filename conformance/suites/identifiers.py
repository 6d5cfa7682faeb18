"""Property checks of chapter 04 (spec/04-identifiers-and-hashing.md) through the driver."""

from __future__ import annotations

import blake3
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._cbor import canonical, to_notation, values

KINDS = {"op": 1, "ev": 2, "ent": 3, "clm": 4, "job": 5, "art": 6, "epi": 7, "act": 8}
kinds = st.sampled_from(sorted(KINDS))
ulids = st.binary(min_size=16, max_size=16)


@check("ID-002", "ID-003")
@given(kind=kinds, ulid=ulids)
def check_id_round_trip(impl: Impl, kind: str, ulid: bytes) -> None:
    """Byte form -> text form -> byte form is the identity, and text sorts like bytes."""
    raw = bytes([KINDS[kind]]) + ulid
    text = impl.ok("id.encode", {"kind": kind, "bytes": raw.hex()})["text"]
    expect(text.startswith(kind + "_") and len(text) == len(kind) + 27, f"text form {text!r}")
    back = impl.ok("id.decode", {"kind": kind, "text": text})
    expect(back["bytes"] == raw.hex(), f"{text} decoded to {back['bytes']}")
    expect(back["wall_ms"] == int.from_bytes(ulid[:6], "big"), f"wall_ms {back['wall_ms']}")


@check("ID-004")
@given(expected=kinds, actual=kinds, ulid=ulids)
def check_id_kind_confusion(impl: Impl, expected: str, actual: str, ulid: bytes) -> None:
    """An id of one kind is rejected with E_ID_KIND wherever another kind is expected."""
    raw = bytes([KINDS[actual]]) + ulid
    text = impl.ok("id.encode", {"kind": actual, "bytes": raw.hex()})["text"]
    if expected == actual:
        impl.ok("id.decode", {"kind": expected, "text": text})
    else:
        impl.err("id.decode", {"kind": expected, "text": text}, "E_ID_KIND")
        impl.err("id.encode", {"kind": expected, "bytes": raw.hex()}, "E_ID_KIND")


@check("ID-005")
@given(steps=st.lists(st.tuples(st.integers(0, 2**40), st.binary(min_size=10, max_size=10)),
                      min_size=1, max_size=12))
def check_generation_monotonic(impl: Impl, steps: list[tuple[int, bytes]]) -> None:
    """Generated ids strictly increase whatever the clock does, and follow section 2.4."""
    out = impl.ok("id.generate", {"kind": "op", "steps": [
        {"now_ms": ms, "random": r.hex()} for ms, r in steps]})
    raws = [impl.ok("id.decode", {"kind": "op", "text": t})["bytes"] for t in out["ids"]]
    expect(len(raws) == len(steps), f"{len(raws)} ids for {len(steps)} steps")
    last_ms, last_rand = -1, 0
    for (now, fresh), got in zip(steps, raws, strict=True):
        if now > last_ms:
            last_ms, last_rand = now, int.from_bytes(fresh, "big")
        elif last_rand < 2**80 - 1:
            last_rand += 1
        else:
            last_ms, last_rand = last_ms + 1, int.from_bytes(fresh, "big")
        want = (b"\x01" + last_ms.to_bytes(6, "big") + last_rand.to_bytes(10, "big")).hex()
        expect(got == want, f"step ({now}, {fresh.hex()}) gave {got}, section 2.4 gives {want}")


@check("ID-008", "ID-009")
@given(value=values)
def check_hashes(impl: Impl, value: object) -> None:
    """hash.value is BLAKE3-256 of the deterministic encoding; hash.bytes of the raw bytes."""
    data = canonical(value)
    expected = blake3.blake3(data).hexdigest()
    expect(impl.ok("hash.value", {"value": to_notation(value)})["hash"] == expected,
           "hash.value is not BLAKE3 of the deterministic encoding")
    expect(impl.ok("hash.bytes", {"bytes": data.hex()})["hash"] == expected,
           "hash.bytes is not BLAKE3 of the bytes")


@check("ID-010")
@given(data=st.binary(max_size=64), flip=st.integers(0, 255))
def check_hash_verify(impl: Impl, data: bytes, flip: int) -> None:
    """hash.verify accepts the true hash and rejects a hash with one bit changed."""
    digest = bytearray(blake3.blake3(data).digest())
    impl.ok("hash.verify", {"bytes": data.hex(), "hash": digest.hex()})
    digest[flip // 8] ^= 1 << (flip % 8)
    impl.err("hash.verify", {"bytes": data.hex(), "hash": digest.hex()}, "E_HASH_MISMATCH")


@check("ID-011", "ID-012")
@given(seed=st.binary(min_size=32, max_size=32))
def check_did_round_trip(impl: Impl, seed: bytes) -> None:
    """did:key round-trips a public key and starts with the Ed25519 multicodec spelling."""
    import nacl.signing

    pk = bytes(nacl.signing.SigningKey(seed).verify_key)
    did = impl.ok("did.encode", {"public_key": pk.hex()})["did"]
    expect(did.startswith("did:key:z6Mk"), f"{did} does not start did:key:z6Mk")
    back = impl.ok("did.decode", {"did": did})
    expect(back["public_key"] == pk.hex(), f"{did} decoded to {back['public_key']}")
