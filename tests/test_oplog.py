"""Tests of reference/oplog.py: appending, holding, conflicts, provenance, durability (spec/01)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from reference import identifiers, oplog, signatures, wire_format
from reference._require import SpecViolation
from reference.identifiers import IdKind
from tools.vectorgen._ops import BASE_MS, OpFactory

NOW = BASE_MS + 1_000
DRIFT = 60_000


def ingest(f: OpFactory, ev: bytes | None = None, ts: tuple[int, int] | None = None
           ) -> tuple[bytes, bytes]:
    """An IngestEvidence op and the evidence id it creates."""
    ev = ev or f.new_id(IdKind.EVIDENCE)
    return ev, f.op({"type": "IngestEvidence", "evidence": ev, "hash": bytes(32),
                     "anchor": ev.hex(), "source_type": "test", "metadata": {}}, ts=ts)


def claim(f: OpFactory, supports: list[bytes], cid: bytes | None = None,
          ts: tuple[int, int] | None = None) -> tuple[bytes, bytes]:
    """An AssertClaim op and the claim id it creates."""
    cid = cid or f.new_id(IdKind.CLAIM)
    return cid, f.op({"type": "AssertClaim", "claim": cid, "subject": None, "predicate": "p",
                      "object": None, "supports": sorted(supports)}, ts=ts)


def tombstone(f: OpFactory, ev: bytes, cascade: list[bytes]) -> bytes:
    return f.op({"type": "TombstoneEvidence", "evidence": ev, "reason": "",
                 "cascade": sorted(cascade)})


def h(data: bytes) -> bytes:
    return identifiers.compute_op_hash(data)


def refused(log: oplog.OpLog, data: bytes, now: int = NOW) -> SpecViolation:
    with pytest.raises(SpecViolation) as info:
        log.append(data, now)
    return info.value


def resign(f: OpFactory, data: bytes, **change: Any) -> bytes:
    """`data` with envelope fields changed, signed again by `f`'s author."""
    env = attrs.evolve(wire_format.decode_envelope(data), sig=None, **change)
    return wire_format.encode_envelope(signatures.sign_op(f.seed, env))


