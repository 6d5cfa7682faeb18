"""Vectors of chapter 05, hybrid logical clocks (spec/05-clocks.md).

Every `hlc.run` case also states the outcome of each event, worked out by hand
from the rules of section 4 (`(wall_ms, logical)` or an error code); generation
fails when the reference disagrees, so a per-event slip cannot hide inside a
command that succeeds as a whole.
"""

from __future__ import annotations

from typing import Any

import blake3

from reference.driver import dispatch
from tools.vectorgen import Case, GenerationError, Result, VectorFile

FOLDER = "clocks"
CHAPTER = "05-clocks"

WALL_MAX = 2**48 - 1
LOGICAL_MAX = 65535
DRIFT = 60_000
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z: a realistic wall_ms needing an 8-byte CBOR head


def node_id(label: str) -> str:
    """blake3(b"strata/vectors/clocks/node-<label>") as hex; not necessarily a curve point."""
    return blake3.blake3(f"strata/vectors/clocks/node-{label}".encode()).hexdigest()


# Bytewise, A (1a..) < C (34..) < B (67..).
A = node_id("a")
B = node_id("b")
C = node_id("c")
NODES_COMMENT = (
    'Node ids: A = blake3(b"strata/vectors/clocks/node-a"), B = ...node-b, C = ...node-c '
    "(32-byte digests, hex). Bytewise A (1a..) < C (34..) < B (67..). This chapter never checks "
    "that a node id is a valid Ed25519 point (section 2.1), so these need not be curve points."
)

Expect = tuple[int, int] | str  # an issued (wall_ms, logical), or the event's error code


def tick(pt: int) -> dict[str, Any]:
    return {"tick": pt}


def recv(pt: int, wall_ms: int, logical: int, node: str) -> dict[str, Any]:
    return {"recv": {"pt": pt, "ts": [wall_ms, logical, node]}}


def run_case(
    case_id: str,
    requirements: tuple[str, ...],
    description: str,
    events: list[dict[str, Any]],
    expect: list[Expect],
    state: tuple[int, int],
    *,
    start: tuple[int, int] | None = None,
    node: str = A,
    comment: str | None = None,
) -> Case:
    """An `hlc.run` case whose per-event outcomes and final state are checked at generation."""
    args: dict[str, Any] = {
        "node": node,
        "start": None if start is None else list(start),
        "events": events,
    }
    response = dispatch({"id": 0, "cmd": "hlc.run", "args": args})
    if not response["ok"]:
        raise GenerationError(f"{case_id}: the reference rejected the run: {response['error']}")
    got = response["result"]
    want_results: list[dict[str, Any]] = [
        {"error": {"code": e}} if isinstance(e, str) else {"ts": [e[0], e[1], node]}
        for e in expect
    ]
    if got["results"] != want_results or got["state"] != list(state):
        raise GenerationError(f"{case_id}: intended {want_results} / {list(state)}, "
                              f"the reference said {got['results']} / {got['state']}")
    return Case(case_id, requirements, description, "hlc.run", args, "valid", comment=comment)


def bad(
    case_id: str,
    requirements: tuple[str, ...],
    description: str,
    command: str,
    args: dict[str, Any],
    error: str,
    comment: str | None = None,
) -> Case:
    """A command the whole of which is rejected with `error`."""
    result: Result = "invalid"
    return Case(case_id, requirements, description, command, args, result,
                comment=comment, error=error)


def good(
    case_id: str,
    requirements: tuple[str, ...],
    description: str,
    command: str,
    args: dict[str, Any],
    expected: dict[str, Any],
    comment: str | None = None,
) -> Case:
    """An accepted command whose whole result is stated by the author and checked."""
    response = dispatch({"id": 0, "cmd": command, "args": args})
    if not response["ok"] or response["result"] != expected:
        raise GenerationError(f"{case_id}: intended {expected}, the reference said {response}")
    return Case(case_id, requirements, description, command, args, "valid", comment=comment)


