"""State-machine conformance (spec/12-fsms.md): every transition observed is in the tables.

The tables come from the suite (`vectors/fsms.json`, generated from spec/12),
so a spec author who edits a table changes what this check accepts. The
scenarios are those of the projections suite; the record histories the
implementation reports through `detail` are replayed against the tables.
"""

from __future__ import annotations

import random
from typing import Any

import cbor2
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._ops import BASE_MS, NOW_MS, Author, record_id
from conformance.suites.projections import Scenario, answers_of, scenarios

# the op's own event goes to the record this payload field names (spec/10 section 2.2)
TARGET_FIELD = {"ConfirmClaim": "claim", "RejectClaim": "claim",
                "TombstoneEvidence": "evidence"}
MACHINE_OF_KIND = {"ev": "evidence", "clm": "claim", "ent": "entity", "epi": "episode",
                   "act": "suggested_action", "job": "job"}


def check_history(table: dict[str, Any], detail: dict[str, Any]) -> None:
    """A record's history starts with its creation and follows the table line by line."""
    lines = {(t["from"], t["event"], t["to"]) for t in table["transitions"]}
    history = detail.get("history") or []
    expect(bool(history), f"{detail.get('id')}: no history")
    first = history[0]
    expect(first["from"] is None and first["to"] == table["initial"]
           and first["event"] in table["created_by"],
           f"{detail['id']}: created by {first} instead of {table['created_by']} into "
           f"{table['initial']} (FSM-002)")
    keep = {i["arg"] for i in table.get("invariants", []) if i["kind"] == "no_resurrection"}
    for before, step in zip(history, history[1:], strict=False):
        expect(step["from"] == before["to"],
               f"{detail['id']}: history jumps from {before['to']} to a step out of "
               f"{step['from']}")
        expect((step["from"], step["event"], step["to"]) in lines,
               f"{detail['id']}: {step['from']} --{step['event']}--> {step['to']} is not a line "
               f"of the {table['name']} table (FSM-003)")
        expect(step["from"] not in table["absorbing"],
               f"{detail['id']}: left the absorbing state {step['from']} (FSM-010)")
        expect(step["from"] not in keep or step["to"] == step["from"],
               f"{detail['id']}: left the no_resurrection state {step['from']} (FSM-011)")
    expect(detail.get("state") == history[-1]["to"] and detail["state"] in table["states"],
           f"{detail['id']}: state {detail.get('state')} is not where its history ends "
           f"(FSM-001)")


@check("FSM-001", "FSM-002", "FSM-003", "FSM-004", "FSM-010", "FSM-011", "FSM-013",
       "FSM-014", "FSM-016")
@given(sc=scenarios(max_steps=14))
def check_histories_follow_the_tables(impl: Impl, sc: Scenario) -> None:
    """Every record's reported history is a path through its machine's table."""
    tables = {m["name"]: m for m in impl.fsms.get("machines", [])}
    expect(bool(tables), "the suite has no state-machine tables (vectors/fsms.json)")
    answers = answers_of(impl, sc, sc.ops)
    for detail in answers[: len(sc.kind)]:
        machine = MACHINE_OF_KIND.get(str(detail.get("kind")))
        expect(machine in tables, f"record kind {detail.get('kind')} has no machine")
        check_history(tables[str(machine)], detail)


