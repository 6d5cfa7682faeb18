"""Chapter 12: state machines (spec/12-fsms.md).

The tables of section 4 written out by hand, so that the reference works without
the spec folder; tests/test_fsms.py checks them against the tables parsed from the
chapter, field by field. Below the tables: the transition function (section 2.2),
the invariants of section 3 as predicates (the same formulas tools/prove.py hands
to z3, here over one step of a record or over a whole table), and `Lifecycles`, a
fold of ops in the total order that applies events, ignores what has no transition
and delivers the derived events `expiry` and `cascade` (sections 2.3 to 2.5).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

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
        if src == state and ev == event:
            return dst
    # equivalent mutant (stmt-remove): falling off the end returns None too
    return None  # [FSM-004] no such transition: the caller ignores the event


def next_state(machine: str, state: str, event: str) -> str | None:
    """The state `event` moves a record of `machine` to from `state`; None: ignore it (2.2)."""
    table = get_table(machine)
    return step(table, _state_of(table, state), event)


# --- the invariants of section 3 as predicates -----------------------------------------------
# These predicates, holds and failing_invariants serve tests/test_fsms.py (and FSM-009 is a
# property of the spec's tables, proved by `strata spec prove`): no driver command calls them.


def _no_resurrection_states(table: Table) -> list[str]:
    return [arg for kind, arg in table.invariants if kind == "no_resurrection" and arg]


def predicate_absorbing(machine: str, before: str, after: str) -> bool:
    """One step of a record keeps every absorbing state: before in A implies after == before."""
    # [FSM-010] once in an absorbing state X, a record stays in X
    # outside the harness (boolop-swap, cmp-flip, not-remove, stmt-remove): only tests call it;
    # test_reference_predicates_agree_with_the_real_tables
    return not is_absorbing(machine, before) or after == before


def predicate_no_resurrection(machine: str, before: str, after: str) -> bool:
    """One step never leaves a `no_resurrection X` state: before == X implies after == X."""
    # [FSM-011] the set {X} is closed under the step (the inductive step z3 proves)
    # outside the harness (stmt-remove): only tests call it;
    # test_reference_predicates_agree_with_the_real_tables
    table = get_table(machine)
    _state_of(table, before)
    _state_of(table, after)
    return all(before != x or after == x for x in _no_resurrection_states(table))


def predicate_cascade_closed(machine: str, before: str, event: str, after: str) -> bool:
    """For a `cascade_closed` machine, `cascade` takes every non-absorbing state to Invalidated."""
    table = get_table(machine)
    if ("cascade_closed", None) not in table.invariants or event != CASCADE:
        return True
    if is_absorbing(machine, before):
        # outside the harness (cmp-flip, stmt-remove): only tests call it;
        # test_reference_predicates_agree_with_the_real_tables
        return after == before  # [FSM-004] ignored
    return after == INVALIDATED


def predicate_step(machine: str, before: str, event: str, after: str) -> bool:
    """One delivered event obeys the table: its transition's target, or no change (2.2)."""
    target = next_state(machine, before, event)
    # [FSM-003] the table's transition, or [FSM-004] the state unchanged
    # outside the harness (cmp-flip, stmt-remove): only tests call it;
    # test_reference_predicates_agree_with_the_real_tables
    return after == (before if target is None else target)


def is_deterministic(table: Table) -> bool:
    """No two transitions of `table` share source and event (section 3, `deterministic`)."""
    keys = [(src, ev) for src, ev, _ in table.transitions]
    return len(keys) == len(set(keys))


def reachable_states(table: Table, start: str) -> frozenset[str]:
    """Every state some path of `table` leads to from `start` (paths of length 0 included)."""
    seen = {start}
    frontier = [start]
    while frontier:
        src = frontier.pop()
        for a, _, b in table.transitions:
            if a == src and b not in seen:
                seen.add(b)
                frontier.append(b)
    return frozenset(seen)


