"""Tests of the op log with a mesh root (spec/07 section 7) and of sanitized envelopes (8.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from reference import oplog, projections, signatures, ucan, wire_format
from reference._require import SpecViolation
from reference.introduction import ErrorCode
from tools.vectorgen import authority as gen
from tools.vectorgen import authority_log as logs

ROOT = gen.ROOT
AT = gen.AT
NOW = logs.NOW
ALICE = gen.issue("t/root-alice", "root", "alice", [logs.INGEST_CALENDAR, logs.DELEGATE])
BOB = gen.issue("t/alice-bob", "alice", "bob", [logs.INGEST_CALENDAR], [ALICE])
FILTER = gen.issue("t/root-filter", "root", "filter", [logs.SANITIZE])
PUB_A = logs.publish(ALICE, "root", "t/pub-a", AT - 10)
PUB_B = logs.publish(BOB, "alice", "t/pub-b", AT - 8)
PUB_F = logs.publish(FILTER, "root", "t/pub-f", AT - 9)


def h(data: bytes) -> bytes:
    return oplog.decode_op(data).hash


def applied(log: oplog.OpLog) -> list[bytes]:
    return [op.hash for op in log.ops()]


def rejects(code: ErrorCode, fn: Any, *args: Any) -> SpecViolation:
    """Call fn and check that it raises a violation with `code`."""
    with pytest.raises(SpecViolation) as info:
        fn(*args)
    assert info.value.code == code, info.value
    return info.value


def rooted(*ops: bytes) -> oplog.OpLog:
    log = oplog.OpLog(root=ROOT)
    for data in ops:
        log.append(data, NOW)
    return log


def sanitized_ingest(label: str) -> tuple[bytes, bytes]:
    """Alice's ingest at AT and its sanitized form, metadata withheld by the filter."""
    original = logs.ingest_op("alice", label, AT)
    return original, ucan.sanitize_op(gen.seed("filter"), original, ["metadata"])


# --- the envelope and the signature step (chapters 03 and 06) ---------------------------


def test_envelope_carries_san_only_when_sanitized() -> None:
    """A sanitized envelope decodes with its record and encodes back to the same bytes."""
    original, san = sanitized_ingest("env")
    env = wire_format.decode_envelope(san)
    assert env.sig is None and env.san is not None and env.san["fields"] == ["metadata"]
    assert wire_format.encode_envelope(env) == san
    plain = wire_format.decode_envelope(original)
    assert plain.san is None and "san" not in plain.to_value()


def test_invalid_san_with_signature() -> None:
    """An envelope with both a signature and a san is refused after every other check."""
    env = wire_format.decode_envelope(sanitized_ingest("sig")[1])
    value = env.to_value()
    value["sig"] = bytes(64)
    data = wire_format.encode_canonical(value)
    violation = rejects(ErrorCode.E_ENVELOPE_INVALID, wire_format.decode_envelope, data)
    assert violation.requirement == "UCAN-039"


def test_invalid_san_not_a_map() -> None:
    """A san that is not a map is refused with E_ENVELOPE_INVALID."""
    value = wire_format.decode_envelope(sanitized_ingest("arr")[1]).to_value()
    value["san"] = [1]
    violation = rejects(ErrorCode.E_ENVELOPE_INVALID, wire_format.decode_envelope,
                        wire_format.encode_canonical(value))
    assert violation.requirement == "UCAN-039"


def test_invalid_unknown_key_next_to_san() -> None:
    """Only `san` is added to the key set: another extra key is still unknown."""
    value = wire_format.decode_envelope(sanitized_ingest("key")[1]).to_value()
    value["sat"] = 1
    violation = rejects(ErrorCode.E_ENVELOPE_INVALID, wire_format.decode_envelope,
                        wire_format.encode_canonical(value))
    assert violation.requirement == "WIRE-019"


def test_is_sanitized_verifies_the_record() -> None:
    """is_sanitized is False without a record and True for a record that verifies."""
    original, san = sanitized_ingest("is")
    assert not signatures.is_sanitized(wire_format.decode_envelope(original))
    assert signatures.is_sanitized(wire_format.decode_envelope(san))


