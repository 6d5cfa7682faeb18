"""Tests of spec/12-fsms.md's tables: the parser, the z3 prover, reference.fsms and the
model of sections 2 and 3 in tests/_lifecycles.py."""

from __future__ import annotations

import json
from pathlib import Path

import _lifecycles as lifecycles
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from reference import fsms
from reference._require import SpecViolation
from reference.introduction import ErrorCode
from tools.fsm import (
    FsmFormatError,
    Machine,
    load_machines,
    machines_catalogue,
    parse_machines,
)
from tools.prove import ProofResult, main_prove, prove_machine

ROOT = Path(__file__).resolve().parent.parent

CLAIM_TABLE = """\
machine: claim
states: Hint, Fact, Rejected, Invalidated
initial: Hint
absorbing: Rejected, Invalidated
created_by: AssertClaim
transitions:
  Hint --ConfirmClaim--> Fact
  Hint --RejectClaim--> Rejected
  Fact --RejectClaim--> Rejected
  Hint --cascade--> Invalidated
  Fact --cascade--> Invalidated
invariants:
  absorbing Rejected
  absorbing Invalidated
  no_resurrection Invalidated
  reachable Fact
  cascade_closed
  deterministic
  terminal_reachable
"""


def fenced(body: str) -> str:
    """A table body inside an fsm fence."""
    return f"```fsm\n{body}```\n"


def write_spec(root: Path, *tables: str, name: str = "12-fsms.md") -> Path:
    """A spec/ folder whose chapter holds the given tables, each after a line of prose."""
    spec = root / "spec"
    spec.mkdir(parents=True, exist_ok=True)
    text = "# 12. State Machines\n\n" + "".join(f"Prose.\n\n{fenced(t)}\n" for t in tables)
    (spec / name).write_text(text)
    return root


def prove_text(tmp_path: Path, table: str) -> dict[str, ProofResult]:
    """Parse one table from a tmp spec tree and prove it; results by invariant line."""
    (machine,) = load_machines(write_spec(tmp_path, table))
    return {r.invariant: r for r in prove_machine(machine)}


def line_of(root: Path, text: str) -> int:
    """The 1-based line of `text` in the tmp chapter."""
    lines = (root / "spec" / "12-fsms.md").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.strip() == text)


def broken(table: str, add: str = "", remove: str = "") -> str:
    """`table` with one transition line added after `transitions:` and/or one removed."""
    if remove:
        assert f"  {remove}\n" in table
        table = table.replace(f"  {remove}\n", "")
    if add:
        table = table.replace("transitions:\n", f"transitions:\n  {add}\n")
    return table


# --- the real chapter ---------------------------------------------------------------------------


def test_spec_prove_passes_on_the_real_spec(capsys: pytest.CaptureFixture[str]) -> None:
    """`strata spec prove` proves every invariant of every table of the real spec."""
    assert main_prove(ROOT, verbose=False) == 0
    out = capsys.readouterr().out
    assert "FAILED" not in out
    assert "proved  claim: reachable Fact  [Hint --ConfirmClaim--> Fact]" in out


def test_real_spec_defines_the_seven_machines() -> None:
    """Chapter 12 defines exactly the seven machines of its section 4; every table is proved."""
    machines = load_machines(ROOT)
    assert [m.name for m in machines if m.source.startswith("spec/12-fsms.md:")] == [
        "evidence", "claim", "entity", "episode", "suggested_action", "job", "delegation"]
    for m in machines:
        results = prove_machine(m)
        assert len(results) == len(m.invariants)
        assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_reference_tables_equal_the_spec_tables() -> None:
    """reference/fsms.py carries exactly the tables the spec states, field by field."""
    machines = {m.name: m for m in load_machines(ROOT)}
    assert set(machines) == set(fsms.TABLES)
    for name, m in machines.items():
        ref = fsms.TABLES[name]
        assert ref.states == m.states, name
        assert ref.initial == m.initial, name
        assert ref.absorbing == m.absorbing, name
        assert ref.created_by == m.created_by, name
        assert ref.transitions == m.transitions, name
        assert ref.invariants == m.invariants, name


