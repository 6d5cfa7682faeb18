"""Vectors of chapter 11, the data engine (spec/11-data-engine.md).

Ops are signed by `OpFactory` authors derived from labels (tools/vectorgen/_ops.py). Hand
made vectors use small test models (`test-4d`: 4 components) so every score is easy
to check by hand; reference-model cases embed texts with section 3. Before a case is
written, `check_margins` recomputes every decision it pins (rank order, the cut at k,
the 0.5 and 0.8 thresholds, the cluster choice) and fails generation unless each
margin exceeds MARGIN (ten times the tolerance): an implementation within the
tolerance then makes the same decisions.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import attrs
import blake3

import reference.driver.engine  # noqa: F401  (registers the engine.* commands)
from reference import oplog
from reference.engine import embedding, patterns, projection
from reference.identifiers import IdKind
from tools.vectorgen import Case, GenerationError, Result, VectorFile
from tools.vectorgen._ops import BASE_MS, OpFactory, derive

FOLDER = "engine"
CHAPTER = "11-data-engine"
TOLERANCE = {"atol": 1e-6, "rtol": 1e-6}
MARGIN = 1e-5  # every pinned decision's margin must exceed this (10x the tolerance)
NOW_MS = BASE_MS + 10_000_000  # after every op: nothing is held for drift
REF = embedding.MODEL_ID
T4 = "test-4d"
MAX_PRIORS = 255  # the bound b of the ranked(0, 255) field `priors` (section 2.1)
MAX_EDGES = 4096  # the bound of a `graph` field (section 2.2)


# --- building ops -----------------------------------------------------------------------


def unit(*xs: float) -> bytes:
    """`xs` divided by its float64 norm, rounded to binary32, as vector bytes."""
    norm = math.sqrt(sum(x * x for x in xs))
    return embedding.encode_vector([embedding.round_f32(x / norm) for x in xs])


def text_vector(text: str) -> bytes:
    return embedding.encode_vector(embedding.compute_embedding(text))


class Script:
    """The ops of one case, from one author, in timestamp order."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.factory = OpFactory(f"engine/{label}")
        self.ops: list[bytes] = []
        self.n = 0

    def rid(self, rank: int | None = None, kind: IdKind = IdKind.ARTIFACT) -> bytes:
        """A fresh record id; with `rank`, one whose bytes sort by `rank`, not by creation."""
        if rank is None:
            return self.factory.new_id(kind)
        self.n += 1
        return (bytes([kind]) + (BASE_MS + rank).to_bytes(6, "big")
                + derive(f"engine/{self.label}/rank/{self.n}", 10))

    def emit(self, payload: dict[str, Any]) -> bytes:
        self.ops.append(self.factory.op(payload))
        return payload.get("event", b"")  # type: ignore[no-any-return]

    def evidence(self, anchor: str) -> bytes:
        record = self.rid(kind=IdKind.EVIDENCE)
        self.emit({"type": "IngestEvidence", "evidence": record,
                   "hash": derive(f"{self.label}/{anchor}"), "anchor": anchor,
                   "source_type": "note", "metadata": {}})
        return record

    def content(self, text: str, supports: Sequence[bytes] = (), rank: int | None = None
                ) -> bytes:
        return self.emit({"type": "EngineContentReceived", "event": self.rid(rank),
                          "text": text, "supports": sorted(supports)})

    def embed(self, subject: bytes, vector: bytes, model: str = T4, rank: int | None = None
              ) -> bytes:
        return self.emit({"type": "EngineEmbeddingGenerated", "event": self.rid(rank),
                          "subject": subject, "model": model, "vector": vector,
                          "supports": [subject]})

    def item(self, vector: bytes, model: str = T4, rank: int | None = None,
             text: str = "item") -> tuple[bytes, bytes]:
        """Content and its embedding: (content id, embedding id)."""
        c = self.content(text)
        return c, self.embed(c, vector, model, rank)

    def search(self, query: str, vector: bytes, k: int, model: str = T4) -> bytes:
        return self.emit({"type": "EngineSimilaritySearchStarted", "event": self.rid(),
                          "query": query, "model": model, "vector": vector, "k": k,
                          "supports": []})

    def note(self, variant: str, subject: bytes, value: float, key: str) -> bytes:
        return self.emit({"type": variant, "event": self.rid(), "subject": subject,
                          key: value, "supports": [subject]})

    def hex_ops(self) -> list[str]:
        return [op.hex() for op in self.ops]


# --- margins ------------------------------------------------------------------------------


def _view(ops: Sequence[str]) -> projection.EngineProjection:
    log = oplog.OpLog()
    for op in ops:
        log.append(bytes.fromhex(op), NOW_MS)
    return projection.EngineProjection.from_log(log)


def _gaps(scores: Sequence[float], k: int, what: str) -> None:
    """Neighbouring scores up to the cut at k (the order and the cut) are equal or differ by
    more than MARGIN."""
    for a, b in list(zip(scores, scores[1:], strict=False))[:k]:
        if a != b and a - b <= MARGIN:
            raise GenerationError(f"{what}: scores {a!r} and {b!r} are closer than {MARGIN}")


def _threshold(value: float, threshold: float, what: str) -> None:
    """A score near a threshold fails generation, unless it equals the threshold exactly: the
    scores are exact float64 sums (ENG-026), so such a case pins the inclusive comparison."""
    if value != threshold and abs(value - threshold) <= MARGIN:
        raise GenerationError(f"{what}: {value!r} is within {MARGIN} of {threshold}")


def check_margins(ops: Sequence[str], queries: Sequence[dict[str, Any]]) -> None:
    """Fail generation when a decision the case pins is closer than MARGIN to flipping."""
    view = _view(ops)
    for q in queries:
        kind = q["query"]
        if kind == "search":
            model, vec = (REF, text_vector(q["text"])) if "text" in q else (
                q["model"], bytes.fromhex(q["vector"]))
            hits = view.search(model, vec, 10_000)
            _gaps([h.score for h in hits], q["k"], f"search {q}")
        if kind == "priors":
            record = bytes.fromhex(q["search"])
            search = view.get_search(record)
            if search is not None:
                hits = view.store.search(search.model, search.vector, 10_000,
                                         before=projection._key(view.creator[record]))
                _gaps([h.score for h in hits], search.k, f"priors {q}")
                for h in hits:
                    _threshold(h.score, projection.PRIOR_SCORE, f"priors {q}")
        if kind == "clusters":
            _cluster_margins(view)


def _cluster_margins(view: projection.EngineProjection) -> None:
    groups: dict[tuple[str, int], list[patterns.Cluster]] = {}
    for op in view.created_ops("EngineEmbeddingGenerated"):
        payload: Any = op.payload
        vector = embedding.decode_vector(payload.vector)
        group = groups.setdefault((payload.model, len(vector)), [])
        scores = sorted((embedding.compute_dot(vector, c.centroid) for c in group),
                        reverse=True)
        for s in scores:
            _threshold(s, patterns.JOIN_SCORE, "cluster join")
        if len(scores) > 1 and scores[0] >= patterns.JOIN_SCORE and scores[0] != scores[1]:
            if scores[0] - scores[1] <= MARGIN:
                raise GenerationError(f"cluster choice: {scores[0]!r} vs {scores[1]!r}")
        patterns.assign(group, payload.event, payload.model, vector)
    for group in groups.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                _threshold(embedding.compute_dot(a.centroid, b.centroid),
                           patterns.TOPOLOGY_SCORE, "topology")


# --- cases -----------------------------------------------------------------------------


def case(case_id: str, requirements: tuple[str, ...], description: str, command: str,
         args: dict[str, Any], result: Result = "valid", comment: str | None = None,
         error: str | None = None) -> Case:
    """A Case, with the f32 tolerance when the vector format's Case carries one."""
    extra: dict[str, Any] = {}
    if "tolerance" in attrs.fields_dict(Case) and result == "valid":
        extra["tolerance"] = TOLERANCE
    return Case(case_id, requirements, description, command, args, result, comment, error,
                **extra)


