"""Vectors of chapter 09, mesh coordination (spec/09-mesh-coordination.md).

Nothing is random. `derive(label, n)` is the first n bytes of the BLAKE3 XOF of
"strata/vectors/mesh/" + label. The seed of a principal NAME is
derive("seed/NAME"); its NodeId is the seed's Ed25519 public key and its
principal that key's did:key; the mesh root is the principal "root". Tokens
are root-issued unless a case says otherwise, valid from T0 - 1,000 with no
expiry, nonce derive("nonce/" + label, 16). A signed op's id is 0x01, its
wall_ms in 6 bytes, then derive("op/" + label, 10); record ids likewise with
their own kind byte and derive("id/" + label, 10). T0 = 1,700,000,000,000 ms.
Reconciliation items are envelopes with a null signature and the payload
{"type": "Item", "n": i}: `mesh.reconcile` checks only chapter 03's envelope,
which gives an item its key. Every generator states the outcome it intends
(needs, statuses, effective merges) and generation fails when the reference
disagrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import blake3

import reference.driver.mesh  # noqa: F401  (registers the commands)
import reference.mesh as mesh
from reference import identifiers, signatures, ucan, wire_format
from reference.driver import dispatch
from reference.identifiers import IdKind
from reference.mesh import frames, reconcile
from reference.wire_format import Envelope, Value
from tools.vectorgen import Case, GenerationError, VectorFile

FOLDER, CHAPTER = "mesh", "09-mesh-coordination"
PREFIX = b"strata/vectors/mesh/"
T0 = 1_700_000_000_000
NOW = T0 + 10_000_000  # after every op of these vectors unless a case says otherwise
DRIFT = 60_000


def derive(label: str, n: int = 32) -> bytes:
    return blake3.blake3(PREFIX + label.encode()).digest(length=n)


def seed(name: str) -> bytes:
    return derive("seed/" + name)


def node(name: str) -> bytes:
    return signatures.compute_public_key(seed(name))


def did(name: str) -> str:
    return identifiers.encode_did_key(node(name))


ROOT = did("root")
OTHER_ROOT = did("other-root")


def ensure(cond: bool, message: str) -> None:
    if not cond:
        raise GenerationError(message)


def run(command: str, args: dict[str, Any]) -> dict[str, Any]:
    """The reference's answer, for a generator to check its intent against."""
    response = dispatch({"id": 0, "cmd": command, "args": args})
    ensure(response["ok"], f"{command}: {response.get('error')}")
    return dict(response["result"])


def token(name: str, label: str, caps: Sequence[ucan.Capability] = (mesh.ALL,),
          nbf: int = T0 - 1000, exp: int | None = None) -> ucan.Token:
    return ucan.issue_token(seed("root"), did(name), ROOT, list(caps), nbf, exp,
                            derive("nonce/" + label, 16), [])


def rid(kind: IdKind, label: str) -> bytes:
    return bytes([kind]) + T0.to_bytes(6, "big") + derive("id/" + label, 10)


def op(author: str, payload: dict[str, Value], wall_ms: int, label: str,
       logical: int = 0) -> bytes:
    """A signed op of `author` at (wall_ms, logical)."""
    n = node(author)
    op_id = bytes([IdKind.OP]) + wall_ms.to_bytes(6, "big") + derive("op/" + label, 10)
    env = Envelope(op_id=op_id, author=n, ts=(wall_ms, logical, n), payload=payload, sig=None)
    return wire_format.encode_envelope(signatures.sign_op(seed(author), env))


def delegate(name: str, wall_ms: int, label: str, **kw: Any) -> bytes:
    """The root publishes a token delegated to `name` (a DelegateUcan authored by the root)."""
    return op("root", {"type": "DelegateUcan", "token": token(name, label, **kw).data}, wall_ms,
              "delegate/" + label)


def ingest(label: str) -> dict[str, Value]:
    return {"type": "IngestEvidence", "evidence": rid(IdKind.EVIDENCE, label),
            "hash": derive("content/" + label), "anchor": label, "source_type": "calendar",
            "metadata": {}}


def h(data: bytes) -> str:
    return identifiers.compute_op_hash(data).hex()


# --- chapter 09 section 3: rules and the handshake ------------------------------------------


def rules_cases() -> list[Case]:
    out = [Case("rules-root", ("MESH-003", "MESH-004"),
                "the mesh-rules document of the root 'root' and its BLAKE3 hash", "mesh.rules",
                {"root": ROOT}, "valid"),
           Case("rules-other-root", ("MESH-003", "MESH-004"),
                "another root gives another document and another hash", "mesh.rules",
                {"root": OTHER_ROOT}, "valid"),
           Case("rules-root-not-did-key", ("MESH-003",),
                "a root that is not an Ed25519 did:key has no rules document", "mesh.rules",
                {"root": "did:web:example.com"}, "invalid", error="E_DID_UNSUPPORTED")]
    ensure(run("mesh.rules", {"root": ROOT})["hash"] == blake3.blake3(bytes.fromhex(
        run("mesh.rules", {"root": ROOT})["document"])).hexdigest(), "rules hash")
    return out


def hello(**changes: Value) -> str:
    body = {**mesh.compute_hello(ROOT, node("peer")), **changes}
    return frames.encode_frame(body).hex()