def test_reference_table_requirements_are_cited_in_the_chapter() -> None:
    """Each reference table cites the id of its machine's own sentence in its chapter."""
    sources = {m.name: m.source.split(":")[0] for m in load_machines(ROOT)}
    for table in fsms.TABLES.values():
        text = (ROOT / sources[table.name]).read_text()
        section = text[text.index(f"machine: {table.name}\n"):]
        section = section[:section.index("\n### ") if "\n### " in section else len(section)]
        assert f"[{table.requirement}]." in section, table.name


def test_reference_tables_satisfy_their_invariants() -> None:
    """The exhaustive invariant check finds nothing broken in the reference's tables."""
    for table in fsms.TABLES.values():
        assert lifecycles.failing_invariants(table) == []


def test_catalogue_is_json_and_lists_every_transition() -> None:
    """machines_catalogue gives JSON the harness can read, with every table line."""
    machines = load_machines(ROOT)
    catalogue = json.loads(json.dumps(machines_catalogue(machines)))
    assert catalogue["format"] == "strata-fsms/1"
    by_name = {m["name"]: m for m in catalogue["machines"]}
    claim = by_name["claim"]
    assert {"from": "Hint", "event": "ConfirmClaim", "to": "Fact"} in claim["transitions"]
    assert claim["created_by"] == ["AssertClaim"]
    assert {"kind": "deterministic", "arg": None} in claim["invariants"]
    assert sum(len(m["transitions"]) for m in catalogue["machines"]) == sum(
        len(m.transitions) for m in machines)


# --- broken tables fail with a counterexample ---------------------------------------------------


def test_invalid_transition_out_of_an_absorbing_state(tmp_path: Path) -> None:
    """A transition out of an absorbing state fails `absorbing` naming that transition and line."""
    results = prove_text(tmp_path, broken(CLAIM_TABLE, add="Rejected --ConfirmClaim--> Fact"))
    line = line_of(tmp_path, "Rejected --ConfirmClaim--> Fact")
    failed = {k for k, r in results.items() if not r.ok}
    assert failed == {"absorbing Rejected"}
    detail = results["absorbing Rejected"].detail
    assert f"Rejected --ConfirmClaim--> Fact (spec/12-fsms.md:{line})" in detail


def test_invalid_resurrection(tmp_path: Path) -> None:
    """A way back out of a no_resurrection state fails it naming the escaping transition."""
    table = broken(CLAIM_TABLE, add="Invalidated --ConfirmClaim--> Fact")
    results = prove_text(tmp_path, table)
    assert not results["no_resurrection Invalidated"].ok
    assert "Invalidated --ConfirmClaim--> Fact" in results["no_resurrection Invalidated"].detail
    assert not results["absorbing Invalidated"].ok
    assert results["deterministic"].ok


def test_invalid_resurrection_of_a_state_that_is_not_absorbing(tmp_path: Path) -> None:
    """no_resurrection is checked on its own: a non-absorbing state with a way out fails it."""
    table = """\
machine: lamp
states: Off, On, Broken
initial: Off
absorbing:
created_by: InstallLamp
transitions:
  Off --SwitchOn--> On
  On --Overload--> Broken
  Broken --Repair--> Off
  Broken --Kick--> Broken
invariants:
  no_resurrection Broken
  reachable Broken
"""
    results = prove_text(tmp_path, table)
    assert results["reachable Broken"].ok
    assert results["reachable Broken"].detail == "Off --SwitchOn--> On --Overload--> Broken"
    assert not results["no_resurrection Broken"].ok
    detail = results["no_resurrection Broken"].detail
    assert "Broken --Repair--> Off" in detail and "Kick" not in detail


def test_invalid_unreachable_state(tmp_path: Path) -> None:
    """A state no path from the initial state reaches fails `reachable` and says so."""
    table = broken(CLAIM_TABLE, remove="Hint --ConfirmClaim--> Fact")
    results = prove_text(tmp_path, table)
    assert not results["reachable Fact"].ok
    assert "Fact is unreachable" in results["reachable Fact"].detail
    assert "reachable: Hint, Rejected, Invalidated" in results["reachable Fact"].detail
    assert results["terminal_reachable"].ok


