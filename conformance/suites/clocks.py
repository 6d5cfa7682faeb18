"""Property checks of chapter 05, hybrid logical clocks (spec/05-clocks.md).

The harness's own model of the clock (`model_run`) is written from the spec
text alone; it is the oracle for `run_follows_rules`, which compares every
event's outcome exactly (the spec fixes one answer). The other checks state one
guarantee each without the model, so a failure names the guarantee broken.
"""

from __future__ import annotations

from typing import Any

import cbor2
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect

WALL_MAX = 2**48 - 1
LOGICAL_MAX = 65535
MAX_DRIFT_MS = 60_000
T0 = 1_700_000_000_000

Json = Any
Triple = tuple[int, int, bytes]


# --- the harness's model of section 4 ---------------------------------------


def _in_range(w: int, lg: int, node: bytes) -> bool:
    return 0 <= w <= WALL_MAX and 0 <= lg <= LOGICAL_MAX and len(node) == 32


def _parse(ts: Json) -> Triple:
    return (ts[0], ts[1], bytes.fromhex(ts[2]))


def model_run(node: bytes, start: tuple[int, int] | None, events: list[Json]
              ) -> tuple[list[Json], list[int]]:
    """Run `events` as section 4 says; return (results, state) in hlc.run's JSON form."""
    lc, cc = start if start is not None else (0, 0)
    results: list[Json] = []
    for event in events:
        if "tick" in event:
            pt = event["tick"]
            if not 0 <= pt <= WALL_MAX:
                results.append({"error": {"code": "E_HLC_RANGE"}})
                continue
            l2 = max(lc, pt)
            c2 = cc + 1 if l2 == lc else 0
        else:
            pt = event["recv"]["pt"]
            mw, ml, mn = _parse(event["recv"]["ts"])
            if not 0 <= pt <= WALL_MAX or not _in_range(mw, ml, mn):
                results.append({"error": {"code": "E_HLC_RANGE"}})
                continue
            if mw > pt + MAX_DRIFT_MS:
                results.append({"error": {"code": "E_HLC_DRIFT"}})
                continue
            l2 = max(lc, mw, pt)
            if l2 == lc and l2 == mw:
                c2 = max(cc, ml) + 1
            elif l2 == lc:
                c2 = cc + 1
            elif l2 == mw:
                c2 = ml + 1
            else:
                c2 = 0
        if c2 > LOGICAL_MAX:
            l2, c2 = l2 + 1, 0
        if l2 > WALL_MAX:
            results.append({"error": {"code": "E_HLC_RANGE"}})
            continue
        lc, cc = l2, c2
        results.append({"ts": [lc, cc, node.hex()]})
    return results, [lc, cc]


# --- strategies -------------------------------------------------------------

nodes = st.binary(min_size=32, max_size=32)
bases = st.sampled_from([0, 5, T0, WALL_MAX - 200_000, WALL_MAX - 3])
logicals = st.one_of(
    st.sampled_from([0, 1, LOGICAL_MAX - 1, LOGICAL_MAX]), st.integers(0, LOGICAL_MAX)
)
drifts = st.one_of(
    st.sampled_from([MAX_DRIFT_MS, MAX_DRIFT_MS + 1, 0, -1, 1]),
    st.integers(-5_000, 70_000),
    st.integers(MAX_DRIFT_MS + 1, 10**9),
)


@st.composite
def scripts(draw: st.DrawFn, in_range_only: bool = False) -> dict[str, Json]:
    """An hlc.run request: a node, an optional start near the base, and tick/recv events."""
    node = draw(nodes)
    base = draw(bases)
    start: list[int] | None = None
    if draw(st.booleans()):
        start = [min(WALL_MAX, base + draw(st.integers(0, 2_000))), draw(logicals)]
    peers = [node, *draw(st.lists(nodes, min_size=1, max_size=3))]
    events: list[Json] = []
    pt = base
    for _ in range(draw(st.integers(0, 14))):
        pt = min(WALL_MAX, max(0, pt + draw(st.integers(-2_000, 2_000))))
        bad_pt = None if in_range_only else draw(st.sampled_from([None] * 12 + [-1, 2**48]))
        at = pt if bad_pt is None else bad_pt
        if draw(st.booleans()):
            events.append({"tick": at})
            continue
        wall = pt + draw(drifts)
        if in_range_only or draw(st.integers(0, 9)) > 0:
            wall = min(WALL_MAX, max(0, wall))
        peer = draw(st.sampled_from(peers))
        if not in_range_only and draw(st.integers(0, 15)) == 0:
            peer = peer[:31]
        events.append({"recv": {"pt": at, "ts": [wall, draw(logicals), peer.hex()]}})
    return {"node": node.hex(), "start": start, "events": events}


