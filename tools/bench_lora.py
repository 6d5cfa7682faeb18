"""Benchmark of chapter 13's forward paths (spec/13-lora-hierarchy.md section 7).

`python -m tools.bench_lora` prints one table per device (the CPU, and CUDA when
present): the base forward, the snapshot's merged forward as a ratio to it (goal:
within 1.05x, since merging happens once per snapshot), the unmerged forward, the
time to freeze and to merge the whole hierarchy, and greedy tokens per second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from reference.lora import hierarchy, model

SEED = bytes(32)
GOAL_RATIO = 1.05
PROMPT = "strata"


def _op(n: int) -> bytes:
    return bytes([1]) + n.to_bytes(16, "big")


def _busy(base: hierarchy.BaseModel) -> hierarchy.Hierarchy:
    """Every adapter of every layer has a non-zero B and a changed A."""
    h = hierarchy.new_hierarchy(base)
    for n, spec in enumerate(hierarchy.LAYERS):
        for t in hierarchy.TARGETS:
            out, fan_in = hierarchy.TARGET_SHAPES[t]
            hierarchy.apply_update(
                h, spec.name, t,
                hierarchy.generate_delta(base, (out, spec.rank), f"bench-{spec.name}-{t}", 0.1),
                hierarchy.generate_delta(base, (spec.rank, fan_in), f"bench-a-{t}", 0.01), _op(n))
    return h


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _time(fn: Callable[[], object], device: str) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def _interleaved(fns: list[Callable[[], object]], device: str, repeat: int) -> list[float]:
    """Median seconds of each function, run in turn `repeat` times so drift hits all alike."""
    for fn in fns:  # warm up
        fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            samples[i].append(_time(fn, device))
    return [statistics.median(s) for s in samples]


def bench(device: str, tokens: int, repeat: int, gen_tokens: int) -> list[tuple[str, str]]:
    """Rows (measure, value) for one device."""
    base = hierarchy.load_base_model(SEED, device)
    h = _busy(base)
    seq = [256] + [(i * 37) % 256 for i in range(tokens - 1)]
    ids = torch.tensor([seq], device=device)  # (1, T)
    freeze_s = statistics.median(_time(lambda: hierarchy.freeze(h), device)
                                 for _ in range(repeat))
    snap = hierarchy.freeze(h)
    merge_s = statistics.median(_time(lambda: hierarchy.compute_merged_weights(base, snap),
                                      device) for _ in range(repeat))
    merged = hierarchy.compute_merged_weights(base, snap)
    adapters = hierarchy.get_adapters(snap)
    with torch.no_grad():
        base_s, merged_s, unmerged_s = _interleaved([
            lambda: model.forward(ids, base.weights),
            lambda: model.forward(ids, merged),
            lambda: model.forward(ids, base.weights, adapters),
        ], device, repeat)
    emitted, gen_s, n = 0, 0.0, 0
    while emitted < gen_tokens:  # decodings may stop early at EOS: decode prompts until enough
        _sync(device)
        t0 = time.perf_counter()
        emitted += len(hierarchy.generate(base, snap, f"{PROMPT} {n}", gen_tokens))
        _sync(device)
        gen_s += time.perf_counter() - t0
        n += 1
    ratio = merged_s / base_s
    return [
        ("device", f"{device} ({torch.get_num_threads()} thread(s))" if device == "cpu"
         else device),
        (f"base forward, T={tokens}", f"{base_s * 1e3:.3f} ms"),
        ("snapshot forward, merged", f"{merged_s * 1e3:.3f} ms"),
        ("merged / base", f"{ratio:.3f}x ({'within' if ratio <= GOAL_RATIO else 'over'} "
                          f"the {GOAL_RATIO}x goal)"),
        ("snapshot forward, unmerged", f"{unmerged_s * 1e3:.3f} ms "
                                       f"({unmerged_s / base_s:.2f}x base)"),
        ("freeze (5 layers x 12 adapters)", f"{freeze_s * 1e3:.3f} ms"),
        ("merge once per snapshot", f"{merge_s * 1e3:.3f} ms"),
        (f"greedy decoding, {emitted} tokens", f"{emitted / gen_s:.1f} tokens/s "
                                               f"({n} prompt(s), merge included)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="sequence length of a forward")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per measure")
    parser.add_argument("--gen-tokens", type=int, default=64, help="tokens to decode")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (the driver uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        rows = bench(device, args.tokens, args.repeat, args.gen_tokens)
        width = max(len(k) for k, _ in rows)
        print(f"{'measure'.ljust(width)}  value")
        print(f"{'-' * width}  {'-' * 40}")
        for key, value in rows:
            print(f"{key.ljust(width)}  {value}")
        print()


if __name__ == "__main__":
    main()