def test_invalid_record_that_does_not_verify() -> None:
    """A record whose signature is not the filter's is refused with E_SIGNATURE_MISSING."""
    env = wire_format.decode_envelope(sanitized_ingest("forged")[1])
    record = dict(env.san or {})
    record["sig"] = bytes(64)
    forged = attrs.evolve(env, san=record)
    violation = rejects(ErrorCode.E_SIGNATURE_MISSING, signatures.verify_op, forged)
    assert violation.requirement == "UCAN-043"


def test_verify_op_of_sanitized_returns_the_filters_signing_input() -> None:
    """The signing input a sanitized op is covered by is SI(by, ...) of chapter 07 8.3."""
    env = wire_format.decode_envelope(sanitized_ingest("si")[1])
    record = ucan.decode_sanitization(env.san or {})
    assert signatures.verify_op(env) == ucan.compute_sanitized_signing_input(env, record)


def test_sign_op_drops_the_record() -> None:
    """Signing a sanitized envelope gives an ordinary signed op without san."""
    env = wire_format.decode_envelope(sanitized_ingest("resign")[1])
    signed = signatures.sign_op(gen.seed("alice"), env)
    assert signed.san is None and signed.sig is not None
    signatures.verify_op(wire_format.decode_envelope(wire_format.encode_envelope(signed)))


def test_decode_op_exempts_withheld_fields() -> None:
    """A stored sanitized op parses with its withheld field null."""
    stored = oplog.decode_op(sanitized_ingest("parse")[1])
    assert stored.san is not None and stored.san.fields == ("metadata",)
    assert stored.payload.metadata is None  # type: ignore[union-attr]


# --- appending with a root (section 7.3) --------------------------------------------------


def test_invalid_root_not_a_did_key() -> None:
    """A mesh root that is not a did:key is refused when the log is opened."""
    rejects(ErrorCode.E_DID_INVALID, oplog.OpLog, ":memory:", "did:key:zBAD")


def test_authorized_op_is_applied() -> None:
    """An op whose author holds a chain to the root is applied."""
    cal = logs.ingest_op("alice", "t-cal", AT)
    log = rooted(PUB_A)
    assert log.append(cal, NOW).status == "applied"
    assert applied(log) == [h(PUB_A), h(cal)]


def test_missing_proof_is_held_then_released() -> None:
    """An op without a token is held with E_UCAN_PROOF_MISSING and released by its delegation."""
    cal = logs.ingest_op("alice", "t-held", AT)
    log = rooted()
    result = log.append(cal, NOW)
    assert (result.status, result.reason) == ("held", ErrorCode.E_UCAN_PROOF_MISSING)
    assert [op.hash for op in log.append(PUB_A, NOW).applied] == [h(PUB_A), h(cal)]
    assert log.held() == []


def test_invalid_caveat_rejected_changes_nothing() -> None:
    """An op that breaks its caveat is rejected and leaves the log as it was."""
    photo = logs.ingest_op("alice", "t-photo", AT, "photo")
    log = rooted(PUB_A)
    rejects(ErrorCode.E_UCAN_CAVEAT, log.append, photo, NOW)
    assert log.count() == 1 and log.held() == [] and log.unauthorized() == []


def test_rootless_log_checks_no_authority() -> None:
    """Without a root the same op is applied: the Core-class log has no authority step."""
    photo = logs.ingest_op("alice", "t-photo", AT, "photo")
    log = oplog.OpLog()
    assert log.append(photo, NOW).status == "applied"


def test_delegation_published_later_does_not_count() -> None:
    """A token published after the op in total order leaves it held, whenever it arrived."""
    later = logs.publish(ALICE, "root", "t-pub-late", AT + 5)
    cal = logs.ingest_op("alice", "t-early", AT)
    log = rooted(later)
    assert log.append(cal, NOW).status == "held"


# --- deciding again (section 7.2) -------------------------------------------------------------


