"""Property checks of chapter 14, WaveGen (spec/14-wavegen.md).

The harness computes what the spec fixes exactly on its own, with blake3, cbor2 and
numpy: coherences of given logits, scopes and signatures, and, with both thresholds
at 0 (every real window is more coherent than that), the whole cache: which lookups
are made and hit, what each draft is and how much of it the output accepted, the
forward calls, what is stored, restored, replaced and evicted, and every counter. The
lossless output is compared with mode `off` exactly and with `lora.generate` wherever
the greedy pick is clear, for caches preloaded with right, wrong and random blocks.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import blake3
import cbor2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites.fsms import check_history

Json = Any
EOS, BOS, CONTEXT = 257, 256, 128
ATOL = RTOL = 1e-4  # chapter 13's logit tolerance
LAYERS = ("foundation", "domain", "swarm", "agent", "context")
CONFIG = {"name": "strata-tiny-1", "vocab_size": 258, "bos": 256, "eos": 257, "d_model": 64,
          "n_blocks": 2, "n_heads": 4, "d_head": 16, "d_ff": 256, "context": 128,
          "norm_eps": 1e-5, "tok_emb_scale": 0.25, "pos_emb_scale": 1.0}
SEEDS = tuple(blake3.blake3(b"strata/conformance/wavegen/seed-%d" % i).hexdigest()
              for i in range(2))
PROMPTS = ("hello", "hello, cache", "Write a JSON parser", "abc")


def _id(kind: int, n: int) -> str:
    digest = blake3.blake3(b"strata/conformance/wavegen/id-%d" % n).digest()
    return f"{kind:02x}" + digest[:16].hex()


def _update(layer: str, label: str, scale: float) -> Json:
    return {"update": {"layer": layer, "target": "blocks.1.mlp.down", "op_id": _id(1, hash_label(
        label)), "b": {"label": label, "scale": scale}}}


def hash_label(label: str) -> int:
    return int.from_bytes(blake3.blake3(label.encode()).digest()[:4], "big")


# --- the harness's own arithmetic ------------------------------------------------------------


def _model_id(seed: str) -> str:
    body = cbor2.dumps({"config": CONFIG, "seed": bytes.fromhex(seed)}, canonical=True)
    return "strata-tiny-1/" + blake3.blake3(body).digest()[:16].hex()


def scope_of(seed: str, ops: dict[str, list[str]]) -> str:
    """Section 3.1: base id and the op lists of the four slower layers."""
    lineage = [[layer, [bytes.fromhex(x) for x in ops.get(layer, [])]] for layer in LAYERS[:4]]
    return blake3.blake3(cbor2.dumps({"base": _model_id(seed), "lineage": lineage},
                                     canonical=True)).hexdigest()


def signature_of(scope: str, window: list[int]) -> str:
    """Section 3.2."""
    return blake3.blake3(cbor2.dumps({"scope": bytes.fromhex(scope), "window": window},
                                     canonical=True)).hexdigest()


def coherences_of(rows: np.ndarray) -> np.ndarray:
    """Section 2.2 in binary64: 1 - H(softmax) / ln n per row."""
    z = rows.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    h = -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
    return np.asarray(1.0 - h / math.log(rows.shape[1]))


def _f32(out: Json) -> np.ndarray:
    expect(isinstance(out, dict) and isinstance(out.get("f32"), str), f"not a float output: {out}")
    return np.frombuffer(bytes.fromhex(out["f32"]), dtype=">f4").astype(np.float64)


def cut(block: list[int], room: int) -> list[int]:
    """Section 5.2's draft: the block cut to `room` tokens and after its first EOS."""
    draft = block[:room]
    return draft[:draft.index(EOS) + 1] if EOS in draft else draft


@attrs.define
class SimEntry:
    window: list[int]
    block: list[int]
    last_used: int
    state: str = "Stored"
    hits: int = 0
    successes: int = 0