def tick_cases() -> list[Case]:
    return [
        run_case("fresh-first-tick", ("CLK-011", "CLK-013", "CLK-019", "CLK-002"),
                 "A fresh clock (0, 0) ticking at pt = T0 issues (T0, 0, A): physical time leads.",
                 [tick(T0)], [(T0, 0)], (T0, 0)),
        run_case("fresh-tick-at-epoch", ("CLK-011", "CLK-013"),
                 "A fresh clock ticking at pt = 0 issues (0, 1): (0, 0) counts as already issued.",
                 [tick(0)], [(0, 1)], (0, 1),
                 comment="Boundary: pt equals the fresh state's l, so logical steps."),
        run_case("same-millisecond", ("CLK-013", "CLK-020", "CLK-022"),
                 "Three ticks within one millisecond count 0, 1, 2.",
                 [tick(T0), tick(T0), tick(T0)], [(T0, 0), (T0, 1), (T0, 2)], (T0, 2)),
        run_case("physical-advances-resets-logical", ("CLK-013",),
                 "When pt passes l the logical counter restarts at 0.",
                 [tick(T0), tick(T0), tick(T0 + 1)], [(T0, 0), (T0, 1), (T0 + 1, 0)],
                 (T0 + 1, 0)),
        run_case("physical-steps-backwards", ("CLK-013", "CLK-020"),
                 "A physical clock stepped back 5 s does not move the clock back; logical steps.",
                 [tick(T0), tick(T0 - 5000), tick(T0 - 4000), tick(T0 + 1)],
                 [(T0, 0), (T0, 1), (T0, 2), (T0 + 1, 0)], (T0 + 1, 0)),
        run_case("carry-at-logical-max", ("CLK-017", "CLK-020"),
                 "A tick at c = 65535 with pt behind l carries: (T0, 65535) -> (T0 + 1, 0).",
                 [tick(T0 - 10), tick(T0)], [(T0, LOGICAL_MAX), (T0 + 1, 0)], (T0 + 1, 0),
                 start=(T0, 65534),
                 comment="Resumed at (T0, 65534): the first tick reaches the bound 65535 "
                         "(T0 - 10 is behind l, so the logical counter steps), the second "
                         "would make 65536 and carries into wall_ms. Ticks from (T0, 65534) "
                         "give (T0, 65535) then (T0 + 1, 0)."),
        run_case("carry-ahead-of-physical", ("CLK-017", "CLK-013"),
                 "After a carry wall_ms is ahead of pt; a tick at that same pt steps logical.",
                 [tick(T0), tick(T0), tick(T0 + 1)], [(T0, 65535), (T0 + 1, 0), (T0 + 1, 1)],
                 (T0 + 1, 1), start=(T0, 65534),
                 comment="The carry put l at T0 + 1 = pt, so the next tick has l' == l."),
        run_case("wall-ms-max-then-range", ("CLK-018", "CLK-023", "CLK-017"),
                 "At l = 2^48-1 the counter runs to 65535; the carry would leave the range: "
                 "E_HLC_RANGE, state unchanged, and the run goes on.",
                 [tick(WALL_MAX), tick(WALL_MAX), tick(WALL_MAX)],
                 [(WALL_MAX, 65535), "E_HLC_RANGE", "E_HLC_RANGE"], (WALL_MAX, 65535),
                 start=(WALL_MAX, 65534),
                 comment="Boundary: the last timestamp any clock can issue is (2^48-1, 65535)."),
        run_case("pt-at-max", ("CLK-012", "CLK-013"),
                 "pt = 2^48-1 is in range.",
                 [tick(WALL_MAX)], [(WALL_MAX, 0)], (WALL_MAX, 0)),
        run_case("pt-out-of-range", ("CLK-012", "CLK-023"),
                 "pt = 2^48 and pt = -1 fail with E_HLC_RANGE and change nothing.",
                 [tick(T0), tick(2**48), tick(-1), tick(T0)],
                 [(T0, 0), "E_HLC_RANGE", "E_HLC_RANGE", (T0, 1)], (T0, 1),
                 comment="Boundary: one past each end of 0..2^48-1."),
    ]


