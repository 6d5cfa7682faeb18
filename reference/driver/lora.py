"""Driver commands of chapter 13, the LoRA hierarchy (spec/13-lora-hierarchy.md section 9).

Every command builds a fresh hierarchy from the seed's pristine state and applies
the request's updates in order, so each vector case is self-contained. Base models
are cached per seed; nothing else outlives a command.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch

from reference import identifiers
from reference._require import SpecViolation, require
from reference.driver._registry import Args, command
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.lora import generator, hierarchy, model
from reference.wire_format import decode_hex

BAD = ErrorCode.E_PAYLOAD_INVALID
# The model is tiny: a pool of threads costs more than its matrix products save.
torch.set_num_threads(1)
_MODELS: dict[bytes, hierarchy.BaseModel] = {}
_MAX_CACHED = 4


def select_device() -> str:
    """`STRATA_LORA_DEVICE` (cpu, cuda or auto; cpu by default) (section 7.4) [LORA-024]."""
    wanted = os.environ.get("STRATA_LORA_DEVICE", "cpu")
    # Without CUDA every branch gives the CPU (torch reads a None device as the CPU).
    # outside the harness (cmp-flip, stmt-remove): CUDA only; test_cuda_matches_cpu
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    # outside the harness (stmt-remove): CUDA only; test_cuda_matches_cpu
    return wanted


def _base(args: Args) -> hierarchy.BaseModel:
    seed = args.bytes("seed")
    generator.check_seed(seed)
    if seed not in _MODELS:
        if len(_MODELS) >= _MAX_CACHED:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[seed] = hierarchy.load_base_model(seed, select_device())
    return _MODELS[seed]


def _bad(message: str) -> SpecViolation:
    return SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, message)


def _f32(values: torch.Tensor | list[float]) -> dict[str, Any]:
    """A float output: big-endian binary32 hex and its shape (spec/16 section 2.1)."""
    if isinstance(values, torch.Tensor):
        shape, flat = list(values.shape), values.detach().cpu().reshape(-1).tolist()
    else:
        shape, flat = [len(values)], values
    return {"f32": generator.encode_f32(flat), "shape": shape}


def _ints(args: Args, key: str) -> list[int]:
    items = args.list(key)
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in items):
        raise _bad(f"argument {key!r} must be an array of integers")
    return items


def _number(raw: Args, key: str) -> float:
    value = raw.any(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _bad(f"argument {key!r} must be a number")
    try:
        return float(value)
    except OverflowError:  # [LORA-004] no finite binary64: every generated element overflows
        return math.inf


def apply_json_update(h: hierarchy.Hierarchy, raw: Any) -> None:
    """One update in the notation of section 9.2, checked in the order of LORA-011."""
    if not isinstance(raw, dict):  # [CONF-005] before every check of LORA-011
        raise _bad("an update is an object")
    u = Args(raw)
    layer, target = u.text("layer"), u.text("target")
    out, fan_in, r = hierarchy.get_target_shape(h, layer, target)  # layer, then target
    op_id = u.bytes("op_id")
    hierarchy.check_op_id(h, layer, op_id)  # then the op id
    b = u.obj("b")
    delta_b = hierarchy.generate_delta(h.base, (out, r), b.text("label"), _number(b, "scale"))
    delta_a = None
    if u.has("a"):
        a = u.obj("a")
        delta_a = hierarchy.generate_delta(h.base, (r, fan_in), a.text("label"),
                                           _number(a, "scale"))
    hierarchy.apply_update(h, layer, target, delta_b, delta_a, op_id)


def _hierarchy(args: Args) -> hierarchy.Hierarchy:
    h = hierarchy.new_hierarchy(_base(args))
    for raw in args.list("updates") if args.has("updates") else []:
        apply_json_update(h, raw)
    return h


@command("lora.model_id")
def lora_model_id(args: Args) -> dict[str, Any]:
    """The base model id of a seed (section 4.4)."""
    return {"model_id": model.compute_model_id(args.bytes("seed"))}


@command("lora.weights")
def lora_weights(args: Args) -> dict[str, Any]:
    """Elements of a base tensor or a pristine A matrix, by row-major index (section 3)."""
    base = _base(args)
    name, indices = args.text("name"), _ints(args, "indices")
    tensors = dict(base.weights)
    tensors.update({hierarchy.get_a_name(layer, target): a
                    for (layer, target), a in base.pristine_a.items()})
    require(name in tensors, "LORA-028", BAD, f"no tensor named {name!r}")
    flat = tensors[name].detach().cpu().reshape(-1).tolist()
    require(all(0 <= i < len(flat) for i in indices), "LORA-028", BAD,
            f"an index is outside 0..{len(flat) - 1}")
    return {"shape": list(tensors[name].shape), "values": _f32([flat[i] for i in indices])}


@command("lora.forward")
def lora_forward(args: Args) -> dict[str, Any]:
    """Last-position logits through a snapshot, adapters unmerged (section 7.1)."""
    h = _hierarchy(args)
    logits = hierarchy.forward_unmerged(h.base, hierarchy.freeze(h), _ints(args, "tokens"))
    return {"logits": _f32(logits)}


@command("lora.forward_merged")
def lora_forward_merged(args: Args) -> dict[str, Any]:
    """Last-position logits through a snapshot's merged weights (section 7.2)."""
    h = _hierarchy(args)
    logits = hierarchy.forward_merged(h.base, hierarchy.freeze(h), _ints(args, "tokens"))
    return {"logits": _f32(logits)}