def test_invalid_state_with_no_way_to_an_absorbing_state(tmp_path: Path) -> None:
    """A trap cycle of live states fails `terminal_reachable` naming the stuck states."""
    table = """\
machine: loop
states: A, B, Done
initial: A
absorbing: Done
created_by: StartLoop
transitions:
  A --Go--> B
  B --Go--> A
  A --Finish--> Done
  B --Stay--> B
invariants:
  absorbing Done
  terminal_reachable
"""
    assert prove_text(tmp_path, table)["terminal_reachable"].ok
    trapped = table.replace("  A --Finish--> Done\n", "  C --Finish--> Done\n").replace(
        "states: A, B, Done", "states: A, B, C, Done")
    result = prove_text(tmp_path / "2", trapped)["terminal_reachable"]
    assert not result.ok
    assert "from A no absorbing state is reachable" in result.detail
    assert "from B no absorbing state is reachable" in result.detail
    assert "from C" not in result.detail


def test_invalid_missing_cascade(tmp_path: Path) -> None:
    """A non-absorbing state without a cascade to Invalidated fails `cascade_closed`."""
    results = prove_text(tmp_path, broken(CLAIM_TABLE, remove="Fact --cascade--> Invalidated"))
    assert not results["cascade_closed"].ok
    assert "missing: Fact --cascade--> Invalidated" in results["cascade_closed"].detail
    assert "Hint" not in results["cascade_closed"].detail
    assert [k for k, r in results.items() if not r.ok] == ["cascade_closed"]


def test_invalid_cascade_to_another_state(tmp_path: Path) -> None:
    """A cascade that ends elsewhere than Invalidated fails `cascade_closed`, naming it."""
    table = broken(CLAIM_TABLE, remove="Fact --cascade--> Invalidated",
                   add="Fact --cascade--> Rejected")
    result = prove_text(tmp_path, table)["cascade_closed"]
    assert not result.ok
    assert "Fact --cascade--> Rejected" in result.detail


def test_invalid_nondeterministic_pair(tmp_path: Path) -> None:
    """Two transitions with one source and event fail `deterministic`, naming both lines."""
    results = prove_text(tmp_path, broken(CLAIM_TABLE, add="Hint --ConfirmClaim--> Rejected"))
    result = results["deterministic"]
    assert not result.ok
    first = line_of(tmp_path, "Hint --ConfirmClaim--> Rejected")
    second = line_of(tmp_path, "Hint --ConfirmClaim--> Fact")
    assert f"Hint --ConfirmClaim--> Rejected (spec/12-fsms.md:{first})" in result.detail
    assert f"Hint --ConfirmClaim--> Fact (spec/12-fsms.md:{second})" in result.detail
    assert result.detail.count(" and ") == 1  # the pair once, not once per order


def test_invalid_broken_table_fails_main_prove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main_prove prints FAILED with the counterexample and exits 1 on a broken table."""
    write_spec(tmp_path, broken(CLAIM_TABLE, add="Rejected --ConfirmClaim--> Fact"))
    assert main_prove(tmp_path, verbose=True) == 1
    out = capsys.readouterr().out
    assert "FAILED  claim: absorbing Rejected  [transition out of absorbing state: " \
           "Rejected --ConfirmClaim--> Fact" in out
    assert "1 machines, 7 invariants, 6 proved, 1 failed" in out


def test_invalid_no_tables_fails_main_prove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec folder without any fsm table is a failure, not a vacuous pass."""
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "05-clocks.md").write_text("# 05. Clocks\n\n```text\nx\n```\n")
    assert main_prove(tmp_path) == 1
    assert "no ```fsm tables" in capsys.readouterr().out


