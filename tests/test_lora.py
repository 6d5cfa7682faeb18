"""Tests of reference.lora (spec/13-lora-hierarchy.md), calling the modules directly."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from typing import Any

import blake3
import numpy as np
import pytest
import torch
from _lora_support import SEED, op, rejects

from reference.introduction import ErrorCode
from reference.lora import generator, hierarchy, model

SEED_B = blake3.blake3(b"strata/tests/lora/seed-b").digest()
PROMPT = [256, *b"strata"]
TOL = 1e-4



@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """The model is tiny: one thread, as the driver runs it (a pool only adds overhead)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def base() -> hierarchy.BaseModel:
    """The base model of SEED, built once per test module."""
    return hierarchy.load_base_model(SEED)

def delta(base: hierarchy.BaseModel, layer: str, target: str, label: str,
          scale: float = 0.1) -> torch.Tensor:
    out, _ = hierarchy.TARGET_SHAPES[target]
    rank = {s.name: s.rank for s in hierarchy.LAYERS}[layer]
    return hierarchy.generate_delta(base, (out, rank), label, scale)


def busy(base: hierarchy.BaseModel) -> hierarchy.Hierarchy:
    """A hierarchy with non-zero B in every layer and a changed A in two."""
    h = hierarchy.new_hierarchy(base)
    for n, layer in enumerate(hierarchy.LAYER_NAMES):
        for target in ("blocks.0.attn.q", "blocks.1.mlp.down", "blocks.0.attn.v"):
            h_a = None
            if layer in ("domain", "context") and target == "blocks.0.attn.q":
                h_a = hierarchy.generate_delta(base, (h.layers[layer].spec.rank, 64), "a", 0.05)
            hierarchy.apply_update(h, layer, target, delta(base, layer, target, f"{layer}{target}"),
                                   h_a, op(n))
    return h


def is_close(a: torch.Tensor, e: torch.Tensor) -> bool:
    return bool(((a - e).abs() <= TOL + TOL * e.abs()).all())


# --- the generator (section 3) ------------------------------------------------


def test_generator_hand_computed_element() -> None:
    """tok_emb[0][0..1] of the zero seed equal the worked example of section 3.3."""
    label = b"strata/lora/weights/" + b"0" * 64 + b"/tok_emb"
    raw = blake3.blake3(label).digest(length=8)
    assert raw.hex() == "8ba10a1bcd05605f"
    u0 = int.from_bytes(raw[:4], "little")
    assert u0 == 453681547
    by_hand = struct.pack(">f", (u0 / 2**31 - 1) * 0.25).hex()
    values = generator.generate_values(SEED, "tok_emb", 2, 0.25)
    assert by_hand == "be49eabd"
    assert generator.encode_f32(values) == "be49eabd" + "bd827fe9"


def test_generator_narrows_binary64_products() -> None:
    """Each value is the binary64 product (u / 2^31 - 1) * c narrowed to the nearest binary32."""
    scale = 1 / 3  # inexact, so the products carry bits binary32 cannot hold
    values = generator.generate_values(SEED, "tok_emb", 256, scale)
    stream = generator.compute_stream(SEED, "tok_emb", 256)
    narrowed = np.array([(u / 2**31 - 1) * scale for u in stream]).astype(np.float32)
    assert values == narrowed.astype(np.float64).tolist()
    assert any(v != (u / 2**31 - 1) * scale for u, v in zip(stream, values, strict=True))


def test_generator_streams_are_named() -> None:
    """A stream depends on the seed and the tensor name, not on generation order."""
    a = generator.generate_values(SEED, "pos_emb", 16, 1.0)
    assert generator.generate_values(SEED, "pos_emb", 16, 1.0) == a
    assert generator.generate_values(SEED, "pos_emb", 8, 1.0) == a[:8]
    assert generator.generate_values(SEED, "tok_emb", 16, 1.0) != a
    assert generator.generate_values(SEED_B, "pos_emb", 16, 1.0) != a
    assert all(-1.0 <= v < 1.0 for v in a)


def test_invalid_seed_length() -> None:
    """A 31-byte seed is rejected, by the seed check and before a base model is built."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-002"):
        generator.check_seed(bytes(31))
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-002"):
        hierarchy.load_base_model(bytes(31))


def test_invalid_scale_not_finite() -> None:
    """An infinite scale gives infinite or NaN elements, which are rejected."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-004"):
        generator.generate_values(SEED, "update/x", 64, math.inf)


