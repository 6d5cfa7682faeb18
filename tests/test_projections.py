"""Tests of reference/projections.py (spec/10-projections.md) and its driver commands."""

from __future__ import annotations

import json
from typing import Any

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference import operations, oplog, projections, wire_format
from reference._require import SpecViolation
from reference.driver import dispatch
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.oplog import StoredOp
from reference.wire_format import Envelope
from tools.vectorgen._ops import BASE_MS, OpFactory

NOW_MS = BASE_MS + 10_000_000
NODE = b"\x11" * 32
IDS = iter(range(1, 10**9))


def rid(kind: IdKind) -> bytes:
    """A fresh record id of `kind` (ids only need to be distinct here)."""
    return bytes([kind]) + BASE_MS.to_bytes(6, "big") + next(IDS).to_bytes(10, "big")


def unsigned(payload: dict[str, Any], wall: int) -> StoredOp:
    """A StoredOp without a signature: the fold reads only hash, timestamp and payload."""
    env = Envelope(op_id=rid(IdKind.OP), author=NODE, ts=(wall, 0, NODE), payload=payload,
                   sig=None)
    data = wire_format.encode_envelope(env)
    return StoredOp(blake3.blake3(data).digest(), env, operations.parse_payload(payload), data)


def ingest(ev: bytes) -> dict[str, Any]:
    return {"type": "IngestEvidence", "evidence": ev, "hash": b"\x01" * 32, "anchor": "a",
            "source_type": "calendar", "metadata": {}}


def claim(c: bytes, supports: list[bytes], obj: Any = 1, predicate: str = "p") -> dict[str, Any]:
    return {"type": "AssertClaim", "claim": c, "subject": None, "predicate": predicate,
            "object": obj, "supports": sorted(supports)}


def tombstone(ev: bytes, cascade: list[bytes] | None = None) -> dict[str, Any]:
    return {"type": "TombstoneEvidence", "evidence": ev, "reason": "",
            "cascade": sorted(cascade or [])}


def fold(payloads: list[dict[str, Any]]) -> projections.Projections:
    """Fold payloads as ops 1 ms apart, in the order given (which is the total order)."""
    return projections.rebuild(unsigned(p, BASE_MS + i) for i, p in enumerate(payloads))


def state(p: projections.Projections, record: bytes) -> str:
    return p.records[record].state


def no_content(_: bytes) -> bool:
    return False


def everything(p: projections.Projections, log: oplog.OpLog | None = None) -> str:
    """Every answer of every read interface, as one JSON text."""
    holds = no_content if log is None else (lambda h: log.get_evidence(h) is not None)
    authors = [] if log is None else log.equivocators()
    return json.dumps([p.get_detail(r, holds) for r in sorted(p.records)]
                      + [p.get_salience(10**6), p.get_inference(10**9), p.get_debug(authors)])


# --- the fold and the cascade ----------------------------------------------------------


def test_cascade_reaches_the_whole_chain() -> None:
    """A tombstone listing nothing invalidates every claim of a chain built on the evidence."""
    ev = rid(IdKind.EVIDENCE)
    chain = [rid(IdKind.CLAIM) for _ in range(5)]
    payloads = [ingest(ev)] + [claim(c, [p]) for c, p in zip(chain, [ev, *chain], strict=False)]
    p = fold([*payloads, tombstone(ev)])
    assert [state(p, c) for c in chain] == ["Invalidated"] * 5
    assert state(p, ev) == "Tombstoned"


def test_deep_chain_is_traversed_iteratively() -> None:
    """A chain far deeper than Python's recursion limit is invalidated in full."""
    ev = rid(IdKind.EVIDENCE)
    payloads, parent, last = [ingest(ev)], ev, ev
    for _ in range(5000):
        last = rid(IdKind.CLAIM)
        payloads.append(claim(last, [parent]))
        parent = last
    p = fold([*payloads, tombstone(ev)])
    assert sum(1 for r in p.records.values() if r.state == "Invalidated") == 5000
    assert state(p, last) == "Invalidated"


