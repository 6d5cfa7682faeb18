"""`strata node ...`: run a mesh node of spec/09-mesh-coordination.md from a directory.

    strata node init DIR --root DID [--root-seed HEX | --token HEX] [--seed HEX]
    strata node run DIR --port P [--peer HOST:PORT ...] [--interval-ms N] [--author N]
    strata node sync DIR --peer HOST:PORT
    strata node status DIR

A node directory holds `node.json` (root and NodeId), `node.key` (the Ed25519
seed, hex, mode 0600), `log.sqlite` (the log, its clock and its mesh tables)
and `lock` (held while a process uses the node, so that two processes never
issue timestamps from the same clock). `run` serves on 127.0.0.1, syncs with
its peers every interval, and with `--author N` authors a demonstration
workload until N ops of its own are stored; it prints one JSON line per event
(`listening`, `authored` once the op is durably stored, `sync`). `python -m
tools.node ...` is the same command without the `strata` front end.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import reference.mesh as mesh
from reference import identifiers, signatures, ucan
from reference._require import SpecViolation
from reference.identifiers import IdKind
from reference.mesh.node import Node, Replica, Timeouts
from reference.wire_format import Value

CONFIG, KEY, LOG, LOCK = "node.json", "node.key", "log.sqlite", "lock"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def emit(event: str, out: IO[str] = sys.stdout, **fields: Any) -> None:
    """One JSON line on stdout, flushed at once (the fault tests read them live)."""
    out.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
    out.flush()


def lock(directory: Path) -> int:
    """Hold the node's lock for the life of this process, or exit when another holds it."""
    fd = os.open(directory / LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"strata node: {directory} is in use by another process") from None
    return fd


def load(directory: Path) -> tuple[str, bytes]:
    """The node's mesh root and seed."""
    config = json.loads((directory / CONFIG).read_text())
    seed = bytes.fromhex((directory / KEY).read_text().strip())
    return str(config["root"]), seed


def open_node(directory: Path, timeouts: Timeouts | None = None) -> Node:
    root, seed = load(directory)
    return Node(str(directory / LOG), seed, root, timeouts=timeouts or Timeouts())


def parse_peer(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"strata node: a peer is HOST:PORT, not {text!r}")
    return host, int(port)


# --- init ----------------------------------------------------------------------------------


