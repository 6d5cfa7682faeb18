"""State-machine conformance (spec/12-fsms.md): every transition observed is in the tables.

The tables come from the suite (`vectors/fsms.json`, generated from spec/12),
so a spec author who edits a table changes what this check accepts. The
scenarios are those of the projections suite; the record histories the
implementation reports through `detail` are replayed against the tables.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given

from conformance.suites import Impl, check, expect
from conformance.suites.projections import Scenario, answers_of, scenarios

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
    for before, step in zip(history, history[1:], strict=False):
        expect(step["from"] == before["to"],
               f"{detail['id']}: history jumps from {before['to']} to a step out of "
               f"{step['from']}")
        expect((step["from"], step["event"], step["to"]) in lines,
               f"{detail['id']}: {step['from']} --{step['event']}--> {step['to']} is not a line "
               f"of the {table['name']} table (FSM-003)")
        expect(step["from"] not in table["absorbing"],
               f"{detail['id']}: left the absorbing state {step['from']} (FSM-010)")
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