@command("lora.generate")
def lora_generate(args: Args) -> dict[str, Any]:
    """Greedy decoding of a prompt through one snapshot (section 8)."""
    h = _hierarchy(args)
    tokens = hierarchy.generate(h.base, hierarchy.freeze(h), args.text("prompt"),
                                args.int("max_tokens"))
    return {"tokens": tokens}


@command("lora.argmax")
def lora_argmax(args: Args) -> dict[str, Any]:
    """The greedy pick among given logits (section 8.2)."""
    logits = args.obj("logits")
    raw, shape = decode_hex(logits.text("f32")), _ints(logits, "shape")
    if len(raw) % 4 or shape != [len(raw) // 4]:
        raise _bad("'logits' is {f32, shape} with shape [n] for n binary32 values")
    return {"token": model.select_greedy_token(generator.decode_f32(raw))}


def _layers(h: hierarchy.Hierarchy) -> dict[str, list[str]]:
    return {name: [op.hex() for op in state.ops] for name, state in h.layers.items()}


@command("lora.snapshot")
def lora_snapshot(args: Args) -> dict[str, Any]:
    """The op ids each layer applied and the snapshot's provenance hash (section 6)."""
    h = _hierarchy(args)
    return {"hash": hierarchy.freeze(h).hash.hex(), "layers": _layers(h)}


@command("lora.snapshot_hash")
def lora_snapshot_hash(args: Args) -> dict[str, Any]:
    """The provenance hash of given op id lists (section 6.2); absent layers are empty."""
    base = _base(args)
    given = args.obj("layers")
    for name in given.raw:
        require(name in hierarchy.LAYER_NAMES, "LORA-028", BAD, f"no layer {name!r}")
    layers: list[tuple[str, list[bytes]]] = []
    for name in hierarchy.LAYER_NAMES:
        texts = given.list(name) if given.has(name) else []
        if not all(isinstance(x, str) for x in texts):
            raise _bad(f"layer {name!r} is an array of hex op ids")
        ops = [decode_hex(x) for x in texts]
        for op in ops:
            identifiers.check_id_bytes(IdKind.OP, op)
        require(len(set(ops)) == len(ops), "LORA-012", BAD,
                f"layer {name!r} lists an op id twice")
        layers.append((name, ops))
    return {"hash": hierarchy.compute_provenance_hash(base.model_id, layers).hex()}


def _run_step(h: hierarchy.Hierarchy, snaps: list[hierarchy.Snapshot],
              step: Any) -> dict[str, Any]:
    if not isinstance(step, dict) or len(step) != 1 or not set(step) <= {
            "update", "freeze", "forward"}:
        raise _bad("a step is an object with one member: update, freeze or forward")
    kind, body = next(iter(step.items()))
    if kind == "freeze":
        snaps.append(hierarchy.freeze(h))
        return {"snapshot": len(snaps) - 1, "hash": snaps[-1].hash.hex()}
    if kind == "update":
        try:
            apply_json_update(h, body)
        except SpecViolation as violation:  # [LORA-013] the state is unchanged; go on
            return {"error": {"code": str(violation.code)}}
        return {}
    if not isinstance(body, dict):
        raise _bad("a forward step is an object")
    f = Args(body)
    index, tokens = f.int("snapshot"), _ints(f, "tokens")
    if not 0 <= index < len(snaps):
        raise _bad(f"snapshot {index} was not frozen by an earlier step")
    merged = f.raw.get("merged", False)
    if not isinstance(merged, bool):
        raise _bad("'merged' is true or false")
    run = hierarchy.forward_merged if merged else hierarchy.forward_unmerged
    try:
        logits = run(h.base, snaps[index], tokens)
    except SpecViolation as violation:
        return {"error": {"code": str(violation.code)}}
    return {"logits": _f32(logits)}


@command("lora.run")
def lora_run(args: Args) -> dict[str, Any]:
    """A script of updates, freezes and forwards on one hierarchy (section 9.3)."""
    h = hierarchy.new_hierarchy(_base(args))
    snaps: list[hierarchy.Snapshot] = []
    return {"results": [_run_step(h, snaps, step) for step in args.list("steps")]}
