"""Driver commands of chapter 09: rules, frames, reconciliation, receiving, merges (spec/09 9).

[MESH-035] every command of spec/09 section 9 is registered here.

Everything here is deterministic and in memory: `mesh.reconcile` runs a whole
session between two sets of ops without sockets, and `mesh.receive` offers ops
to one node's replica (an in-memory log with the mesh root) at given instants.
"""

from __future__ import annotations

from typing import Any

import reference.mesh as mesh
from reference import identifiers, oplog, signatures, wire_format
from reference._require import SpecViolation, require
from reference.driver._registry import Args, command
from reference.introduction import ErrorCode
from reference.mesh import frames, node, reconcile


def _bad(message: str) -> SpecViolation:
    return SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, message)


def _root(args: Args) -> str:
    root = args.text("root")
    # equivalent mutant (stmt-remove): reference.mesh decodes it again, with the same code
    identifiers.decode_did_key(root)  # [UCAN-001]
    return root


def _hex_list(args: Args, key: str) -> list[bytes]:
    values = args.list(key)
    if not all(isinstance(v, str) for v in values):
        raise _bad(f"{key!r} is an array of hex strings")
    return [wire_format.decode_hex(v) for v in values]


@command("mesh.rules")
def mesh_rules(args: Args) -> dict[str, Any]:
    """The mesh-rules document of a root and its hash (section 3.1)."""
    root = _root(args)
    return {"document": mesh.encode_rules(root).hex(), "hash": mesh.compute_rules_hash(root).hex()}


@command("mesh.handshake")
def mesh_handshake(args: Args) -> dict[str, Any]:
    """A node of mesh `root` checks the first frame a peer sent it (section 3.2)."""
    root = _root(args)
    body = frames.decode_frame(args.bytes("frame"))
    return {"peer": mesh.check_hello(body, root).hex()}


@command("mesh.decode_frame")
def mesh_decode_frame(args: Args) -> dict[str, Any]:
    """Check one frame, prefix included, and summarize it (section 4)."""
    data = args.bytes("frame")
    body = frames.decode_frame(data)
    out: dict[str, Any] = {"t": body["t"], "length": len(data) - frames.PREFIX_BYTES}
    if body["t"] == "rec":
        if "salt" in body:
            salt = body["salt"]
            require(isinstance(salt, bytes) and len(salt) == reconcile.SALT_BYTES, "MESH-016",
                    ErrorCode.E_MESH_FRAME, "a salt is 16 bytes")
        entries = reconcile.decode_entries(body["r"])
        out["ranges"] = [{"upper": None if e.upper is None else e.upper.hex(), "mode": e.mode,
                          "data": e.data.hex()} for e in entries]
    elif body["t"] == "ops":
        out["ops"] = len(body["ops"])  # type: ignore[arg-type]
    return out


@command("mesh.announce")
def mesh_announce(args: Args) -> dict[str, Any]:
    """A new node's token from the root and its announcement (section 2.2)."""
    root_seed, seed = args.bytes("root_seed"), args.bytes("seed")
    wall_ms = args.int("wall_ms")
    nonce, id_random = args.bytes("nonce"), args.bytes("id_random")
    if len(root_seed) != 32 or len(seed) != 32:
        raise _bad("'root_seed' and 'seed' are 32-byte Ed25519 seeds")
    if len(nonce) != 16 or len(id_random) != 10:
        raise _bad("'nonce' is 16 bytes and 'id_random' 10 bytes")
    token, op = mesh.compute_announcement(root_seed, seed, wall_ms, nonce, id_random)
    return {"node": signatures.compute_public_key(seed).hex(), "token": token.data.hex(),
            "op": op.hex()}


