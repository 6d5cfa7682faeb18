"""Negative controls of chapter 11: each breaks one rule of `reference.engine`.

The harness (conformance/suites/engine.py and vectors/engine/) must fail every one.
"""

from __future__ import annotations

from reference.engine import projection, vectorstore
from reference.oplog import OpLog, StoredOp
from tools.controls import control


@control("engine-search-no-tiebreak", "ENG-027",
         "equal scores keep insertion (total) order instead of ascending id bytes")
def search_no_tiebreak() -> None:
    original = vectorstore.VectorStore.search

    def search(self: vectorstore.VectorStore, model: str, query: bytes, k: int,
               before: int | None = None) -> list[vectorstore.Hit]:
        hits = original(self, model, query, 1 << 30, before)
        shelf = self.shelves[(model, len(query) // 4)] if hits else None
        order = {record: i for i, record in enumerate(shelf.ids)} if shelf else {}
        hits.sort(key=lambda h: (-h.score, order[h.id]))
        return hits[:k]

    vectorstore.VectorStore.search = search  # type: ignore[method-assign]


@control("engine-tombstone-leaks", "ENG-022",
         "tombstones invalidate nothing: tombstoned vectors stay searchable and clustered")
def tombstone_leaks() -> None:
    def compute_invalidated(roots: object, dependents: object) -> set[bytes]:
        return set()

    projection.compute_invalidated = compute_invalidated


@control("engine-cluster-arrival-order", "ENG-021",
         "clusters follow the order ops arrived in, not the total order")
def cluster_arrival_order() -> None:
    original = projection.EngineProjection.apply

    def apply(self: projection.EngineProjection, op: StoredOp) -> None:
        arrival: dict[bytes, int] = self.__dict__.setdefault("_arrival", {})
        arrival.setdefault(op.hash, len(arrival))
        original(self, op)
        self.ops.sort(key=lambda o: arrival.get(o.hash, -1))

    def from_log(cls: type[projection.EngineProjection], log: OpLog
                 ) -> projection.EngineProjection:
        view = projection.EngineProjection.from_ops(log.ops())
        rows = log.db.execute("SELECT hash FROM ops WHERE quarantined = 0 ORDER BY rowid")
        position = {bytes(h): i for i, (h,) in enumerate(rows)}
        view.ops.sort(key=lambda o: position[o.hash])
        return view

    projection.EngineProjection.apply = apply  # type: ignore[method-assign]
    projection.EngineProjection.from_log = classmethod(from_log)  # type: ignore[assignment]
