"""Property checks of chapter 11, the data engine (spec/11-data-engine.md).

The harness's oracles are written from the spec text alone: the reference embedding
(section 3), brute-force exact search (4.3), leader clustering (4.7) and the salience
steps (4.8). Ops are built and signed here with cbor2 and pynacl (spec/03 section 6,
spec/06 section 7); record ids draw their bytes at random, so id order and creation
order disagree and the tie rules are exercised.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import blake3
import cbor2
import nacl.signing
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect

BASE_MS = 1_700_000_000_000
NOW_MS = BASE_MS + 10_000_000
MODEL = "harness-4d"
ATOL = RTOL = 1e-6
ART = 0x06

# --- ops -------------------------------------------------------------------------------


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _canonical(value: Any) -> bytes:
    return bytes(cbor2.dumps(value, canonical=True))


class Log:
    """One author's signed ops with ascending timestamps (spec/03 section 6)."""

    def __init__(self, seed: bytes) -> None:
        self.key = nacl.signing.SigningKey(seed)
        self.node = bytes(self.key.verify_key.encode())
        self.ops: list[bytes] = []

    def add(self, payload: dict[str, Any]) -> bytes:
        wall = BASE_MS + len(self.ops) + 1
        op_id = b"\x01" + wall.to_bytes(6, "big") + blake3.blake3(
            self.node + wall.to_bytes(8, "big")).digest(length=10)
        env: dict[str, Any] = {"v": 1, "id": op_id, "author": self.node,
                               "ts": [wall, 0, self.node], "payload": payload, "sig": None}
        header = _b64u(('{"alg":"EdDSA","kid":"' + self.node.hex() + '"}').encode("ascii"))
        signing_input = (header + "." + _b64u(_canonical(env))).encode("ascii")
        env["sig"] = bytes(self.key.sign(signing_input).signature)
        self.ops.append(_canonical(env))
        return payload.get("event", b"")  # type: ignore[no-any-return]

    def hex(self, order: list[int] | None = None) -> list[str]:
        idx = order if order is not None else list(range(len(self.ops)))
        return [self.ops[i].hex() for i in idx]


def art(raw: bytes) -> bytes:
    """An ArtifactId from 16 drawn bytes (48-bit time, 80 random bits)."""
    return bytes([ART]) + raw


def content(log: Log, record: bytes, supports: list[bytes] | None = None) -> bytes:
    return log.add({"type": "EngineContentReceived", "event": record, "text": "t",
                    "supports": sorted(supports or [])})


def embed(log: Log, record: bytes, subject: bytes, vector: bytes, model: str = MODEL) -> bytes:
    return log.add({"type": "EngineEmbeddingGenerated", "event": record, "subject": subject,
                    "model": model, "vector": vector, "supports": [subject]})


def run(impl: Impl, ops: list[str], queries: list[dict[str, Any]]) -> list[Any]:
    out = impl.ok("engine.run", {"ops": ops, "now_ms": NOW_MS, "queries": queries})
    return list(out["answers"])


# --- oracles (sections 3, 4.3, 4.7, 4.8) ---------------------------------------------------


def f32(x: float) -> float:
    return float(struct.unpack(">f", struct.pack(">f", x))[0])


def floats(hex_text: str) -> list[float]:
    raw = bytes.fromhex(hex_text)
    return list(struct.unpack(f">{len(raw) // 4}f", raw))


def close(a: float, e: float) -> bool:
    return abs(a - e) <= ATOL + RTOL * abs(e)


def oracle_embed(text: str) -> bytes:
    """Section 3 from its text: trigrams of 02 || UTF-8 || 03, BLAKE3 slots, L2 norm."""
    padded = b"\x02" + text.encode("utf-8") + b"\x03"
    grams = [padded[i:i + 3] for i in range(len(padded) - 2)] or [padded]
    counts = [0] * 256
    for gram in grams:
        h = blake3.blake3(gram).digest()
        counts[int.from_bytes(h[:4], "little") % 256] += -1 if h[4] & 1 else 1
    total = sum(c * c for c in counts)
    if total == 0:
        return struct.pack(">256f", 1.0, *([0.0] * 255))
    norm = math.sqrt(total)
    return struct.pack(">256f", *[f32(c / norm) for c in counts])


def normalise(xs: list[float]) -> bytes:
    norm = math.sqrt(sum(x * x for x in xs))
    return struct.pack(f">{len(xs)}f", *[f32(x / norm) for x in xs])


def dot(a: list[float], b: list[float]) -> float:
    acc = 0.0
    for x, y in zip(a, b, strict=True):
        acc += x * y
    return acc