def test_born_invalidated() -> None:
    """A claim created after the tombstone of its evidence is Invalidated as it is created."""
    ev, c = rid(IdKind.EVIDENCE), rid(IdKind.CLAIM)
    p = fold([ingest(ev), tombstone(ev), claim(c, [ev])])
    assert [(h.event, h.before, h.after) for h in p.records[c].history] == [
        ("AssertClaim", None, "Hint"), ("cascade", "Hint", "Invalidated")]


def test_reject_retracts_dependents_not_siblings() -> None:
    """A rejected claim invalidates what derives from it and nothing else."""
    ev, a, b, child = rid(IdKind.EVIDENCE), rid(IdKind.CLAIM), rid(IdKind.CLAIM), rid(IdKind.CLAIM)
    p = fold([ingest(ev), claim(a, [ev]), claim(b, [ev]), claim(child, [a]),
              {"type": "RejectClaim", "claim": a, "reason": "", "cascade": []}])
    assert (state(p, a), state(p, b), state(p, child)) == ("Rejected", "Hint", "Invalidated")


def test_ignored_transition_is_recorded() -> None:
    """ConfirmClaim after RejectClaim leaves the claim Rejected and is listed as ignored."""
    ev, c = rid(IdKind.EVIDENCE), rid(IdKind.CLAIM)
    p = fold([ingest(ev), claim(c, [ev]),
              {"type": "RejectClaim", "claim": c, "reason": "", "cascade": []},
              {"type": "ConfirmClaim", "claim": c}])
    assert state(p, c) == "Rejected"
    assert [(i["event"], i["state"]) for i in p.get_debug([])["ignored"]] == [
        ("ConfirmClaim", "Rejected")]


def test_first_creation_wins() -> None:
    """A second creation of the same id is ignored; the first op's fields stay."""
    ev, c = rid(IdKind.EVIDENCE), rid(IdKind.CLAIM)
    p = fold([ingest(ev), claim(c, [ev], predicate="first"), claim(c, [ev], predicate="second")])
    assert p.get_detail(c, no_content)["predicate"] == "first"
    assert len(p.ignored) == 1


def test_apply_is_idempotent() -> None:
    """Applying the same op twice changes nothing the second time."""
    ev, c = rid(IdKind.EVIDENCE), rid(IdKind.CLAIM)
    ops = [unsigned(ingest(ev), BASE_MS + 1), unsigned(claim(c, [ev]), BASE_MS + 2)]
    p = projections.rebuild(ops)
    before = everything(p)
    p.apply(ops[1])
    assert everything(p) == before


def test_invalid_apply_out_of_total_order() -> None:
    """Applying an op earlier in the total order than the last one applied is refused."""
    ev1, ev2 = rid(IdKind.EVIDENCE), rid(IdKind.EVIDENCE)
    p = projections.rebuild([unsigned(ingest(ev1), BASE_MS + 5)])
    with pytest.raises(SpecViolation) as err:
        p.apply(unsigned(ingest(ev2), BASE_MS + 4))
    assert err.value.requirement == "DM-018"


# --- guards and entities -----------------------------------------------------------------


def test_merge_cycle_resolves_to_smallest_id() -> None:
    """A into B then B into A: one class, represented by the smaller id."""
    a, b = sorted([rid(IdKind.ENTITY), rid(IdKind.ENTITY)])
    entity = {"type": "CreateEntity", "kind": "person", "attributes": {}, "supports": []}
    p = fold([{**entity, "entity": a}, {**entity, "entity": b},
              {"type": "MergeEntity", "source": b, "target": a, "supports": []},
              {"type": "MergeEntity", "source": a, "target": b, "supports": []}])
    assert p.get_representatives() == {a: a, b: a}
    assert (state(p, a), state(p, b)) == ("Merged", "Merged")


def test_merge_into_invalidated_target_is_ignored() -> None:
    """A merge whose target is Invalidated leaves the source Active."""
    ev, src, dead = rid(IdKind.EVIDENCE), rid(IdKind.ENTITY), rid(IdKind.ENTITY)
    entity = {"type": "CreateEntity", "kind": "person", "attributes": {}}
    p = fold([ingest(ev), {**entity, "entity": src, "supports": []},
              {**entity, "entity": dead, "supports": [ev]}, tombstone(ev),
              {"type": "MergeEntity", "source": src, "target": dead, "supports": []}])
    assert (state(p, src), state(p, dead)) == ("Active", "Invalidated")