def _ran(impl: Impl, script: dict[str, Json]) -> tuple[list[Json], list[int]]:
    out = impl.ok("hlc.run", script)
    expect(isinstance(out, dict) and isinstance(out.get("results"), list)
           and len(out["results"]) == len(script["events"]),
           f"hlc.run must answer one result per event: {out}")
    return out["results"], out["state"]


def _issued(results: list[Json]) -> list[Triple]:
    return [_parse(r["ts"]) for r in results if "ts" in r]


# --- checks -----------------------------------------------------------------


@check("CLK-011", "CLK-012", "CLK-013", "CLK-014", "CLK-016", "CLK-017", "CLK-018",
       "CLK-019", "CLK-023", "CLK-025", "CLK-026", "CLK-003", "CLK-005", "CLK-027")
@given(script=scripts())
def check_run_follows_rules(impl: Impl, script: dict[str, Json]) -> None:
    """Every event's outcome and the final state equal the spec's rules, computed here."""
    results, state = _ran(impl, script)
    start = None if script["start"] is None else (script["start"][0], script["start"][1])
    want, want_state = model_run(bytes.fromhex(script["node"]), start, script["events"])
    for i, (got, exp) in enumerate(zip(results, want, strict=True)):
        expect(got == exp, f"event {i} {script['events'][i]}: expected {exp}, got {got}")
    expect(state == want_state, f"final state: expected {want_state}, got {state}")


@check("CLK-020", "CLK-022")
@given(script=scripts())
def check_timestamps_strictly_increase(impl: Impl, script: dict[str, Json]) -> None:
    """Each issued timestamp is strictly greater than every one the clock issued before."""
    results, _ = _ran(impl, script)
    issued = _issued(results)
    if script["start"] is not None:
        issued.insert(0, (script["start"][0], script["start"][1], bytes.fromhex(script["node"])))
    for before, after in zip(issued, issued[1:], strict=False):
        expect(before < after, f"{_show(after)} does not follow {_show(before)}")


@check("CLK-021")
@given(script=scripts(in_range_only=True))
def check_receive_exceeds_remote(impl: Impl, script: dict[str, Json]) -> None:
    """A timestamp issued on a receive is strictly greater than the remote timestamp."""
    results, _ = _ran(impl, script)
    for event, result in zip(script["events"], results, strict=True):
        if "recv" in event and "ts" in result:
            remote, got = _parse(event["recv"]["ts"]), _parse(result["ts"])
            expect(got > remote, f"receive of {_show(remote)} issued {_show(got)}, not above it")


@check("CLK-001", "CLK-002", "CLK-017")
@given(script=scripts())
def check_issued_in_range(impl: Impl, script: dict[str, Json]) -> None:
    """Issued timestamps keep logical within 0..65535, wall_ms within 48 bits, and own node."""
    results, state = _ran(impl, script)
    for w, lg, node in _issued(results):
        expect(0 <= lg <= LOGICAL_MAX, f"logical {lg} is out of range")
        expect(0 <= w <= WALL_MAX, f"wall_ms {w} is out of range")
        expect(node.hex() == script["node"], f"issued node {node.hex()} is not the clock's")
    expect(0 <= state[0] <= WALL_MAX and 0 <= state[1] <= LOGICAL_MAX,
           f"state {state} is out of range")


@check("CLK-023")
@given(script=scripts())
def check_rejected_events_change_nothing(impl: Impl, script: dict[str, Json]) -> None:
    """Dropping the rejected events from a run changes no other event's outcome."""
    results, state = _ran(impl, script)
    kept = [e for e, r in zip(script["events"], results, strict=True) if "ts" in r]
    if len(kept) == len(results):
        return  # nothing was rejected: nothing to compare
    again, state_again = _ran(impl, {**script, "events": kept})
    accepted = [r for r in results if "ts" in r]
    expect(again == accepted, f"without the rejected events: {again}, with them: {accepted}")
    expect(state_again == state, f"final state {state_again} differs from {state}")