def test_invalid_generator_overflow() -> None:
    """A scale that overflows binary32 is rejected."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-004"):
        generator.generate_values(SEED, "update/x", 64, 1e39)


# --- the base model (section 4) -----------------------------------------------


def test_tensor_shapes_and_gains(base: hierarchy.BaseModel) -> None:
    """Every tensor has its table shape; gains are exactly one; the head is tied."""
    specs = model.get_tensor_specs()
    assert [s.name for s in specs][:4] == ["tok_emb", "pos_emb", "blocks.0.attn_norm",
                                            "blocks.0.attn.q"]
    assert len(specs) == 2 + 8 * 2 + 1
    for s in specs:
        assert tuple(base.weights[s.name].shape) == s.shape
        assert base.weights[s.name].dtype == torch.float32
    assert bool((base.weights["final_norm"] == 1.0).all())
    assert tuple(base.weights["blocks.1.mlp.down"].shape) == (64, 256)
    assert float(base.weights["blocks.1.mlp.down"].abs().max()) < 1 / 16
    assert "lm_head" not in base.weights


def test_model_id_example() -> None:
    """The id of the zero seed is the one section 4.4 prints."""
    assert model.compute_model_id(SEED) == "strata-tiny-1/0a0163f5279e6a30bc869e132ee10c06"
    assert model.compute_model_id(SEED_B) != model.compute_model_id(SEED)


def test_forward_shapes_and_causality(base: hierarchy.BaseModel) -> None:
    """Logits are (B, T, V) and a position never sees a later token."""
    ids = torch.tensor([PROMPT, PROMPT[:-1] + [1]])  # (2, T)
    logits = model.forward(ids, base.weights)
    assert tuple(logits.shape) == (2, len(PROMPT), 258)
    assert torch.equal(logits[0, :-1], logits[1, :-1])
    assert not torch.equal(logits[0, -1], logits[1, -1])


NpAdapters = dict[str, list[tuple[float, np.ndarray, np.ndarray]]]


def _numpy_forward(weights: dict[str, np.ndarray], tokens: list[int],
                   adapters: NpAdapters | None = None) -> np.ndarray:
    """Sections 4.3 and 7.1 written again from the text, in binary64 numpy."""
    def lin(x: np.ndarray, name: str) -> np.ndarray:
        y: np.ndarray = x @ weights[name].T
        for s, a, b in (adapters or {}).get(name, []):
            y = y + s * ((x @ a.T) @ b.T)
        return y

    def norm(x: np.ndarray, g: np.ndarray) -> np.ndarray:
        out: np.ndarray = x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * g
        return out

    erf = np.vectorize(math.erf)
    t = len(tokens)
    x = weights["tok_emb"][tokens] + weights["pos_emb"][:t]
    for i in range(2):
        a = norm(x, weights[f"blocks.{i}.attn_norm"])
        q, k, v = (lin(a, f"blocks.{i}.attn.{m}") for m in "qkv")
        heads = []
        for h in range(4):
            sl = slice(16 * h, 16 * h + 16)
            s = q[:, sl] @ k[:, sl].T * 0.25
            s[np.triu_indices(t, 1)] = -np.inf
            w = np.exp(s - s.max(-1, keepdims=True))
            heads.append((w / w.sum(-1, keepdims=True)) @ v[:, sl])
        x = x + lin(np.concatenate(heads, -1), f"blocks.{i}.attn.o")
        m = norm(x, weights[f"blocks.{i}.mlp_norm"])
        u = lin(m, f"blocks.{i}.mlp.up")
        x = x + lin(u / 2 * (1 + erf(u / math.sqrt(2))), f"blocks.{i}.mlp.down")
    logits: np.ndarray = norm(x, weights["final_norm"])[-1] @ weights["tok_emb"].T
    return logits


def test_forward_matches_spec_text(base: hierarchy.BaseModel) -> None:
    """The torch forward agrees with an independent binary64 reading of section 4.3."""
    wide = {k: v.double().numpy() for k, v in base.weights.items()}
    expected = torch.from_numpy(_numpy_forward(wide, PROMPT))
    got = model.forward_last(PROMPT, base.weights).double()
    assert is_close(got, expected)


def test_adapted_forward_matches_spec_text(base: hierarchy.BaseModel) -> None:
    """Both torch paths agree with a binary64 reading of section 7.1 for a busy snapshot."""
    snap = hierarchy.freeze(busy(base))
    wide = {k: v.double().numpy() for k, v in base.weights.items()}
    terms: NpAdapters = {t: [(s, a.double().numpy(), b.double().numpy()) for s, a, b in v]
                         for t, v in hierarchy.get_adapters(snap).items()}
    expected = torch.from_numpy(_numpy_forward(wide, PROMPT, terms))
    assert float((expected - model.forward_last(PROMPT, base.weights).double()).abs().max()) > 0.01
    for run in (hierarchy.forward_unmerged, hierarchy.forward_merged):
        assert is_close(run(base, snap, PROMPT).double(), expected)


@pytest.mark.parametrize("tokens", [[], [258], [-1], [256] * 129])
def test_invalid_tokens(base: hierarchy.BaseModel, tokens: list[int]) -> None:
    """Empty, out-of-vocabulary and over-long sequences are rejected."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-007"):
        model.forward_last(tokens, base.weights)