def run_case(case_id: str, requirements: tuple[str, ...], description: str, script: Script,
             queries: list[Any], result: Result = "valid",
             comment: str | None = None, error: str | None = None,
             ops: list[str] | None = None) -> Case:
    hex_ops = script.hex_ops() if ops is None else ops
    if result == "valid":
        check_margins(hex_ops, queries)
    return case(case_id, requirements, description, "engine.run",
                {"ops": hex_ops, "now_ms": NOW_MS, "queries": queries}, result, comment, error)


OPS_COMMENT = ("Ops are signed by an author whose Ed25519 seed is "
               "blake3(b'strata/vectors/engine/<case label>/seed'); record ids are ArtifactIds "
               "(kind 0x06) whose 48-bit time is the author's clock, or BASE_MS + rank where a "
               "case needs ids that sort differently from creation order, followed by 10 "
               "bytes of BLAKE3 XOF output of a label. test-4d vectors are the listed values "
               "divided by their float64 norm and rounded to binary32.")


def f32_hex(values: Sequence[float]) -> str:
    return struct.pack(f">{len(values)}f", *values).hex()


def deg(angle: float) -> bytes:
    """The test-4d unit vector (cos, sin, 0, 0) of an angle in degrees."""
    r = math.radians(angle)
    return unit(math.cos(r), math.sin(r), 0.0, 0.0)


# --- embed.json -------------------------------------------------------------------------


EMBED_TEXTS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("empty", "", "the empty text: one gram, the padding 02 03", ("ENG-017", "ENG-019")),
    ("one-byte", "a", "one byte: padded to exactly one 3-byte gram", ("ENG-017", "ENG-019")),
    ("abc", "abc", "three grams with distinct slots (section 3.4)", ("ENG-017", "ENG-018")),
    ("hello-hello", "hello hello", "repeated grams count twice (section 3.4)",
     ("ENG-017", "ENG-018", "ENG-019")),
    ("two-byte-utf8", "é", "a 2-byte UTF-8 character: grams over bytes, not characters",
     ("ENG-017", "ENG-019")),
    ("cjk-and-emoji", "知識は力なり 🌊", "3- and 4-byte UTF-8 sequences",
     ("ENG-017", "ENG-018", "ENG-019")),
    ("padding-bytes-inside", "\u0002x\u0003", "the text itself holds 0x02 and 0x03",
     ("ENG-017",)),
    ("all-cancel", "'J", "both grams land on index 92 with opposite signs: the first basis "
     "vector", ("ENG-018", "ENG-020")),
    ("long", "the quick brown fox jumps over the lazy dog. " * 45,
     "2,025 bytes: counts far from 0 and 1", ("ENG-018", "ENG-019")),
    ("whitespace", " \t\n", "control and space bytes are ordinary bytes", ("ENG-017",)),
]


def embed_cases() -> list[Case]:
    return [case(f"embed-{cid}", reqs, desc, "engine.embed", {"text": text})
            for cid, text, desc, reqs in EMBED_TEXTS]


# --- events.json ------------------------------------------------------------------------


def _one_of_each() -> Script:
    s = Script("events-valid")
    ev = s.evidence("doc-1")
    c = s.content("the cat sat on the mat", [ev])
    s.embed(c, text_vector("the cat sat on the mat"), REF)
    g = s.emit({"type": "EngineGenerationStarted", "event": s.rid(), "prompt": "where is the cat?",
                "model": "local-llm", "supports": [c]})
    r = s.emit({"type": "EngineResponseGenerated", "event": s.rid(), "subject": g,
                "content": "on the mat", "supports": [g]})
    s.note("EngineConfidenceCalculated", r, 0.75, "score")
    s.emit({"type": "EnginePriorRelevanceAnalyzed", "event": s.rid(), "subject": r,
            "prior": c, "score": 1.0, "supports": sorted([r, c])})
    s.emit({"type": "EngineCitationQualityMeasured", "event": s.rid(), "subject": r,
            "cited": c, "score": 0.0, "supports": sorted([r, c])})
    s.emit({"type": "EnginePatternRecognized", "event": s.rid(), "label": "cats on mats",
            "model": "local-llm", "supports": sorted([c, r])})
    s.note("EngineFeedbackReceived", r, -1.0, "rating")
    s.emit({"type": "EngineContextUpdated", "event": s.rid(), "model": T4,
            "vector": unit(1, 1, 0, 0), "supports": [r]})
    s.search("cat", text_vector("cat"), 1024, REF)
    s.emit({"type": "EngineClusterFormed", "event": s.rid(), "cluster": c, "model": REF,
            "centroid": text_vector("the cat sat on the mat"), "supports": [c]})
    return s


def _put(value: Any, record: bytes) -> Any:
    """`value` with every "C" placeholder replaced by the content record's id."""
    if value == "C":
        return record
    if isinstance(value, list):
        return [_put(v, record) for v in value]
    return value


def _invalid(case_id: str, reqs: tuple[str, ...], desc: str, payload: dict[str, Any],
             code: str, with_content: bool = True) -> Case:
    """A run of one content op, then one op whose payload breaks one rule."""
    s = Script(f"events-{case_id}")
    c = s.content("x") if with_content else b""
    fields = {k: _put(v, c) for k, v in payload.items()}
    if "event" not in fields:
        fields = {"event": s.rid(), **fields}
    s.emit(fields)
    return run_case(f"invalid-{case_id}", reqs, desc, s, [], "invalid", OPS_COMMENT, code)