def predicate_reachable(machine: str, state: str) -> bool:
    """A path from the initial state of `machine` reaches `state` (`reachable X`)."""
    table = get_table(machine)
    return _state_of(table, state) in reachable_states(table, table.initial)


def predicate_terminal_reachable(machine: str, state: str) -> bool:
    """Some absorbing state is reachable from `state` (`terminal_reachable`, one state)."""
    table = get_table(machine)
    return bool(reachable_states(table, _state_of(table, state)) & set(table.absorbing))


def holds(table: Table, invariant: Invariant) -> bool:
    """Whether `table` satisfies one invariant line, by exhaustive evaluation of section 3."""
    kind, x = invariant
    states, events = table.states, {ev for _, ev, _ in table.transitions} | {CASCADE}
    successors = {(s, e): [t for a, ev, t in table.transitions if a == s and ev == e]
                  for s in states for e in events}
    if kind in ("absorbing", "no_resurrection", "reachable") and x is None:
        raise ValueError(f"invariant {kind} names a state")
    if kind == "absorbing" and x is not None:
        return all(not successors[(x, e)] for e in events)
    if kind == "no_resurrection" and x is not None:
        return all(t == x for e in events for t in successors[(x, e)])
    if kind == "reachable":
        return x in reachable_states(table, table.initial)
    if kind == "cascade_closed":
        return INVALIDATED in states and all(
            successors[(s, CASCADE)] == [INVALIDATED] for s in states if s not in table.absorbing
        ) and all(t == INVALIDATED for s in states for t in successors[(s, CASCADE)])
    if kind == "deterministic":
        return is_deterministic(table)
    if kind == "terminal_reachable":
        return all(reachable_states(table, s) & set(table.absorbing) for s in states)
    raise ValueError(f"unknown invariant kind {kind!r}")


def failing_invariants(table: Table) -> list[Invariant]:
    """The invariant lines `table` breaks; empty for every table of section 4 [FSM-009]."""
    # outside the harness (not-remove, stmt-remove): FSM-009 is proved;
    # test_reference_predicates_agree_with_the_real_tables
    return [inv for inv in table.invariants if not holds(table, inv)]


# --- applying ops in the total order (sections 2.2 to 2.5) -----------------------------------


@attrs.frozen
class Ignored:
    """An event that had no effect: (op id, record id, state, event) (section 2.2)."""

    op_id: str
    record: str
    state: str | None  # None: the record did not exist
    event: str


@attrs.frozen
class Step:
    """One event delivered to one record, and its effect."""

    op_id: str
    record: str
    machine: str | None  # None: the record did not exist
    before: str | None
    event: str
    after: str | None
    outcome: Literal["created", "moved", "ignored"]