def test_full_context_is_accepted(base: hierarchy.BaseModel) -> None:
    """A sequence of exactly 128 tokens is in range."""
    assert tuple(model.forward_last([256] * 128, base.weights).shape) == (258,)


# --- the hierarchy and updates (section 5) ----------------------------------------


def test_pristine_state(base: hierarchy.BaseModel) -> None:
    """A from the generator at 1/sqrt(in), B zero, no ops, in layer order."""
    h = hierarchy.new_hierarchy(base)
    assert list(h.layers) == ["foundation", "domain", "swarm", "agent", "context"]
    ctx = h.layers["context"]
    assert tuple(ctx.a["blocks.1.mlp.down"].shape) == (2, 256)
    assert tuple(ctx.b["blocks.1.mlp.down"].shape) == (64, 2)
    expected = generator.generate_values(SEED, "lora/context/blocks.1.mlp.down/A", 512, 1 / 16)
    assert ctx.a["blocks.1.mlp.down"].reshape(-1).tolist() == expected
    assert all(bool((b == 0).all()) for layer in h.layers.values() for b in layer.b.values())
    assert all(layer.ops == [] for layer in h.layers.values())
    assert [hierarchy.compute_layer_scale(s) for s in hierarchy.LAYERS] == [2.0] * 5


def test_update_records_each_op_once(base: hierarchy.BaseModel) -> None:
    """Consecutive updates of one op make one op-list entry; B changes by exactly the delta."""
    h = hierarchy.new_hierarchy(base)
    d = delta(base, "agent", "blocks.0.attn.k", "k")
    hierarchy.apply_update(h, "agent", "blocks.0.attn.k", d, None, op(1))
    hierarchy.apply_update(h, "agent", "blocks.0.attn.o", d, None, op(1))
    hierarchy.apply_update(h, "agent", "blocks.0.attn.k", d, None, op(2))
    assert h.layers["agent"].ops == [op(1), op(2)]
    assert torch.equal(h.layers["agent"].b["blocks.0.attn.k"], d + d)


def _state(h: hierarchy.Hierarchy) -> list[Any]:
    return [(name, list(s.ops), {t: x.clone() for t, x in s.a.items()},
             {t: x.clone() for t, x in s.b.items()}) for name, s in h.layers.items()]


def _same(x: list[Any], y: list[Any]) -> bool:
    return all(a[0] == b[0] and a[1] == b[1]
               and all(torch.equal(a[2][t], b[2][t]) and torch.equal(a[3][t], b[3][t])
                       for t in a[2]) for a, b in zip(x, y, strict=True))


@pytest.mark.parametrize("args, code, req", [
    (("nope", "blocks.0.attn.q", None, op(9)), ErrorCode.E_PAYLOAD_INVALID, "LORA-011"),
    (("agent", "blocks.2.attn.q", None, op(9)), ErrorCode.E_PAYLOAD_INVALID, "LORA-011"),
    (("agent", "blocks.0.attn.q", None, bytes(17)), ErrorCode.E_ID_MALFORMED, "ID-002"),
    (("agent", "blocks.0.attn.q", None, bytes([2]) + bytes(16)), ErrorCode.E_ID_KIND, "ID-004"),
    (("agent", "blocks.0.attn.q", None, op(1)), ErrorCode.E_PAYLOAD_INVALID, "LORA-012"),
    (("agent", "blocks.0.attn.q", torch.zeros(8, 64), op(9)), ErrorCode.E_PAYLOAD_INVALID,
     "LORA-011"),
])
def test_invalid_update_changes_nothing(base: hierarchy.BaseModel, args: tuple[Any, ...],
                                        code: ErrorCode, req: str) -> None:
    """Each rejected update names its check and leaves every layer as it was."""
    h = hierarchy.new_hierarchy(base)
    hierarchy.apply_update(h, "agent", "blocks.0.attn.q", delta(base, "agent",
                           "blocks.0.attn.q", "x"), None, op(1))
    hierarchy.apply_update(h, "agent", "blocks.0.attn.q", delta(base, "agent",
                           "blocks.0.attn.q", "y"), None, op(2))
    before = _state(h)
    layer, target, delta_a, op_id = args
    with rejects(code, req):
        hierarchy.apply_update(h, layer, target, torch.zeros(64, 4), delta_a, op_id)
    assert _same(before, _state(h))


