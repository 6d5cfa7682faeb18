"""Driver commands of chapter 11, the data engine (spec/11-data-engine.md section 6).

`engine.embed` is the reference embedding; `engine.run` appends ops to a fresh log,
keeps the engine projection incrementally as they are applied, and answers projection
queries over it. Floats are written as {"f32", "shape"}
(spec/16 section 2.1).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from reference import engine, oplog, projections
from reference._require import SpecViolation, require
from reference.driver._registry import Args, command
from reference.engine import embedding, events, patterns, projection, salience
from reference.introduction import ErrorCode

QUERY_KINDS = ("search", "priors", "citations", "coupling", "clusters", "salience", "audits")


def f32(values: Sequence[float], shape: list[int] | None = None) -> dict[str, Any]:
    """Floats as binary32 big-endian hex with their shape (spec/16 section 2.1)."""
    return {"f32": struct.pack(f">{len(values)}f", *values).hex(),
            "shape": [len(values)] if shape is None else shape}


def _hits(hits: Sequence[engine.vectorstore.Hit]) -> dict[str, Any]:
    return {"results": [{"id": h.id.hex(), "subject": h.subject.hex()} for h in hits],
            "scores": f32([h.score for h in hits])}


def _record(args: Args, key: str) -> bytes:
    raw = args.bytes(key)
    require(len(raw) == 17, "ENG-042", ErrorCode.E_BAD_REQUEST, f"{key!r} is not a record id")
    return raw


def _query_vector(args: Args) -> tuple[str, bytes]:
    """The query of a search: a text (reference model) or a vector and its model (4.3)."""
    require(args.has("text") != args.has("vector"), "ENG-042", ErrorCode.E_BAD_REQUEST,
            "a search names exactly one of 'text' and 'vector'")
    if args.has("text"):
        return embedding.MODEL_ID, embedding.encode_vector(
            embedding.compute_embedding(args.text("text")))
    model, vector = args.text("model"), args.bytes("vector")
    try:  # [ENG-025] a query vector obeys the rules of a `vector` field, else E_BAD_REQUEST
        events.check_vector("vector", vector)
    except SpecViolation as violation:
        raise SpecViolation("ENG-025", ErrorCode.E_BAD_REQUEST, violation.message) from None
    return model, vector


def answer(view: projection.EngineProjection, query: Args) -> dict[str, Any]:
    """Answer one projection query (section 6)."""
    kind = query.text("query")
    if kind == "search":
        k = query.int("k")
        require(1 <= k <= events.MAX_K, "ENG-042", ErrorCode.E_BAD_REQUEST,
                f"k must be from 1 to {events.MAX_K}")
        model, vector = _query_vector(query)
        return {"model": model, **_hits(view.search(model, vector, k))}
    if kind == "priors":
        record = _record(query, "search")
        prior = view.compute_priors(record)
        if prior is None:
            raise SpecViolation("ENG-041", ErrorCode.E_NOT_FOUND,
                                f"{record.hex()} is not a live recorded search")
        return {"count": len(prior.hits), "relevance": f32([prior.relevance]),
                **_hits(prior.hits)}
    if kind == "citations":
        record = _record(query, "id")
        require(record in view.creator, "ENG-041", ErrorCode.E_NOT_FOUND,
                f"no applied op created {record.hex()}")
        direct, transitive = view.get_citations(record)
        return {"direct": [r.hex() for r in direct], "transitive": [r.hex() for r in transitive]}
    if kind == "coupling":
        a, b = view.get_vector(_record(query, "a")), view.get_vector(_record(query, "b"))
        if a is None or b is None:
            raise SpecViolation("ENG-041", ErrorCode.E_NOT_FOUND,
                                "coupling names a record without a live vector")
        if a[0] != b[0] or len(a[1]) != len(b[1]):  # [ENG-015] [ENG-031] not comparable
            return {"coupling": None}
        return {"coupling": f32([engine.vectorstore.compute_coupling(a[1], b[1])])}
    if kind == "clusters":
        clusters = view.compute_clusters()
        return {
            "clusters": [{
                "id": c.id.hex(), "model": c.model, "members": [m.hex() for m in c.members],
                "centroid": f32(c.centroid), "weight": f32([patterns.compute_weight(c)]),
                "pattern": c.is_pattern,
            } for c in clusters],
            "topology": [[a.hex(), b.hex()] for a, b in patterns.compute_topology(clusters)],
        }
    if kind == "salience":
        steps = query.int("steps") if query.has("steps") else salience.STEPS
        require(0 <= steps <= salience.MAX_STEPS, "ENG-042", ErrorCode.E_BAD_REQUEST,
                f"steps must be from 0 to {salience.MAX_STEPS}")
        nodes, values = view.compute_salience(steps)
        return {"nodes": [n.hex() for n in nodes], "salience": f32(values)}
    if kind == "audits":
        return {"audits": [{"id": a.id.hex(), "type": a.type, "verdict": a.verdict}
                           for a in view.compute_audits()]}
    raise SpecViolation("ENG-042", ErrorCode.E_BAD_REQUEST,
                        f"unknown query {kind!r}; known: {', '.join(QUERY_KINDS)}")


@command("engine.embed")
def engine_embed(args: Args) -> dict[str, Any]:
    """The reference embedding of a text (section 3)."""
    vector = embedding.compute_embedding(args.text("text"))
    return {**f32(vector), "model": embedding.MODEL_ID}


@command("engine.run")
def engine_run(args: Args) -> dict[str, Any]:
    """Append ops to a fresh log (the first rejection fails the command), then answer each
    query over the engine projection of the applied ops (section 6)."""
    log = oplog.OpLog()
    now_ms = args.int("now_ms")
    items = args.list("ops")
    queries = args.list("queries") if args.has("queries") else []
    # The projection is kept incrementally, as a live node keeps it: each append's applied
    # ops (the op and the held ops it released) are applied as they arrive [DM-022].
    view = projection.EngineProjection()
    _ = view.store  # build the (empty) vector store now, so that apply() keeps it too
    for index, item in enumerate(items):
        data = Args({"op": item}).bytes("op")
        try:
            outcome = log.append(data, now_ms)
        except SpecViolation as violation:
            raise SpecViolation(violation.requirement, violation.code,
                                f"op {index}: {violation.message}") from None
        for op in outcome.applied:
            view.apply(op)
    if log.count_redecided() or projections.count_quarantined(log):
        # an original replaced its sanitized form (spec/07 UCAN-048): a stored op left the
        # applied ops, which no incremental step undoes, so only a rebuild is the fold
        view = projection.EngineProjection.from_log(log)
    answers = []
    for query in queries:
        if not isinstance(query, dict):
            raise SpecViolation("ENG-042", ErrorCode.E_BAD_REQUEST, "a query is an object")
        answers.append(answer(view, Args(query)))
    return {"applied": [op.hash.hex() for op in view.ops],
            "held": [h.hex() for h, _ in log.held()],
            "answers": answers}
