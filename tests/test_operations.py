"""Tests of reference/operations.py: payload variants and their checks (spec/02-operations.md)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from reference import operations
from reference._require import SpecViolation
from reference.identifiers import IdKind

PAYLOAD, TYPE = "E_PAYLOAD_INVALID", "E_PAYLOAD_TYPE"
KIND, MALFORMED = "E_ID_KIND", "E_ID_MALFORMED"


def rid(kind: int, n: int = 0, length: int = 17) -> bytes:
    """A record-id-shaped value: kind byte, then 16 bytes numbered by `n`, cut to `length`."""
    return (bytes([kind]) + n.to_bytes(16, "big"))[:length]


EV, CLM, ENT = rid(IdKind.EVIDENCE, 1), rid(IdKind.CLAIM, 2), rid(IdKind.ENTITY, 3)
EV2, CLM2, ENT2 = rid(IdKind.EVIDENCE, 4), rid(IdKind.CLAIM, 5), rid(IdKind.ENTITY, 6)
JOB, ACT, EPI = rid(IdKind.JOB, 7), rid(IdKind.ACTION, 8), rid(IdKind.EPISODE, 9)
ART1, ART2, OPID = rid(IdKind.ARTIFACT, 10), rid(IdKind.ARTIFACT, 11), rid(IdKind.OP, 12)
H = bytes(range(32))

VALID: dict[str, dict[str, Any]] = {
    "IngestEvidence": {"evidence": EV, "hash": H, "anchor": "uid-1", "source_type": "calendar",
                       "metadata": {"title": "standup"}},
    "TombstoneEvidence": {"evidence": EV, "reason": "deleted", "cascade": [CLM]},
    "CascadeTombstone": {"root": CLM, "reason": "", "cascade": [EPI]},
    "AssertClaim": {"claim": CLM, "subject": ENT, "predicate": "attended", "object": [1, "x"],
                    "supports": [EV]},
    "ConfirmClaim": {"claim": CLM},
    "RejectClaim": {"claim": CLM, "reason": "no", "cascade": []},
    "CreateEntity": {"entity": ENT, "kind": "person", "attributes": {}, "supports": []},
    "MergeEntity": {"source": ENT, "target": ENT2, "supports": [EV]},
    "RecordEpisode": {"episode": EPI, "summary": "s", "start_ms": 1, "end_ms": 2,
                      "supports": [EV, CLM]},
    "ProposeAction": {"action": ACT, "description": "d", "expires_ms": 0, "supports": [EV]},
    "AcceptAction": {"action": ACT},
    "DismissAction": {"action": ACT},
    "ExpireAction": {"action": ACT},
    "StartJob": {"job": JOB, "kind": "ocr", "inputs": [EV]},
    "CompleteJob": {"job": JOB, "artifacts": [
        {"artifact": ART1, "hash": H, "media_type": "text/plain"},
        {"artifact": ART2, "hash": H, "media_type": "image/png"}]},
    "FailJob": {"job": JOB, "reason": "timeout"},
    "DelegateUcan": {"token": b"\x01\x02"},
    "RevokeUcan": {"token_hash": H, "reason": "lost"},
}


def payload(variant: str, **change: Any) -> dict[str, Any]:
    return {"type": variant, **VALID[variant], **change}


def rejected(value: dict[str, Any]) -> SpecViolation:
    with pytest.raises(SpecViolation) as info:
        operations.parse_payload(value)
    return info.value


# --- valid payloads -----------------------------------------------------------------------


def test_variants_are_the_chapters() -> None:
    """Apart from reserved prefixes (later chapters), the variants are spec/02's 18."""
    core = {v for v in operations.VARIANTS if not v.startswith(operations.RESERVED_PREFIXES)}
    assert core == set(VALID)


@pytest.mark.parametrize("variant", sorted(VALID))
def test_valid_payload_parses(variant: str) -> None:
    """A valid payload of each variant parses into its class with the given field values."""
    parsed = operations.parse_payload(payload(variant))
    assert type(parsed).__name__ == variant
    for name, value in VALID[variant].items():
        assert getattr(parsed, name) == value


@pytest.mark.parametrize("variant", sorted(VALID))
def test_field_order_is_the_spec_table(variant: str) -> None:
    """The attrs field order (the check order of OPS-017) is the order of spec/02's table."""
    assert [f.name for f in attrs.fields(operations.VARIANTS[variant])] == list(
        VALID[variant])


def test_reserved_variant_stored_uninterpreted() -> None:
    """A `WaveGen...` payload (an unclaimed prefix) is kept as is, whatever its fields."""
    assert "WaveGen" not in operations.CLAIMED_PREFIXES
    parsed = operations.parse_payload({"type": "WaveGenLink", "supports": [EV, EV], "x": 1})
    assert parsed == operations.ReservedPayload("WaveGenLink", {"supports": [EV, EV], "x": 1})
    assert operations.get_supports(parsed) == []