def events_cases() -> list[Case]:
    bad, v4 = "E_PAYLOAD_INVALID", unit(1, 0, 0, 0)
    s = _one_of_each()
    out = [run_case("valid-one-of-each", ("ENG-001", "ENG-010", "ENG-002", "ENG-003",
                                          "ENG-009", "ENG-011", "ENG-013"),
                    "one op of every recorded variant, at the bounds of its float fields "
                    "(score 0.0 and 1.0, rating -1.0, k 1024), and a derived "
                    "EngineClusterFormed whose strata-ngram-256-v1 centroid has 256 components; "
                    "every field and rule check passes", s,
                    [{"query": "citations", "id": _first_id(s, "IngestEvidence")},
                     {"query": "audits"}], comment=OPS_COMMENT)]
    edge = Script("events-norm-edge")
    c = edge.content("x")
    edge.embed(c, embedding.encode_vector([1.0, 2.0**-5]), "test-2d")
    edge.embed(c, embedding.encode_vector([1.0] + [0.0] * 4095), "test-4096d")
    edge.embed(c, embedding.encode_vector([1.0]), "test-1d")
    edge.emit({"type": "EnginePatternStrengthened", "event": edge.rid(), "cluster": c,
               "weight": 0.0, "supports": [c]})
    edge.note("EngineFeedbackReceived", c, 1.0, "rating")
    edge.search("x", v4, 1)
    edge.emit({"type": "EnginePriorsFound", "event": edge.rid(), "subject": c, "count": 0,
               "relevance": 0.0, "supports": [c]})
    edge.emit({"type": "EngineValueEvolved", "event": edge.rid(), "subject": c, "value": 0.0,
               "steps": 0, "supports": [c]})
    out.append(run_case("valid-bounds", ("ENG-003", "ENG-004", "ENG-005", "ENG-006",
                                         "ENG-009"),
                        "squared norm exactly 1 + 2^-10 (1.0, 2^-5), 4096 components, one "
                        "component (1.0), weight 0.0, rating 1.0, k 1, count 0 and steps 0 (the "
                        "lower bounds of count(1, 1024) and count(0, 1024)): all accepted",
                        edge, [], comment=OPS_COMMENT))
    ranked = Script("events-ranked-bounds")
    c = ranked.content("x")
    refs = [ranked.content(f"prior {i}") for i in range(MAX_PRIORS)]
    ranked.emit({"type": "EngineResultsReturned", "event": ranked.rid(), "subject": c,
                 "priors": [], "supports": [c]})
    ranked.emit({"type": "EngineResultsReturned", "event": ranked.rid(), "subject": c,
                 "priors": refs, "supports": sorted([c, *refs])})
    out.append(run_case("valid-ranked-bounds", ("ENG-007",),
                        f"EngineResultsReturned with no prior and with {MAX_PRIORS} priors (the "
                        "bounds of ranked(0, 255)): both accepted", ranked, [],
                        comment=OPS_COMMENT))
    graph = Script("events-graph-bounds")
    gn = [graph.content(f"node {i}") for i in range(92)]
    gs = sorted(gn)
    gpairs = [[a, b] for i, a in enumerate(gs) for b in gs[i + 1:]]
    graph.emit({"type": "EngineTopologyUpdated", "event": graph.rid(), "model": T4,
                "graph": [[gs[0], gs[1]], [gs[0], gs[2]], [gs[1], gs[2]]],
                "supports": gs[:3]})
    graph.emit({"type": "EngineTopologyUpdated", "event": graph.rid(), "model": T4,
                "graph": gpairs[:MAX_EDGES], "supports": sorted(gn)})
    out.append(run_case("valid-graph", ("ENG-008",),
                        "EngineTopologyUpdated with 3 edges [a, b], [a, c], [b, c] and with "
                        f"{MAX_EDGES} edges (the bound; the first pairs in ascending order of 92 "
                        "content records): both accepted", graph, [], comment=OPS_COMMENT))
    held = Script("events-held")
    held.embed(held.rid(), v4)
    out.append(run_case("held-subject-missing", ("ENG-010", "DM-029"),
                        "an embedding of a record no op created is held, not rejected",
                        held, [{"query": "search", "vector": v4.hex(), "model": T4, "k": 1}],
                        comment=OPS_COMMENT))
    emb = "EngineEmbeddingGenerated"
    conf = {"type": "EngineConfidenceCalculated", "subject": "C", "supports": ["C"]}
    nan = struct.pack(">f", math.nan) + bytes(12)
    inf = struct.pack(">f", math.inf) + bytes(12)
    over = embedding.encode_vector([1.0, 2.0**-5 * (1 + 2.0**-23)])
    x = bytes([6]) + bytes(16)
    y = bytes([6]) + bytes(15) + b"\x01"
    many = [bytes([6]) + bytes(14) + i.to_bytes(2, "big") for i in range(1, MAX_PRIORS + 1)]
    z = bytes([6]) + bytes(15) + b"\x03"
    nodes = [bytes([6]) + bytes(14) + i.to_bytes(2, "big") for i in range(1, 93)]
    pairs = [[a, b] for i, a in enumerate(nodes) for b in nodes[i + 1:]]  # ascending
    big_graph, extra_edge = pairs[:MAX_EDGES], pairs[MAX_EDGES]
    rows: list[tuple[str, tuple[str, ...], str, dict[str, Any], str]] = [
        ("unknown-engine-type", ("ENG-001",), "a type starting with Engine that chapter 11 "
         "does not list", {"type": "EngineMystery", "supports": []}, "E_PAYLOAD_TYPE"),
        ("missing-field", ("ENG-001", "OPS-002"), "EngineContentReceived without supports",
         {"type": "EngineContentReceived", "text": "x"}, bad),
        ("event-wrong-kind", ("ENG-001", "OPS-003"), "event is a ClaimId",
         {"type": "EngineContentReceived", "event": bytes([4]) + bytes(16), "text": "x",
          "supports": []}, "E_ID_KIND"),
        ("score-integer", ("ENG-002",), "score 1 as an integer, not a float",
         {**conf, "score": 1}, bad),
        ("score-above-one", ("ENG-002",), "score 1.0000001", {**conf, "score": 1.0000001}, bad),
        ("score-negative", ("ENG-002",), "score -0.5", {**conf, "score": -0.5}, bad),
        ("rating-below-minus-one", ("ENG-003",), "rating -1.5",
         {"type": "EngineFeedbackReceived", "subject": "C", "rating": -1.5,
          "supports": ["C"]}, bad),
        ("weight-negative", ("ENG-004",), "weight -1.0",
         {"type": "EnginePatternStrengthened", "cluster": "C", "weight": -1.0,
          "supports": ["C"]}, bad),
        ("vector-ragged", ("ENG-005",), "6 bytes: not a whole number of binary32 values",
         {"type": emb, "subject": "C", "model": T4, "vector": bytes(6), "supports": ["C"]},
         bad),
        ("vector-empty", ("ENG-005",), "no components",
         {"type": emb, "subject": "C", "model": T4, "vector": b"", "supports": ["C"]}, bad),
        ("vector-nan", ("ENG-005",), "a NaN component (bytes 7fc00000)",
         {"type": emb, "subject": "C", "model": T4, "vector": nan, "supports": ["C"]}, bad),
        ("vector-infinite", ("ENG-005",), "an infinite component",
         {"type": emb, "subject": "C", "model": T4, "vector": inf, "supports": ["C"]}, bad),
        ("vector-4097", ("ENG-005",), "4097 components, one over the bound",
         {"type": emb, "subject": "C", "model": "big", "supports": ["C"],
          "vector": embedding.encode_vector([1.0] + [0.0] * 4096)}, bad),
        ("vector-array", ("ENG-005",), "a CBOR array of floats, not a byte string",
         {"type": emb, "subject": "C", "model": T4, "vector": [1.0, 0.0, 0.0, 0.0],
          "supports": ["C"]}, bad),
        ("vector-not-unit", ("ENG-006",), "(0.5, 0, 0, 0): squared norm 0.25",
         {"type": emb, "subject": "C", "model": T4, "supports": ["C"],
          "vector": embedding.encode_vector([0.5, 0, 0, 0])}, bad),
        ("vector-norm-just-over", ("ENG-006",), "(1.0, 2^-5 (1 + 2^-23)): squared norm "
         "1 + 2^-10 + 2^-32", {"type": emb, "subject": "C", "model": "test-2d",
                               "vector": over, "supports": ["C"]}, bad),
        ("ranked-repeat", ("ENG-007",), "priors [x, x]",
         {"type": "EngineResultsReturned", "subject": "C", "priors": ["C", "C"],
          "supports": ["C"]}, bad),
        ("ranked-short-ref", ("ENG-007",), "a 16-byte prior",
         {"type": "EngineResultsReturned", "subject": "C", "priors": [bytes(16)],
          "supports": ["C"]}, "E_ID_MALFORMED"),
        ("graph-repeated-edge", ("ENG-008",), "the edge [a, b] twice: not strictly ascending",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[x, y], [x, y]],
          "supports": [x, y]}, bad),
        ("ranked-over-maximum", ("ENG-007",), f"{MAX_PRIORS + 1} priors (the subject and "
         f"{MAX_PRIORS} others), one over the bound; supports lists exactly those records",
         {"type": "EngineResultsReturned", "subject": "C", "priors": ["C", *many],
          "supports": [*many, "C"]}, bad),
        ("graph-4097-edges", ("ENG-008",), "4,097 edges (the first in ascending order among "
         "92 records), one over the bound", {"type": "EngineTopologyUpdated", "model": T4,
                                             "graph": big_graph + [extra_edge],
                                             "supports": nodes}, bad),
        ("graph-not-array", ("ENG-008",), "graph is a byte string, not an array",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": x, "supports": [x]}, bad),
        ("graph-edge-three-refs", ("ENG-008",), "an edge [a, b, c]",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[x, y, z]],
          "supports": [x, y, z]}, bad),
        ("graph-edge-one-ref", ("ENG-008",), "an edge [a]",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[x]], "supports": [x]}, bad),
        ("graph-edge-not-array", ("ENG-008",), "an edge that is a reference, not an array",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [x], "supports": [x]}, bad),
        ("graph-edge-short-first", ("ENG-008",), "an edge [16-byte ref, b]",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[bytes(16), y]],
          "supports": [y]}, "E_ID_MALFORMED"),
        ("graph-edge-short-second", ("ENG-008",), "an edge [a, 16-byte ref]",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[x, bytes(16)]],
          "supports": [x]}, "E_ID_MALFORMED"),
        ("graph-reversed-edge", ("ENG-008",), "an edge [b, a] with b > a",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[y, x]],
          "supports": [x, y]}, bad),
        ("graph-self-edge", ("ENG-008",), "an edge [a, a]",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[x, x]], "supports": [x]},
         bad),
        ("graph-unsorted", ("ENG-008",), "edges out of order",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[x, y[:-1] + b"\x02"],
                                                                   [x, y]],
          "supports": [x, y, y[:-1] + b"\x02"]}, bad),
        ("k-zero", ("ENG-009",), "k = 0",
         {"type": "EngineSimilaritySearchStarted", "query": "q", "model": T4, "vector": v4,
          "k": 0, "supports": []}, bad),
        ("k-too-large", ("ENG-009",), "k = 1025",
         {"type": "EngineSimilaritySearchStarted", "query": "q", "model": T4, "vector": v4,
          "k": 1025, "supports": []}, bad),
        ("k-float", ("ENG-009",), "k = 3.0, a float",
         {"type": "EngineSimilaritySearchStarted", "query": "q", "model": T4, "vector": v4,
          "k": 3.0, "supports": []}, bad),
        ("steps-too-large", ("ENG-009",), "steps = 1025",
         {"type": "EngineValueEvolved", "subject": "C", "value": 0.5, "steps": 1025,
          "supports": ["C"]}, bad),
        ("subject-not-in-supports", ("ENG-010", "ENG-013"), "the subject is not listed in supports",
         {"type": emb, "subject": x, "model": T4, "vector": v4, "supports": ["C"]}, bad),
        ("graph-end-not-in-supports", ("ENG-010",), "an edge's end is not in supports",
         {"type": "EngineTopologyUpdated", "model": T4, "graph": [[x, y]], "supports": [x]},
         bad),
        ("reference-model-4-components", ("ENG-011", "ENG-013"),
         "strata-ngram-256-v1 with 4 components",
         {"type": emb, "subject": "C", "model": REF, "vector": v4, "supports": ["C"]}, bad),
        ("reference-model-centroid-4", ("ENG-011", "ENG-013"), "an EngineClusterFormed "
         "centroid under strata-ngram-256-v1 with 4 components",
         {"type": "EngineClusterFormed", "cluster": "C", "model": REF, "centroid": v4,
          "supports": ["C"]}, bad),
        ("prior-is-subject", ("ENG-012", "ENG-013"), "a record judged as its own prior",
         {"type": "EnginePriorRelevanceAnalyzed", "subject": "C", "prior": "C", "score": 0.5,
          "supports": ["C"]}, bad),
        ("field-check-before-rules", ("ENG-013",), "a malformed cited (16 bytes) and a subject "
         "missing from supports: the field check decides",
         {"type": "EngineCitationQualityMeasured", "subject": x, "cited": bytes(16),
          "score": 0.5, "supports": ["C"]}, "E_ID_MALFORMED"),
    ]
    out.extend(_invalid(cid, reqs, desc, payload, code) for cid, reqs, desc, payload, code
               in rows)
    return out


