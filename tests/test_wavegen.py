"""Tests of reference.wavegen (spec/14-wavegen.md), calling the modules directly."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from _lora_support import SEED, op, rejects

import reference.driver.wavegen as wave_driver  # noqa: F401 (registers the wave.* commands)
from reference.driver import dispatch
from reference.introduction import ErrorCode
from reference.lora import hierarchy
from reference.wavegen import cache as wcache
from reference.wavegen import coherence, decode
from tools.fsm import load_machines
from tools.spec import default_root

P1 = "Write a function to parse JSON in Python"
BAD = ErrorCode.E_PAYLOAD_INVALID


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


@pytest.fixture(scope="module")
def prepared(base: hierarchy.BaseModel) -> decode.Prepared:
    return decode.prepare(base, hierarchy.freeze(hierarchy.new_hierarchy(base)))


def infer(c: wcache.Cache, p: decode.Prepared, prompt: str = P1, max_tokens: int = 40,
          mode: str = "lossless", config: decode.Config | None = None,
          sources: tuple[bytes, ...] = ()) -> decode.InferenceResult:
    return decode.run_inference(c, p, decode.Request(prompt, max_tokens, mode, sources),
                                config or decode.Config())


# --- coherence (section 2) --------------------------------------------------------------------


def step_coherence(logits: torch.Tensor) -> float:
    """The coherence of one step's logits (n,), through the batched function."""
    return coherence.compute_step_coherences(logits)[0]


def test_uniform_logits_have_coherence_zero() -> None:
    """Equal logits are the uniform distribution: coherence 0."""
    assert abs(step_coherence(torch.zeros(258))) < 1e-12


def test_two_logits_match_the_closed_form() -> None:
    """Logits 1, 0 give 1 - H(e/(e+1)) / ln 2."""
    p = math.e / (math.e + 1)
    want = 1 - (-(p * math.log(p) + (1 - p) * math.log(1 - p))) / math.log(2)
    assert abs(step_coherence(torch.tensor([1.0, 0.0])) - want) < 1e-12


def test_large_logit_does_not_overflow() -> None:
    """Logits 1000 and 0 give coherence 1, not NaN."""
    assert step_coherence(torch.tensor([1000.0, 0.0])) == pytest.approx(1.0)


def test_window_coherence_is_the_mean_of_the_last_observed_steps() -> None:
    """Jumped steps are skipped; the mean is over the last w observed steps."""
    t = coherence.Trajectory()
    for i, c in enumerate([0.1, 0.2, None, 0.4]):
        t.append(coherence.StepObservation(i, 0, None, None, c))
    assert coherence.get_trajectory_coherence(t, 2) == pytest.approx(0.3)
    assert coherence.get_trajectory_coherence(t, 4) is None
    assert not t.verified


def test_invalid_one_logit() -> None:
    """A single logit cannot be normalised by ln(1)."""
    with rejects(BAD, "WAVE-001"):
        step_coherence(torch.tensor([1.0]))


def test_invalid_mean_of_no_rows() -> None:
    """A shape [0, n] holds no step, whose mean coherence is undefined."""
    assert coherence.compute_step_coherences(torch.zeros(0, 258)) == []
    with rejects(BAD, "WAVE-002"):
        coherence.compute_window_coherence([])


def test_invalid_non_finite_logit() -> None:
    """A NaN or infinite logit is rejected."""
    with rejects(BAD, "WAVE-001"):
        coherence.compute_step_coherences(torch.tensor([[0.0, float("-inf")]]))


# --- scope and signature (section 3) ------------------------------------------------------------


def layers(**ops: list[bytes]) -> list[tuple[str, list[bytes]]]:
    return [(name, ops.get(name, [])) for name in hierarchy.LAYER_NAMES]


def test_pristine_scope_and_example_signature(base: hierarchy.BaseModel) -> None:
    """The zero seed's pristine scope and section 3.2's example signature."""
    scope = wcache.compute_scope(base.model_id, layers())
    assert scope.hex() == "d32cdfbc32ed026262515fd70bb13c2e2a1bb62b21e918b6cc380b566a695cdb"
    assert wcache.compute_signature(scope, [132, 255, 255, 221]).hex() == \
        "62640bfa4bc838debfdaf836f986d627a20b56134f0299561d54e0461a96a8a8"


def test_scope_ignores_context_but_not_the_slower_layers(base: hierarchy.BaseModel) -> None:
    """Context ops leave the scope; an agent op or a reordering changes it."""
    pristine = wcache.compute_scope(base.model_id, layers())
    assert wcache.compute_scope(base.model_id, layers(context=[op(1), op(2)])) == pristine
    assert wcache.compute_scope(base.model_id, layers(agent=[op(1)])) != pristine
    assert wcache.compute_scope(base.model_id, layers(swarm=[op(1), op(2)])) != \
        wcache.compute_scope(base.model_id, layers(swarm=[op(2), op(1)]))