@check("CLK-014", "CLK-015")
@given(node=nodes, peer=nodes, pt=st.integers(0, WALL_MAX), ahead=drifts)
def check_drift_bound(impl: Impl, node: bytes, peer: bytes, pt: int, ahead: int) -> None:
    """Over 60000 ms ahead is E_HLC_DRIFT, then accepted once pt catches up; else accepted."""
    wall = pt + ahead
    assume(0 <= wall <= WALL_MAX)
    remote = [wall, 0, peer.hex()]
    later = max(pt, wall - MAX_DRIFT_MS)
    results, _ = _ran(impl, {"node": node.hex(), "start": None, "events": [
        {"recv": {"pt": pt, "ts": remote}}, {"recv": {"pt": later, "ts": remote}}]})
    if ahead > MAX_DRIFT_MS:
        expect(results[0] == {"error": {"code": "E_HLC_DRIFT"}},
               f"remote {ahead} ms ahead of pt {pt}: expected E_HLC_DRIFT, got {results[0]}")
        expect("ts" in results[1],
               f"offered again at pt {later} = wall_ms - 60000: expected acceptance, "
               f"got {results[1]}")
    else:
        expect("ts" in results[0], f"remote {ahead} ms ahead of pt {pt}: got {results[0]}")


@check("CLK-024", "CLK-025")
@given(script=scripts(), cut=st.integers(0, 14))
def check_restart_is_invisible(impl: Impl, script: dict[str, Json], cut: int) -> None:
    """Restarting from the reported state between two events changes no timestamp."""
    events = script["events"]
    cut = min(cut, len(events))
    whole, state = _ran(impl, script)
    first, mid = _ran(impl, {**script, "events": events[:cut]})
    second, end = _ran(impl, {**script, "start": mid, "events": events[cut:]})
    expect(first + second == whole,
           f"restart after event {cut} from state {mid}: {first + second} != {whole}")
    expect(end == state, f"state after the restarted run {end} != {state}")


@check("CLK-002", "CLK-010")
@given(
    node=st.sampled_from([0, 31, 32, 32, 32, 33]).flatmap(
        lambda n: st.binary(min_size=n, max_size=n)
    ),
    start=st.tuples(
        st.sampled_from([-1, 0, T0, WALL_MAX, 2**48]),
        st.sampled_from([-1, 0, LOGICAL_MAX, 65536]),
    ),
)
def check_clock_configuration(impl: Impl, node: bytes, start: tuple[int, int]) -> None:
    """A clock needs a 32-byte node (E_BAD_REQUEST) and an in-range start (E_HLC_RANGE)."""
    args = {"node": node.hex(), "start": list(start), "events": [{"tick": T0}]}
    if len(node) != 32:
        impl.err("hlc.run", args, "E_BAD_REQUEST")
    elif not (0 <= start[0] <= WALL_MAX and 0 <= start[1] <= LOGICAL_MAX):
        impl.err("hlc.run", args, "E_HLC_RANGE")
    else:
        impl.ok("hlc.run", args)


# Boundary values: numeric vs textual order (9, 10; 255, 256), CBOR head widths (2^32),
# the top of the range, and nodes that differ only in the sign bit or the last byte.
WALLS = [0, 9, 10, T0, 2**32, WALL_MAX]
LOGICALS = [0, 255, 256, LOGICAL_MAX]
NODES = [b"\x00" * 32, b"\x7f" + b"\xff" * 31, b"\x80" + b"\x00" * 31, b"\x00" * 31 + b"\x01"]
triples = st.tuples(st.sampled_from(WALLS), st.sampled_from(LOGICALS), st.sampled_from(NODES))


def _near(draw: st.DrawFn, t: Triple) -> Triple:
    """`t` itself or `t` with one component replaced: ties on the leading components are common."""
    which = draw(st.integers(0, 3))
    if which == 0:
        return t
    if which == 1:
        return (t[0], t[1], draw(st.sampled_from(NODES)))
    if which == 2:
        return (t[0], draw(st.sampled_from(LOGICALS)), t[2])
    return (draw(st.sampled_from(WALLS)), t[1], t[2])


