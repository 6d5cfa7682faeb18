"""Chapter 04: typed ULID ids, NodeId, ContentHash, DIDs (spec/04-identifiers-and-hashing.md).

python-ulid supplies the Crockford base32 codec; the monotonic generation rule
of section 2.4 is implemented here because python-ulid's own generator goes
backwards when the wall clock steps back.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import NewType, cast

import attrs
import blake3
from ulid import ULID

from reference import signatures
from reference._require import require
from reference.introduction import ErrorCode
from reference.wire_format import Value, encode_canonical

# [ID-001] distinct types per id kind, checked by mypy --strict on the reference.
OpId = NewType("OpId", bytes)
EvidenceId = NewType("EvidenceId", bytes)
EntityId = NewType("EntityId", bytes)
ClaimId = NewType("ClaimId", bytes)
JobId = NewType("JobId", bytes)
ArtifactId = NewType("ArtifactId", bytes)
EpisodeId = NewType("EpisodeId", bytes)
ActionId = NewType("ActionId", bytes)
NodeId = NewType("NodeId", bytes)
ContentHash = NewType("ContentHash", bytes)


class IdKind(IntEnum):
    """The kind byte that starts every record id's byte form (section 2.1)."""

    OP = 0x01
    EVIDENCE = 0x02
    ENTITY = 0x03
    CLAIM = 0x04
    JOB = 0x05
    ARTIFACT = 0x06
    EPISODE = 0x07
    ACTION = 0x08


PREFIX: dict[IdKind, str] = {
    IdKind.OP: "op",
    IdKind.EVIDENCE: "ev",
    IdKind.ENTITY: "ent",
    IdKind.CLAIM: "clm",
    IdKind.JOB: "job",
    IdKind.ARTIFACT: "art",
    IdKind.EPISODE: "epi",
    IdKind.ACTION: "act",
}
KIND_BY_PREFIX = {prefix: kind for kind, prefix in PREFIX.items()}
KIND_BYTES = frozenset(int(kind) for kind in IdKind)

ID_BYTES = 17
ULID_TEXT = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
ID_TEXT = re.compile(r"([a-z]+)_(.*)", re.DOTALL)
TIMESTAMP_MAX = 2**48 - 1
RANDOM_MAX = 2**80 - 1


def kind_named(prefix: str) -> IdKind:
    """The id kind whose text prefix is `prefix` (section 2.1)."""
    require(
        prefix in KIND_BY_PREFIX, "ID-003", ErrorCode.E_ID_MALFORMED, f"no id kind {prefix!r}"
    )
    return KIND_BY_PREFIX[prefix]


def check_id_bytes(kind: IdKind, raw: bytes) -> None:
    """Validate the byte form of an id of `kind` (section 2.2) [DM-004]."""
    require(
        len(raw) == ID_BYTES,
        "ID-002",
        ErrorCode.E_ID_MALFORMED,
        f"an id is {ID_BYTES} bytes, got {len(raw)}",
    )
    require(
        raw[0] in KIND_BYTES,
        "ID-002",
        ErrorCode.E_ID_MALFORMED,
        f"unknown id kind byte 0x{raw[0]:02x}",
    )
    require(
        raw[0] == kind,
        "ID-004",
        ErrorCode.E_ID_KIND,
        f"expected a {PREFIX[kind]} id, got a {PREFIX[IdKind(raw[0])]} id",
    )


def encode_id_text(kind: IdKind, raw: bytes) -> str:
    """The text form `<prefix>_<26 Crockford base32 characters>` (section 2.3)."""
    check_id_bytes(kind, raw)
    return f"{PREFIX[kind]}_{ULID.from_bytes(raw[1:])}"


def decode_id_text(kind: IdKind, text: str) -> bytes:
    """Parse the text form of an id of `kind`, strictly (section 2.3)."""
    match = ID_TEXT.fullmatch(text)
    require(
        match is not None,
        "ID-003",
        ErrorCode.E_ID_MALFORMED,
        f"{text[:40]!r} is not '<prefix>_<ULID>'",
    )
    prefix, body = cast("re.Match[str]", match).groups()
    found = kind_named(prefix)
    require(
        ULID_TEXT.fullmatch(body) is not None,
        "ID-003",
        ErrorCode.E_ID_MALFORMED,
        f"{body[:40]!r} is not 26 upper-case Crockford base32 characters starting 0-7",
    )
    require(
        found == kind,
        "ID-004",
        ErrorCode.E_ID_KIND,
        f"expected a {PREFIX[kind]} id, got a {prefix} id",
    )
    return bytes([kind]) + ULID.from_str(body).bytes


def get_id_timestamp(raw: bytes) -> int:
    """The 48-bit millisecond timestamp of an id's ULID (section 2.2)."""
    return int.from_bytes(raw[1:7], "big")