def receive_cases() -> list[Case]:
    return [
        run_case("remote-ahead", ("CLK-016", "CLK-021"),
                 "m.wall_ms above l and pt: l' = m.wall_ms, c' = m.logical + 1.",
                 [tick(T0), recv(T0 + 1, T0 + 500, 7, B)], [(T0, 0), (T0 + 500, 8)],
                 (T0 + 500, 8)),
        run_case("local-ahead", ("CLK-016", "CLK-021"),
                 "l above m.wall_ms and pt: c' = c + 1.",
                 [tick(T0), tick(T0), recv(T0 - 100, T0 - 50, 9, B)],
                 [(T0, 0), (T0, 1), (T0, 2)], (T0, 2)),
        run_case("physical-ahead", ("CLK-016", "CLK-021"),
                 "pt above l and m.wall_ms: c' = 0.",
                 [tick(T0), recv(T0 + 20, T0 + 10, 300, B)], [(T0, 0), (T0 + 20, 0)],
                 (T0 + 20, 0)),
        run_case("all-equal-remote-logical-larger", ("CLK-016", "CLK-021"),
                 "l' == l == m.wall_ms: c' = max(c, m.logical) + 1 with m.logical larger.",
                 [tick(T0), recv(T0, T0, 41, B)], [(T0, 0), (T0, 42)], (T0, 42)),
        run_case("all-equal-local-logical-larger", ("CLK-016", "CLK-021"),
                 "l' == l == m.wall_ms: c' = max(c, m.logical) + 1 with c larger.",
                 [recv(T0, T0, 0, B)], [(T0, 6)], (T0, 6), start=(T0, 5)),
        run_case("equal-state-smaller-node", ("CLK-016", "CLK-021", "CLK-006"),
                 "m = (T0, 5, A) equals the clock's (l, c) = (T0, 5) and A < C: the result "
                 "(T0, 6, C) is above m; the node ids never enter the arithmetic.",
                 [recv(T0, T0, 5, A)], [(T0, 6)], (T0, 6), start=(T0, 5), node=C),
        run_case("equal-state-larger-node", ("CLK-016", "CLK-021", "CLK-006"),
                 "m = (T0, 5, B) equals the clock's (l, c) = (T0, 5) and B > C: the result "
                 "(T0, 6, C) is still above m, because logical decides before node.",
                 [recv(T0, T0, 5, B)], [(T0, 6)], (T0, 6), start=(T0, 5), node=C),
        run_case("receive-own-node", ("CLK-016", "CLK-021", "CLK-020"),
                 "A clock receiving its own earlier timestamp (an echo through a peer) "
                 "still steps forward.",
                 [tick(T0), recv(T0, T0, 0, A)], [(T0, 0), (T0, 1)], (T0, 1)),
        run_case("drift-boundary-accepted", ("CLK-014", "CLK-016"),
                 "m.wall_ms = pt + 60000 exactly is accepted.",
                 [recv(T0, T0 + DRIFT, 3, B)], [(T0 + DRIFT, 4)], (T0 + DRIFT, 4),
                 comment="Boundary: just inside MAX_DRIFT_MS."),
        run_case("drift-boundary-rejected", ("CLK-014", "CLK-023"),
                 "m.wall_ms = pt + 60001 is rejected with E_HLC_DRIFT; the state is unchanged.",
                 [tick(T0), recv(T0, T0 + DRIFT + 1, 3, B), tick(T0)],
                 [(T0, 0), "E_HLC_DRIFT", (T0, 1)], (T0, 1),
                 comment="Boundary: just outside MAX_DRIFT_MS."),
        run_case("drift-held-then-accepted", ("CLK-014", "CLK-015", "CLK-016"),
                 "A timestamp 90 s ahead is rejected, then offered again at "
                 "pt = m.wall_ms - 60000 and accepted.",
                 [tick(T0), recv(T0, T0 + 90_000, 0, B), tick(T0 + 10_000),
                  recv(T0 + 30_000, T0 + 90_000, 0, B)],
                 [(T0, 0), "E_HLC_DRIFT", (T0 + 10_000, 0), (T0 + 90_000, 1)],
                 (T0 + 90_000, 1),
                 comment="The op is held (CLK-015) and offered again once pt >= "
                         "m.wall_ms - MAX_DRIFT_MS = T0 + 30000."),
        run_case("drift-not-clamped", ("CLK-014", "CLK-023"),
                 "A timestamp a year ahead does not move the clock at all.",
                 [recv(T0, T0 + 31_536_000_000, 0, B), tick(T0)],
                 ["E_HLC_DRIFT", (T0, 0)], (T0, 0)),
        run_case("carry-on-receive", ("CLK-016", "CLK-017", "CLK-021"),
                 "m.logical = 65535 with l' == m.wall_ms would give c' = 65536: carry to "
                 "(m.wall_ms + 1, 0).",
                 [recv(T0, T0 + 5, LOGICAL_MAX, B)], [(T0 + 6, 0)], (T0 + 6, 0)),
        run_case("carry-on-receive-equal", ("CLK-016", "CLK-017", "CLK-021"),
                 "l == m.wall_ms with c = 65535: max(c, m.logical) + 1 = 65536 carries.",
                 [recv(T0, T0, 3, B)], [(T0 + 1, 0)], (T0 + 1, 0), start=(T0, LOGICAL_MAX)),
        run_case("receive-range-at-max", ("CLK-017", "CLK-018", "CLK-023"),
                 "Receiving (2^48-1, 65535) forces a carry past 2^48-1: E_HLC_RANGE.",
                 [tick(T0), recv(WALL_MAX, WALL_MAX, LOGICAL_MAX, B), tick(T0)],
                 [(T0, 0), "E_HLC_RANGE", (T0, 1)], (T0, 1)),
        run_case("remote-out-of-range", ("CLK-003", "CLK-001", "CLK-023"),
                 "Remote timestamps with wall_ms 2^48, logical 65536, negative components, "
                 "or a 31- or 33-byte node are rejected with E_HLC_RANGE.",
                 [recv(T0, 2**48, 0, B), recv(T0, T0, 65536, B), recv(T0, -1, 0, B),
                  recv(T0, T0, -1, B), recv(T0, T0, 0, B[:62]), recv(T0, T0, 0, B + "00"),
                  tick(T0)],
                 ["E_HLC_RANGE"] * 6 + [(T0, 0)], (T0, 0),
                 comment="Boundaries: one past each end of each component's range; the nodes "
                         "are B without its last byte and B with a zero byte appended."),
        run_case("remote-at-range-edges", ("CLK-003", "CLK-001", "CLK-016"),
                 "Components exactly at their bounds are in range.",
                 [recv(0, 0, LOGICAL_MAX, B)], [(1, 0)], (1, 0),
                 comment="(0, 65535, B) at pt = 0: c' = 65536 carries to (1, 0)."),
        run_case("check-order-pt-first", ("CLK-026", "CLK-012"),
                 "A bad pt is reported before drift and before a bad remote timestamp.",
                 [recv(-1, T0, 0, B), recv(-1, 2**48, 0, B[:62])],
                 ["E_HLC_RANGE", "E_HLC_RANGE"], (0, 0)),
        run_case("check-order-range-before-drift", ("CLK-026", "CLK-003"),
                 "A remote wall_ms of 2^48 far ahead of pt is E_HLC_RANGE, not E_HLC_DRIFT.",
                 [recv(T0, 2**48, 0, B)], ["E_HLC_RANGE"], (0, 0)),
        run_case("check-order-drift-before-overflow", ("CLK-026", "CLK-014"),
                 "m = (2^48-1, 65535) received at pt = T0 is E_HLC_DRIFT (checked before "
                 "the carry would fail the range check).",
                 [recv(T0, WALL_MAX, LOGICAL_MAX, B)], ["E_HLC_DRIFT"], (0, 0)),
        run_case("drift-bound-no-wrap", ("CLK-014", "CLK-016", "CLK-018"),
                 "pt + 60000 exceeds 2^48-1 without wrapping: a remote at 2^48-1 is accepted "
                 "at pt = 2^48-1 - 59999 and a carry there fails the range check.",
                 [recv(WALL_MAX - 59_999, WALL_MAX, 0, B),
                  recv(WALL_MAX, WALL_MAX, LOGICAL_MAX, B)],
                 [(WALL_MAX, 1), "E_HLC_RANGE"], (WALL_MAX, 1)),
    ]


