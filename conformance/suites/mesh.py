"""Property checks of chapter 09: reconciliation, the handshake, receiving, entity merges.

Independent of any implementation under test: cbor2 (canonical mode) writes
envelopes and frames, pynacl signs ops and tokens, blake3 hashes, and the
harness's own models give the expected answers: the symmetric difference of
two item sets for reconciliation (spec/09 section 5.7), the check order of the
handshake (section 3.2), and the merge resolution of section 7 (first merge of
a source in the total order, smallest id of each connected class).
"""

from __future__ import annotations

import random
from typing import Any

import blake3
import cbor2
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._ops import Author, canonical, record_id
from conformance.suites.authority import Cap, did, make_token, seed

T0 = 1_700_000_000_000
NOW = T0 + 10_000_000
SPEC_VERSION = "0.1.0"
ALL = Cap("strata:*", "*")


def derive(label: str, n: int = 32) -> bytes:
    return blake3.blake3(b"strata/conformance/mesh/" + label.encode()).digest(length=n)


# --- items and keys (spec/09 section 5.1) ------------------------------------------------------


def item(i: int, label: str) -> bytes:
    """An unsigned envelope: reconciliation needs only chapter 03's envelope."""
    author = derive(f"node/{label}/{i % 3}")
    wall = T0 + i * (i % 4)  # some items share a millisecond, apart by author or logical
    return canonical({"v": 1, "id": record_id("op", wall, f"{label}/{i}"), "author": author,
                      "ts": [wall, i, author], "sig": None, "payload": {"type": "Item", "n": i}})


def key(data: bytes) -> bytes:
    """wall_ms (6 bytes), logical (2), node (32), hash (32), big-endian (MESH-013)."""
    env = cbor2.loads(data)
    wall, logical, node = env["ts"]
    return bytes(wall.to_bytes(6, "big") + logical.to_bytes(2, "big") + bytes(node)
                 + blake3.blake3(data).digest())


def reconcile(impl: Impl, a: list[bytes], b: list[bytes], salt: bytes) -> dict[str, Any]:
    return dict(impl.ok("mesh.reconcile", {"a": [x.hex() for x in a], "b": [x.hex() for x in b],
                                           "salt": salt.hex()}))


def expect_exact(out: dict[str, Any], a: list[bytes], b: list[bytes]) -> None:
    ka, kb = {key(x): x for x in a}, {key(x): x for x in b}
    want_a = [k[40:].hex() for k in sorted(set(kb) - set(ka))]
    want_b = [k[40:].hex() for k in sorted(set(ka) - set(kb))]
    expect(out["a_needs"] == want_a, f"a_needs {len(out['a_needs'])} hashes, the symmetric "
                                     f"difference gives {len(want_a)}")
    expect(out["b_needs"] == want_b, f"b_needs {len(out['b_needs'])} hashes, the symmetric "
                                     f"difference gives {len(want_b)}")