@command("mesh.reconcile")
def mesh_reconcile(args: Args) -> dict[str, Any]:
    """A whole session between sets `a` (initiating) and `b`, in memory (section 5.7)."""
    sides: list[dict[bytes, bytes]] = []
    for key in ("a", "b"):
        items: dict[bytes, bytes] = {}
        for data in _hex_list(args, key):
            env = wire_format.decode_envelope(data)  # [MESH-013] keys need chapter 03 only
            items[reconcile.compute_key(env.ts, identifiers.compute_op_hash(data))] = data
        sides.append(items)
    salt = args.bytes("salt")
    if len(salt) != reconcile.SALT_BYTES:
        raise _bad("'salt' is 16 bytes")
    trace_wanted = args.has("trace") and args.any("trace") is True
    trace: list[tuple[int, bytes]] = []
    outcome = reconcile.simulate(sides[0], sides[1], salt, trace)
    out: dict[str, Any] = {
        "a_needs": [reconcile.get_hash(k).hex() for k in outcome.a_needs],
        "b_needs": [reconcile.get_hash(k).hex() for k in outcome.b_needs],
        "rounds": outcome.messages,
        "bytes": outcome.bytes,
    }
    if trace_wanted:
        out["trace"] = [{"from": "ab"[who], "frame": f.hex()} for who, f in trace]
    return out


def _event(raw: Any) -> tuple[str, bytes, int, bytes]:
    """One event of `mesh.receive`: ("op", bytes, now, peer) or ("release", b"", now, b"")."""
    if not isinstance(raw, dict):
        raise _bad("an event is an object")
    args = Args(raw)
    if set(raw) == {"release"}:
        return "release", b"", args.int("release"), b""
    if set(raw) - {"peer"} != {"op", "now_ms"}:
        raise _bad("an event is {op, now_ms[, peer]} or {release}")
    peer = args.bytes("peer") if "peer" in raw else node.NO_PEER
    if len(peer) != 32:
        raise _bad("a peer is a 32-byte NodeId")
    return "op", args.bytes("op"), args.int("now_ms"), peer


@command("mesh.receive")
def mesh_receive(args: Args) -> dict[str, Any]:
    """Offer ops from peers to a fresh node of mesh `root` at given instants (section 6.3)."""
    root = _root(args)
    seed = args.bytes("seed")
    if len(seed) != 32:
        raise _bad("'seed' is the receiving node's 32-byte Ed25519 seed")
    events = [_event(raw) for raw in args.list("events")]
    clock = {"now": 0}
    replica = node.Replica(oplog.OpLog(":memory:", root=root), seed, root, lambda: clock["now"])
    results: list[dict[str, Any]] = []
    for kind, data, now_ms, peer in events:
        clock["now"] = now_ms
        before = set(replica.items.keys)
        if kind == "release":
            replica.release()
            status, code = "released", None
        else:
            status, code = replica.receive(data, peer)
        stored = sorted(set(replica.items.keys) - before)
        results.append({"status": status, "code": code,
                        "stored": [reconcile.get_hash(k).hex() for k in stored]})
    out = {
        "results": results,
        "ops": [op.hash.hex() for op in replica.log.ops()],
        "held": [{"hash": h.hex(), "reason": r} for h, r in replica.log.held()],
        "refusals": [{k: r[k] for k in ("peer", "hash", "code", "count")}
                     for r in replica.refusals()],
        "backdated": replica.backdated(),
        "clock": [replica.clock.state.l, replica.clock.state.c],
    }
    replica.log.close()
    return out


@command("mesh.resolve_merges")
def mesh_resolve_merges(args: Args) -> dict[str, Any]:
    """Entity classes and representatives of a set of ops, in any order (section 7)."""
    now_ms = args.int("now_ms")
    data = _hex_list(args, "ops")
    log = oplog.OpLog()
    for item in data:
        log.append(item, now_ms)  # a rejected op rejects the request with its code
    applied = {op.hash: op for op in log.ops()}
    # the ops in the order given: the resolution must not depend on it (MESH-033)
    given = [applied[h] for h in dict.fromkeys(identifiers.compute_op_hash(d) for d in data)
             if h in applied]
    held = [h.hex() for h, _ in log.held()]
    log.close()
    resolution = mesh.resolve_merges(given)
    return {
        "entities": [{"id": e.hex(), "state": resolution.states[e],
                      "representative": resolution.representatives[e].hex()}
                     for e in sorted(resolution.states)],
        "effective": [h.hex() for h in resolution.effective],
        "ignored": [h.hex() for h in resolution.ignored],
        "held": held,
    }
