"""Chapter 12: state machines (spec/12-fsms.md).

The tables of section 4 written out by hand, so that the reference works without
the spec folder; tests/test_fsms.py checks them against the tables parsed from the
chapter, field by field. Below the tables: the transition function (section 2.2),
which reference/projections.py applies in the total order. The invariants of
section 3 as predicates and a model of section 2 for the tests are in
tests/_lifecycles.py.
"""

from __future__ import annotations

import attrs

from reference._require import require
from reference.introduction import ErrorCode

CASCADE = "cascade"  # section 2.4: a record this one transitively depends on was retracted
EXPIRY = "expiry"  # section 2.5: a delegation's expiry instant has come
INVALIDATED = "Invalidated"
RETRACTING_STATES = frozenset({"Tombstoned", "Rejected", "Invalidated"})  # section 2.4

Transition = tuple[str, str, str]  # (source, event, target): the line `source --event--> target`
Invariant = tuple[str, str | None]  # (kind, state argument or None): an invariant line


@attrs.frozen
class Table:
    """One state-machine table of section 4 (the notation of section 1)."""

    name: str
    requirement: str  # the id of the machine's own requirement in section 4
    states: tuple[str, ...]
    initial: str
    absorbing: tuple[str, ...]
    created_by: tuple[str, ...]
    transitions: tuple[Transition, ...]
    invariants: tuple[Invariant, ...]


# --- the tables (section 4) ------------------------------------------------------------------