@attrs.define
class IdGenerator:
    """Monotonic id generation for one kind on one node (section 2.4)."""

    kind: IdKind
    last_ms: int = -1
    last_random: int = 0

    def generate(self, now_ms: int, fresh_random: bytes) -> bytes:
        """The next id: strictly greater than every id this generator made before [ID-005]."""
        require(
            len(fresh_random) == 10,
            "ID-005",
            ErrorCode.E_BAD_REQUEST,
            "fresh randomness is 10 bytes",
        )
        require(
            0 <= now_ms <= TIMESTAMP_MAX,
            "ID-006",
            ErrorCode.E_ID_EXHAUSTED,
            f"wall clock {now_ms} outside 48 bits",
        )
        if now_ms > self.last_ms:
            ms, rand = now_ms, int.from_bytes(fresh_random, "big")
        elif self.last_random < RANDOM_MAX:
            # [ID-005] same millisecond, or the clock stepped back: keep the
            # last timestamp and increment the random part.
            ms, rand = self.last_ms, self.last_random + 1
        else:
            # [ID-005] the random part would overflow: borrow the next millisecond.
            ms, rand = self.last_ms + 1, int.from_bytes(fresh_random, "big")
        require(
            ms <= TIMESTAMP_MAX,
            "ID-006",
            ErrorCode.E_ID_EXHAUSTED,
            "no id greater than the last one fits in 48-bit time",
        )
        self.last_ms, self.last_random = ms, rand
        return bytes([self.kind]) + ms.to_bytes(6, "big") + rand.to_bytes(10, "big")


# --- NodeId, ContentHash, DID ---------------------------------------------


def check_node_id(raw: bytes) -> None:
    """A NodeId is an Ed25519 public key valid under chapter 06 (section 3) [ID-007] [DM-005]."""
    signatures.check_public_key(raw)


def compute_content_hash(data: bytes) -> ContentHash:
    """BLAKE3-256 of canonical bytes (section 4) [ID-008]."""
    return ContentHash(blake3.blake3(data).digest())


def compute_value_hash(value: Value) -> ContentHash:
    """The ContentHash of a data-model value: BLAKE3-256 of its canonical encoding [ID-009]."""
    return compute_content_hash(encode_canonical(value))


def compute_op_hash(envelope_bytes: bytes) -> ContentHash:
    """The hash of an operation: ContentHash of its signed envelope bytes (section 4) [ID-014]."""
    return compute_content_hash(envelope_bytes)


def verify_content(data: bytes, expected: bytes) -> None:
    """Check bytes against the ContentHash that names them (section 4) [ID-010]."""
    # equivalent mutant (stmt-remove): a hash of another length never equals the 32-byte
    # digest, so the require below rejects it with the same E_HASH_MISMATCH
    require(
        # equivalent mutant (require-true): no other length equals the 32-byte digest below
        len(expected) == 32,
        "ID-010",
        ErrorCode.E_HASH_MISMATCH,
        f"a ContentHash is 32 bytes, got {len(expected)}",
    )
    actual = compute_content_hash(data)
    require(
        actual == expected,
        "ID-010",
        ErrorCode.E_HASH_MISMATCH,
        f"content hashes to {actual.hex()}, not {expected.hex()}",
    )


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
ED25519_MULTICODEC = b"\xed\x01"  # varint of 0xed, the ed25519-pub multicodec
DID_KEY_PREFIX = "did:key:z"


def encode_base58btc(data: bytes) -> str:
    """Base58btc (the Bitcoin alphabet), as did:key uses it."""
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def decode_base58btc(text: str) -> bytes:
    """Inverse of `encode_base58btc`; rejects characters outside the alphabet."""
    n = 0
    for ch in text:
        require(ch in _B58, "ID-012", ErrorCode.E_DID_INVALID, f"{ch!r} is not base58btc")
        n = n * 58 + _B58.index(ch)
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def encode_did_key(public_key: bytes) -> str:
    """`did:key:z` + base58btc(0xed 0x01 || public key) (section 5) [ID-011]."""
    check_node_id(public_key)
    return DID_KEY_PREFIX + encode_base58btc(ED25519_MULTICODEC + public_key)


def decode_did_key(did: str) -> bytes:
    """The Ed25519 public key a did:key names, strictly (section 5)."""
    require(
        did.startswith("did:"),
        "ID-012",
        ErrorCode.E_DID_INVALID,
        f"{did[:40]!r} is not a DID",
    )
    require(
        did.startswith("did:key:"),
        "ID-013",
        ErrorCode.E_DID_UNSUPPORTED,
        f"DID method of {did[:40]!r} is not supported (only did:key)",
    )
    require(
        did.startswith(DID_KEY_PREFIX),
        "ID-012",
        ErrorCode.E_DID_INVALID,
        "did:key multibase prefix is not 'z' (base58btc)",
    )
    raw = decode_base58btc(did[len(DID_KEY_PREFIX) :])
    require(
        raw[:2] == ED25519_MULTICODEC and len(raw) == 34,
        "ID-012",
        ErrorCode.E_DID_INVALID,
        "did:key does not hold a 0xed01-prefixed 32-byte Ed25519 key",
    )
    public_key = raw[2:]
    require(
        encode_did_key(public_key) == did,
        "ID-012",
        ErrorCode.E_DID_INVALID,
        "did:key is not in its one canonical spelling",
    )
    return public_key
