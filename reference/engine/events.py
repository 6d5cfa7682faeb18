"""Chapter 11 section 2: the engine's payload variants, registered with chapter 02.

Every variant creates one engine record, named by its `event` field (an ArtifactId),
and lists in `supports` every record it derives from, so chapter 01's provenance
graph, holding and cascade reach it. RECORDED variants are facts (what a model or a
user produced); DERIVED variants are audit records that the projection recomputes
and cross-checks (section 4.9) and that never change projection state.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Literal, cast

import attrs

from reference import operations
from reference._require import require
from reference.engine import embedding
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.operations import Check, _field, check_record_ref, check_refs, check_text
from reference.wire_format import Value

BAD = ErrorCode.E_PAYLOAD_INVALID
MAX_TEXT = 65_536  # bytes of UTF-8 in a content, prompt, response or query
MAX_COMPONENTS = 4096  # components of one vector
NORM_SLACK = 2.0**-10  # allowed |sum of squares - 1| of a vector (section 2.2)
MAX_K = 1024  # largest k of a search
MAX_STEPS = 1024  # largest number of salience steps
MAX_EDGES = 4096  # pairs in a topology graph
MAX_LIST = operations.MAX_LIST

Role = Literal["recorded", "derived"]


# --- field types (section 2.2) -----------------------------------------------------------


def _is_float(value: Value) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def check_unit(name: str, value: Value) -> None:
    """A float from 0 to 1 inclusive [ENG-002]."""
    require(_is_float(value) and 0.0 <= cast(float, value) <= 1.0, "ENG-002", BAD,
            f"{name!r} is not a float from 0 to 1")


def check_signed(name: str, value: Value) -> None:
    """A float from -1 to 1 inclusive [ENG-003]."""
    require(_is_float(value) and -1.0 <= cast(float, value) <= 1.0, "ENG-003", BAD,
            f"{name!r} is not a float from -1 to 1")


def check_weight(name: str, value: Value) -> None:
    """A float not below 0 [ENG-004]."""
    require(_is_float(value) and cast(float, value) >= 0.0, "ENG-004", BAD,
            f"{name!r} is not a float of at least 0")


def check_vector(name: str, value: Value) -> None:
    """Binary32 big-endian components, 1 to 4096 of them, finite, of unit norm (section 2.2);
    each rule cites its own id on its line."""
    require(isinstance(value, bytes) and len(value) % 4 == 0 and value != b""
            and len(value) // 4 <= MAX_COMPONENTS, "ENG-005", BAD,
            f"{name!r} is not a byte string of 1 to {MAX_COMPONENTS} binary32 values")
    data = cast(bytes, value)
    components = struct.unpack(f">{len(data) // 4}f", data)
    # equivalent mutant (require-true): a NaN or infinite component makes the squared norm
    # NaN or infinite, which the field-type check below (section 2.2) rejects with the same
    # E_PAYLOAD_INVALID
    require(all(math.isfinite(x) for x in components), "ENG-005", BAD,
            f"{name!r} holds a NaN or infinite component")
    square_sum = 0.0
    for x in components:  # [ENG-006] float64, index order, each operation rounded
        square_sum += x * x
    require(abs(square_sum - 1.0) <= NORM_SLACK, "ENG-006", BAD,
            f"{name!r} has squared norm {square_sum!r}, not within 2^-10 of 1")


def check_count(minimum: int, maximum: int) -> Check:
    """An integer from `minimum` to `maximum` inclusive [ENG-009]."""

    def check(name: str, value: Value) -> None:
        require(isinstance(value, int) and not isinstance(value, bool)
                and minimum <= value <= maximum, "ENG-009", BAD,
                f"{name!r} is not an integer from {minimum} to {maximum}")

    return check


def check_ranked(minimum: int, maximum: int) -> Check:
    """An array of record references in rank order, without repeats [ENG-007]."""

    def check(name: str, value: Value) -> None:
        require(isinstance(value, list) and minimum <= len(value) <= maximum, "ENG-007", BAD,
                f"{name!r} is not an array of {minimum} to {maximum} references")
        refs = cast(list[Value], value)
        for ref in refs:
            check_record_ref(name, ref)
        require(len(set(cast(list[bytes], refs))) == len(refs), "ENG-007", BAD,
                f"{name!r} repeats a reference")

    return check


def check_graph(name: str, value: Value) -> None:
    """Undirected edges [a, b] with a < b, sorted ascending, without repeats [ENG-008]."""
    require(isinstance(value, list) and len(value) <= MAX_EDGES, "ENG-008", BAD,
            f"{name!r} is not an array of at most {MAX_EDGES} edges")
    edges: list[tuple[bytes, bytes]] = []
    for item in cast(list[Value], value):
        require(isinstance(item, list) and len(item) == 2, "ENG-008", BAD,
                f"each edge of {name!r} is an array of two references")
        pair = cast(list[Value], item)
        check_record_ref(name, pair[0])
        check_record_ref(name, pair[1])
        a, b = cast(bytes, pair[0]), cast(bytes, pair[1])
        require(a < b, "ENG-008", BAD, f"an edge of {name!r} is not written [smaller, larger]")
        edges.append((a, b))
    require(all(x < y for x, y in zip(edges, edges[1:], strict=False)), "ENG-008", BAD,
            f"{name!r} is not sorted ascending without repeats")


_event = _field(operations.check_id(IdKind.ARTIFACT))
_text = check_text(0, MAX_TEXT)
_model = check_text(1, 128)
_supports0 = check_refs(0, MAX_LIST)
_supports1 = check_refs(1, MAX_LIST)


# --- the rules between fields (section 2.3) ---------------------------------------------


def get_named_records(payload: Any) -> list[bytes]:
    """Every record a payload names outside `event` and `supports` (section 2.3)."""
    named: list[bytes] = []
    for name in ("subject", "prior", "cited", "cluster"):
        value = getattr(payload, name, None)
        if isinstance(value, bytes):
            named.append(value)
    for name in ("priors", "members"):
        named.extend(cast(list[bytes], getattr(payload, name, [])))
    for a, b in cast(list[list[bytes]], getattr(payload, "graph", [])):
        named.extend((a, b))
    return named


def check_engine_rules(payload: Any) -> None:
    """The rules between fields, after every field check, in this order (section 2.3) [ENG-013]."""
    supports = set(cast(list[bytes], payload.supports))
    for record in get_named_records(payload):  # [ENG-010]
        require(record in supports, "ENG-010", BAD,
                f"{type(payload).__name__} names {record.hex()} but does not list it in supports")
    vector = getattr(payload, "vector", None)
    if vector is None:
        vector = getattr(payload, "centroid", None)
    if vector is not None and payload.model == embedding.MODEL_ID:  # [ENG-011]
        require(len(vector) == 4 * embedding.DIM, "ENG-011", BAD,
                f"a {embedding.MODEL_ID} vector has {embedding.DIM} components, "
                f"not {len(vector) // 4}")
    other = getattr(payload, "prior", None) or getattr(payload, "cited", None)
    if other is not None:  # [ENG-012]
        require(other != payload.subject, "ENG-012", BAD,
                f"{type(payload).__name__} relates a record to itself")


class _Rules:
    """Runs the cross-field rules when parse_payload builds the variant [ENG-013]."""

    def __attrs_post_init__(self) -> None:
        check_engine_rules(self)


# --- the variants (section 2.1) ---------------------------------------------------------

ROLE: dict[str, Role] = {}  # variant name -> recorded or derived
NODE_VARIANTS: set[str] = set()  # engine variants whose record is a salience node (section 4.8)


def engine_variant(role: Role, node: bool = False) -> Any:
    """Register an engine variant with chapter 02 (it creates the record in `event`) and note
    its role (section 2.1)."""

    def register(cls: type[Any]) -> type[Any]:
        operations.register_variant(creates="event")(cls)  # [ENG-001] the table of section 2.1
        ROLE[cls.__name__] = role  # [ENG-040] derived variants get an audit verdict
        if node:  # [ENG-036] the variants marked as salience nodes
            NODE_VARIANTS.add(cls.__name__)
        return cls

    return register


@engine_variant("recorded", node=True)
@attrs.frozen
class EngineContentReceived(_Rules):
    """contentReceived(text): content entered the engine."""

    event: bytes = _event
    text: str = _field(_text)
    supports: list[bytes] = _field(_supports0)


@engine_variant("recorded")
@attrs.frozen
class EngineEmbeddingGenerated(_Rules):
    """embeddingGenerated([Float]): a model embedded a record's text."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    model: str = _field(_model)
    vector: bytes = _field(check_vector)
    supports: list[bytes] = _field(_supports1)


