"""Negative controls of chapters 02 and 01: payload checks and holding gone wrong.

Each control replaces one function of the reference with a plausible wrong
version (an accepting default, a loop in the wrong order, a forgotten rule, a
hold turned into a rejection), so the harness must notice the behaviour itself.
"""

from __future__ import annotations

from typing import cast

import attrs

from reference import operations, oplog
from reference._require import SpecViolation
from reference.introduction import ErrorCode
from reference.operations import Payload, ReservedPayload
from reference.wire_format import Value
from tools.controls import control

_parse_payload = operations.parse_payload
_hold_reason = oplog.OpLog._hold_reason


def _parse_unknown_as_reserved(payload: dict[str, Value]) -> Payload | ReservedPayload:
    """Any type the chapter does not list is stored uninterpreted, as if it were reserved."""
    kind = payload.get("type")
    if isinstance(kind, str) and kind not in operations.VARIANTS:
        return ReservedPayload(kind, {k: v for k, v in payload.items() if k != "type"})
    return _parse_payload(payload)


@control("ops-accept-unknown-type", "OPS-001",
         "stores a payload of an unknown type uninterpreted instead of rejecting it")
def accept_unknown_type() -> None:
    operations.parse_payload = _parse_unknown_as_reserved


def _parse_fields_reversed(payload: dict[str, Value]) -> Payload | ReservedPayload:
    """The reference's parse_payload, but checking the fields last to first."""
    kind = payload.get("type")
    if not (isinstance(kind, str) and kind in operations.VARIANTS):
        return _parse_payload(payload)  # types, reserved variants and field sets as before
    cls = operations.VARIANTS[kind]
    fields = attrs.fields(cls)
    if set(payload) != {f.name for f in fields} | {"type"}:
        return _parse_payload(payload)
    for f in reversed(fields):  # the defect: table order reversed
        f.metadata["check"](f.name, payload[f.name])
    parsed = cast(Payload, cls(**{f.name: payload[f.name] for f in fields}))
    operations.check_variant_rules(parsed)
    return parsed


@control("ops-skip-field-order", "OPS-017",
         "checks a payload's fields in reverse table order, so the last defect decides")
def skip_field_order() -> None:
    operations.parse_payload = _parse_fields_reversed


_check_variant_rules = operations.check_variant_rules


def _rules_without_self_merge(payload: Payload) -> None:
    """The rules between fields, minus source != target of MergeEntity."""
    if isinstance(payload, operations.MergeEntity):
        return
    _check_variant_rules(payload)


@control("ops-allow-self-merge", "OPS-013", "lets MergeEntity merge an entity into itself")
def allow_self_merge() -> None:
    operations.check_variant_rules = _rules_without_self_merge


def _hold_reason_without_drift(self: oplog.OpLog, op: oplog.StoredOp,
                               now_ms: int) -> ErrorCode | None:
    """Holds for missing records only: a far-future op is applied at once."""
    for record in oplog.get_references(op):
        if self.get_creation(record) is None:
            return ErrorCode.E_SUPPORT_MISSING
    return None


@control("log-no-drift-hold", "DM-029", "applies ops whose timestamp is beyond the drift bound")
def no_drift_hold() -> None:
    oplog.OpLog._hold_reason = _hold_reason_without_drift  # type: ignore[method-assign]


def _hold_reason_rejecting(self: oplog.OpLog, op: oplog.StoredOp,
                           now_ms: int) -> ErrorCode | None:
    """Rejects, instead of holding, an op naming a record no stored op created."""
    reason = _hold_reason(self, op, now_ms)
    if reason == ErrorCode.E_SUPPORT_MISSING:
        raise SpecViolation("DM-029", ErrorCode.E_SUPPORT_MISSING,
                            "an op names a record this log does not hold")
    return reason


@control("log-reject-missing-support", "DM-029",
         "rejects an op naming a record not yet created instead of holding it")
def reject_missing_support() -> None:
    oplog.OpLog._hold_reason = _hold_reason_rejecting  # type: ignore[method-assign]

