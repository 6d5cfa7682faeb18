"""Driver commands of chapter 10: projection queries, scripted and over sessions (spec/10 5).

`log.query` extends `log.run` of chapter 01 with queries answered after the
last op; `proj.query` answers over a `log.open` session from projections kept
incrementally; `proj.rebuild` answers the same queries from a full rebuild.
"""

from __future__ import annotations

from typing import Any

import attrs

from reference import identifiers, oplog, projections
from reference._require import SpecViolation, require
from reference.driver import oplog as oplog_driver
from reference.driver._registry import Args, command
from reference.introduction import ErrorCode


@attrs.frozen
class Query:
    """One parsed query: its kind and its argument (a record id or a count)."""

    kind: str
    record: bytes = b""  # detail
    number: int = 0  # salience k, inference budget


# Projections kept per log.open session (the handle and the log it was built for).
SETS: dict[str, tuple[oplog.OpLog, projections.ProjectionSet]] = {}

QUERY_ARGS = {"detail": "id", "salience": "k", "inference": "budget", "debug": None}


def parse_query(raw: Any) -> Query:
    """One query object: {"q": "detail", "id"} | {"q": "salience", "k"} | ... (section 5)."""
    # [PROJ-022] a malformed query refuses the whole request with E_BAD_REQUEST
    require(isinstance(raw, dict), "PROJ-022", ErrorCode.E_BAD_REQUEST, "a query is an object")
    args = Args(raw)
    kind = args.text("q")
    require(kind in QUERY_ARGS, "PROJ-022", ErrorCode.E_BAD_REQUEST, f"no query named {kind!r}")
    name = QUERY_ARGS[kind]
    require(set(raw) == {"q"} | ({name} if name else set()), "PROJ-022",
            ErrorCode.E_BAD_REQUEST, f"a {kind} query has exactly the members q and {name}")
    if name is None:
        return Query(kind)
    if name == "id":
        return Query(kind, record=args.bytes("id"))
    value = args.int(name)
    require(0 <= value < 2**63, "PROJ-022", ErrorCode.E_BAD_REQUEST,
            f"{name} must be an integer from 0 to 2^63-1")
    return Query(kind, number=value)


def parse_queries(args: Args) -> list[Query]:
    """Every query of a request, all checked before any is answered."""
    return [parse_query(raw) for raw in args.list("queries")]


def answer(view: projections.Projections, log: oplog.OpLog, query: Query) -> dict[str, Any]:
    """Answer one query from `view`; a query the projection refuses gives its error code."""
    # [PROJ-021] one answer per query: the section 4 object, or {"error": {"code"}}
    try:
        if query.kind == "detail":
            return view.get_detail(query.record, lambda h: log.get_evidence(h) is not None)
        if query.kind == "salience":
            return view.get_salience(query.number)
        if query.kind == "inference":
            return view.get_inference(query.number)
        return view.get_debug(log.equivocators())  # [PROJ-020] always served here
    except SpecViolation as violation:
        return {"error": {"code": str(violation.code)}}


def sync_after_append(pset: projections.ProjectionSet, log: oplog.OpLog,
                      outcome: oplog.AppendResult | None) -> None:
    """Bring projections up to date after one append; a duplicate adds nothing [DM-021]."""
    # Syncing after each append exercises incremental upkeep; log.query syncs at the end:
    # equivalent mutant (stmt-remove): that last sync alone gives the same state (chapter 01
    # section 5)
    pset.sync(log, () if outcome is None else outcome.applied)


@command("log.query")
def log_query(args: Args) -> dict[str, Any]:
    """Append ops in order to a fresh log, projecting after each; then answer the queries."""
    now_ms = args.int("now_ms")
    queries = parse_queries(args)
    log = oplog.OpLog(root=oplog_driver.get_root(args))  # with a root, it authorizes (07 7.3)
    for item in args.list("evidence") if args.has("evidence") else []:
        content = Args({"content": item}).bytes("content")
        log.put_evidence(content, identifiers.compute_content_hash(content))  # [PROJ-012]
    pset = projections.ProjectionSet()
    results: list[dict[str, Any]] = []
    for item in args.list("ops"):
        outcome: oplog.AppendResult | None = None
        try:
            outcome = log.append(Args({"op": item}).bytes("op"), now_ms)
            results.append(oplog_driver.append_result(outcome))
        except SpecViolation as violation:
            results.append({"error": {"code": str(violation.code)}})
        # the final sync below alone gives the same state, by DM-022 itself:
        # equivalent mutant (stmt-remove): syncing after each append only exercises upkeep
        sync_after_append(pset, log, outcome)  # incremental, as a live node would [DM-022]
    view = pset.sync(log)
    answers = [answer(view, log, q) for q in queries]
    log.close()
    return {"results": results, "answers": answers}


def get_session(handle: str) -> tuple[oplog.OpLog, projections.ProjectionSet]:
    """The log of an open session and the projections kept for it."""
    log = oplog_driver.SESSIONS.get(handle)
    if log is None:
        raise SpecViolation("CONF-010", ErrorCode.E_UNKNOWN_SESSION, f"no open session {handle!r}")
    for stale in [h for h in SETS if h not in oplog_driver.SESSIONS]:
        del SETS[stale]  # the session was closed
    kept = SETS.get(handle)
    if kept is None or kept[0] is not log:
        kept = SETS[handle] = (log, projections.ProjectionSet())
    return kept


@command("proj.query")
def proj_query(args: Args) -> dict[str, Any]:
    """Answer queries over a session from its incrementally maintained projections."""
    log, pset = get_session(args.text("session"))
    queries = parse_queries(args)
    view = pset.sync(log)
    return {"answers": [answer(view, log, q) for q in queries]}


@command("proj.rebuild")
def proj_rebuild(args: Args) -> dict[str, Any]:
    """Answer queries over a session from projections rebuilt from its whole log [DM-022]."""
    log, _ = get_session(args.text("session"))
    queries = parse_queries(args)
    view = projections.rebuild(log.ops())
    return {"answers": [answer(view, log, q) for q in queries]}