@engine_variant("recorded", node=True)
@attrs.frozen
class EngineGenerationStarted(_Rules):
    """generationStarted(prompt): a model was asked to generate."""

    event: bytes = _event
    prompt: str = _field(_text)
    model: str = _field(_model)
    supports: list[bytes] = _field(_supports0)


@engine_variant("recorded", node=True)
@attrs.frozen
class EngineResponseGenerated(_Rules):
    """responseGenerated(content): the response of a generation."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    content: str = _field(_text)
    supports: list[bytes] = _field(_supports1)


@engine_variant("recorded")
@attrs.frozen
class EngineConfidenceCalculated(_Rules):
    """confidenceCalculated(score): a model's confidence in a record."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    score: float = _field(check_unit)
    supports: list[bytes] = _field(_supports1)


@engine_variant("recorded")
@attrs.frozen
class EnginePriorRelevanceAnalyzed(_Rules):
    """priorRelevanceAnalyzed(score): a model judged how relevant a prior is to a record."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    prior: bytes = _field(check_record_ref)
    score: float = _field(check_unit)
    supports: list[bytes] = _field(_supports1)


@engine_variant("recorded")
@attrs.frozen
class EngineCitationQualityMeasured(_Rules):
    """citationQualityMeasured(score): a model judged a record's citation of another."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    cited: bytes = _field(check_record_ref)
    score: float = _field(check_unit)
    supports: list[bytes] = _field(_supports1)