def resume_cases() -> list[Case]:
    return [
        run_case("resume-after-step-back", ("CLK-025", "CLK-024", "CLK-020"),
                 "A clock that issued (T0, 4) restarts while its physical clock stepped back "
                 "an hour; it resumes from (T0, 4) and keeps going forward.",
                 [tick(T0 - 3_600_000), tick(T0 - 3_599_000)], [(T0, 5), (T0, 6)], (T0, 6),
                 start=(T0, 4)),
        run_case("resume-then-receive", ("CLK-025", "CLK-016"),
                 "A resumed clock receives a timestamp behind its state: c' = c + 1.",
                 [recv(T0 - 10, T0 - 5, 100, B)], [(T0, 8)], (T0, 8), start=(T0, 7)),
        run_case("resume-first-half", ("CLK-024", "CLK-025"),
                 "The first half of a script; its state is the start of resume-second-half.",
                 [tick(T0), recv(T0, T0 + 40, 2, B), tick(T0 + 10)],
                 [(T0, 0), (T0 + 40, 3), (T0 + 40, 4)], (T0 + 40, 4)),
        run_case("resume-second-half", ("CLK-024", "CLK-025"),
                 "Resumed from the state of resume-first-half, with pt back at T0: the "
                 "timestamps continue exactly as resume-whole-run's last two.",
                 [tick(T0), tick(T0 + 41)], [(T0 + 40, 5), (T0 + 41, 0)], (T0 + 41, 0),
                 start=(T0 + 40, 4)),
        run_case("resume-whole-run", ("CLK-024", "CLK-025"),
                 "The two halves as one run give the same timestamps: a restart is invisible.",
                 [tick(T0), recv(T0, T0 + 40, 2, B), tick(T0 + 10), tick(T0), tick(T0 + 41)],
                 [(T0, 0), (T0 + 40, 3), (T0 + 40, 4), (T0 + 40, 5), (T0 + 41, 0)],
                 (T0 + 41, 0)),
        run_case("resume-null-is-fresh", ("CLK-011",),
                 "start = null is a fresh clock, the same as start = [0, 0].",
                 [tick(0), tick(0)], [(0, 1), (0, 2)], (0, 2), start=None),
        run_case("resume-zero", ("CLK-011", "CLK-025", "CLK-010"),
                 "start = [0, 0] behaves as a fresh clock (both components at the lower "
                 "bound of their ranges, so the start is accepted).",
                 [tick(0), tick(0)], [(0, 1), (0, 2)], (0, 2), start=(0, 0)),
        run_case("resume-at-max", ("CLK-010", "CLK-018"),
                 "A clock resumed at (2^48-1, 65535) is in range but cannot tick.",
                 [tick(WALL_MAX)], ["E_HLC_RANGE"], (WALL_MAX, LOGICAL_MAX),
                 start=(WALL_MAX, LOGICAL_MAX)),
        run_case("empty-run", ("CLK-025",),
                 "No events: the state is the start state.",
                 [], [], (T0, 9), start=(T0, 9)),
        bad("resume-l-out-of-range", ("CLK-010",), "start = [2^48, 0] is out of range.",
            "hlc.run", {"node": A, "start": [2**48, 0], "events": [tick(T0)]}, "E_HLC_RANGE"),
        bad("resume-c-out-of-range", ("CLK-010",), "start = [T0, 65536] is out of range.",
            "hlc.run", {"node": A, "start": [T0, 65536], "events": [tick(T0)]}, "E_HLC_RANGE"),
        bad("resume-negative", ("CLK-010",), "start = [-1, 0] is out of range.",
            "hlc.run", {"node": A, "start": [-1, 0], "events": []}, "E_HLC_RANGE"),
    ]


