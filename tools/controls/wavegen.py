"""Negative controls of chapter 14: each replaces one function of `reference.wavegen`.

The harness (conformance/suites/wavegen.py and vectors/wavegen/) must fail every one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from reference.lora import hierarchy
from reference.wavegen import cache as wcache
from reference.wavegen import decode
from tools.controls import control


@control("wave-lossless-unverified", "WAVE-018",
         "lossless mode accepts a cached block without verifying it")
def lossless_unverified() -> None:
    def verify_draft(rows: torch.Tensor, draft: Sequence[int],
                     trace: decode.Trace | None = None) -> tuple[list[int], int]:
        eos = 257
        tokens = list(draft)
        if eos in tokens:
            return tokens[:tokens.index(eos) + 1], tokens.index(eos) + 1
        pick = decode._pick(rows[len(tokens)], trace)  # the model's token after the block
        return [*tokens, pick], len(tokens)

    decode.verify_draft = verify_draft


@control("wave-scope-exact-snapshot", "WAVE-004",
         "entries are keyed on the full snapshot hash, context layer included: never hit again")
def scope_exact_snapshot() -> None:
    def compute_snapshot_scope(snapshot: hierarchy.Snapshot) -> bytes:
        return snapshot.hash

    wcache.compute_snapshot_scope = compute_snapshot_scope


@control("wave-no-eviction-on-cascade", "WAVE-027",
         "a tombstone cascade leaves the entries derived from the retracted records in the cache")
def no_eviction_on_cascade() -> None:
    def invalidate_cascade(cache: wcache.Cache, retracted: Iterable[bytes]) -> list[bytes]:
        return []

    wcache.invalidate_cascade = invalidate_cascade