def _first_id(s: Script, variant: str) -> str:
    """The record id created by the first op of `variant` in a script, as hex."""
    from reference.operations import get_created_record
    from reference.oplog import decode_op

    for data in s.ops:
        op = decode_op(data)
        if op.type == variant:
            record = get_created_record(op.payload)
            if record is not None:
                return record.hex()
    raise GenerationError(f"no {variant} in script {s.label}")


# --- search.json ------------------------------------------------------------------------


def _search_store() -> tuple[Script, dict[str, bytes]]:
    """test-4d items whose id order differs from their creation order (ranks in brackets):
    A (1,0,0,0) [50], B (3,1,0,0) [10], T1 (4,3,0,0) [40], C (3,4,0,0) [30], then the
    search S (query (1,0,0,0), k 4), then T2 = T1 [20], D (0,0,1,0) [60], E (-1,0,0,0) [5],
    O = A under model test-4d-b, X = (1,0,0) under test-4d (3 components)."""
    s = Script("search")
    ids: dict[str, bytes] = {}
    for name, vec, rank in (("A", unit(1, 0, 0, 0), 50), ("B", unit(3, 1, 0, 0), 10),
                            ("T1", unit(4, 3, 0, 0), 40), ("C", unit(3, 4, 0, 0), 30)):
        ids["c" + name], ids[name] = s.item(vec, rank=rank, text=name)
    ids["S"] = s.search("like A", unit(1, 0, 0, 0), 4)
    for name, vec, rank in (("T2", unit(4, 3, 0, 0), 20), ("D", unit(0, 0, 1, 0), 60),
                            ("E", unit(-1, 0, 0, 0), 5)):
        ids["c" + name], ids[name] = s.item(vec, rank=rank, text=name)
    ids["cO"], ids["O"] = s.item(unit(1, 0, 0, 0), model="test-4d-b", text="O")
    ids["cX"], ids["X"] = s.item(unit(1, 0, 0), text="X")
    ids["S2"] = s.search("like y", unit(0, 1, 0, 0), 4)
    return s, ids