def ts(wall_ms: int, logical: int, node: str) -> list[Any]:
    return [wall_ms, logical, node]


def order_cases() -> list[Case]:
    n_lo = "7f" + "ff" * 31
    n_hi = "80" + "00" * 31
    n_last0 = "00" * 31 + "00"
    n_last1 = "00" * 31 + "01"
    cmp_cases = [
        ("wall-ms-decides", "wall_ms decides before logical and node.",
         ts(T0, 9, B), ts(T0 + 1, 0, A), -1),
        ("wall-ms-numeric", "wall_ms compares as a number (9 < 10), not as text or bytes.",
         ts(9, 0, A), ts(10, 0, A), -1),
        ("wall-ms-wide", "wall_ms 2^32 is above 2^32-1 (different CBOR head widths).",
         ts(2**32, 0, A), ts(2**32 - 1, 65535, B), 1),
        ("logical-decides", "Equal wall_ms: logical decides before node.",
         ts(T0, 2, A), ts(T0, 1, B), 1),
        ("logical-numeric", "logical compares as a number (255 < 256).",
         ts(T0, 255, B), ts(T0, 256, A), -1),
        ("node-decides", "Equal wall_ms and logical: node decides, A < B bytewise.",
         ts(T0, 3, A), ts(T0, 3, B), -1),
        ("node-unsigned-bytes", "Node bytes compare unsigned: 0x7f.. < 0x80.. .",
         ts(T0, 0, n_lo), ts(T0, 0, n_hi), -1),
        ("node-last-byte", "Nodes differing only in their last byte.",
         ts(T0, 0, n_last1), ts(T0, 0, n_last0), 1),
        ("equal", "Equal triples compare equal.", ts(T0, 3, C), ts(T0, 3, C), 0),
        ("extremes", "The smallest and largest timestamps.",
         ts(0, 0, "00" * 32), ts(WALL_MAX, LOGICAL_MAX, "ff" * 32), -1),
    ]
    cases = [
        good(f"compare-{cid}",
             # the extremes are the bounds of CLK-001's ranges: both timestamps are valid
             ("CLK-006", "CLK-007", "CLK-001") if cid == "extremes" else ("CLK-006", "CLK-007"),
             desc, "hlc.compare", {"a": a, "b": b}, {"order": order})
        for cid, desc, a, b, order in cmp_cases
    ]
    cases += [
        bad("compare-a-out-of-range", ("CLK-003",), "a has logical 65536.", "hlc.compare",
            {"a": ts(T0, 65536, A), "b": ts(T0, 0, A)}, "E_HLC_RANGE"),
        bad("compare-b-out-of-range", ("CLK-003",), "b has a 31-byte node.", "hlc.compare",
            {"a": ts(T0, 0, A), "b": ts(T0, 0, A[:62])}, "E_HLC_RANGE"),
    ]
    unsorted = [ts(T0, 1, A), ts(T0 - 1, 65535, B), ts(T0, 1, C), ts(T0, 0, B), ts(T0 + 1, 0, A),
                ts(T0, 1, B)]
    expected = [ts(T0 - 1, 65535, B), ts(T0, 0, B), ts(T0, 1, A), ts(T0, 1, C), ts(T0, 1, B),
                ts(T0 + 1, 0, A)]
    cases += [
        good("sort-mixed", ("CLK-006",),
             "Six timestamps sorted: wall_ms, then logical, then node (A < C < B).",
             "hlc.sort", {"timestamps": unsorted}, {"timestamps": expected}),
        good("sort-empty", ("CLK-006",), "The empty list sorts to itself.", "hlc.sort",
             {"timestamps": []}, {"timestamps": []}),
        good("sort-same-node-and-wall", ("CLK-006", "CLK-007"),
             "Timestamps differing only in node are distinct, not duplicates.",
             "hlc.sort", {"timestamps": [ts(T0, 0, B), ts(T0, 0, A)]},
             {"timestamps": [ts(T0, 0, A), ts(T0, 0, B)]}),
        bad("sort-duplicate", ("CLK-008", "CLK-007"),
            "Two equal triples (non-adjacent in the input) are an integrity failure.",
            "hlc.sort", {"timestamps": [ts(T0, 4, C), ts(T0, 5, A), ts(T0, 4, C)]},
            "E_HLC_DUPLICATE"),
        bad("sort-duplicate-only", ("CLK-008",), "A list of one timestamp twice.",
            "hlc.sort", {"timestamps": [ts(0, 0, A), ts(0, 0, A)]}, "E_HLC_DUPLICATE"),
        bad("sort-range-before-duplicate", ("CLK-009", "CLK-003"),
            "A duplicate pair before an out-of-range member: E_HLC_RANGE wins.",
            "hlc.sort", {"timestamps": [ts(T0, 0, A), ts(T0, 0, A), ts(2**48, 0, A)]},
            "E_HLC_RANGE"),
        bad("sort-out-of-range", ("CLK-003",), "A member with a negative wall_ms.",
            "hlc.sort", {"timestamps": [ts(T0, 0, A), ts(-1, 0, A)]}, "E_HLC_RANGE"),
        bad("sort-single-out-of-range", ("CLK-009", "CLK-003"),
            "A list of one timestamp whose logical is 65536: nothing to sort, still checked.",
            "hlc.sort", {"timestamps": [ts(T0, 65536, A)]}, "E_HLC_RANGE"),
    ]
    return cases