@pytest.mark.parametrize("edit", [
    {"add": "Rejected --ConfirmClaim--> Fact"},
    {"add": "Invalidated --RejectClaim--> Rejected"},
    {"remove": "Hint --ConfirmClaim--> Fact"},
    {"remove": "Fact --cascade--> Invalidated"},
    {"add": "Fact --cascade--> Hint"},
    {"add": "Hint --ConfirmClaim--> Rejected"},
    {"add": "Hint --RejectClaim--> Fact"},
])
def test_z3_verdicts_equal_the_reference_predicates(tmp_path: Path, edit: dict[str, str]) -> None:
    """On every broken table, z3's verdict per invariant equals exhaustive evaluation."""
    table = broken(CLAIM_TABLE, **edit)
    (machine,) = load_machines(write_spec(tmp_path, table))
    as_reference = fsms.Table(machine.name, "FSM-014", machine.states, machine.initial,
                              machine.absorbing, machine.created_by, machine.transitions,
                              machine.invariants)
    verdicts = {r.invariant: r.ok for r in prove_machine(machine)}
    expected = {(k if a is None else f"{k} {a}"): lifecycles.holds(as_reference, (k, a))
                for k, a in machine.invariants}
    assert verdicts == expected
    assert not all(verdicts.values())


# --- the parser ---------------------------------------------------------------------------------


def parse_errors(body: str) -> list[str]:
    """The problems parse_machines reports for one fenced table after two lines of prose."""
    with pytest.raises(FsmFormatError) as info:
        parse_machines("# 12. X\n\n" + fenced(body), "spec/12-fsms.md")
    return info.value.problems


def test_parser_reads_the_example() -> None:
    """The example table parses into the Machine it spells out."""
    (m,) = parse_machines("intro\n\n" + fenced(CLAIM_TABLE), "spec/12-fsms.md")
    assert m == Machine(
        name="claim", states=("Hint", "Fact", "Rejected", "Invalidated"), initial="Hint",
        absorbing=("Rejected", "Invalidated"), created_by=("AssertClaim",),
        transitions=(("Hint", "ConfirmClaim", "Fact"), ("Hint", "RejectClaim", "Rejected"),
                     ("Fact", "RejectClaim", "Rejected"), ("Hint", "cascade", "Invalidated"),
                     ("Fact", "cascade", "Invalidated")),
        invariants=(("absorbing", "Rejected"), ("absorbing", "Invalidated"),
                    ("no_resurrection", "Invalidated"), ("reachable", "Fact"),
                    ("cascade_closed", None), ("deterministic", None),
                    ("terminal_reachable", None)),
        source="spec/12-fsms.md:4",
    )
    assert m.transition_lines == (10, 11, 12, 13, 14)


def test_parser_skips_other_fences_comments_and_blank_lines() -> None:
    """Only fsm fences define machines; comments and blank lines inside one are skipped."""
    body = CLAIM_TABLE.replace("transitions:\n", "transitions:\n\n  # the user decides\n")
    text = "```text\nmachine: nope\n```\n\n" + fenced(body) + "~~~python\nx = 1\n~~~\n"
    (m,) = parse_machines(text, "spec/x.md")
    assert m.name == "claim" and len(m.transitions) == 5


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("states: Hint, Fact,", "states: Hint, Hint,", 5, "duplicate state Hint"),
    ("  Hint --ConfirmClaim--> Fact", "  Hint --ConfirmClaim--> Facts", 10,
     "unknown state Facts in transition target"),
    ("initial: Hint", "initial: Start", 6, "unknown state Start in initial"),
    ("  Hint --ConfirmClaim--> Fact", "  Hint -ConfirmClaim-> Fact", 10,
     "malformed transition line"),
    ("  Hint --ConfirmClaim--> Fact", "  Hint --Confirm Claim--> Fact", 10,
     "malformed transition line"),
    ("  reachable Fact", "  reachable Fact Hint", 19, "malformed invariant line"),
    ("  reachable Fact", "  reachable Facts", 19, "unknown state Facts in invariant reachable"),
    ("  deterministic", "  determinism", 21, "unknown invariant kind 'determinism'"),
    ("  deterministic", "  deterministic Hint", 21, "takes no argument"),
    ("  reachable Fact", "  reachable", 19, "names a state"),
    ("machine: claim", "machine: Claim", 4, "malformed machine name 'Claim'"),
    ("states: Hint,", "states: hint,", 5, "malformed state name 'hint'"),
    ("created_by: AssertClaim", "created_by: ", 8, "at least one op type"),
    ("created_by: AssertClaim", "created_by: assert_claim", 8, "malformed op type name"),
    ("initial: Hint\n", "initial: Hint\nfinal: Fact\n", 7, "malformed line 'final: Fact'"),
    ("absorbing: Rejected, Invalidated", "absorbing: Invalidated", 7,
     "Rejected is a retracting state and must be listed as absorbing"),
    ("absorbing: Rejected, Invalidated", "absorbing: Rejected, Invalidated, Fact", 7,
     "absorbing state Fact has no 'absorbing Fact' invariant line"),
    ("  no_resurrection Invalidated", "  absorbing Hint", 18,
     "'absorbing Hint': Hint is not listed on the 'absorbing:' line"),
    ("  Fact --cascade--> Invalidated", "  Fact --cascade--> Invalidated\n"
     "  Hint --cascade--> Invalidated", 15, "duplicate transition Hint --cascade--> Invalidated"),
    ("  deterministic", "  deterministic\n  absorbing Rejected", 22,
     "duplicate invariant absorbing Rejected"),
    ("transitions:\n", "transitions: none\n", 9, "'transitions:' takes no value"),
])
def test_invalid_table_is_rejected_with_its_line(
    old: str, new: str, line: int, message: str
) -> None:
    """Each malformed table is rejected with a message naming the offending line."""
    assert old in CLAIM_TABLE
    problems = parse_errors(CLAIM_TABLE.replace(old, new, 1))
    assert any(p.startswith(f"spec/12-fsms.md:{line}: ") and message in p for p in problems), \
        problems