@attrs.define
class Sim:
    """The cache of section 4 for lossless decoding with both thresholds 0."""

    w: int
    block: int
    capacity: int
    tick: int = 0
    live: dict[str, SimEntry] = attrs.Factory(dict)
    stats: dict[str, Any] = attrs.Factory(lambda: {
        "uses": 0, "hits": 0, "successes": 0, "stores": 0, "entries": 0,
        "evictions": {"capacity": 0, "migration": 0, "retire": 0, "cascade": 0}})
    events: list[dict[str, str]] = attrs.Factory(list)

    def event(self, sig: str, name: str) -> None:
        self.events.append({"signature": sig, "event": name})

    def store(self, sig: str, window: list[int], block: list[int]) -> None:
        self.stats["stores"] += 1
        entry = self.live.get(sig)
        if entry is not None:
            event = "restore" if entry.block == block else "replace"
            entry.block, entry.last_used = block, self.tick
            entry.state = "Stored" if event == "replace" else entry.state
            self.event(sig, event)
            return
        if len(self.live) >= self.capacity:
            victim = min(self.live, key=lambda s: (self.live[s].last_used, bytes.fromhex(s)))
            del self.live[victim]
            self.stats["evictions"]["capacity"] += 1
            self.event(victim, "capacity")
        self.live[sig] = SimEntry(window, block, self.tick)
        self.event(sig, "WaveGenStore")

    def decode(self, scope: str, prompt_len: int, max_tokens: int,
               tokens: list[int]) -> tuple[list[dict[str, Any]], int]:
        """Replay a lossless output: the lookups and forward calls the spec requires."""
        self.tick += 1
        lookups: list[dict[str, Any]] = []
        pos = calls = 0
        while pos < len(tokens):
            room = min(max_tokens - pos, CONTEXT - prompt_len - pos)
            expect(room > 0, f"output goes on past max_tokens or the context at step {pos}")
            emitted = 1
            if pos >= self.w and room >= 2:
                sig = signature_of(scope, tokens[pos - self.w:pos])
                self.stats["uses"] += 1
                entry = self.live.get(sig)
                if entry is None:
                    lookups.append({"step": pos, "signature": sig, "hit": False})
                else:
                    self.stats["hits"] += 1
                    entry.hits += 1
                    entry.last_used = self.tick
                    draft = cut(entry.block, room - 1)
                    acc = 0
                    while acc < len(draft) and pos + acc < len(tokens) \
                            and tokens[pos + acc] == draft[acc]:
                        acc += 1
                    whole = acc == len(draft)
                    emitted = acc if whole and draft[-1] == EOS else acc + 1
                    lookups.append({"step": pos, "signature": sig, "hit": True,
                                    "draft": len(draft), "accepted": acc})
                    if whole:
                        self.stats["successes"] += 1
                        entry.successes += 1
                        entry.state = "Confirmed"
                    else:
                        entry.state = "Stored"
                    self.event(sig, "success" if whole else "mismatch")
            calls += 1
            pos += emitted
        expect(pos == len(tokens), "the output ends inside a verification pass's accepted tokens")
        for i in range(self.w, len(tokens)):
            self.store(signature_of(scope, tokens[i - self.w:i]), tokens[i - self.w:i],
                       tokens[i:i + self.block])
        self.stats["entries"] = len(self.live)
        return lookups, calls


def _stopped_right(tokens: list[int], max_tokens: int, prompt_len: int) -> bool:
    return (len(tokens) == max_tokens or prompt_len + len(tokens) == CONTEXT
            or (bool(tokens) and tokens[-1] == EOS)) and EOS not in tokens[:-1]


def _greedy_matches(impl: Impl, seed: str, prompt: str, tokens: list[int]) -> None:
    """Equal to lora.generate, except after a pick too close to call within the tolerance."""
    plain = impl.ok("lora.generate", {"seed": seed, "prompt": prompt,
                                      "max_tokens": len(tokens)})["tokens"]
    if plain == tokens:
        return
    k = next((i for i, (a, b) in enumerate(zip(plain, tokens, strict=False)) if a != b),
             min(len(plain), len(tokens)))
    sequence = [BOS, *prompt.encode("utf-8"), *tokens[:k]]
    logits = _f32(impl.ok("lora.forward", {"seed": seed, "tokens": sequence})["logits"])
    top = np.sort(logits)[-2:]
    expect(top[1] - top[0] <= 10 * (ATOL + RTOL * abs(top[1])),
           f"lossless output {tokens} differs from lora.generate {plain} at step {k}, where "
           f"the pick is clear")