def search_cases() -> list[Case]:
    s, ids = _search_store()
    q1, q3 = unit(1, 0, 0, 0).hex(), unit(0, 0, 1, 0).hex()
    comment = OPS_COMMENT + " " + (_search_store.__doc__ or "").replace("\n    ", " ")

    def q(vec: str, k: int, model: str = T4) -> dict[str, Any]:
        return {"query": "search", "vector": vec, "model": model, "k": k}

    out = [
        run_case("top3-tie-at-cut", ("ENG-024", "ENG-026", "ENG-027"),
                 "k = 3 against (1,0,0,0): A 1.0, B 0.9487, then T1 and T2 tie at 0.8 and the "
                 "smaller id (T2, created later) takes the last place", s, [q(q1, 3)],
                 comment=comment),
        run_case("k-above-count", ("ENG-024", "ENG-027"),
                 "k = 10 with 7 comparable vectors: all of them; O (other model) and X "
                 "(3 components) are never considered", s, [q(q1, 10)], comment=comment),
        run_case("many-zero-ties", ("ENG-026", "ENG-027"),
                 "against (0,0,1,0) D scores 1 and six vectors score exactly 0: the smallest "
                 "id (E, rank 5) is second", s, [q(q3, 2)], comment=comment),
        run_case("top1", ("ENG-024", "ENG-027"), "k = 1 against (1,0,0,0): A alone", s,
                 [q(q1, 1)], comment=comment),
        run_case("other-model", ("ENG-015", "ENG-024"),
                 "a test-4d-b query sees only O", s, [q(q1, 5, "test-4d-b")], comment=comment),
        run_case("priors-before-search", ("ENG-028", "ENG-029"),
                 "S (k 4) was recorded after A, B, T1, C: its priors are those four (C scores "
                 "0.6, above 0.5), never T2 or later vectors; relevance is their mean", s,
                 [{"query": "priors", "search": ids["S"].hex()}], comment=comment),
        run_case("priors-threshold", ("ENG-028", "ENG-029"),
                 "S2 (query (0,1,0,0), k 4): C 0.8, T2 and T1 0.6 (tie by id), B 0.316 is cut "
                 "by the 0.5 threshold", s, [{"query": "priors", "search": ids["S2"].hex()}],
                 comment=comment),
        run_case("coupling", ("ENG-031", "ENG-015", "ENG-026", "ENG-023"),
                 "K(A, B) = 3/sqrt(10); K(A, S) uses the search's query vector; same model and "
                 "component count, so they are compared (each found under its record id)", s,
                 [{"query": "coupling", "a": ids["A"].hex(), "b": ids["B"].hex()},
                  {"query": "coupling", "a": ids["A"].hex(), "b": ids["S"].hex()}],
                 comment=comment),
        run_case("coupling-incomparable", ("ENG-015", "ENG-031"),
                 "A against O (another model) and X (3 components): null", s,
                 [{"query": "coupling", "a": ids["A"].hex(), "b": ids["O"].hex()},
                  {"query": "coupling", "a": ids["A"].hex(), "b": ids["X"].hex()}],
                 comment=comment),
        run_case("coupling-without-vector", ("ENG-041",), "a content record has no vector", s,
                 [{"query": "coupling", "a": ids["cA"].hex(), "b": ids["B"].hex()}],
                 "invalid", comment, "E_NOT_FOUND"),
        run_case("priors-of-non-search", ("ENG-041",), "priors of an embedding record", s,
                 [{"query": "priors", "search": ids["A"].hex()}], "invalid", comment,
                 "E_NOT_FOUND"),
        run_case("query-not-unit", ("ENG-025",), "a query vector (0.5, 0, 0, 0)", s,
                 [q(embedding.encode_vector([0.5, 0, 0, 0]).hex(), 1)], "invalid", comment,
                 "E_BAD_REQUEST"),
        run_case("query-vector-ragged", ("ENG-025",), "a 6-byte query vector: not a whole "
                 "number of binary32 values (ENG-005)", s, [q("3f8000000000", 1)], "invalid",
                 comment, "E_BAD_REQUEST"),
        run_case("query-vector-nan", ("ENG-025",), "a query vector (NaN, 0, 0, 0) (ENG-005)",
                 s, [q("7fc00000" + "00000000" * 3, 1)], "invalid", comment, "E_BAD_REQUEST"),
        run_case("query-text-and-vector", ("ENG-042",), "both text and vector", s,
                 [{**q(q1, 1), "text": "x"}], "invalid", comment, "E_BAD_REQUEST"),
        run_case("query-neither-text-nor-vector", ("ENG-042",), "a search with only model "
                 "and k", s, [{"query": "search", "model": T4, "k": 1}], "invalid", comment,
                 "E_BAD_REQUEST"),
        run_case("query-k-zero", ("ENG-042",), "k = 0, one below the lower limit 1", s,
                 [q(q1, 0)], "invalid", comment, "E_BAD_REQUEST"),
        run_case("query-k-one", ("ENG-042", "ENG-027"), "k = 1, the lower limit: the best "
                 "result alone", s, [q(q1, 1)], comment=comment),
        run_case("query-kinds-and-record-ids", ("ENG-042", "ENG-025"),
                 "one query of each kind, every record id argument of 17 bytes, a search by "
                 "text and one by vector: all answered", s,
                 [{"query": "search", "text": "A", "k": 2}, q(q1, 2),
                  {"query": "priors", "search": ids["S"].hex()},
                  {"query": "citations", "id": ids["cA"].hex()},
                  {"query": "coupling", "a": ids["A"].hex(), "b": ids["B"].hex()},
                  {"query": "clusters"}, {"query": "salience", "steps": 0},
                  {"query": "audits"}], comment=comment),
        run_case("query-unknown-kind", ("ENG-042",), "a query kind 'nearest' the table does "
                 "not list", s, [{"query": "nearest"}], "invalid", comment, "E_BAD_REQUEST"),
        run_case("query-not-object", ("ENG-042",), "a query that is an array, not an object",
                 s, [["search"]], "invalid", comment, "E_BAD_REQUEST"),
        run_case("query-number", ("ENG-042",), "a query that is the number 7, not an object",
                 s, [7], "invalid", comment, "E_BAD_REQUEST"),
        run_case("query-salience-steps-negative", ("ENG-042",), "steps = -1, one below the "
                 "lower limit 0", s, [{"query": "salience", "steps": -1}], "invalid", comment,
                 "E_BAD_REQUEST"),
    ]
    for arg, (kind, other) in (("search", ("priors", {})), ("id", ("citations", {})),
                               ("a", ("coupling", {"b": ids["B"].hex()})),
                               ("b", ("coupling", {"a": ids["A"].hex()}))):
        target = ids["S"] if kind == "priors" else ids["A"]
        for label, raw in (("16", target[:16]), ("18", target + b"\x00")):
            out.append(run_case(
                f"{kind}-{arg}-{label}-bytes", ("ENG-042",),
                f"{kind} with a {label}-byte {arg} (a 17-byte record id cut or extended)",
                s, [{"query": kind, **other, arg: raw.hex()}], "invalid", comment,
                "E_BAD_REQUEST"))
    edge = Script("priors-at-threshold")
    half = embedding.encode_vector([0.5, math.sqrt(0.75), 0.0, 0.0])
    low = embedding.encode_vector([0.25, math.sqrt(0.9375), 0.0, 0.0])
    edge.item(half, text="H")
    edge.item(low, text="L")
    at = edge.search("like x", unit(1, 0, 0, 0), 4)
    out.append(run_case("priors-at-threshold", ("ENG-028", "ENG-029"),
                        "H = (0.5, f32(sqrt 0.75), 0, 0) scores exactly 0.5 against (1,0,0,0) "
                        "(exact float64 products, ENG-026) and is kept; L (0.25, ...) scoring "
                        "0.25 is not; relevance 0.5", edge,
                        [{"query": "priors", "search": at.hex()}],
                        comment=OPS_COMMENT + " H and L are the listed values, each rounded "
                        "to binary32 (not normalised): squared norms within 2^-20 of 1."))
    texts = ["the cat sat on the mat", "the cat sat on a mat", "a dog barked at the mailman",
             "quantum chromodynamics lecture notes", "the mat was red", ""]
    r = Script("search-reference")
    for text in texts:
        c = r.content(text)
        r.embed(c, text_vector(text), REF)
    out.append(run_case("reference-model-text", ("ENG-024", "ENG-026", "ENG-027", "ENG-011"),
                        "texts embedded with strata-ngram-256-v1, queried by text "
                        f"'cat on the mat'; stored texts in order: {texts!r}", r,
                        [{"query": "search", "text": "cat on the mat", "k": 4}],
                        comment=OPS_COMMENT))
    data = Script("search-author-bytes")
    data.embed(data.content("abc"), text_vector("xyz"), REF)
    data.embed(data.content("xyz"), text_vector("abc"), REF)
    out.append(run_case("author-bytes", ("ENG-014",),
                        "content 'abc' carries the embedding of 'xyz' and the other way round: "
                        "the store holds the author's vectors, never recomputed ones", data,
                        [{"query": "search", "text": "xyz", "k": 1}], comment=OPS_COMMENT))
    hashed = Script("search-author-bytes-hash")
    content_abc = hashed.content("abc")
    stored = hashed.embed(content_abc, text_vector("xyz"), REF)
    for vector in (text_vector("xyz"), text_vector("abc")):
        hashed.emit({"type": "EngineVectorStored", "event": hashed.rid(), "subject": stored,
                     "hash": blake3.blake3(vector).digest(), "supports": [stored]})
    out.append(run_case("author-bytes-hash", ("ENG-014", "ENG-039"),
                        "content 'abc' carries the embedding of 'xyz'; two EngineVectorStored "
                        "audits of it: the BLAKE3 hash of the author's bytes (the 'xyz' "
                        "embedding) matches, the hash of a recomputed embedding of 'abc' does "
                        "not", hashed, [{"query": "audits"}], comment=OPS_COMMENT))
    cite = Script("citations")
    ev = cite.evidence("doc")
    c1 = cite.content("one", [ev])
    c2 = cite.content("two", [c1])
    e1 = cite.embed(c1, unit(1, 0, 0, 0))
    cite.note("EngineFeedbackReceived", c2, 0.5, "rating")
    cite.emit({"type": "CascadeTombstone", "root": e1, "reason": "bad embedding",
               "cascade": []})
    out.append(run_case("citations", ("ENG-030",),
                        "evidence <- one <- two (+ feedback on two), one <- embedding "
                        "(tombstoned): direct and transitive citations, live only", cite,
                        [{"query": "citations", "id": ev.hex()},
                         {"query": "citations", "id": c1.hex()},
                         {"query": "citations", "id": e1.hex()}], comment=OPS_COMMENT))
    out.append(run_case("citations-unknown", ("ENG-041",), "a record no op created", cite,
                        [{"query": "citations", "id": (bytes([6]) + bytes(16)).hex()}],
                        "invalid", OPS_COMMENT, "E_NOT_FOUND"))
    return out


