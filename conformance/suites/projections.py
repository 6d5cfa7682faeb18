"""Property checks of chapter 10 and of chapter 01's fold rules, through the driver only.

Scenarios are random derivation graphs: evidence, claims and episodes citing
earlier records, confirmations, rejections and tombstones, from one to three
authors, signed by the harness itself (`_ops`). The harness knows every edge it
wrote, so it computes the cascade closure, the salience scores and the context
window on its own from the states the implementation reports, and compares.
The order, idempotence and rebuild checks compare every answer of every query
(detail of each record, salience, inference, debug) between two runs.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import blake3
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites import authority as au
from conformance.suites._cbor import to_notation
from conformance.suites._ops import BASE_MS, NOW_MS, Author, canonical, op_hash, record_id

Json = Any
NOT_LIVE = {"Invalidated", "Rejected", "Tombstoned", "Dismissed", "Expired", "Failed"}
INITIAL = {"ev": "Ingested", "clm": "Hint", "epi": "Recorded"}
CREATION = {"ev": "IngestEvidence", "clm": "AssertClaim", "epi": "RecordEpisode"}
COMMON = {"id", "kind", "state", "created_by", "supports", "dependents", "history"}
MEMBERS = {"ev": COMMON | {"hash", "anchor", "source_type", "metadata", "content_present"},
           "clm": COMMON | {"subject", "predicate", "object"}, "epi": COMMON}


@attrs.define
class Scenario:
    """Ops in total order and everything the harness wrote into them."""

    ops: list[bytes] = attrs.Factory(list)
    kind: dict[bytes, str] = attrs.Factory(dict)  # record -> id prefix
    creator: dict[bytes, bytes] = attrs.Factory(dict)  # record -> creating op bytes
    seed: dict[bytes, bytes] = attrs.Factory(dict)  # record -> its creator's key seed
    wall: dict[bytes, int] = attrs.Factory(dict)  # record -> wall_ms of its creation
    supports: dict[bytes, list[bytes]] = attrs.Factory(dict)
    payload: dict[bytes, dict[str, Any]] = attrs.Factory(dict)  # record -> creating payload
    tombstoned: set[bytes] = attrs.Factory(set)
    rejected: set[bytes] = attrs.Factory(set)

    def children(self) -> dict[bytes, set[bytes]]:
        out: dict[bytes, set[bytes]] = {}
        for child, parents in self.supports.items():
            for parent in parents:
                out.setdefault(parent, set()).add(child)
        return out

    def closure(self, roots: set[bytes]) -> set[bytes]:
        """Every record reachable from `roots` along child edges, roots excluded unless reached."""
        children, seen = self.children(), set()
        frontier = list(roots)
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    frontier.append(child)
        return seen


objects = st.one_of(st.integers(-1000, 10**6), st.text(max_size=6), st.binary(max_size=4),
                    st.booleans(), st.none())


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 12) -> Scenario:
    """A random derivation graph built in total order (each op's wall_ms the largest yet)."""
    seeds = [bytes([i + 1]) * 32 for i in range(draw(st.integers(1, 3)))]
    sc = Scenario()
    wall = BASE_MS
    for step in range(draw(st.integers(2, max_steps))):
        wall += draw(st.integers(1, 3))
        seed = seeds[draw(st.integers(0, len(seeds) - 1))]
        author = Author(seed)
        records = sorted(sc.kind)
        claims = [r for r in records if sc.kind[r] == "clm"]
        evidence = [r for r in records if sc.kind[r] == "ev"]
        options = ["ingest"] + (["claim", "claim", "episode"] if records else []) + (
            ["confirm", "reject"] if claims else []) + (["tombstone"] if evidence else [])
        action = "ingest" if step == 0 else draw(st.sampled_from(options))
        label = f"{step}"
        if action in ("ingest", "claim", "episode"):
            kind = {"ingest": "ev", "claim": "clm", "episode": "epi"}[action]
            record = record_id(kind, wall, label)
            supports = [] if kind == "ev" else sorted(draw(st.lists(
                st.sampled_from(records[-4:] if draw(st.booleans()) else records),
                min_size=1, max_size=3, unique=True)))
            if kind == "ev":
                payload: dict[str, Any] = {
                    "type": "IngestEvidence", "evidence": record,
                    "hash": record_id("ev", wall, "content")[:16] * 2,
                    "anchor": f"uid-{label}", "source_type": "calendar",
                    "metadata": {"n": draw(st.integers(0, 9))}}
            elif kind == "clm":
                payload = {"type": "AssertClaim", "claim": record, "subject": None,
                           "predicate": draw(st.sampled_from(["name", "place", "time"])),
                           "object": draw(objects), "supports": supports}
            else:
                payload = {"type": "RecordEpisode", "episode": record, "summary": "s",
                           "start_ms": 1, "end_ms": 2, "supports": supports}
            op = author.op(payload, wall)
            sc.kind[record], sc.creator[record], sc.wall[record] = kind, op, wall
            sc.seed[record] = seed
            sc.supports[record], sc.payload[record] = supports, payload
        elif action in ("confirm", "reject"):
            target = draw(st.sampled_from(claims))
            if action == "confirm":
                payload = {"type": "ConfirmClaim", "claim": target}
            else:
                listed = sorted(draw(st.sets(st.sampled_from(sorted(sc.closure({target})) or
                                                             [target]), max_size=3)) - {target})
                payload = {"type": "RejectClaim", "claim": target, "reason": "",
                           "cascade": listed}
                sc.rejected.add(target)
            op = author.op(payload, wall)
        else:
            target = draw(st.sampled_from(evidence))
            listed = sorted(draw(st.sets(st.sampled_from(sorted(sc.closure({target})) or
                                                         [target]), max_size=3)) - {target})
            payload = {"type": "TombstoneEvidence", "evidence": target, "reason": "",
                       "cascade": listed}
            sc.tombstoned.add(target)
            op = author.op(payload, wall)
        sc.ops.append(op)
    return sc


# --- driving sessions -----------------------------------------------------------


def all_queries(sc: Scenario) -> list[Json]:
    """Detail of every record, then salience of all, the whole window, and the debug graph."""
    return ([{"q": "detail", "id": r.hex()} for r in sorted(sc.kind)]
            + [{"q": "salience", "k": len(sc.kind) + 1},
               {"q": "inference", "budget": 1_000_000}, {"q": "debug"}])


def open_with(impl: Impl, ops: list[bytes], twice: bool = False, probe: bool = False) -> str:
    """A session holding `ops`, appended in the order given (each twice when `twice`).

    With `probe`, the projections are queried after every append, so an
    implementation that keeps them incrementally is exercised op by op.
    """
    session = str(impl.ok("log.open", {})["session"])
    for op in ops:
        first = impl.ok("log.append", {"session": session, "op": op.hex(), "now_ms": NOW_MS})
        if twice:
            again = impl.ok("log.append", {"session": session, "op": op.hex(), "now_ms": NOW_MS})
            expect(again.get("status") == "duplicate" and again.get("applied") == [],
                   f"a second append of op {op_hash(op).hex()[:16]} was {again.get('status')} "
                   f"(first: {first.get('status')}), not a duplicate storing nothing")
        if probe:
            impl.ok("proj.query", {"session": session, "queries": [{"q": "debug"}]})
    return session


def ask(impl: Impl, session: str, queries: list[Json], command: str = "proj.query") -> list[Json]:
    answers = impl.ok(command, {"session": session, "queries": queries}).get("answers")
    expect(isinstance(answers, list) and len(answers) == len(queries),
           f"{command} gave {answers!r:.200} for {len(queries)} queries")
    return list(answers)


def close(impl: Impl, session: str) -> None:
    impl.ok("log.close", {"session": session})


def answers_of(impl: Impl, sc: Scenario, ops: list[bytes], **how: bool) -> list[Json]:
    session = open_with(impl, ops, **how)
    try:
        return ask(impl, session, all_queries(sc))
    finally:
        close(impl, session)


def first_difference(a: list[Json], b: list[Json], queries: list[Json]) -> str:
    for q, x, y in zip(queries, a, b, strict=False):
        if x != y:
            return f"query {json.dumps(q)}: {json.dumps(x)[:300]} != {json.dumps(y)[:300]}"
    return "the answers differ in number"


def debug_states(answers: list[Json]) -> dict[bytes, str]:
    debug = answers[-1]
    expect(isinstance(debug, dict) and isinstance(debug.get("vertices"), list),
           f"the debug answer is not a graph: {json.dumps(debug)[:200]}")
    return {bytes.fromhex(v["id"]): v["state"] for v in debug["vertices"]}


# --- chapter 01 through the projections ----------------------------------------------


@check("DM-021")
@given(sc=scenarios())
def check_duplicates_change_nothing(impl: Impl, sc: Scenario) -> None:
    """Appending every op twice gives exactly the answers of appending each once."""
    once = answers_of(impl, sc, sc.ops)
    twice = answers_of(impl, sc, sc.ops, twice=True)
    expect(once == twice, "duplicates changed the projections: "
           + first_difference(once, twice, all_queries(sc)))


@check("DM-025", "DM-018")
@given(sc=scenarios(), data=st.data())
def check_delivery_order_irrelevant(impl: Impl, sc: Scenario, data: st.DataObject) -> None:
    """Any delivery order of the same ops gives the same answers to every query."""
    order = data.draw(st.permutations(sc.ops))
    in_order = answers_of(impl, sc, sc.ops)
    shuffled = answers_of(impl, sc, list(order), probe=True)
    expect(in_order == shuffled, "delivery order changed the projections: "
           + first_difference(in_order, shuffled, all_queries(sc)))


@check("DM-022")
@given(sc=scenarios(), data=st.data())
def check_rebuild_equals_incremental(impl: Impl, sc: Scenario, data: st.DataObject) -> None:
    """proj.rebuild answers exactly as the projections kept incrementally do."""
    order = list(data.draw(st.permutations(sc.ops)))
    session = open_with(impl, order, probe=True)
    try:
        kept = ask(impl, session, all_queries(sc))
        rebuilt = ask(impl, session, all_queries(sc), "proj.rebuild")
        again = ask(impl, session, all_queries(sc))
    finally:
        close(impl, session)
    expect(kept == rebuilt, "rebuild differs from the kept projections: "
           + first_difference(kept, rebuilt, all_queries(sc)))
    expect(kept == again, "answers changed after a rebuild was asked for")


@check("DM-012", "DM-028", "FSM-012")
@given(sc=scenarios(max_steps=14))
def check_cascade_is_the_closure(impl: Impl, sc: Scenario) -> None:
    """Invalidated records are exactly those transitively derived from a retracted root."""
    states = debug_states(answers_of(impl, sc, sc.ops))
    expect(set(states) == set(sc.kind), "the debug graph's records are not the ones created")
    tombstoned = {r for r, s in states.items() if s == "Tombstoned"}
    rejected = {r for r, s in states.items() if s == "Rejected"}
    expect(tombstoned == sc.tombstoned, f"Tombstoned {sorted(x.hex() for x in tombstoned)} != "
           f"tombstoned evidence {sorted(x.hex() for x in sc.tombstoned)}")
    expect(rejected <= sc.rejected, "a claim no RejectClaim named is Rejected")
    roots = tombstoned | rejected
    expected = sc.closure(roots) - roots
    invalid = {r for r, s in states.items() if s == "Invalidated"}
    expect(invalid == expected,
           f"Invalidated but not derived from a retracted record: "
           f"{sorted(x.hex() for x in invalid - expected)}; derived but not Invalidated: "
           f"{sorted(x.hex() for x in expected - invalid)}")
    for claim in sc.rejected:
        expect(states[claim] in ("Rejected", "Invalidated"),
               f"claim {claim.hex()} was rejected but is {states[claim]}")


@check("DM-027")
@given(sc=scenarios(max_steps=6), data=st.data())
def check_support_created_later_rejected(impl: Impl, sc: Scenario, data: st.DataObject) -> None:
    """A claim citing a record created later in the total order is E_PROVENANCE_CYCLE."""
    author = Author(b"\x07" * 32)
    wall = max(sc.wall.values()) + 10
    later = record_id("ev", wall + 1, "later")
    ingest = author.op({"type": "IngestEvidence", "evidence": later, "hash": b"\x01" * 32,
                        "anchor": "later", "source_type": "calendar", "metadata": {}}, wall + 1)
    support = sorted([later] + data.draw(st.lists(st.sampled_from(sorted(sc.kind)),
                                                  max_size=1)))
    support = sorted(set(support))
    forward = author.op({"type": "AssertClaim", "claim": record_id("clm", wall, "fwd"),
                         "subject": None, "predicate": "p", "object": 0,
                         "supports": support}, wall)
    session = open_with(impl, [*sc.ops, ingest])
    try:
        impl.err("log.append", {"session": session, "op": forward.hex(), "now_ms": NOW_MS},
                 "E_PROVENANCE_CYCLE")
        edges = ask(impl, session, [{"q": "debug"}])[0]["edges"]
    finally:
        close(impl, session)
    walls = {**sc.wall, later: wall + 1}
    for child, parent in edges:
        c, p = bytes.fromhex(child), bytes.fromhex(parent)
        expect(c in walls and p in walls and walls[p] < walls[c],
               f"edge {child} -> {parent} does not point back in the total order")


@check("DM-019", "DM-022")
@given(sc=scenarios(max_steps=8), data=st.data())
def check_equivocation_quarantines(impl: Impl, sc: Scenario, data: st.DataObject) -> None:
    """A rival op at a stored op's timestamp: E_HLC_DUPLICATE, the stored op leaves every
    projection, its author is flagged, and a rebuild agrees."""
    stored = data.draw(st.sampled_from(sorted(sc.creator)))
    author = Author(sc.seed[stored])
    wall = sc.wall[stored]
    rival = author.op({"type": "IngestEvidence", "evidence": record_id("ev", wall, "rival"),
                       "hash": b"\x02" * 32, "anchor": "rival", "source_type": "calendar",
                       "metadata": {}}, wall, op_id=record_id("op", wall, "rival-op"))
    session = open_with(impl, sc.ops)
    try:
        impl.err("log.append", {"session": session, "op": rival.hex(), "now_ms": NOW_MS},
                 "E_HLC_DUPLICATE")
        queries = all_queries(sc)
        kept = ask(impl, session, queries)
        rebuilt = ask(impl, session, queries, "proj.rebuild")
    finally:
        close(impl, session)
    expect(kept == rebuilt, "after a quarantine, rebuild differs from the kept projections: "
           + first_difference(kept, rebuilt, queries))
    position = sorted(sc.kind).index(stored)
    expect(kept[position] == {"error": {"code": "E_NOT_FOUND"}},
           f"the quarantined op's record {stored.hex()} is still answered: "
           f"{json.dumps(kept[position])[:200]}")
    expect(author.node.hex() in kept[-1]["quarantined_authors"],
           "the equivocating author is not flagged in the debug graph")


# --- chapter 10 ------------------------------------------------------------------------


def scores(sc: Scenario, states: dict[bytes, str]) -> dict[bytes, int]:
    """The salience score of section 4.2, by the harness: live children of each live record."""
    children = sc.children()
    return {r: sum(1 for c in children.get(r, ()) if states[c] not in NOT_LIVE)
            for r, s in states.items() if s not in NOT_LIVE}


@check("PROJ-013", "PROJ-014", "PROJ-015", "PROJ-016", "PROJ-017", "PROJ-018")
@given(sc=scenarios(), data=st.data())
def check_salience_and_window(impl: Impl, sc: Scenario, data: st.DataObject) -> None:
    """Salience and the context window equal the harness's own computation from the states."""
    session = open_with(impl, sc.ops)
    try:
        states = debug_states(ask(impl, session, [{"q": "debug"}]))
        score = scores(sc, states)
        ranked = sorted(score, key=lambda r: (-score[r], r))
        k = data.draw(st.integers(0, len(ranked) + 1))
        chosen = [r for state in ("Fact", "Hint") for r in sorted(
            (c for c in score if states[c] == state), key=lambda c: (-score[c], c))]
        lines = [f"{sc.payload[c]['predicate']}: {canonical(sc.payload[c]['object']).hex()}"
                 for c in chosen]
        total = sum(len(line.encode()) + 1 for line in lines)
        budget = data.draw(st.integers(0, total + 2))
        salience, window = ask(impl, session, [{"q": "salience", "k": k},
                                               {"q": "inference", "budget": budget}])
    finally:
        close(impl, session)
    expect(salience == {"records": [{"id": r.hex(), "score": score[r]} for r in ranked[:k]]},
           f"salience k={k}: {json.dumps(salience)[:300]}")
    used, n = 0, 0
    while n < len(lines) and used + len(lines[n].encode()) + 1 <= budget:
        used += len(lines[n].encode()) + 1
        n += 1
    expect(window == {"lines": lines[:n], "ids": [c.hex() for c in chosen[:n]]},
           f"inference budget={budget}: {json.dumps(window)[:300]}; expected {lines[:n]}")


@check("PROJ-010", "PROJ-011", "PROJ-009")
@given(sc=scenarios())
def check_detail(impl: Impl, sc: Scenario) -> None:
    """Detail of every record has exactly its members, its edges and a consistent history."""
    answers = answers_of(impl, sc, sc.ops)
    states = debug_states(answers)
    children = sc.children()
    for record, answer in zip(sorted(sc.kind), answers, strict=False):
        kind = sc.kind[record]
        expect(isinstance(answer, dict) and set(answer) == MEMBERS[kind],
               f"detail of {record.hex()} has members {sorted(answer)}; "
               f"expected {sorted(MEMBERS[kind])}")
        created_by = op_hash(sc.creator[record]).hex()
        expect(answer["id"] == record.hex() and answer["kind"] == kind
               and answer["state"] == states[record] and answer["created_by"] == created_by,
               f"detail of {record.hex()}: id, kind, state or created_by wrong: "
               f"{json.dumps({k: answer[k] for k in ('id', 'kind', 'state', 'created_by')})}")
        expect(answer["supports"] == [s.hex() for s in sc.supports[record]]
               and answer["dependents"] == [c.hex() for c in sorted(children.get(record, ()))],
               f"detail of {record.hex()}: supports or dependents differ from the ops")
        history = answer["history"]
        expect(history[0] == {"op": created_by, "event": CREATION[kind], "from": None,
                              "to": INITIAL[kind]},
               f"detail of {record.hex()}: history does not start with its creation")
        expect(all(a["to"] == b["from"] for a, b in zip(history, history[1:], strict=False))
               and history[-1]["to"] == answer["state"],
               f"detail of {record.hex()}: history {json.dumps(history)[:300]} does not chain "
               f"to its state")
        payload = sc.payload[record]
        if kind == "clm":
            expect(answer["predicate"] == payload["predicate"] and answer["subject"] is None
                   and answer["object"] == to_notation(payload["object"]),
                   f"detail of claim {record.hex()}: fields differ from its AssertClaim")
        if kind == "ev":
            expect(answer["hash"] == payload["hash"].hex() and answer["anchor"] ==
                   payload["anchor"] and answer["metadata"] == to_notation(payload["metadata"])
                   and answer["content_present"] is False,
                   f"detail of evidence {record.hex()}: fields differ from its IngestEvidence")
    unknown = record_id("clm", BASE_MS, "never-created")
    session = open_with(impl, sc.ops[:1])
    try:
        missing = ask(impl, session, [{"q": "detail", "id": unknown.hex()}])[0]
    finally:
        close(impl, session)
    expect(missing == {"error": {"code": "E_NOT_FOUND"}},
           f"detail of an id never created: {json.dumps(missing)[:200]}")


@check("PROJ-012", "PROJ-018")
@given(content=st.binary(min_size=12, max_size=40), n_claims=st.integers(1, 3))
def check_evidence_bytes_never_answered(impl: Impl, content: bytes, n_claims: int) -> None:
    """Evidence bytes never appear in an answer; content_present stops with the tombstone."""
    author = Author(b"\x05" * 32)
    ev = record_id("ev", BASE_MS + 1, "leak")
    ops = [author.op({"type": "IngestEvidence", "evidence": ev,
                      "hash": blake3.blake3(content).digest(), "anchor": "leak",
                      "source_type": "photo", "metadata": {}}, BASE_MS + 1)]
    claims = [record_id("clm", BASE_MS + 2 + i, f"leak{i}") for i in range(n_claims)]
    ops += [author.op({"type": "AssertClaim", "claim": c, "subject": None, "predicate": "p",
                       "object": i, "supports": [ev]}, BASE_MS + 2 + i)
            for i, c in enumerate(claims)]
    tomb = author.op({"type": "TombstoneEvidence", "evidence": ev, "reason": "",
                      "cascade": []}, BASE_MS + 10)
    queries = [{"q": "detail", "id": ev.hex()}] + [
        {"q": "detail", "id": c.hex()} for c in claims] + [
        {"q": "salience", "k": 10}, {"q": "inference", "budget": 10_000}, {"q": "debug"}]
    for with_tomb in (False, True):
        out = impl.ok("log.query", {"ops": [o.hex() for o in ops + ([tomb] if with_tomb else [])],
                                    "now_ms": NOW_MS, "queries": queries,
                                    "evidence": [content.hex()]})
        text = json.dumps(out.get("answers"))
        expect(content.hex() not in text, "evidence content bytes appear in an answer")
        present = out["answers"][0].get("content_present")
        expect(present is (not with_tomb),
               f"content_present is {present} {'after' if with_tomb else 'before'} the tombstone")
        if with_tomb:
            expect(out["answers"][-2] == {"lines": [], "ids": []},
                   f"the window still carries claims of tombstoned evidence: "
                   f"{json.dumps(out['answers'][-2])[:200]}")


# --- chapter 01's fold rules in the engine's view (class Engine) -----------------------


@check("DM-015", "DM-018", "DM-034", "ENG-021", "ENG-022", "ENG-030")
@given(n=st.integers(3, 7), data=st.data())
def check_engine_view_folds_the_log(impl: Impl, n: int, data: st.DataObject) -> None:
    """The engine folds the applied ops in total order whatever their delivery order, keeps
    a record's first creation, and invalidates everything transitively derived from a
    tombstoned record, so the citations it reports are those of the harness's graph."""
    first, second = Author(b"\x0b" * 32), Author(b"\x0c" * 32)
    wall = BASE_MS + 100
    ev, other, kept = (record_id("ev", wall, "chain"), record_id("ev", wall + 1, "other"),
                       record_id("ev", wall + 2, "kept"))

    def ingest(record: bytes, label: str) -> dict[str, Any]:
        return {"type": "IngestEvidence", "evidence": record, "hash": blake3.blake3(
            label.encode()).digest(), "anchor": label, "source_type": "calendar", "metadata": {}}

    def claim(record: bytes, supports: list[bytes], obj: int) -> dict[str, Any]:
        return {"type": "AssertClaim", "claim": record, "subject": None, "predicate": "link",
                "object": obj, "supports": sorted(supports)}

    ops = [first.op(ingest(ev, "chain"), wall), first.op(ingest(other, "other"), wall + 1),
           first.op(ingest(kept, "kept"), wall + 2)]
    chain, parent = [], ev
    for i in range(n):  # a chain from `ev`, each link citing the one before
        record = record_id("clm", wall + 3 + i, f"link-{i}")
        ops.append(first.op(claim(record, [parent], i), wall + 3 + i))
        chain.append(record)
        parent = record
    b0, b1 = record_id("clm", wall + 20, "b0"), record_id("clm", wall + 21, "b1")
    ops += [first.op(claim(b0, [kept], 0), wall + 20), first.op(claim(b1, [b0], 1), wall + 21)]
    # [DM-034] a later creation of b1, by another author, citing `other`: ignored. (Of a
    # record no op cites: were one to cite it, delivered before the first creation it would
    # name a support created later, E_PROVENANCE_CYCLE by DM-027.)
    ops.append(second.op(claim(b1, [other], 99), wall + 22))
    ops.append(first.op({"type": "TombstoneEvidence", "evidence": ev, "reason": "",
                         "cascade": [chain[0]]}, wall + 30))  # lists only the first link
    ops.append(first.op({"type": "TombstoneEvidence", "evidence": other, "reason": "",
                         "cascade": []}, wall + 31))
    rejected = record_id("clm", wall + 23, "rejected")  # a root itself: no longer live
    ops.insert(-2, first.op(claim(rejected, [kept], 2), wall + 23))
    ops.append(first.op({"type": "RejectClaim", "claim": rejected, "reason": "",
                         "cascade": []}, wall + 32))
    order = data.draw(st.permutations(ops), label="delivery order")
    queries = [{"query": "citations", "id": r.hex()} for r in [kept, other, *chain]]
    out = impl.ok("engine.run", {"ops": [o.hex() for o in order], "now_ms": NOW_MS,
                                 "queries": queries})
    expect(out.get("applied") == [op_hash(o).hex() for o in ops],
           f"applied {out.get('applied')!r:.300}, not every op in total order")
    want = [{"direct": [b0.hex()], "transitive": sorted([b0.hex(), b1.hex()])}] + [
        {"direct": [], "transitive": []} for _ in [other, *chain]]
    expect(len(out.get("answers") or []) == len(queries), "one answer per query")
    for q, got, expected in zip(queries, out.get("answers") or [], want, strict=False):
        expect(got == expected, f"{json.dumps(q)}: {json.dumps(got)[:300]}, expected "
               f"{json.dumps(expected)} (the chain from the tombstoned evidence is "
               "invalidated; b1's later creation citing tombstoned `other` is ignored)")


# --- order independence when authority is decided again (class Authority) ---------------


@check("DM-025", "UCAN-036", "DM-022", "PROJ-008")
@given(late=st.booleans())
def check_order_independent_with_revocation(impl: Impl, late: bool) -> None:
    """A revocation delivered after an op it makes unauthorized (its timestamp is earlier
    than that claim's) gives the answers of the total-order delivery and of a rebuild: the
    claim leaves every projection."""
    t1 = au.make_token("root", "p1", (au.Cap("strata:*", "*"),), label="proj")
    t2 = au.make_token("p1", "p2", (au.Cap("strata:claim", "claim/assert"),), (t1.hash,),
                       label="proj")
    evidence = au.payload_for("IngestEvidence:calendar")["evidence"]
    claims = [record_id("clm", au.T0, f"revoked-{i}") for i in range(2)]
    ops = [au.author_op("root", {"type": "DelegateUcan", "token": t1.data}, au.T0 + 1),
           au.author_op("p1", {"type": "DelegateUcan", "token": t2.data}, au.T0 + 2),
           au.author_op("p1", au.payload_for("IngestEvidence:calendar"), au.T0 + 3),
           au.author_op("p2", {"type": "AssertClaim", "claim": claims[0], "subject": None,
                               "predicate": "p", "object": 0, "supports": [evidence]}, au.T0 + 4),
           au.author_op("root", {"type": "RevokeUcan", "token_hash": t2.hash, "reason": ""},
                        au.T0 + 5),
           au.author_op("p2", {"type": "AssertClaim", "claim": claims[1], "subject": None,
                               "predicate": "p", "object": 1, "supports": [evidence]}, au.T0 + 6)]
    # the revocation last; before it, every other op in total order or the last claim first
    others = [*ops[:4], ops[5]] if late else [*ops[:3], ops[5], ops[3]]
    queries = [{"q": "detail", "id": c.hex()} for c in claims] + [{"q": "debug"}]
    in_order = impl.ok("log.query", {"root": au.did("root"), "ops": [o.hex() for o in ops],
                                     "now_ms": au.T0 + 1000, "queries": queries})["answers"]
    session = str(impl.ok("log.open", {"root": au.did("root")})["session"])
    try:
        for op in others:
            impl.ok("log.append", {"session": session, "op": op.hex(), "now_ms": au.T0 + 1000})
        ask(impl, session, queries)  # projections kept up to here
        impl.ok("log.append", {"session": session, "op": ops[4].hex(), "now_ms": au.T0 + 1000})
        kept, rebuilt = ask(impl, session, queries), ask(impl, session, queries, "proj.rebuild")
    finally:
        close(impl, session)
    for name, got in (("kept", kept), ("rebuilt", rebuilt)):
        expect(got == in_order, f"the answers {name} after a late revocation differ from the "
               "total-order delivery: " + first_difference(got, in_order, queries))
    expect(in_order[0].get("state") == "Hint"
           and in_order[1] == {"error": {"code": "E_NOT_FOUND"}},
           f"the claim before the revocation is {json.dumps(in_order[0])[:120]}, the one "
           f"after it {json.dumps(in_order[1])[:120]} (expected Hint, then E_NOT_FOUND)")


@check("DM-025", "DM-019", "PROJ-008", "DM-022")
@given(early_wall=st.integers(2, 4))
def check_quarantine_between_queries(impl: Impl, early_wall: int) -> None:
    """Projections queried, then a rival that quarantines an applied op and an op earlier than
    every claim arrive before the next query: the answers are those of a rebuild."""
    author = Author(b"\x0a" * 32)
    ev = record_id("ev", BASE_MS, "quarantine")
    c1, c2, early = (record_id("clm", BASE_MS, label) for label in ("c1", "c2", "early"))

    def claim(record: bytes, obj: int) -> dict[str, Any]:
        return {"type": "AssertClaim", "claim": record, "subject": None, "predicate": "p",
                "object": obj, "supports": [ev]}

    ingest = {"type": "IngestEvidence", "evidence": ev, "hash": bytes(32), "anchor": "q",
              "source_type": "calendar", "metadata": {}}
    queries = [{"q": "detail", "id": r.hex()} for r in (c1, c2, early)] + [{"q": "debug"}]
    session = open_with(impl, [author.op(ingest, BASE_MS + 1), author.op(claim(c1, 1), BASE_MS + 5),
                               author.op(claim(c2, 2), BASE_MS + 10)])
    try:
        kept, rebuilt = ask(impl, session, queries), ask(impl, session, queries, "proj.rebuild")
        expect(kept == rebuilt, "the first answers kept differ from a rebuild: "
               + first_difference(kept, rebuilt, queries))
        rival = author.op(claim(record_id("clm", BASE_MS, "rival"), 3), BASE_MS + 5)
        impl.err("log.append", {"session": session, "op": rival.hex(), "now_ms": NOW_MS},
                 "E_HLC_DUPLICATE")
        impl.ok("log.append", {"session": session, "now_ms": NOW_MS,
                               "op": author.op(claim(early, 4), BASE_MS + early_wall).hex()})
        kept, rebuilt = ask(impl, session, queries), ask(impl, session, queries, "proj.rebuild")
    finally:
        close(impl, session)
    expect(kept == rebuilt, "the projections kept differ from a rebuild: "
           + first_difference(kept, rebuilt, queries))
    expect(kept[0] == {"error": {"code": "E_NOT_FOUND"}} and kept[2].get("state") == "Hint",
           f"the quarantined claim: {json.dumps(kept[0])[:100]}; the early one: "
           f"{json.dumps(kept[2])[:100]} (expected E_NOT_FOUND, then Hint)")
