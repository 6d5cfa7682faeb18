"""Negative controls of chapter 13: each replaces one function of `reference.lora`.

The harness (conformance/suites/lora.py and vectors/lora/) must fail every one.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import blake3
import torch

from reference.lora import hierarchy, model
from tools.controls import control


@control("lora-scale-alpha", "LORA-009", "adapter terms are scaled by alpha, not alpha / r")
def scale_alpha() -> None:
    def compute_layer_scale(layer: hierarchy.LayerSpec) -> float:
        return float(layer.alpha)

    hierarchy.compute_layer_scale = compute_layer_scale


@control("lora-merge-in-place", "LORA-022",
         "merging adds the adapter terms into the base weights in place, never restoring them")
def merge_in_place() -> None:
    def compute_merged_weights(base: hierarchy.BaseModel,
                               snapshot: hierarchy.Snapshot) -> dict[str, torch.Tensor]:
        merged = dict(base.weights)
        for t in hierarchy.TARGETS:
            w = base.weights[t]
            for layer in snapshot.layers:
                w.add_(hierarchy.compute_layer_scale(layer.spec) * (layer.b[t] @ layer.a[t]))
            merged[t] = w
        return merged

    hierarchy.compute_merged_weights = compute_merged_weights


@control("lora-hash-over-floats", "LORA-019", "the provenance hash also covers the B matrices")
def hash_over_floats() -> None:
    original = hierarchy.compute_snapshot_hash

    def compute_snapshot_hash(base_model_id: str,
                              layers: Sequence[hierarchy.LayerSnapshot]) -> bytes:
        h = blake3.blake3(original(base_model_id, layers))
        for layer in layers:
            for t in sorted(layer.b):
                h.update(layer.b[t].detach().cpu().numpy().tobytes())
        return h.digest()

    hierarchy.compute_snapshot_hash = compute_snapshot_hash


@control("lora-hash-sorted-ops", "LORA-018", "op ids are sorted before hashing: order is lost")
def hash_sorted_ops() -> None:
    original = hierarchy.compute_provenance_hash

    def compute_provenance_hash(base_model_id: str,
                                layers: Sequence[tuple[str, Sequence[bytes]]]) -> bytes:
        return original(base_model_id, [(name, sorted(ops)) for name, ops in layers])

    hierarchy.compute_provenance_hash = compute_provenance_hash


@control("lora-snapshot-shallow", "LORA-016",
         "a snapshot shares the live tensors, so later updates reach it")
def snapshot_shallow() -> None:
    def freeze(h: hierarchy.Hierarchy) -> hierarchy.Snapshot:
        layers = tuple(hierarchy.LayerSnapshot(s.spec, tuple(s.ops), MappingProxyType(s.a),
                                               MappingProxyType(s.b))
                       for s in h.layers.values())
        return hierarchy.Snapshot(h.base.model_id, layers,
                                  hierarchy.compute_snapshot_hash(h.base.model_id, layers))

    hierarchy.freeze = freeze


@control("lora-argmax-tie-largest", "LORA-026", "equal largest logits pick the largest id")
def argmax_tie_largest() -> None:
    original = model.select_greedy_token

    def select_greedy_token(logits: Sequence[float]) -> int:
        original(logits)  # the same checks of empty and non-finite logits
        best = max(logits)
        return max(i for i, v in enumerate(logits) if v == best)

    model.select_greedy_token = select_greedy_token