def handshake_cases() -> list[Case]:
    bad_rules = derive("other-rules")
    cases: list[tuple[str, tuple[str, ...], dict[str, Value], str | None, str]] = [
        ("accepted", (), {}, None, "a hello of this version, root and rules is accepted"),
        ("version", (), {"v": 2}, "E_MESH_VERSION", "protocol version 2 is refused"),
        ("version-zero", (), {"v": 0}, "E_MESH_VERSION", "protocol version 0 is refused"),
        ("root", (), {"root": OTHER_ROOT}, "E_MESH_ROOT_MISMATCH",
         "a peer of another mesh is refused"),
        ("rules", (), {"rules": bad_rules}, "E_MESH_RULES_MISMATCH",
         "a peer with other rules (another hash) is refused"),
        ("root-and-rules", (), {"root": OTHER_ROOT, "rules": bad_rules},
         "E_MESH_ROOT_MISMATCH", "root is checked before rules"),
        ("all-three", (), {"v": 9, "root": OTHER_ROOT, "rules": bad_rules}, "E_MESH_VERSION",
         "the version is checked first"),
    ]
    out = []
    for cid, _, changes, error, desc in cases:
        out.append(Case(f"hello-{cid}", ("MESH-005", "MESH-006"), desc, "mesh.handshake",
                        {"root": ROOT, "frame": hello(**changes)},
                        "valid" if error is None else "invalid", error=error))
    not_hello = frames.encode_frame({"t": "ops", "ops": [b"x"]}).hex()
    out.append(Case("first-frame-not-hello", ("MESH-006",),
                    "a session that starts with anything but hello is refused", "mesh.handshake",
                    {"root": ROOT, "frame": not_hello}, "invalid", error="E_MESH_FRAME"))
    short = frames.encode_frame({"t": "hello", "v": 1, "root": ROOT, "rules": b"short",
                                 "node": node("peer")}).hex()
    out.append(Case("hello-rules-not-32-bytes", ("MESH-006", "MESH-010"),
                    "a hello whose rules is not a 32-byte hash is not a hello frame",
                    "mesh.handshake", {"root": ROOT, "frame": short}, "invalid",
                    error="E_MESH_FRAME"))
    return out


# --- section 4: frames ---------------------------------------------------------------------------


def raw_frame(body: bytes, length: int | None = None) -> str:
    n = len(body) if length is None else length
    return (n.to_bytes(4, "big") + body).hex()


def frame_cases() -> list[Case]:
    enc = wire_format.encode_canonical
    valid: list[tuple[str, dict[str, Value], str]] = [
        ("hello", mesh.compute_hello(ROOT, node("peer")), "a hello frame"),
        ("error", {"t": "error", "code": "E_MESH_RULES_MISMATCH", "msg": "other rules"},
         "an error frame"),
        ("rec-first", {"t": "rec", "salt": derive("salt", 16),
                       "r": [None, reconcile.FINGERPRINT, derive("fp", 16)]},
         "a first message: the salt and one fingerprint over everything"),
        ("rec-final", {"t": "rec", "r": []}, "the final message: no ranges"),
        ("rec-modes", {"t": "rec", "r": [b"\x01", 0, b"", b"\x02\x00", 1, derive("f", 16),
                                         b"\x03", 2, derive("l", 16), None, 3, derive("n", 8)]},
         "four ranges, one of each mode, bounds ascending, the last ending at the end"),
        ("ops", {"t": "ops", "ops": [b"\x01", b"\x02\x03"]}, "an ops frame of two byte strings"),
        ("rec-longest-bound", {"t": "rec", "r": [b"\xff" * reconcile.KEY_BYTES, 0, b"",
                                                 None, 0, b""]},
         "an upper bound of 72 bytes, a whole key, the longest"),
        ("ops-one", {"t": "ops", "ops": [b"\x01"]}, "an ops frame of one byte string, the fewest"),
    ]
    out = [Case(f"frame-{cid}", ("MESH-008", "MESH-009", "MESH-010", "MESH-015"), desc,
                "mesh.decode_frame",
                {"frame": frames.encode_frame(body).hex()}, "valid")
           for cid, body, desc in valid]
    good = enc({"t": "rec", "r": []})
    invalid: list[tuple[str, tuple[str, ...], str, str]] = [
        ("length-zero", ("MESH-009",), raw_frame(b"", 0), "a prefix announcing 0 bytes"),
        ("length-over-limit", ("MESH-009",), raw_frame(good, frames.MAX_FRAME_BYTES + 1),
         "a prefix announcing 1 MiB + 1 bytes, refused before its body is read"),
        ("length-mismatch", ("MESH-008", "MESH-009"), raw_frame(good, len(good) + 1),
         "a prefix announcing more bytes than follow"),
        ("noncanonical", ("MESH-008", "MESH-010"),
         raw_frame(bytes.fromhex("a2617463726563617280")),
         "keys t, r out of canonical order (r sorts first)"),
        ("not-cbor", ("MESH-010",), raw_frame(b"\xff"), "a body that is not CBOR"),
        ("not-a-map", ("MESH-010",), raw_frame(enc(["rec"])), "a body that is an array"),
        ("unknown-type", ("MESH-010",), raw_frame(enc({"t": "gossip"})), "t is gossip"),
        ("extra-key", ("MESH-010",), raw_frame(enc({"t": "rec", "r": [], "x": 1})),
         "a rec frame with an extra key"),
        ("missing-key", ("MESH-010",), raw_frame(enc({"t": "ops"})), "an ops frame without ops"),
        ("ops-empty", ("MESH-010",), raw_frame(enc({"t": "ops", "ops": []})),
         "an ops frame holding no op"),
        ("ops-not-bytes", ("MESH-010",), raw_frame(enc({"t": "ops", "ops": ["x"]})),
         "an op given as text"),
        ("error-code-not-text", ("MESH-010",),
         raw_frame(enc({"t": "error", "code": 7, "msg": ""})), "an error code that is a number"),
        ("salt-short", ("MESH-016",), raw_frame(enc({"t": "rec", "r": [], "salt": bytes(15)})),
         "a salt of 15 bytes"),
        ("ranges-not-triples", ("MESH-015",), raw_frame(enc({"t": "rec", "r": [None, 0]})),
         "r of two items"),
        ("ranges-last-not-end", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [b"\x05", 0, b""]})),
         "the last range ends at a bound, not at the end"),
        ("ranges-not-ascending", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [b"\x05", 0, b"", b"\x05", 1, bytes(16),
                                          None, 0, b""]})), "two ranges with one upper bound"),
        ("ranges-empty-bound", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [b"", 0, b"", None, 0, b""]})),
         "an upper bound of 0 bytes"),
        ("ranges-long-bound", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [bytes(73), 0, b"", None, 0, b""]})),
         "an upper bound of 73 bytes, longer than a key"),
        ("ranges-bad-mode", ("MESH-015",), raw_frame(enc({"t": "rec", "r": [None, 4, b""]})),
         "mode 4"),
        ("ranges-short-fingerprint", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [None, 1, bytes(15)]})), "a 15-byte fingerprint"),
        ("ranges-partial-id", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [None, 2, bytes(12)]})),
         "a list of 12 bytes: one and a half short ids"),
        ("ranges-data-text", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [None, 1, "0123456789abcdef"]})),
         "a fingerprint given as 16 characters of text, not bytes"),
        ("ranges-skip-with-data", ("MESH-015",),
         raw_frame(enc({"t": "rec", "r": [None, 0, b"x"]})), "a skip carrying data"),
    ]
    for cid, reqs, frame, desc in invalid:
        out.append(Case(f"frame-{cid}", reqs, desc, "mesh.decode_frame", {"frame": frame},
                        "invalid", error="E_MESH_FRAME"))
    return out


