"""Chapter 02: the operation payload taxonomy and its context-free validity rules.

Each variant is a frozen attrs class; each field carries the check that its
value must pass (spec/02-operations.md section 3). `parse_payload` applies
them in field order and builds the typed payload. Rules that depend on other
operations (provenance, conflicts, state machines) are chapter 01's and 12's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import attrs

from reference import identifiers
from reference._require import require
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.wire_format import Value

BAD = ErrorCode.E_PAYLOAD_INVALID
MAX_TEXT_BYTES = 4096
MAX_ANCHOR_BYTES = 512
MAX_LIST = 256
MAX_CASCADE = 4096
MAX_METADATA = 64
NAME = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
RECORD_KINDS = frozenset(set(IdKind) - {IdKind.OP})

Check = Callable[[str, Value], None]


def _field(check: Check) -> Any:
    """An attrs field whose value `parse_payload` validates with `check`."""
    return attrs.field(metadata={"check": check})


# --- field checks (section 2) ------------------------------------------------


def check_id(kind: IdKind) -> Check:
    """A record id of `kind` in byte form (spec/04 section 2.2) [OPS-003]."""

    def check(name: str, value: Value) -> None:
        require(isinstance(value, bytes), "OPS-003", BAD, f"{name!r} is not an id (bytes)")
        identifiers.check_id_bytes(kind, cast(bytes, value))

    return check


def check_optional_id(kind: IdKind) -> Check:
    """A record id of `kind`, or null [OPS-003]."""
    inner = check_id(kind)

    def check(name: str, value: Value) -> None:
        if value is not None:
            inner(name, value)

    return check


def check_record_ref(name: str, value: Value) -> None:
    """An id of any record kind, not an OpId (section 2) [OPS-004]."""
    require(isinstance(value, bytes) and len(value) == identifiers.ID_BYTES, "OPS-004",
            ErrorCode.E_ID_MALFORMED, f"{name!r} is not a 17-byte record id")
    raw = cast(bytes, value)
    require(raw[0] in RECORD_KINDS, "OPS-004", ErrorCode.E_ID_KIND,
            f"{name!r} names kind byte 0x{raw[0]:02x}, not a record kind")


def check_refs(minimum: int, maximum: int) -> Check:
    """A set of record ids: sorted ascending by bytes, no repeats, within bounds [OPS-005]."""

    def check(name: str, value: Value) -> None:
        require(isinstance(value, list), "OPS-005", BAD, f"{name!r} is not an array")
        refs = cast(list[Value], value)
        require(minimum <= len(refs) <= maximum, "OPS-005", BAD,
                f"{name!r} holds {len(refs)} ids; allowed {minimum} to {maximum}")
        for ref in refs:
            check_record_ref(name, ref)
        raw = cast(list[bytes], refs)
        require(all(a < b for a, b in zip(raw, raw[1:], strict=False)), "OPS-005", BAD,
                f"{name!r} is not sorted ascending without repeats")

    return check


def check_text(minimum: int, maximum: int) -> Check:
    """A text string of `minimum` to `maximum` UTF-8 bytes [OPS-006]."""

    def check(name: str, value: Value) -> None:
        require(isinstance(value, str), "OPS-006", BAD, f"{name!r} is not text")
        size = len(cast(str, value).encode("utf-8"))
        require(minimum <= size <= maximum, "OPS-006", BAD,
                f"{name!r} is {size} bytes; allowed {minimum} to {maximum}")

    return check


def check_name(name: str, value: Value) -> None:
    """A short lowercase name such as a source_type (section 2) [OPS-007]."""
    require(isinstance(value, str) and NAME.fullmatch(value) is not None, "OPS-007",
            BAD, f"{name!r} is not a name matching [a-z][a-z0-9_.-]{{0,31}}")


def check_hash(name: str, value: Value) -> None:
    """A 32-byte ContentHash (spec/04 section 4) [OPS-008]."""
    require(isinstance(value, bytes) and len(value) == 32, "OPS-008", BAD,
            f"{name!r} is not a 32-byte ContentHash")


def check_uint(name: str, value: Value) -> None:
    """An unsigned integer below 2^63 [OPS-009]."""
    require(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63,
            "OPS-009", BAD, f"{name!r} is not an unsigned integer below 2^63")


def check_map(name: str, value: Value) -> None:
    """A map of at most MAX_METADATA entries (keys are text by spec/03) [OPS-010]."""
    require(isinstance(value, dict) and len(value) <= MAX_METADATA, "OPS-010", BAD,
            f"{name!r} is not a map of at most {MAX_METADATA} entries")


def check_any(name: str, value: Value) -> None:
    """Any data-model value (already guaranteed by the envelope's decoding)."""


def check_bytes(name: str, value: Value) -> None:
    """A byte string [OPS-011]."""
    require(isinstance(value, bytes), "OPS-011", BAD, f"{name!r} is not a byte string")


def check_artifacts(name: str, value: Value) -> None:
    """Job outputs: maps {artifact, hash, media_type} sorted by artifact id [OPS-012]."""
    require(isinstance(value, list) and len(value) <= MAX_LIST, "OPS-012", BAD,
            f"{name!r} is not an array of at most {MAX_LIST} outputs")
    ids = []
    for item in cast(list[Value], value):
        require(isinstance(item, dict) and set(item) == {"artifact", "hash", "media_type"},
                "OPS-012", BAD, f"each of {name!r} is a map of artifact, hash, media_type")
        entry = cast(dict[str, Value], item)
        check_id(IdKind.ARTIFACT)("artifact", entry["artifact"])
        check_hash("hash", entry["hash"])
        check_text(1, 128)("media_type", entry["media_type"])
        ids.append(cast(bytes, entry["artifact"]))
    require(all(a < b for a, b in zip(ids, ids[1:], strict=False)), "OPS-012", BAD,
            f"{name!r} is not sorted by artifact id without repeats")


# --- the variants (section 3) -------------------------------------------------

_reason = check_text(0, MAX_TEXT_BYTES)
_cascade = check_refs(0, MAX_CASCADE)
_supports = check_refs(1, MAX_LIST)


@attrs.frozen
class IngestEvidence:
    """Evidence enters the log (section 3.1)."""

    evidence: bytes = _field(check_id(IdKind.EVIDENCE))
    hash: bytes = _field(check_hash)
    anchor: str = _field(check_text(1, MAX_ANCHOR_BYTES))  # [OPS-006] text(1, 512), as received
    source_type: str = _field(check_name)
    metadata: dict[str, Value] = _field(check_map)


@attrs.frozen
class TombstoneEvidence:
    """Evidence is tombstoned; the op carries its cascade (section 3.1)."""

    evidence: bytes = _field(check_id(IdKind.EVIDENCE))
    reason: str = _field(_reason)
    cascade: list[bytes] = _field(_cascade)


@attrs.frozen
class CascadeTombstone:
    """Any record and its dependents are invalidated, or a cascade continues (section 3.1)."""

    root: bytes = _field(check_record_ref)
    reason: str = _field(_reason)
    cascade: list[bytes] = _field(_cascade)


@attrs.frozen
class AssertClaim:
    """A claim enters as a Hint (section 3.2)."""

    claim: bytes = _field(check_id(IdKind.CLAIM))
    subject: bytes | None = _field(check_optional_id(IdKind.ENTITY))
    predicate: str = _field(check_text(1, 256))
    object: Value = _field(check_any)
    supports: list[bytes] = _field(_supports)


@attrs.frozen
class ConfirmClaim:
    """The user confirms a claim: Hint to Fact (section 3.2)."""

    claim: bytes = _field(check_id(IdKind.CLAIM))


@attrs.frozen
class RejectClaim:
    """A claim is rejected; the op carries its cascade (section 3.2)."""

    claim: bytes = _field(check_id(IdKind.CLAIM))
    reason: str = _field(_reason)
    cascade: list[bytes] = _field(_cascade)


@attrs.frozen
class CreateEntity:
    """An entity is created (section 3.3)."""

    entity: bytes = _field(check_id(IdKind.ENTITY))
    kind: str = _field(check_name)
    attributes: dict[str, Value] = _field(check_map)
    supports: list[bytes] = _field(check_refs(0, MAX_LIST))


@attrs.frozen
class MergeEntity:
    """One entity is merged into another (section 3.3)."""

    source: bytes = _field(check_id(IdKind.ENTITY))
    target: bytes = _field(check_id(IdKind.ENTITY))
    supports: list[bytes] = _field(check_refs(0, MAX_LIST))


@attrs.frozen
class RecordEpisode:
    """An episode derived from records (section 3.4)."""

    episode: bytes = _field(check_id(IdKind.EPISODE))
    summary: str = _field(check_text(1, MAX_TEXT_BYTES))
    start_ms: int = _field(check_uint)
    end_ms: int = _field(check_uint)
    supports: list[bytes] = _field(_supports)


@attrs.frozen
class ProposeAction:
    """A suggested action is proposed (section 3.5)."""

    action: bytes = _field(check_id(IdKind.ACTION))
    description: str = _field(check_text(1, MAX_TEXT_BYTES))
    expires_ms: int = _field(check_uint)
    supports: list[bytes] = _field(_supports)


@attrs.frozen
class AcceptAction:
    """A suggested action is accepted (section 3.5)."""

    action: bytes = _field(check_id(IdKind.ACTION))


@attrs.frozen
class DismissAction:
    """A suggested action is dismissed (section 3.5)."""

    action: bytes = _field(check_id(IdKind.ACTION))


@attrs.frozen
class ExpireAction:
    """A suggested action expires (section 3.5)."""

    action: bytes = _field(check_id(IdKind.ACTION))


@attrs.frozen
class StartJob:
    """A job starts over input records (section 3.6)."""

    job: bytes = _field(check_id(IdKind.JOB))
    kind: str = _field(check_name)
    inputs: list[bytes] = _field(check_refs(0, MAX_LIST))


@attrs.frozen
class CompleteJob:
    """A job completes with its artifacts (section 3.6)."""

    job: bytes = _field(check_id(IdKind.JOB))
    artifacts: list[dict[str, Value]] = _field(check_artifacts)


@attrs.frozen
class FailJob:
    """A job fails (section 3.6)."""

    job: bytes = _field(check_id(IdKind.JOB))
    reason: str = _field(_reason)


@attrs.frozen
class DelegateUcan:
    """A UCAN delegation enters the log; its token format is chapter 07's (section 3.7)."""

    token: bytes = _field(check_bytes)


@attrs.frozen
class RevokeUcan:
    """A delegation is revoked by the hash of its token (section 3.7)."""

    token_hash: bytes = _field(check_hash)
    reason: str = _field(_reason)


RESERVED_PREFIXES = ("Engine", "Lora", "WaveGen")  # chapters 11, 13 and 15, 14
CLAIMED_PREFIXES: set[str] = set()  # prefixes whose chapter this implementation claims


def claim_prefix(prefix: str) -> None:
    """Validate `prefix`'s variants from now on: its chapter's class is claimed (section 4)."""
    CLAIMED_PREFIXES.add(prefix)


Payload = (
    IngestEvidence | TombstoneEvidence | CascadeTombstone | AssertClaim | ConfirmClaim
    | RejectClaim | CreateEntity | MergeEntity | RecordEpisode | ProposeAction | AcceptAction
    | DismissAction | ExpireAction | StartJob | CompleteJob | FailJob | DelegateUcan | RevokeUcan
)

VARIANTS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        IngestEvidence, TombstoneEvidence, CascadeTombstone, AssertClaim, ConfirmClaim,
        RejectClaim, CreateEntity, MergeEntity, RecordEpisode, ProposeAction, AcceptAction,
        DismissAction, ExpireAction, StartJob, CompleteJob, FailJob, DelegateUcan, RevokeUcan,
    )
}
CREATES: dict[type[Any], str] = {
    IngestEvidence: "evidence", AssertClaim: "claim", CreateEntity: "entity",
    RecordEpisode: "episode", ProposeAction: "action", StartJob: "job",
}


