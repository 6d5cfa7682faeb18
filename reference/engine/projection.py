"""Chapter 11 section 4: the engine projections, folded from a log's ops in total order.

`EngineProjection.from_log(log)` rebuilds everything from `OpLog.ops()`; `apply(op)`
maintains the same state incrementally (they agree: [DM-022]). The cascade closure is
computed here from the ops' own provenance edges (section 4.1), not read from any other
projection. Queries: search, priors, citations, coupling, clusters, salience, audits.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any, cast

import attrs
import blake3

from reference import operations
from reference.engine import embedding, events, patterns, salience
from reference.engine.embedding import Vector
from reference.engine.patterns import Cluster
from reference.engine.vectorstore import Hit, VectorStore
from reference.oplog import OpLog, StoredOp

PRIOR_SCORE = 0.5  # a search result is a prior when it scores at least this (section 4.4)
AUDIT_ATOL = 1e-5  # audit floats agree when |author - recomputed| <= ATOL + RTOL * |recomputed|
AUDIT_RTOL = 1e-5
CHAPTER02_NODES = frozenset({"IngestEvidence", "AssertClaim", "CreateEntity", "RecordEpisode",
                             "ProposeAction", "StartJob"})


def compute_invalidated(roots: Iterable[bytes], dependents: dict[bytes, list[bytes]]
                        ) -> set[bytes]:
    """Every cascade root and every record transitively derived from one (spec/01 section
    3.3) [ENG-022]."""
    return compute_closure(roots, dependents)


def compute_closure(roots: Iterable[bytes], dependents: dict[bytes, list[bytes]]
                    ) -> set[bytes]:
    """The roots and everything reachable from them along dependent edges, by iterative
    traversal with a visited set [DM-015]."""
    seen: set[bytes] = set()
    frontier = [r for r in roots if r not in seen]
    seen.update(frontier)
    while frontier:
        record = frontier.pop()
        for child in dependents.get(record, ()):
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return seen


@attrs.frozen
class Prior:
    """The priors of a search (section 4.4): hits at or above PRIOR_SCORE, and their mean."""

    hits: tuple[Hit, ...]
    relevance: float


@attrs.frozen
class Audit:
    """The verdict on one derived (audit) record (section 4.9)."""

    id: bytes
    type: str
    verdict: str  # "match" or "mismatch"


def _close(author: float, recomputed: float) -> bool:
    return abs(author - recomputed) <= AUDIT_ATOL + AUDIT_RTOL * abs(recomputed)


class EngineProjection:
    """The engine's read state over a set of applied ops [ENG-021]."""

    def __init__(self) -> None:
        self.ops: list[StoredOp] = []  # applied ops in total order
        self.creator: dict[bytes, StoredOp] = {}  # record -> its (earliest) creating op
        self.supports: dict[bytes, list[bytes]] = {}
        self.dependents: dict[bytes, list[bytes]] = {}
        self.roots: list[bytes] = []
        self.invalidated: set[bytes] = set()
        self._store: VectorStore | None = None

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def from_ops(cls, ops: Iterable[StoredOp]) -> EngineProjection:
        """Fold ops (any delivery order) in the total order [ENG-021] [DM-018]."""
        projection = cls()
        for op in sorted(ops, key=lambda o: o.ts):
            projection._fold(op)
        projection.invalidated = compute_invalidated(projection.roots, projection.dependents)
        return projection

    @classmethod
    def from_log(cls, log: OpLog) -> EngineProjection:
        """Rebuild from a log's applied (not quarantined, not held) ops."""
        return cls.from_ops(log.ops())

    def _fold(self, op: StoredOp) -> None:
        self.ops.append(op)
        created = operations.get_created_record(op.payload)
        if created is not None and created not in self.creator:  # [DM-034] first one wins
            self.creator[created] = op
            parents = operations.get_supports(op.payload)
            self.supports[created] = parents
            for parent in parents:
                self.dependents.setdefault(parent, []).append(created)
        root = operations.get_cascade_root(op.payload)
        if root is not None:
            self.roots.append(root)
            self.roots.extend(operations.get_cascade(op.payload))

    def apply(self, op: StoredOp) -> None:
        """Apply one more op incrementally; the result equals a rebuild [DM-022]."""
        created = operations.get_created_record(op.payload)
        # equivalent mutant (cmp-flip): applied ops never share a timestamp (chapter 01
        # section 4.3); the one exception, an original replacing its sanitized form, makes
        # engine.run rebuild
        late = bool(self.ops) and op.ts < self.ops[-1].ts
        known = created is not None and created in self.creator
        # equivalent mutant (boolop-swap): a rebuild is the fold whatever the op; `or` only
        # rebuilds more often than needed (speed, which the spec leaves free)
        if late and known:  # [DM-034] the record's creation moves earlier: rebuild
            self.__dict__.update(EngineProjection.from_ops([*self.ops, op]).__dict__)
            return
        before = set(self.invalidated)
        self._fold(op)
        if late:  # keep the ops in total order
            self.ops.pop()
            self.ops.insert(bisect.bisect(self.ops, op.ts, key=lambda o: o.ts), op)
        if created is not None and not known:
            if any(p in self.invalidated for p in self.supports[created]):
                self.invalidated.add(created)  # [ENG-022] created after its tombstone
        root = operations.get_cascade_root(op.payload)
        if root is not None:
            self.invalidated |= compute_invalidated(
                [root, *operations.get_cascade(op.payload)], self.dependents)
        if self._store is not None:
            self._store.remove(self.invalidated - before)
            if (created is not None and not known and created not in self.invalidated
                    and isinstance(op.payload, events.EngineEmbeddingGenerated)):
                self._add_embedding(self._store, op)

    # --- liveness ---------------------------------------------------------------------------

    def is_live(self, record: bytes) -> bool:
        """Created by an applied op and not invalidated (section 4.1) [ENG-022]."""
        return record in self.creator and record not in self.invalidated

    def created_ops(self, *types: str) -> list[StoredOp]:
        """The live creating ops of the given variants, in total order."""
        out = []
        for op in self.ops:
            if op.type not in types:
                continue
            record = cast(bytes, op.payload.event)  # type: ignore[union-attr]
            if self.creator.get(record) is op and record not in self.invalidated:
                out.append(op)
        return out

    # --- the vector store (sections 4.2, 4.3) --------------------------------------------------

    @staticmethod
    def _add_embedding(store: VectorStore, op: StoredOp) -> None:
        payload = cast(events.EngineEmbeddingGenerated, op.payload)
        store.add(payload.event, payload.subject, payload.model, payload.vector, _key(op))

    @property
    def store(self) -> VectorStore:
        """Live EngineEmbeddingGenerated vectors by model and dimension [ENG-023]; derived
        (audit) records never enter it [ENG-016]."""
        if self._store is None:
            self._store = VectorStore()
            for op in self.created_ops("EngineEmbeddingGenerated"):
                self._add_embedding(self._store, op)
        return self._store

    def search(self, model: str, query: bytes, k: int) -> list[Hit]:
        """Exact top-k over the live vectors of one model and dimension [ENG-024]."""
        return self.store.search(model, query, k)

    def get_search(self, record: bytes) -> events.EngineSimilaritySearchStarted | None:
        """A live recorded search, if `record` is one."""
        op = self.creator.get(record)
        if op is None or not self.is_live(record) or op.type != "EngineSimilaritySearchStarted":
            return None
        return cast(events.EngineSimilaritySearchStarted, op.payload)

    def compute_priors(self, record: bytes) -> Prior | None:
        """The priors of a recorded search: its top k among vectors created before it, kept
        when scoring at least PRIOR_SCORE; relevance is their mean (section 4.4); None when
        `record` is no live recorded search."""
        search = self.get_search(record)
        if search is None:
            return None
        # [ENG-028] a search over the vectors created before it, kept at 0.5 or more
        hits = self.store.search(search.model, search.vector, search.k,
                                 before=_key(self.creator[record]))
        priors = tuple(h for h in hits if h.score >= PRIOR_SCORE)  # [ENG-028]
        total = 0.0  # [ENG-029]
        for h in priors:  # [ENG-029] rank order
            total += h.score
        return Prior(priors, total / len(priors) if priors else 0.0)  # [ENG-029]

    # --- citations and coupling (sections 4.5, 4.6) ---------------------------------------------

    def get_citations(self, record: bytes) -> tuple[list[bytes], list[bytes]]:
        """(direct, transitive) live records citing `record`, each ascending [ENG-030]."""
        direct = sorted(r for r in self.dependents.get(record, ()) if self.is_live(r))
        closure = compute_closure([record], self.dependents) - {record}
        return direct, sorted(r for r in closure if self.is_live(r))

    def get_vector(self, record: bytes) -> tuple[str, bytes] | None:
        """The model and vector of a live vector-carrying record (section 4.6)."""
        op = self.creator.get(record)
        if op is None or not self.is_live(record) or op.type not in events.VECTOR_VARIANTS:
            return None
        payload: Any = op.payload
        return cast(str, payload.model), cast(bytes, payload.vector)

    # --- clusters (section 4.7) ---------------------------------------------------------------

    def compute_clusters(self) -> list[Cluster]:
        """Leader clusters of the live embeddings, in total order [ENG-032]."""
        entries: list[tuple[bytes, str, Vector]] = []
        for op in self.created_ops("EngineEmbeddingGenerated"):
            payload = cast(events.EngineEmbeddingGenerated, op.payload)
            entries.append((payload.event, payload.model,
                            embedding.decode_vector(payload.vector)))
        return patterns.compute_clusters(entries)

    # --- salience (section 4.8) ---------------------------------------------------------------

    def is_node(self, record: bytes) -> bool:
        """Whether a record is a salience node: a live knowledge record [ENG-036]."""
        op = self.creator.get(record)
        return (op is not None and record not in self.invalidated
                and (op.type in CHAPTER02_NODES or op.type in events.NODE_VARIANTS))

    def get_graph(self) -> tuple[list[bytes], dict[bytes, list[bytes]], dict[bytes, float]]:
        """Nodes (ascending), neighbours (ascending) and inputs I (section 4.8) [ENG-036]
        [ENG-037]."""
        nodes = sorted(r for r in self.creator if self.is_node(r))
        neighbours: dict[bytes, set[bytes]] = {n: set() for n in nodes}
        for node in nodes:
            for parent in self.supports[node]:
                if parent in neighbours:
                    neighbours[node].add(parent)
                    neighbours[parent].add(node)
        inputs: dict[bytes, float] = {}
        for op in self.created_ops(*events.INPUT_VARIANTS):  # [ENG-037] total order
            payload: Any = op.payload
            subject = cast(bytes, payload.subject)
            if subject in neighbours:
                value = payload.rating if op.type == "EngineFeedbackReceived" else payload.score
                inputs[subject] = inputs.get(subject, 0.0) + cast(float, value)
        return nodes, {n: sorted(v) for n, v in neighbours.items()}, inputs

    def compute_salience(self, steps: int = salience.STEPS) -> tuple[list[bytes], list[float]]:
        """Salience of every node after `steps` steps [ENG-038]."""
        nodes, neighbours, inputs = self.get_graph()
        return nodes, salience.compute_salience(nodes, neighbours, inputs, steps)

    # --- audits (section 4.9) -----------------------------------------------------------------

    def compute_audits(self) -> list[Audit]:
        """Each live derived record's verdict, recomputed over the ops before it, in total
        order [ENG-040]."""
        out: list[Audit] = []
        for index, op in enumerate(self.ops):
            if events.ROLE.get(op.type) != "derived":
                continue
            record = cast(bytes, op.payload.event)  # type: ignore[union-attr]
            if self.creator.get(record) is not op or record in self.invalidated:
                continue
            prefix = EngineProjection.from_ops(self.ops[:index])  # [ENG-039] its prefix
            good = prefix.check_audit(op.payload)  # [ENG-039]
            out.append(Audit(record, op.type, "match" if good else "mismatch"))
        return out

    def check_audit(self, payload: Any) -> bool:
        """Whether a derived record agrees with this (prefix) projection [ENG-039]."""
        kind = type(payload).__name__
        if kind == "EngineVectorStored":
            found = self.store.get_vector(payload.subject)
            return found is not None and blake3.blake3(found[1]).digest() == payload.hash
        if kind in ("EnginePriorsFound", "EngineResultsReturned"):
            prior = self.compute_priors(payload.subject)
            if prior is None:
                return False
            if kind == "EngineResultsReturned":
                return [h.id for h in prior.hits] == list(payload.priors)
            return len(prior.hits) == payload.count and _close(payload.relevance,
                                                               prior.relevance)
        if kind == "EngineValueEvolved":
            nodes, values = self.compute_salience(payload.steps)
            return payload.subject in nodes and _close(
                payload.value, values[nodes.index(payload.subject)])
        clusters = self.compute_clusters()
        if kind == "EngineTopologyUpdated":
            mine = [c for c in clusters if c.model == payload.model]
            return bool([list(e) for e in patterns.compute_topology(mine)] == payload.graph)
        cluster = next((c for c in clusters if c.id == payload.cluster), None)
        if cluster is None:
            return False
        if kind == "EnginePatternDetected":
            return cluster.is_pattern and sorted(cluster.members) == list(payload.members)
        if kind == "EnginePatternStrengthened":
            return _close(payload.weight, patterns.compute_weight(cluster))
        centroid = embedding.decode_vector(payload.centroid)  # EngineClusterFormed
        return (cluster.model == payload.model and len(centroid) == len(cluster.centroid)
                and all(_close(a, b) for a, b in zip(centroid, cluster.centroid, strict=True)))


def _key(op: StoredOp) -> int:
    """A sortable integer position of an op's timestamp, for `created before` tests."""
    wall, logical, node = op.ts
    return (wall << 16 | logical) << 256 | int.from_bytes(node, "big")
