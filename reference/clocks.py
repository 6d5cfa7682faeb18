"""Chapter 05: hybrid logical clocks (spec/05-clocks.md).

A timestamp is `(wall_ms, logical, node)`; a clock holds the state `(l, c)`
(the high-water mark: the wall_ms and logical of the last timestamp it issued)
and advances it on tick and receive events. Every rule is written out exactly
as section 4 states it, one function per rule, so a reader can set the code
beside the spec and so negative controls can replace one rule at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import attrs

from reference import wire_format
from reference._require import require
from reference.introduction import ErrorCode

WALL_MS_MAX = 2**48 - 1  # section 2.1: wall_ms is unsigned 48-bit
LOGICAL_MAX = 2**16 - 1  # section 2.1: logical is unsigned 16-bit
NODE_ID_BYTES = 32  # section 2.1: node is the 32-byte Ed25519 public key
MAX_DRIFT_MS = 60_000  # section 4.3: how far ahead of pt a remote wall_ms may be


@attrs.frozen
class Timestamp:
    """A timestamp `(wall_ms, logical, node)` (section 2.1) [CLK-001]."""

    wall_ms: int
    logical: int
    node: bytes

    def triple(self) -> tuple[int, int, bytes]:
        """The three components in order-significance order (section 3)."""
        return (self.wall_ms, self.logical, self.node)


@attrs.frozen
class ClockState:
    """A clock's state `(l, c)`: the high-water mark of what it issued (section 4.1)."""

    l: int  # noqa: E741 (the spec's name)
    c: int


FRESH_STATE = ClockState(0, 0)  # [CLK-011] a fresh clock starts from (0, 0)

Persist = Callable[[ClockState], None]


# --- timestamps (section 2) -----------------------------------------------


def validate_timestamp(ts: Timestamp) -> None:
    """Reject a timestamp with a component outside its range (section 2.2)."""
    # [CLK-001] [CLK-003] checked in component order: wall_ms, logical, node
    require(
        0 <= ts.wall_ms <= WALL_MS_MAX,
        "CLK-003",
        ErrorCode.E_HLC_RANGE,
        f"wall_ms {ts.wall_ms} is outside 0..2^48-1",
    )
    require(
        0 <= ts.logical <= LOGICAL_MAX,
        "CLK-003",
        ErrorCode.E_HLC_RANGE,
        f"logical {ts.logical} is outside 0..65535",
    )
    require(
        len(ts.node) == NODE_ID_BYTES,
        "CLK-003",
        ErrorCode.E_HLC_RANGE,
        f"node is {len(ts.node)} bytes, not {NODE_ID_BYTES}",
    )


def encode_timestamp(ts: Timestamp) -> bytes:
    """The wire form: deterministic CBOR of `[wall_ms, logical, node]` (section 2.3)."""
    validate_timestamp(ts)
    # [CLK-004] a three-item array: two unsigned integers and a 32-byte byte string
    return wire_format.encode_canonical([ts.wall_ms, ts.logical, ts.node])


# --- total order (section 3) ----------------------------------------------


def compare_timestamps(a: Timestamp, b: Timestamp) -> int:
    """-1, 0 or 1 as `a` is before, equal to or after `b` in the total order (section 3)."""
    validate_timestamp(a)
    validate_timestamp(b)
    # [CLK-006] wall_ms, then logical, then node bytewise (Python compares bytes
    # as sequences of unsigned bytes, the first differing byte deciding)
    # [CLK-007] equal exactly when all three components are equal
    if a.triple() < b.triple():
        return -1
    if a.triple() > b.triple():
        return 1
    return 0


def sort_timestamps(timestamps: Iterable[Timestamp]) -> list[Timestamp]:
    """The timestamps in ascending total order; a duplicate is an integrity failure (section 3)."""
    items = list(timestamps)
    # [CLK-009] every range check comes before any duplicate check
    for ts in items:
        validate_timestamp(ts)
    ordered = sorted(items, key=functools.cmp_to_key(compare_timestamps))
    for before, after in zip(ordered, ordered[1:], strict=False):
        require(
            compare_timestamps(before, after) != 0,
            "CLK-008",
            ErrorCode.E_HLC_DUPLICATE,
            f"timestamp {_show(after)} occurs twice",
        )
    return ordered


# --- clock rules (section 4) ----------------------------------------------


def validate_node(node: bytes) -> None:
    """Reject a clock configured with a node id that is not 32 bytes (section 4.1)."""
    require(
        len(node) == NODE_ID_BYTES,
        "CLK-002",
        ErrorCode.E_BAD_REQUEST,
        f"a clock's node is its 32-byte Ed25519 public key, not {len(node)} bytes",
    )


def validate_state(state: ClockState) -> None:
    """Reject a clock state outside `0..2^48-1` x `0..65535` (section 4.1) [CLK-010]."""
    require(
        0 <= state.l <= WALL_MS_MAX and 0 <= state.c <= LOGICAL_MAX,
        "CLK-010",
        ErrorCode.E_HLC_RANGE,
        f"clock state ({state.l}, {state.c}) is outside 0..2^48-1 x 0..65535",
    )