@engine_variant("recorded", node=True)
@attrs.frozen
class EnginePatternRecognized(_Rules):
    """patternRecognized(pattern): a model named a pattern among the records it supports."""

    event: bytes = _event
    label: str = _field(check_text(1, 256))
    model: str = _field(_model)
    supports: list[bytes] = _field(_supports1)


@engine_variant("recorded")
@attrs.frozen
class EngineFeedbackReceived(_Rules):
    """feedbackReceived(rating): a user rated a record."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    rating: float = _field(check_signed)
    supports: list[bytes] = _field(_supports1)


@engine_variant("recorded")
@attrs.frozen
class EngineContextUpdated(_Rules):
    """contextUpdated(embedding): a model's context state, as a vector."""

    event: bytes = _event
    model: str = _field(_model)
    vector: bytes = _field(check_vector)
    supports: list[bytes] = _field(_supports0)


@engine_variant("recorded", node=True)
@attrs.frozen
class EngineSimilaritySearchStarted(_Rules):
    """similaritySearchStarted(query): a search was issued, with its query vector."""

    event: bytes = _event
    query: str = _field(_text)
    model: str = _field(_model)
    vector: bytes = _field(check_vector)
    k: int = _field(check_count(1, MAX_K))
    supports: list[bytes] = _field(_supports0)


@engine_variant("derived")
@attrs.frozen
class EngineVectorStored(_Rules):
    """vectorStored(hash): an embedding is in the store; hash = BLAKE3 of its vector bytes."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    hash: bytes = _field(operations.check_hash)
    supports: list[bytes] = _field(_supports1)


@engine_variant("derived")
@attrs.frozen
class EnginePriorsFound(_Rules):
    """priorsFound(count, relevance): the priors of a search (section 4.4)."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    count: int = _field(check_count(0, MAX_K))
    relevance: float = _field(check_weight)
    supports: list[bytes] = _field(_supports1)


@engine_variant("derived")
@attrs.frozen
class EngineResultsReturned(_Rules):
    """resultsReturned([Prior]): the priors of a search, in rank order."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    priors: list[bytes] = _field(check_ranked(0, MAX_LIST - 1))
    supports: list[bytes] = _field(_supports1)


@engine_variant("derived")
@attrs.frozen
class EnginePatternDetected(_Rules):
    """patternDetected(Pattern): a cluster has become a pattern (section 4.7)."""

    event: bytes = _event
    cluster: bytes = _field(check_record_ref)
    members: list[bytes] = _field(check_refs(1, MAX_LIST))
    supports: list[bytes] = _field(_supports1)


@engine_variant("derived")
@attrs.frozen
class EngineClusterFormed(_Rules):
    """clusterFormed(centroid): a cluster and its centroid (section 4.7)."""

    event: bytes = _event
    cluster: bytes = _field(check_record_ref)
    model: str = _field(_model)
    centroid: bytes = _field(check_vector)
    supports: list[bytes] = _field(_supports1)


@engine_variant("derived")
@attrs.frozen
class EngineTopologyUpdated(_Rules):
    """topologyUpdated(Graph): the edges between the clusters of one model (section 4.7)."""

    event: bytes = _event
    model: str = _field(_model)
    graph: list[list[bytes]] = _field(check_graph)
    supports: list[bytes] = _field(_supports0)


@engine_variant("derived")
@attrs.frozen
class EnginePatternStrengthened(_Rules):
    """patternStrengthened(weight): a cluster's weight (section 4.7)."""

    event: bytes = _event
    cluster: bytes = _field(check_record_ref)
    weight: float = _field(check_weight)
    supports: list[bytes] = _field(_supports1)


@engine_variant("derived")
@attrs.frozen
class EngineValueEvolved(_Rules):
    """valueEvolved: the value tracker's value (salience) of a record after `steps` steps."""

    event: bytes = _event
    subject: bytes = _field(check_record_ref)
    value: float = _field(check_unit)
    steps: int = _field(check_count(0, MAX_STEPS))
    supports: list[bytes] = _field(_supports1)


VECTOR_VARIANTS = ("EngineEmbeddingGenerated", "EngineContextUpdated",
                   "EngineSimilaritySearchStarted")
INPUT_VARIANTS = ("EngineFeedbackReceived", "EngineConfidenceCalculated")


def is_engine_payload(payload: object) -> bool:
    """Whether a parsed payload is one of this chapter's variants."""
    return type(payload).__name__ in ROLE


# [ENG-001] An implementation that claims the Engine class validates every `Engine...`
# payload: from here on chapter 02 no longer stores unknown `Engine...` types uninterpreted
# ([OPS-016] applies only without the class), so an unlisted one is refused with
# E_PAYLOAD_TYPE by [OPS-001].
operations.claim_prefix("Engine")
