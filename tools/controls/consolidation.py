"""Negative controls of chapter 15: each replaces one function of `reference.lora`.

The harness (conformance/suites/consolidation.py and vectors/consolidation/) must fail
every one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reference.lora import consolidation, projection
from tools.controls import control


@control("cons-bandwidth-overrun", "CONS-042",
         "a migration is admitted while any budget is left, even if it does not fit")
def bandwidth_overrun() -> None:
    def fits_budget(used: int, cost: int, budget: int) -> bool:
        return used < budget

    consolidation.fits_budget = fits_budget


@control("cons-queue-fifo", "CONS-037", "queues ignore priority: first enqueued, first out")
def queue_fifo() -> None:
    def order_queue(entries: Sequence[consolidation.Entry]) -> list[consolidation.Entry]:
        return list(entries)

    consolidation.order_queue = order_queue


@control("cons-seed-resonance", "CONS-046",
         "the blueprint's factor 1 + beta * alignment with beta = -0.5 amplifies conflicts")
def seed_resonance() -> None:
    def compute_resonance_factor(alignment: float) -> float:
        if alignment >= 0.0:
            return 1.0 + consolidation.ALPHA * alignment
        return 1.0 + (-0.5) * alignment  # the blueprint: beta < 0

    consolidation.compute_resonance_factor = compute_resonance_factor


@control("cons-tombstone-keeps-learning", "CONS-022",
         "the projection ignores retractions: learning derived from forgotten evidence stays")
def tombstone_keeps_learning() -> None:
    def compute_closure(roots: Iterable[bytes],
                        dependents: dict[bytes, list[bytes]]) -> set[bytes]:
        return set()

    projection.compute_closure = compute_closure
