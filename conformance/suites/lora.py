"""Property checks of chapter 13, the LoRA hierarchy (spec/13-lora-hierarchy.md).

The harness computes what the spec fixes exactly on its own, with blake3, cbor2 and
numpy: generated weights, the base model id, op lists and provenance hashes, greedy
picks. Floats the spec fixes only within a tolerance (logits) are compared with one
another: merged with unmerged, a snapshot with the replay of its updates.
"""

from __future__ import annotations

from typing import Any

import blake3
import cbor2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect

Json = Any
ATOL = RTOL = 1e-4
LAYERS = ("foundation", "domain", "swarm", "agent", "context")
RANKS = {"foundation": 8, "domain": 8, "swarm": 4, "agent": 4, "context": 2}
KINDS = ("attn.q", "attn.k", "attn.v", "attn.o", "mlp.up", "mlp.down")
TARGETS = tuple(f"blocks.{i}.{k}" for i in (0, 1) for k in KINDS)
SHAPES = {t: ((256, 64) if t.endswith("up") else (64, 256) if t.endswith("down") else (64, 64))
          for t in TARGETS}
CONFIG = {"name": "strata-tiny-1", "vocab_size": 258, "bos": 256, "eos": 257, "d_model": 64,
          "n_blocks": 2, "n_heads": 4, "d_head": 16, "d_ff": 256, "context": 128,
          "norm_eps": 1e-5, "tok_emb_scale": 0.25, "pos_emb_scale": 1.0}
EOS = 257


def _seed(label: str) -> str:
    return blake3.blake3(b"strata/conformance/lora/seed-" + label.encode()).hexdigest()


SEEDS = (_seed("0"), _seed("1"))


def _op(n: int) -> str:
    return "01" + blake3.blake3(b"strata/conformance/lora/op-%d" % n).digest()[:16].hex()


# --- the harness's own arithmetic ----------------------------------------------


def _f32(out: Json) -> np.ndarray:
    expect(isinstance(out, dict) and isinstance(out.get("f32"), str), f"not a float output: {out}")
    values = np.frombuffer(bytes.fromhex(out["f32"]), dtype=">f4").astype(np.float64)
    expect(list(out.get("shape", [])) == [len(values)], f"shape {out.get('shape')} of "
                                                        f"{len(values)} values")
    return values


def _close(a: np.ndarray, e: np.ndarray) -> bool:
    return a.shape == e.shape and bool(np.all(np.abs(a - e) <= ATOL + RTOL * np.abs(e)))


def _generated(seed: str, name: str, count: int, scale: float) -> np.ndarray:
    """Section 3: BLAKE3 XOF words (u / 2^31 - 1) * scale in binary64, narrowed to binary32."""
    label = ("strata/lora/weights/" + seed + "/" + name).encode()
    words = np.frombuffer(blake3.blake3(label).digest(length=4 * count), dtype="<u4")
    return ((words.astype(np.float64) / 2**31 - 1.0) * scale).astype(np.float32)


def _tensor(name: str) -> tuple[tuple[int, ...], float | None]:
    """Shape and scale of a base tensor or a pristine A (None: a gain of ones)."""
    if name.startswith("lora/"):
        layer, target = name.split("/")[1:3]
        return (RANKS[layer], SHAPES[target][1]), 1 / np.sqrt(SHAPES[target][1])
    if name == "tok_emb":
        return (258, 64), 0.25
    if name == "pos_emb":
        return (128, 64), 1.0
    if name.endswith("_norm"):
        return (64,), None
    shape = SHAPES[name]
    return shape, 1 / np.sqrt(shape[1])


def _model_id(seed: str) -> str:
    body = cbor2.dumps({"config": CONFIG, "seed": bytes.fromhex(seed)}, canonical=True)
    return "strata-tiny-1/" + blake3.blake3(body).digest()[:16].hex()