def test_expire_action_guard() -> None:
    """ExpireAction before expires_ms is ignored; at expires_ms it expires the action."""
    ev, c, act = rid(IdKind.EVIDENCE), rid(IdKind.CLAIM), rid(IdKind.ACTION)
    setup = [ingest(ev), claim(c, [ev]), {"type": "ProposeAction", "action": act,
                                          "description": "d", "expires_ms": BASE_MS + 10,
                                          "supports": [c]}]
    ops = [unsigned(x, BASE_MS + i) for i, x in enumerate(setup)]
    early = unsigned({"type": "ExpireAction", "action": act}, BASE_MS + 9)
    exact = unsigned({"type": "ExpireAction", "action": act}, BASE_MS + 10)
    assert state(projections.rebuild([*ops, early]), act) == "Proposed"
    assert state(projections.rebuild([*ops, early, exact]), act) == "Expired"


# --- read interfaces and what must not leak ------------------------------------------------


def test_inference_excludes_retracted_claims_and_respects_budget() -> None:
    """The window holds live Facts then Hints, never invalidated ones, cut at the budget."""
    ev, ev2 = rid(IdKind.EVIDENCE), rid(IdKind.EVIDENCE)
    hint, fact, gone = rid(IdKind.CLAIM), rid(IdKind.CLAIM), rid(IdKind.CLAIM)
    p = fold([ingest(ev), ingest(ev2), claim(hint, [ev], "x", "h"), claim(fact, [ev], 2, "f"),
              claim(gone, [ev2], 3, "g"), {"type": "ConfirmClaim", "claim": fact},
              tombstone(ev2)])
    window = p.get_inference(10**6)
    assert window == {"lines": ["f: 02", "h: 6178"], "ids": [fact.hex(), hint.hex()]}
    assert p.get_inference(len("f: 02") + 1) == {"lines": ["f: 02"], "ids": [fact.hex()]}
    assert p.get_inference(len("f: 02")) == {"lines": [], "ids": []}


def test_salience_counts_live_citers_only() -> None:
    """The score counts live direct dependents; retracted records are never ranked."""
    ev, ev2, a, b = rid(IdKind.EVIDENCE), rid(IdKind.EVIDENCE), rid(IdKind.CLAIM), rid(IdKind.CLAIM)
    p = fold([ingest(ev), ingest(ev2), claim(a, [ev, ev2]), claim(b, [ev]),
              {"type": "RejectClaim", "claim": b, "reason": "", "cascade": []}])
    ranked = p.get_salience(10)["records"]
    assert ranked[0] == {"id": min(ev, ev2).hex(), "score": 1}
    assert b.hex() not in {r["id"] for r in ranked}


def test_detail_of_tombstoned_evidence_hides_content() -> None:
    """Detail shows tombstoned evidence and its state, never its bytes, content_present false."""
    log = oplog.OpLog()
    content = b"calendar event bytes"
    f = OpFactory("test/leak")
    ev = f.new_id(IdKind.EVIDENCE)
    op = f.op({**ingest(ev), "hash": blake3.blake3(content).digest()})
    log.put_evidence(content, blake3.blake3(content).digest())
    log.append(op, NOW_MS)
    pset = projections.ProjectionSet()
    holds = lambda h: log.get_evidence(h) is not None  # noqa: E731
    assert pset.sync(log).get_detail(ev, holds)["content_present"] is True
    log.append(f.op(tombstone(ev)), NOW_MS)
    view = pset.sync(log)
    detail = view.get_detail(ev, holds)
    assert detail["state"] == "Tombstoned" and detail["content_present"] is False
    assert content.hex() not in everything(view, log)


def test_invalid_detail_unknown_id() -> None:
    """Detail of an id no op created is E_NOT_FOUND."""
    with pytest.raises(SpecViolation) as err:
        fold([ingest(rid(IdKind.EVIDENCE))]).get_detail(rid(IdKind.CLAIM), no_content)
    assert err.value.code == ErrorCode.E_NOT_FOUND