def test_invalid_header_out_of_order_or_missing() -> None:
    """Header lines come in their fixed order, each once; a missing one is reported."""
    swapped = CLAIM_TABLE.replace("initial: Hint\nabsorbing: Rejected, Invalidated\n",
                                  "absorbing: Rejected, Invalidated\ninitial: Hint\n")
    assert any(p.startswith("spec/12-fsms.md:6: 'absorbing:' out of order")
               for p in parse_errors(swapped))
    missing = CLAIM_TABLE.replace("created_by: AssertClaim\n", "")
    assert "spec/12-fsms.md:3: fsm block has no 'created_by:' line" in parse_errors(missing)
    doubled = CLAIM_TABLE.replace("initial: Hint\n", "initial: Hint\ninitial: Fact\n")
    assert any("7: duplicate 'initial:' line (first at line 6)" in p
               for p in parse_errors(doubled))


def test_invalid_indented_line_outside_a_section() -> None:
    """An indented line before `transitions:` belongs nowhere and is rejected."""
    problems = parse_errors(CLAIM_TABLE.replace("initial: Hint\n", "initial: Hint\n  Hint\n"))
    assert any(p.startswith("spec/12-fsms.md:7: malformed line 'Hint'") for p in problems)


def test_invalid_cascade_closed_without_invalidated() -> None:
    """cascade_closed on a machine without an Invalidated state is a format error."""
    table = """\
machine: lamp
states: Off, On
initial: Off
absorbing:
created_by: InstallLamp
transitions:
  Off --SwitchOn--> On
invariants:
  cascade_closed
"""
    assert any("12: cascade_closed needs a state named Invalidated" in p
               for p in parse_errors(table))


def test_invalid_unclosed_block() -> None:
    """An fsm fence that is never closed is reported at its opening line."""
    with pytest.raises(FsmFormatError) as info:
        parse_machines("text\n```fsm\n" + CLAIM_TABLE, "spec/12-fsms.md")
    assert info.value.problems == ["spec/12-fsms.md:2: fsm block is not closed"]


def test_invalid_duplicate_machine_across_chapters(tmp_path: Path) -> None:
    """Two chapters defining the same machine name are rejected, naming both places."""
    write_spec(tmp_path, CLAIM_TABLE)
    write_spec(tmp_path, CLAIM_TABLE.replace("AssertClaim", "AssertOther"), name="13-lora.md")
    with pytest.raises(FsmFormatError) as info:
        load_machines(tmp_path)
    assert any("spec/13-lora.md:6: duplicate machine claim (first at spec/12-fsms.md:6)" in p
               for p in info.value.problems), info.value.problems