# --- strategies ----------------------------------------------------------------------------------

seeds = st.sampled_from(SEEDS)
prompts = st.one_of(st.sampled_from(PROMPTS), st.text(max_size=10))


@st.composite
def corrupted_stores(draw: st.DrawFn, g: list[int], w: int, block: int) -> list[Json]:
    """Store events: continuations of the greedy output, some altered, some random."""
    events: list[Json] = []
    for _ in range(draw(st.integers(1, 8))):
        if len(g) > w and draw(st.integers(0, 4)) > 0:
            i = draw(st.integers(w, len(g) - 1))
            window, blk = g[i - w:i], list(g[i:i + block])
            for _ in range(draw(st.integers(0, 2))):
                j = draw(st.integers(0, len(blk) - 1))
                blk[j] = draw(st.integers(0, 257))
            if draw(st.booleans()):
                blk = blk[:draw(st.integers(1, len(blk)))]
            if len(blk) < block and draw(st.booleans()):
                blk += draw(st.lists(st.integers(0, 257), min_size=1, max_size=block - len(blk)))
        else:
            window = draw(st.lists(st.integers(0, 257), min_size=w, max_size=w))
            blk = draw(st.lists(st.integers(0, 257), min_size=1, max_size=block))
        events.append({"store": {"window": window, "block": blk}})
    return events


# --- checks ---------------------------------------------------------------------------------------


@check("WAVE-001", "WAVE-002")
@given(rows=st.integers(1, 4), n=st.integers(2, 300), data=st.data())
def check_coherence_matches_harness(impl: Impl, rows: int, n: int, data: st.DataObject) -> None:
    """Step coherences and their mean equal the harness's binary64 computation."""
    values = data.draw(st.lists(st.floats(-60, 60, width=32), min_size=rows * n,
                                max_size=rows * n))
    arr = np.array(values, dtype=np.float32).reshape(rows, n)
    bad = data.draw(st.sampled_from([None, "nan", "inf"]))
    if bad is not None:
        arr[0, data.draw(st.integers(0, n - 1))] = np.nan if bad == "nan" else -np.inf
    logits = {"f32": arr.astype(">f4").tobytes().hex(), "shape": [rows, n]}
    if bad is not None:
        impl.err("wave.coherence", {"logits": logits}, "E_PAYLOAD_INVALID")
        return
    out = impl.ok("wave.coherence", {"logits": logits})
    want = coherences_of(arr)
    got = _f32(out.get("steps"))
    expect(got.shape == want.shape and bool(np.all(np.abs(got - want) <= 1e-6)),
           f"step coherences {got.tolist()}, want {want.tolist()}")
    mean = _f32(out.get("coherence"))
    expect(mean.shape == (1,) and abs(mean[0] - want.mean()) <= 1e-6,
           f"coherence {mean.tolist()}, want {want.mean()}")


@check("WAVE-003", "WAVE-004", "WAVE-005")
@given(seed=seeds, picks=st.lists(st.tuples(st.sampled_from(LAYERS), st.integers(0, 40)),
                                  max_size=8, unique_by=lambda x: x[1]),
       context=st.lists(st.integers(41, 60), max_size=3, unique=True),
       window=st.lists(st.integers(0, 257), min_size=1, max_size=20))
def check_scope_and_signature(impl: Impl, seed: str, picks: list[tuple[str, int]],
                              context: list[int], window: list[int]) -> None:
    """Scopes and signatures equal the harness's; the context layer never enters a scope."""
    ops: dict[str, list[str]] = {layer: [] for layer in LAYERS}
    for layer, n in picks:
        ops[layer].append(_id(1, n))
    got = impl.ok("wave.scope", {"seed": seed, "layers": ops}).get("scope")
    expect(got == scope_of(seed, ops), f"scope {got}, want {scope_of(seed, ops)}")
    more = {**ops, "context": ops["context"] + [_id(1, n) for n in context]}
    again = impl.ok("wave.scope", {"seed": seed, "layers": more}).get("scope")
    expect(again == got, "context-layer ops changed the scope")
    sig = impl.ok("wave.signature", {"scope": got, "tokens": window}).get("signature")
    expect(sig == signature_of(str(got), window), f"signature {sig} of {window}")