def init_node(directory: Path, root: str, seed: bytes, root_seed: bytes | None,
              token: bytes | None) -> tuple[bytes, bytes]:
    """Create a node directory and author its announcement; its NodeId and announcement."""
    identifiers.decode_did_key(root)
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / CONFIG).exists():
        raise SystemExit(f"strata node: {directory} is already a node")
    node_id = signatures.compute_public_key(seed)
    if root_seed is not None:
        if identifiers.encode_did_key(signatures.compute_public_key(root_seed)) != root:
            raise SystemExit("strata node: --root-seed is not the seed of --root")
        token = ucan.issue_token(root_seed, ucan.get_principal(node_id), root, [mesh.ALL],
                                 now_ms() - 1, None, os.urandom(ucan.NONCE_BYTES), []).data
    if token is None:
        raise SystemExit("strata node: give --root-seed (tests) or --token (a delegation)")
    key_path = directory / KEY
    fd = os.open(key_path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(seed.hex() + "\n")
    (directory / CONFIG).write_text(json.dumps({"root": root, "node": node_id.hex()}) + "\n")
    handle = lock(directory)
    try:
        with Node(str(directory / LOG), seed, root) as node:
            announcement = node.announce(token)  # [MESH-002] the node's first op
    finally:
        os.close(handle)
    return node_id, announcement


# --- a demonstration workload ------------------------------------------------------------------


def demo_payload(replica: Replica, rng: random.Random) -> dict[str, Value]:
    """One op of a small workload: evidence, claims on it, entities and merges between them."""
    def records(kind: IdKind) -> list[bytes]:
        rows = replica.db.execute("SELECT id FROM records ORDER BY id").fetchall()
        return [bytes(r[0]) for r in rows if r[0][0] == kind]

    def new_id(kind: IdKind) -> bytes:
        return bytes([kind]) + now_ms().to_bytes(6, "big") + os.urandom(10)

    choice = rng.randrange(6)
    evidence, entities = records(IdKind.EVIDENCE), records(IdKind.ENTITY)
    claims = records(IdKind.CLAIM)
    if choice == 1 and evidence:
        return {"type": "AssertClaim", "claim": new_id(IdKind.CLAIM), "subject": None,
                "predicate": "event.title", "object": f"item {rng.randrange(1000)}",
                "supports": [rng.choice(evidence)]}
    if choice == 2 and claims:
        return {"type": "ConfirmClaim", "claim": rng.choice(claims)}
    if choice == 3:
        return {"type": "CreateEntity", "entity": new_id(IdKind.ENTITY), "kind": "person",
                "attributes": {"name": f"p{rng.randrange(100)}"}, "supports": []}
    if choice in (4, 5) and len(entities) >= 2:
        source, target = rng.sample(entities, 2)
        return {"type": "MergeEntity", "source": source, "target": target, "supports": []}
    return {"type": "IngestEvidence", "evidence": new_id(IdKind.EVIDENCE),
            "hash": os.urandom(32), "anchor": f"uid-{rng.randrange(10**6)}",
            "source_type": "calendar", "metadata": {"title": "lunch"}}


def count_own(replica: Replica) -> int:
    row = replica.db.execute("SELECT count(*) FROM ops WHERE node = ?", (replica.node,))
    return int(row.fetchone()[0])


# --- commands --------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    seed = bytes.fromhex(args.seed) if args.seed else os.urandom(32)
    node_id, _ = init_node(Path(args.dir), args.root, seed,
                           bytes.fromhex(args.root_seed) if args.root_seed else None,
                           bytes.fromhex(args.token) if args.token else None)
    print(node_id.hex())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    handle = lock(directory)
    timeouts = Timeouts(frame_s=args.frame_timeout_s, session_s=args.session_timeout_s,
                        connect_s=min(args.frame_timeout_s, 5.0))
    node = open_node(directory, timeouts)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        port = node.serve(mesh.HOST, args.port)
        emit("listening", port=port, node=node.node.hex())
        peers = [parse_peer(p) for p in args.peer]
        rng = random.Random(node.node + os.urandom(8))
        while not stop.is_set():
            if args.author and node.call(count_own) < args.author:
                data = node.call(lambda r: r.author(demo_payload(r, rng)))
                emit("authored", hash=identifiers.compute_op_hash(data).hex())
            for host, peer_port in peers:
                if stop.is_set():
                    break
                report = node.sync_with(host, peer_port)
                if not args.quiet:
                    emit("sync", peer=f"{host}:{peer_port}", **report.to_json())
            stop.wait(args.interval_ms / 1000)
    finally:
        node.close()
        os.close(handle)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    handle = lock(directory)
    try:
        with open_node(directory) as node:
            host, port = parse_peer(args.peer)
            report = node.sync_with(host, port)
    finally:
        os.close(handle)
    print(json.dumps(report.to_json(), sort_keys=True))
    return 0 if report.ok else 1


def cmd_status(args: argparse.Namespace) -> int:
    """The node's status; it reads the log and needs no lock, so it works while `run` runs."""
    with open_node(Path(args.dir)) as node:
        print(json.dumps(node.status(), indent=2, sort_keys=True))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strata node",
                                     description="a mesh node (spec/09-mesh-coordination.md)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("init", help="create a node: key, log, and its announcement")
    p.add_argument("dir")
    p.add_argument("--root", required=True, help="the mesh root, a did:key")
    p.add_argument("--root-seed", help="the root's seed (hex): the root delegates here (tests)")
    p.add_argument("--token", help="a token delegated to this node (hex), instead")
    p.add_argument("--seed", help="the node's Ed25519 seed (hex); random by default")
    p.set_defaults(func=cmd_init)
    p = sub.add_parser("run", help="serve on 127.0.0.1 and sync with peers periodically")
    p.add_argument("dir")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--peer", action="append", default=[], help="HOST:PORT, repeatable")
    p.add_argument("--interval-ms", type=int, default=1000)
    p.add_argument("--author", type=int, default=0,
                   help="author demonstration ops until N of this node's own are stored")
    p.add_argument("--frame-timeout-s", type=float, default=10.0)
    p.add_argument("--session-timeout-s", type=float, default=300.0)
    p.add_argument("--quiet", action="store_true", help="no line per sync")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("sync", help="one session with a peer, as initiator")
    p.add_argument("dir")
    p.add_argument("--peer", required=True)
    p.set_defaults(func=cmd_sync)
    p = sub.add_parser("status", help="op counts, held ops, refusals, flags, last sync (JSON)")
    p.add_argument("dir")
    p.set_defaults(func=cmd_status)
    return parser


def main_node(argv: list[str]) -> int:
    """`strata node init|run|sync|status ...`."""
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except SpecViolation as violation:
        print(f"strata node: {violation.code}: {violation.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main_node(sys.argv[1:]))
