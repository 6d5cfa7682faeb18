"""Driver commands of chapter 09: rules, frames, reconciliation, receiving, merges (spec/09 9).

[MESH-035] every command of spec/09 section 9 is registered here.

Everything here is deterministic and in memory: `mesh.reconcile` runs a whole
session between two sets of ops without sockets, and `mesh.receive` offers ops
to one node's replica (an in-memory log with the mesh root) at given instants.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from typing import Any, cast

import reference.mesh as mesh
from reference import identifiers, oplog, signatures, ucan, wire_format
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


Event = tuple[str, dict[str, Any]]


def _event(raw: Any) -> Event:
    """One event of `mesh.receive` or `mesh.session`, its arguments checked (section 9)."""
    if not isinstance(raw, dict):
        raise _bad("an event is an object")
    args = Args(raw)
    keys = set(raw)
    if keys == {"release"}:
        return "release", {"now": args.int("release")}
    if keys == {"restart"}:
        return "restart", {"now": args.int("restart")}
    if keys - {"peer"} == {"op", "now_ms"}:
        peer = args.bytes("peer") if "peer" in raw else node.NO_PEER
        if len(peer) != 32:
            raise _bad("a peer is a 32-byte NodeId")
        return "op", {"op": args.bytes("op"), "now": args.int("now_ms"), "peer": peer}
    if keys in ({"author", "now_ms", "id_random"}, {"announce", "now_ms", "id_random"},
                {"delegate", "now_ms", "id_random", "nbf", "nonce"}):
        kind = ({"author", "announce", "delegate"} & keys).pop()
        out: dict[str, Any] = {"value": args.bytes(kind), "now": args.int("now_ms"),
                               "id_random": args.bytes("id_random")}
        if len(out["id_random"]) != 10:
            raise _bad("'id_random' is 10 bytes")
        if kind == "author":
            payload = wire_format.decode_canonical(out["value"])
            if not isinstance(payload, dict):
                raise _bad("'author' is the deterministic CBOR of a payload map")
            out["value"] = payload
        if kind == "delegate":
            out["nbf"], out["nonce"] = args.int("nbf"), args.bytes("nonce")
            if len(out["value"]) != 32 or len(out["nonce"]) != ucan.NONCE_BYTES:
                raise _bad("'delegate' is a 32-byte NodeId and 'nonce' 16 bytes")
        return kind, out
    raise _bad("an event is {op, now_ms[, peer]}, {release}, {restart}, "
               "{author | announce, now_ms, id_random} or "
               "{delegate, now_ms, id_random, nbf, nonce}")


class _Run:
    """A node of mesh `root` with key `seed`, fresh, and the results of its events."""

    def __init__(self, root: str, seed: bytes, restarts: bool) -> None:
        self.root, self.seed = root, seed
        self.now = 0
        # a node that restarts keeps its log in a file, reopened on restart
        self.dir = tempfile.mkdtemp(prefix="strata-mesh-") if restarts else None
        self.replica = self._open()

    def _open(self) -> node.Replica:
        path = ":memory:" if self.dir is None else os.path.join(self.dir, "log.sqlite")
        return node.Replica(oplog.OpLog(path, root=self.root), self.seed, self.root,
                            lambda: self.now)

    def run(self, kind: str, ev: dict[str, Any]) -> dict[str, Any]:
        """Run one event; its result {status, code, stored}."""
        self.now = ev["now"]
        r = self.replica
        before = set(r.items.keys)
        code: str | None = None
        if kind == "release":
            r.release()
            status = "released"
        elif kind == "restart":
            r.log.close()  # the node stops; it starts again from its log's file
            self.replica = self._open()
            status = "restarted"
        elif kind == "op":
            status, code = r.receive(ev["op"], ev["peer"])
        elif kind == "author":
            r.author(ev["value"], ev["id_random"])
            status = "authored"
        elif kind == "announce":
            r.announce(ev["value"], ev["id_random"])
            status = "authored"
        else:
            r.delegate(ev["value"], [mesh.ALL], ev["nbf"], ev["nonce"], ev["id_random"])
            status = "authored"
        stored = sorted(set(self.replica.items.keys) - before)
        return {"status": status, "code": code,
                "stored": [reconcile.get_hash(k).hex() for k in stored]}

    def state(self) -> dict[str, Any]:
        """The node's log, held ops, refusal record, flags and clock (section 9)."""
        r = self.replica
        return {
            "ops": [op.hash.hex() for op in r.log.ops()],
            "held": [{"hash": h.hex(), "reason": c} for h, c in r.log.held()],
            "refusals": [{k: x[k] for k in ("peer", "hash", "code", "count")}
                         for x in r.refusals()],
            "backdated": r.backdated(),
            "clock": [r.clock.state.l, r.clock.state.c],
        }

    def close(self) -> None:
        self.replica.log.close()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


def _start(args: Args) -> tuple[_Run, list[Event]]:
    root = _root(args)
    seed = args.bytes("seed")
    if len(seed) != 32:
        raise _bad("'seed' is the node's 32-byte Ed25519 seed")
    events = [_event(raw) for raw in args.list("events")]
    return _Run(root, seed, any(kind == "restart" for kind, _ in events)), events


@command("mesh.receive")
def mesh_receive(args: Args) -> dict[str, Any]:
    """Offer ops from peers to a fresh node of mesh `root` at given instants (section 9)."""
    run, events = _start(args)
    try:
        results = [run.run(kind, ev) for kind, ev in events]
        return {"results": results, **run.state()}
    finally:
        run.close()


class _Collect:
    """The writing half of a scripted session: it keeps every frame the node sends."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.frames.append(bytes(data))

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


@command("mesh.session")
def mesh_session(args: Args) -> dict[str, Any]:
    """One session of a node against a scripted peer, in memory (section 9)."""
    run, events = _start(args)
    try:
        initiator = args.any("initiator")
        if not isinstance(initiator, bool):
            raise _bad("'initiator' is true or false")
        salt = args.bytes("salt")
        if len(salt) != reconcile.SALT_BYTES:
            raise _bad("'salt' is 16 bytes")
        peer = b"".join(_hex_list(args, "peer"))
        now_ms = args.int("now_ms")
        results = [run.run(kind, ev) for kind, ev in events]
        run.now = now_ms

        async def go() -> node.SyncReport:
            reader = asyncio.StreamReader(limit=2 * frames.MAX_FRAME_BYTES)
            reader.feed_data(peer)
            reader.feed_eof()  # the peer closes after its last byte
            return await node.run_session(run.replica, reader,
                                          cast(asyncio.StreamWriter, writer), initiator,
                                          salt=salt)

        writer = _Collect()
        report = asyncio.run(go())
        sent: list[dict[str, Any]] = []
        for data in writer.frames:
            body = frames.decode_frame(data)
            if body["t"] == "error":  # its msg is text for people: only the code is compared
                sent.append({"t": "error", "code": body["code"]})
            else:
                sent.append({"t": body["t"], "frame": data.hex()})
        if report.ok:
            end = "done"
        elif report.detail.startswith("connection:"):
            end = "closed"
        elif report.detail.startswith("refused by the peer:"):
            end = "peer-error"
        else:
            end = "refused"
        return {"results": results, "sent": sent, "end": end, "code": report.code,
                **run.state()}
    finally:
        run.close()


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