def wire_cases() -> list[Case]:
    zero = "00" * 32

    def enc(wall_ms: int, logical: int, head: str, why: str, *reqs: str) -> Case:
        node_cbor = "5820" + zero
        return good(f"encode-{wall_ms}-{logical}", ("CLK-004", *reqs),
                    f"wall_ms {wall_ms}, logical {logical}: {why}.",
                    "hlc.encode", {"ts": ts(wall_ms, logical, zero)},
                    {"cbor": "83" + head + node_cbor})

    return [
        enc(0, 0, "0000", "both in the initial byte, at the low ends of their ranges",
            "CLK-003"),
        enc(23, 23, "1717", "largest values in the initial byte"),
        enc(24, 24, "18181818", "smallest one-byte arguments"),
        enc(255, 256, "18ff190100", "one-byte and two-byte arguments"),
        enc(65535, 65535, "19ffff19ffff", "largest two-byte arguments"),
        enc(65536, 0, "1a0001000000", "smallest four-byte argument"),
        enc(2**32 - 1, 1, "1affffffff01", "largest four-byte argument"),
        enc(2**32, 1, "1b000000010000000001", "smallest eight-byte argument"),
        enc(T0, 7, "1b0000018bcfe5680007", "the example of section 2.3"),
        enc(WALL_MAX, LOGICAL_MAX, "1b0000ffffffffffff19ffff",
            "both at their maxima, still in range", "CLK-003"),
        good("encode-node-a", ("CLK-004",), "A realistic timestamp with node A.", "hlc.encode",
             {"ts": ts(T0, 1, A)}, {"cbor": "831b0000018bcfe56800015820" + A}),
        bad("encode-wall-ms-out-of-range", ("CLK-003",), "wall_ms 2^48 is not encodable.",
            "hlc.encode", {"ts": ts(2**48, 0, zero)}, "E_HLC_RANGE"),
        bad("encode-logical-out-of-range", ("CLK-003",), "logical 65536 is not encodable.",
            "hlc.encode", {"ts": ts(0, 65536, zero)}, "E_HLC_RANGE"),
        bad("encode-node-short", ("CLK-003",), "A 16-byte node is not encodable.",
            "hlc.encode", {"ts": ts(0, 0, "00" * 16)}, "E_HLC_RANGE"),
    ]


