"""Benchmark of chapter 14, WaveGen (spec/14-wavegen.md): is a repeated task served faster?

`python -m tools.bench_wavegen` runs workloads of repeated and near-repeated requests
through one cache, in the same process and on the same snapshot(s), in four ways:

- `ch13`: chapter 13's greedy decoding (`hierarchy.generate`, a forward pass over the
  sequence's own length at every step): the plain decoding a user would otherwise run;
- `off`: the same greedy decoding through WaveGen's one fixed-shape forward path (the
  sequence padded to 128 positions), which lossless mode is bit-exact against;
- `lossless` and `jump`: WaveGen's two modes, cache starting empty.

It prints, per workload, tokens per forward call, wall-clock time and speedups against
both plain decodings (goals: lossless at least 2x faster than plain greedy and at least 4
tokens per forward call), how many lossless outputs equal plain greedy decoding (all, by
WAVE-018) and how many jump outputs do, the hit rate, and the cost of a lookup.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import attrs
import torch

from reference.lora import hierarchy
from reference.wavegen import cache as wcache
from reference.wavegen import decode

SEED = bytes(32)
GOAL_SPEEDUP = 2.0
GOAL_TOKENS_PER_FORWARD = 4.0
TASKS = (
    "Write a function to parse JSON in Python",
    "Sort a list of numbers in place",
    "Read a CSV file and sum a column",
    "Explain what a hash map is",
    "Reverse the words of a sentence",
)
NEAR = (" please", "!", " quickly", ", again", " now")


@attrs.frozen
class Workload:
    """Requests in order; `learn` adds a context-layer update after every request."""

    name: str
    prompts: tuple[str, ...]
    max_tokens: int
    learn: bool


def seed_scenario(max_tokens: int) -> Workload:
    """The blueprint's five requests on one task (seed 003, steps 1 to 6), learning between."""
    p1 = TASKS[0]
    return Workload("seed scenario: 5 req., 2 near-repeats, context learns",
                    (p1, "Write another JSON parser", p1, "Write a JSON parser in Python", p1),
                    max_tokens, True)


def mixed(requests: int, tasks: int, max_tokens: int, near: float, learn: bool) -> Workload:
    """`requests` over `tasks` tasks, a fraction `near` of them near-repeats (another ending)."""
    rng = random.Random(14)  # a fixed workload, the same in every run
    prompts = []
    for _ in range(requests):
        task = TASKS[rng.randrange(tasks)]
        prompts.append(task + rng.choice(NEAR) if rng.random() < near else task)
    kind = "exact repeats" if near == 0 else f"{near:.0%} near-repeats"
    label = "context learns" if learn else "fixed snapshot"
    return Workload(f"{requests} req. over {tasks} tasks, {kind}, {label}", tuple(prompts),
                    max_tokens, learn)


@attrs.define
class Outcome:
    seconds: float = 0.0
    tokens: int = 0
    forward_calls: int = 0
    outputs: list[list[int]] = attrs.Factory(list)
    uses: int = 0
    hits: int = 0
    successes: int = 0


def _snapshots(base: hierarchy.BaseModel, w: Workload) -> list[hierarchy.Snapshot]:
    """One snapshot per request; with learning, a context update after each request."""
    h = hierarchy.new_hierarchy(base)
    snaps = []
    out, r = hierarchy.TARGET_SHAPES["blocks.1.mlp.down"][0], 2
    for k in range(len(w.prompts)):
        snaps.append(hierarchy.freeze(h))
        if w.learn:  # the blueprint's step 4: the context layer learns after each inference
            delta = hierarchy.generate_delta(base, (out, r), f"bench-context-{k}", 0.05)
            hierarchy.apply_update(h, "context", "blocks.1.mlp.down", delta, None,
                                   bytes([1]) + k.to_bytes(16, "big"))
    return snaps


def run_ch13(base: hierarchy.BaseModel, w: Workload,
             snaps: list[hierarchy.Snapshot]) -> Outcome:
    o = Outcome()
    t0 = time.perf_counter()
    for prompt, snap in zip(w.prompts, snaps, strict=True):
        tokens = hierarchy.generate(base, snap, prompt, w.max_tokens)
        o.outputs.append(tokens)
        o.tokens += len(tokens)
        o.forward_calls += len(tokens)
    o.seconds = time.perf_counter() - t0
    return o


def run_wavegen(base: hierarchy.BaseModel, w: Workload, snaps: list[hierarchy.Snapshot],
                mode: str, config: decode.Config) -> Outcome:
    o = Outcome()
    cache = wcache.new_cache(config.capacity)
    t0 = time.perf_counter()
    for prompt, snap in zip(w.prompts, snaps, strict=True):
        result = decode.run_inference(cache, decode.prepare(base, snap),
                                      decode.Request(prompt, w.max_tokens, mode), config)
        o.outputs.append(result.tokens)
        o.tokens += len(result.tokens)
        o.forward_calls += result.forward_calls
    o.seconds = time.perf_counter() - t0
    o.uses, o.hits, o.successes = cache.stats.uses, cache.stats.hits, cache.stats.successes
    return o