def register_variant(creates: str | None = None) -> Callable[[type[Any]], type[Any]]:
    """Add a reserved variant defined by a later chapter (section 4); `creates` names the
    field holding the record id it creates, if it creates one."""

    def register(cls: type[Any]) -> type[Any]:
        name = cls.__name__
        # Variants register at import time, each under a fresh reserved name:
        # equivalent mutant (require-true, boolop-swap): no driver input registers a variant
        require(name.startswith(RESERVED_PREFIXES) and name not in VARIANTS, "OPS-016",
                ErrorCode.E_PAYLOAD_TYPE, f"{name} is not a free reserved variant name")
        VARIANTS[name] = cls
        if creates is not None:
            CREATES[cls] = creates
        return cls

    return register


@attrs.frozen
class ReservedPayload:
    """A variant of a chapter whose class this implementation does not claim (section 4)."""

    type: str
    fields: dict[str, Value]


def parse_payload(payload: dict[str, Value]) -> Payload | ReservedPayload:
    """Validate a payload map against its variant's schema (section 3) [OPS-001] [OPS-002]."""
    kind = payload.get("type")
    unclaimed = tuple(p for p in RESERVED_PREFIXES if p not in CLAIMED_PREFIXES)
    if isinstance(kind, str) and kind not in VARIANTS and unclaimed and kind.startswith(unclaimed):
        # [OPS-016] stored and relayed uninterpreted until the chapter's class is claimed.
        # equivalent mutant (cmp-flip): ReservedPayload.fields is never read (bytes are kept)
        return ReservedPayload(kind, {k: v for k, v in payload.items() if k != "type"})
    require(isinstance(kind, str) and kind in VARIANTS, "OPS-001", ErrorCode.E_PAYLOAD_TYPE,
            f"no payload variant named {kind!r}")
    cls = VARIANTS[cast(str, kind)]
    fields = attrs.fields(cls)
    expected = {f.name for f in fields} | {"type"}
    got = set(payload)
    require(got == expected, "OPS-002", BAD,
            f"{kind!r} fields: missing {sorted(expected - got)}, "
            f"unknown {sorted(got - expected)}")
    for f in fields:  # [OPS-017] in the variant's field order, then the cross-field rules
        f.metadata["check"](f.name, payload[f.name])
    parsed = cast(Payload, cls(**{f.name: payload[f.name] for f in fields}))
    check_variant_rules(parsed)
    return parsed