def oracle_clusters(entries: list[tuple[bytes, list[float]]]) -> list[list[bytes]]:
    """Leader clustering of section 4.7: members of each cluster, in founding order."""
    clusters: list[dict[str, Any]] = []
    for record, v in entries:
        best, best_score = None, -math.inf
        for c in clusters:
            s = dot(v, c["centroid"])
            if s > best_score or (s == best_score and c["id"] < best["id"]):  # type: ignore
                best, best_score = c, s
        if best is None or best_score < 0.8:
            clusters.append({"id": record, "members": [record], "sums": list(v),
                             "centroid": list(v)})
            continue
        best["members"].append(record)
        best["sums"] = [s + x for s, x in zip(best["sums"], v, strict=True)]
        sq = 0.0
        for s in best["sums"]:
            sq += s * s
        norm = math.sqrt(sq)
        best["centroid"] = [f32(s / norm) for s in best["sums"]]
    return [c["members"] for c in clusters]


def oracle_salience(nodes: list[bytes], edges: set[tuple[bytes, bytes]],
                    inputs: dict[bytes, float], steps: int) -> list[float]:
    """Section 4.8's table, step by step."""
    nbrs = {n: sorted({b for a, b in edges if a == n} | {a for a, b in edges if b == n})
            for n in nodes}
    p = {n: 0.0 for n in nodes}
    for _ in range(steps):
        nxt = {}
        for n in nodes:
            x = p[n]
            lp = float(len(nbrs[n])) * x
            for m in nbrs[n]:
                lp = lp - p[m]
            delta = (((-(0.1 * lp)) - 1.0 * x) + (0.5 * x) * (1.0 - x)) + inputs.get(n, 0.0)
            y = x + 0.1 * delta
            nxt[n] = min(1.0, max(0.0, y))
        p = nxt
    return [p[n] for n in nodes]


# --- strategies ------------------------------------------------------------------------

seeds = st.binary(min_size=32, max_size=32)
ids16 = st.binary(min_size=16, max_size=16)
lattice = st.lists(st.integers(min_value=-2, max_value=2), min_size=4, max_size=4).filter(
    any)


# --- checks ---------------------------------------------------------------------------


@check("ENG-017", "ENG-018", "ENG-019", "ENG-020")
@given(text=st.one_of(st.text(max_size=120), st.sampled_from(["", "'J", "a", "é", "🌊"])))
def check_embed_matches_oracle(impl: Impl, text: str) -> None:
    """engine.embed equals the harness's own implementation of section 3, bit for bit."""
    out = impl.ok("engine.embed", {"text": text})
    expect(out.get("shape") == [256] and out.get("model") == "strata-ngram-256-v1",
           f"shape/model {out.get('shape')} {out.get('model')}")
    expect(out.get("f32") == oracle_embed(text).hex(), f"embedding of {text!r} differs")


@check("ENG-015", "ENG-023", "ENG-024", "ENG-026", "ENG-027")
@given(seed=seeds, items=st.lists(st.tuples(lattice, ids16, st.booleans()), min_size=1,
                                  max_size=12),
       query=lattice, k=st.integers(min_value=1, max_value=14))
def check_search_matches_brute_force(impl: Impl, seed: bytes,
                                     items: list[tuple[list[int], bytes, bool]],
                                     query: list[int], k: int) -> None:
    """search equals a brute-force exact ranking: score desc, then id bytes ascending."""
    assume(len({i for _, i, _ in items}) == len(items))
    log = Log(seed)
    stored: list[tuple[bytes, list[float]]] = []
    for n, (xs, raw, other_model) in enumerate(items):
        c = content(log, art(b"\xff" + raw[1:6] + bytes([n]) + raw[7:]))
        vec = normalise([float(x) for x in xs])
        e = embed(log, art(raw), c, vec, "harness-other" if other_model else MODEL)
        if not other_model:
            stored.append((e, floats(vec.hex())))
    q = normalise([float(x) for x in query])
    qf = floats(q.hex())
    want = sorted(((dot(v, qf), r) for r, v in stored), key=lambda t: (-t[0], t[1]))[:k]
    answer = run(impl, log.hex(), [{"query": "search", "vector": q.hex(), "model": MODEL,
                                    "k": k}])[0]
    got_ids = [bytes.fromhex(r["id"]) for r in answer["results"]]
    expect(got_ids == [r for _, r in want],
           f"ranking {[i.hex()[-8:] for i in got_ids]} != {[r.hex()[-8:] for _, r in want]} "
           "(last 4 bytes of each id)")
    got = floats(answer["scores"]["f32"])
    expect(all(close(a, e) for a, (e, _) in zip(got, want, strict=True)),
           f"scores {got} != {[s for s, _ in want]}")