def _interleaved(fns: list[Callable[[], Outcome]], repeat: int) -> list[Outcome]:
    """The median run of each function, run in turn `repeat` times so load drift hits all alike."""
    runs: list[list[Outcome]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            runs[i].append(fn())
    return [sorted(r, key=lambda o: o.seconds)[len(r) // 2] for r in runs]


def lookup_cost(base: hierarchy.BaseModel, n: int = 20000) -> tuple[float, float]:
    """Microseconds per lookup (signature + search) in a cache of 4096 entries, and per
    forward call of the fixed-shape path, for scale."""
    snap = hierarchy.freeze(hierarchy.new_hierarchy(base))
    prepared = decode.prepare(base, snap)
    cache = wcache.new_cache(4096)
    rng = random.Random(1)
    for _ in range(4096):
        window = [rng.randrange(258) for _ in range(4)]
        wcache.store(cache, wcache.compute_signature(prepared.scope, window), prepared.scope,
                     window, [1], snap.hash, [])
    windows = [[rng.randrange(258) for _ in range(4)] for _ in range(n)]
    t0 = time.perf_counter()
    for window in windows:
        wcache.lookup(cache, wcache.compute_signature(prepared.scope, window))
    per_lookup = (time.perf_counter() - t0) / n * 1e6
    seq = [256, *TASKS[0].encode()]
    t0 = time.perf_counter()
    for _ in range(200):
        decode.compute_positions(prepared.weights, seq)
    per_forward = (time.perf_counter() - t0) / 200 * 1e6
    return per_lookup, per_forward


def bench(w: Workload, base: hierarchy.BaseModel, repeat: int,
          config: decode.Config) -> list[tuple[str, str]]:
    """Rows (measure, value) for one workload."""
    snaps = _snapshots(base, w)
    ch13, off, lossless, jump = _interleaved([
        lambda: run_ch13(base, w, snaps),
        lambda: run_wavegen(base, w, snaps, "off", config),
        lambda: run_wavegen(base, w, snaps, "lossless", config),
        lambda: run_wavegen(base, w, snaps, "jump", config)], repeat)
    same = sum(a == b for a, b in zip(lossless.outputs, off.outputs, strict=True))
    ch13_same = sum(a == b for a, b in zip(off.outputs, ch13.outputs, strict=True))
    jump_same = sum(a == b for a, b in zip(jump.outputs, off.outputs, strict=True))
    n = len(w.prompts)
    tpf = lossless.tokens / lossless.forward_calls
    speed_off = off.seconds / lossless.seconds
    speed_ch13 = ch13.seconds / lossless.seconds
    goal = "met" if speed_ch13 >= GOAL_SPEEDUP and tpf >= GOAL_TOKENS_PER_FORWARD else "MISSED"
    return [
        ("requests, tokens (plain)", f"{n}, {off.tokens}"),
        ("plain greedy: ch13 / off (ms)", f"{ch13.seconds * 1e3:.0f} / {off.seconds * 1e3:.0f}"),
        ("off equals ch13 greedy", f"{ch13_same}/{n}"),
        ("lossless: tokens per forward", f"{tpf:.2f} (plain: 1.00)"),
        ("lossless: time (ms)", f"{lossless.seconds * 1e3:.0f}"),
        ("lossless: speedup vs ch13 / off", f"{speed_ch13:.2f}x / {speed_off:.2f}x"),
        ("lossless: outputs equal to plain", f"{same}/{n}"),
        ("lossless: hit rate (hits/uses)",
         f"{lossless.hits}/{lossless.uses} = {lossless.hits / max(lossless.uses, 1):.1%}, "
         f"{lossless.successes} whole"),
        ("jump: tokens per forward", f"{jump.tokens / max(jump.forward_calls, 1):.2f}"),
        ("jump: speedup vs ch13 / off",
         f"{ch13.seconds / jump.seconds:.2f}x / {off.seconds / jump.seconds:.2f}x"),
        ("jump: outputs equal to plain", f"{jump_same}/{n}"),
        (f"goal (>= {GOAL_SPEEDUP:g}x vs ch13, >= {GOAL_TOKENS_PER_FORWARD:g} tok/fwd)", goal),
    ]


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max(len(m) for m, _ in rows)
    lines = [title, "-" * len(title)]
    lines += [f"{m:<{width}}  {v}" for m, v in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as the driver: the model is too small for a thread pool
    base = hierarchy.load_base_model(SEED)
    config = decode.Config()
    workloads = [seed_scenario(args.max_tokens),
                 mixed(args.requests, args.tasks, args.max_tokens, 0.0, learn=False),
                 mixed(args.requests, args.tasks, args.max_tokens, 0.3, learn=False),
                 mixed(args.requests, args.tasks, args.max_tokens, 0.3, learn=True)]
    print(f"WaveGen benchmark: seed zero, CPU, 1 thread, window {config.window}, block "
          f"{config.block}, thresholds {config.jump_threshold}/{config.cache_threshold}, "
          f"max_tokens {args.max_tokens}, median of {args.repeat}\n")
    for w in workloads:
        print(_table(w.name, bench(w, base, args.repeat, config)) + "\n")
    per_lookup, per_forward = lookup_cost(base)
    print(_table("lookup cost", [
        ("one lookup (signature + search, 4096 entries)", f"{per_lookup:.1f} us"),
        ("one fixed-shape forward call", f"{per_forward:.0f} us"),
        ("lookup / forward", f"{per_lookup / per_forward:.1%}"),
    ]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