def request_cases() -> list[Case]:
    run = "hlc.run"
    return [
        bad("run-missing-node", ("CLK-027",), "hlc.run without node.", run,
            {"events": []}, "E_BAD_REQUEST"),
        bad("run-node-short", ("CLK-002", "CLK-027"), "A 31-byte clock node.", run,
            {"node": A[:62], "events": []}, "E_BAD_REQUEST"),
        bad("run-node-uppercase-hex", ("CLK-005", "CLK-027"), "Uppercase hex is not hex here.",
            run, {"node": A.upper(), "events": []}, "E_HEX_INVALID"),
        bad("run-missing-events", ("CLK-027",), "hlc.run without events.", run,
            {"node": A}, "E_BAD_REQUEST"),
        bad("run-event-two-members", ("CLK-027",), "An event with both tick and recv.", run,
            {"node": A, "events": [{"tick": T0, "recv": {"pt": T0, "ts": ts(T0, 0, B)}}]},
            "E_BAD_REQUEST"),
        bad("run-event-unknown", ("CLK-027",), "An event named neither tick nor recv.", run,
            {"node": A, "events": [{"send": T0}]}, "E_BAD_REQUEST"),
        bad("run-tick-not-integer", ("CLK-027",), "tick: true is not an integer.", run,
            {"node": A, "events": [{"tick": True}]}, "E_BAD_REQUEST"),
        bad("run-tick-string", ("CLK-027",), "tick: a decimal string is not an integer.", run,
            {"node": A, "events": [{"tick": str(T0)}]}, "E_BAD_REQUEST"),
        bad("run-recv-ts-short", ("CLK-005", "CLK-027"), "A timestamp of two items.", run,
            {"node": A, "events": [{"recv": {"pt": T0, "ts": [T0, 0]}}]}, "E_BAD_REQUEST"),
        bad("run-recv-ts-object", ("CLK-005", "CLK-027"), "A timestamp as an object.", run,
            {"node": A, "events": [{"recv": {"pt": T0, "ts": {"wall_ms": T0}}}]},
            "E_BAD_REQUEST"),
        bad("run-recv-node-bad-hex", ("CLK-005", "CLK-027"),
            "Odd-length hex in a remote node fails the whole command, even after a good event.",
            run, {"node": A, "events": [tick(T0), recv(T0, T0, 0, B[:63])]}, "E_HEX_INVALID"),
        bad("run-recv-missing-pt", ("CLK-027",), "A recv without pt.", run,
            {"node": A, "events": [{"recv": {"ts": ts(T0, 0, B)}}]}, "E_BAD_REQUEST"),
        bad("run-start-shape", ("CLK-027",), "start with three items.", run,
            {"node": A, "start": [T0, 0, 0], "events": []}, "E_BAD_REQUEST"),
        bad("run-node-before-events", ("CLK-027", "CLK-002"),
            "A short node and a malformed event: node is checked first (E_BAD_REQUEST), "
            "before the event's bad hex (E_HEX_INVALID).",
            run, {"node": A[:62], "events": [recv(T0, T0, 0, "zz")]}, "E_BAD_REQUEST"),
        bad("run-start-range-before-events", ("CLK-027", "CLK-010"),
            "An out-of-range start is reported before a malformed event.",
            run, {"node": A, "start": [2**48, 0], "events": [{"tick": None}]}, "E_HLC_RANGE"),
        bad("compare-missing-b", ("CLK-027",), "hlc.compare without b.", "hlc.compare",
            {"a": ts(T0, 0, A)}, "E_BAD_REQUEST"),
        bad("compare-logical-float", ("CLK-005", "CLK-027"), "logical 1.5 is not an integer.",
            "hlc.compare", {"a": [T0, 1.5, A], "b": ts(T0, 0, A)}, "E_BAD_REQUEST"),
        bad("compare-wall-ms-string", ("CLK-005", "CLK-027"),
            "wall_ms as a decimal string is not a JSON number (logical is a good integer).",
            "hlc.compare", {"a": [str(T0), 0, A], "b": ts(T0, 0, A)}, "E_BAD_REQUEST"),
        bad("sort-not-array", ("CLK-027",), "timestamps must be an array.", "hlc.sort",
            {"timestamps": ts(T0, 0, A)}, "E_BAD_REQUEST"),
    ]