def test_late_revocation_withdraws_later_ops() -> None:
    """A revocation earlier in total order than stored ops withdraws them; they stay stored."""
    by_bob = logs.ingest_op("bob", "t-bob", AT)
    rev = logs.revoke(ALICE, "root", "t-rev", AT - 5)
    log = rooted(PUB_A, PUB_B, by_bob)
    assert h(by_bob) in applied(log)
    log.append(rev, NOW)
    assert h(by_bob) not in applied(log) and log.get(h(by_bob)) is not None
    assert log.unauthorized() == [(h(by_bob), "E_UCAN_REVOKED")]
    assert log.count_redecided() == 1


def test_late_delegation_restores_withdrawn_op() -> None:
    """A withdrawn op returns when a new chain for its author arrives before it."""
    by_alice = logs.ingest_op("alice", "t-alice", AT)
    rev = logs.revoke(ALICE, "root", "t-rev", AT - 5)
    alice2 = gen.issue("t/root-alice-2", "root", "alice", [logs.INGEST_CALENDAR])
    log = rooted(PUB_A, by_alice, rev)
    assert log.unauthorized() == [(h(by_alice), "E_UCAN_REVOKED")]
    log.append(logs.publish(alice2, "root", "t-pub-a2", AT - 3), NOW)
    assert log.unauthorized() == [] and h(by_alice) in applied(log)
    assert log.count_redecided() == 2


def test_projections_rebuild_when_an_op_is_withdrawn() -> None:
    """Incremental projections equal a rebuild after a late revocation withdraws an op."""
    by_bob = logs.ingest_op("bob", "t-proj-bob", AT)
    later = logs.ingest_op("root", "t-proj-root", AT + 1)
    rev = logs.revoke(ALICE, "root", "t-proj-rev", AT - 5)
    log = rooted(PUB_A, PUB_B, by_bob)
    pset = projections.ProjectionSet()
    pset.sync(log)
    log.append(later, NOW)
    log.append(rev, NOW)  # one op added at or before the last applied, one withdrawn
    view = pset.sync(log)
    assert view.applied == projections.rebuild(log.ops()).applied
    assert h(by_bob) not in view.applied


def test_quarantined_delegation_withdraws_what_it_authorized() -> None:
    """A DelegateUcan quarantined by a conflict no longer authorizes the ops after it."""
    cal = logs.ingest_op("alice", "t-q", AT)
    log = rooted(PUB_A, cal)
    env = wire_format.decode_envelope(PUB_A)
    twin = attrs.evolve(env, payload={"type": "DelegateUcan", "token": BOB.data}, sig=None)
    clash = wire_format.encode_envelope(signatures.sign_op(gen.seed("root"), twin))
    rejects(ErrorCode.E_OP_CONFLICT, log.append, clash, NOW)
    assert applied(log) == [] and log.unauthorized() == [(h(cal), "E_UCAN_PROOF_MISSING")]


def test_reopened_log_keeps_its_decisions(tmp_path: Path) -> None:
    """A file log reopened with its root applies the same ops as before it was closed."""
    path = str(tmp_path / "node.db")
    by_bob = logs.ingest_op("bob", "t-file-bob", AT)
    log = oplog.OpLog(path, root=ROOT)
    for data in (PUB_A, PUB_B, by_bob, logs.revoke(ALICE, "root", "t-file-rev", AT - 5)):
        log.append(data, NOW)
    before = applied(log)
    log.close()
    again = oplog.OpLog(path, root=ROOT)
    assert applied(again) == before and h(by_bob) not in before
    again.close()


# --- sanitized forms (section 8.5) ------------------------------------------------------------


def test_original_replaces_its_sanitized_form() -> None:
    """The original after its sanitized form takes its place, with no conflict."""
    original, san = sanitized_ingest("t-repl")
    log = rooted(PUB_A, PUB_F, san)
    assert h(san) in applied(log)
    assert log.append(original, NOW).status == "applied"
    assert applied(log) == [h(PUB_A), h(PUB_F), h(original)]
    assert log.get(h(san)) is None and log.equivocators() == []