@check("WAVE-014", "WAVE-015", "WAVE-016", "WAVE-017", "WAVE-018", "WAVE-024")
@given(seed=seeds, prompt=prompts, max_tokens=st.integers(1, 40), w=st.integers(1, 6),
       block=st.integers(1, 20), threshold=st.sampled_from([0.0, 0.05, 0.11, 0.13, 1.0]),
       data=st.data())
def check_lossless_is_greedy(impl: Impl, seed: str, prompt: str, max_tokens: int, w: int,
                             block: int, threshold: float, data: st.DataObject) -> None:
    """Lossless output equals mode off and lora.generate, whatever the cache holds."""
    config = {"window": w, "block": block, "jump_threshold": threshold, "cache_threshold": 0.0}
    req = {"prompt": prompt, "max_tokens": max_tokens}
    off = impl.ok("wave.run", {"seed": seed, "config": config,
                               "requests": [{**req, "mode": "off"}]})["results"][0]
    g = off["tokens"]
    expect(off["forward_calls"] == len(g) and off["lookups"] == [],
           f"mode off made {off['forward_calls']} calls for {len(g)} tokens, or looked up")
    stores = data.draw(corrupted_stores(g, w, block))
    res = impl.ok("wave.run", {"seed": seed, "config": config,
                               "requests": [{**req, "before": stores}]})["results"][0]
    expect(res["tokens"] == g, f"lossless output {res['tokens']} is not greedy's {g} "
                               f"with stores {stores}")
    expect(res["verified"] is True and res["jumps"] == [], "a lossless output is unverified")
    blocks = {signature_of(res["scope"], s["store"]["window"]): s["store"]["block"]
              for s in stores}
    accepted = 0
    for x in res["lookups"]:
        expect(x["step"] >= w, f"a lookup at step {x['step']} before {w} steps were observed")
        if x["hit"]:
            expect(x["signature"] in blocks, "a hit on a signature that was never stored")
            room = min(max_tokens - x["step"], CONTEXT - 1 - len(prompt.encode()) - x["step"])
            draft = cut(blocks[x["signature"]], room - 1)
            acc = next((i for i, t in enumerate(draft) if g[x["step"] + i] != t), len(draft))
            expect(x["draft"] == len(draft) and x["accepted"] == acc,
                   f"hit {x}: the draft is {draft}, of which {acc} tokens are greedy's")
            accepted += x["accepted"]
    # Each pass emits its accepted tokens and one pick of its own, unless it accepted EOS.
    own = len(g) - accepted
    calls = {own, own + 1} if g and g[-1] == EOS else {own}
    expect(res["forward_calls"] in calls,
           f"{res['forward_calls']} forward calls for {len(g)} tokens, {accepted} accepted")
    _greedy_matches(impl, seed, prompt, g)


@check("WAVE-006", "WAVE-008", "WAVE-009", "WAVE-010", "WAVE-011", "WAVE-012", "WAVE-014",
       "WAVE-022", "WAVE-023", "WAVE-024", "WAVE-025")
@given(seed=seeds, w=st.integers(1, 5), block=st.integers(1, 16), capacity=st.integers(1, 40),
       requests=st.lists(st.tuples(st.sampled_from(PROMPTS), st.integers(0, 30)),
                         min_size=1, max_size=4))