def test_invalid_signature_inputs() -> None:
    """A short scope, an empty window and token 258 are rejected."""
    with rejects(BAD, "WAVE-005"):
        wcache.compute_signature(bytes(31), [1])
    with rejects(BAD, "WAVE-005"):
        wcache.compute_signature(bytes(32), [])
    with rejects(BAD, "WAVE-005"):
        wcache.compute_signature(bytes(32), [258])


def test_lifecycle_table_equals_the_spec() -> None:
    """cache.TRANSITIONS is the wavegen_entry table of section 4.2, line for line."""
    (m,) = [m for m in load_machines(default_root()) if m.name == "wavegen_entry"]
    assert set(wcache.TRANSITIONS.items()) == {((s, e), t) for s, e, t in m.transitions}
    assert (m.initial, m.absorbing, m.created_by) == (wcache.STORED, wcache.ABSORBING,
                                                      (wcache.CREATED_BY,))


# --- the cache (section 4) ------------------------------------------------------------------------


def sig(n: int) -> bytes:
    return bytes([n]) * 32


def test_capacity_evicts_least_recent_then_smallest_signature() -> None:
    """Ties of last use leave in signature order; a touched entry stays."""
    c = wcache.new_cache(2)
    wcache.advance_tick(c)
    for n in (3, 1):
        wcache.store(c, sig(n), bytes(32), [0], [n], b"s", [])
    wcache.store(c, sig(2), bytes(32), [0], [2], b"s", [])  # evicts 1 (same tick, smaller)
    assert sorted(c.live) == [sig(2), sig(3)]
    wcache.advance_tick(c)
    assert wcache.lookup(c, sig(2)) is not None  # 2 used at tick 2, 3 at tick 1
    wcache.store(c, sig(4), bytes(32), [0], [4], b"s", [])
    assert sorted(c.live) == [sig(2), sig(4)]
    assert c.stats.evictions["capacity"] == 2


def test_restore_replace_and_growing_sources() -> None:
    """Equal blocks restore, other blocks replace (back to Stored); sources only grow."""
    c = wcache.new_cache(8)
    wcache.store(c, sig(1), bytes(32), [0], [5, 6], b"a", [op(1)])
    entry = c.live[sig(1)]
    wcache.record_verification(c, entry, 2, 2)
    assert entry.state == wcache.CONFIRMED
    assert wcache.store(c, sig(1), bytes(32), [0], [5, 6], b"b", [op(2)]) == "restore"
    assert entry.state == wcache.CONFIRMED and entry.snapshot == b"b"
    assert wcache.store(c, sig(1), bytes(32), [0], [7], b"c", [op(3)]) == "replace"
    assert entry.state == wcache.STORED and entry.block == (7,)
    assert entry.sources == {op(1), op(2), op(3)}


def test_eviction_by_migration_cascade_and_retire() -> None:
    """Each event removes exactly the entries it names; lookups never return them."""
    c = wcache.new_cache(8)
    wcache.store(c, sig(1), b"A" * 32, [0], [1], b"s", [op(1)])
    wcache.store(c, sig(2), b"A" * 32, [0], [2], b"s", [op(2)])
    wcache.store(c, sig(3), b"B" * 32, [0], [3], b"s", [op(3)])
    assert wcache.evict_migrated(c, [op(1)]) == [sig(1)]
    assert wcache.invalidate_cascade(c, [op(2), op(9)]) == [sig(2)]
    assert wcache.retire_other_scopes(c, b"A" * 32) == [sig(3)]
    assert wcache.lookup(c, sig(1)) is None and not c.live
    assert c.stats.evictions == {"capacity": 0, "migration": 1, "retire": 1, "cascade": 1}
    assert c.stats.uses == 1 and c.stats.hits == 0


def test_invalid_event_outside_the_table() -> None:
    """An evicted entry has no line for a hit."""
    c = wcache.new_cache(1)
    wcache.store(c, sig(1), bytes(32), [0], [1], b"s", [])
    entry = c.live[sig(1)]
    wcache.evict_migrated(c, [])  # nothing matches
    wcache.retire_scope(c, bytes(32))
    with rejects(BAD, "WAVE-008"):
        wcache.record_jump(c, entry)


# --- decoding (section 5) ------------------------------------------------------------------


def test_positions_depend_only_on_their_prefix(prepared: decode.Prepared) -> None:
    """A position's logits are bit-identical whatever follows it (WAVE-017)."""
    rng = random.Random(7)
    seq = [256, *[rng.randrange(258) for _ in range(90)]]
    _, full = decode.compute_positions(prepared.weights, seq)
    for p in (0, 13, 44, 89):
        _, short = decode.compute_positions(prepared.weights, seq[:p + 1])
        assert torch.equal(short[p], full[p])