def dump(log: oplog.OpLog) -> dict[str, list[Any]]:
    """Every row of every table, sorted: the whole stored state."""
    tables = [r[0] for r in log.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: sorted(log.db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


@pytest.fixture
def f() -> OpFactory:
    return OpFactory("tests/oplog")


@pytest.fixture
def log() -> oplog.OpLog:
    return oplog.OpLog()


# --- outcomes of append -------------------------------------------------------------------


def test_append_applied(f: OpFactory, log: oplog.OpLog) -> None:
    """An op naming nothing missing is applied and creates its record."""
    ev, op = ingest(f)
    result = log.append(op, NOW)
    assert (result.status, result.reason, [o.hash for o in result.applied]) == (
        "applied", None, [h(op)])
    assert [o.hash for o in log.ops()] == [h(op)]
    assert log.get_creation(ev) == (h(op), (f.wall_ms, 0, f.node))


def test_append_duplicate(f: OpFactory, log: oplog.OpLog) -> None:
    """The same bytes twice: the second append is a duplicate and changes nothing (DM-021)."""
    _, op = ingest(f)
    log.append(op, NOW)
    before = dump(log)
    assert log.append(op, NOW).status == "duplicate"
    assert dump(log) == before


def test_append_duplicate_of_held(f: OpFactory, log: oplog.OpLog) -> None:
    """A held op appended again is a duplicate, still held once."""
    _, op = claim(f, [f.new_id(IdKind.EVIDENCE)])
    assert log.append(op, NOW).status == "held"
    assert log.append(op, NOW).status == "duplicate"
    assert log.held() == [(h(op), "E_SUPPORT_MISSING")]


def test_held_until_support_then_released(f: OpFactory, log: oplog.OpLog) -> None:
    """An op citing evidence not yet present is held, then applied when it arrives (DM-029)."""
    ev, ingest_op = ingest(f)
    _, claim_op = claim(f, [ev])
    held = log.append(claim_op, NOW)
    assert (held.status, held.reason, held.applied) == ("held", "E_SUPPORT_MISSING", ())
    assert list(log.ops()) == []
    result = log.append(ingest_op, NOW)
    assert [o.hash for o in result.applied] == [h(ingest_op), h(claim_op)]  # total order
    assert log.held() == []
    assert [o.hash for o in log.ops()] == [h(ingest_op), h(claim_op)]


def test_held_for_drift_then_released(f: OpFactory, log: oplog.OpLog) -> None:
    """An op beyond the drift bound is held; `release` applies it once now_ms allows (DM-029)."""
    _, far = ingest(f, ts=(NOW + DRIFT + 1, 0))
    _, edge = ingest(f, ts=(NOW + DRIFT, 0))
    assert (log.append(far, NOW).status, log.held()) == ("held", [(h(far), "E_HLC_DRIFT")])
    assert log.append(edge, NOW).status == "applied"  # exactly at the bound
    assert log.release(NOW) == []
    assert [o.hash for o in log.release(NOW + 1)] == [h(far)]
    assert log.held() == [] and h(far) in [o.hash for o in log.ops()]


def test_invalid_signature_or_payload(f: OpFactory, log: oplog.OpLog) -> None:
    """An unsigned op and a bad payload are refused with their chapters' codes."""
    ev = f.new_id(IdKind.EVIDENCE)
    unsigned = f.op({"type": "ConfirmClaim", "claim": f.new_id(IdKind.CLAIM)}, sign=False)
    assert refused(log, unsigned).code == "E_SIGNATURE_MISSING"
    bad = f.op({"type": "ConfirmClaim", "claim": ev})
    assert refused(log, bad).code == "E_ID_KIND"
    assert log.count() == 0 and log.held() == []


def test_append_many_collects_rejections(f: OpFactory, log: oplog.OpLog) -> None:
    """append_many returns each outcome, rejections included, without raising."""
    _, good = ingest(f)
    bad = f.op({"type": "Foo"})
    out = log.append_many([good, bad, good], NOW)
    assert isinstance(out[1], SpecViolation) and out[1].code == "E_PAYLOAD_TYPE"
    assert [getattr(o, "status", None) for o in out] == ["applied", None, "duplicate"]


# --- conflicts ----------------------------------------------------------------------------


def test_invalid_equivocation(f: OpFactory, log: oplog.OpLog) -> None:
    """A second op at the same timestamp is refused; the stored one is quarantined (DM-019)."""
    _, first = ingest(f)
    wall = f.wall_ms
    _, second = ingest(f, ts=(wall, 0))
    log.append(first, NOW)
    assert refused(log, second).code == "E_HLC_DUPLICATE"
    assert list(log.ops()) == []
    assert log.get(h(first)) is not None and log.get(h(second)) is None
    assert log.equivocators() == [f.node]


def test_invalid_op_id_conflict(f: OpFactory, log: oplog.OpLog) -> None:
    """A second op with a stored OpId is refused; the stored one is quarantined (DM-020)."""
    _, first = ingest(f)
    other = resign(f, first, ts=(f.wall_ms + 5, 0, f.node))
    log.append(first, NOW)
    assert refused(log, other).code == "E_OP_CONFLICT"
    assert list(log.ops()) == [] and log.equivocators() == [f.node]
    assert refused(log, other).code == "E_OP_CONFLICT"  # refused again, not stored


def test_invalid_conflict_with_two_stored_ops(f: OpFactory, log: oplog.OpLog) -> None:
    """An op sharing its OpId with one stored op and its timestamp with another quarantines both."""
    a = f.op({"type": "DelegateUcan", "token": b"a"})
    b = f.op({"type": "DelegateUcan", "token": b"b"})
    b_ts = wire_format.decode_envelope(b).ts
    c = resign(f, a, ts=b_ts, payload={"type": "DelegateUcan", "token": b"c"})
    log.append(a, NOW)
    log.append(b, NOW)
    refused(log, c)
    assert list(log.ops()) == [], "both stored ops conflict with c and must be quarantined"


def test_conflict_changes_only_quarantine(f: OpFactory, log: oplog.OpLog) -> None:
    """A conflict flips the stored op's quarantine flag and records the conflict, nothing else."""
    ev, first = ingest(f)
    _, second = ingest(f, ts=(f.wall_ms, 0))
    log.append(first, NOW)
    before = dump(log)
    refused(log, second)
    after = dump(log)
    assert [t for t in before if before[t] != after[t]] == ["conflicts", "ops"]
    assert [row[:-1] for row in after["ops"]] == [row[:-1] for row in before["ops"]]
    assert after["conflicts"] == [(f.node, h(first), h(second), "E_HLC_DUPLICATE")]


# --- provenance and cascades ---------------------------------------------------------------


def test_invalid_support_created_later(f: OpFactory, log: oplog.OpLog) -> None:
    """A claim whose support is created later in the total order is refused (DM-027)."""
    ev, ingest_op = ingest(f)
    _, early = claim(f, [ev], ts=(f.wall_ms - 1, 1))
    log.append(ingest_op, NOW)
    assert refused(log, early).code == "E_PROVENANCE_CYCLE"


def test_invalid_support_is_the_created_record(f: OpFactory, log: oplog.OpLog) -> None:
    """A second creation of an existing claim citing that claim is refused (DM-027)."""
    ev, ingest_op = ingest(f)
    cid, first = claim(f, [ev])
    _, again = claim(f, [ev, cid], cid=cid)
    log.append(ingest_op, NOW)
    log.append(first, NOW)
    assert refused(log, again).code == "E_PROVENANCE_CYCLE"


def test_self_support_of_a_new_record_is_held(f: OpFactory, log: oplog.OpLog) -> None:
    """A claim citing itself before it exists is held: holding is checked before provenance."""
    ev, ingest_op = ingest(f)
    cid = f.new_id(IdKind.CLAIM)
    _, op = claim(f, [ev, cid], cid=cid)
    log.append(ingest_op, NOW)
    assert log.append(op, NOW).reason == "E_SUPPORT_MISSING"


def test_cascade_validity(f: OpFactory, log: oplog.OpLog) -> None:
    """A cascade may list transitive dependents of its root, not unrelated records (DM-014)."""
    ev1, i1 = ingest(f)
    ev2, i2 = ingest(f)
    c1, a1 = claim(f, [ev1])
    c2, a2 = claim(f, [c1])  # depends on ev1 through c1
    c3, a3 = claim(f, [ev2])
    for op in (i1, i2, a1, a2, a3):
        log.append(op, NOW)
    assert log.compute_closure(ev1) == {c1, c2}
    assert refused(log, tombstone(f, ev1, [c1, c3])).code == "E_CASCADE_INVALID"
    assert log.append(tombstone(f, ev1, [c1, c2]), NOW).status == "applied"


def test_cascade_listing_unknown_record_is_held(f: OpFactory, log: oplog.OpLog) -> None:
    """A cascade naming a record this node has not seen is held, not refused (spec/01 3.3)."""
    ev, op = ingest(f)
    log.append(op, NOW)
    result = log.append(tombstone(f, ev, [f.new_id(IdKind.CLAIM)]), NOW)
    assert (result.status, result.reason) == ("held", "E_SUPPORT_MISSING")


def test_deep_chain_closure(f: OpFactory) -> None:
    """A 5,000-deep derivation chain (5x Python's recursion limit): closure and cascade check
    run without recursion (DM-015)."""
    log = oplog.OpLog()
    ev, op = ingest(f)
    log.append(op, NOW)
    parent, chain = ev, []
    for _ in range(5_000):
        parent, op = claim(f, [parent])
        chain.append(parent)
        assert log.append(op, NOW).status == "applied"
    closure = log.compute_closure(ev)
    assert len(closure) == 5_000 and closure == set(chain)
    assert log.append(tombstone(f, ev, [chain[-1]]), NOW).status == "applied"


def test_earliest_creation_keeps_the_record(f: OpFactory, log: oplog.OpLog) -> None:
    """Two creations of one record: the earlier in total order keeps it, whatever the order."""
    ev = f.new_id(IdKind.EVIDENCE)
    _, early = ingest(f, ev)
    _, late = ingest(f, ev)
    log.append(late, NOW)
    log.append(early, NOW)
    creation = log.get_creation(ev)
    assert creation is not None and creation[0] == h(early)
    other = oplog.OpLog()
    other.append(early, NOW)
    other.append(late, NOW)
    assert other.get_creation(ev) == log.get_creation(ev)


# --- atomicity and durability --------------------------------------------------------------


def test_rejections_change_no_table(f: OpFactory, log: oplog.OpLog) -> None:
    """Every kind of rejection leaves every table exactly as it was (DM-032)."""
    ev1, i1 = ingest(f)
    ev2, i2 = ingest(f)
    ev2_wall = f.wall_ms
    c1, a1 = claim(f, [ev1])
    _, held = claim(f, [f.new_id(IdKind.EVIDENCE)])
    for op in (i1, i2, a1, held):
        log.append(op, NOW)
    log.put_evidence(b"bytes", identifiers.compute_content_hash(b"bytes"))
    before = dump(log)
    good = f.op({"type": "ConfirmClaim", "claim": c1})
    env = wire_format.decode_envelope(good)
    rejections = [
        (f.op({"type": "ConfirmClaim", "claim": ev1}), "E_ID_KIND"),
        (f.op({"type": "ConfirmClaim", "claim": c1}, sign=False), "E_SIGNATURE_MISSING"),
        (resign(f, good, payload={"type": "ConfirmClaim", "claim": c1, "x": 1}),
         "E_PAYLOAD_INVALID"),
        (wire_format.encode_envelope(attrs.evolve(env, sig=bytes(64))), "E_SIGNATURE_INVALID"),
        (claim(f, [ev2], ts=(ev2_wall - 1, 1))[1], "E_PROVENANCE_CYCLE"),
        (tombstone(f, ev2, [c1]), "E_CASCADE_INVALID"),
    ]
    for data, code in rejections:
        assert refused(log, data).code == code
        assert dump(log) == before
    with pytest.raises(SpecViolation):
        log.put_evidence(b"other", identifiers.compute_content_hash(b"bytes"))
    assert dump(log) == before


def test_reopen_file_backed_log(f: OpFactory, tmp_path: Path) -> None:
    """Closing and reopening a file-backed log gives the same ops, held ops and records."""
    path = str(tmp_path / "node.db")
    log = oplog.OpLog(path)
    ev, i1 = ingest(f)
    c1, a1 = claim(f, [ev])
    _, held = claim(f, [f.new_id(IdKind.EVIDENCE)])
    for op in (i1, a1, held):
        log.append(op, NOW)
    _, dup = ingest(f, ts=(wire_format.decode_envelope(a1).ts[0], 0))
    refused(log, dup)  # equivocation: a1 quarantined, author flagged
    log.put_evidence(b"photo", identifiers.compute_content_hash(b"photo"))
    state = (dump(log), [o.hash for o in log.ops()], log.held(), log.equivocators(),
             log.get_creation(c1), log.get_supports(c1))
    log.close()
    again = oplog.OpLog(path)
    assert (dump(again), [o.hash for o in again.ops()], again.held(), again.equivocators(),
            again.get_creation(c1), again.get_supports(c1)) == state
    assert again.get_evidence(identifiers.compute_content_hash(b"photo")) == b"photo"
    assert len(state[0]["ops"]) == 2 and state[2] and state[3] == [f.node]


def test_evidence_store(f: OpFactory, log: oplog.OpLog) -> None:
    """Evidence bytes are verified on put, readable, and discardable without the op (DM-003)."""
    content = b"calendar event"
    digest = identifiers.compute_content_hash(content)
    assert log.get_evidence(digest) is None
    with pytest.raises(SpecViolation) as info:
        log.put_evidence(b"tampered", digest)
    assert info.value.code == "E_HASH_MISMATCH" and log.get_evidence(digest) is None
    log.put_evidence(content, digest)
    assert log.get_evidence(digest) == content
    _, op = ingest(f)
    log.append(op, NOW)
    log.discard_evidence(digest)
    assert log.get_evidence(digest) is None
    assert [o.hash for o in log.ops()] == [h(op)]  # the ingest op survives (DM-011)
