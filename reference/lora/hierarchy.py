"""Chapter 13: the five-layer LoRA hierarchy, updates, replay, snapshots, the provenance hash
and the forward passes through a snapshot (spec/13-lora-hierarchy.md sections 5 to 8).

The hierarchy is a projection of operations: each layer's adapters are its pristine
state plus the deltas of the updates it applied, and it keeps the ordered op ids of
those updates. A snapshot is a frozen deep copy for one inference; its provenance
hash covers the base model id and the op ids, never a float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import attrs
import blake3
import torch

from reference import identifiers, wire_format
from reference._require import require
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.lora import generator, model

BAD = ErrorCode.E_PAYLOAD_INVALID


@attrs.frozen
class LayerSpec:
    """One layer of the hierarchy: its name, rank r and alpha (section 5.1)."""

    name: str
    rank: int
    alpha: int


# [LORA-009] the five layers, slowest first; the order is the order of every sum.
LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("foundation", 8, 16),
    LayerSpec("domain", 8, 16),
    LayerSpec("swarm", 4, 8),
    LayerSpec("agent", 4, 8),
    LayerSpec("context", 2, 4),
)
LAYER_NAMES: tuple[str, ...] = tuple(layer.name for layer in LAYERS)
TARGET_KINDS: tuple[str, ...] = ("attn.q", "attn.k", "attn.v", "attn.o", "mlp.up", "mlp.down")


def get_targets(config: model.Config = model.CONFIG) -> tuple[str, ...]:
    """The adapted matrices, block by block, in TARGET_KINDS order (section 5.2)."""
    return tuple(f"blocks.{i}.{kind}" for i in range(config.n_blocks) for kind in TARGET_KINDS)


TARGETS = get_targets()
TARGET_SHAPES: dict[str, tuple[int, int]] = {
    s.name: (s.shape[0], s.shape[1]) for s in model.get_tensor_specs() if s.name in TARGETS
}


def compute_layer_scale(layer: LayerSpec) -> float:
    """s = alpha / r, the PEFT scale of a layer's adapter terms [LORA-009]."""
    return layer.alpha / layer.rank


def get_a_name(layer: str, target: str) -> str:
    """The generator name of a pristine A matrix [LORA-010]."""
    return f"lora/{layer}/{target}/A"


@attrs.frozen
class BaseModel:
    """A loaded base model: seed, id, pristine weights and pristine A matrices."""

    seed: bytes
    model_id: str
    weights: Mapping[str, torch.Tensor]
    pristine_a: Mapping[tuple[str, str], torch.Tensor]
    device: str


def load_base_model(seed: bytes, device: str = "cpu") -> BaseModel:
    """Build the base model of `seed` and the pristine A of every layer and target [LORA-010]."""
    model_id = model.compute_model_id(seed)  # checks the seed (LORA-002) before any generation
    weights = model.load_weights(seed, device)
    pristine: dict[tuple[str, str], torch.Tensor] = {}
    for layer in LAYERS:
        for target in TARGETS:
            _, fan_in = TARGET_SHAPES[target]
            # [LORA-010] A (r, in) from the generator at scale 1/sqrt(in).
            values = generator.generate_values(seed, get_a_name(layer.name, target),
                                               layer.rank * fan_in,
                                               generator.compute_scale(fan_in))
            pristine[(layer.name, target)] = torch.tensor(
                values, dtype=torch.float32, device=device).reshape(layer.rank, fan_in)
    return BaseModel(seed, model_id, MappingProxyType(weights),
                     MappingProxyType(pristine), device)


# --- the live hierarchy (section 5) -------------------------------------------


@attrs.define
class LayerState:
    """A layer's adapters and the op ids it applied, in order."""

    spec: LayerSpec
    a: dict[str, torch.Tensor]  # target -> (r, in)
    b: dict[str, torch.Tensor]  # target -> (out, r)
    ops: list[bytes]


@attrs.define
class Hierarchy:
    """The five layers over one base model."""

    base: BaseModel
    layers: dict[str, LayerState]


@attrs.frozen
class Update:
    """One adapter update: the delta of one op to one target of one layer (section 5.4)."""

    layer: str
    target: str
    op_id: bytes
    delta_b: torch.Tensor  # (out, r)
    delta_a: torch.Tensor | None  # (r, in), or no change to A