def test_invalid_update_wrong_delta_b_shape(base: hierarchy.BaseModel) -> None:
    """A delta_B of the wrong rank is rejected."""
    h = hierarchy.new_hierarchy(base)
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-011"):
        hierarchy.apply_update(h, "context", "blocks.0.mlp.up", torch.zeros(256, 4), None, op(1))


def test_invalid_update_non_finite(base: hierarchy.BaseModel) -> None:
    """A delta that makes B infinite is rejected and B keeps its values."""
    h = hierarchy.new_hierarchy(base)
    big = torch.full((256, 2), 3e38)
    hierarchy.apply_update(h, "context", "blocks.0.mlp.up", big, None, op(1))
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-011"):
        hierarchy.apply_update(h, "context", "blocks.0.mlp.up", big, None, op(1))
    assert torch.equal(h.layers["context"].b["blocks.0.mlp.up"], big)


def replay(base: hierarchy.BaseModel, updates: list[hierarchy.Update]) -> hierarchy.Hierarchy:
    """Rebuild every layer from its pristine state by applying `updates` in order (LORA-015)."""
    h = hierarchy.new_hierarchy(base)
    for u in updates:
        hierarchy.apply_update(h, u.layer, u.target, u.delta_b, u.delta_a, u.op_id)
    return h


def test_replay_equals_incremental(base: hierarchy.BaseModel) -> None:
    """Replaying the updates from pristine state gives bit-identical layers."""
    h = hierarchy.new_hierarchy(base)
    updates = []
    for n, layer in enumerate(["context", "agent", "context", "foundation", "swarm"]):
        for target in ("blocks.1.attn.o", "blocks.0.mlp.up"):
            rank = h.layers[layer].spec.rank
            u = hierarchy.Update(layer, target, op(n), delta(base, layer, target, f"{n}{target}"),
                                 hierarchy.generate_delta(base, (rank, 64), f"a{n}", 0.01))
            updates.append(u)
            hierarchy.apply_update(h, u.layer, u.target, u.delta_b, u.delta_a, u.op_id)
            hierarchy.forward_merged(base, hierarchy.freeze(h), PROMPT)
    assert _same(_state(h), _state(replay(base, updates)))
    assert _same(_state(replay(base, [])), _state(hierarchy.new_hierarchy(base)))


# --- snapshots (section 6) ----------------------------------------------------


def test_snapshot_is_immutable(base: hierarchy.BaseModel) -> None:
    """Updates after a freeze change neither the snapshot's tensors, ops, hash nor logits."""
    h = hierarchy.new_hierarchy(base)
    snap = hierarchy.freeze(h)
    logits = hierarchy.forward_unmerged(base, snap, PROMPT)
    b_before = snap.layers[4].b["blocks.0.attn.q"].clone()
    hierarchy.apply_update(h, "context", "blocks.0.attn.q",
                           delta(base, "context", "blocks.0.attn.q", "z", 1.0), None, op(5))
    assert torch.equal(snap.layers[4].b["blocks.0.attn.q"], b_before)
    assert snap.layers[4].ops == ()
    assert snap.hash == hierarchy.freeze(hierarchy.new_hierarchy(base)).hash
    assert torch.equal(hierarchy.forward_unmerged(base, snap, PROMPT), logits)
    assert hierarchy.freeze(h).hash != snap.hash


