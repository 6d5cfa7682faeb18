"""Chapter 11 section 4.7: pattern clusters, recomputed from the log in total order.

Leader clustering: each live embedding, in the total order of its creating op, joins
the cluster whose centroid scores highest against it if that score is at least
JOIN_SCORE (ties to the smallest cluster id), else founds a cluster named by its own
record id. A centroid is the float64 sum of its members, accumulated in member order,
divided by its float64 norm, rounded to binary32, so every score against it is an exact
section 4.3 score [ENG-032] [ENG-033].
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from reference.engine import embedding
from reference.engine.embedding import Vector

JOIN_SCORE = 0.8  # a vector joins a cluster whose centroid scores at least this
PATTERN_MIN_MEMBERS = 3  # a cluster with this many live members is a pattern
TOPOLOGY_SCORE = 0.5  # two clusters whose centroids score at least this are adjacent


@attrs.define
class Cluster:
    """One cluster: named by its founding embedding record, members in total order."""

    id: bytes
    model: str
    members: list[bytes]
    sums: list[float]  # float64 component sums of the members, in member order
    centroid: Vector  # binary32 values
    vectors: list[Vector] = attrs.field(factory=list)

    @property
    def is_pattern(self) -> bool:
        """Whether the cluster has become a pattern (section 4.7) [ENG-035]."""
        return len(self.members) >= PATTERN_MIN_MEMBERS


def compute_centroid(sums: Sequence[float], founder: Vector) -> Vector:
    """sums / ||sums|| in float64, rounded to binary32; the founder's vector if the norm is
    0 (section 4.7) [ENG-033]."""
    square_sum = 0.0
    for s in sums:  # index order, each operation rounded on its own
        square_sum += s * s
    norm = math.sqrt(square_sum)
    # unreachable: a vector joins only when its score against the centroid (the sums over
    # their norm) is >= JOIN_SCORE > 0, so |sums + v|^2 = |sums|^2 + 2 v.sums + |v|^2 > 0
    # equivalent mutant (stmt-remove): unreachable, a joiner scores > 0: the norm is not 0
    if norm == 0.0:
        return founder  # equivalent mutant (stmt-remove): unreachable, see above
    return tuple(embedding.round_f32(s / norm) for s in sums)


def assign(clusters: list[Cluster], record: bytes, model: str, vector: Vector) -> Cluster:
    """Add one vector to the clusters: join the best at or above JOIN_SCORE, else found
    (section 4.7) [ENG-032]."""
    best: Cluster | None = None
    best_score = -math.inf
    for cluster in clusters:
        score = embedding.compute_dot(vector, cluster.centroid)  # [ENG-026] exact score
        if score > best_score or (score == best_score and best is not None
                                  # equivalent mutant (cmp-flip): clusters are named by their
                                  # founders' distinct record ids, so two ids never tie
                                  and cluster.id < best.id):
            best, best_score = cluster, score
    if best is None or best_score < JOIN_SCORE:
        founded = Cluster(record, model, [record], [float(x) for x in vector], vector, [vector])
        clusters.append(founded)
        return founded
    best.members.append(record)
    best.vectors.append(vector)
    best.sums = [s + x for s, x in zip(best.sums, vector, strict=True)]
    best.centroid = compute_centroid(best.sums, best.vectors[0])
    return best


def compute_weight(cluster: Cluster) -> float:
    """The weight of a cluster: the sum, in member order, of each member's score against
    the centroid (section 4.7) [ENG-034]."""
    weight = 0.0
    for vector in cluster.vectors:
        weight += embedding.compute_dot(vector, cluster.centroid)
    return weight


def compute_clusters(entries: Sequence[tuple[bytes, str, Vector]]) -> list[Cluster]:
    """Cluster live embeddings given in total order as (record, model, vector); vectors of
    different models or dimensions never share a cluster. Clusters in founding order."""
    groups: dict[tuple[str, int], list[Cluster]] = {}
    order: list[Cluster] = []
    for record, model, vector in entries:
        group = groups.setdefault((model, len(vector)), [])  # [ENG-015]
        before = len(group)
        cluster = assign(group, record, model, vector)
        if len(group) > before:
            order.append(cluster)
    return order


def compute_topology(clusters: Sequence[Cluster]) -> list[tuple[bytes, bytes]]:
    """Edges [a, b] (a < b by bytes) between clusters of one model and dimension whose
    centroids score at least TOPOLOGY_SCORE, sorted ascending (section 4.7) [ENG-035]."""
    edges: list[tuple[bytes, bytes]] = []
    for i, a in enumerate(clusters):
        for b in clusters[i + 1:]:
            if a.model != b.model or len(a.centroid) != len(b.centroid):
                continue
            if embedding.compute_dot(a.centroid, b.centroid) >= TOPOLOGY_SCORE:
                edges.append((min(a.id, b.id), max(a.id, b.id)))
    return sorted(edges)