EVIDENCE = Table(  # section 4.1 [FSM-013]
    name="evidence",
    requirement="FSM-013",
    states=("Ingested", "Tombstoned"),
    initial="Ingested",
    absorbing=("Tombstoned",),
    created_by=("IngestEvidence",),
    transitions=(
        ("Ingested", "TombstoneEvidence", "Tombstoned"),
        ("Ingested", "CascadeTombstone", "Tombstoned"),
    ),
    invariants=(
        ("absorbing", "Tombstoned"),
        ("no_resurrection", "Tombstoned"),
        ("reachable", "Tombstoned"),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

CLAIM = Table(  # section 4.2 [FSM-014]
    name="claim",
    requirement="FSM-014",
    states=("Hint", "Fact", "Rejected", "Invalidated"),
    initial="Hint",
    absorbing=("Rejected", "Invalidated"),
    created_by=("AssertClaim",),
    transitions=(
        ("Hint", "ConfirmClaim", "Fact"),
        ("Hint", "RejectClaim", "Rejected"),
        ("Fact", "RejectClaim", "Rejected"),
        ("Hint", "cascade", "Invalidated"),
        ("Fact", "cascade", "Invalidated"),
        ("Hint", "CascadeTombstone", "Invalidated"),
        ("Fact", "CascadeTombstone", "Invalidated"),
    ),
    invariants=(
        ("absorbing", "Rejected"),
        ("absorbing", "Invalidated"),
        ("no_resurrection", "Rejected"),
        ("no_resurrection", "Invalidated"),
        ("reachable", "Fact"),
        ("reachable", "Rejected"),
        ("reachable", "Invalidated"),
        ("cascade_closed", None),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

ENTITY = Table(  # section 4.3 [FSM-015]
    name="entity",
    requirement="FSM-015",
    states=("Active", "Merged", "Invalidated"),
    initial="Active",
    absorbing=("Invalidated",),
    created_by=("CreateEntity",),
    transitions=(
        ("Active", "MergeEntity", "Merged"),  # delivered to the `source` entity only
        ("Active", "cascade", "Invalidated"),
        ("Merged", "cascade", "Invalidated"),
        ("Active", "CascadeTombstone", "Invalidated"),
        ("Merged", "CascadeTombstone", "Invalidated"),
    ),
    invariants=(
        ("absorbing", "Invalidated"),
        ("no_resurrection", "Invalidated"),
        ("reachable", "Merged"),
        ("reachable", "Invalidated"),
        ("cascade_closed", None),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

EPISODE = Table(  # section 4.4 [FSM-016]
    name="episode",
    requirement="FSM-016",
    states=("Recorded", "Invalidated"),
    initial="Recorded",
    absorbing=("Invalidated",),
    created_by=("RecordEpisode",),
    transitions=(
        ("Recorded", "cascade", "Invalidated"),
        ("Recorded", "CascadeTombstone", "Invalidated"),
    ),
    invariants=(
        ("absorbing", "Invalidated"),
        ("no_resurrection", "Invalidated"),
        ("reachable", "Invalidated"),
        ("cascade_closed", None),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

SUGGESTED_ACTION = Table(  # section 4.5 [FSM-017]
    name="suggested_action",
    requirement="FSM-017",
    states=("Proposed", "Accepted", "Dismissed", "Expired", "Invalidated"),
    initial="Proposed",
    absorbing=("Invalidated",),
    created_by=("ProposeAction",),
    transitions=(
        ("Proposed", "AcceptAction", "Accepted"),
        ("Proposed", "DismissAction", "Dismissed"),
        ("Proposed", "ExpireAction", "Expired"),
        ("Proposed", "cascade", "Invalidated"),
        ("Accepted", "cascade", "Invalidated"),
        ("Dismissed", "cascade", "Invalidated"),
        ("Expired", "cascade", "Invalidated"),
        ("Proposed", "CascadeTombstone", "Invalidated"),
        ("Accepted", "CascadeTombstone", "Invalidated"),
        ("Dismissed", "CascadeTombstone", "Invalidated"),
        ("Expired", "CascadeTombstone", "Invalidated"),
    ),
    invariants=(
        ("absorbing", "Invalidated"),
        ("no_resurrection", "Invalidated"),
        ("reachable", "Accepted"),
        ("reachable", "Dismissed"),
        ("reachable", "Expired"),
        ("reachable", "Invalidated"),
        ("cascade_closed", None),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

JOB = Table(  # section 4.6 [FSM-018]
    name="job",
    requirement="FSM-018",
    states=("Started", "Completed", "Failed", "Invalidated"),
    initial="Started",
    absorbing=("Invalidated",),
    created_by=("StartJob",),
    transitions=(
        ("Started", "CompleteJob", "Completed"),
        ("Started", "FailJob", "Failed"),
        ("Started", "cascade", "Invalidated"),
        ("Completed", "cascade", "Invalidated"),
        ("Failed", "cascade", "Invalidated"),
        ("Started", "CascadeTombstone", "Invalidated"),
        ("Completed", "CascadeTombstone", "Invalidated"),
        ("Failed", "CascadeTombstone", "Invalidated"),
    ),
    invariants=(
        ("absorbing", "Invalidated"),
        ("no_resurrection", "Invalidated"),
        ("reachable", "Completed"),
        ("reachable", "Failed"),
        ("reachable", "Invalidated"),
        ("cascade_closed", None),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

DELEGATION = Table(  # section 4.7 [FSM-019]
    name="delegation",
    requirement="FSM-019",
    states=("Active", "Revoked", "Expired"),
    initial="Active",
    absorbing=("Revoked", "Expired"),
    created_by=("DelegateUcan",),
    transitions=(
        ("Active", "RevokeUcan", "Revoked"),
        ("Active", "expiry", "Expired"),
    ),
    invariants=(
        ("absorbing", "Revoked"),
        ("absorbing", "Expired"),
        ("no_resurrection", "Revoked"),
        ("no_resurrection", "Expired"),
        ("reachable", "Revoked"),
        ("reachable", "Expired"),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

WAVEGEN_ENTRY = Table(  # spec/14-wavegen.md section 4.2 [WAVE-008]
    name="wavegen_entry",
    requirement="WAVE-008",
    states=("Stored", "Confirmed", "Evicted", "Invalidated"),
    initial="Stored",
    absorbing=("Evicted", "Invalidated"),
    created_by=("WaveGenStore",),
    transitions=(
        ("Stored", "jump", "Stored"),
        ("Confirmed", "jump", "Confirmed"),
        ("Stored", "success", "Confirmed"),
        ("Confirmed", "success", "Confirmed"),
        ("Stored", "mismatch", "Stored"),
        ("Confirmed", "mismatch", "Stored"),
        ("Stored", "restore", "Stored"),
        ("Confirmed", "restore", "Confirmed"),
        ("Stored", "replace", "Stored"),
        ("Confirmed", "replace", "Stored"),
        ("Stored", "capacity", "Evicted"),
        ("Confirmed", "capacity", "Evicted"),
        ("Stored", "migration", "Evicted"),
        ("Confirmed", "migration", "Evicted"),
        ("Stored", "retire", "Evicted"),
        ("Confirmed", "retire", "Evicted"),
        ("Stored", "cascade", "Invalidated"),
        ("Confirmed", "cascade", "Invalidated"),
    ),
    invariants=(
        ("absorbing", "Evicted"),
        ("absorbing", "Invalidated"),
        ("no_resurrection", "Evicted"),
        ("no_resurrection", "Invalidated"),
        ("reachable", "Confirmed"),
        ("reachable", "Evicted"),
        ("reachable", "Invalidated"),
        ("cascade_closed", None),
        ("deterministic", None),
        ("terminal_reachable", None),
    ),
)

PARAMETER = Table(  # spec/15-consolidation.md [CONS-031]
    name="parameter",
    requirement="CONS-031",
    states=("Free", "Screened"),
    initial="Free",
    absorbing=(),
    created_by=("LoraConsolidate", "LoraMigrate", "LoraFastTrack", "LoraResonate"),
    transitions=(
        ("Free", "screen", "Screened"),
        ("Screened", "release", "Free"),
    ),
    invariants=(
        ("reachable", "Screened"),
        ("reachable", "Free"),
        ("deterministic", None),
    ),
)

# [FSM-009] these tables, equal field by field to those of the spec (tests/test_fsms.py),
# satisfy each invariant on their `invariants` lines: `strata spec prove` proves it with z3
TABLES: dict[str, Table] = {
    t.name: t
    for t in (EVIDENCE, CLAIM, ENTITY, EPISODE, SUGGESTED_ACTION, JOB, DELEGATION,
              WAVEGEN_ENTRY, PARAMETER)
}


# --- looking up a table (sections 2.1 and 2.2) ------------------------------------------------


# The driver reaches get_table and _state_of only with the names of the reference's own
# tables (MACHINE_OF_KIND, "delegation") and with states those tables gave: no driver input
# names a machine or a state, so their requires are defensive.
def get_table(machine: str) -> Table:
    """The table of `machine` (section 4)."""
    # equivalent mutant (require-true): no driver input names a machine (comment above)
    require(machine in TABLES, "FSM-001", ErrorCode.E_BAD_REQUEST,
            f"no state machine named {machine!r} (machines: {', '.join(TABLES)})")
    return TABLES[machine]


def _state_of(table: Table, state: str) -> str:
    # [FSM-001] a record's state is one of its machine's states
    # equivalent mutant (require-true, stmt-remove): states passed here come from the tables
    require(state in table.states, "FSM-001", ErrorCode.E_BAD_REQUEST,
            f"{state!r} is not a state of machine {table.name} "
            f"(states: {', '.join(table.states)})")
    return state


def initial_state(machine: str) -> str:
    """The state a creation op puts a new record of `machine` in (section 2.1) [FSM-002]."""
    return get_table(machine).initial


def is_absorbing(machine: str, state: str) -> bool:
    """Whether `state` is on the `absorbing:` line of `machine` (section 1.1)."""
    table = get_table(machine)
    return _state_of(table, state) in table.absorbing


def is_retracting(state: str) -> bool:
    """Whether a record in `state` is retracted (section 2.4)."""
    return state in RETRACTING_STATES


def machine_created_by(op_type: str) -> str | None:
    """The machine whose `created_by` line lists `op_type`, None if no table creates with it."""
    for table in TABLES.values():
        if op_type in table.created_by:
            return table.name
    return None


def step(table: Table, state: str, event: str) -> str | None:
    """The target of the line `state --event--> target` of `table`, None when there is none."""
    # [FSM-003] the transitions of the table and no others
    for src, ev, dst in table.transitions:
        # [FSM-010] [FSM-011] only a line out of the record's own state applies: the tables
        # have none out of an absorbing state, none out of a no_resurrection state to another
        if src == state and ev == event:
            return dst
    # equivalent mutant (stmt-remove): falling off the end returns None too
    return None  # [FSM-004] no such transition: the caller ignores the event


def next_state(machine: str, state: str, event: str) -> str | None:
    """The state `event` moves a record of `machine` to from `state`; None: ignore it (2.2)."""
    table = get_table(machine)
    return step(table, _state_of(table, state), event)
