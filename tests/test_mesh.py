"""Tests of reference/mesh (spec/09-mesh-coordination.md): two nodes in one process."""

from __future__ import annotations

import itertools
import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import pytest

import reference.driver.mesh  # noqa: F401  (registers the chapter's commands)
import reference.mesh as mesh
from reference import identifiers, oplog, projections, signatures, ucan, wire_format
from reference._require import SpecViolation
from reference.driver import dispatch
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.mesh import frames, reconcile
from reference.mesh.node import Node, Timeouts
from reference.wire_format import Envelope, Value

T0 = 1_700_000_000_000
FAST = Timeouts(frame_s=2.0, session_s=20.0, connect_s=2.0)


def derive(label: str, n: int = 32) -> bytes:
    return blake3.blake3(b"strata/tests/mesh/" + label.encode()).digest(length=n)


def seed(name: str) -> bytes:
    return derive("seed/" + name)


def node_id(name: str) -> bytes:
    return signatures.compute_public_key(seed(name))


ROOT = identifiers.encode_did_key(node_id("root"))
OTHER_ROOT = identifiers.encode_did_key(node_id("other-root"))


def rejects(requirement: str, code: ErrorCode, fn: Any, *args: Any) -> SpecViolation:
    with pytest.raises(SpecViolation) as info:
        fn(*args)
    assert (info.value.requirement, info.value.code) == (requirement, code), info.value
    return info.value


def token(name: str, caps: list[ucan.Capability] | None = None, nbf: int = T0 - 10**6,
          exp: int | None = None, root_name: str = "root") -> ucan.Token:
    root = identifiers.encode_did_key(node_id(root_name))
    return ucan.issue_token(seed(root_name), ucan.get_principal(node_id(name)), root,
                            caps or [mesh.ALL], nbf, exp, derive("nonce/" + name, 16), [])


def signed(name: str, payload: dict[str, Value], wall_ms: int, logical: int = 0) -> bytes:
    """An op of `name` at (wall_ms, logical), signed."""
    n = node_id(name)
    op_id = bytes([IdKind.OP]) + wall_ms.to_bytes(6, "big") + derive(
        f"op/{name}/{wall_ms}/{logical}", 10)
    env = Envelope(op_id=op_id, author=n, ts=(wall_ms, logical, n), payload=payload, sig=None)
    return wire_format.encode_envelope(signatures.sign_op(seed(name), env))


def rid(kind: IdKind, label: str, wall_ms: int = T0) -> bytes:
    return bytes([kind]) + wall_ms.to_bytes(6, "big") + derive("id/" + label, 10)


def ingest(label: str) -> dict[str, Value]:
    return {"type": "IngestEvidence", "evidence": rid(IdKind.EVIDENCE, label),
            "hash": derive("content/" + label), "anchor": label, "source_type": "calendar",
            "metadata": {}}


class Clock:
    """A settable physical clock for a node."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[Any]:
    made: list[Node] = []

    def make(name: str, clock: Clock | None = None, root: str = ROOT,
             announce: bool = True) -> Node:
        node = Node(str(tmp_path / f"{name}.sqlite"), seed(name), root,
                    now_ms=clock or Clock(T0 + 10**6), timeouts=FAST)
        made.append(node)
        if announce:
            root_name = "root" if root == ROOT else "other-root"
            node.announce(token(name, root_name=root_name).data)
        return node

    yield make
    for node in made:
        node.close()


def settle(condition: Any, seconds: float = 10.0) -> bool:
    """Whether `condition()` holds within `seconds`: a serving node stores what a sync pushed
    on its own thread, and re-offers held ops at least once a second (MESH-027)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def add_ops(node: Node, label: str, n: int) -> list[bytes]:
    return [node.author(ingest(f"{label}/{i}")) for i in range(n)]


# --- a peer written by hand, speaking raw frames ----------------------------------------------