def _project(updates: list[Json]) -> dict[str, list[str]]:
    """Section 5.3: each layer's op list, one entry per op, for accepted updates."""
    ops: dict[str, list[str]] = {layer: [] for layer in LAYERS}
    for u in updates:
        if not ops[u["layer"]] or ops[u["layer"]][-1] != u["op_id"]:
            ops[u["layer"]].append(u["op_id"])
    return ops


def _hash(model_id: str, ops: dict[str, list[str]]) -> str:
    layers = [[layer, [bytes.fromhex(x) for x in ops[layer]]] for layer in LAYERS]
    return blake3.blake3(cbor2.dumps({"base": model_id, "layers": layers},
                                     canonical=True)).hexdigest()


def _pick(values: np.ndarray) -> int:
    return int(np.flatnonzero(values == values.max())[0])


# --- strategies ----------------------------------------------------------------

seeds = st.sampled_from(SEEDS)
tokens = st.lists(st.integers(0, 257), min_size=1, max_size=20)
names = st.one_of(
    st.sampled_from(["tok_emb", "pos_emb", "blocks.0.attn_norm", "final_norm", *TARGETS]),
    st.builds(lambda layer, t: f"lora/{layer}/{t}/A", st.sampled_from(LAYERS),
              st.sampled_from(TARGETS)))


@st.composite
def update_lists(draw: st.DrawFn, zero_b: bool = False, max_size: int = 6) -> list[Json]:
    """Updates with distinct op ids except runs of one op over several targets of a layer."""
    out: list[Json] = []
    n = draw(st.integers(0, 10_000))
    for _ in range(draw(st.integers(0 if not zero_b else 1, max_size))):
        same = bool(out) and draw(st.integers(0, 3)) == 0
        layer = out[-1]["layer"] if same else draw(st.sampled_from(LAYERS))
        if not same:
            n += 1
        scale = 0.0 if zero_b else draw(st.sampled_from([0.05, -0.1, 0.2, 0.3]))
        u: Json = {"layer": layer, "target": draw(st.sampled_from(TARGETS)), "op_id": _op(n),
                   "b": {"label": draw(st.text(max_size=6)), "scale": scale}}
        if draw(st.booleans()):
            u["a"] = {"label": draw(st.text(max_size=6)), "scale": 0.05}
        out.append(u)
    return out


# --- checks --------------------------------------------------------------------


@check("LORA-003", "LORA-004", "LORA-005", "LORA-010")
@given(seed=seeds, name=names,
       picks=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=6))
def check_weights_follow_generator(impl: Impl, seed: str, name: str,
                                   picks: list[float]) -> None:
    """Weights and pristine A matrices equal the generator of section 3, computed here."""
    shape, scale = _tensor(name)
    size = int(np.prod(shape))
    indices = sorted({int(p * size) for p in picks} | {size - 1})
    out = impl.ok("lora.weights", {"seed": seed, "name": name, "indices": indices})
    expect(out.get("shape") == list(shape), f"{name}: shape {out.get('shape')}, want {shape}")
    want = (np.ones(size, np.float32) if scale is None
            else _generated(seed, name, size, scale))[indices]
    got = out.get("values", {})
    expect(got == {"f32": want.astype(">f4").tobytes().hex(), "shape": [len(indices)]},
           f"{name}{indices}: {got} != {want.tolist()}")


@check("LORA-006")
@given(seed=st.binary(min_size=32, max_size=32))
def check_model_id(impl: Impl, seed: bytes) -> None:
    """The base model id is section 4.4's hash of config and seed, computed here."""
    got = impl.ok("lora.model_id", {"seed": seed.hex()}).get("model_id")
    expect(got == _model_id(seed.hex()), f"model id {got}, want {_model_id(seed.hex())}")