def test_provenance_hash(base: hierarchy.BaseModel) -> None:
    """The pristine hash is section 6.2's; order and membership of op ids change it."""
    empty: list[tuple[str, list[bytes]]] = [(name, []) for name in hierarchy.LAYER_NAMES]
    pristine = hierarchy.compute_provenance_hash(base.model_id, empty)
    assert pristine.hex() == "969ac4c3b2bee4d6f745ca7fc87afcf59cf1b6e1dba9bbbe360bc9a2a17cff87"
    one = [(n, [op(1), op(2)] if n == "agent" else []) for n in hierarchy.LAYER_NAMES]
    swapped = [(n, [op(2), op(1)] if n == "agent" else []) for n in hierarchy.LAYER_NAMES]
    moved = [(n, [op(1), op(2)] if n == "swarm" else []) for n in hierarchy.LAYER_NAMES]
    hashes = {hierarchy.compute_provenance_hash(base.model_id, x)
              for x in (empty, one, swapped, moved)}
    assert len(hashes) == 4


def test_hash_ignores_floats(base: hierarchy.BaseModel) -> None:
    """The same ops with other deltas give the same hash."""
    hashes = set()
    for scale in (0.1, -0.3):
        h = hierarchy.new_hierarchy(base)
        hierarchy.apply_update(h, "domain", "blocks.0.attn.v",
                               delta(base, "domain", "blocks.0.attn.v", "v", scale), None, op(3))
        hashes.add(hierarchy.freeze(h).hash)
    assert len(hashes) == 1


def test_invalid_hash_layer_order(base: hierarchy.BaseModel) -> None:
    """A provenance hash over layers out of order is refused."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-018"):
        hierarchy.compute_provenance_hash(
            base.model_id, [(n, []) for n in reversed(hierarchy.LAYER_NAMES)])


# --- forward through a snapshot (section 7) -------------------------------------


def test_zero_b_is_base_bitwise(base: hierarchy.BaseModel) -> None:
    """With every B zero (A changed or not) both paths equal the base model bit for bit."""
    h = hierarchy.new_hierarchy(base)
    hierarchy.apply_update(h, "swarm", "blocks.0.attn.q", delta(base, "swarm", "blocks.0.attn.q",
                           "zero", 0.0), hierarchy.generate_delta(base, (4, 64), "a", 0.5), op(1))
    snap = hierarchy.freeze(h)
    plain = model.forward_last(PROMPT, base.weights)
    assert torch.equal(hierarchy.forward_unmerged(base, snap, PROMPT), plain)
    assert torch.equal(hierarchy.forward_merged(base, snap, PROMPT), plain)


def test_merged_equals_unmerged(base: hierarchy.BaseModel) -> None:
    """Merged and unmerged logits agree within the tolerance and differ from the base."""
    snap = hierarchy.freeze(busy(base))
    unmerged = hierarchy.forward_unmerged(base, snap, PROMPT)
    merged = hierarchy.forward_merged(base, snap, PROMPT)
    assert is_close(merged, unmerged)
    assert float((unmerged - model.forward_last(PROMPT, base.weights)).abs().max()) > 0.01


def test_adapter_term_is_alpha_over_r(base: hierarchy.BaseModel) -> None:
    """One adapter changes a target by s * B A with s = alpha / r = 2."""
    h = hierarchy.new_hierarchy(base)
    d = delta(base, "foundation", "blocks.0.mlp.up", "up", 0.2)
    hierarchy.apply_update(h, "foundation", "blocks.0.mlp.up", d, None, op(1))
    snap = hierarchy.freeze(h)
    merged = hierarchy.compute_merged_weights(base, snap)["blocks.0.mlp.up"]
    a = base.pristine_a[("foundation", "blocks.0.mlp.up")]
    assert torch.allclose(merged - base.weights["blocks.0.mlp.up"], 2.0 * d @ a, atol=1e-6)


def test_merge_never_touches_pristine(base: hierarchy.BaseModel) -> None:
    """Merging twice gives the same weights and leaves the base weights unchanged."""
    before = {k: v.clone() for k, v in base.weights.items()}
    snap = hierarchy.freeze(busy(base))
    first = hierarchy.compute_merged_weights(base, snap)
    second = hierarchy.compute_merged_weights(base, snap)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert all(torch.equal(before[k], base.weights[k]) for k in before)


# --- greedy decoding (section 8) ------------------------------------------------


def test_greedy_ties_pick_smallest_id() -> None:
    """Equal largest logits pick the smaller id; -0 and +0 tie."""
    assert model.select_greedy_token([1.0, 3.0, 3.0, -2.0]) == 1
    assert model.select_greedy_token([-1.0, -0.0, 0.0]) == 1
    assert model.select_greedy_token([5.0]) == 0


@pytest.mark.parametrize("logits", [[], [1.0, math.nan], [math.inf, 1.0]])
def test_invalid_greedy_logits(logits: list[float]) -> None:
    """Empty or non-finite logits are rejected."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-026"):
        model.select_greedy_token(logits)


