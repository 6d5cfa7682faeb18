"""A model of spec/12-fsms.md section 2 and the invariants of section 3, for the tests.

Moved out of reference/fsms.py: no driver command uses it (the runtime applies the tables
through `fsms.initial_state` and `fsms.next_state` in reference/projections.py). It states
the invariants as predicates over one step of a record (the formulas tools/prove.py hands
to z3), evaluates invariant lines over a whole table, and folds ops in the total order in
`Lifecycles` (events, ignored events and the derived `expiry` and `cascade`), so that
tests/test_fsms.py can check random runs against section 3 independently of projections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

from reference.fsms import (
    CASCADE,
    EXPIRY,
    INVALIDATED,
    TABLES,
    Invariant,
    Table,
    _state_of,
    get_table,
    initial_state,
    is_absorbing,
    is_retracting,
    machine_created_by,
    next_state,
    step,
)

# --- the invariants of section 3 as predicates -----------------------------------------------


def _no_resurrection_states(table: Table) -> list[str]:
    return [arg for kind, arg in table.invariants if kind == "no_resurrection" and arg]


def predicate_absorbing(machine: str, before: str, after: str) -> bool:
    """One step of a record keeps every absorbing state: before in A implies after == before."""
    # (FSM-010) once in an absorbing state X, a record stays in X
    return not is_absorbing(machine, before) or after == before


def predicate_no_resurrection(machine: str, before: str, after: str) -> bool:
    """One step never leaves a `no_resurrection X` state: before == X implies after == X."""
    # (FSM-011) the set {X} is closed under the step (the inductive step z3 proves)
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
        return after == before  # (FSM-004) ignored
    return after == INVALIDATED


def predicate_step(machine: str, before: str, event: str, after: str) -> bool:
    """One delivered event obeys the table: its transition's target, or no change (2.2)."""
    target = next_state(machine, before, event)
    # (FSM-003) the table's transition, or (FSM-004) the state unchanged
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
    """The invariant lines `table` breaks; empty for every table of section 4 (FSM-009)."""
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

    def __init__(self) -> None:
        self.machine: dict[str, str] = {}  # record id -> machine name
        self.state: dict[str, str] = {}  # record id -> current state (FSM-001)
        self.dependents: dict[str, set[str]] = {}  # D -> records with an edge from D (2.4)
        self.cascaded: set[str] = set()  # records that have received `cascade` (FSM-007)
        self.expires_ms: dict[str, int] = {}  # delegation -> its expiry instant (chapter 07)
        self.ignored: set[Ignored] = set()

    def _ignore(self, op_id: str, record: str, event: str) -> Step:
        # (FSM-004) (FSM-005) the state is left unchanged and the event recorded as ignored
        state = self.state.get(record)
        self.ignored.add(Ignored(op_id, record, state, event))
        return Step(op_id, record, self.machine.get(record), state, event, state, "ignored")

    def _deliver(self, op_id: str, record: str, event: str) -> Step:
        if record not in self.state:
            return self._ignore(op_id, record, event)  # (FSM-005) no such record
        machine, before = self.machine[record], self.state[record]
        after = step(TABLES[machine], before, event)
        if after is None:
            return self._ignore(op_id, record, event)  # (FSM-004)
        self.state[record] = after  # (FSM-003)
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
        # (FSM-006) first the expiry events due before this op
        # (FSM-008) an Active delegation expires before the first op at or after its instant
        for delegation in sorted(self.expires_ms):
            if self.state[delegation] == "Active" and wall_ms >= self.expires_ms[delegation]:
                steps.append(self._deliver(op_id, delegation, EXPIRY))
        # (FSM-006) then the op's own event
        creates = machine_created_by(op_type)
        if creates is not None:
            if record in self.state:
                steps.append(self._ignore(op_id, record, op_type))  # (FSM-005) exists already
            else:
                self.machine[record] = creates
                self.state[record] = initial_state(creates)  # (FSM-002)
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
        # (FSM-006) then the cascade events the op causes
        # (FSM-007) exactly once, to every record that now depends on a retracted record
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
        # (FSM-012)
        tainted = self._tainted()
        return all(
            self.state[r] in TABLES[m].absorbing
            for r, m in self.machine.items()
            if r in tainted and ("cascade_closed", None) in TABLES[m].invariants
        )