def check_cache_follows_the_spec(impl: Impl, seed: str, w: int, block: int, capacity: int,
                                 requests: list[tuple[str, int]]) -> None:
    """With thresholds 0, lookups, drafts, stores, evictions and counters are the harness's."""
    config = {"window": w, "block": block, "capacity": capacity, "jump_threshold": 0.0,
              "cache_threshold": 0.0, "trace": True}
    out = impl.ok("wave.run", {"seed": seed, "config": config, "requests": [
        {"prompt": p, "max_tokens": m} for p, m in requests]})
    sim = Sim(w, block, capacity)
    scope = scope_of(seed, {})
    for (prompt, max_tokens), res in zip(requests, out["results"], strict=True):
        tokens = res["tokens"]
        expect(res["scope"] == scope, f"scope {res['scope']}, want {scope}")
        expect(_stopped_right(tokens, max_tokens, 1 + len(prompt.encode())),
               f"{prompt!r}: output {tokens} stops in the wrong place")
        sim.events = []
        lookups, calls = sim.decode(scope, 1 + len(prompt.encode()), max_tokens, tokens)
        expect(res["lookups"] == lookups, f"{prompt!r}: lookups {res['lookups']}, want {lookups}")
        expect(res["forward_calls"] == calls, f"{res['forward_calls']} calls, want {calls}")
        expect(res["stats"] == sim.stats, f"stats {res['stats']}, want {sim.stats}")
        expect(res["events"] == sim.events, f"events {res['events']}, want {sim.events}")
        s = res["stats"]
        expect(s["successes"] <= s["hits"] <= s["uses"] and s["entries"] <= capacity,
               f"counters out of order: {s}")
    live = {e["signature"]: e for e in out["entries"] if e["state"] not in ("Evicted",
                                                                            "Invalidated")}
    expect(set(live) == set(sim.live), "the live entries differ from the harness's")
    snapshot = out["results"][-1]["snapshot"] if out["results"] else None
    for sig, entry in sim.live.items():
        got = live[sig]
        expect(got["block"] == entry.block and got["window"] == entry.window
               and got["last_used"] == entry.last_used and got["state"] == entry.state
               and got["hits"] == entry.hits and got["successes"] == entry.successes
               and got["scope"] == scope and got["snapshot"] == snapshot,
               f"entry {sig}: {got}, want {entry} of scope {scope}, snapshot {snapshot}")


@check("WAVE-008")
@given(seed=seeds, capacity=st.integers(1, 12),
       requests=st.lists(st.sampled_from(PROMPTS), min_size=2, max_size=3), data=st.data())
def check_entry_histories_follow_the_table(impl: Impl, seed: str, capacity: int,
                                           requests: list[str], data: st.DataObject) -> None:
    """Every entry's reported history is a path through the wavegen_entry table."""
    tables = {m["name"]: m for m in impl.fsms.get("machines", [])}
    expect("wavegen_entry" in tables, "the suite has no wavegen_entry table (vectors/fsms.json)")
    reqs: list[Json] = [{"prompt": p, "max_tokens": 16, "sources": [_id(7, i)]}
                        for i, p in enumerate(requests)]
    event = data.draw(st.sampled_from([{"migrate": {"sources": [_id(7, 0)]}},
                                       {"cascade": {"ids": [_id(7, 0)]}}, {"retire": {}}]))
    reqs[-1]["before"] = [event]
    out = impl.ok("wave.run", {"seed": seed, "requests": reqs,
                               "config": {"capacity": capacity, "trace": True,
                                          "jump_threshold": 0.0, "cache_threshold": 0.0}})
    for entry in out["entries"]:
        check_history(tables["wavegen_entry"], {"id": entry["signature"], **entry})


@check("WAVE-019", "WAVE-020", "WAVE-021", "WAVE-015")
@given(seed=seeds, prompt=prompts, max_tokens=st.integers(1, 30), w=st.integers(1, 4),
       block=st.integers(1, 12), data=st.data())
def check_jump_and_off_modes(impl: Impl, seed: str, prompt: str, max_tokens: int, w: int,
                             block: int, data: st.DataObject) -> None:
    """Jump emits cached blocks unverified and stores nothing; off never touches the cache."""
    config = {"window": w, "block": block, "jump_threshold": 0.0, "cache_threshold": 0.0}
    req = {"prompt": prompt, "max_tokens": max_tokens}
    g = impl.ok("wave.run", {"seed": seed, "config": config,
                             "requests": [{**req, "mode": "off"}]})["results"][0]["tokens"]
    stores = data.draw(corrupted_stores(g, w, block))
    first, jump, off = impl.ok("wave.run", {"seed": seed, "config": config, "requests": [
        {**req, "mode": "off", "before": stores}, {**req, "mode": "jump"},
        {**req, "mode": "off"}]})["results"]
    expect(first["tokens"] == g and first["lookups"] == [] and off["lookups"] == [],
           "mode off looked up or changed its output")
    expect(off["stats"] == jump["stats"], "mode off changed the statistics")
    blocks = {signature_of(jump["scope"], s["store"]["window"]): s["store"]["block"]
              for s in stores}
    tokens = jump["tokens"]
    expect(jump["verified"] is (not jump["jumps"]), "verified does not say whether it jumped")
    for j in jump["jumps"]:
        expect(j["signature"] in blocks and j["snapshot"] == jump["snapshot"],
               f"jump {j} names no stored entry or another snapshot")
        room = min(max_tokens - j["step"], CONTEXT - 1 - len(prompt.encode()) - j["step"])
        draft = cut(blocks[j["signature"]], room)
        expect(tokens[j["step"]:j["step"] + j["length"]] == draft,
               f"jump {j}: emitted {tokens[j['step']:j['step'] + j['length']]}, draft {draft}")
    # Only the windows of the steps before the first jump are stored (thresholds 0).
    v = jump["jumps"][0]["step"] if jump["jumps"] else len(tokens)
    expect(jump["stores"] == max(0, v - w) == jump["stats"]["stores"] - first["stats"]["stores"],
           f"{jump['stores']} stores with the first jump at step {v}: a stored window or block "
           f"holds an unverified token, or a verified one is missing")