def test_repeat_is_served_from_the_cache_with_the_same_output(
        base: hierarchy.BaseModel, prepared: decode.Prepared) -> None:
    """The second identical request emits the same tokens in far fewer forward calls."""
    c = wcache.new_cache(4096)
    first = infer(c, prepared, max_tokens=60)
    second = infer(c, prepared, max_tokens=60)
    assert first.tokens == second.tokens == hierarchy.generate(base, prepared.snapshot, P1, 60)
    assert first.forward_calls == 60 and second.forward_calls <= 8
    assert c.stats.successes >= 1 and c.stats.successes <= c.stats.hits <= c.stats.uses
    assert decode.get_inference_hit_rate(first) == (0, len(first.lookups)) != (0, 0)
    hits, uses = decode.get_inference_hit_rate(second)
    assert 1 <= hits == uses and wcache.get_hit_rate(c) == (hits, len(first.lookups) + uses)
    candidates = wcache.get_consolidation_candidates(c)
    assert candidates and all(e.state == wcache.CONFIRMED and e.successes for e in candidates)


def test_lossless_equals_off_for_corrupted_caches(prepared: decode.Prepared) -> None:
    """Wrong, truncated and random blocks never change the lossless output."""
    rng = random.Random(3)
    cfg = decode.Config(window=3, block=10, jump_threshold=0.0)
    for prompt in ("hello", "abc", P1):
        g = infer(wcache.new_cache(8), prepared, prompt, 30, "off", cfg).tokens
        c = wcache.new_cache(64)
        for _ in range(20):
            i = rng.randrange(3, len(g))
            blk = list(g[i:i + 10])
            blk[rng.randrange(len(blk))] = rng.randrange(258)
            wcache.store(c, wcache.compute_signature(prepared.scope, g[i - 3:i]), prepared.scope,
                         g[i - 3:i], blk, b"s", [])
        out = infer(c, prepared, prompt, 30, "lossless", cfg)
        assert out.tokens == g
        assert any(x.hit for x in out.lookups)


def test_jump_mode_emits_the_block_unverified_and_stores_nothing(
        prepared: decode.Prepared) -> None:
    """A wrong block is emitted as is, the output is unverified, no store follows."""
    cfg = decode.Config(jump_threshold=0.0)
    g = infer(wcache.new_cache(8), prepared, max_tokens=12, mode="off").tokens
    c = wcache.new_cache(8)
    wrong = [(t + 1) % 256 for t in g[4:12]]
    wcache.store(c, wcache.compute_signature(prepared.scope, g[:4]), prepared.scope, g[:4],
                 wrong, b"old", [])
    out = infer(c, prepared, max_tokens=12, mode="jump", config=cfg)
    assert out.tokens == g[:4] + wrong and not out.verified and out.forward_calls == 4
    assert out.jumps[0].snapshot == b"old" and out.stores == 0 and c.stats.stores == 1


def test_off_mode_leaves_the_cache_alone(prepared: decode.Prepared) -> None:
    """Mode off: no lookup, no store, no tick."""
    c = wcache.new_cache(8)
    out = infer(c, prepared, max_tokens=10, mode="off")
    assert out.lookups == [] and out.stores == 0 and c.tick == 0 and not c.live


def test_invalid_mode_and_config(prepared: decode.Prepared) -> None:
    """An unknown mode and an out-of-range window are rejected."""
    with rejects(BAD, "WAVE-029"):
        infer(wcache.new_cache(8), prepared, mode="fast")
    with rejects(BAD, "WAVE-029"):
        decode.check_config(decode.Config(window=17))


# --- the driver (section 7) ----------------------------------------------------------------


def call(cmd: str, args: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dispatch({"id": 0, "cmd": cmd, "args": args})
    return out


def test_run_cascade_replays_without_the_retracted_op() -> None:
    """A cascade of a context op invalidates its entries and restores the pristine snapshot."""
    upd = {"layer": "context", "target": "blocks.0.attn.q", "op_id": op(5).hex(),
           "b": {"label": "x", "scale": 0.1}}
    out = call("wave.run", {"seed": SEED.hex(), "requests": [
        {"prompt": "hello", "max_tokens": 10, "before": [{"update": upd}]},
        {"prompt": "hello", "max_tokens": 10, "before": [{"cascade": {"ids": [op(5).hex()]}}]}]})
    r1, r2 = out["result"]["results"]
    assert r2["stats"]["evictions"]["cascade"] == r1["stats"]["entries"] > 0
    assert r2["snapshot"] == call("lora.snapshot", {"seed": SEED.hex()})["result"]["hash"]


def test_invalid_run_config_member() -> None:
    """An unknown configuration member is a bad request; a bad capacity a bad payload."""
    base: dict[str, Any] = {"seed": SEED.hex(), "requests": []}
    assert call("wave.run", {**base, "config": {"speed": 1}})["error"]["code"] == "E_BAD_REQUEST"
    assert call("wave.run", {**base, "config": {"capacity": 0}})["error"]["code"] == \
        "E_PAYLOAD_INVALID"