@pytest.mark.parametrize("query", [{"q": "nope"}, {"q": "salience", "k": -1},
                                   {"q": "inference"}, {"q": "debug", "extra": 1}, "debug"])
def test_invalid_query_refuses_request(query: Any) -> None:
    """A malformed query refuses the whole log.query with E_BAD_REQUEST."""
    response = dispatch({"id": 1, "cmd": "log.query",
                         "args": {"ops": [], "now_ms": NOW_MS, "queries": [query]}})
    assert not response["ok"] and response["error"]["code"] == "E_BAD_REQUEST"


def test_invalid_proj_query_unknown_session() -> None:
    """proj.query on a session never opened is E_UNKNOWN_SESSION."""
    response = dispatch({"id": 1, "cmd": "proj.query",
                         "args": {"session": "log-none", "queries": []}})
    assert response["error"]["code"] == "E_UNKNOWN_SESSION"


# --- rebuild == incremental, in any delivery order ------------------------------------------


@st.composite
def scripts(draw: st.DrawFn) -> list[bytes]:
    """Signed ops of a random derivation graph with tombstones, confirms and rejects."""
    f = OpFactory(f"test/script/{draw(st.integers(0, 3))}")
    records: list[bytes] = []
    claims: list[bytes] = []
    evidence: list[bytes] = []
    ops: list[bytes] = []
    for step in range(draw(st.integers(1, 12))):
        action = "ingest" if step == 0 else draw(st.sampled_from(
            ["ingest", "claim", "claim", "confirm", "reject", "tombstone"]))
        if action == "ingest" or (action in ("confirm", "reject") and not claims):
            ev = f.new_id(IdKind.EVIDENCE)
            ops.append(f.op(ingest(ev)))
            records.append(ev)
            evidence.append(ev)
        elif action == "claim":
            c = f.new_id(IdKind.CLAIM)
            supports = draw(st.lists(st.sampled_from(records), min_size=1, max_size=2,
                                     unique=True))
            ops.append(f.op(claim(c, supports, draw(st.integers(0, 99)))))
            records.append(c)
            claims.append(c)
        elif action == "confirm":
            ops.append(f.op({"type": "ConfirmClaim", "claim": draw(st.sampled_from(claims))}))
        elif action == "reject":
            ops.append(f.op({"type": "RejectClaim", "claim": draw(st.sampled_from(claims)),
                             "reason": "", "cascade": []}))
        else:
            ops.append(f.op(tombstone(draw(st.sampled_from(evidence)))))
    return ops


@settings(max_examples=40, deadline=None)
@given(ops=scripts(), data=st.data())
def test_incremental_equals_rebuild_in_any_order(ops: list[bytes], data: st.DataObject) -> None:
    """Projections kept op by op, in any delivery order, equal a rebuild of the log."""
    order = data.draw(st.permutations(ops))
    log = oplog.OpLog()
    pset = projections.ProjectionSet()
    for op in order:
        log.append(op, NOW_MS)
        pset.sync(log)
    reference_log = oplog.OpLog()
    for op in ops:
        reference_log.append(op, NOW_MS)
    expected = everything(projections.rebuild(reference_log.ops()))
    assert everything(pset.sync(log)) == expected
    assert everything(projections.rebuild(log.ops())) == expected


def test_quarantine_forces_rebuild() -> None:
    """After an equivocation quarantines a stored op, the kept projections drop its record."""
    f = OpFactory("test/quarantine")
    ev, c1, c2 = f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM), f.new_id(IdKind.CLAIM)
    log = oplog.OpLog()
    pset = projections.ProjectionSet()
    log.append(f.op(ingest(ev)), NOW_MS)
    stamp = (f.wall_ms + 1, 0)
    log.append(f.op(claim(c1, [ev]), ts=stamp), NOW_MS)
    assert c1 in pset.sync(log).records
    with pytest.raises(SpecViolation):
        log.append(f.op(claim(c2, [ev], 2), ts=stamp), NOW_MS)
    view = pset.sync(log)
    assert c1 not in view.records and c2 not in view.records
    assert everything(view, log) == everything(projections.rebuild(log.ops()), log)