@check("WAVE-003", "WAVE-004", "WAVE-013")
@given(seed=seeds, prompt=st.sampled_from(PROMPTS), w=st.integers(1, 4))
def check_scope_survives_context_updates(impl: Impl, seed: str, prompt: str, w: int) -> None:
    """After a context update the cache still hits; after an agent update it cannot."""
    config = {"window": w, "jump_threshold": 0.0, "cache_threshold": 0.0}
    req = {"prompt": prompt, "max_tokens": w + 6}
    r1, r2, r3 = impl.ok("wave.run", {"seed": seed, "config": config, "requests": [
        req, {**req, "before": [_update("context", "ctx", 0.0)]},
        {**req, "before": [_update("agent", "agent", 0.0)]}]})["results"]
    expect(r1["scope"] == r2["scope"] != r3["scope"] and r1["snapshot"] != r2["snapshot"],
           "the scope does not follow the four slower layers only")
    expect(r2["tokens"] == r1["tokens"] and r2["lookups"][:1] != []
           and r2["lookups"][0]["hit"], "a context-layer update stopped the cache from hitting")
    expect(not any(x["hit"] for x in r3["lookups"]), "an entry of an old scope was served")


@check("WAVE-026", "WAVE-027", "WAVE-028", "WAVE-007", "WAVE-009")
@given(seed=seeds, prompt=st.sampled_from(PROMPTS), kind=st.sampled_from(
    ["migrate", "cascade", "cascade-op", "retire"]), scale=st.sampled_from([0.0, 0.05]))
def check_eviction_on_migration_and_cascade(impl: Impl, seed: str, prompt: str, kind: str,
                                            scale: float) -> None:
    """Entries derived from migrated or retracted sources, or of a retired scope, leave."""
    source = _id(7, 1)
    first: Json = {"prompt": prompt, "max_tokens": 12, "sources": [source],
                   "before": [_update("context", "c", scale)]}
    op_c = first["before"][0]["update"]["op_id"]
    event = {"migrate": {"migrate": {"sources": [source]}},
             "cascade": {"cascade": {"ids": [source]}},
             "cascade-op": {"cascade": {"ids": [op_c]}},
             "retire": {"retire": {}}}[kind]
    before = [_update("agent", "a", 0.0), event] if kind == "retire" else [event]
    r1, r2 = impl.ok("wave.run", {"seed": seed, "config": {
        "jump_threshold": 0.0, "cache_threshold": 0.0}, "requests": [
        first, {"prompt": prompt, "max_tokens": 12, "before": before}]})["results"]
    counter = {"migrate": "migration", "cascade": "cascade", "cascade-op": "cascade",
               "retire": "retire"}[kind]
    n = r1["stats"]["entries"]
    expect(r2["stats"]["evictions"][counter] == n, f"{kind}: {r2['stats']['evictions']} after "
                                                   f"{n} entries derived from it")
    expect(not any(x["hit"] for x in r2["lookups"]), f"{kind}: an evicted entry was served")
    if kind == "cascade-op":
        pristine = impl.ok("lora.snapshot", {"seed": seed})["hash"]
        expect(r2["snapshot"] == pristine, "the layers were not replayed without the op")