class Lifecycles:
    """The states of all records, maintained by applying ops in the total order (section 2)."""

    # A model of section 2 for tests/test_fsms.py: no driver command uses it. The driver's
    # projections (reference/projections.py) apply the tables through initial_state and
    # next_state, so a broken line here changes nothing observable through the protocol.

    def __init__(self) -> None:
        self.machine: dict[str, str] = {}  # record id -> machine name
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        self.state: dict[str, str] = {}  # record id -> current state [FSM-001]
        self.dependents: dict[str, set[str]] = {}  # D -> records with an edge from D (2.4)
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        self.cascaded: set[str] = set()  # records that have received `cascade` [FSM-007]
        self.expires_ms: dict[str, int] = {}  # delegation -> its expiry instant (chapter 07)
        self.ignored: set[Ignored] = set()

    def _ignore(self, op_id: str, record: str, event: str) -> Step:
        # [FSM-004] [FSM-005] the state is left unchanged and the event recorded as ignored
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        state = self.state.get(record)
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        self.ignored.add(Ignored(op_id, record, state, event))
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        return Step(op_id, record, self.machine.get(record), state, event, state, "ignored")

    def _deliver(self, op_id: str, record: str, event: str) -> Step:
        if record not in self.state:
            # outside the harness (stmt-remove): test-only model; test_lifecycle_run
            return self._ignore(op_id, record, event)  # [FSM-005] no such record
        machine, before = self.machine[record], self.state[record]
        after = step(TABLES[machine], before, event)
        if after is None:
            # outside the harness (stmt-remove): test-only model; test_lifecycle_run
            return self._ignore(op_id, record, event)  # [FSM-004]
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        self.state[record] = after  # [FSM-003]
        return Step(op_id, record, machine, before, event, after, "moved")

    def _add_edges(self, record: str, supports: Iterable[str]) -> None:
        for support in supports:
            self.dependents.setdefault(support, set()).add(record)

    def _tainted(self) -> set[str]:
        """Every record that transitively depends on a retracted record (section 2.4)."""
        # Iterative traversal from all retracted records. One pass suffices: a record a
        # cascade invalidates has its dependents on the same paths from the same roots.
        frontier = [r for r, s in self.state.items() if is_retracting(s)]
        seen: set[str] = set()
        while frontier:
            for dependent in self.dependents.get(frontier.pop(), ()):
                if dependent not in seen:
                    seen.add(dependent)
                    frontier.append(dependent)
        return seen

    def apply_op(
        self,
        op_id: str,
        wall_ms: int,
        op_type: str,
        record: str,
        supports: Iterable[str] = (),
        expires_ms: int | None = None,
    ) -> list[Step]:
        """Apply one op, the next in the total order, and the derived events around it (2.3).

        `record` is the record the payload names (chapter 02), `supports` the records
        it lists as derived from (`supports`, or `inputs` of a StartJob), `expires_ms`
        the expiry instant of a delegation a DelegateUcan creates. Returns every event
        delivered, in delivery order.
        """
        supports = tuple(supports)
        steps: list[Step] = []
        # [FSM-006] first the expiry events due before this op
        # [FSM-008] an Active delegation expires before the first op at or after its instant
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        for delegation in sorted(self.expires_ms):
            if self.state[delegation] == "Active" and wall_ms >= self.expires_ms[delegation]:
                steps.append(self._deliver(op_id, delegation, EXPIRY))
        # [FSM-006] then the op's own event
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        creates = machine_created_by(op_type)
        if creates is not None:
            if record in self.state:
                # outside the harness (stmt-remove): test-only model; test_lifecycle_run
                steps.append(self._ignore(op_id, record, op_type))  # [FSM-005] exists already
            else:
                self.machine[record] = creates
                # outside the harness (stmt-remove): test-only model; test_lifecycle_run
                self.state[record] = initial_state(creates)  # [FSM-002]
                self._add_edges(record, supports)
                if creates == "delegation" and expires_ms is not None:
                    self.expires_ms[record] = expires_ms
                steps.append(Step(op_id, record, creates, None, op_type,
                                  self.state[record], "created"))
        else:
            delivered = self._deliver(op_id, record, op_type)
            if delivered.outcome == "moved":
                self._add_edges(record, supports)  # an op that moved R carries R's edges
            steps.append(delivered)
        # [FSM-006] then the cascade events the op causes
        # [FSM-007] exactly once, to every record that now depends on a retracted record
        # outside the harness (arith-swap, stmt-remove): test-only model; test_lifecycle_run
        for dependent in sorted(self._tainted() - self.cascaded):
            self.cascaded.add(dependent)
            steps.append(self._deliver(op_id, dependent, CASCADE))
        return steps

    def states(self) -> Mapping[str, str]:
        """Every record's current state."""
        return dict(self.state)

    def depends_on_retracted(self, record: str) -> bool:
        """Whether `record` transitively depends on a retracted record (section 2.4)."""
        return record in self._tainted()

    def cascade_closure_holds(self) -> bool:
        """After an op: every cascade_closed record depending on a retracted one is absorbing."""
        # [FSM-012]
        # outside the harness (stmt-remove): test-only model; test_lifecycle_run
        tainted = self._tainted()
        return all(
            self.state[r] in TABLES[m].absorbing
            for r, m in self.machine.items()
            if r in tainted and ("cascade_closed", None) in TABLES[m].invariants
        )
