"""Driver commands of chapter 06: Ed25519, the detached JWS, signed ops (spec/06-signatures.md)."""

from __future__ import annotations

from typing import Any

from reference import signatures, wire_format
from reference.driver._registry import Args, command


@command("ed25519.public_key")
def ed25519_public_key(args: Args) -> dict[str, Any]:
    """The public key (NodeId) of a 32-byte seed (section 2)."""
    return {"public_key": signatures.compute_public_key(args.bytes("seed")).hex()}


@command("ed25519.sign")
def ed25519_sign(args: Args) -> dict[str, Any]:
    """The deterministic signature of a message (section 3)."""
    signature = signatures.sign(args.bytes("seed"), args.bytes("message"))
    return {"signature": signature.hex()}


@command("ed25519.verify")
def ed25519_verify(args: Args) -> dict[str, Any]:
    """Verify a signature with the checks of section 4, in order; `{}` when it verifies."""
    signatures.verify_signature(
        args.bytes("public_key"), args.bytes("message"), args.bytes("signature")
    )
    return {}


@command("jws.sign")
def jws_sign(args: Args) -> dict[str, Any]:
    """The detached compact JWS of a payload (section 6.3)."""
    return {"jws": signatures.sign_jws(args.bytes("seed"), args.bytes("payload"))}


@command("jws.verify")
def jws_verify(args: Args) -> dict[str, Any]:
    """Verify a detached compact JWS against a public key and payload (section 6.4)."""
    signatures.verify_jws(args.bytes("public_key"), args.bytes("payload"), args.text("jws"))
    return {}


@command("op.sign")
def op_sign(args: Args) -> dict[str, Any]:
    """Sign an op envelope as its author; any `sig` it carries is replaced (section 7.1)."""
    seed = args.bytes("seed")
    signatures.check_seed(seed)
    env = wire_format.decode_envelope(args.bytes("op"))
    return {"op": wire_format.encode_envelope(signatures.sign_op(seed, env)).hex()}


@command("op.verify")
def op_verify(args: Args) -> dict[str, Any]:
    """Verify an op's signature (section 7.2); report the JWS signing input it covers."""
    signing_input = signatures.verify_op_bytes(args.bytes("op"))
    return {"signing_input": signing_input.decode("ascii")}