def validate_physical_time(pt: int) -> None:
    """Reject a physical reading outside `0..2^48-1` (section 4.2)."""
    require(
        0 <= pt <= WALL_MS_MAX,
        "CLK-012",
        ErrorCode.E_HLC_RANGE,
        f"physical time {pt} is outside 0..2^48-1",
    )


def check_drift(m: Timestamp, pt: int) -> None:
    """Reject a remote timestamp more than MAX_DRIFT_MS ahead of `pt` (section 4.5)."""
    # Mathematical integers: pt + MAX_DRIFT_MS may exceed 2^48 - 1 and must not wrap.
    require(
        m.wall_ms <= pt + MAX_DRIFT_MS,
        "CLK-014",
        ErrorCode.E_HLC_DRIFT,
        f"remote wall_ms {m.wall_ms} is {m.wall_ms - pt} ms ahead of physical time {pt}, "
        f"over MAX_DRIFT_MS = {MAX_DRIFT_MS}",
    )


def compute_release_ms(m: Timestamp) -> int:
    """The earliest physical reading at which a held op with timestamp `m` is offered again."""
    # [CLK-015] an op rejected with E_HLC_DRIFT is held, not discarded, and offered
    # again once pt >= m.wall_ms - MAX_DRIFT_MS; check_drift then accepts it.
    return m.wall_ms - MAX_DRIFT_MS


def is_releasable(m: Timestamp, pt: int) -> bool:
    """Whether a held op with timestamp `m` is offered to the clock again at `pt` [CLK-015]."""
    return pt >= compute_release_ms(m)


def compute_tick(state: ClockState, pt: int) -> ClockState:
    """The candidate state of a local or send event, before carry (section 4.4) [CLK-013]."""
    l_new = max(state.l, pt)
    c_new = state.c + 1 if l_new == state.l else 0
    return ClockState(l_new, c_new)


def compute_receive(state: ClockState, m: Timestamp, pt: int) -> ClockState:
    """The candidate state of a receive event, before carry (section 4.5) [CLK-016]."""
    l_new = max(state.l, m.wall_ms, pt)
    if l_new == state.l and l_new == m.wall_ms:
        c_new = max(state.c, m.logical) + 1
    elif l_new == state.l:
        c_new = state.c + 1
    elif l_new == m.wall_ms:
        c_new = m.logical + 1
    else:
        c_new = 0
    return ClockState(l_new, c_new)


def carry(candidate: ClockState) -> ClockState:
    """Carry a logical overflow into wall_ms (section 4.6) [CLK-017]."""
    if candidate.c > LOGICAL_MAX:
        return ClockState(candidate.l + 1, 0)
    return candidate


def check_range(candidate: ClockState) -> None:
    """Reject a candidate whose wall_ms left the 48-bit range after carry (section 4.6)."""
    require(
        candidate.l <= WALL_MS_MAX,
        "CLK-018",
        ErrorCode.E_HLC_RANGE,
        f"the clock would advance to wall_ms {candidate.l}, past 2^48-1",
    )


class Clock:
    """A node's hybrid logical clock: state, node id and where it persists (section 4)."""

    def __init__(self, node: bytes, persist: Persist, state: ClockState = FRESH_STATE) -> None:
        validate_node(node)
        validate_state(state)
        self.node = node
        self.persist = persist
        self.state = state

    def tick(self, pt: int) -> Timestamp:
        """Issue the timestamp of a local or send event (section 4.4)."""
        # [CLK-026] order of checks: pt, then the candidate's range
        validate_physical_time(pt)
        return self._issue(carry(compute_tick(self.state, pt)))

    def receive(self, m: Timestamp, pt: int) -> Timestamp:
        """Issue the timestamp of receiving remote timestamp `m` (section 4.5)."""
        # [CLK-026] order of checks: pt, m's range, drift, then the candidate's range
        validate_physical_time(pt)
        validate_timestamp(m)
        check_drift(m, pt)
        return self._issue(carry(compute_receive(self.state, m, pt)))

    def _issue(self, candidate: ClockState) -> Timestamp:
        """Persist the new state, then adopt it and issue its timestamp (section 4.7)."""
        # [CLK-023] every check happens before anything changes, so a rejected
        # event leaves the state exactly as it was
        check_range(candidate)
        # [CLK-024] persist the high-water mark before the timestamp can be used
        self.persist(candidate)
        # [CLK-019] adopt the candidate and issue (l', c', node)
        self.state = candidate
        # [CLK-020] [CLK-021] [CLK-022] hold by construction: every rule yields a
        # candidate greater than the old state (and than m on receive), see section 4.8
        return Timestamp(candidate.l, candidate.c, self.node)  # [CLK-002] its own node


def new_clock(node: bytes, persist: Persist) -> Clock:
    """A fresh clock: never issued a timestamp, nothing persisted (section 4.1) [CLK-011]."""
    return Clock(node, persist, FRESH_STATE)


def resume_clock(node: bytes, persisted: ClockState, persist: Persist) -> Clock:
    """A restarted clock, resuming from its last persisted state (section 4.9) [CLK-025]."""
    return Clock(node, persist, persisted)


def _show(ts: Timestamp) -> str:
    return f"({ts.wall_ms}, {ts.logical}, {ts.node.hex()})"
