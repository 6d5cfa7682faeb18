"""Tests of reference.identifiers (spec/04-identifiers-and-hashing.md)."""

from __future__ import annotations

import blake3
import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import identifiers as ids
from reference._require import SpecViolation
from reference.introduction import ErrorCode


@given(st.sampled_from(list(ids.IdKind)), st.binary(min_size=16, max_size=16))
def test_text_round_trip(kind: ids.IdKind, ulid: bytes) -> None:
    """Byte form to text form and back is the identity."""
    raw = bytes([kind]) + ulid
    assert ids.decode_id_text(kind, ids.encode_id_text(kind, raw)) == raw


def test_generator_survives_clock_step_back() -> None:
    """After the clock steps back, the next id is still greater."""
    gen = ids.IdGenerator(ids.IdKind.OP)
    first = gen.generate(1_000_000, b"\x05" * 10)
    second = gen.generate(999_000, b"\x00" * 10)
    assert second > first
    assert ids.get_id_timestamp(second) == 1_000_000


def test_generator_random_overflow_borrows_next_ms() -> None:
    """A random part at its maximum moves the timestamp forward by one."""
    gen = ids.IdGenerator(ids.IdKind.OP)
    gen.generate(10, b"\xff" * 10)
    nxt = gen.generate(10, b"\x01" * 10)
    assert ids.get_id_timestamp(nxt) == 11


def test_invalid_kind_confusion() -> None:
    """An evidence id is refused where an op id is expected."""
    text = ids.encode_id_text(ids.IdKind.EVIDENCE, b"\x02\x7f" + b"\xff" * 15)
    with pytest.raises(SpecViolation) as info:
        ids.decode_id_text(ids.IdKind.OP, "op_" + text.split("_")[1].lower())
    assert info.value.code == ErrorCode.E_ID_MALFORMED
    with pytest.raises(SpecViolation) as info:
        ids.decode_id_text(ids.IdKind.OP, text)
    assert info.value.code == ErrorCode.E_ID_KIND


def test_blake3_known_answer() -> None:
    """The hash of no bytes is BLAKE3's published empty-input digest."""
    assert ids.compute_content_hash(b"").hex() == (
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")


def test_did_key_round_trip_and_known_prefix() -> None:
    """A did:key of an Ed25519 key starts z6Mk and decodes back to the key."""
    pk = bytes(nacl.signing.SigningKey(blake3.blake3(b"t").digest()).verify_key)
    did = ids.encode_did_key(pk)
    assert did.startswith("did:key:z6Mk")
    assert ids.decode_did_key(did) == pk


def test_invalid_did_method() -> None:
    """did:web is not supported."""
    with pytest.raises(SpecViolation) as info:
        ids.decode_did_key("did:web:example.com")
    assert info.value.code == ErrorCode.E_DID_UNSUPPORTED