def test_claimed_prefix_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a prefix's class is claimed, an unregistered name under it is E_PAYLOAD_TYPE."""
    monkeypatch.setattr(operations, "CLAIMED_PREFIXES", {"WaveGen"})
    assert rejected({"type": "WaveGenEntry"}).code == TYPE


def test_boundaries_accepted() -> None:
    """Limits are inclusive: 4096-byte text, 32-char names, 2^63-1, 64-entry maps, 256 refs."""
    operations.parse_payload(payload("TombstoneEvidence", reason="\u00e9" * 2048))
    operations.parse_payload(payload("IngestEvidence", source_type="a" + "b0_.-" * 6 + "z",
                                     metadata={f"k{i}": i for i in range(64)}))
    operations.parse_payload(payload("RecordEpisode", start_ms=2**63 - 1, end_ms=2**63 - 1))
    operations.parse_payload(payload("StartJob", inputs=[rid(IdKind.EVIDENCE, i)
                                                         for i in range(256)]))
    operations.parse_payload(payload("AssertClaim", subject=None))
    operations.parse_payload(payload("RecordEpisode", start_ms=5, end_ms=5))


# --- invalid payloads ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Foo", "ingestEvidence", "", "Engin", "engineX"])
def test_invalid_unknown_type(name: str) -> None:
    """A type neither listed nor reserved is E_PAYLOAD_TYPE (OPS-001)."""
    violation = rejected(payload("IngestEvidence", type=name))
    assert (violation.code, violation.requirement) == (TYPE, "OPS-001")


@pytest.mark.parametrize("variant", sorted(VALID))
def test_invalid_missing_and_unknown_field(variant: str) -> None:
    """Dropping any field, or adding one, is E_PAYLOAD_INVALID under OPS-002."""
    for name in VALID[variant]:
        value = payload(variant)
        del value[name]
        assert rejected(value).requirement == "OPS-002"
    violation = rejected(payload(variant, extra=1))
    assert (violation.code, violation.requirement) == (PAYLOAD, "OPS-002")


@pytest.mark.parametrize(("value", "code"), [
    (CLM, KIND), (OPID, KIND), (rid(IdKind.EVIDENCE, 1, 16), MALFORMED),
    (rid(0x09, 1), MALFORMED), ("ev_x", PAYLOAD), (None, PAYLOAD),
])
def test_invalid_id_field(value: Any, code: str) -> None:
    """An id(EvidenceId) field refuses other kinds, other lengths and non-bytes (OPS-003)."""
    assert rejected(payload("IngestEvidence", evidence=value)).code == code


@pytest.mark.parametrize(("value", "code"), [
    (OPID, KIND), (rid(0x00, 1), KIND), (rid(0x09, 1), KIND),
    (rid(IdKind.CLAIM, 1, 16), MALFORMED), (rid(IdKind.CLAIM, 1) + b"\x00", MALFORMED),
])
def test_invalid_ref_field(value: Any, code: str) -> None:
    """A ref refuses OpIds and unassigned kinds (E_ID_KIND), wrong lengths (E_ID_MALFORMED)."""
    violation = rejected(payload("CascadeTombstone", root=value))
    assert (violation.code, violation.requirement) == (code, "OPS-004")


@pytest.mark.parametrize(("value", "code"), [
    ([CLM, EV], PAYLOAD), ([EV, EV], PAYLOAD), ([OPID], KIND), ([EV[:16]], MALFORMED),
    ([], PAYLOAD), ([rid(IdKind.EVIDENCE, i) for i in range(257)], PAYLOAD), (EV, PAYLOAD),
])
def test_invalid_refs_field(value: Any, code: str) -> None:
    """refs(1, 256): unsorted, repeated, OpId, 16-byte, empty, 257 entries, not an array."""
    assert rejected(payload("AssertClaim", supports=value)).code == code


def test_invalid_cascade_over_4096() -> None:
    """A cascade of 4097 refs is refused; 4096 is accepted (OPS-005)."""
    refs = [rid(IdKind.CLAIM, i + 100) for i in range(4097)]
    operations.parse_payload(payload("TombstoneEvidence", cascade=refs[:4096]))
    assert rejected(payload("TombstoneEvidence", cascade=refs)).requirement == "OPS-005"


@pytest.mark.parametrize("value", ["\u00e9" * 2048 + "a", b"text", 7])
def test_invalid_text_field(value: Any) -> None:
    """text(0, 4096) counts UTF-8 bytes: 4097 bytes in 2049 characters is too long (OPS-006)."""
    assert rejected(payload("FailJob", reason=value)).requirement == "OPS-006"


def test_invalid_text_too_short() -> None:
    """text(1, 512) refuses the empty anchor."""
    assert rejected(payload("IngestEvidence", anchor="")).requirement == "OPS-006"


@pytest.mark.parametrize("value", ["Calendar", "1cal", "_cal", "a b", "caf\u00e9", "a" * 33, "",
                                   b"cal"])
def test_invalid_name_field(value: Any) -> None:
    """A name must match [a-z][a-z0-9_.-]{0,31} (OPS-007)."""
    assert rejected(payload("StartJob", kind=value)).requirement == "OPS-007"