def test_sanitized_form_after_original_is_a_duplicate() -> None:
    """The sanitized form after its original is a duplicate and the original stays."""
    original, san = sanitized_ingest("t-dup")
    log = rooted(PUB_A, PUB_F, original)
    assert log.append(san, NOW).status == "duplicate"
    assert applied(log) == [h(PUB_A), h(PUB_F), h(original)] and log.equivocators() == []


def test_same_operation_only_for_an_original_and_its_sanitized_form() -> None:
    """is_same_operation pairs an original with its sanitized form, in either order, only."""
    original, san = sanitized_ingest("t-same")
    other_san = ucan.sanitize_op(gen.seed("filter"), original, ["anchor"])
    env = wire_format.decode_envelope(original)
    twin = wire_format.encode_envelope(signatures.sign_op(gen.seed("alice"), attrs.evolve(
        env, payload={**env.payload, "anchor": "uid-other"}, sig=None)))
    op = {name: oplog.decode_op(data) for name, data in (
        ("original", original), ("san", san), ("other_san", other_san), ("twin", twin))}
    assert oplog.is_same_operation(op["original"], op["san"])
    assert oplog.is_same_operation(op["san"], op["original"])
    assert not oplog.is_same_operation(op["san"], op["other_san"])
    assert not oplog.is_same_operation(op["original"], op["twin"])
    assert not oplog.is_same_operation(op["twin"], op["san"])


def test_invalid_signed_twin_conflicts_in_a_rooted_log() -> None:
    """A signed op sharing a stored op's OpId and timestamp is refused and both are withdrawn."""
    original, _ = sanitized_ingest("t-twin")
    env = wire_format.decode_envelope(original)
    twin = wire_format.encode_envelope(signatures.sign_op(gen.seed("alice"), attrs.evolve(
        env, payload={**env.payload, "anchor": "uid-other"}, sig=None)))
    log = rooted(PUB_A, original)
    rejects(ErrorCode.E_OP_CONFLICT, log.append, twin, NOW)
    assert applied(log) == [h(PUB_A)] and log.equivocators() == [env.author]


def test_rootless_log_keeps_the_original_too() -> None:
    """Without a root, the sanitized form and its original are one op as well."""
    original, san = sanitized_ingest("t-core")
    log = oplog.OpLog()
    log.append(san, NOW)
    log.append(original, NOW)
    assert applied(log) == [h(original)] and log.equivocators() == []


def test_invalid_filter_without_op_sanitize() -> None:
    """A sanitized op whose filter lacks op/sanitize is rejected."""
    _, san = sanitized_ingest("t-nofilter")
    ingest_only = gen.issue("t/filter-ingest", "root", "filter", [logs.INGEST_CALENDAR])
    log = rooted(PUB_A, logs.publish(ingest_only, "root", "t-pub-fi", AT - 9))
    rejects(ErrorCode.E_UNAUTHORIZED, log.append, san, NOW)


# --- delegations (section 7.4; spec/12 FSM-008) ------------------------------------------------


def test_delegation_expires_before_the_first_op_at_its_instant() -> None:
    """A delegation whose exp is AT is Active after an op at AT - 1 and Expired at AT."""
    token = gen.issue("t/exp", "root", "alice", [logs.INGEST_CALENDAR], exp=AT)
    pub = logs.publish(token, "root", "t-pub-exp", AT - 10)
    log = rooted(pub, logs.ingest_op("alice", "t-before", AT - 1))
    assert projections.get_delegation_states(log.ops()) == {token.hash: "Active"}
    log.append(logs.ingest_op("root", "t-at", AT), NOW)
    assert projections.get_delegation_states(log.ops()) == {token.hash: "Expired"}


def test_revoked_delegation_does_not_expire() -> None:
    """A revoked delegation stays Revoked when its expiry instant passes."""
    token = gen.issue("t/rev-exp", "root", "alice", [logs.INGEST_CALENDAR], exp=AT)
    log = rooted(logs.publish(token, "root", "t-pub-re", AT - 10),
                 logs.revoke(token, "root", "t-rev-re", AT - 5),
                 logs.ingest_op("root", "t-after", AT + 1))
    assert projections.get_delegation_states(log.ops()) == {token.hash: "Revoked"}