def files() -> list[VectorFile]:
    """The vector files of chapter 05."""
    run_comment = (
        "Each case runs hlc.run: a fresh clock (start null) or one resumed from start = [l, c] "
        "runs the events in order; results[i] is the timestamp event i issued or its error. "
        f"T0 = {T0} (2023-11-14T22:13:20Z). " + NODES_COMMENT
    )
    return [
        VectorFile(FOLDER, CHAPTER, "tick", tuple(tick_cases()), comment=run_comment),
        VectorFile(FOLDER, CHAPTER, "receive", tuple(receive_cases()), comment=run_comment),
        VectorFile(FOLDER, CHAPTER, "resume", tuple(resume_cases()), comment=run_comment),
        VectorFile(FOLDER, CHAPTER, "order", tuple(order_cases()),
                   comment="hlc.compare and hlc.sort. " + NODES_COMMENT),
        VectorFile(FOLDER, CHAPTER, "wire", tuple(wire_cases()),
                   comment="hlc.encode: the deterministic CBOR of [wall_ms, logical, node] at "
                           "every head-width boundary. " + NODES_COMMENT),
        VectorFile(FOLDER, CHAPTER, "requests", tuple(request_cases()),
                   comment="Malformed requests, rejected as a whole before any event runs. "
                           + NODES_COMMENT),
    ]