# --- clusters.json ----------------------------------------------------------------------


def _cluster_script(label: str = "clusters") -> tuple[Script, dict[str, bytes]]:
    """test-4d, in order: a (25 deg) [rank 30], b (-25 deg) [rank 20], x (0 deg) ties
    between a and b and joins b (smaller id), z (0,0,1,0), z2 (0,0.1,1,0), z3
    (0.1,0,1,0), w (0,0,0,1), and a2 = a under model test-4d-b."""
    s = Script(label)
    ids: dict[str, bytes] = {}
    for name, vec, rank, model in (
            ("a", deg(25), 30, T4), ("b", deg(-25), 20, T4), ("x", deg(0), None, T4),
            ("z", unit(0, 0, 1, 0), None, T4), ("z2", unit(0, 0.1, 1, 0), None, T4),
            ("z3", unit(0.1, 0, 1, 0), None, T4), ("w", unit(0, 0, 0, 1), None, T4),
            ("a2", deg(25), None, "test-4d-b")):
        ids["c" + name], ids[name] = s.item(vec, model, rank, name)
    return s, ids


def _exact_join() -> tuple[bytes, bytes]:
    """F = (1, 2^-20, 2^-42, 0) and J, whose section 4.3 score against F is exactly 0.8."""
    founder = (1.0, 2.0**-20, 2.0**-42, 0.0)
    v0 = struct.unpack(">f", struct.pack(">I", struct.unpack(">I", struct.pack(">f", 0.8))[0]
                                         - 1))[0]  # the binary32 just below 0.8
    rest = Fraction(0.8) - Fraction(v0)
    v1 = embedding.round_f32(float(rest * 2**20))
    v2 = embedding.round_f32(float((rest - Fraction(v1) / 2**20) * 2**42))
    v3 = embedding.round_f32(math.sqrt(1.0 - v0 * v0 - v1 * v1 - v2 * v2))
    joiner = (v0, v1, v2, v3)
    if embedding.compute_dot(joiner, founder) != patterns.JOIN_SCORE:
        raise GenerationError("exact join: the score is not exactly 0.8")
    return embedding.encode_vector(founder), embedding.encode_vector(joiner)


def _cluster_edge_script() -> tuple[Script, dict[str, bytes]]:
    """test-4d, in order: p (25 deg) [rank 20], q (-25 deg) [rank 30], x (0 deg), which
    scores cos 25 deg against both; test-4d-b: P (25 deg) [rank 40], Q (-25 deg) [rank 5],
    v (20 deg); test-4d-c: F = (1, 2^-20, 2^-42, 0), then J = (v0, v1, v2, v3), v0 the
    binary32 just below 0.8, v1 and v2 binary32 corrections making the float64 score
    against F exactly 0.8, v3 = binary32 of sqrt(1 - v0^2 - v1^2 - v2^2); test-4d-d:
    A (1,0,0,0), then B (0.5, binary32 of sqrt 0.75, 0, 0), whose score is exactly 0.5."""
    s = Script("clusters-edges")
    ids: dict[str, bytes] = {}
    founder, joiner = _exact_join()
    half = embedding.encode_vector([0.5, math.sqrt(0.75), 0.0, 0.0])
    for name, vec, rank, model in (
            ("p", deg(25), 20, T4), ("q", deg(-25), 30, T4), ("x", deg(0), None, T4),
            ("P", deg(25), 40, "test-4d-b"), ("Q", deg(-25), 5, "test-4d-b"),
            ("v", deg(20), None, "test-4d-b"), ("F", founder, None, "test-4d-c"),
            ("J", joiner, None, "test-4d-c"), ("A", unit(1, 0, 0, 0), None, "test-4d-d"),
            ("B", half, None, "test-4d-d")):
        ids["c" + name], ids[name] = s.item(vec, model, rank, name)
    return s, ids


def cluster_cases() -> list[Case]:
    s, ids = _cluster_script()
    comment = OPS_COMMENT + " " + (_cluster_script.__doc__ or "").replace("\n    ", " ")
    clusters = [{"query": "clusters"}]
    out = [
        run_case("leader-clusters", ("ENG-032", "ENG-033", "ENG-034", "ENG-035", "ENG-015",
                                     "ENG-026"),
                 "b founds apart from a (cos 50 deg = 0.643); x ties (cos 25 deg) and joins "
                 "the smaller id b; z, z2, z3 form a pattern; a-b centroids score cos 37.5 deg "
                 "(an edge); a2 (other model) founds its own cluster", s, clusters,
                 comment=comment),
        run_case("delivery-order", ("ENG-021", "ENG-032", "DM-022"),
                 "the same ops delivered in reverse order (held, then released): the same "
                 "clusters", s, clusters, comment=comment, ops=list(reversed(s.hex_ops()))),
    ]
    t, tids = _cluster_script("clusters-tombstone")
    t.emit({"type": "CascadeTombstone", "root": tids["cb"], "reason": "forget b",
            "cascade": [tids["b"]]})
    out.append(run_case("tombstone-reclusters", ("ENG-022", "ENG-032"),
                        "b's content is tombstoned: b leaves, x now joins a, and a-b's edge "
                        "is gone", t, clusters, comment=comment))
    e, eids = _cluster_edge_script()
    out.append(run_case("ties-and-exact-thresholds", ("ENG-032", "ENG-035"),
                        "test-4d: x ties p and q and joins p (smaller id, founded first); "
                        "test-4d-b: v joins P (score cos 5 deg) although Q, founded later with a "
                        "smaller id, scores lower; test-4d-c: J scores exactly 0.8 against F and "
                        "joins it; test-4d-d: the centroids of A and B score exactly 0.5 and are "
                        "adjacent", e, clusters,
                        comment=OPS_COMMENT + " " + (_cluster_edge_script.__doc__ or "")
                        .replace("\n    ", " ")))
    texts = ["the cat sat on the mat", "the dog sat on the mat", "the cat sat on a mat",
             "quantum chromodynamics lecture notes", "quantum chromodynamics lecture note"]
    r = Script("clusters-reference")
    for text in texts:
        r.embed(r.content(text), text_vector(text), REF)
    out.append(run_case("reference-model", ("ENG-032", "ENG-033"),
                        f"strata-ngram-256-v1 embeddings of {texts!r} in that order", r,
                        clusters, comment=OPS_COMMENT))
    return out


# --- salience.json ----------------------------------------------------------------------