@check("ENG-021", "ENG-032", "ENG-033", "ENG-035")
@given(seed=seeds, items=st.lists(st.tuples(st.integers(min_value=0, max_value=35), ids16),
                                  min_size=1, max_size=10),
       order=st.randoms(use_true_random=False))
def check_clusters_independent_of_delivery(impl: Impl, seed: bytes,
                                           items: list[tuple[int, bytes]], order: Any) -> None:
    """Clusters are the same for any delivery order, and equal the leader-clustering oracle."""
    assume(len({i for _, i in items}) == len(items))
    log = Log(seed)
    entries = []
    for n, (step, raw) in enumerate(items):
        angle = math.radians(step * 10)
        vec = normalise([math.cos(angle), math.sin(angle), 0.0, 0.0])
        c = content(log, art(b"\xfe" + raw[1:6] + bytes([n]) + raw[7:]))
        entries.append((embed(log, art(raw), c, vec), floats(vec.hex())))
    permutation = list(range(len(log.ops)))
    order.shuffle(permutation)
    first = run(impl, log.hex(), [{"query": "clusters"}])[0]
    again = run(impl, log.hex(permutation), [{"query": "clusters"}])[0]
    expect(first == again, "clusters depend on the order the ops were delivered in")
    members = [[bytes.fromhex(m) for m in c["members"]] for c in first["clusters"]]
    expect(members == oracle_clusters(entries), "clusters differ from the section 4.7 oracle")


@check("ENG-036", "ENG-037", "ENG-038")
@given(seed=seeds, shape=st.lists(st.tuples(ids16, st.lists(st.integers(0, 20), max_size=3),
                                            st.one_of(st.none(),
                                                      st.floats(-1.0, 1.0, width=32))),
                                  min_size=1, max_size=7),
       steps=st.integers(min_value=0, max_value=40), order=st.randoms(use_true_random=False))
def check_salience_matches_oracle(impl: Impl, seed: bytes,
                                  shape: list[tuple[bytes, list[int], float | None]],
                                  steps: int, order: Any) -> None:
    """Salience follows section 4.8's steps, and does not depend on delivery order."""
    assume(len({r for r, _, _ in shape}) == len(shape))
    log = Log(seed)
    nodes: list[bytes] = []
    edges: set[tuple[bytes, bytes]] = set()
    inputs: dict[bytes, float] = {}
    for raw, parents, rating in shape:
        record = art(raw)
        supports = sorted({nodes[p % len(nodes)] for p in parents} if nodes else set())
        content(log, record, supports)
        edges |= {(min(record, s), max(record, s)) for s in supports}
        nodes.append(record)
        if rating is not None:
            log.add({"type": "EngineFeedbackReceived", "event": art(blake3.blake3(raw).digest(16)),
                     "subject": record, "rating": float(rating), "supports": [record]})
            inputs[record] = inputs.get(record, 0.0) + float(rating)
    ordered = sorted(nodes)
    want = oracle_salience(ordered, edges, inputs, steps)
    answer = run(impl, log.hex(), [{"query": "salience", "steps": steps}])[0]
    expect([bytes.fromhex(n) for n in answer["nodes"]] == ordered, "salience nodes differ")
    got = floats(answer["salience"]["f32"])
    expect(all(close(a, f32(e)) for a, e in zip(got, want, strict=True)),
           f"salience {got} != {want}")
    permutation = list(range(len(log.ops)))
    order.shuffle(permutation)
    again = run(impl, log.hex(permutation), [{"query": "salience", "steps": steps}])[0]
    expect(again == answer, "salience depends on the order the ops were delivered in")


@check("ENG-022", "ENG-023")
@given(seed=seeds, items=st.lists(st.tuples(lattice, ids16), min_size=2, max_size=8),
       victim=st.integers(min_value=0), via_evidence=st.booleans())
