"""Tests of reference.clocks (spec/05-clocks.md), calling the module directly."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import clocks
from reference._require import SpecViolation
from reference.clocks import ClockState, Timestamp
from reference.introduction import ErrorCode

A = bytes([0x1A]) * 32
B = bytes([0x67]) * 32
T0 = 1_700_000_000_000
WALL_MAX = 2**48 - 1


class Recorder:
    """A persist callback that records every state handed to it."""

    def __init__(self) -> None:
        self.states: list[ClockState] = []

    def __call__(self, state: ClockState) -> None:
        self.states.append(state)


def clock(state: ClockState = clocks.FRESH_STATE, node: bytes = A) -> clocks.Clock:
    return clocks.Clock(node, Recorder(), state)


def rejects(code: ErrorCode, requirement: str) -> Any:
    """A pytest.raises context matching the violation's code and requirement id."""
    return pytest.raises(SpecViolation, match=rf"^{code} \[{requirement}\]")


# --- timestamps and order -------------------------------------------------------


def test_compare_wall_ms_then_logical_then_node() -> None:
    """wall_ms decides first, then logical, then node bytewise."""
    assert clocks.compare_timestamps(Timestamp(T0, 9, B), Timestamp(T0 + 1, 0, A)) == -1
    assert clocks.compare_timestamps(Timestamp(T0, 2, A), Timestamp(T0, 1, B)) == 1
    assert clocks.compare_timestamps(Timestamp(T0, 1, A), Timestamp(T0, 1, B)) == -1
    assert clocks.compare_timestamps(Timestamp(T0, 1, B), Timestamp(T0, 1, B)) == 0


def test_compare_nodes_as_unsigned_bytes() -> None:
    """A node starting 0x80 sorts after one starting 0x7f."""
    low = Timestamp(0, 0, b"\x7f" + b"\xff" * 31)
    high = Timestamp(0, 0, b"\x80" + b"\x00" * 31)
    assert clocks.compare_timestamps(low, high) == -1


def test_sort_orders_ascending() -> None:
    """sort_timestamps returns the total order."""
    items = [Timestamp(T0, 1, B), Timestamp(T0, 1, A), Timestamp(T0 - 1, 65535, B)]
    assert clocks.sort_timestamps(items) == [items[2], items[1], items[0]]


def test_invalid_sort_duplicate() -> None:
    """Two equal triples are rejected with E_HLC_DUPLICATE."""
    with rejects(ErrorCode.E_HLC_DUPLICATE, "CLK-008"):
        clocks.sort_timestamps([Timestamp(T0, 4, A), Timestamp(T0, 5, A), Timestamp(T0, 4, A)])


def test_invalid_sort_range_before_duplicate() -> None:
    """An out-of-range member wins over a duplicate pair."""
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-003"):
        clocks.sort_timestamps([Timestamp(0, 0, A), Timestamp(0, 0, A), Timestamp(2**48, 0, A)])


@pytest.mark.parametrize(
    "ts",
    [
        Timestamp(2**48, 0, A),
        Timestamp(-1, 0, A),
        Timestamp(0, 65536, A),
        Timestamp(0, -1, A),
        Timestamp(0, 0, A[:31]),
        Timestamp(0, 0, A + b"\x00"),
    ],
)
def test_invalid_timestamp_out_of_range(ts: Timestamp) -> None:
    """Each component one past its range is rejected with E_HLC_RANGE."""
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-003"):
        clocks.validate_timestamp(ts)


def test_encode_example_of_section_2_3() -> None:
    """The section 2.3 example encodes to its stated bytes."""
    got = clocks.encode_timestamp(Timestamp(T0, 7, bytes(32)))
    assert got.hex() == "831b0000018bcfe5680007" + "5820" + "00" * 32


@given(
    wall=st.integers(0, WALL_MAX), logical=st.integers(0, 65535), node=st.binary(min_size=32,
                                                                                 max_size=32)
)
def test_encode_matches_cbor2_canonical(wall: int, logical: int, node: bytes) -> None:
    """The wire form equals cbor2's canonical encoding of the array."""
    ts = Timestamp(wall, logical, node)
    assert clocks.encode_timestamp(ts) == cbor2.dumps([wall, logical, node], canonical=True)


