"""Driver commands of chapter 01: the op log, scripted and in sessions (spec/16 section 3).

With a `root`, the log is that of a mesh and checks authority (spec/07 section 7).
"""

from __future__ import annotations

import itertools
from typing import Any

from reference import oplog, projections
from reference._require import SpecViolation
from reference.driver._registry import Args, command
from reference.introduction import ErrorCode

SESSIONS: dict[str, oplog.OpLog] = {}
_NEXT = itertools.count(1)


def _session(args: Args) -> oplog.OpLog:
    handle = args.text("session")
    if handle not in SESSIONS:
        raise SpecViolation("CONF-010", ErrorCode.E_UNKNOWN_SESSION, f"no open session {handle!r}")
    return SESSIONS[handle]


def append_result(result: oplog.AppendResult) -> dict[str, Any]:
    """The JSON form of one append's outcome."""
    return {
        "status": result.status,
        "hash": result.hash.hex(),
        "reason": None if result.reason is None else str(result.reason),
        "applied": [op.hash.hex() for op in result.applied],
    }


def log_state(log: oplog.OpLog) -> dict[str, Any]:
    """What the log holds: applied op hashes in total order, held ops, flagged authors.

    A log with a mesh root also reports its stored ops found unauthorized and the
    state of each delegation (spec/07 sections 7.2 and 7.4).
    """
    applied = list(log.ops())
    out: dict[str, Any] = {
        "ops": [op.hash.hex() for op in applied],
        "held": [{"hash": h.hex(), "reason": reason} for h, reason in log.held()],
        "equivocators": [a.hex() for a in log.equivocators()],
    }
    if log.root is not None:
        out["unauthorized"] = [{"hash": h.hex(), "code": code}
                               for h, code in log.unauthorized()]
        out["delegations"] = [{"token": h.hex(), "state": state} for h, state in sorted(
            projections.get_delegation_states(applied).items())]
    return out


def get_root(args: Args) -> str | None:
    """The optional `root` of a log command: the mesh root's did:key (spec/07 section 7)."""
    return args.text("root") if args.has("root") else None


@command("log.run")
def log_run(args: Args) -> dict[str, Any]:
    """Append each op in order to a fresh log; report every outcome and the final state."""
    log = oplog.OpLog(root=get_root(args))
    now_ms = args.int("now_ms")
    results: list[dict[str, Any]] = []
    for item in args.list("ops"):
        try:
            data = Args({"op": item}).bytes("op")
            results.append(append_result(log.append(data, now_ms)))
        except SpecViolation as violation:
            results.append({"error": {"code": str(violation.code)}})
    return {"results": results, **log_state(log)}


@command("log.open")
def log_open(args: Args) -> dict[str, Any]:
    """Open a fresh, empty in-memory log (with a mesh root: authorizing) and return its handle."""
    log = oplog.OpLog(root=get_root(args))
    handle = f"log-{next(_NEXT)}"
    SESSIONS[handle] = log
    return {"session": handle}


@command("log.append")
def log_append(args: Args) -> dict[str, Any]:
    """Append one op to a session's log (spec/01 section 4.5)."""
    log = _session(args)
    return append_result(log.append(args.bytes("op"), args.int("now_ms")))


@command("log.state")
def log_state_command(args: Args) -> dict[str, Any]:
    """A session's applied ops in total order, held ops and flagged authors."""
    return log_state(_session(args))


@command("log.close")
def log_close(args: Args) -> dict[str, Any]:
    """Close a session; its handle is no longer valid."""
    _session(args).close()
    del SESSIONS[args.text("session")]
    return {}


@command("evidence.put")
def evidence_put(args: Args) -> dict[str, Any]:
    """Store evidence bytes under the ContentHash that names them, verifying it (spec/01 3)."""
    log = oplog.OpLog()
    log.put_evidence(args.bytes("content"), args.bytes("hash"))
    present = log.get_evidence(args.bytes("hash")) is not None
    log.close()
    return {"stored": present}