def model_states(fsms: dict[str, Any], sc: Scenario) -> dict[bytes, str]:
    """Section 2 applied by the harness: the state of every record after the scenario's ops.

    For each op in the total order: its own event (a creation, or the table's line from the
    record's state, else ignored), then `cascade` once to every record that now transitively
    depends on a retracted record. The scenarios hold no merge and no action, so no guard of
    chapter 10 applies, and only creations list supports, so those are the only edges.
    """
    tables = {m["name"]: m for m in fsms["machines"]}
    lines = {name: {(t["from"], t["event"]): t["to"] for t in table["transitions"]}
             for name, table in tables.items()}
    retracting = set(fsms["retracting_states"])
    created = {op: record for record, op in sc.creator.items()}
    machine: dict[bytes, str] = {}
    state: dict[bytes, str] = {}
    children: dict[bytes, set[bytes]] = {}
    cascaded: set[bytes] = set()

    def deliver(record: bytes, event: str) -> None:
        if record in state:  # FSM-005: no such record, ignored
            state[record] = lines[machine[record]].get((state[record], event), state[record])

    for data in sc.ops:
        payload = cbor2.loads(data)["payload"]
        if data in created:
            record = created[data]
            name = MACHINE_OF_KIND[sc.kind[record]]
            expect(payload["type"] in tables[name]["created_by"],
                   f"harness: {payload['type']} does not create a {name}")
            if record not in state:
                machine[record], state[record] = name, tables[name]["initial"]
                for support in sc.supports[record]:
                    children.setdefault(support, set()).add(record)
        else:
            deliver(bytes(payload[TARGET_FIELD[payload["type"]]]), payload["type"])
        frontier = [r for r, s in state.items() if s in retracting]
        tainted: set[bytes] = set()
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in tainted:
                    tainted.add(child)
                    frontier.append(child)
        for record in sorted(tainted - cascaded):
            cascaded.add(record)
            deliver(record, "cascade")
    return state


@check("FSM-001", "FSM-002", "FSM-003", "FSM-004", "FSM-006", "FSM-007", "FSM-010", "FSM-011")
@given(sc=scenarios(max_steps=14))
def check_states_are_the_tables(impl: Impl, sc: Scenario) -> None:
    """Every record ends in the state the tables give for the events of the ops in order
    (a record in an absorbing or no_resurrection state stays there: no line leads out)."""
    expect(bool(impl.fsms.get("machines")), "the suite has no state-machine tables")
    want = model_states(impl.fsms, sc)
    answers = answers_of(impl, sc, sc.ops)
    for record, detail in zip(sorted(sc.kind), answers, strict=False):
        expect(detail.get("state") == want[record],
               f"{record.hex()}: state {detail.get('state')}, the tables give {want[record]}")


MERGE_AUTHOR = Author(bytes([7]) * 32)


def merge_ops() -> tuple[list[bytes], dict[str, str]]:
    """A merges into B; C, not created yet, into A; A, now Merged, into B again; C is created."""
    a, b, c = (record_id("ent", BASE_MS, f"fsm-015/{n}") for n in "abc")

    def create(entity: bytes, wall: int) -> bytes:
        return MERGE_AUTHOR.op({"type": "CreateEntity", "entity": entity, "kind": "person",
                                "attributes": {}, "supports": []}, wall)

    def merge(source: bytes, target: bytes, wall: int) -> bytes:
        return MERGE_AUTHOR.op({"type": "MergeEntity", "source": source, "target": target,
                                "supports": []}, wall)

    ops = [create(a, BASE_MS), create(b, BASE_MS + 10), merge(a, b, BASE_MS + 20),
           merge(c, a, BASE_MS + 21), merge(a, b, BASE_MS + 22), create(c, BASE_MS + 30)]
    return ops, {a.hex(): "Merged", b.hex(): "Active", c.hex(): "Active"}


@check("FSM-015")
@given(order=st.randoms(use_true_random=False))
def check_merge_moves_only_its_source(impl: Impl, order: random.Random) -> None:
    """A merge moves an Active source to Merged; a source not yet created or already Merged
    ignores it, and the target receives nothing, whatever the delivery order."""
    ops, want = merge_ops()
    order.shuffle(ops)
    out = impl.ok("mesh.resolve_merges", {"ops": [o.hex() for o in ops], "now_ms": NOW_MS})
    got = {e["id"]: e["state"] for e in out.get("entities", [])}
    expect(got == want, f"entity states {got}, FSM-015 gives {want}")