@st.composite
def set_pairs(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    """Two subsets of one universe of up to 160 items, with overlaps from none to all."""
    n = draw(st.integers(0, 160))
    label = draw(st.sampled_from(["p", "q", "r"]))
    universe = [item(i, label) for i in range(n)]
    pa, pb = draw(st.sampled_from([0.0, 0.5, 0.95, 1.0])), draw(st.sampled_from([0.0, 0.9, 1.0]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    a = [x for x in universe if rng.random() < pa or (pa == 1.0)]
    b = [x for x in universe if rng.random() < pb or (pb == 1.0)]
    return a, b


@check("MESH-013", "MESH-019", "MESH-020", "MESH-021", "MESH-022", "MESH-023")
@given(pair=set_pairs(), salt=st.binary(min_size=16, max_size=16))
def check_reconcile_finds_the_difference(impl: Impl, pair: tuple[list[bytes], list[bytes]],
                                         salt: bytes) -> None:
    """A session gives each side exactly the items the other holds and it lacks, once."""
    a, b = pair
    expect_exact(reconcile(impl, a, b, salt), a, b)


@check("MESH-019", "MESH-020")
@given(pair=set_pairs(), salt=st.binary(min_size=16, max_size=16))
def check_reconcile_either_side_starts(impl: Impl, pair: tuple[list[bytes], list[bytes]],
                                       salt: bytes) -> None:
    """Swapping which side initiates swaps the two needs and changes nothing else found."""
    a, b = pair
    one, two = reconcile(impl, a, b, salt), reconcile(impl, b, a, salt)
    expect((one["a_needs"], one["b_needs"]) == (two["b_needs"], two["a_needs"]),
           "the difference found depends on which side starts")


@check("MESH-017", "MESH-022")
@given(n=st.integers(13, 400), salt=st.binary(min_size=16, max_size=16))
def check_identical_sets_settle_at_once(impl: Impl, n: int, salt: bytes) -> None:
    """Identical sets of more than L items settle in two messages and need nothing."""
    items = [item(i, "same") for i in range(n)]
    out = reconcile(impl, items, list(reversed(items)), salt)
    expect(out["a_needs"] == [] and out["b_needs"] == [], "identical sets found a difference")
    expect(out["rounds"] == 2, f"identical sets took {out['rounds']} messages, not 2")


def xor_dependent(hashes: list[bytes]) -> list[int]:
    """A non-empty subset whose hashes XOR to zero in all 32 bytes (GF(2) elimination)."""
    basis: dict[int, tuple[int, int]] = {}
    for i, x in enumerate(hashes):
        v, mask = int.from_bytes(x, "big"), 1 << i
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = (v, mask)
                break
            v, mask = v ^ basis[top][0], mask ^ basis[top][1]
        else:
            return [j for j in range(len(hashes)) if mask >> j & 1]
    raise AssertionError("257 vectors of 256 bits are always dependent")


@check("MESH-017")
@given(label=st.text(alphabet="abcdefgh", min_size=1, max_size=6),
       salt=st.binary(min_size=16, max_size=16))
def check_fingerprint_not_linear(impl: Impl, label: str, salt: bytes) -> None:
    """Items whose hashes XOR to zero (any truncation) are still found: no linear fingerprint."""
    items = [item(i, "xor/" + label) for i in range(260)]
    hidden = {items[i] for i in xor_dependent([blake3.blake3(x).digest() for x in items])}
    a = [x for x in items if x not in hidden]
    expect_exact(reconcile(impl, a, items, salt), a, items)


# --- the rules document and the handshake (section 3) --------------------------------------


def rules_document(root: str) -> bytes:
    return canonical({"v": "strata-mesh-rules/1", "root": root, "spec": SPEC_VERSION,
                      "branch": 4, "fp_bytes": 16, "id_bytes": 8, "list_max": 12,
                      "max_frame": 1_048_576, "max_drift_ms": 60_000, "max_messages": 64})


def frame(body: dict[str, Any]) -> bytes:
    data = canonical(body)
    return len(data).to_bytes(4, "big") + data



# --- ops frames at the 1 MiB limit (spec/09 sections 4.1 and 4.2) ------------------------------

MAX_FRAME = 1_048_576


def padded(label: str, i: int, size: int) -> bytes:
    """An unsigned envelope of exactly `size` bytes, its payload padded with a byte string."""
    author = derive(f"node/{label}")
    wall = T0 + i

    def encode(n: int) -> bytes:
        return canonical({"v": 1, "id": record_id("op", wall, f"{label}/{i}"), "author": author,
                          "ts": [wall, 0, author], "sig": None,
                          "payload": {"type": "Item", "n": i, "pad": bytes(n)}})

    n = max(0, size - len(encode(0)))
    for _ in range(4):  # the pad's head grows with it: at most a few corrections
        data = encode(n)
        if len(data) == size:
            return data
        n += size - len(data)
    raise AssertionError(f"no envelope of {size} bytes")


def ops_body_size(ops: list[bytes]) -> int:
    return len(canonical({"t": "ops", "ops": ops}))


def group(label: str, first: int, sizes: list[int], body: int) -> list[bytes]:
    """Ops `first`, `first` + 1, .. of about the given sizes, the first one grown so that
    one ops frame holding them all has a body of exactly `body` bytes."""
    ops = [padded(label, first + i, n) for i, n in enumerate(sizes)]
    grown = sizes[0] + body - ops_body_size(ops)
    return [padded(label, first, grown), *ops[1:]]


def greedy(ops: list[bytes]) -> list[list[bytes]]:
    """Section 4.2: each frame takes as many of the next ops as keep its body within 1 MiB."""
    out: list[list[bytes]] = []
    for op in ops:
        if out and ops_body_size([*out[-1], op]) <= MAX_FRAME:
            out[-1].append(op)
        else:
            out.append([op])
    return out


@check("MESH-008", "MESH-009", "MESH-011")
def check_ops_frames_filled_to_the_limit(impl: Impl) -> None:
    """Pushed ops fill each frame up to a body of exactly 1,048,576 bytes, never beyond."""
    # 23 ops (an array head of one byte) filling a frame exactly, 24 ops (a head of two
    # bytes) one byte over it, and an op of 1,040,000 bytes that takes a frame alone, in
    # both orders: the first frame and a later one each meet both edges
    def edges(label: str, exact_first: bool) -> list[bytes]:
        exact = group(f"{label}/exact", 0 if exact_first else 100, [45_000] * 23, MAX_FRAME)
        over = group(f"{label}/over", 100 if exact_first else 0, [43_000] * 24, MAX_FRAME + 1)
        return [*exact, padded(label, 50, 1_040_000), *over]

    exact = group("exact", 0, [45_000] * 23, MAX_FRAME)
    over = group("over", 0, [43_000] * 24, MAX_FRAME + 1)
    cases = {
        "a frame of exactly 1 MiB, then a frame of one op, then 24 ops one byte over 1 MiB":
            edges("one", True),
        "24 ops one byte over 1 MiB, then a frame of one op, then a frame of exactly 1 MiB":
            edges("two", False),
        "one op alone in a frame of exactly 1 MiB": group("alone", 0, [1_000_000], MAX_FRAME),
    }
    for what, ops in cases.items():
        out = impl.ok("mesh.reconcile", {"a": [], "b": [x.hex() for x in ops],
                                         "salt": derive("limit", 16).hex(), "trace": True})
        sent = [bytes.fromhex(f["frame"]) for f in out["trace"] if f["from"] == "b"]
        pushed = [x for x in sent if cbor2.loads(x[4:]).get("t") == "ops"]
        want = [frame({"t": "ops", "ops": batch}) for batch in greedy(sorted(ops, key=key))]
        expect(pushed == want, f"{what}: {len(pushed)} ops frames of "
                               f"{[len(x) - 4 for x in pushed]} bytes, the greedy packing of "
                               f"section 4.2 gives {[len(x) - 4 for x in want]}")
    # a frame of exactly 1 MiB is a frame; one byte more is refused, whole body present or not
    out = impl.ok("mesh.decode_frame", {"frame": frame({"t": "ops", "ops": exact}).hex()})
    expect(out.get("t") == "ops" and out.get("length") == MAX_FRAME and out.get("ops") == 23,
           f"a valid ops frame of exactly 1 MiB decodes to {out}")
    impl.err("mesh.decode_frame", {"frame": frame({"t": "ops", "ops": over}).hex()},
             "E_MESH_FRAME")
    # the largest op that travels alone is 1,048,559 bytes (body n + 17): one byte more
    # cannot be pushed in any ops frame and is refused with E_CBOR_LIMIT
    alone = padded("too-large", 0, MAX_FRAME - 16)
    expect(ops_body_size([alone]) == MAX_FRAME + 1, "the oversized op's frame body")
    impl.err("mesh.reconcile", {"a": [], "b": [alone.hex()], "salt": derive("limit", 16).hex()},
             "E_CBOR_LIMIT")

@check("MESH-003", "MESH-004", "MESH-005", "MESH-006")
@given(bad_v=st.booleans(), bad_root=st.booleans(), bad_rules=st.booleans(),
       name=st.sampled_from(["root", "other", "third"]))
def check_handshake_order(impl: Impl, bad_v: bool, bad_root: bool, bad_rules: bool,
                          name: str) -> None:
    """The rules hash is BLAKE3 of the harness's document; mismatches refused in order."""
    root = did(name)
    doc = rules_document(root)
    got = impl.ok("mesh.rules", {"root": root})
    expect(got["document"] == doc.hex(), "the mesh-rules document differs from section 3.1")
    expect(got["hash"] == blake3.blake3(doc).hexdigest(), "the rules hash is not BLAKE3")
    hello = {"t": "hello", "v": 2 if bad_v else 1, "root": did("elsewhere") if bad_root else root,
             "rules": derive("rules") if bad_rules else blake3.blake3(doc).digest(),
             "node": derive("peer")}
    response = impl.call("mesh.handshake", {"root": root, "frame": frame(hello).hex()})
    want = ("E_MESH_VERSION" if bad_v else "E_MESH_ROOT_MISMATCH" if bad_root
            else "E_MESH_RULES_MISMATCH" if bad_rules else None)
    if want is None:
        expect(response.ok and response.result == {"peer": derive("peer").hex()},
               f"a matching hello was refused: {response.error}")
    else:
        expect(not response.ok and response.code == want,
               f"expected {want}, got {response.code if not response.ok else 'accepted'}")


# --- receiving (section 6.1) -----------------------------------------------------------------


def delegation(name: str, wall: int) -> bytes:
    token = make_token("root", name, (ALL,), (), T0 - 1000, None, label="mesh")
    return Author(seed("root")).op({"type": "DelegateUcan", "token": token.data}, wall)


def ingest(label: str) -> dict[str, Any]:
    return {"type": "IngestEvidence", "evidence": record_id("ev", T0, label),
            "hash": derive("content/" + label), "anchor": label, "source_type": "calendar",
            "metadata": {}}


@check("MESH-025", "MESH-026")
@given(position=st.integers(0, 10**6), bit=st.integers(0, 7), stranger=st.booleans())
def check_received_ops_verified(impl: Impl, position: int, bit: int, stranger: bool) -> None:
    """A corrupted op or one of an undelegated key is never applied; a sound one is."""
    sound = Author(seed("alpha")).op(ingest(f"sound/{position}"), T0 + 10)
    data = bytearray(Author(seed("alpha")).op(ingest(f"bad/{position}"), T0 + 20))
    data[position % len(data)] ^= 1 << bit
    outsider = Author(seed("stranger")).op(ingest(f"s/{position}"), T0 + 30)
    events = [{"op": delegation("alpha", T0).hex(), "now_ms": NOW},
              {"op": sound.hex(), "now_ms": NOW},
              {"op": (outsider if stranger else bytes(data)).hex(), "now_ms": NOW}]
    out = impl.ok("mesh.receive", {"root": did("root"), "seed": derive("receiver").hex(),
                                   "events": events})
    statuses = [r["status"] for r in out["results"]]
    expect(statuses[:2] == ["applied", "applied"], f"sound ops were not applied: {statuses}")
    bad = outsider if stranger else bytes(data)
    expect(statuses[2] in ("refused", "held"), f"an unverifiable op was {statuses[2]}")
    expect(blake3.blake3(bad).hexdigest() not in out["ops"], "an unverifiable op was applied")
    if stranger:
        expect(out["results"][2]["code"] == "E_UCAN_PROOF_MISSING",
               f"an undelegated author's op: {out['results'][2]['code']}")


# --- entity merges (section 7) ---------------------------------------------------------------


@st.composite
def merge_scenarios(draw: st.DrawFn) -> tuple[list[bytes], list[tuple[Any, ...]]]:
    """Entities created by three authors and merges among them, many in the same millisecond."""
    n = draw(st.integers(2, 5))
    authors = [Author(seed(f"m{i}")) for i in range(3)]
    ents = [record_id("ent", T0, f"e{i}/{draw(st.integers(0, 3))}") for i in range(n)]
    ents = list(dict.fromkeys(ents))
    ops: list[bytes] = []
    model: list[tuple[str, tuple[int, int, bytes], Any]] = []
    for i, e in enumerate(ents):
        a = authors[i % 3]
        wall = T0 + 10 * i
        ops.append(a.op({"type": "CreateEntity", "entity": e, "kind": "person",
                         "attributes": {}, "supports": []}, wall, 0))
        model.append(("create", (wall, 0, a.node), e))
    for j in range(draw(st.integers(0, 8))):
        # sources drawn mostly from the first two entities: concurrent merges of one source
        s = draw(st.sampled_from(ents[:2] * 3 + ents))
        t = draw(st.sampled_from([e for e in ents if e != s]))
        a = authors[draw(st.integers(0, 2))]
        wall = T0 + draw(st.sampled_from([100, 100, 100, 101, 15, -5]))
        ops.append(a.op({"type": "MergeEntity", "source": s, "target": t, "supports": []},
                        wall, j + 1))
        model.append(("merge", (wall, j + 1, a.node), (s, t)))
    return ops, model


def model_resolution(model: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Section 7: merges in the total order, the first of each source; smallest of each class."""
    states: dict[bytes, str] = {}
    merges: list[tuple[bytes, bytes]] = []
    for kind, _, what in sorted(model, key=lambda m: m[1]):
        if kind == "create":
            states.setdefault(what, "Active")
        elif states.get(what[0]) == "Active" and what[1] in states:
            states[what[0]] = "Merged"
            merges.append(what)
    parent = {e: e for e in states}

    def find(x: bytes) -> bytes:
        while parent[x] != x:
            x = parent[x]
        return x

    for s, t in merges:
        ra, rb = find(s), find(t)
        parent[max(ra, rb)] = min(ra, rb)
    return {e.hex(): (states[e], find(e).hex()) for e in states}


@check("MESH-032", "MESH-033")
@given(scenario=merge_scenarios(), order=st.randoms(use_true_random=False))
def check_merges_independent_of_order(impl: Impl, scenario: tuple[list[bytes], list[Any]],
                                      order: random.Random) -> None:
    """Any order of the same ops gives the harness's resolution, cycles and ties included."""
    ops, model = scenario
    want = model_resolution(model)
    for _ in range(3):
        shuffled = list(ops)
        order.shuffle(shuffled)
        out = impl.ok("mesh.resolve_merges", {"ops": [o.hex() for o in shuffled], "now_ms": NOW})
        got = {e["id"]: (e["state"], e["representative"]) for e in out["entities"]}
        expect(got == want, f"the resolution differs from section 7's: {got} != {want}")