def new_hierarchy(base: BaseModel) -> Hierarchy:
    """The pristine hierarchy: A from the generator, B exactly zero, no ops [LORA-010]."""
    layers = {}
    for spec in LAYERS:
        # [LORA-015] a copy: updates never write the pristine A, so any rebuild starts from it
        a = {t: base.pristine_a[(spec.name, t)].clone() for t in TARGETS}
        b = {t: torch.zeros(TARGET_SHAPES[t][0], spec.rank, dtype=torch.float32,
                            device=base.device) for t in TARGETS}
        layers[spec.name] = LayerState(spec, a, b, [])
    return Hierarchy(base, layers)


def get_target_shape(h: Hierarchy, layer: str, target: str) -> tuple[int, int, int]:
    """(out, in, r) of an adapter; checks the layer, then the target [LORA-011]."""
    require(layer in h.layers, "LORA-011", BAD,
            f"no layer {layer!r}; the layers are {', '.join(LAYER_NAMES)}")
    require(target in TARGET_SHAPES, "LORA-011", BAD, f"no adapted matrix {target!r}")
    out, fan_in = TARGET_SHAPES[target]
    return out, fan_in, h.layers[layer].spec.rank


def check_op_id(h: Hierarchy, layer: str, op_id: bytes) -> None:
    """An OpId (step 3 of LORA-011), which the layer has not applied unless it is its last op."""
    identifiers.check_id_bytes(IdKind.OP, op_id)
    ops = h.layers[layer].ops
    require(op_id not in ops or ops[-1] == op_id, "LORA-012", BAD,
            f"layer {layer!r} applied op {op_id.hex()} before other ops; an op is applied once")


def apply_update(h: Hierarchy, layer: str, target: str, delta_b: torch.Tensor,
                 delta_a: torch.Tensor | None, op_id: bytes) -> None:
    """Add one op's deltas to one adapter and record the op id (section 5.4) [LORA-014]."""
    out, fan_in, r = get_target_shape(h, layer, target)  # [LORA-011] layer, then target
    # Every caller checked the op id already: the driver before generating the deltas (so an
    # overflowing delta cannot come first), the learning projection with op ids of stored ops.
    # equivalent mutant (stmt-remove): no input reaches here with an op id that fails it
    check_op_id(h, layer, op_id)  # [LORA-011] then the op id, [LORA-012] its position
    # The driver generates delta_B in the shape (out, r), and so does the learning projection.
    # equivalent mutant (require-true, stmt-remove): no driver input gives delta_B another shape
    require(tuple(delta_b.shape) == (out, r), "LORA-011", BAD,
            f"delta_B of {target!r} in {layer!r} is ({out}, {r}), got {tuple(delta_b.shape)}")
    # The driver generates delta_A in the shape (r, fan_in): no driver input reaches this.
    # equivalent mutant (require-true, stmt-remove): no driver input gives delta_A another shape
    require(delta_a is None or tuple(delta_a.shape) == (r, fan_in), "LORA-011", BAD,
            f"delta_A of {target!r} in {layer!r} is ({r}, {fan_in})")
    state = h.layers[layer]
    new_b = state.b[target] + delta_b.to(state.b[target])  # (out, r), binary32 sums
    new_a = None if delta_a is None else state.a[target] + delta_a.to(state.a[target])  # (r, in)
    require(bool(torch.isfinite(new_b).all()) and
            (new_a is None or bool(torch.isfinite(new_a).all())), "LORA-011", BAD,
            f"the update makes {target!r} in {layer!r} non-finite")
    # [LORA-013] every check passed: only now does the state change.
    state.b[target].copy_(new_b)  # in place: a snapshot must hold its own copy [LORA-016]
    if new_a is not None:
        state.a[target].copy_(new_a)
    if not state.ops or state.ops[-1] != op_id:  # [LORA-014] one entry per op
        state.ops.append(op_id)


# --- snapshots and provenance (section 6) -------------------------------------


@attrs.frozen
class LayerSnapshot:
    """A frozen copy of one layer."""

    spec: LayerSpec
    ops: tuple[bytes, ...]
    a: Mapping[str, torch.Tensor]
    b: Mapping[str, torch.Tensor]


@attrs.frozen
class Snapshot:
    """A frozen copy of every layer, for one inference, and its provenance hash."""

    base_model_id: str
    layers: tuple[LayerSnapshot, ...]
    hash: bytes