def _salience_script(label: str = "salience") -> tuple[Script, dict[str, bytes]]:
    """ev <- c1 <- c2; g (generation) supports c1 and c2; r (response) supports g; a second
    evidence ev2 <- c3. Inputs: feedback +1.0 on r, confidence 0.75 on c2, feedback -0.5 on
    c1, feedback +0.25 on c3; an embedding of c1 (not a node)."""
    s = Script(label)
    ids: dict[str, bytes] = {}
    ids["ev"] = s.evidence("ev")
    ids["c1"] = s.content("c1", [ids["ev"]])
    ids["c2"] = s.content("c2", [ids["c1"]])
    ids["g"] = s.emit({"type": "EngineGenerationStarted", "event": s.rid(), "prompt": "p",
                       "model": "m", "supports": sorted([ids["c1"], ids["c2"]])})
    ids["r"] = s.emit({"type": "EngineResponseGenerated", "event": s.rid(),
                       "subject": ids["g"], "content": "r", "supports": [ids["g"]]})
    ids["ev2"] = s.evidence("ev2")
    ids["c3"] = s.content("c3", [ids["ev2"]])
    s.note("EngineFeedbackReceived", ids["r"], 1.0, "rating")
    s.note("EngineConfidenceCalculated", ids["c2"], 0.75, "score")
    s.note("EngineFeedbackReceived", ids["c1"], -0.5, "rating")
    s.note("EngineFeedbackReceived", ids["c3"], 0.25, "rating")
    s.embed(ids["c1"], unit(1, 0, 0, 0))
    return s, ids


def salience_cases() -> list[Case]:
    s, ids = _salience_script()
    comment = OPS_COMMENT + " " + (_salience_script.__doc__ or "").replace("\n    ", " ")
    out = [
        run_case(f"steps-{n}", ("ENG-036", "ENG-037", "ENG-038"),
                 f"salience of the seven nodes after {n} steps", s,
                 [{"query": "salience", "steps": n}], comment=comment)
        for n in (0, 1, 2, 200)
    ]
    out.append(run_case("default-steps", ("ENG-038",), "no steps given: 64", s,
                        [{"query": "salience"}], comment=comment))
    clamp = Script("salience-clamp")
    hot = clamp.content("hot")
    cold = clamp.content("cold", [hot])
    for _ in range(12):
        clamp.note("EngineFeedbackReceived", hot, 1.0, "rating")
    clamp.note("EngineFeedbackReceived", cold, -1.0, "rating")
    out.append(run_case("clamp", ("ENG-037", "ENG-038"),
                        "input 12 on hot reaches 1 in one step and is clamped; cold (-1) stays "
                        "at 0 until diffusion lifts it", clamp,
                        [{"query": "salience", "steps": n} for n in (1, 3, 10)],
                        comment=OPS_COMMENT))
    t, tids = _salience_script("salience-tombstone")
    t.emit({"type": "TombstoneEvidence", "evidence": tids["ev"], "reason": "forget",
            "cascade": []})
    out.append(run_case("tombstone", ("ENG-022", "ENG-036", "ENG-037"),
                        "ev is tombstoned (an empty cascade list: the closure still applies): "
                        "only ev2 and c3 remain, with c3's input", t,
                        [{"query": "salience", "steps": 5}], comment=comment))
    out.append(run_case("bad-steps", ("ENG-042",), "steps 1025 is out of range", s,
                        [{"query": "salience", "steps": 1025}], "invalid", comment,
                        "E_BAD_REQUEST"))
    return out


# --- tombstone.json ---------------------------------------------------------------------


def tombstone_cases() -> list[Case]:
    def base(label: str) -> tuple[Script, dict[str, bytes]]:
        s = Script(label)
        ids = {"ev": s.evidence("doc")}
        ids["c"] = s.content("the cat sat on the mat", [ids["ev"]])
        ids["e"] = s.embed(ids["c"], text_vector("the cat sat on the mat"), REF)
        ids["d"] = s.content("the cat sat on a mat")
        ids["f"] = s.embed(ids["d"], text_vector("the cat sat on a mat"), REF)
        ids["fb"] = s.note("EngineFeedbackReceived", ids["c"], 1.0, "rating")
        return s, ids

    everything: list[dict[str, Any]] = [
        {"query": "search", "text": "the cat sat on the mat", "k": 5},
        {"query": "clusters"}, {"query": "salience", "steps": 3}]
    out = []
    s, ids = base("tombstone-none")
    out.append(run_case("before-tombstone", ("ENG-022", "ENG-023"),
                        "evidence <- c (embedded as e, with feedback), d (embedded as f): "
                        "both vectors searchable and clustered together", s, everything,
                        comment=OPS_COMMENT))
    s, ids = base("tombstone-evidence")
    s.emit({"type": "TombstoneEvidence", "evidence": ids["ev"], "reason": "user deleted it",
            "cascade": sorted([ids["c"], ids["e"], ids["fb"]])})
    out.append(run_case("evidence-tombstoned", ("ENG-022", "ENG-023", "DM-012", "DM-022"),
                        "the evidence is tombstoned: e leaves search and clusters, c and the "
                        "evidence leave salience, the feedback's input is gone", s, everything,
                        comment=OPS_COMMENT))
    s, ids = base("tombstone-after")
    s.emit({"type": "CascadeTombstone", "root": ids["c"], "reason": "wrong",
            "cascade": sorted([ids["e"], ids["fb"]])})
    late = s.embed(ids["c"], text_vector("the cat sat on the mat"), REF)
    out.append(run_case("embedding-after-tombstone", ("ENG-022", "DM-028"),
                        "c is tombstoned, then embedded again: the new embedding depends on an "
                        "invalidated record and never enters the store", s,
                        [*everything, {"query": "coupling", "a": late.hex(),
                                       "b": ids["f"].hex()}], "invalid", OPS_COMMENT,
                        "E_NOT_FOUND"))
    out.append(run_case("embedding-after-tombstone-search", ("ENG-022", "DM-028", "DM-022"),
                        "the same log: search and clusters show only f", s, everything,
                        comment=OPS_COMMENT))
    pri = Script("tombstone-priors")
    pri.item(unit(1, 0, 0, 0), text="A")
    pb = pri.item(unit(3, 1, 0, 0), text="B")[1]
    ps = pri.search("like A", unit(1, 0, 0, 0), 4)
    pri.emit({"type": "CascadeTombstone", "root": pb, "reason": "bad vector", "cascade": []})
    out.append(run_case("priors-without-tombstoned", ("ENG-022", "ENG-028"),
                        "test-4d A (1,0,0,0) and B (3,1,0,0), then a search S (query A, k 4), "
                        "then B's embedding is tombstoned: S's priors hold A alone", pri,
                        [{"query": "priors", "search": ps.hex()}], comment=OPS_COMMENT))
    pri.emit({"type": "CascadeTombstone", "root": ps, "reason": "forget the search",
              "cascade": []})
    out.append(run_case("priors-of-tombstoned-search", ("ENG-022", "ENG-041"),
                        "the same log, then S itself is tombstoned: it is no live recorded "
                        "search", pri, [{"query": "priors", "search": ps.hex()}], "invalid",
                        OPS_COMMENT, "E_NOT_FOUND"))
    s, ids = base("tombstone-embedding")
    s.emit({"type": "CascadeTombstone", "root": ids["e"], "reason": "bad vector",
            "cascade": []})
    out.append(run_case("embedding-only", ("ENG-022", "ENG-023"),
                        "only the embedding e is tombstoned: c stays a salience node with its "
                        "feedback, e leaves search and clusters", s, everything,
                        comment=OPS_COMMENT))
    out.append(run_case("embedding-only-reversed", ("ENG-021", "ENG-022", "DM-022"),
                        "the same ops delivered in reverse order: the same answers", s,
                        everything, comment=OPS_COMMENT, ops=list(reversed(s.hex_ops()))))
    twice, one, two, early_op = created_twice()
    early = early_op.hex()
    late_ops = [*twice.hex_ops(), early]
    twice_queries: list[dict[str, Any]] = [
        {"query": "search", "vector": unit(1, 0, 0, 0).hex(), "model": T4, "k": 2},
        {"query": "citations", "id": one.hex()}, {"query": "citations", "id": two.hex()},
        {"query": "clusters"}]
    twice_comment = (OPS_COMMENT + " Ops at BASE_MS + 1 to 4: content one, content two, X "
                     "= an embedding (0,1,0,0) of two, a CascadeTombstone of two; then X "
                     "again, an embedding (1,0,0,0) of one timestamped (BASE_MS + 2, 1).")
    out.append(run_case("earlier-creation-delivered-last", ("DM-034", "DM-022", "ENG-021",
                                                              "ENG-022"),
                        "record X is created by an embedding of two (then tombstoned with "
                        "two), and by an earlier embedding of one delivered last: the earlier "
                        "creation wins, so X is live with one's vector and cites one only",
                        twice, twice_queries, comment=twice_comment, ops=late_ops))
    in_order = [*late_ops[:2], early, *late_ops[2:4]]
    out.append(run_case("later-creation-delivered-last", ("DM-034", "DM-022", "ENG-022"),
                        "the same ops delivered in total order: the later creation of X is "
                        "ignored and the tombstone of two leaves X live", twice, twice_queries,
                        comment=twice_comment, ops=in_order))
    return out