# --- tick -------------------------------------------------------------------------


def test_fresh_clock_first_ticks() -> None:
    """A fresh clock at pt = 0 issues (0, 1), counting (0, 0) as already issued."""
    c = clock()
    assert c.tick(0) == Timestamp(0, 1, A)
    assert c.tick(T0) == Timestamp(T0, 0, A)


def test_tick_physical_steps_backwards() -> None:
    """A backwards step of the physical clock only steps the logical counter."""
    c = clock()
    assert [c.tick(pt) for pt in (T0, T0 - 5000, T0 + 1)] == [
        Timestamp(T0, 0, A),
        Timestamp(T0, 1, A),
        Timestamp(T0 + 1, 0, A),
    ]


def test_tick_carries_at_logical_max() -> None:
    """c = 65535 with wall_ms not advancing carries into wall_ms."""
    c = clock(ClockState(T0, 65535))
    assert c.tick(T0 - 10) == Timestamp(T0 + 1, 0, A)


def test_invalid_tick_past_wall_max() -> None:
    """At (2^48-1, 65535) a tick is E_HLC_RANGE and the state stays."""
    c = clock(ClockState(WALL_MAX, 65535))
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-018"):
        c.tick(WALL_MAX)
    assert c.state == ClockState(WALL_MAX, 65535)


@pytest.mark.parametrize("pt", [-1, 2**48])
def test_invalid_tick_physical_out_of_range(pt: int) -> None:
    """A physical reading outside 0..2^48-1 is E_HLC_RANGE and the state stays."""
    c = clock(ClockState(T0, 3))
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-012"):
        c.tick(pt)
    assert c.state == ClockState(T0, 3)


# --- receive ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "m", "pt", "want"),
    [
        (ClockState(T0, 0), Timestamp(T0 + 500, 7, B), T0 + 1, ClockState(T0 + 500, 8)),
        (ClockState(T0, 1), Timestamp(T0 - 50, 9, B), T0 - 100, ClockState(T0, 2)),
        (ClockState(T0, 0), Timestamp(T0 + 10, 300, B), T0 + 20, ClockState(T0 + 20, 0)),
        (ClockState(T0, 0), Timestamp(T0, 41, B), T0, ClockState(T0, 42)),
        (ClockState(T0, 5), Timestamp(T0, 0, B), T0, ClockState(T0, 6)),
    ],
)
def test_receive_rule_branches(state: ClockState, m: Timestamp, pt: int, want: ClockState) -> None:
    """Each line of the receive table gives its stated candidate."""
    assert clocks.compute_receive(state, m, pt) == want


def test_receive_carry() -> None:
    """A remote logical of 65535 at l' == m.wall_ms carries."""
    assert clock().receive(Timestamp(T0 + 5, 65535, B), T0) == Timestamp(T0 + 6, 0, A)


def test_receive_drift_boundary_accepted() -> None:
    """m.wall_ms = pt + 60000 is accepted."""
    assert clock().receive(Timestamp(T0 + 60_000, 3, B), T0) == Timestamp(T0 + 60_000, 4, A)


def test_invalid_receive_drift() -> None:
    """m.wall_ms = pt + 60001 is E_HLC_DRIFT, the state stays, and it is releasable later."""
    c = clock(ClockState(T0, 2))
    m = Timestamp(T0 + 60_001, 3, B)
    with rejects(ErrorCode.E_HLC_DRIFT, "CLK-014"):
        c.receive(m, T0)
    assert c.state == ClockState(T0, 2)
    assert not clocks.is_releasable(m, T0)
    assert clocks.is_releasable(m, T0 + 1)
    assert c.receive(m, T0 + 1) == Timestamp(T0 + 60_001, 4, A)