def compute_provenance_hash(base_model_id: str,
                            layers: Sequence[tuple[str, Sequence[bytes]]]) -> bytes:
    """BLAKE3-256 of canonical CBOR {"base", "layers": [[name, [op ids]]...]} [LORA-018]."""
    # Both callers (freeze, lora.snapshot_hash) build the list from LAYER_NAMES, in order.
    # equivalent mutant (stmt-remove, require-true): callers pass the five layers in order
    require([name for name, _ in layers] == list(LAYER_NAMES), "LORA-018", BAD,
            "a provenance hash lists the five layers in order")
    value: wire_format.Value = {
        "base": base_model_id,
        "layers": [[name, list(ops)] for name, ops in layers],
    }
    return blake3.blake3(wire_format.encode_canonical(value)).digest()


def compute_snapshot_hash(base_model_id: str, layers: Sequence[LayerSnapshot]) -> bytes:
    """The provenance hash of frozen layers: op ids only, never a weight [LORA-019]."""
    return compute_provenance_hash(base_model_id, [(x.spec.name, x.ops) for x in layers])


def freeze(h: Hierarchy) -> Snapshot:
    """A deep copy of every layer that later updates never change [LORA-016]."""
    layers = tuple(
        LayerSnapshot(
            s.spec,
            tuple(s.ops),
            MappingProxyType({t: x.clone() for t, x in s.a.items()}),
            MappingProxyType({t: x.clone() for t, x in s.b.items()}),
        )
        for s in h.layers.values()
    )
    return Snapshot(h.base.model_id, layers, compute_snapshot_hash(h.base.model_id, layers))


# --- forward through a snapshot (section 7) -----------------------------------


def get_adapters(snapshot: Snapshot) -> dict[str, list[model.AdapterTerm]]:
    """Every target's adapter terms (s, A, B), in layer order [LORA-020]."""
    return {t: [(compute_layer_scale(layer.spec), layer.a[t], layer.b[t])
                for layer in snapshot.layers]
            for t in TARGETS}


def compute_merged_weights(base: BaseModel, snapshot: Snapshot) -> dict[str, torch.Tensor]:
    """W' = W + s_l B_l A_l summed in layer order, from the pristine W every time [LORA-022]."""
    merged = dict(base.weights)  # untouched tensors are shared, never written
    for t in TARGETS:
        w = base.weights[t]  # (out, in), pristine
        for layer in snapshot.layers:
            ba = layer.b[t] @ layer.a[t]  # (out, r) @ (r, in) -> (out, in)
            w = w + compute_layer_scale(layer.spec) * ba  # (out, in)
        merged[t] = w  # (out, in), a new tensor
    return merged


def forward_unmerged(base: BaseModel, snapshot: Snapshot, tokens: Sequence[int]) -> torch.Tensor:
    """Last-position logits (V,) with the adapter terms summed per matrix [LORA-020]."""
    return model.forward_last(tokens, base.weights, get_adapters(snapshot))


def forward_merged(base: BaseModel, snapshot: Snapshot, tokens: Sequence[int]) -> torch.Tensor:
    """Last-position logits (V,) through the merged weights [LORA-022] [LORA-023]."""
    return model.forward_last(tokens, compute_merged_weights(base, snapshot))


def generate(base: BaseModel, snapshot: Snapshot, prompt: str, max_tokens: int) -> list[int]:
    """Greedy decoding of one inference through one snapshot, merged once [LORA-017]."""
    tokens = model.encode_prompt(prompt)
    merged = compute_merged_weights(base, snapshot)  # [LORA-017] fixed before the first step

    def step(sequence: list[int]) -> torch.Tensor:
        return model.forward_last(sequence, merged)  # (V,)

    return model.decode_greedy(step, tokens, max_tokens)


# --- deltas named by label (section 9) ------------------------------------------


def generate_delta(base: BaseModel, shape: tuple[int, int], label: str,
                   scale: float) -> torch.Tensor:
    """A delta of `shape`: the generator's stream "update/<label>" at `scale` (section 9.2)."""
    values = generator.generate_values(base.seed, f"update/{label}", shape[0] * shape[1], scale)
    return torch.tensor(values, dtype=torch.float32, device=base.device).reshape(shape)