def _scripted(picks: list[int]) -> model.StepLogits:
    def step(sequence: list[int]) -> torch.Tensor:
        logits = torch.zeros(258)
        logits[picks[min(len(sequence) - 1, len(picks) - 1)]] = 1.0
        return logits
    return step


def test_decode_stops_at_eos_max_tokens_and_context() -> None:
    """EOS ends decoding and is emitted; so do max_tokens and a full context."""
    assert model.decode_greedy(_scripted([65, 66, 257, 67]), [256], 10) == [65, 66, 257]
    assert model.decode_greedy(_scripted([65, 66, 67]), [256], 2) == [65, 66]
    assert model.decode_greedy(_scripted([65]), [256], 0) == []
    assert len(model.decode_greedy(_scripted([65]), [256] * 120, 127)) == 8


@pytest.mark.parametrize("max_tokens", [-1, 128])
def test_invalid_max_tokens(max_tokens: int) -> None:
    """max_tokens outside 0..127 is rejected."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-027"):
        model.decode_greedy(_scripted([65]), [256], max_tokens)


def test_invalid_prompt_too_long() -> None:
    """A prompt of 128 UTF-8 bytes is rejected; 127 is accepted."""
    assert len(model.encode_prompt("x" * 127)) == 128
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "LORA-025"):
        model.encode_prompt("\u00e9" * 64)


def test_generation_uses_one_snapshot(base: hierarchy.BaseModel,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Updating the hierarchy while decoding changes nothing in that decoding."""
    h = busy(base)
    snap = hierarchy.freeze(h)
    quiet = hierarchy.generate(base, snap, "strata", 12)

    forward_last = model.forward_last

    def learn(sequence: list[int], weights: model.Weights) -> torch.Tensor:
        hierarchy.apply_update(h, "context", "blocks.0.attn.q",
                               delta(base, "context", "blocks.0.attn.q", f"s{len(sequence)}",
                                     5.0), None, op(100))
        return forward_last(sequence, weights)

    monkeypatch.setattr(model, "forward_last", learn)  # an update before every step
    assert hierarchy.generate(base, snap, "strata", 12) == quiet
    monkeypatch.undo()
    assert hierarchy.generate(base, hierarchy.freeze(h), "strata", 12) != quiet


def test_generation_is_deterministic(base: hierarchy.BaseModel,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Two decodings of one snapshot emit the same ids, the unmerged argmax at each step."""
    snap = hierarchy.freeze(busy(base))
    picks: list[int] = []
    forward_last = model.forward_last

    def watch(sequence: list[int], weights: model.Weights) -> torch.Tensor:
        logits = forward_last(sequence, weights)
        picks.append(model.select_greedy_token(logits.tolist()))
        return logits

    monkeypatch.setattr(model, "forward_last", watch)
    tokens = hierarchy.generate(base, snap, "hello", 10)
    monkeypatch.undo()
    assert tokens == hierarchy.generate(base, snap, "hello", 10) == picks
    sequence = [256, *b"hello"]
    for t in tokens:
        assert int(hierarchy.forward_unmerged(base, snap, sequence).argmax()) == t
        sequence.append(t)


# --- devices (section 7.4) --------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    """Merged and unmerged logits on CUDA agree with the CPU's within the tolerance."""
    cpu, gpu = hierarchy.load_base_model(SEED), hierarchy.load_base_model(SEED, "cuda")
    for b in (cpu, gpu):
        assert b.weights["tok_emb"].device.type == b.device
    assert all(torch.equal(cpu.weights[k], gpu.weights[k].cpu()) for k in cpu.weights)
    snaps = [hierarchy.freeze(busy(b)) for b in (cpu, gpu)]
    for run in (hierarchy.forward_unmerged, hierarchy.forward_merged):
        on_cpu = run(cpu, snaps[0], PROMPT)
        on_gpu = run(gpu, snaps[1], PROMPT).cpu()
        assert is_close(on_gpu, on_cpu)
    assert snaps[0].hash == snaps[1].hash
    assert hierarchy.generate(cpu, snaps[0], "hello", 8) == hierarchy.generate(
        gpu, snaps[1], "hello", 8)