@pytest.mark.parametrize("value", [H[:31], H + b"\x00", H.hex()])
def test_invalid_hash_field(value: Any) -> None:
    """A hash is exactly 32 bytes (OPS-008)."""
    assert rejected(payload("RevokeUcan", token_hash=value)).requirement == "OPS-008"


@pytest.mark.parametrize("value", [-1, 2**63, 1.0, True, "5", None])
def test_invalid_uint_field(value: Any) -> None:
    """A uint is an integer in [0, 2^63-1]; floats and booleans are refused (OPS-009)."""
    violation = rejected(payload("ProposeAction", expires_ms=value))
    assert (violation.code, violation.requirement) == (PAYLOAD, "OPS-009")


@pytest.mark.parametrize("value", [{f"k{i}": i for i in range(65)}, [], None])
def test_invalid_map_field(value: Any) -> None:
    """A map has at most 64 entries (OPS-010)."""
    assert rejected(payload("CreateEntity", attributes=value)).requirement == "OPS-010"


def test_invalid_bytes_field() -> None:
    """A bytes field refuses text (OPS-011)."""
    assert rejected(payload("DelegateUcan", token="t")).requirement == "OPS-011"


def _art(artifact: bytes = ART1, **change: Any) -> dict[str, Any]:
    return {"artifact": artifact, "hash": H, "media_type": "text/plain", **change}


@pytest.mark.parametrize(("value", "code"), [
    ([_art(ART2), _art(ART1)], PAYLOAD), ([_art(), _art()], PAYLOAD),
    ([{"artifact": ART1, "hash": H}], PAYLOAD), ([_art(size=1)], PAYLOAD),
    ([_art(JOB)], KIND), ([_art(ART1[:16])], MALFORMED), ([_art(hash=H[:31])], PAYLOAD),
    ([_art(media_type="")], PAYLOAD), ([_art(media_type="a" * 129)], PAYLOAD),
    ([_art(rid(IdKind.ARTIFACT, i)) for i in range(257)], PAYLOAD), (_art(), PAYLOAD),
])
def test_invalid_artifacts(value: Any, code: str) -> None:
    """CompleteJob outputs: shape, keys, id kind and length, hash, media_type, order (OPS-012)."""
    assert rejected(payload("CompleteJob", artifacts=value)).code == code


def test_invalid_merge_into_itself() -> None:
    """MergeEntity with source = target is refused under OPS-013."""
    violation = rejected(payload("MergeEntity", target=ENT))
    assert (violation.code, violation.requirement) == (PAYLOAD, "OPS-013")


def test_invalid_episode_ends_before_start() -> None:
    """RecordEpisode with end_ms < start_ms is refused under OPS-014."""
    assert rejected(payload("RecordEpisode", start_ms=3, end_ms=2)).requirement == "OPS-014"


@pytest.mark.parametrize(("variant", "root"), [("TombstoneEvidence", "evidence"),
                                               ("RejectClaim", "claim"),
                                               ("CascadeTombstone", "root")])
def test_invalid_cascade_lists_root(variant: str, root: str) -> None:
    """A cascade listing its own root is refused under OPS-015."""
    value = payload(variant)
    value["cascade"] = sorted([value[root], *value["cascade"]])
    assert rejected(value).requirement == "OPS-015"


@pytest.mark.parametrize(("variant", "change", "code"), [
    ("IngestEvidence", {"evidence": CLM, "hash": H[:31]}, KIND),
    ("RecordEpisode", {"summary": "", "supports": [OPID]}, PAYLOAD),
    ("AssertClaim", {"claim": CLM[:16], "subject": EV}, MALFORMED),
    ("MergeEntity", {"source": CLM, "target": CLM}, KIND),
    ("RecordEpisode", {"end_ms": 0, "start_ms": 1, "supports": [OPID]}, KIND),
    ("IngestEvidence", {"extra": 1, "evidence": CLM}, PAYLOAD),
    ("CompleteJob", {"artifacts": [_art(JOB, hash=H[:31])]}, KIND),
])
def test_invalid_first_failing_check_decides(variant: str, change: dict[str, Any],
                                             code: str) -> None:
    """With two defects the field set, then table order, then the rules decide (OPS-017)."""
    assert rejected(payload(variant, **change)).code == code


# --- accessors ----------------------------------------------------------------------------


def test_provenance_accessors() -> None:
    """Supports, cascade roots, cascades and created records are read per variant."""
    parse = operations.parse_payload
    assert operations.get_supports(parse(payload("StartJob"))) == [EV]
    assert operations.get_supports(parse(payload("RecordEpisode"))) == [EV, CLM]
    assert operations.get_cascade_root(parse(payload("RejectClaim"))) == CLM
    assert operations.get_cascade(parse(payload("TombstoneEvidence"))) == [CLM]
    assert operations.get_created_record(parse(payload("ProposeAction"))) == ACT
    assert operations.get_created_record(parse(payload("CompleteJob"))) is None