def test_invalid_receive_check_order() -> None:
    """A bad pt is reported before drift; a bad remote range before drift."""
    c = clock()
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-012"):
        c.receive(Timestamp(T0, 0, B), -1)
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-003"):
        c.receive(Timestamp(2**48, 0, B), T0)
    with rejects(ErrorCode.E_HLC_DRIFT, "CLK-014"):
        c.receive(Timestamp(WALL_MAX, 65535, B), T0)


def test_invalid_receive_past_wall_max() -> None:
    """Receiving (2^48-1, 65535) forces a carry out of range: E_HLC_RANGE."""
    c = clock(ClockState(T0, 0))
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-018"):
        c.receive(Timestamp(WALL_MAX, 65535, B), WALL_MAX)
    assert c.state == ClockState(T0, 0)


# --- state, persistence and restart ----------------------------------------------


def test_invalid_clock_node_length() -> None:
    """A clock needs a 32-byte node."""
    with rejects(ErrorCode.E_BAD_REQUEST, "CLK-002"):
        clocks.new_clock(A[:31], Recorder())


@pytest.mark.parametrize("state", [ClockState(2**48, 0), ClockState(0, 65536), ClockState(-1, 0)])
def test_invalid_resume_state_out_of_range(state: ClockState) -> None:
    """A persisted state outside the ranges is E_HLC_RANGE."""
    with rejects(ErrorCode.E_HLC_RANGE, "CLK-010"):
        clocks.resume_clock(A, state, Recorder())


def test_persist_before_issue() -> None:
    """The state is handed to persist before the timestamp is returned, and equals it."""
    seen: list[tuple[ClockState, ClockState]] = []
    c: clocks.Clock

    def persist(state: ClockState) -> None:
        seen.append((state, c.state))

    c = clocks.new_clock(A, persist)
    ts = c.tick(T0)
    assert seen == [(ClockState(T0, 0), clocks.FRESH_STATE)]
    assert (ts.wall_ms, ts.logical) == (T0, 0)


def test_rejected_event_persists_nothing() -> None:
    """A rejected event never reaches persist."""
    recorder = Recorder()
    c = clocks.new_clock(A, recorder)
    with pytest.raises(SpecViolation):
        c.receive(Timestamp(T0 + 90_000, 0, B), T0)
    assert recorder.states == []


def test_resume_after_physical_step_back() -> None:
    """A clock resumed from (T0, 4) with pt an hour behind issues (T0, 5)."""
    c = clocks.resume_clock(A, ClockState(T0, 4), Recorder())
    assert c.tick(T0 - 3_600_000) == Timestamp(T0, 5, A)


events = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(-2, 2_000), st.just(0)),
        st.tuples(st.just("recv"), st.integers(-2, 2_000), st.integers(-100, 80_000)),
    ),
    max_size=20,
)


@given(script=events, logical=st.integers(0, 65535), cut=st.integers(0, 20))
def test_monotonic_and_restart_invisible(
    script: list[tuple[str, int, int]], logical: int, cut: int
) -> None:
    """Issued timestamps strictly increase, exceed received ones, and survive a restart."""
    def run(c: clocks.Clock, part: list[tuple[str, int, int]]) -> list[Timestamp | None]:
        out: list[Timestamp | None] = []
        for kind, pt, ahead in part:
            try:
                if kind == "tick":
                    out.append(c.tick(pt))
                else:
                    m = Timestamp(max(0, pt + ahead), logical, B)
                    ts = c.receive(m, pt)
                    assert clocks.compare_timestamps(ts, m) == 1
                    out.append(ts)
            except SpecViolation:
                out.append(None)
        return out

    whole = run(clocks.new_clock(A, Recorder()), script)
    issued = [ts for ts in whole if ts is not None]
    for before, after in zip(issued, issued[1:], strict=False):
        assert clocks.compare_timestamps(before, after) == -1
    first_clock = clocks.new_clock(A, Recorder())
    first = run(first_clock, script[:cut])
    resumed = clocks.resume_clock(A, first_clock.state, Recorder())
    assert first + run(resumed, script[cut:]) == whole