def test_invalid_op_type_creating_two_machines(tmp_path: Path) -> None:
    """One op type on the created_by line of two tables is rejected."""
    other = CLAIM_TABLE.replace("machine: claim", "machine: other")
    write_spec(tmp_path, CLAIM_TABLE, other)
    with pytest.raises(FsmFormatError) as info:
        load_machines(tmp_path)
    assert any("op type AssertClaim already creates records of machine claim" in p
               for p in info.value.problems)


def test_invalid_malformed_table_fails_main_prove(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main_prove refuses to prove anything while a table is malformed."""
    write_spec(tmp_path, CLAIM_TABLE.replace("initial: Hint", "initial: Start"))
    assert main_prove(tmp_path) == 1
    out = capsys.readouterr().out
    assert "spec/12-fsms.md:" in out and "unknown state Start" in out
    assert "nothing proved" in out


# --- reference.fsms: the transition function; _lifecycles: the predicates -------------------


def test_next_state_follows_the_table() -> None:
    """next_state returns a table line's target and None where the table has no line."""
    assert fsms.next_state("claim", "Hint", "ConfirmClaim") == "Fact"
    assert fsms.next_state("claim", "Fact", "ConfirmClaim") is None
    assert fsms.next_state("claim", "Rejected", "cascade") is None
    assert fsms.next_state("delegation", "Active", "expiry") == "Expired"
    assert fsms.next_state("job", "Failed", "cascade") == "Invalidated"
    assert fsms.initial_state("suggested_action") == "Proposed"
    assert not fsms.is_absorbing("suggested_action", "Accepted")
    assert fsms.is_absorbing("suggested_action", "Invalidated")
    assert not fsms.is_absorbing("claim", "Fact")
    assert fsms.machine_created_by("StartJob") == "job"
    assert fsms.machine_created_by("ConfirmClaim") is None


def test_invalid_unknown_machine_or_state() -> None:
    """An unknown machine or a state outside the machine is refused with E_BAD_REQUEST."""
    with pytest.raises(SpecViolation) as info:
        fsms.next_state("door", "Open", "Close")
    assert info.value.code == ErrorCode.E_BAD_REQUEST and info.value.requirement == "FSM-001"
    with pytest.raises(SpecViolation):
        fsms.next_state("claim", "Merged", "cascade")


def test_predicates_reject_forbidden_steps() -> None:
    """The step predicates hold for table steps and fail for resurrections and missed cascades."""
    assert lifecycles.predicate_no_resurrection("claim", "Invalidated", "Invalidated")
    assert not lifecycles.predicate_no_resurrection("claim", "Invalidated", "Hint")
    assert lifecycles.predicate_no_resurrection("claim", "Hint", "Fact")
    assert not lifecycles.predicate_absorbing("claim", "Rejected", "Invalidated")
    assert lifecycles.predicate_absorbing("claim", "Fact", "Rejected")
    assert lifecycles.predicate_cascade_closed("claim", "Fact", "cascade", "Invalidated")
    assert not lifecycles.predicate_cascade_closed("claim", "Fact", "cascade", "Fact")
    assert lifecycles.predicate_cascade_closed("claim", "Rejected", "cascade", "Rejected")
    assert lifecycles.predicate_step("claim", "Fact", "ConfirmClaim", "Fact")
    assert not lifecycles.predicate_step("claim", "Hint", "ConfirmClaim", "Rejected")
    assert lifecycles.predicate_reachable("entity", "Merged")
    assert all(lifecycles.predicate_terminal_reachable(m, s)
               for m, t in fsms.TABLES.items() if ("terminal_reachable", None) in t.invariants
               for s in t.states)


# --- _lifecycles: Lifecycles, applying ops in the total order --------------------------------


def test_tombstone_cascades_to_every_dependent_once() -> None:
    """Tombstoning evidence invalidates its claims and episodes, transitively, in one op."""
    lc = lifecycles.Lifecycles()
    lc.apply_op("o1", 1, "IngestEvidence", "ev")
    lc.apply_op("o2", 2, "AssertClaim", "c1", supports=["ev"])
    lc.apply_op("o3", 3, "ConfirmClaim", "c1")
    lc.apply_op("o4", 4, "RecordEpisode", "ep", supports=["c1"])
    steps = lc.apply_op("o5", 5, "TombstoneEvidence", "ev")
    assert [(s.record, s.event, s.after) for s in steps] == [
        ("ev", "TombstoneEvidence", "Tombstoned"),
        ("c1", "cascade", "Invalidated"),
        ("ep", "cascade", "Invalidated"),
    ]
    assert lc.cascaded == {"c1", "ep"}
    assert lc.cascade_closure_holds()


def test_record_created_after_the_tombstone_is_invalidated_at_once() -> None:
    """A claim derived from already-tombstoned evidence receives cascade right after creation."""
    lc = lifecycles.Lifecycles()
    lc.apply_op("o1", 1, "IngestEvidence", "ev")
    lc.apply_op("o2", 2, "TombstoneEvidence", "ev")
    steps = lc.apply_op("o3", 3, "AssertClaim", "c1", supports=["ev"])
    assert [(s.event, s.after, s.outcome) for s in steps] == [
        ("AssertClaim", "Hint", "created"), ("cascade", "Invalidated", "moved")]


def test_decided_action_is_still_invalidated_by_cascade() -> None:
    """An accepted action derived from tombstoned evidence becomes Invalidated (DM-012)."""
    lc = lifecycles.Lifecycles()
    lc.apply_op("o1", 1, "IngestEvidence", "ev")
    lc.apply_op("o2", 2, "ProposeAction", "a1", supports=["ev"])
    lc.apply_op("o3", 3, "AcceptAction", "a1")
    lc.apply_op("o4", 4, "TombstoneEvidence", "ev")
    assert lc.states()["a1"] == "Invalidated"
    assert not any(i.record == "a1" for i in lc.ignored)


def test_illegal_and_dangling_events_are_ignored_not_rejected() -> None:
    """Events without a transition, for absent records, or re-creating a record are ignored."""
    lc = lifecycles.Lifecycles()
    lc.apply_op("o1", 1, "ConfirmClaim", "c1")
    lc.apply_op("o2", 2, "AssertClaim", "c1")
    lc.apply_op("o3", 3, "AssertClaim", "c1")
    lc.apply_op("o4", 4, "RejectClaim", "c1")
    lc.apply_op("o5", 5, "ConfirmClaim", "c1")
    assert lc.states() == {"c1": "Rejected"}
    assert lc.ignored == {
        lifecycles.Ignored("o1", "c1", None, "ConfirmClaim"),
        lifecycles.Ignored("o3", "c1", "Hint", "AssertClaim"),
        lifecycles.Ignored("o5", "c1", "Rejected", "ConfirmClaim"),
    }


def test_merge_entity_with_withdrawn_support_is_invalidated() -> None:
    """A merge's own supports are edges: rejecting the supporting claim invalidates the entity."""
    lc = lifecycles.Lifecycles()
    lc.apply_op("o1", 1, "CreateEntity", "e1")
    lc.apply_op("o2", 2, "AssertClaim", "c1")
    lc.apply_op("o3", 3, "MergeEntity", "e1", supports=["c1"])
    assert lc.states()["e1"] == "Merged"
    lc.apply_op("o4", 4, "RejectClaim", "c1")
    assert lc.states()["e1"] == "Invalidated"


def test_expiry_is_delivered_before_the_first_op_at_its_instant() -> None:
    """A delegation expires just before the first op at or after its expiry instant."""
    lc = lifecycles.Lifecycles()
    lc.apply_op("o1", 100, "DelegateUcan", "d1", expires_ms=200)
    lc.apply_op("o2", 199, "CreateEntity", "e1")
    assert lc.states()["d1"] == "Active"
    steps = lc.apply_op("o3", 200, "RevokeUcan", "d1")
    assert [(s.event, s.after, s.outcome) for s in steps] == [
        ("expiry", "Expired", "moved"), ("RevokeUcan", "Expired", "ignored")]


def test_revocation_before_expiry_wins() -> None:
    """A delegation revoked before its expiry instant stays Revoked and never receives expiry."""
    lc = lifecycles.Lifecycles()
    lc.apply_op("o1", 100, "DelegateUcan", "d1", expires_ms=200)
    lc.apply_op("o2", 150, "RevokeUcan", "d1")
    steps = lc.apply_op("o3", 300, "CreateEntity", "e1")
    assert lc.states()["d1"] == "Revoked"
    assert [s.record for s in steps] == ["e1"]


# --- a stateful run: every step satisfies the predicates z3 proves -------------------------------

OPS_ON_EXISTING = ["TombstoneEvidence", "ConfirmClaim", "RejectClaim", "MergeEntity",
                   "AcceptAction", "DismissAction", "ExpireAction", "CompleteJob", "FailJob",
                   "RevokeUcan", "CascadeTombstone"]
CREATION_OPS = [op for t in fsms.TABLES.values() for op in t.created_by]


class LifecycleRun(RuleBasedStateMachine):
    """Random ops in order; each delivered event must satisfy the section 3 predicates."""

    @initialize()
    def start(self) -> None:
        self.lc = lifecycles.Lifecycles()
        self.clock = 0
        self.records: list[str] = []
        self.seen_in: dict[str, set[str]] = {}  # record -> states it has been in
        self.supports: dict[str, list[str]] = {}  # record -> the records it was derived from
        self.last_steps: list[lifecycles.Step] = []

    def _apply(self, op_type: str, record: str, supports: list[str]) -> None:
        self.clock += 1
        before = self.lc.states()
        self.last_steps = self.lc.apply_op(f"o{self.clock}", self.clock, op_type, record,
                                           supports, expires_ms=self.clock + 5)
        self.before = before

    @rule(op=st.sampled_from(CREATION_OPS), data=st.data())
    def create(self, op: str, data: st.DataObject) -> None:
        record = f"r{len(self.records)}"
        supports = data.draw(st.lists(st.sampled_from(self.records), max_size=3, unique=True)
                             if self.records else st.just([]))
        self._apply(op, record, supports)
        self.records.append(record)
        self.supports[record] = supports

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        record = data.draw(st.sampled_from(self.records + ["ghost"]))
        machine = self.lc.machine.get(record)
        own = sorted({ev for _, ev, _ in fsms.TABLES[machine].transitions
                      if ev[0].isupper()}) if machine else []
        anything = st.sampled_from(OPS_ON_EXISTING + CREATION_OPS)
        op = data.draw(st.one_of(st.sampled_from(own), anything) if own else anything)
        self._apply(op, record, [])

    @invariant()
    def every_step_obeys_the_tables(self) -> None:
        for s in getattr(self, "last_steps", []):
            if s.machine is None or s.before is None or s.after is None:
                assert s.outcome in ("ignored", "created")
                continue
            assert lifecycles.predicate_step(s.machine, s.before, s.event, s.after)
            assert lifecycles.predicate_absorbing(s.machine, s.before, s.after)
            assert lifecycles.predicate_no_resurrection(s.machine, s.before, s.after)
            assert lifecycles.predicate_cascade_closed(s.machine, s.before, s.event, s.after)

    @invariant()
    def no_record_leaves_a_no_resurrection_state(self) -> None:
        for record, state in self.lc.states().items():
            machine = self.lc.machine[record]
            seen = self.seen_in.setdefault(record, set())
            seen.add(state)
            table = fsms.TABLES[machine]
            for kind, x in table.invariants:
                if kind == "no_resurrection" and x in seen:
                    assert state == x, (record, seen, state)

    @invariant()
    def cascade_closure(self) -> None:
        """FSM-012, computed here from the supports the run drew, not by the reference."""
        if not hasattr(self, "lc"):
            return
        states = self.lc.states()

        def tainted(record: str, path: frozenset[str] = frozenset()) -> bool:
            return any(fsms.is_retracting(states.get(d, "")) or tainted(d, path | {record})
                       for d in self.supports.get(record, []) if d not in path)

        for record, state in states.items():
            table = fsms.TABLES[self.lc.machine[record]]
            if ("cascade_closed", None) in table.invariants and tainted(record):
                assert state in table.absorbing, (record, state)
        assert self.lc.cascade_closure_holds()


LifecycleRun.TestCase.settings = settings(max_examples=40, stateful_step_count=30,
                                          deadline=None)
test_lifecycle_run = LifecycleRun.TestCase
