"""Driver commands of chapter 04: ids, content hashes, DIDs (spec/16-conformance.md)."""

from __future__ import annotations

from typing import Any

from reference import identifiers
from reference.driver._registry import Args, command
from reference.driver.wire_format import from_notation


def _kind(args: Args) -> identifiers.IdKind:
    return identifiers.kind_named(args.text("kind"))


@command("id.encode")
def id_encode(args: Args) -> dict[str, Any]:
    """Text form of an id given its byte form (spec/04 section 2.3)."""
    return {"text": identifiers.encode_id_text(_kind(args), args.bytes("bytes"))}


@command("id.decode")
def id_decode(args: Args) -> dict[str, Any]:
    """Byte form and timestamp of an id given its text form (spec/04 section 2.3)."""
    raw = identifiers.decode_id_text(_kind(args), args.text("text"))
    return {"bytes": raw.hex(), "wall_ms": identifiers.get_id_timestamp(raw)}


@command("id.generate")
def id_generate(args: Args) -> dict[str, Any]:
    """Run the monotonic generator over (now_ms, random) steps (spec/04 section 2.4)."""
    generator = identifiers.IdGenerator(_kind(args))
    ids = []
    for raw_step in args.list("steps"):
        step = Args(raw_step if isinstance(raw_step, dict) else {})
        raw = generator.generate(step.int("now_ms"), step.bytes("random"))
        ids.append(identifiers.encode_id_text(generator.kind, raw))
    return {"ids": ids}


@command("hash.bytes")
def hash_bytes(args: Args) -> dict[str, Any]:
    """ContentHash of raw bytes (spec/04 section 4)."""
    return {"hash": identifiers.compute_content_hash(args.bytes("bytes")).hex()}


@command("hash.value")
def hash_value(args: Args) -> dict[str, Any]:
    """ContentHash of a value's canonical encoding (spec/04 section 4)."""
    return {"hash": identifiers.compute_value_hash(from_notation(args.any("value"))).hex()}


@command("hash.verify")
def hash_verify(args: Args) -> dict[str, Any]:
    """Check bytes against a ContentHash (spec/04 section 4)."""
    identifiers.verify_content(args.bytes("bytes"), args.bytes("hash"))
    return {}


@command("did.encode")
def did_encode(args: Args) -> dict[str, Any]:
    """did:key of an Ed25519 public key (spec/04 section 5)."""
    return {"did": identifiers.encode_did_key(args.bytes("public_key"))}


@command("did.decode")
def did_decode(args: Args) -> dict[str, Any]:
    """Public key named by a did:key (spec/04 section 5)."""
    return {"public_key": identifiers.decode_did_key(args.text("did")).hex()}
