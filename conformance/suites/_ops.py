"""The harness's own signed operations, built with cbor2 and pynacl alone.

An op is the envelope of spec/03-wire-format.md section 6, signed as
spec/06-signatures.md section 7 says: the signing payload is the deterministic
encoding of the envelope with `sig` null, the signing input is
B64U(H(author)) "." B64U(signing payload) with H(A) the header
{"alg":"EdDSA","kid":"<A in hex>"}, and `sig` the Ed25519 signature of that input.
Nothing here comes from the implementation under test.
"""

from __future__ import annotations

import base64
from typing import Any

import blake3
import cbor2
import nacl.signing

BASE_MS = 1_700_000_000_000
NOW_MS = BASE_MS + 10_000_000  # later than every op the checks build: nothing is held for drift

KIND = {"op": 0x01, "ev": 0x02, "ent": 0x03, "clm": 0x04, "job": 0x05, "art": 0x06,
        "epi": 0x07, "act": 0x08}  # spec/04 section 2.1


def b64u(data: bytes) -> str:
    """Base64url without padding (spec/06 section 5)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def canonical(value: Any) -> bytes:
    """Deterministic CBOR (text keys only, so cbor2's canonical order is bytewise)."""
    return bytes(cbor2.dumps(value, canonical=True))


def record_id(kind: str, wall_ms: int, label: str) -> bytes:
    """A record id: kind byte, 48-bit ms, 10 bytes of BLAKE3(label) (spec/04 section 2.2)."""
    return bytes([KIND[kind]]) + wall_ms.to_bytes(6, "big") + blake3.blake3(
        label.encode()).digest(length=10)


def op_hash(data: bytes) -> bytes:
    """The hash of an op: BLAKE3-256 of its envelope bytes (spec/04 section 4)."""
    return blake3.blake3(data).digest()


class Author:
    """One node: an Ed25519 key whose public key is the NodeId."""

    def __init__(self, seed: bytes) -> None:
        self.key = nacl.signing.SigningKey(seed)
        self.node = bytes(self.key.verify_key.encode())

    def op(self, payload: dict[str, Any], wall_ms: int, logical: int = 0,
           op_id: bytes | None = None) -> bytes:
        """A signed op carrying `payload` at timestamp (wall_ms, logical, self)."""
        env: dict[str, Any] = {
            "v": 1,
            "id": op_id if op_id is not None else record_id(
                "op", wall_ms, f"{self.node.hex()}/{wall_ms}/{logical}/{canonical(payload).hex()}"),
            "ts": [wall_ms, logical, self.node],
            "sig": None,
            "author": self.node,
            "payload": payload,
        }
        header = b64u(('{"alg":"EdDSA","kid":"' + self.node.hex() + '"}').encode("ascii"))
        signing_input = (header + "." + b64u(canonical(env))).encode("ascii")
        env["sig"] = bytes(self.key.sign(signing_input).signature)
        return canonical(env)