# --- audits.json ------------------------------------------------------------------------


def audit_cases() -> list[Case]:
    s = Script("audits")
    ids: dict[str, bytes] = {}
    for name, vec in (("A", unit(1, 0, 0, 0)), ("B", unit(3, 1, 0, 0)),
                      ("C", unit(3, 4, 0, 0)), ("D", deg(5))):
        ids["c" + name], ids[name] = s.item(vec, text=name)
    ids["S"] = s.search("like A", unit(1, 0, 0, 0), 3)
    view = _view(s.hex_ops())
    prior = view.compute_priors(ids["S"])
    clusters = view.compute_clusters()
    if prior is None or not clusters:
        raise GenerationError("audits: the setup has no priors or clusters")
    big = clusters[0]
    nodes, values = view.compute_salience(10)
    subject = ids["cA"]
    hits = [h.id for h in prior.hits]

    def audit(variant: str, **fields: Any) -> bytes:
        named = [v for k, v in fields.items() if k in ("subject", "cluster")]
        named += fields.get("priors", []) + fields.get("members", [])
        for a, b in fields.get("graph", []):
            named += [a, b]
        return s.emit({"type": variant, "event": s.rid(), **fields,
                       "supports": sorted(set(named))})

    a_vec = view.store.get_vector(ids["A"])
    if a_vec is None:
        raise GenerationError("audits: A is not in the store")
    stored = audit("EngineVectorStored", subject=ids["A"],
                   hash=blake3.blake3(a_vec[1]).digest())
    audit("EngineVectorStored", subject=ids["B"], hash=bytes(32))
    audit("EnginePriorsFound", subject=ids["S"], count=len(hits), relevance=prior.relevance)
    audit("EnginePriorsFound", subject=ids["S"], count=len(hits) - 1,
          relevance=prior.relevance)
    audit("EngineResultsReturned", subject=ids["S"], priors=hits)
    audit("EngineResultsReturned", subject=ids["S"], priors=list(reversed(hits)))
    audit("EngineClusterFormed", cluster=big.id, model=T4,
          centroid=embedding.encode_vector(big.centroid))
    audit("EngineClusterFormed", cluster=big.id, model=T4, centroid=unit(0, 0, 0, 1))
    audit("EnginePatternDetected", cluster=big.id, members=sorted(big.members))
    audit("EnginePatternStrengthened", cluster=big.id, weight=patterns.compute_weight(big))
    audit("EnginePatternStrengthened", cluster=big.id, weight=patterns.compute_weight(big) + 0.5)
    audit("EngineTopologyUpdated", model=T4, graph=[list(e) for e in
                                                     patterns.compute_topology(clusters)])
    audit("EngineValueEvolved", subject=subject, value=values[nodes.index(subject)], steps=10)
    audit("EnginePriorsFound", subject=ids["A"], count=0, relevance=0.0)
    audit("EngineResultsReturned", subject=ids["A"], priors=[])
    s.emit({"type": "EngineVectorStored", "event": stored, "subject": ids["B"],
            "hash": bytes(32), "supports": [ids["B"]]})
    s.note("EngineFeedbackReceived", subject, 1.0, "rating")
    stale = audit("EngineValueEvolved", subject=subject, value=values[nodes.index(subject)],
                  steps=10)
    comment = (OPS_COMMENT + " test-4d items A (1,0,0,0), B (3,1,0,0), C (3,4,0,0), D (5 deg); "
               "a search S (query A, k 3); then pairs of audit records, the first of each pair "
               "with the value the projection computes over the ops before it, the second "
               "altered; then a PriorsFound and a ResultsReturned whose subject is the embedding "
               "A, no recorded search; then a second creation of the first VectorStored's record "
               "(naming B, zero hash), which the first creation makes no audit; the last "
               "ValueEvolved follows a new feedback it does not reflect.")
    out = [run_case("verdicts", ("ENG-039", "ENG-040", "ENG-016", "ENG-023"),
                    "match for each correct audit, mismatch for each altered one and for priors "
                    "of a record that is no search; one verdict per live derived operation; "
                    "the audits change neither search nor clusters", s,
                    [{"query": "audits"}, {"query": "clusters"},
                     {"query": "priors", "search": ids["S"].hex()}], comment=comment)]
    early = s.factory.op({"type": "EngineEmbeddingGenerated", "event": s.rid(),
                             "subject": ids["cA"], "model": T4, "vector": unit(1, 0, 0, 0),
                             "supports": [ids["cA"]]}, ts=(BASE_MS + 8, 1))
    out.append(run_case("late-op-changes-prefix", ("ENG-039", "ENG-021", "DM-022"),
                        "an embedding (1,0,0,0) delivered last but timestamped just before S "
                        "enters every audit's prefix: S's priors, the cluster's weight and "
                        "centroid sums change, and so do those verdicts", s,
                        [{"query": "audits"}, {"query": "priors", "search": ids["S"].hex()}],
                        comment=comment + " The late op is timestamped (BASE_MS + 8, 1).",
                        ops=[*s.hex_ops(), early.hex()]))
    s.emit({"type": "CascadeTombstone", "root": stale, "reason": "stale audit", "cascade": []})
    out.append(run_case("tombstoned-audit", ("ENG-040", "ENG-022"),
                        "the same log, then the last EngineValueEvolved is tombstoned: it is no "
                        "longer live and gets no verdict", s, [{"query": "audits"}],
                        comment=comment + " The tombstone names the last audit record."))
    return out


def created_twice() -> tuple[Script, bytes, bytes, bytes]:
    """Contents one and two, record X created by an embedding (0,1,0,0) of two, then two
    tombstoned; and, not emitted, X created again by an embedding (1,0,0,0) of one at
    (BASE_MS + 2, 1), earlier than the first creation. Returns (script, one, two, that op)."""
    twice = Script("tombstone-created-twice")
    one, two = twice.content("one"), twice.content("two")
    x = twice.rid()

    def embedding_of(subject: bytes, vector: bytes) -> dict[str, Any]:
        return {"type": "EngineEmbeddingGenerated", "event": x, "subject": subject,
                "model": T4, "vector": vector, "supports": [subject]}

    twice.emit(embedding_of(two, unit(0, 1, 0, 0)))
    twice.emit({"type": "CascadeTombstone", "root": two, "reason": "forget two",
                "cascade": []})
    return twice, one, two, twice.factory.op(embedding_of(one, unit(1, 0, 0, 0)),
                                             ts=(BASE_MS + 2, 1))

TOPICS = [
    ("embed", embed_cases, "engine.embed of texts chosen for each rule of section 3."),
    ("events", events_cases, OPS_COMMENT),
    ("search", search_cases, OPS_COMMENT),
    ("clusters", cluster_cases, OPS_COMMENT),
    ("salience", salience_cases, OPS_COMMENT),
    ("tombstone", tombstone_cases, OPS_COMMENT),
    ("audits", audit_cases, OPS_COMMENT),
]


def files() -> list[VectorFile]:
    """Every vector file of chapter 11."""
    return [VectorFile(FOLDER, CHAPTER, topic, tuple(build()), comment)
            for topic, build, comment in TOPICS]
