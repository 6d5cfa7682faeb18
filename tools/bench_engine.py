"""Benchmark of chapter 11's reference engine: `python -m tools.bench_engine`.

1. Exact top-10 search over N stored 256-d vectors (the spec's float64 index-order scores
   and id tie rule, via float32 preselection and exact rescoring), median latency per
   query, as a ratio to a bare numpy float32 matrix-product top-k in the same run (goal:
   within 1.5x). The two must return the same ids (checked).
2. Ingest to searchable: content received -> reference embedding -> signed ops -> op log
   append -> incremental projection apply -> found by search; items per second, with the
   time split by stage.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import numpy.typing as npt

import reference.driver.engine  # noqa: F401  (registers the engine variants)
from reference import oplog
from reference.engine import embedding, projection, vectorstore
from reference.identifiers import IdKind
from tools.vectorgen._ops import OpFactory

DIM = 256
MODEL = "bench-256"


def _unit_rows(rng: np.random.Generator, n: int) -> npt.NDArray[np.float32]:
    x = rng.normal(size=(n, DIM))  # (n, d) float64
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)  # (n, d)


def bench_search(n: int, queries: int, seed: int = 0) -> dict[str, float]:
    """Median per-query latency of the reference search and of bare numpy, and their ratio."""
    rng = np.random.default_rng(seed)
    rows = _unit_rows(rng, n)  # (n, d)
    store = vectorstore.VectorStore()
    be = rows.astype(">f4")
    for i in range(n):
        record = bytes([IdKind.ARTIFACT]) + rng.bytes(16)
        store.add(record, record, MODEL, be[i].tobytes(), i)
    shelf = store.shelves[(MODEL, DIM)]
    matrix = shelf.matrix()  # built once, as a live store keeps it
    qs = _unit_rows(rng, queries)  # (q, d)

    def bare(q: npt.NDArray[np.float32]) -> list[int]:
        scores = matrix @ q  # (n,)
        top = np.argpartition(scores, n - 10)[n - 10:]
        return [int(i) for i in top[np.argsort(-scores[top])]]

    index = {record: i for i, record in enumerate(shelf.ids)}
    reference_ms, numpy_ms = [], []
    agree = 0
    for q in qs:
        q_bytes = q.astype(">f4").tobytes()
        t0 = time.perf_counter()
        hits = store.search(MODEL, q_bytes, 10)
        t1 = time.perf_counter()
        top = bare(q)
        t2 = time.perf_counter()
        reference_ms.append((t1 - t0) * 1e3)
        numpy_ms.append((t2 - t1) * 1e3)
        agree += [index[h.id] for h in hits] == top
    ref, base = statistics.median(reference_ms), statistics.median(numpy_ms)
    return {"reference_ms": ref, "numpy_ms": base, "ratio": ref / base,
            "agree": agree / queries}


def bench_ingest(n: int) -> dict[str, float]:
    """Items per second from content received to searchable, and the time per stage."""
    factory = OpFactory("bench/engine")
    log = oplog.OpLog()
    view = projection.EngineProjection()
    _ = view.store
    stages = {"embed": 0.0, "sign": 0.0, "append": 0.0, "apply": 0.0}
    texts = [f"note {i}: the {['cat', 'dog', 'owl'][i % 3]} saw {i * 7919 % 1000} stars "
             f"over the {['hill', 'sea', 'town', 'field'][i % 4]}" for i in range(n)]
    now = factory.wall_ms + 10 * n + 10_000_000
    clock = time.perf_counter

    start = clock()
    last = b""
    for text in texts:
        t0 = clock()
        content = factory.new_id(IdKind.ARTIFACT)
        received = factory.op({"type": "EngineContentReceived", "event": content,
                               "text": text, "supports": []})
        t1 = clock()
        vector = embedding.encode_vector(embedding.compute_embedding(text))
        t2 = clock()
        last = factory.new_id(IdKind.ARTIFACT)
        generated = factory.op({"type": "EngineEmbeddingGenerated", "event": last,
                                "subject": content, "model": embedding.MODEL_ID,
                                "vector": vector, "supports": [content]})
        t3 = clock()
        stages["sign"] += (t1 - t0) + (t3 - t2)
        stages["embed"] += t2 - t1
        for op_bytes in (received, generated):
            t4 = clock()
            result = log.append(op_bytes, now)
            t5 = clock()
            for op in result.applied:
                view.apply(op)
            stages["append"] += t5 - t4
            stages["apply"] += clock() - t5
    probe = embedding.encode_vector(embedding.compute_embedding(texts[-1]))
    found = view.search(embedding.MODEL_ID, probe, 1)
    elapsed = time.perf_counter() - start
    if not found or found[0].id != last:
        raise SystemExit("ingest: the last item is not searchable")
    return {"items_per_s": n / elapsed, **{k: v / n * 1e3 for k, v in stages.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ingest", type=int, default=2_000)
    args = parser.parse_args(argv)
    s = bench_search(args.vectors, args.queries)
    i = bench_ingest(args.ingest)
    print(f"{'measure':<44} {'value':>12}")
    print(f"{'-' * 44} {'-' * 12}")
    print(f"{f'search: vectors stored ({DIM}-d)':<44} {args.vectors:>12,}")
    print(f"{'search: reference exact top-10, median ms':<44} {s['reference_ms']:>12.3f}")
    print(f"{'search: bare numpy matmul top-10, median ms':<44} {s['numpy_ms']:>12.3f}")
    print(f"{'search: ratio (goal <= 1.5)':<44} {s['ratio']:>12.2f}")
    print(f"{'search: queries with identical top-10':<44} {s['agree']:>12.0%}")
    print(f"{'ingest: items (content -> searchable)':<44} {args.ingest:>12,}")
    print(f"{'ingest: items per second':<44} {i['items_per_s']:>12.0f}")
    for stage in ("embed", "sign", "append", "apply"):
        print(f"{f'ingest: {stage}, ms per item':<44} {i[stage]:>12.3f}")


if __name__ == "__main__":
    main()