def _timestamp_lists(draw: st.DrawFn, size: int) -> list[Triple]:
    out = [draw(triples)] if size else []
    while len(out) < size:
        out.append(_near(draw, draw(st.sampled_from(out))) if draw(st.booleans())
                   else draw(triples))
    return out


@st.composite
def timestamp_lists(draw: st.DrawFn) -> list[Triple]:
    """Lists of boundary triples, each often a near copy of an earlier one (ties, duplicates)."""
    return _timestamp_lists(draw, draw(st.integers(0, 7)))


def _js(t: Triple) -> Json:
    return [t[0], t[1], t[2].hex()]


@check("CLK-006", "CLK-007", "CLK-008")
@given(items=timestamp_lists())
def check_sort_matches_tuple_order(impl: Impl, items: list[Triple]) -> None:
    """hlc.sort equals an independent tuple sort and rejects exactly the lists with a duplicate."""
    args = {"timestamps": [_js(t) for t in items]}
    if len(set(items)) < len(items):
        impl.err("hlc.sort", args, "E_HLC_DUPLICATE")
        return
    out = impl.ok("hlc.sort", args)
    expect(out == {"timestamps": [_js(t) for t in sorted(items)]},
           f"sorted {items}: got {out}")


@st.composite
def timestamp_pairs(draw: st.DrawFn) -> list[Triple]:
    """Two boundary triples, often equal or differing in one component only."""
    return _timestamp_lists(draw, 2)


@check("CLK-006", "CLK-007")
@given(pair=timestamp_pairs())
def check_compare_is_the_order(impl: Impl, pair: list[Triple]) -> None:
    """hlc.compare is antisymmetric, zero exactly on equal triples, and agrees with hlc.sort."""
    a, b = pair
    ab = impl.ok("hlc.compare", {"a": _js(a), "b": _js(b)})["order"]
    ba = impl.ok("hlc.compare", {"a": _js(b), "b": _js(a)})["order"]
    want = (a > b) - (a < b)
    expect(ab == want and ba == -want, f"compare {a} {b}: got {ab} and {ba}, expected {want}")
    if a != b:
        out = impl.ok("hlc.sort", {"timestamps": [_js(a), _js(b)]})["timestamps"]
        expect(out[0] == _js(a if ab < 0 else b), f"hlc.sort disagrees with hlc.compare: {out}")


bad_components = st.sampled_from([
    (2**48, 0, 32), (-1, 0, 32), (0, 65536, 32), (0, -1, 32), (0, 0, 31), (0, 0, 33), (0, 0, 0),
])


@check("CLK-003", "CLK-009")
@given(bad=bad_components, good=timestamp_lists(), where=st.integers(0, 8))
def check_out_of_range_rejected(impl: Impl, bad: tuple[int, int, int], good: list[Triple],
                                where: int) -> None:
    """A timestamp component out of range is E_HLC_RANGE in compare, sort and encode."""
    wrong = [bad[0], bad[1], "ab" * bad[2]]
    fine = _js(good[0]) if good else [0, 0, "00" * 32]
    impl.err("hlc.compare", {"a": fine, "b": wrong}, "E_HLC_RANGE")
    impl.err("hlc.encode", {"ts": wrong}, "E_HLC_RANGE")
    # `fine` repeats good[0] when good is not empty: range still wins over duplicates (CLK-009)
    members = [_js(t) for t in good] + [fine]
    members.insert(min(where, len(members)), wrong)
    impl.err("hlc.sort", {"timestamps": members}, "E_HLC_RANGE")


@check("CLK-004")
@given(wall=st.one_of(st.integers(0, WALL_MAX), st.sampled_from([23, 24, 2**32])),
       logical=st.integers(0, LOGICAL_MAX), node=nodes)
def check_encode_is_canonical_cbor(impl: Impl, wall: int, logical: int, node: bytes) -> None:
    """hlc.encode equals deterministic CBOR of [wall_ms, logical, node] computed here."""
    out = impl.ok("hlc.encode", {"ts": [wall, logical, node.hex()]})
    want = cbor2.dumps([wall, logical, node], canonical=True).hex()
    expect(out == {"cbor": want}, f"encoding of {(wall, logical)}: expected {want}, got {out}")


def _show(t: Triple) -> str:
    return f"({t[0]}, {t[1]}, {t[2].hex()[:8]}..)"