def check_variant_rules(payload: Payload) -> None:
    """The rules that relate two fields of one payload (section 3)."""
    if isinstance(payload, MergeEntity):
        require(payload.source != payload.target, "OPS-013", BAD,
                "an entity cannot be merged into itself")
    if isinstance(payload, RecordEpisode):
        require(payload.start_ms <= payload.end_ms, "OPS-014", BAD,
                f"episode ends ({payload.end_ms}) before it starts ({payload.start_ms})")
    root = get_cascade_root(payload)
    if root is not None:
        require(root not in get_cascade(payload), "OPS-015", BAD, "a cascade lists its own root")


def get_cascade_root(payload: Payload | ReservedPayload) -> bytes | None:
    """The record a tombstone, rejection or cascade op invalidates first (spec/01 section 3.3)."""
    if isinstance(payload, TombstoneEvidence):
        return payload.evidence
    if isinstance(payload, RejectClaim):
        return payload.claim
    if isinstance(payload, CascadeTombstone):
        return payload.root
    return None


def get_cascade(payload: Payload | ReservedPayload) -> list[bytes]:
    """The dependent records a cascade op carries (spec/01 section 3.3)."""
    if isinstance(payload, (TombstoneEvidence, RejectClaim, CascadeTombstone)):
        return list(payload.cascade)
    return []


def get_supports(payload: Payload | ReservedPayload) -> list[bytes]:
    """The records a payload derives from: its provenance edges (spec/01 section 6)."""
    if isinstance(payload, StartJob):
        return list(payload.inputs)
    return list(getattr(payload, "supports", []))


def get_created_record(payload: Payload | ReservedPayload) -> bytes | None:
    """The record id a creation op brings into being, if the variant creates one."""
    field = CREATES.get(type(payload))
    return None if field is None else cast(bytes, getattr(payload, field))