@check("LORA-021", "LORA-010")
@given(seed=seeds, toks=tokens, updates=update_lists(zero_b=True))
def check_zero_b_is_base(impl: Impl, seed: str, toks: list[int], updates: list[Json]) -> None:
    """Updates whose delta_B is zero give the base logits bit for bit (A changed or not)."""
    base = impl.ok("lora.forward", {"seed": seed, "tokens": toks})["logits"]
    got = impl.ok("lora.forward", {"seed": seed, "tokens": toks, "updates": updates})["logits"]
    expect(got == base, "zero-B updates changed the unmerged logits")


@check("LORA-022", "LORA-023", "LORA-020")
@given(seed=seeds, toks=tokens, updates=update_lists())
def check_merged_matches_unmerged(impl: Impl, seed: str, toks: list[int],
                                  updates: list[Json]) -> None:
    """Merged and unmerged logits agree, and merging never leaks into later passes."""
    plain = {"seed": seed, "tokens": toks}
    args = {**plain, "updates": updates}
    base = _f32(impl.ok("lora.forward", plain)["logits"])
    merged = _f32(impl.ok("lora.forward_merged", args)["logits"])
    unmerged = _f32(impl.ok("lora.forward", args)["logits"])
    expect(_close(merged, unmerged), f"merged differs from unmerged by "
                                     f"{np.abs(merged - unmerged).max()}")
    again = _f32(impl.ok("lora.forward_merged", args)["logits"])
    expect(_close(again, merged), "a second merge of the same snapshot gave other logits")
    after = _f32(impl.ok("lora.forward", plain)["logits"])
    expect(_close(after, base), "the base logits changed after a merge")
    base_merged = _f32(impl.ok("lora.forward_merged", plain)["logits"])
    expect(_close(base_merged, base), "merged weights of the pristine hierarchy are not W")


@check("LORA-018", "LORA-019", "LORA-014", "LORA-012")
@given(seed=seeds, updates=update_lists(max_size=8), relabel=st.text(max_size=4))
def check_hash_follows_ops(impl: Impl, seed: str, updates: list[Json], relabel: str) -> None:
    """Op lists and the provenance hash equal the harness's own; floats never enter them."""
    model_id = _model_id(seed)
    out = impl.ok("lora.snapshot", {"seed": seed, "updates": updates})
    ops = _project(updates)
    expect(out.get("layers") == ops, f"op lists {out.get('layers')}, want {ops}")
    expect(out.get("hash") == _hash(model_id, ops), f"hash {out.get('hash')}, want "
                                                    f"{_hash(model_id, ops)}")
    other = [{**u, "b": {"label": relabel, "scale": -u["b"]["scale"] - 0.01}} for u in updates]
    expect(impl.ok("lora.snapshot", {"seed": seed, "updates": other}) == out,
           "the same ops with other deltas changed the snapshot")
    listed = impl.ok("lora.snapshot_hash", {"seed": seed, "layers": ops})
    expect(listed.get("hash") == out.get("hash"), "lora.snapshot_hash disagrees with the "
                                                  "snapshot of the same op lists")
    for layer in LAYERS:  # reordering two ops of one layer changes the hash
        if len(ops[layer]) >= 2:
            swapped = {**ops, layer: [ops[layer][1], ops[layer][0], *ops[layer][2:]]}
            h = impl.ok("lora.snapshot_hash", {"seed": seed, "layers": swapped}).get("hash")
            expect(h != out.get("hash") and h == _hash(model_id, swapped),
                   f"swapping the first two ops of {layer} gave hash {h}")


@check("LORA-016", "LORA-013", "LORA-015")
@given(seed=seeds, toks=tokens, updates=update_lists(),
       bad_at=st.lists(st.integers(0, 6), max_size=2))