class RawPeer:
    """A TCP client that sends and reads frames directly, for faults a node never makes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((mesh.HOST, port), timeout=5)

    def send(self, body: dict[str, Value]) -> None:
        self.sock.sendall(frames.encode_frame(body))

    def recv(self) -> dict[str, Value]:
        prefix = self._read(4)
        return frames.decode_body(self._read(frames.check_length(prefix)))

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def hello(self, name: str = "raw", root: str = ROOT) -> dict[str, Value]:
        self.send(mesh.compute_hello(root, node_id(name)))
        return self.recv()

    def close(self) -> None:
        self.sock.close()


# --- the mesh-rules document and the handshake (section 3) ------------------------------------


def test_rules_document_keys_and_hash() -> None:
    """The rules document has the ten keys of section 3.1 and hashes to BLAKE3 of its bytes."""
    data = mesh.encode_rules(ROOT)
    doc = wire_format.decode_canonical(data)
    assert isinstance(doc, dict)
    assert list(doc) == ["v", "root", "spec", "branch", "fp_bytes", "id_bytes", "list_max",
                         "max_frame", "max_drift_ms", "max_messages"]
    assert doc["root"] == ROOT and doc["branch"] == 4 and doc["list_max"] == 12
    assert mesh.compute_rules_hash(ROOT) == blake3.blake3(data).digest()
    assert mesh.compute_rules_hash(ROOT) != mesh.compute_rules_hash(OTHER_ROOT)


def test_hello_is_accepted() -> None:
    """A hello of the same version, root and rules is accepted and names the peer."""
    assert mesh.check_hello(mesh.compute_hello(ROOT, node_id("a")), ROOT) == node_id("a")


@pytest.mark.parametrize(("change", "code"), [
    ({"t": "ops"}, ErrorCode.E_MESH_FRAME),
    ({"v": 2}, ErrorCode.E_MESH_VERSION),
    ({"root": OTHER_ROOT}, ErrorCode.E_MESH_ROOT_MISMATCH),
    ({"rules": bytes(32)}, ErrorCode.E_MESH_RULES_MISMATCH),
    ({"v": 2, "root": OTHER_ROOT, "rules": bytes(32)}, ErrorCode.E_MESH_VERSION),
    ({"root": OTHER_ROOT, "rules": bytes(32)}, ErrorCode.E_MESH_ROOT_MISMATCH),
])
def test_invalid_hello(change: dict[str, Value], code: ErrorCode) -> None:
    """Each mismatch is refused with its code, in the order version, root, rules."""
    frame = {**mesh.compute_hello(ROOT, node_id("a")), **change}
    rejects("MESH-006", code, mesh.check_hello, frame, ROOT)


def test_invalid_handshake_other_root_live(make_node: Any) -> None:
    """Nodes of two meshes refuse each other at the handshake and exchange no op."""
    a = make_node("a")
    b = make_node("b", root=OTHER_ROOT)
    add_ops(a, "a", 3)
    report = a.sync_with(mesh.HOST, b.serve(mesh.HOST, 0))
    assert not report.ok and report.code == "E_MESH_ROOT_MISMATCH"
    assert report.pushed == 0 and b.status()["applied"] == 1
    time.sleep(0.2)
    assert b.status()["last_sync"]["code"] == "E_MESH_ROOT_MISMATCH"


def test_invalid_handshake_rules_mismatch_live(make_node: Any) -> None:
    """A peer announcing other rules gets an error frame with E_MESH_RULES_MISMATCH."""
    b = make_node("b")
    peer = RawPeer(b.serve(mesh.HOST, 0))
    peer.send({**mesh.compute_hello(ROOT, node_id("raw")), "rules": derive("other-rules")})
    answer = peer.recv()
    assert answer["t"] == "error" and answer["code"] == "E_MESH_RULES_MISMATCH"
    with pytest.raises(ConnectionError):
        peer.recv()
    peer.close()


# --- frames (section 4) ------------------------------------------------------------------------


def test_frame_round_trip() -> None:
    """A frame is a 4-byte big-endian length and one canonical map, decoded back whole."""
    body: dict[str, Value] = {"t": "ops", "ops": [b"x", b"yz"]}
    frame = frames.encode_frame(body)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert frames.decode_frame(frame) == body


@pytest.mark.parametrize("prefix", [0, frames.MAX_FRAME_BYTES + 1, 2**32 - 1])
def test_invalid_frame_length(prefix: int) -> None:
    """A prefix announcing 0 or more than 1 MiB is refused before any body is read."""
    rejects("MESH-009", ErrorCode.E_MESH_FRAME, frames.check_length, prefix.to_bytes(4, "big"))


def test_invalid_frame_length_live(make_node: Any) -> None:
    """A node answers an oversized prefix with E_MESH_FRAME without waiting for the body."""
    b = make_node("b")
    peer = RawPeer(b.serve(mesh.HOST, 0))
    assert peer.hello()["t"] == "hello"
    peer.sock.sendall((frames.MAX_FRAME_BYTES + 1).to_bytes(4, "big"))
    answer = peer.recv()
    assert answer == {"t": "error", "code": "E_MESH_FRAME", "msg": answer["msg"]}
    peer.close()


@pytest.mark.parametrize("body", [
    bytes.fromhex("a2617463726563617280"),  # keys out of canonical order
    wire_format.encode_canonical([1, 2]),  # not a map
    wire_format.encode_canonical({"t": "gossip"}),  # unknown type
    wire_format.encode_canonical({"t": "ops", "ops": [b"x"], "extra": 1}),  # extra key
    wire_format.encode_canonical({"t": "ops", "ops": []}),  # empty ops
    wire_format.encode_canonical({"t": "hello", "v": 1, "root": ROOT, "rules": b"x",
                                  "node": bytes(32)}),  # short rules hash
])
def test_invalid_frame_body(body: bytes) -> None:
    """A body breaking a rule of section 4.2 is refused with E_MESH_FRAME."""
    rejects("MESH-010", ErrorCode.E_MESH_FRAME, frames.decode_body, body)


def test_pack_ops_greedy() -> None:
    """Ops frames are filled in order until the next op would pass 1 MiB."""
    ops = [bytes([i]) * 400_000 for i in range(5)]
    packed = frames.pack_ops(ops)
    assert [len(frames.decode_frame(f)["ops"]) for f in packed] == [2, 2, 1]  # type: ignore
    assert all(len(f) - 4 <= frames.MAX_FRAME_BYTES for f in packed)
    biggest = frames.MAX_FRAME_BYTES - 17
    assert len(frames.pack_ops([bytes(biggest)])[0]) == frames.MAX_FRAME_BYTES + 4


def test_invalid_op_too_large_for_a_frame() -> None:
    """An op that cannot travel alone in a frame is refused."""
    rejects("MESH-011", ErrorCode.E_CBOR_LIMIT, frames.batch_ops,
            [bytes(frames.MAX_FRAME_BYTES - 16)])


# --- reconciliation (section 5) -----------------------------------------------------------------


def item(i: int, label: str = "x", wall_step: int = 1) -> tuple[bytes, bytes]:
    """A key and op bytes: an unsigned envelope is enough for reconciliation."""
    node = derive(f"node/{i % 3}")
    wall = T0 + i * wall_step
    env = Envelope(op_id=rid(IdKind.OP, f"{label}/{i}", wall), author=node, ts=(wall, 0, node),
                   payload={"type": "T", "n": i}, sig=None)
    data = wire_format.encode_envelope(env)
    return reconcile.compute_key(env.ts, identifiers.compute_op_hash(data)), data


def items(indices: Any, label: str = "x") -> dict[bytes, bytes]:
    return dict(item(i, label) for i in indices)


SALT = derive("salt", 16)


def check_exact(a: dict[bytes, bytes], b: dict[bytes, bytes]) -> reconcile.Outcome:
    out = reconcile.simulate(a, b, SALT)
    assert set(out.a_needs) == set(b) - set(a) and len(out.a_needs) == len(set(b) - set(a))
    assert set(out.b_needs) == set(a) - set(b) and len(out.b_needs) == len(set(a) - set(b))
    return out


@pytest.mark.parametrize(("a", "b"), [
    (range(0), range(0)),
    (range(0), range(50)),
    (range(50), range(0)),
    (range(5), range(7)),
    (range(100), range(100, 200)),
    (range(300), range(0, 300, 2)),
    (range(1000), [i for i in range(1000) if i % 97] + [1000, 1001]),
])
def test_reconcile_finds_exactly_the_difference(a: range, b: range) -> None:
    """Each side receives exactly the items it lacks, once."""
    check_exact(items(a), items(b))


def test_reconcile_random_pairs() -> None:
    """Random set pairs of up to 3000 items: exactly the symmetric difference, either way."""
    rng = random.Random(9)
    for _ in range(12):
        universe = rng.randrange(1, 3000)
        a = [i for i in range(universe) if rng.random() < 0.9]
        b = [i for i in range(universe) if rng.random() < rng.choice([0.5, 0.99, 1.0])]
        out_ab = check_exact(items(a), items(b))
        out_ba = check_exact(items(b), items(a))
        assert (out_ab.a_needs, out_ab.b_needs) == (out_ba.b_needs, out_ba.a_needs)


def test_reconcile_identical_logs_take_two_messages() -> None:
    """Identical sets of any size settle in one fingerprint and one final message."""
    out = check_exact(items(range(5000)), items(range(5000)))
    assert (out.messages, out.bytes) == (2, 69)  # 55 + 14 bytes, whatever the size


def test_reconcile_cost_grows_with_the_difference() -> None:
    """One missing op in 20,000 costs far less than listing the log."""
    a = items(range(20_000))
    b = dict(a)
    b.pop(next(iter(b)))
    out = check_exact(a, b)
    assert out.bytes < 2000 and out.messages <= 16


def test_bound_is_the_shortest_separating_prefix() -> None:
    """The bound between p and q is q cut after its first byte differing from p."""
    p, q = bytes([1, 2, 3, 4]), bytes([1, 2, 9, 0])
    assert reconcile.compute_bound(p, q) == bytes([1, 2, 9])
    keys = sorted(items(range(200)))
    for before, at in itertools.pairwise(keys):
        bound = reconcile.compute_bound(before, at)
        assert before < bound <= at and len(bound) <= 8


def test_fingerprint_depends_on_every_hash_and_the_salt() -> None:
    """Changing, adding or dropping a hash, or the salt, changes the fingerprint."""
    keys = sorted(items(range(20)))
    base = reconcile.compute_fingerprint(SALT, keys)
    assert reconcile.compute_fingerprint(SALT, keys[1:]) != base
    assert reconcile.compute_fingerprint(derive("other", 16), keys) != base
    assert reconcile.compute_fingerprint(SALT, [*keys, sorted(items([99]))[0]]) != base
    expected = blake3.blake3(reconcile.FINGERPRINT_TAG + SALT + b"".join(
        k[40:] for k in keys)).digest(length=16)
    assert base == expected


def xor_dependent_subset(hashes: list[bytes], nbytes: int = 16) -> list[int]:
    """Indices of a non-empty subset whose first `nbytes` bytes XOR to zero (GF(2) elimination)."""
    basis: dict[int, tuple[int, int]] = {}  # leading bit -> (vector, subset mask)
    for i, h in enumerate(hashes):
        v, mask = int.from_bytes(h[:nbytes], "big"), 1 << i
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = (v, mask)
                break
            v, mask = v ^ basis[top][0], mask ^ basis[top][1]
        else:
            return [j for j in range(len(hashes)) if mask >> j & 1]
    raise AssertionError("no dependency")


def test_xor_fingerprint_would_be_forgeable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A subset XORing to zero hides the difference from an XOR fingerprint, not from BLAKE3."""
    all_items = items(range(150), "xor")
    keys = sorted(all_items)
    subset = xor_dependent_subset([reconcile.get_hash(k) for k in keys])
    hidden = {keys[i] for i in subset}
    a = {k: v for k, v in all_items.items() if k not in hidden}
    check_exact(a, all_items)  # the real fingerprint finds the difference

    def xor(salt: bytes, ks: Any) -> bytes:
        acc = 0
        for k in ks:
            acc ^= int.from_bytes(reconcile.get_hash(k)[:16], "big")
        return acc.to_bytes(16, "big")

    monkeypatch.setattr(reconcile, "compute_fingerprint", xor)
    out = reconcile.simulate(a, all_items, SALT)
    assert out.a_needs == () and out.messages == 2  # the whole difference went unseen


