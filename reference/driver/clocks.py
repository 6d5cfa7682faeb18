"""Driver commands of chapter 05: `hlc.run`, `hlc.compare`, `hlc.sort`, `hlc.encode` (section 6).

[CLK-027] Each command answers exactly as section 6 specifies.

Every argument is parsed before anything runs, so a malformed request fails as a
whole (`E_BAD_REQUEST`, `E_HEX_INVALID`); rule violations of an event are that
event's result and the run goes on.
"""

from __future__ import annotations

from typing import Any

import attrs

from reference import clocks
from reference._require import SpecViolation
from reference.driver._registry import Args, Result, command
from reference.introduction import ErrorCode
from reference.wire_format import decode_hex, encode_hex


def _bad(message: str) -> SpecViolation:
    return SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_timestamp(value: Any, where: str) -> clocks.Timestamp:
    """A timestamp in its JSON form `[wall_ms, logical, "node hex"]` (section 2.4) [CLK-005]."""
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not _is_int(value[0])
        or not _is_int(value[1])
        or not isinstance(value[2], str)
    ):
        raise _bad(f"{where} must be a timestamp [wall_ms, logical, \"node hex\"]")
    return clocks.Timestamp(value[0], value[1], decode_hex(value[2]))


def render_timestamp(ts: clocks.Timestamp) -> list[Any]:
    """The JSON form of a timestamp (section 2.4) [CLK-005]."""
    return [ts.wall_ms, ts.logical, encode_hex(ts.node)]


@attrs.frozen
class _Tick:
    pt: int


@attrs.frozen
class _Recv:
    pt: int
    ts: clocks.Timestamp


def _parse_event(value: Any, index: int) -> _Tick | _Recv:
    where = f"events[{index}]"
    if not isinstance(value, dict) or len(value) != 1:
        raise _bad(f"{where} must be an object with exactly one member, 'tick' or 'recv'")
    if "tick" in value:
        if not _is_int(value["tick"]):
            raise _bad(f"{where}.tick must be an integer physical time")
        return _Tick(value["tick"])
    if "recv" in value:
        recv = value["recv"]
        if not isinstance(recv, dict) or not _is_int(recv.get("pt")) or "ts" not in recv:
            raise _bad(f"{where}.recv must be an object with an integer 'pt' and a 'ts'")
        return _Recv(recv["pt"], parse_timestamp(recv["ts"], f"{where}.recv.ts"))
    raise _bad(f"{where} must be an object with exactly one member, 'tick' or 'recv'")


@command("hlc.run")
def hlc_run(args: Args) -> Result:
    """Run tick and receive events on a fresh or resumed clock (section 6.1)."""
    # Checks in the order of section 6.1: node, start, then the events in order.
    node = args.bytes("node")
    clocks.validate_node(node)
    start: clocks.ClockState | None = None
    if args.has("start"):
        raw = args.any("start")
        if not (isinstance(raw, list) and len(raw) == 2 and all(_is_int(x) for x in raw)):
            raise _bad("'start' must be null or a persisted state [l, c]")
        start = clocks.ClockState(raw[0], raw[1])
        clocks.validate_state(start)
    events = [_parse_event(e, i) for i, e in enumerate(args.list("events"))]

    persisted: list[clocks.ClockState] = []
    if start is None:
        clock = clocks.new_clock(node, persisted.append)
    else:
        clock = clocks.resume_clock(node, start, persisted.append)
    results: list[dict[str, Any]] = []
    for event in events:
        try:
            if isinstance(event, _Tick):
                ts = clock.tick(event.pt)
            else:
                ts = clock.receive(event.ts, event.pt)
        except SpecViolation as violation:
            results.append({"error": {"code": str(violation.code)}})
        else:
            results.append({"ts": render_timestamp(ts)})
    # The reported state is what a restart would resume from: the last persisted state.
    # Before any event is persisted that is the state it was started from.
    final = persisted[-1] if persisted else (start or clocks.FRESH_STATE)
    return {"results": results, "state": [final.l, final.c]}


@command("hlc.compare")
def hlc_compare(args: Args) -> Result:
    """Compare two timestamps in the total order (section 6.2)."""
    a = parse_timestamp(args.any("a"), "'a'")
    b = parse_timestamp(args.any("b"), "'b'")
    return {"order": clocks.compare_timestamps(a, b)}


@command("hlc.sort")
def hlc_sort(args: Args) -> Result:
    """Sort timestamps ascending in the total order (section 6.3)."""
    items = [parse_timestamp(v, f"timestamps[{i}]") for i, v in enumerate(args.list("timestamps"))]
    return {"timestamps": [render_timestamp(ts) for ts in clocks.sort_timestamps(items)]}


@command("hlc.encode")
def hlc_encode(args: Args) -> Result:
    """The wire form of a timestamp (section 6.4)."""
    ts = parse_timestamp(args.any("ts"), "'ts'")
    return {"cbor": encode_hex(clocks.encode_timestamp(ts))}