def check_snapshot_frozen(impl: Impl, seed: str, toks: list[int], updates: list[Json],
                          bad_at: list[int]) -> None:
    """A snapshot ignores later updates; rejected updates change nothing; state is a replay."""
    script: list[Json] = [{"update": u} for u in updates]
    for i in sorted(bad_at, reverse=True):
        u = updates[i % len(updates)] if updates else {"target": TARGETS[0], "op_id": _op(0),
                                                        "b": {"label": "", "scale": 1.0}}
        script.insert(min(i, len(script)), {"update": {**u, "layer": "team"}})
    steps = [{"freeze": {}}, *script, {"freeze": {}},
             {"forward": {"snapshot": 0, "tokens": toks}},
             {"forward": {"snapshot": 1, "tokens": toks}}]
    results = impl.ok("lora.run", {"seed": seed, "steps": steps}).get("results", [])
    expect(len(results) == len(steps), f"{len(results)} results for {len(steps)} steps")
    for step, result in zip(steps[1:-3], results[1:-3], strict=True):
        bad = step["update"]["layer"] == "team"
        expect(result == ({"error": {"code": "E_PAYLOAD_INVALID"}} if bad else {}),
               f"update {step['update']}: {result}")
    pristine = impl.ok("lora.snapshot", {"seed": seed})["hash"]
    replayed = impl.ok("lora.snapshot", {"seed": seed, "updates": updates})["hash"]
    expect(results[0].get("hash") == pristine, "snapshot 0's hash is not the pristine hash")
    expect(results[-3].get("hash") == replayed, "snapshot 1's hash is not its replay's")
    base = _f32(impl.ok("lora.forward", {"seed": seed, "tokens": toks})["logits"])
    fresh = _f32(impl.ok("lora.forward", {"seed": seed, "tokens": toks,
                                          "updates": updates})["logits"])
    expect(_close(_f32(results[-2].get("logits")), base), "snapshot 0 changed after updates")
    expect(_close(_f32(results[-1].get("logits")), fresh), "snapshot 1 differs from a fresh "
                                                           "replay of the same updates")


@check("LORA-026")
@given(values=st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=40),
       ties=st.lists(st.integers(0, 39), max_size=3))
def check_argmax_smallest_tie(impl: Impl, values: list[float], ties: list[int]) -> None:
    """The pick is the largest logit's id, the smallest id among equal largest."""
    arr = np.array(values, dtype=np.float32)
    for t in ties:
        arr[t % len(arr)] = arr.max()
    got = impl.ok("lora.argmax", {"logits": {"f32": arr.astype(">f4").tobytes().hex(),
                                             "shape": [len(arr)]}}).get("token")
    expect(got == _pick(arr.astype(np.float64)), f"picked {got} of {arr.tolist()}")


@check("LORA-017", "LORA-025", "LORA-026", "LORA-027")
@given(seed=seeds, prompt=st.text(max_size=10), max_tokens=st.integers(0, 5),
       updates=update_lists(max_size=3))
def check_generation_is_greedy(impl: Impl, seed: str, prompt: str, max_tokens: int,
                               updates: list[Json]) -> None:
    """Decoding is deterministic and picks the argmax of the snapshot's logits at each step."""
    args = {"seed": seed, "prompt": prompt, "max_tokens": max_tokens, "updates": updates}
    got = impl.ok("lora.generate", args).get("tokens")
    expect(isinstance(got, list) and impl.ok("lora.generate", args).get("tokens") == got,
           "two decodings of one snapshot differ")
    expect(len(got) <= max_tokens and all(isinstance(t, int) and 0 <= t <= EOS for t in got),
           f"tokens {got} for max_tokens {max_tokens}")
    expect(EOS not in got[:-1], f"decoding went on after EOS: {got}")
    expect(len(got) == max_tokens or (got and got[-1] == EOS), f"stopped early: {got}")
    sequence = [256, *prompt.encode("utf-8")]
    for token in got:
        logits = _f32(impl.ok("lora.forward", {"seed": seed, "tokens": sequence,
                                               "updates": updates})["logits"])
        top = np.sort(logits)[-2:]
        if top[1] - top[0] > 10 * (ATOL + RTOL * abs(top[1])):  # a clear pick only
            expect(token == _pick(logits), f"after {sequence} picked {token}, "
                                           f"argmax is {_pick(logits)}")
        sequence.append(token)