@pytest.mark.parametrize("r", [
    [None, 1, bytes(15)],  # short fingerprint
    [None, 4, b""],  # unknown mode
    [b"", 0, b"", None, 0, b""],  # empty bound
    [b"\x05", 0, b"", b"\x05", 0, b"", None, 0, b""],  # not ascending
    [b"\x05", 0, b""],  # the last range does not reach the end
    [None, 2, bytes(7)],  # a list of partial ids
    [None, 0, b"x"],  # data on a skip
    [None, 0],  # not triples
    [bytes(73), 0, b"", None, 0, b""],  # bound longer than a key
])
def test_invalid_message_ranges(r: list[Value]) -> None:
    """A message's ranges breaking section 5.2 are refused with E_MESH_FRAME."""
    rejects("MESH-015", ErrorCode.E_MESH_FRAME, reconcile.decode_entries, r)


def test_split_groups_and_bounds() -> None:
    """A split answers B fingerprints of floor(g n / B) groups, bounds between groups."""
    own = reconcile.Items(items(range(30)))
    reply = reconcile.respond(own, SALT, [reconcile.Entry(None, reconcile.FINGERPRINT,
                                                          bytes(16))])
    keys = own.keys
    assert [e.mode for e in reply.entries] == [reconcile.FINGERPRINT] * 4
    cuts = [30 * g // 4 for g in range(1, 4)]  # 7, 15, 22
    assert [e.upper for e in reply.entries] == [
        reconcile.compute_bound(keys[c - 1], keys[c]) for c in cuts] + [None]
    assert reply.entries[0].data == reconcile.compute_fingerprint(SALT, keys[:7])


# --- nodes over TCP (section 6) -----------------------------------------------------------------


def test_two_nodes_converge(make_node: Any) -> None:
    """One session moves each node's ops to the other; a second finds nothing to do."""
    a, b = make_node("a"), make_node("b")
    add_ops(a, "a", 20)
    add_ops(b, "b", 7)
    port = b.serve(mesh.HOST, 0)
    first = a.sync_with(mesh.HOST, port)
    assert first.ok and first.pushed == 21 and first.received["applied"] == 8
    assert settle(lambda: a.applied() == b.applied()) and len(a.applied()) == 29
    again = a.sync_with(mesh.HOST, port)
    assert again.ok and again.messages == 2 and again.pushed == 0
    assert a.status()["last_sync"]["ok"]


def test_sync_of_fresh_and_identical_nodes(make_node: Any) -> None:
    """Two nodes holding only their announcements exchange exactly those."""
    a, b = make_node("a"), make_node("b")
    report = a.sync_with(mesh.HOST, b.serve(mesh.HOST, 0))
    assert report.ok and report.pushed == 1 and report.received["applied"] == 1
    assert settle(lambda: sorted(a.applied()) == sorted(b.applied()))


def test_clock_receives_synced_ops(make_node: Any) -> None:
    """The receiver's clock ends after every timestamp it stored (spec/05 receive rule)."""
    a = make_node("a", Clock(T0 + 5_000_000))
    b = make_node("b", Clock(T0 + 4_990_000))
    add_ops(a, "a", 5)
    last = wire_format.decode_envelope(add_ops(a, "a2", 1)[0]).ts
    a.sync_with(mesh.HOST, b.serve(mesh.HOST, 0))
    assert settle(lambda: tuple(b.status()["clock"]) > (last[0], last[1]))


def test_invalid_ops_from_a_peer_refused_and_reported(make_node: Any) -> None:
    """Bad signature and unauthorized ops are refused and recorded; undelegated ones held."""
    b = make_node("b")
    b.receive(signed("root", {"type": "DelegateUcan", "token": token(
        "reader", [ucan.Capability("strata:claim", "claim/*")]).data}, T0 + 1))
    tampered = bytearray(signed("root", ingest("t"), T0 + 2))
    tampered[-1] ^= 1
    unauthorized = signed("reader", ingest("u"), T0 + 3)  # may assert claims, not ingest
    undelegated = signed("stranger", ingest("s"), T0 + 4)
    peer = RawPeer(b.serve(mesh.HOST, 0))
    assert peer.hello("raw")["t"] == "hello"
    peer.send({"t": "ops", "ops": [bytes(tampered), unauthorized, undelegated]})
    peer.send({"t": "rec", "r": [None, 2, b""], "salt": SALT})
    while peer.recv()["t"] != "rec":
        pass
    peer.close()
    time.sleep(0.2)
    status = b.status()
    codes = status["refusals"][node_id("raw").hex()]["by_code"]
    assert codes == {"E_SIGNATURE_INVALID": 1, "E_UNAUTHORIZED": 1}
    assert status["held"]["by_reason"] == {"E_UCAN_PROOF_MISSING": 1}
    applied = set(b.applied())
    for data in (bytes(tampered), unauthorized, undelegated):
        assert identifiers.compute_op_hash(data) not in applied


def test_held_op_released_when_its_proof_arrives(make_node: Any) -> None:
    """An op received before its author's announcement is held, then applied after sync."""
    a, b = make_node("a"), make_node("b")
    early = add_ops(a, "a", 1)[0]
    assert b.receive(early) == ("held", "E_UCAN_PROOF_MISSING")
    assert identifiers.compute_op_hash(early) not in b.applied()
    report = a.sync_with(mesh.HOST, b.serve(mesh.HOST, 0))
    assert report.ok
    assert settle(lambda: identifiers.compute_op_hash(early) in b.applied())
    assert b.status()["held"]["count"] == 0


def held_for_drift(make_node: Any) -> tuple[Any, Clock, bytes]:
    """Node b, its clock, and an op of node a's two minutes ahead of it, which b holds."""
    clock_b = Clock(T0 + 10**6)
    a = make_node("a", Clock(T0 + 10**6 + 120_000))
    b = make_node("b", clock_b)
    future = add_ops(a, "a", 1)[0]
    b.receive(signed("root", {"type": "DelegateUcan", "token": token("a").data}, T0))
    assert b.receive(future) == ("held", "E_HLC_DRIFT")
    return b, clock_b, future


def test_far_future_op_held_then_released(make_node: Any) -> None:
    """An op beyond MAX_DRIFT_MS is held with E_HLC_DRIFT and applied once time catches up."""
    b, clock_b, future = held_for_drift(make_node)
    assert b.release() == 0
    clock_b.now += 60_001
    assert b.release() == 1
    assert identifiers.compute_op_hash(future) in b.applied()
    ts = wire_format.decode_envelope(future).ts
    assert tuple(b.status()["clock"]) > (ts[0], ts[1])


def test_serving_node_releases_held_ops_every_second(make_node: Any) -> None:
    """A serving node applies an op held for drift once time allows, with no session."""
    b, clock_b, future = held_for_drift(make_node)
    b.serve(mesh.HOST, 0)
    clock_b.now += 60_001
    assert settle(lambda: identifiers.compute_op_hash(future) in b.applied(), seconds=5.0)


def test_session_start_releases_held_ops(make_node: Any) -> None:
    """A node offers its held ops again when a session starts, before anything is exchanged."""
    clock_a = Clock(T0 + 10**6)
    c = make_node("c", Clock(T0 + 10**6 + 120_000))
    a = make_node("a", clock_a)
    b = make_node("b", announce=False)  # an empty peer: it pushes nothing that could release
    future = add_ops(c, "c", 1)[0]
    a.receive(signed("root", {"type": "DelegateUcan", "token": token("c").data}, T0))
    assert a.receive(future) == ("held", "E_HLC_DRIFT")
    clock_a.now += 60_001
    report = a.sync_with(mesh.HOST, b.serve(mesh.HOST, 0))
    assert report.ok and identifiers.compute_op_hash(future) in a.applied()


def test_backdated_op_is_flagged(make_node: Any) -> None:
    """An op more than MAX_DRIFT_MS older than its author's latest stored op is flagged."""
    b = make_node("b", Clock(T0 + 10**6))
    b.receive(signed("root", {"type": "DelegateUcan", "token": token("a").data}, T0))
    b.receive(signed("a", ingest("new"), T0 + 500_000))
    b.receive(signed("a", ingest("slightly-old"), T0 + 440_000))  # exactly MAX_DRIFT_MS
    old = signed("a", ingest("old"), T0 + 439_999)
    b.receive(old)
    flags = b.status()["backdated"]
    assert flags == [{"hash": identifiers.compute_op_hash(old).hex(),
                      "author": node_id("a").hex(), "behind_ms": 60_001}]
    assert identifiers.compute_op_hash(old) in b.applied()  # flagged, still applied


def test_restart_resumes_clock_and_items(tmp_path: Path) -> None:
    """A reopened node resumes its clock and serves the same items."""
    clock = Clock(T0 + 10**6)
    path = str(tmp_path / "n.sqlite")
    with Node(path, seed("a"), ROOT, now_ms=clock, timeouts=FAST) as a:
        a.announce(token("a").data)
        add_ops(a, "a", 3)
        state, keys = a.status()["clock"], a.call(lambda r: list(r.items.keys))
    clock.now -= 50_000  # the physical clock stepped back while the node was down
    with Node(path, seed("a"), ROOT, now_ms=clock, timeouts=FAST) as a:
        assert a.status()["clock"] == state
        assert a.call(lambda r: list(r.items.keys)) == keys
        later = wire_format.decode_envelope(add_ops(a, "b", 1)[0]).ts
        assert (later[0], later[1]) > tuple(state)


def test_invalid_author_before_announcement(make_node: Any) -> None:
    """A node authors nothing before a token delegated to it is in its log."""
    a = make_node("a", announce=False)
    rejects("MESH-002", ErrorCode.E_UCAN_PROOF_MISSING, a.author, ingest("early"))
    a.announce(token("a").data)
    a.author(ingest("later"))
    assert len(a.applied()) == 2


def test_parent_announces_a_child(make_node: Any) -> None:
    """A node delegates to a child and announces it; the child's ops are authorized."""
    parent, child, peer = make_node("parent"), make_node("child", announce=False), make_node("p")
    parent.delegate(child.node, [ucan.Capability("strata:evidence", "evidence/*")], T0)
    port = parent.serve(mesh.HOST, 0)
    assert child.sync_with(mesh.HOST, port).ok  # the child learns its announcement
    op = child.author(ingest("by-child"))
    rejects("UCAN-028", ErrorCode.E_UNAUTHORIZED, child.author,
            {"type": "CreateEntity", "entity": rid(IdKind.ENTITY, "e"), "kind": "person",
             "attributes": {}, "supports": []})  # delegated evidence/* only
    # the child relays the chain it stored (root -> parent -> child) with its own op
    assert child.sync_with(mesh.HOST, peer.serve(mesh.HOST, 0)).ok
    assert settle(lambda: identifiers.compute_op_hash(op) in peer.applied())
    assert peer.status()["held"]["count"] == 0


def test_invalid_serve_off_loopback(make_node: Any) -> None:
    """A node serves and syncs on 127.0.0.1 only."""
    a = make_node("a")
    rejects("MESH-030", ErrorCode.E_BAD_REQUEST, a.serve, "0.0.0.0", 0)
    rejects("MESH-030", ErrorCode.E_BAD_REQUEST, a.sync_with, "localhost", 1)


def test_silent_peer_times_out(tmp_path: Path) -> None:
    """A peer that sends nothing is abandoned after the frame timeout."""
    with Node(str(tmp_path / "b.sqlite"), seed("b"), ROOT, now_ms=Clock(T0),
              timeouts=Timeouts(frame_s=0.3, session_s=5, connect_s=1)) as b:
        peer = RawPeer(b.serve(mesh.HOST, 0))
        time.sleep(1.0)
        last = b.status()["last_sync"]
        assert last is not None and not last["ok"] and "TimeoutError" in last["detail"]
        peer.close()


def test_invalid_endless_session_is_aborted(make_node: Any) -> None:
    """A peer that never lets the session end is cut off at 64 messages with E_MESH_FRAME."""
    b = make_node("b")
    add_ops(b, "b", 40)
    peer = RawPeer(b.serve(mesh.HOST, 0))
    peer.hello()
    body: dict[str, Value] = {"t": "rec", "r": [None, 1, bytes(16)], "salt": SALT}
    sent = 0
    while True:
        peer.send(body)
        body = {"t": "rec", "r": [None, 1, bytes(16)]}
        sent += 1
        answer = peer.recv()
        while answer["t"] == "ops":
            answer = peer.recv()
        if answer["t"] == "error":
            break
    # the 33rd is message 65: 64 were exchanged before it (32 each way)
    assert answer["code"] == "E_MESH_FRAME" and sent == 33
    peer.close()


# --- entity merges (section 7) ---------------------------------------------------------------


def entity_ops(seed_: int) -> list[bytes]:
    """Entities created by three authors and merges among them, some concurrent, some cyclic."""
    rng = random.Random(seed_)
    authors = ["m0", "m1", "m2"]
    ents = [rid(IdKind.ENTITY, f"{seed_}/e{i}") for i in range(6)]
    ops = [signed(authors[i % 3], {"type": "CreateEntity", "entity": e, "kind": "person",
                                   "attributes": {}, "supports": []}, T0 + i)
           for i, e in enumerate(ents)]
    for j in range(8):
        s, t = rng.sample(ents, 2)
        wall = T0 + 100 + rng.randrange(4)  # few distinct ms: ties broken by logical and node
        ops.append(signed(authors[j % 3], {"type": "MergeEntity", "source": s, "target": t,
                                           "supports": []}, wall, j))
    return ops


@pytest.mark.parametrize("seed_", range(8))
def test_merge_resolution_matches_projections(seed_: int) -> None:
    """Section 7's resolution agrees with chapter 10's projection for the same ops."""
    log = oplog.OpLog()
    for data in entity_ops(seed_):
        log.append(data, T0 + 10**7)
    applied = list(log.ops())
    res = mesh.resolve_merges(applied)
    view = projections.rebuild(applied)
    assert res.representatives == view.get_representatives()
    assert res.states == {r: rec.state for r, rec in view.records.items()}


@pytest.mark.parametrize("seed_", range(4))
def test_merge_resolution_independent_of_order(seed_: int) -> None:
    """mesh.resolve_merges gives one answer for every order of the same ops."""
    ops = entity_ops(seed_)
    answers = set()
    rng = random.Random(seed_)
    for _ in range(6):
        rng.shuffle(ops)
        out = dispatch({"id": 1, "cmd": "mesh.resolve_merges",
                        "args": {"ops": [o.hex() for o in ops], "now_ms": T0 + 10**7}})
        assert out["ok"], out
        answers.add(repr(out["result"]))
    assert len(answers) == 1


def test_concurrent_merges_of_one_source_first_in_total_order() -> None:
    """Two merges of one source in the same millisecond: the smaller node's takes effect."""
    s, t1, t2 = (rid(IdKind.ENTITY, x) for x in ("s", "t1", "t2"))
    creates = [signed("m0", {"type": "CreateEntity", "entity": e, "kind": "person",
                             "attributes": {}, "supports": []}, T0 + i)
               for i, e in enumerate((s, t1, t2))]
    first, second = sorted(["m1", "m2"], key=node_id)
    into_t1 = signed(second, {"type": "MergeEntity", "source": s, "target": t1, "supports": []},
                     T0 + 50)
    into_t2 = signed(first, {"type": "MergeEntity", "source": s, "target": t2, "supports": []},
                     T0 + 50)
    log = oplog.OpLog()
    for data in [*creates, into_t1, into_t2]:
        log.append(data, T0 + 10**7)
    res = mesh.resolve_merges([log.get(identifiers.compute_op_hash(d)) for d in  # type: ignore
                               [into_t1, *creates, into_t2]])
    assert res.effective == (identifiers.compute_op_hash(into_t2),)
    assert res.representatives[s] == min(s, t2) and res.representatives[t1] == t1


def test_cyclic_merges_make_one_class() -> None:
    """A merged into B and B into A: both Merged, one class, the smaller id representing."""
    a, b = rid(IdKind.ENTITY, "ca"), rid(IdKind.ENTITY, "cb")
    ops = [signed("m0", {"type": "CreateEntity", "entity": e, "kind": "person",
                         "attributes": {}, "supports": []}, T0 + i) for i, e in enumerate((a, b))]
    ops += [signed("m1", {"type": "MergeEntity", "source": a, "target": b, "supports": []},
                   T0 + 10),
            signed("m2", {"type": "MergeEntity", "source": b, "target": a, "supports": []},
                   T0 + 11)]
    log = oplog.OpLog()
    for data in ops:
        log.append(data, T0 + 10**7)
    res = mesh.resolve_merges(list(log.ops()))
    assert res.states == {a: "Merged", b: "Merged"}
    assert res.representatives == {a: min(a, b), b: min(a, b)}


# --- driver commands (section 9) ---------------------------------------------------------------


def test_driver_receive_reports_each_event() -> None:
    """mesh.receive reports per-event outcomes, the applied ops, refusals and the clock."""
    root_seed = seed("root")
    _, announcement = mesh.compute_announcement(root_seed, seed("a"), T0, derive("n", 16),
                                                derive("r", 10))
    op = signed("a", ingest("d"), T0 + 5)
    bad = bytearray(op)
    bad[-2] ^= 4
    out = dispatch({"id": 1, "cmd": "mesh.receive", "args": {
        "root": ROOT, "seed": seed("b").hex(), "events": [
            {"op": op.hex(), "now_ms": T0 + 100},
            {"op": announcement.hex(), "now_ms": T0 + 200},
            {"op": bytes(bad).hex(), "now_ms": T0 + 300, "peer": node_id("x").hex()},
        ]}})
    assert out["ok"], out
    res = out["result"]
    assert [r["status"] for r in res["results"]] == ["held", "applied", "refused"]
    assert res["results"][1]["stored"] == sorted(
        [identifiers.compute_op_hash(d).hex() for d in (announcement, op)],
        key=lambda h: {identifiers.compute_op_hash(announcement).hex(): 0}.get(h, 1))
    assert res["refusals"][0]["code"] == "E_SIGNATURE_INVALID"
    assert res["clock"] == [T0 + 200, 1]  # two receives at pt T0 + 200


def test_driver_reconcile_trace_matches_bytes() -> None:
    """mesh.reconcile's trace holds every frame, and their sizes add up to `bytes`."""
    a = [d.hex() for d in items(range(40)).values()]
    b = [d.hex() for d in items(range(3, 45)).values()]
    out = dispatch({"id": 1, "cmd": "mesh.reconcile",
                    "args": {"a": a, "b": b, "salt": SALT.hex(), "trace": True}})
    assert out["ok"], out
    res = out["result"]
    assert sum(len(t["frame"]) // 2 for t in res["trace"]) == res["bytes"]
    assert len(res["a_needs"]) == 5 and len(res["b_needs"]) == 3
    recs = [t for t in res["trace"] if frames.decode_frame(bytes.fromhex(t["frame"]))["t"] == "rec"]
    assert len(recs) == res["rounds"]


def test_driver_session_against_a_scripted_peer() -> None:
    """mesh.session: the initiator's hello comes first, and a second hello is refused."""
    peer_hello = frames.encode_frame(mesh.compute_hello(ROOT, node_id("p"))).hex()
    out = dispatch({"id": 1, "cmd": "mesh.session", "args": {
        "root": ROOT, "seed": seed("b").hex(), "events": [], "now_ms": T0,
        "initiator": True, "salt": SALT.hex(), "peer": [peer_hello, peer_hello]}})
    assert out["ok"], out
    res = out["result"]
    assert [f["t"] for f in res["sent"]] == ["hello", "rec", "error"]
    assert (res["end"], res["code"]) == ("refused", "E_MESH_FRAME")


def test_invalid_driver_session_prefix_over_limit_is_not_read() -> None:
    """mesh.session refuses a prefix over 1 MiB at once, but waits for a body of 1 MiB."""
    peer_hello = frames.encode_frame(mesh.compute_hello(ROOT, node_id("p"))).hex()
    ends = []
    for n in (frames.MAX_FRAME_BYTES + 1, frames.MAX_FRAME_BYTES):
        out = dispatch({"id": 1, "cmd": "mesh.session", "args": {
            "root": ROOT, "seed": seed("b").hex(), "events": [], "now_ms": T0,
            "initiator": False, "salt": SALT.hex(),
            "peer": [peer_hello, n.to_bytes(4, "big").hex()]}})
        assert out["ok"], out
        ends.append(out["result"]["end"])
    assert ends == ["refused", "closed"]