# --- section 2.2: the announcement ------------------------------------------------------------


def announce_cases() -> list[Case]:
    args = {"root_seed": seed("root").hex(), "seed": seed("alpha").hex(), "wall_ms": T0,
            "nonce": derive("nonce/announce", 16).hex(),
            "id_random": derive("id-random/announce", 10).hex()}
    result = run("mesh.announce", args)
    received = run("mesh.receive", {"root": ROOT, "seed": seed("beta").hex(), "events": [
        {"op": result["op"], "now_ms": T0 + 1}]})
    ensure([r["status"] for r in received["results"]] == ["applied"],
           "an announcement authorizes itself")
    return [
        Case("announce", ("MESH-002", "MESH-001"),
             "the announcement of node alpha: root-issued token, DelegateUcan at (T0, 0, alpha)",
             "mesh.announce", args, "valid",
             comment="seeds derive('seed/root') and derive('seed/alpha'); nonce "
                     "derive('nonce/announce', 16); id_random derive('id-random/announce', 10)"),
        Case("announce-bad-nonce", ("MESH-002",), "a nonce must be 16 bytes", "mesh.announce",
             {**args, "nonce": "00" * 15}, "invalid", error="E_BAD_REQUEST"),
    ]


# --- section 5: reconciliation ----------------------------------------------------------------


def item(i: int, label: str, wall_step: int = 1, logical: int = 0) -> bytes:
    """Item i of a family: author i mod 3 of the family, wall_ms T0 + i * wall_step."""
    author = derive(f"item-node/{label}/{i % 3}")
    wall = T0 + i * wall_step
    env = Envelope(op_id=bytes([IdKind.OP]) + wall.to_bytes(6, "big") + derive(
        f"item-id/{label}/{i}", 10), author=author, ts=(wall, logical, author),
        payload={"type": "Item", "n": i}, sig=None)
    return wire_format.encode_envelope(env)


def key(data: bytes) -> bytes:
    env = wire_format.decode_envelope(data)
    return reconcile.compute_key(env.ts, identifiers.compute_op_hash(data))


def reconcile_case(cid: str, reqs: tuple[str, ...], desc: str, a: list[bytes], b: list[bytes],
                   salt_label: str = "salt", trace: bool = False,
                   comment: str | None = None) -> Case:
    args: dict[str, Any] = {"a": [x.hex() for x in a], "b": [x.hex() for x in b],
                            "salt": derive(salt_label, 16).hex()}
    if trace:
        args["trace"] = True
    result = run("mesh.reconcile", args)
    ka, kb = {key(x): x for x in a}, {key(x): x for x in b}
    ensure(result["a_needs"] == [h(kb[k]) for k in sorted(set(kb) - set(ka))],
           f"{cid}: a_needs is not b minus a")
    ensure(result["b_needs"] == [h(ka[k]) for k in sorted(set(ka) - set(kb))],
           f"{cid}: b_needs is not a minus b")
    return Case(cid, ("MESH-013", "MESH-019", "MESH-020", "MESH-022", "MESH-023", *reqs), desc,
                "mesh.reconcile", args, "valid", comment=comment)


def xor_dependent(hashes: Sequence[bytes]) -> list[int]:
    """A non-empty subset whose first 16 bytes XOR to zero (Gaussian elimination over GF(2))."""
    basis: dict[int, tuple[int, int]] = {}
    for i, x in enumerate(hashes):
        v, mask = int.from_bytes(x[:16], "big"), 1 << i
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = (v, mask)
                break
            v, mask = v ^ basis[top][0], mask ^ basis[top][1]
        else:
            return [j for j in range(len(hashes)) if mask >> j & 1]
    raise GenerationError("no XOR dependency")