def check_tombstone_excludes(impl: Impl, seed: bytes, items: list[tuple[list[int], bytes]],
                             victim: int, via_evidence: bool) -> None:
    """A tombstoned record's embedding leaves search and clusters, and its content salience."""
    assume(len({i for _, i in items}) == len(items))
    log = Log(seed)
    contents, embeds = [], []
    for n, (xs, raw) in enumerate(items):
        evidence = bytes([0x02]) + raw[:6] + blake3.blake3(raw).digest(10)
        log.add({"type": "IngestEvidence", "evidence": evidence, "hash": bytes(32),
                 "anchor": f"a{n}", "source_type": "note", "metadata": {}})
        c = content(log, art(b"\xfd" + raw[1:6] + bytes([n]) + raw[7:]), [evidence])
        contents.append((evidence, c))
        embeds.append(embed(log, art(raw), c, normalise([float(x) for x in xs])))
    v = victim % len(items)
    evidence, c = contents[v]
    if via_evidence:
        log.add({"type": "TombstoneEvidence", "evidence": evidence, "reason": "x",
                 "cascade": []})
    else:
        log.add({"type": "CascadeTombstone", "root": c, "reason": "x", "cascade": [embeds[v]]})
    search, clusters, sal = run(impl, log.hex(), [
        {"query": "search", "vector": normalise([1.0, 0.0, 0.0, 0.0]).hex(), "model": MODEL,
         "k": 20}, {"query": "clusters"}, {"query": "salience", "steps": 1}])
    found = {r["id"] for r in search["results"]}
    expect(embeds[v].hex() not in found, "a tombstoned embedding is still searchable")
    expect(found == {e.hex() for i, e in enumerate(embeds) if i != v},
           "search lost a live embedding")
    members = {m for cl in clusters["clusters"] for m in cl["members"]}
    expect(embeds[v].hex() not in members, "a tombstoned embedding is still clustered")
    expect(c.hex() not in sal["nodes"] and (not via_evidence or evidence.hex() not in
                                            sal["nodes"]), "a tombstoned record has salience")


BAD = "E_PAYLOAD_INVALID"
DEFECTS: list[tuple[str, str, dict[str, Any], str]] = [
    ("ENG-002", "score as integer", {"type": "EngineConfidenceCalculated", "score": 1}, BAD),
    ("ENG-002", "score above 1", {"type": "EngineConfidenceCalculated", "score": 1.5}, BAD),
    ("ENG-003", "rating below -1", {"type": "EngineFeedbackReceived", "rating": -2.0}, BAD),
    ("ENG-004", "negative weight", {"type": "EnginePatternStrengthened", "weight": -0.5}, BAD),
    ("ENG-005", "ragged vector", {"type": "EngineEmbeddingGenerated", "vector": bytes(5)}, BAD),
    ("ENG-006", "vector not unit", {"type": "EngineEmbeddingGenerated",
                                    "vector": struct.pack(">4f", 0.5, 0, 0, 0)}, BAD),
    ("ENG-009", "k zero", {"type": "EngineSimilaritySearchStarted", "k": 0}, BAD),
    ("ENG-010", "subject not in supports", {"type": "EngineFeedbackReceived",
                                            "subject": bytes([ART]) + b"\xee" * 16}, BAD),
    ("ENG-011", "reference model, 4 components", {"type": "EngineEmbeddingGenerated",
                                                  "model": "strata-ngram-256-v1"}, BAD),
    ("ENG-001", "unlisted Engine type", {"type": "EngineNope"}, "E_PAYLOAD_TYPE"),
]


def _base(variant: str, subject: bytes, event: bytes) -> dict[str, Any]:
    unit4 = normalise([1.0, 0.0, 0.0, 0.0])
    fields: dict[str, dict[str, Any]] = {
        "EngineConfidenceCalculated": {"subject": subject, "score": 0.5},
        "EngineFeedbackReceived": {"subject": subject, "rating": 0.5},
        "EnginePatternStrengthened": {"cluster": subject, "weight": 1.0},
        "EngineEmbeddingGenerated": {"subject": subject, "model": MODEL, "vector": unit4},
        "EngineSimilaritySearchStarted": {"query": "q", "model": MODEL, "vector": unit4, "k": 1},
    }
    extra = fields.get(variant, {})
    supports = [subject] if ("subject" in extra or "cluster" in extra) else []
    return {"type": variant, "event": event, **extra, "supports": supports}


@check("ENG-001", "ENG-002", "ENG-003", "ENG-004", "ENG-005", "ENG-006", "ENG-009", "ENG-010",
       "ENG-011")
@given(seed=seeds, index=st.integers(min_value=0, max_value=len(DEFECTS) - 1), raw=ids16)
def check_invalid_payloads_rejected(impl: Impl, seed: bytes, index: int, raw: bytes) -> None:
    """A payload with one defect of section 2 is rejected with its code."""
    _, what, change, code = DEFECTS[index]
    log = Log(seed)
    subject = content(log, art(raw))
    payload = {**_base(change["type"], subject, art(blake3.blake3(raw).digest(16))), **change}
    if change["type"] == "EngineNope":
        payload = {"type": "EngineNope"}
    log.add(payload)
    response = impl.call("engine.run", {"ops": log.hex(), "now_ms": NOW_MS, "queries": []})
    expect(not response.ok and response.code == code,
           f"{what}: expected {code}, got {response.code if not response.ok else 'ok'}")
