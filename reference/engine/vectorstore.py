"""Chapter 11 sections 4.2 and 4.3: the vector store and exact top-k similarity search.

The score is the float64 dot product of binary32 components accumulated in index order
[ENG-026]; the order is score descending, then record id bytes ascending [ENG-027]. A
float32 matrix product preselects candidates (its summation order is BLAS's, not the
spec's), with a margin twice its error bound, so every result and every tie at the
k-th place is among the candidates; the candidates are then rescored exactly.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from reference.engine import embedding

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# Error bound of a binary32 dot product of two vectors of norm <= sqrt(1 + 2^-10), in any
# summation order: d * 2^-24 / (1 - d * 2^-24) * (1 + 2^-10) < d * 2^-23 for d <= 4096.
# Twice that (both the k-th and a candidate may be off) is the preselection margin.
EXACT_BELOW = 2048  # stores smaller than this are scored exactly without preselection


def preselect_margin(dim: int) -> float:
    """Twice the float32 dot-product error bound for `dim` components."""
    return 2.0 * dim * 2.0**-23


def score_rows(rows: F64, query: F64) -> F64:
    """Exact scores of section 4.3 for every row: products summed in index order [ENG-026].

    Each product of two binary32 values is exact in float64; `cumsum` (an accumulate, not a
    pairwise reduction) adds them strictly left to right. The spec's sum starts from +0.0,
    which only changes the sign of a zero result, so adding +0.0 at the end matches it."""
    products = rows * query  # (m, d) exact
    # equivalent mutant (arith-swap): only the sign of a zero score, equal within tolerance
    return np.cumsum(products, axis=1)[:, -1] + 0.0  # (m,)


@attrs.frozen
class Hit:
    """One search result: the embedding record, the record it embeds, and its score."""

    id: bytes
    subject: bytes
    score: float


@attrs.define
class Shelf:
    """The live vectors of one (model, dimension) pair, in insertion order."""

    dim: int
    ids: list[bytes] = attrs.field(factory=list)
    subjects: list[bytes] = attrs.field(factory=list)
    positions: list[int] = attrs.field(factory=list)  # total-order key of the creating op
    rows: list[bytes] = attrs.field(factory=list)  # the author's vector bytes (section 2.2)
    _buffer: F32 | None = None  # (capacity, dim) float32; its first len(rows) rows are live

    def append(self, record: bytes, subject: bytes, position: int, vector: bytes) -> None:
        """Add one vector; the float32 matrix grows in place (amortised doubling)."""
        self.ids.append(record)
        self.subjects.append(subject)
        self.positions.append(position)
        self.rows.append(vector)
        if self._buffer is not None:
            n = len(self.rows) - 1
            if n >= self._buffer.shape[0]:
                grown = np.empty((2 * n, self.dim), dtype=np.float32)  # (2n, d)
                grown[:n] = self._buffer[:n]
                self._buffer = grown
            self._buffer[n] = np.frombuffer(vector, dtype=">f4")

    def matrix(self) -> F32:
        """The live vectors as a float32 matrix, (n, dim)."""
        if self._buffer is None:
            flat = np.frombuffer(b"".join(self.rows), dtype=">f4")
            self._buffer = flat.astype(np.float32).reshape(len(self.rows), self.dim)
        return self._buffer[:len(self.rows)]


@attrs.define
class VectorStore:
    """Live embedding vectors by (model, dimension) (section 4.2)."""

    shelves: dict[tuple[str, int], Shelf] = attrs.field(factory=dict)
    where: dict[bytes, tuple[str, int]] = attrs.field(factory=dict)

    def add(self, record: bytes, subject: bytes, model: str, vector: bytes,
            position: int) -> None:
        """Store one embedding (its bytes as the author wrote them) [ENG-014]."""
        key = (model, len(vector) // 4)  # [ENG-015] compared only within one model and count
        # [ENG-023] each vector under its record id, with its subject, model and count
        self.shelves.setdefault(key, Shelf(key[1])).append(record, subject, position, vector)
        self.where[record] = key

    def remove(self, records: set[bytes]) -> None:
        """Drop invalidated embeddings (section 4.1) [ENG-022]."""
        for key in {self.where[r] for r in records if r in self.where}:
            shelf = self.shelves[key]
            keep = [i for i, r in enumerate(shelf.ids) if r not in records]
            self.shelves[key] = Shelf(shelf.dim, [shelf.ids[i] for i in keep],
                                      [shelf.subjects[i] for i in keep],
                                      [shelf.positions[i] for i in keep],
                                      [shelf.rows[i] for i in keep])
        # A stale `where` entry is read only by get_vector, which the driver reaches only on
        # audit prefixes rebuilt from ops (never removed from), and by remove(), where it
        # rebuilds a shelf without the record again: no driver answer can show it.
        # equivalent mutant (stmt-remove): no driver answer reads a removed record's `where`
        for r in records:
            self.where.pop(r, None)  # equivalent mutant (stmt-remove): as the loop above

    def get_vector(self, record: bytes) -> tuple[str, bytes] | None:
        """The model and vector bytes of a live embedding record."""
        key = self.where.get(record)
        if key is None:
            return None
        shelf = self.shelves[key]
        return key[0], shelf.rows[shelf.ids.index(record)]

    def count(self) -> int:
        return len(self.where)

    def search(self, model: str, query: bytes, k: int, before: int | None = None) -> list[Hit]:
        """The top k (k >= 1) live vectors of `model` with the query's dimension; only those
        created before total-order index `before` when given (section 4.3)."""
        shelf = self.shelves.get((model, len(query) // 4))  # [ENG-024] model and count
        if shelf is None:
            return []
        q32 = np.frombuffer(query, dtype=">f4").astype(np.float32)  # (d,)
        q64 = q32.astype(np.float64)  # (d,) exact widening
        rows = np.arange(len(shelf.ids))  # (n,)
        if before is not None:  # [ENG-028] priors: the vectors created before the search
            rows = rows[np.array([p < before for p in shelf.positions], dtype=bool)]
        # a shortcut: with no candidate row the exact scores below are empty and so is the result
        # equivalent mutant (const): a shortcut, an empty row set scores to [] below as well
        if len(rows) == 0:
            return []  # equivalent mutant (stmt-remove): shortcut, no rows score to [] below
        matrix = shelf.matrix()
        # preselection keeps every row that can reach the top k (margin: twice the float32
        # error bound), so scoring every row exactly instead gives the same hits
        # equivalent mutant (stmt-remove, cmp-flip): a speed-up, exact scoring of all rows agrees
        if len(rows) > max(EXACT_BELOW, k):
            approx = matrix[rows] @ q32 if before is not None else matrix @ q32  # (m,)
            kth = float(np.partition(approx, len(approx) - k)[len(approx) - k])
            keep = approx.astype(np.float64) >= kth - preselect_margin(shelf.dim)  # (m,)
            rows = rows[keep]
        exact = score_rows(matrix[rows].astype(np.float64), q64)  # (c,)
        hits = [Hit(shelf.ids[i], shelf.subjects[i], float(s))
                for i, s in zip(rows.tolist(), exact.tolist(), strict=True)]
        hits.sort(key=lambda h: (-h.score, h.id))  # [ENG-027] ties by id bytes ascending
        return hits[:k]  # [ENG-027] cut to the first k


def compute_coupling(a: bytes, b: bytes) -> float:
    """Knowledge coupling K(a, b): the section 4.3 score of two stored vectors [ENG-031]."""
    return embedding.compute_dot(embedding.decode_vector(a), embedding.decode_vector(b))