def reconcile_cases() -> list[Case]:
    fam = [item(i, "r") for i in range(150)]
    straddle = [item(i, "straddle", wall_step=(2**41 - T0) // 8) for i in range(17)]
    out = [
        reconcile_case("both-empty", ("MESH-019",), "two empty sets: an empty list, then done",
                       [], []),
        reconcile_case("a-empty", ("MESH-019", "MESH-011"),
                       "a holds nothing: it lists nothing and b pushes all 40", [], fam[:40]),
        reconcile_case("b-empty", ("MESH-021", "MESH-011"),
                       "b holds nothing: it lists nothing for a's fingerprint; a pushes all 40",
                       fam[:40], []),
        reconcile_case("bound-at-first-byte", ("MESH-014",),
                       "17 items whose wall_ms cross 2^41, so items 7 and 8 differ in their "
                       "first key byte, b lacking the last: b splits its 16 items 4, 4, 4, 4 "
                       "and its bound before item 8 is that item's first byte alone",
                       straddle, straddle[:16],
                       comment="item(i, 'straddle', wall_step=(2^41 - T0) / 8): item 8 is at "
                               "wall_ms 2^41 exactly"),
        reconcile_case("identical-small", ("MESH-018",),
                       "12 items on each side (L): listed, nothing needed", fam[:12], fam[:12]),
        reconcile_case("identical-large", ("MESH-017",),
                       "60 identical items: one fingerprint agrees, two messages", fam[:60],
                       fam[:60]),
        reconcile_case("one-missing", ("MESH-017", "MESH-021", "MESH-024"),
                       "b lacks one item of 60: splits narrow it down, and the session, of "
                       "more than two messages but far fewer than 64, is not aborted", fam[:60],
                       fam[:37] + fam[38:60]),
        reconcile_case("one-each", ("MESH-017", "MESH-021"),
                       "each side lacks one item of the other", fam[:50] + fam[51:60],
                       fam[:20] + fam[21:60]),
        reconcile_case("disjoint", ("MESH-021",), "no item in common",
                       fam[:40], fam[40:80]),
        reconcile_case("subset", ("MESH-021",), "b holds every third item of a",
                       fam[:60], fam[:60:3]),
        reconcile_case("dense", ("MESH-017", "MESH-018", "MESH-021"),
                       "a holds the even items, b the multiples of three",
                       fam[:60:2], fam[:60:3]),
        reconcile_case("trace", ("MESH-008", "MESH-011", "MESH-014", "MESH-016", "MESH-017",
                                 "MESH-018", "MESH-021"),
                       "30 and 30 items, 3 differing: every frame recorded",
                       fam[:30], fam[:10] + fam[11:30] + [fam[40]], trace=True),
    ]
    same_ms = [item(i, "tie", wall_step=0, logical=i) for i in range(30)]
    out.append(reconcile_case("same-millisecond", ("MESH-014",),
                              "30 items in one millisecond: bounds reach the logical counter",
                              same_ms[:25], same_ms[5:], trace=True))
    twin = item(7, "r")
    env = wire_format.decode_envelope(twin)
    other = wire_format.encode_envelope(Envelope(
        op_id=env.op_id, author=env.author, ts=env.ts, payload={"type": "Item", "n": 1007},
        sig=None))
    out.append(reconcile_case("equivocation", ("MESH-013",),
                              "two ops with one timestamp (equivocation) are two items, "
                              "told apart by their hashes", fam[:20], [*fam[:20], other]))
    hashes = [identifiers.compute_op_hash(x) for x in sorted(fam[:150], key=key)]
    ordered = sorted(fam[:150], key=key)
    hidden = {ordered[i] for i in xor_dependent(hashes)}
    out.append(reconcile_case(
        "xor-dependent-subset", ("MESH-017",),
        f"b holds {len(hidden)} items more than a whose hashes XOR to zero in their first 16 "
        "bytes: an XOR fingerprint would see no difference",
        [x for x in ordered if x not in hidden], ordered,
        comment="the hidden subset was found by Gaussian elimination over GF(2) on the first "
                "16 bytes of the hashes of items 0 to 149 of family 'r'"))
    salt = derive("salt", 16).hex()
    out.append(Case("salt-short", ("MESH-016",), "a salt of 15 bytes", "mesh.reconcile",
                    {"a": [], "b": [], "salt": salt[:30]}, "invalid", error="E_BAD_REQUEST"))
    out.append(Case("item-not-an-envelope", ("MESH-013",),
                    "an item that is not an op envelope has no key", "mesh.reconcile",
                    {"a": [wire_format.encode_canonical({"t": 1}).hex()], "b": [],
                     "salt": salt}, "invalid", error="E_ENVELOPE_INVALID"))
    return out


# --- section 6: receiving ---------------------------------------------------------------------


def receive_case(cid: str, reqs: tuple[str, ...], desc: str, events: list[dict[str, Any]],
                 statuses: list[str], comment: str | None = None) -> Case:
    args = {"root": ROOT, "seed": seed("receiver").hex(), "events": events}
    result = run("mesh.receive", args)
    got = [r["status"] if r["code"] is None else f"{r['status']}:{r['code']}"
           for r in result["results"]]
    ensure(got == statuses, f"{cid}: statuses {got}, intended {statuses}")
    return Case(cid, ("MESH-025", "MESH-026", *reqs), desc, "mesh.receive", args, "valid",
                comment=comment)


def ev(data: bytes, now: int = NOW, peer: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"op": data.hex(), "now_ms": now}
    if peer is not None:
        out["peer"] = node(peer).hex()
    return out


def receive_cases() -> list[Case]:
    d_alpha = delegate("alpha", T0, "alpha")
    a1 = op("alpha", ingest("a1"), T0 + 10, "a1")
    a2 = op("alpha", ingest("a2"), T0 + 20, "a2")
    claims_only = delegate("gamma", T0 + 1, "gamma",
                           caps=[ucan.Capability("strata:claim", "claim/*")])
    g1 = op("gamma", ingest("g1"), T0 + 30, "g1")
    stranger = op("stranger", ingest("s1"), T0 + 40, "s1")
    tampered = bytearray(a2)
    tampered[-1] ^= 1
    expiring = delegate("delta", T0 + 2, "delta", exp=T0 + 100)
    late = op("delta", ingest("d1"), T0 + 100, "d1")
    future = op("alpha", ingest("future"), NOW + DRIFT + 1, "future")
    edge = op("alpha", ingest("edge"), NOW + DRIFT, "edge")
    new = op("alpha", ingest("new"), T0 + 500_000, "new")
    old_edge = op("alpha", ingest("old-edge"), T0 + 500_000 - DRIFT, "old-edge")
    old = op("alpha", ingest("old"), T0 + 500_000 - DRIFT - 1, "old")
    revoke = op("root", {"type": "RevokeUcan", "token_hash": token("alpha", "alpha").hash,
                         "reason": "lost"}, T0 + 15, "revoke")
    return [
        receive_case("announced-then-op", ("MESH-028", "MESH-001"),
                     "the delegation, then an op of alpha: both applied; the clock receives both",
                     [ev(d_alpha), ev(a1)], ["applied", "applied"]),
        receive_case("op-before-its-proof", ("MESH-027", "MESH-028"),
                     "alpha's op arrives first and is held; its delegation releases it",
                     [ev(a1), ev(d_alpha)], ["held:E_UCAN_PROOF_MISSING", "applied"]),
        receive_case("bad-signature", ("MESH-029",),
                     "a tampered op is refused and recorded against the peer that sent it",
                     [ev(d_alpha), ev(bytes(tampered), peer="mallory")],
                     ["applied", "refused:E_SIGNATURE_INVALID"]),
        receive_case("undelegated-author", ("MESH-012", "MESH-001"),
                     "an op of a key no one delegated to is held, never applied: the node's "
                     "log checks authority under the mesh root",
                     [ev(stranger, peer="mallory")], ["held:E_UCAN_PROOF_MISSING"]),
        receive_case("capability-lacking", ("MESH-029",),
                     "gamma may only make claims: its IngestEvidence is refused",
                     [ev(claims_only), ev(g1, peer="mallory")],
                     ["applied", "refused:E_UNAUTHORIZED"]),
        receive_case("expired-token", ("MESH-029",),
                     "delta's token expires at T0 + 100: an op at T0 + 100 is refused",
                     [ev(expiring), ev(late, peer="mallory")],
                     ["applied", "refused:E_UCAN_EXPIRED"]),
        receive_case("revoked-before", ("MESH-029",),
                     "the root revokes alpha's token at T0 + 15: alpha's op at T0 + 20 is "
                     "refused, its op at T0 + 10 applied",
                     [ev(d_alpha), ev(revoke), ev(a1), ev(a2, peer="mallory")],
                     ["applied", "applied", "applied", "refused:E_UCAN_REVOKED"]),
        receive_case("duplicate", ("MESH-028",), "the same op twice: stored once",
                     [ev(d_alpha), ev(a1), ev(a1)], ["applied", "applied", "duplicate"]),
        receive_case("far-future-held-then-released", ("MESH-027", "MESH-028"),
                     "an op 60,001 ms ahead is held for drift, released one ms later",
                     [ev(d_alpha), ev(future), {"release": NOW}, {"release": NOW + 1}],
                     ["applied", "held:E_HLC_DRIFT", "released", "released"],
                     comment="the clock then receives the released op: state (wall_ms, 1)"),
        receive_case("drift-boundary", ("MESH-028",),
                     "an op exactly 60,000 ms ahead is applied, and the clock follows it",
                     [ev(d_alpha), ev(edge)], ["applied", "applied"]),
        receive_case("backdated", ("MESH-034",),
                     "alpha's op 60,001 ms behind its latest stored op is flagged; one exactly "
                     "60,000 ms behind is not; both are applied",
                     [ev(d_alpha), ev(new), ev(old_edge), ev(old)],
                     ["applied", "applied", "applied", "applied"]),
        Case("fresh-node", ("MESH-001", "CLK-011"),
             "no events: a new node has an empty log and its clock is fresh, state (0, 0)",
             "mesh.receive", {"root": ROOT, "seed": seed("receiver").hex(), "events": []},
             "valid"),
        Case("bad-event", ("MESH-035", "CONF-005"), "an event with neither op nor release",
             "mesh.receive",
             {"root": ROOT, "seed": seed("receiver").hex(), "events": [{"now_ms": NOW}]},
             "invalid", error="E_BAD_REQUEST"),
    ]


# --- section 2: a node authors, announces, delegates and restarts ----------------------------


def authoring(kind: str, value: bytes, now: int, label: str, **extra: Any) -> dict[str, Any]:
    return {kind: value.hex(), "now_ms": now, "id_random": derive("id-random/" + label, 10).hex(),
            **extra}


def author_case(cid: str, reqs: tuple[str, ...], desc: str, name: str,
                events: list[dict[str, Any]], statuses: list[str] | None = None,
                error: str | None = None, comment: str | None = None) -> Case:
    args = {"root": ROOT, "seed": seed(name).hex(), "events": events}
    if error is None:
        got = [r["status"] for r in run("mesh.receive", args)["results"]]
        ensure(got == statuses, f"{cid}: statuses {got}, intended {statuses}")
    return Case(cid, reqs, desc, "mesh.receive", args, "valid" if error is None else "invalid",
                error=error, comment=comment)


def author_cases() -> list[Case]:
    enc = wire_format.encode_canonical
    t1 = T0 + 1000
    own = token("alpha", "alpha-own").data
    second = token("alpha", "alpha-second").data
    other_node = token("beta", "beta").data
    other_mesh = ucan.issue_token(seed("other-root"), did("alpha"), OTHER_ROOT, [mesh.ALL],
                                  T0 - 1000, None, derive("nonce/other-mesh", 16), []).data
    d_gamma = delegate("gamma", T0 + 1, "gamma")
    d_alpha = delegate("alpha", T0, "alpha")
    x1 = enc(ingest("x1"))
    kids = dict(nbf=T0, nonce=derive("nonce/beta-by-alpha", 16).hex())
    derived = ("ids: id_random derive('id-random/' + label, 10); payloads are ingest(label); "
               "tokens root-issued with nonce derive('nonce/' + label, 16)")
    return [
        author_case("announce-author-delegate", ("MESH-001", "MESH-002"),
                    "alpha announces itself (twice, two tokens), authors an op, then delegates "
                    "to beta citing the smaller of its two tokens; gamma's delegation in its "
                    "log is not one of alpha's proofs",
                    "alpha", [ev(d_gamma, t1), authoring("announce", own, t1, "own"),
                              authoring("announce", second, t1, "second"),
                              authoring("author", x1, t1, "x1"),
                              authoring("delegate", node("beta"), t1 + 1000, "beta", **kids)],
                    ["applied", "authored", "authored", "authored", "authored"],
                    comment=derived + "; the three ops at t1 take logical 0, 1, 2"),
        author_case("announced-by-its-issuer", ("MESH-002",),
                    "the root published alpha's token: alpha may author without announcing "
                    "itself", "alpha", [ev(d_alpha, t1), authoring("author", x1, t1, "x1")],
                    ["applied", "authored"], comment=derived),
        author_case("author-before-announcement", ("MESH-002",),
                    "a node with no token delegated to it in its log authors nothing",
                    "alpha", [authoring("author", x1, t1, "x1")], error="E_UCAN_PROOF_MISSING"),
        author_case("author-after-a-stranger-announced", ("MESH-002",),
                    "gamma's token in alpha's log does not announce alpha", "alpha",
                    [ev(d_gamma, t1), authoring("author", x1, t1, "x1")],
                    error="E_UCAN_PROOF_MISSING"),
        author_case("announce-token-of-another-node", ("MESH-002",),
                    "alpha cannot announce itself with beta's token", "alpha",
                    [authoring("announce", other_node, t1, "own")], error="E_BAD_REQUEST"),
        author_case("announce-token-of-another-mesh", ("MESH-002",),
                    "alpha cannot announce itself with a token whose sub is another root",
                    "alpha", [authoring("announce", other_mesh, t1, "own")],
                    error="E_BAD_REQUEST"),
        author_case("delegate-before-announcement", ("MESH-002",),
                    "a node holding no token delegated to it cannot delegate", "alpha",
                    [ev(d_gamma, t1), authoring("delegate", node("beta"), t1, "beta", **kids)],
                    error="E_UCAN_PROOF_MISSING"),
        author_case("restart-resumes-clock", ("MESH-001", "CLK-024", "CLK-025"),
                    "alpha authors at t1, restarts while its physical clock reads T0 and "
                    "authors again: the op is stamped (t1, 2), after the persisted state; a "
                    "second restart reports the state (t1, 2)",
                    "alpha", [authoring("announce", own, t1, "own"),
                              authoring("author", x1, t1, "x1"), {"restart": T0},
                              authoring("author", enc(ingest("x2")), T0, "x2"),
                              {"restart": T0}],
                    ["authored", "authored", "restarted", "authored", "restarted"],
                    comment=derived),
    ]


# --- sections 3.2, 5.5 and 6: one session against a scripted peer ------------------------------

SALT = derive("salt/session", 16)


def rec(entries: Sequence[reconcile.Entry], salt: bytes | None = None) -> str:
    return reconcile.encode_message(entries, salt).hex()


def whole(mode: int, data: bytes = b"") -> tuple[reconcile.Entry, ...]:
    """One range over everything."""
    return (reconcile.Entry(None, mode, data),)


def session_case(cid: str, reqs: tuple[str, ...], desc: str, initiator: bool,
                 events: list[dict[str, Any]], peer: list[str], end: str,
                 code: str | None = None, sent: list[str] | None = None,
                 now: int = NOW, comment: str | None = None) -> Case:
    args = {"root": ROOT, "seed": seed("receiver").hex(), "events": events, "now_ms": now,
            "initiator": initiator, "salt": SALT.hex(), "peer": peer}
    result = run("mesh.session", args)
    ensure((result["end"], result["code"]) == (end, code),
           f"{cid}: ended {result['end']} {result['code']}, intended {end} {code}")
    kinds = [f["t"] for f in result["sent"]]
    ensure(sent is None or kinds == sent, f"{cid}: sent {kinds}, intended {sent}")
    return Case(cid, reqs, desc, "mesh.session", args, "valid", comment=comment)


def session_cases() -> list[Case]:
    hf = hello()
    final = rec(())
    d_alpha = delegate("alpha", T0, "alpha")
    a1 = op("alpha", ingest("a1"), T0 + 10, "a1")
    a2 = op("alpha", ingest("a2"), T0 + 20, "a2")
    future = op("alpha", ingest("future"), NOW + DRIFT + 1, "future")
    tampered = bytearray(a2)
    tampered[-1] ^= 1
    empty_fp = reconcile.compute_fingerprint(SALT, [])
    differs = rec(whole(reconcile.FINGERPRINT, empty_fp))  # a peer that holds nothing
    differs_first = rec(whole(reconcile.FINGERPRINT, empty_fp), SALT)
    holding = [ev(d_alpha), ev(a1)]

    def ops_frame(*ops: bytes) -> str:
        return frames.encode_frame({"t": "ops", "ops": list(ops)}).hex()

    out = [
        session_case("initiator-hello-first", ("MESH-005", "MESH-016", "MESH-022"),
                     "the initiator sends its hello, then (once it accepted the peer's) its "
                     "first message with the salt; the peer's final message ends the session",
                     True, holding, [hf, final], "done", sent=["hello", "rec"]),
        session_case("responder-waits-for-hello", ("MESH-005",),
                     "a responder sends nothing before the initiator's hello",
                     False, holding, [], "closed", sent=[]),
        session_case("responder-lists-its-items", ("MESH-005", "MESH-016", "MESH-022"),
                     "the responder answers the hello with its own, then a fingerprint that "
                     "differs with its two items listed; the peer's final message ends it",
                     False, holding, [hf, differs_first, final], "done",
                     sent=["hello", "rec"]),
        session_case("responder-pushes-what-the-list-lacks", ("MESH-020", "MESH-023"),
                     "the peer lists no item over everything: the responder pushes both of its "
                     "ops in one ops frame, in key order, before its reply",
                     False, holding, [hf, rec(whole(reconcile.LIST), SALT), final], "done",
                     sent=["hello", "ops", "rec"]),
        session_case("ops-received-in-a-session", ("MESH-023", "MESH-025", "MESH-028"),
                     "the peer pushes alpha's second op: the node verifies and applies it "
                     "before the next frame",
                     False, holding, [hf, differs_first, ops_frame(a2), final], "done",
                     sent=["hello", "rec"]),
        session_case("refused-op-recorded-against-the-hello-node", ("MESH-023", "MESH-029"),
                     "a tampered op pushed in a session is refused and recorded against the "
                     "node its peer's hello named",
                     False, holding, [hf, differs_first, ops_frame(bytes(tampered)), final],
                     "done", sent=["hello", "rec"]),
        session_case("session-start-releases-held", ("MESH-027",),
                     "an op held for drift at NOW is applied when a session starts 2 ms later",
                     False, [ev(d_alpha), ev(future)], [hf], "closed", sent=["hello"],
                     now=NOW + 2),
        session_case("ops-before-hello", ("MESH-006", "MESH-007"),
                     "a first frame that is not a hello is refused: an error frame, then close",
                     False, holding, [ops_frame(a2)], "refused", "E_MESH_FRAME",
                     sent=["error"]),
        session_case("other-root", ("MESH-006", "MESH-007"),
                     "a hello of another mesh is refused with an error frame",
                     True, holding, [hello(root=OTHER_ROOT)], "refused", "E_MESH_ROOT_MISMATCH",
                     sent=["hello", "error"]),
        session_case("hello-after-handshake", ("MESH-010",),
                     "a second hello, after the handshake, is refused",
                     False, holding, [hf, hf], "refused", "E_MESH_FRAME",
                     sent=["hello", "error"]),
        session_case("hello-after-first-message", ("MESH-010",),
                     "the initiator, having sent its first message, is sent a second hello: "
                     "after the handshake only rec and ops frames are accepted",
                     True, holding, [hf, hf], "refused", "E_MESH_FRAME",
                     sent=["hello", "rec", "error"]),
        session_case("first-message-without-salt", ("MESH-016",),
                     "the initiator's first message must carry the salt",
                     False, holding, [hf, differs], "refused", "E_MESH_FRAME",
                     sent=["hello", "error"]),
        session_case("first-message-short-salt", ("MESH-016",),
                     "a first message whose salt is 15 bytes is refused",
                     False, holding, [hf, rec(whole(reconcile.FINGERPRINT, empty_fp), SALT[:15])],
                     "refused", "E_MESH_FRAME", sent=["hello", "error"]),
        session_case("second-message-with-salt", ("MESH-016",),
                     "only the first message carries a salt: a second one that does is refused",
                     False, holding, [hf, differs_first, differs_first], "refused",
                     "E_MESH_FRAME", sent=["hello", "rec", "error"]),
        session_case("reply-with-salt", ("MESH-016",),
                     "the initiator sent the salt: a reply carrying one is refused",
                     True, holding, [hf, differs_first], "refused", "E_MESH_FRAME",
                     sent=["hello", "rec", "error"]),
        session_case("bad-ranges", ("MESH-015",),
                     "a message whose last range does not end at the end is refused",
                     False, holding,
                     [hf, rec((reconcile.Entry(b"\x05", reconcile.SKIP),), SALT)],
                     "refused", "E_MESH_FRAME", sent=["hello", "error"]),
        session_case("length-over-limit", ("MESH-009",),
                     "a prefix announcing 1,048,577 bytes is refused at once, its body unread "
                     "(none follows)", False, holding,
                     [hf, (frames.MAX_FRAME_BYTES + 1).to_bytes(4, "big").hex()],
                     "refused", "E_MESH_FRAME", sent=["hello", "error"]),
        session_case("length-one", ("MESH-009",),
                     "a prefix announcing 1 byte, the least, is not refused: the node waits for "
                     "its body, and the peer closes first", False, holding,
                     [hf, "00000001"], "closed", sent=["hello"]),
        session_case("length-zero", ("MESH-009",),
                     "a prefix announcing 0 bytes is refused", False, holding,
                     [hf, "00000000"], "refused", "E_MESH_FRAME", sent=["hello", "error"]),
        session_case("length-at-limit", ("MESH-009",),
                     "a prefix announcing exactly 1,048,576 bytes is not refused: the node "
                     "waits for its body, and the peer closes first", False, holding,
                     [hf, frames.MAX_FRAME_BYTES.to_bytes(4, "big").hex()], "closed",
                     sent=["hello"]),
        session_case("peer-error", ("MESH-007",),
                     "the peer refuses with an error frame: the session ends with its code",
                     True, holding,
                     [frames.encode_frame({"t": "error", "code": "E_MESH_RULES_MISMATCH",
                                           "msg": "other rules"}).hex()],
                     "peer-error", "E_MESH_RULES_MISMATCH", sent=["hello"]),
    ]
    # section 5.6: as initiator the node sends messages 1, 3, ..., 63 and receives 2, ..., 64
    out.append(session_case(
        "message-64-final", ("MESH-024",),
        "the peer's 32nd message, the session's 64th, is final: the session completes",
        True, holding, [hf] + [differs] * 31 + [final], "done", sent=["hello"] + ["rec"] * 32,
        comment="each non-final peer message is one fingerprint of no item over everything"))
    out.append(session_case(
        "message-64-not-final", ("MESH-024",),
        "the peer's 32nd message, the session's 64th, is not final: the node aborts",
        True, holding, [hf] + [differs] * 32, "refused", "E_MESH_FRAME",
        sent=["hello"] + ["rec"] * 32 + ["error"],
        comment="each non-final peer message is one fingerprint of no item over everything"))
    out.append(session_case(
        "responder-message-63", ("MESH-024",),
        "as responder the node answers the 63rd message (the peer's 32nd) and aborts at "
        "the 65th", False, holding, [hf, differs_first] + [differs] * 32, "refused",
        "E_MESH_FRAME", sent=["hello"] + ["rec"] * 32 + ["error"]))
    return out


# --- section 7: entity merges ------------------------------------------------------------------


def create(author: str, name: str, wall_ms: int) -> bytes:
    return op(author, {"type": "CreateEntity", "entity": rid(IdKind.ENTITY, name),
                       "kind": "person", "attributes": {}, "supports": []}, wall_ms,
              f"create/{name}/{wall_ms}")


def merge(author: str, source: str, target: str, wall_ms: int, logical: int = 0) -> bytes:
    return op(author, {"type": "MergeEntity", "source": rid(IdKind.ENTITY, source),
                       "target": rid(IdKind.ENTITY, target), "supports": []}, wall_ms,
              f"merge/{source}/{target}/{wall_ms}/{logical}", logical)


def merge_case(cid: str, desc: str, ops: list[bytes], effective: list[bytes],
               reqs: tuple[str, ...] = ()) -> Case:
    args = {"ops": [x.hex() for x in ops], "now_ms": NOW}
    result = run("mesh.resolve_merges", args)
    ensure(result["effective"] == [h(x) for x in effective],
           f"{cid}: effective {result['effective']}")
    return Case(cid, ("MESH-032", "MESH-033", *reqs), desc, "mesh.resolve_merges", args,
                "valid")


def merge_cases() -> list[Case]:
    ents = [create("m0", n, T0 + i) for i, n in enumerate("abcde")]
    # nodes sorted bytewise decide ties of wall_ms and logical
    first, second = sorted(["m1", "m2"], key=node)
    to_b = merge(second, "a", "b", T0 + 100)
    to_c = merge(first, "a", "c", T0 + 100)
    cycle_ab, cycle_ba = merge("m1", "a", "b", T0 + 100), merge("m2", "b", "a", T0 + 101)
    three = [merge("m1", "a", "b", T0 + 100), merge("m1", "b", "c", T0 + 101),
             merge("m2", "c", "a", T0 + 102)]
    early = merge("m1", "a", "b", T0 - 5)  # before a and b are created in the total order
    chain = [merge("m1", "c", "d", T0 + 100), merge("m2", "d", "e", T0 + 101),
             merge("m1", "a", "e", T0 + 102)]
    dup_create = create("m2", "a", T0 + 50)
    ghost = merge("m1", "a", "ghost", T0 + 100)
    return [
        merge_case("single", "a merged into b: one class", [*ents, merge("m1", "a", "b",
                                                                          T0 + 100)],
                   [merge("m1", "a", "b", T0 + 100)]),
        merge_case("concurrent-same-millisecond",
                   "a merged into b and into c in the same millisecond and logical: the node "
                   "earlier in byte order wins, whichever op is listed first",
                   [to_b, *ents, to_c], [to_c]),
        merge_case("concurrent-logical",
                   "a merged into b at logical 1 and into c at logical 0 of one millisecond",
                   [merge("m1", "a", "b", T0 + 100, 1), *ents,
                    merge("m1", "a", "c", T0 + 100, 0)],
                   [merge("m1", "a", "c", T0 + 100, 0)]),
        merge_case("cycle-of-two", "a into b, then b into a: both merged, one class",
                   [cycle_ba, *ents, cycle_ab], [cycle_ab, cycle_ba]),
        merge_case("cycle-of-three", "a into b, b into c, c into a: one class of three",
                   [three[2], *ents, three[1], three[0]], three),
        merge_case("chain", "c into d, d into e, a into e: one class of four",
                   [*reversed(chain), *ents], chain),
        merge_case("merge-before-creation", "a merge stamped before its entities' creation "
                   "is stored once they exist but ignored in the total order",
                   [early, *ents], []),
        merge_case("second-creation-ignored", "a later creation of entity a is ignored",
                   [*ents, dup_create, merge("m1", "a", "b", T0 + 100)],
                   [merge("m1", "a", "b", T0 + 100)], reqs=("DM-034",)),
        merge_case("target-never-created", "a merge into an entity never created stays held",
                   [*ents, ghost], []),
    ]


def files() -> list[VectorFile]:
    header = __doc__
    return [
        VectorFile(FOLDER, CHAPTER, "rules", tuple(rules_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "handshake", tuple(handshake_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "frames", tuple(frame_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "announce", tuple(announce_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "reconcile", tuple(reconcile_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "receive", tuple(receive_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "author", tuple(author_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "session", tuple(session_cases()), comment=header),
        VectorFile(FOLDER, CHAPTER, "merges", tuple(merge_cases()), comment=header),
    ]
