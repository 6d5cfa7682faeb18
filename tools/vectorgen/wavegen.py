"""Vectors of chapter 14, WaveGen (spec/14-wavegen.md).

Derivations: `seed(label)` = BLAKE3(b"strata/vectors/wavegen/seed-" + label) (32 bytes);
`op(label)` = 0x01 followed by the first 16 bytes of BLAKE3(b"strata/vectors/wavegen/op-" +
label), an OpId; `episode(label)` and `evidence(label)` likewise with kind bytes 0x07 and
0x02 and the prefixes `episode-` and `evidence-`. Updates are chapter 13's notation (its
section 9.2). Coherence outputs carry `atol` 1e-6.

Generation checks what each case claims and section 7.3's margins: every `wave.run` case
is replayed in process with a trace of every greedy pick and every coherence gate, and
fails unless each pick's top-2 gap exceeds ten times chapter 13's tolerance and each
coherence differs from its threshold by more than 3.4e-3. Lossless outputs are checked
equal to mode `off` and to `lora.generate`.
"""

from __future__ import annotations

import math
from typing import Any

import blake3

import reference.driver.wavegen as wave_driver  # noqa: F401 (registers the wave.* commands)
from reference.driver import dispatch
from reference.driver._registry import Args
from reference.lora import generator
from reference.wavegen import decode
from tools.vectorgen import Case, GenerationError, Result, VectorFile

FOLDER, CHAPTER = "wavegen", "14-wavegen"
COHERENCE_TOLERANCE = {"atol": 1e-6, "rtol": 0.0}
LOGIT_ATOL = LOGIT_RTOL = 1e-4  # chapter 13 section 7.3
PICK_FACTOR = 10.0  # chapter 13 section 8.3
GATE_MARGIN = 2 * (LOGIT_ATOL + 16 * LOGIT_RTOL)  # section 2.2: 3.4e-3
PREFIX = b"strata/vectors/wavegen/"
ZERO = "00" * 32


def seed(label: str) -> str:
    return blake3.blake3(PREFIX + b"seed-" + label.encode()).hexdigest()


def _id(kind: int, prefix: str, label: str) -> str:
    return f"{kind:02x}" + blake3.blake3(PREFIX + f"{prefix}-{label}".encode()).digest()[:16].hex()


def op(label: str) -> str:
    return _id(0x01, "op", label)


def episode(label: str) -> str:
    return _id(0x07, "episode", label)


def evidence(label: str) -> str:
    return _id(0x02, "evidence", label)


# "json-3" is the first of json-0, json-1, ... whose five-request scenario below has every
# pick and every gate of wide margin (json-1's request 2 has a pick too close to call), and
# the migration's scale 0.1 keeps request 6 wide too. Generation re-checks that they do.
SCENARIO_LABEL = "json-3"
SEED = seed(SCENARIO_LABEL)
P1 = "Write a function to parse JSON in Python"
DERIVATION = (
    'Seed: blake3(b"strata/vectors/wavegen/seed-json-3") unless stated. Op ids: 0x01 || '
    'blake3(b"strata/vectors/wavegen/op-<label>")[:16]; episode ids 0x07 || ...episode-<label>, '
    "evidence ids 0x02 || ...evidence-<label>. An update {\"b\": {\"label\": L, \"scale\": c}} "
    'adds the generator tensor "update/L" to B (chapter 13 section 9.2).')


def ensure(cond: bool, message: str) -> None:
    """Stop generation when a case lacks the property it claims."""
    if not cond:
        raise GenerationError(message)


def run(command: str, args: dict[str, Any]) -> Any:
    response = dispatch({"id": 0, "cmd": command, "args": args})
    ensure(response["ok"], f"{command}: the reference rejected the case: {response.get('error')}")
    return response["result"]


def case(case_id: str, reqs: tuple[str, ...], description: str, command: str,
         args: dict[str, Any], comment: str | None = None,
         tolerance: dict[str, float] | None = None) -> Case:
    return Case(case_id, reqs, description, command, args, "valid", comment=comment,
                tolerance=tolerance)


def bad(case_id: str, reqs: tuple[str, ...], description: str, command: str,
        args: dict[str, Any], error: str, comment: str | None = None) -> Case:
    result: Result = "invalid"
    return Case(case_id, reqs, description, command, args, result, comment=comment, error=error)


def ctx(label: str, scale: float, layer: str = "context",
        target: str = "blocks.1.mlp.down") -> dict[str, Any]:
    """An update event of one op `label` on one target (chapter 13 section 9.2)."""
    return {"update": {"layer": layer, "target": target, "op_id": op(label),
                       "b": {"label": label, "scale": scale}}}


# --- margins (section 7.3) -------------------------------------------------------------------


def check_margins(args: dict[str, Any]) -> dict[str, Any]:
    """Replay a `wave.run` in process; fail unless every pick and gate has a wide margin."""
    trace = decode.Trace()
    out = wave_driver.run_session(Args(args), trace)
    for n, (top, second) in enumerate(trace.picks):
        need = PICK_FACTOR * (LOGIT_ATOL + LOGIT_RTOL * abs(top))
        ensure(top - second > need, f"pick {n}: top-2 gap {top - second:.6f} <= {need:.6f}")
    for n, (c, threshold) in enumerate(trace.gates):
        ensure(abs(c - threshold) > GATE_MARGIN,
               f"gate {n}: coherence {c:.6f} within {GATE_MARGIN} of {threshold}")
    ensure(out == run("wave.run", args), "the in-process replay differs from the driver's answer")
    return out


def run_case(case_id: str, reqs: tuple[str, ...], description: str, args: dict[str, Any],
             comment: str | None = None) -> tuple[Case, dict[str, Any]]:
    """A `wave.run` case whose decisions all have wide margins, and its output."""
    try:
        out = check_margins(args)
    except GenerationError as exc:
        raise GenerationError(f"{case_id}: {exc}") from exc
    return case(case_id, reqs, description, "wave.run", args, comment=comment), out


def greedy(prompt: str, max_tokens: int, s: str = SEED) -> list[int]:
    """Mode off's tokens, checked equal to lora.generate."""
    out = run("wave.run", {"seed": s, "requests": [{"prompt": prompt, "max_tokens": max_tokens,
                                                    "mode": "off"}]})
    tokens: list[int] = out["results"][0]["tokens"]
    ensure(tokens == run("lora.generate", {"seed": s, "prompt": prompt,
                                           "max_tokens": max_tokens})["tokens"],
           f"mode off differs from lora.generate for {prompt!r}")
    return tokens


# --- coherence (section 2.2) -----------------------------------------------------------------


def f32(rows: list[list[float]]) -> dict[str, Any]:
    flat = [v for row in rows for v in row]
    shape = [len(rows[0])] if len(rows) == 1 else [len(rows), len(rows[0])]
    return {"f32": generator.encode_f32(flat), "shape": shape}


def exact_coherence(row: list[float]) -> float:
    """1 - H / ln n in binary64, with the maximum subtracted (section 2.2)."""
    m = max(row)
    e = [math.exp(z - m) for z in row]
    s = sum(e)
    h = -sum((x / s) * math.log(x / s) for x in e if x > 0)
    return 1.0 - h / math.log(len(row))


def coherence_cases() -> list[Case]:
    logits = run("lora.forward", {"seed": SEED, "tokens": [256, *P1.encode()]})["logits"]
    model_row = generator.decode_f32(bytes.fromhex(logits["f32"]))
    rows3 = [generator.decode_f32(bytes.fromhex(run("lora.forward", {
        "seed": SEED, "tokens": [256, *P1.encode()[:n]]})["logits"]["f32"])) for n in (3, 9, 27)]
    peaked = [30.0] + [0.0] * 257
    inputs = [
        ("uniform-258", "258 equal logits: coherence 0.", [[0.0] * 258], None),
        ("uniform-2", "Two equal logits: coherence 0.", [[-5.0, -5.0]],
         "Boundary: the least number of logits."),
        ("two-logits", "Logits 1 and 0: 1 - H(e/(e+1), 1/(e+1)) / ln 2.", [[1.0, 0.0]], None),
        ("peaked", "One logit of 30 among 257 zeros: coherence near 1.", [peaked], None),
        ("large-logit", "Logits 1000 and 0: coherence 1 to binary32 precision.",
         [[1000.0, 0.0]], "exp(1000) overflows binary64: subtract the maximum first."),
        ("model-step", "The zero-update logits of the scenario seed after BOS + the P1 prompt.",
         [model_row], f"Logits: lora.forward of the seed with tokens BOS + {P1!r} (UTF-8)."),
        ("three-steps", "Three rows of model logits: three step coherences and their mean.",
         rows3, f"Rows: lora.forward of BOS + the first 3, 9 and 27 bytes of {P1!r}."),
    ]
    cases = []
    for slug, description, rows, comment in inputs:
        got = run("wave.coherence", {"logits": f32(rows)})
        steps = generator.decode_f32(bytes.fromhex(got["steps"]["f32"]))
        want = [exact_coherence(r) for r in rows]
        ensure(all(abs(a - b) <= 1e-6 for a, b in zip(steps, want, strict=True)),
               f"{slug}: coherences {steps}, want {want}")
        cases.append(case(f"coherence-{slug}", ("WAVE-001", "WAVE-002"), description,
                          "wave.coherence", {"logits": f32(rows)}, comment=comment,
                          tolerance=COHERENCE_TOLERANCE))
    one = {"f32": "3f800000", "shape": [1]}
    cases += [
        bad("coherence-one-logit", ("WAVE-001",), "One logit: ln(1) = 0 normalises nothing.",
            "wave.coherence", {"logits": one}, "E_PAYLOAD_INVALID",
            comment="Boundary: one below the least number of logits."),
        bad("coherence-nan", ("WAVE-001",), "A NaN logit.", "wave.coherence",
            {"logits": {"f32": "3f8000007fc00000", "shape": [2]}}, "E_PAYLOAD_INVALID"),
        bad("coherence-minus-infinity", ("WAVE-001",), "A -infinity logit.", "wave.coherence",
            {"logits": {"f32": "3f800000ff800000", "shape": [2]}}, "E_PAYLOAD_INVALID",
            comment="-infinity would be a probability of zero, but logits are finite."),
        bad("coherence-no-rows", ("WAVE-002",), "Shape [0, 258]: no step, so no mean.",
            "wave.coherence", {"logits": {"f32": "", "shape": [0, 258]}}, "E_PAYLOAD_INVALID",
            comment="Boundary: the mean of no step coherence is undefined (section 2.2)."),
        bad("coherence-shape-mismatch", ("CONF-005",), "Two values with shape [3].",
            "wave.coherence", {"logits": {"f32": "3f8000003f800000", "shape": [3]}},
            "E_BAD_REQUEST"),
    ]
    return cases


# --- scopes and signatures (section 3) ----------------------------------------------------------

PRISTINE_ZERO_SCOPE = "d32cdfbc32ed026262515fd70bb13c2e2a1bb62b21e918b6cc380b566a695cdb"
EXAMPLE_SIGNATURE = "62640bfa4bc838debfdaf836f986d627a20b56134f0299561d54e0461a96a8a8"


def signature_cases() -> list[Case]:
    p, q = op("p"), op("q")

    def scope(s: str, layers: dict[str, list[str]]) -> str:
        return str(run("wave.scope", {"seed": s, "layers": layers})["scope"])

    pristine = scope(ZERO, {})
    ensure(pristine == PRISTINE_ZERO_SCOPE, "the pristine zero scope differs from section 3.1's")
    ensure(scope(ZERO, {"context": [p, q]}) == pristine, "context ops changed the scope")
    ensure(scope(ZERO, {"agent": [p]}) != pristine, "an agent op kept the scope")
    ensure(scope(ZERO, {"swarm": [p, q]}) != scope(ZERO, {"swarm": [q, p]}),
           "reordering ops kept the scope")
    first4 = greedy(P1, 4, ZERO)
    ensure(first4 == [132, 255, 255, 221], f"section 3.2's example window is {first4}")
    sig = run("wave.signature", {"scope": pristine, "tokens": first4})["signature"]
    ensure(sig == EXAMPLE_SIGNATURE, "the example signature differs from section 3.2's")
    full = [256] + [(7 * i) % 258 for i in range(127)]
    return [
        case("scope-pristine-zero", ("WAVE-003",), "The pristine hierarchy of the zero seed "
             "(section 3.1's example).", "wave.scope", {"seed": ZERO, "layers": {}}),
        case("scope-context-ops", ("WAVE-003", "WAVE-004"),
             "Ops p, q in the context layer: the provenance hash changes, the scope does not.",
             "wave.scope", {"seed": ZERO, "layers": {"context": [p, q]}},
             comment="The scope equals scope-pristine-zero's."),
        case("scope-agent-op", ("WAVE-003",), "Op p in the agent layer changes the scope.",
             "wave.scope", {"seed": ZERO, "layers": {"agent": [p]}}),
        case("scope-swarm-pq", ("WAVE-003",), "Ops p then q in the swarm layer.", "wave.scope",
             {"seed": ZERO, "layers": {"swarm": [p, q]}}),
        case("scope-swarm-qp", ("WAVE-003",), "Ops q then p: order changes the scope.",
             "wave.scope", {"seed": ZERO, "layers": {"swarm": [q, p]}}),
        case("scope-every-layer", ("WAVE-003", "WAVE-004", "LORA-012"),
             "Every layer applied ops, no layer lists one twice.",
             "wave.scope", {"seed": SEED, "layers": {"foundation": [p], "domain": [q],
                                                     "swarm": [], "agent": [q, p],
                                                     "context": [p]}}),
        bad("scope-unknown-layer", ("LORA-028",), "A layer named 'team'.", "wave.scope",
            {"seed": ZERO, "layers": {"team": [p]}}, "E_PAYLOAD_INVALID"),
        bad("scope-op-twice", ("LORA-012",), "A layer lists op p twice.", "wave.scope",
            {"seed": ZERO, "layers": {"agent": [p, p]}}, "E_PAYLOAD_INVALID"),
        case("signature-example", ("WAVE-005",), "Section 3.2's example: the first four tokens "
             "the zero seed emits for the P1 prompt, under the pristine zero scope.",
             "wave.signature", {"scope": pristine, "tokens": first4},
             comment=f"P1 = {P1!r}; the window is lora.generate's first four tokens."),
        case("signature-one-token", ("WAVE-005",), "A window of one token.", "wave.signature",
             {"scope": pristine, "tokens": [0]}, comment="Boundary: the least window."),
        case("signature-bos-eos", ("WAVE-005",), "BOS and EOS in a window (three-byte CBOR "
             "heads).", "wave.signature", {"scope": pristine, "tokens": [256, 23, 24, 257]},
             comment="23 and 24 straddle CBOR's one-byte integer encoding."),
        case("signature-128-tokens", ("WAVE-005",), "A window of 128 tokens.", "wave.signature",
             {"scope": pristine, "tokens": full},
             comment="Boundary: the context. Token i >= 1 is 7 (i - 1) mod 258."),
        bad("signature-scope-31-bytes", ("WAVE-005",), "A scope one byte short.",
            "wave.signature", {"scope": pristine[:-2], "tokens": [1]}, "E_PAYLOAD_INVALID"),
        bad("signature-empty-window", ("WAVE-005",), "No token.", "wave.signature",
            {"scope": pristine, "tokens": []}, "E_PAYLOAD_INVALID"),
        bad("signature-129-tokens", ("WAVE-005",), "129 tokens.", "wave.signature",
            {"scope": pristine, "tokens": [*full, 0]}, "E_PAYLOAD_INVALID",
            comment="Boundary: one past the context."),
        bad("signature-token-258", ("WAVE-005",), "Token 258, one past EOS.", "wave.signature",
            {"scope": pristine, "tokens": [1, 258]}, "E_PAYLOAD_INVALID"),
        bad("signature-token-minus-one", ("WAVE-005",), "Token -1, one below 0.",
            "wave.signature", {"scope": pristine, "tokens": [1, -1]}, "E_PAYLOAD_INVALID",
            comment="Boundary: one below the least token id."),
    ]


# --- cache decisions (sections 4 and 5) ----------------------------------------------------------

P2 = "hello, cache"


def decision_cases() -> list[Case]:
    cases: list[Case] = []
    w, n = 4, 24
    g = greedy(P2, n)
    ensure(len(g) == n and 257 not in g, "the decisions prompt stops early")
    block = g[w:w + 12]
    wrong = [*block[:5], (block[5] + 1) % 256, *block[6:]]
    trace = {"trace": True}

    def store(window: list[int], blk: list[int], sources: list[str] | None = None) -> Any:
        body: dict[str, Any] = {"window": window, "block": blk}
        if sources is not None:
            body["sources"] = sources
        return {"store": body}

    req = {"prompt": P2, "max_tokens": n}
    short = {"prompt": P2, "max_tokens": 12}  # fewer entries where only their fate matters
    comment = (f"P2 = {P2!r}; its greedy decoding g of {n} tokens is that of mode off. The "
               f"stored window is g[0:4], the block g[4:16].")
    c, out = run_case("lossless-whole-draft", ("WAVE-008", "WAVE-014", "WAVE-016", "WAVE-018",
                                               "WAVE-024", "WAVE-012", "WAVE-025", "WAVE-002",
                                               "WAVE-030"),
                      "A stored block equal to the greedy continuation: one verification pass "
                      "accepts all 12 draft tokens and adds the model's 13th. The store "
                      "event is applied before the inference, and the mean coherence of the "
                      "4 observed steps passes the gate.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**req, "before": [store(g[:w], block)]}]}, comment)
    r = out["results"][0]
    ensure(r["tokens"] == g and r["lookups"][0] == {"step": 4, "signature": r["lookups"][0][
        "signature"], "hit": True, "draft": 12, "accepted": 12}, "the whole draft was not taken")
    cases.append(c)
    c, out = run_case("lossless-wrong-token", ("WAVE-016", "WAVE-018", "WAVE-008", "WAVE-012"),
                      "Draft token 5 is wrong: 5 tokens accepted, then the model's own token; "
                      "the output is still the greedy decoding, and the entry stays Stored.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**req, "before": [store(g[:w], wrong)]}]},
                      comment + " Block token 5 is replaced by (g[9] + 1) mod 256.")
    r = out["results"][0]
    ensure(r["tokens"] == g and r["lookups"][0]["accepted"] == 5, "a wrong draft was accepted")
    cases.append(c)
    late = [*g[12:17], (g[17] + 1) % 256, *g[18:24]]
    c, out = run_case("jump-wrong-token", ("WAVE-019", "WAVE-020", "WAVE-022", "WAVE-015",
                                           "WAVE-024", "WAVE-008"),
                      "A wrong block for the window g[8:12] in jump mode: 12 plain steps, then "
                      "the block is emitted as is (wrong at step 17) and the output is "
                      "unverified; only the 8 windows of the 12 computed steps are stored, their "
                      "blocks cut before the jump.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**req, "mode": "jump",
                                     "before": [store(g[8:12], late)]}]},
                      f"P2 = {P2!r}; its greedy decoding g of {n} tokens is that of mode off. "
                      "The stored block is g[12:24] with g[17] replaced by (g[17] + 1) mod 256.")
    r = out["results"][0]
    ensure(r["tokens"] == g[:12] + late and not r["verified"] and r["stores"] == 8
           and r["forward_calls"] == 12, "jump mode did not emit the block unverified")
    stored = {(tuple(e["window"]), tuple(e["block"])) for e in out["entries"]
              if e["history"][0]["event"] == "WaveGenStore" and e["created"] == 2}
    ensure(stored == {(tuple(g[i - 4:i]), tuple(g[i:12])) for i in range(4, 12)},
           "the stored blocks are not those of the computed steps, cut before the jump")
    cases.append(c)
    c, out = run_case("jump-room-one", ("WAVE-014", "WAVE-015", "WAVE-019", "LORA-027"),
                      "max_tokens 13 in jump mode with a block stored for the window g[8:12]: "
                      "the lookup at step 12 has room 1 and jumps one token, so 12 forward "
                      "passes emit 13 tokens.",
                      {"seed": SEED, "config": trace,
                       "requests": [{"prompt": P2, "max_tokens": 13, "mode": "jump",
                                     "before": [store(g[8:12], late)]}]},
                      f"P2 = {P2!r}; its greedy decoding g of {n} tokens is that of mode off. "
                      "The stored block is g[12:24] with g[17] replaced by (g[17] + 1) mod 256.")
    r = out["results"][0]
    ensure(r["tokens"] == g[:13] and r["forward_calls"] == 12 and len(r["jumps"]) == 1
           and r["jumps"][0]["length"] == 1, "no one-token jump at room 1")
    cases.append(c)
    c, out = run_case("off-mode", ("WAVE-021",), "Mode off: no lookup, no store, tick unchanged; "
                      "a stored entry is not used.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**req, "mode": "off", "before": [store(g[:w], block)]}]},
                      comment)
    ensure(out["results"][0]["lookups"] == [] and out["entries"][0]["last_used"] == 1,
           "mode off touched the cache")
    cases.append(c)
    c, out = run_case("thresholds-high", ("WAVE-014", "WAVE-022", "WAVE-002"),
                      "Thresholds of 0.5, far above every window's coherence: no lookup, no "
                      "store.", {"seed": SEED, "config": {"jump_threshold": 0.5,
                                                          "cache_threshold": 0.5},
                                 "requests": [req, req]})
    ensure(out["results"][1]["stats"]["uses"] == 0 and out["results"][1]["stats"]["stores"] == 0,
           "high thresholds still looked up or stored")
    cases.append(c)
    c, out = run_case("room-limits-draft", ("WAVE-014", "WAVE-015", "LORA-027"),
                      "max_tokens 9: the lookup at step 4 has room 5, so the 12-token block "
                      "drafts 4 and the pass emits 5; no lookup has room 1.",
                      {"seed": SEED, "config": trace,
                       "requests": [{"prompt": P2, "max_tokens": 9,
                                     "before": [store(g[:w], block)]}]}, comment)
    ensure(out["results"][0]["lookups"][0]["draft"] == 4
           and out["results"][0]["forward_calls"] == 5, "room did not cut the draft")
    cases.append(c)
    eos_block = [*block[:3], 257, *block[3:6]]
    c, out = run_case("draft-cut-after-eos", ("WAVE-015", "WAVE-016"),
                      "A block holding EOS at index 3 drafts 4 tokens, EOS last; greedy decoding "
                      "rejects the EOS and goes on.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**req, "before": [store(g[:w], eos_block)]}]},
                      comment + " The block is g[4:7], EOS, g[7:10].")
    ensure(out["results"][0]["lookups"][0]["draft"] == 4, "the draft was not cut after EOS")
    cases.append(c)
    c, out = run_case("store-restore-replace", ("WAVE-022", "WAVE-023", "WAVE-006", "WAVE-007",
                                                "WAVE-010"),
                      "The same request twice, then again after a context update that changes "
                      "the decoding: stores restore the entries of equal blocks and replace the "
                      "others; sources grow.",
                      {"seed": SEED, "config": {**trace, "block": 8},
                       "requests": [{**req, "sources": [episode("a")]},
                                    {**req, "sources": [episode("b")]},
                                    {**req, "sources": [episode("c")],
                                     "before": [ctx("restore", 0.5)]}]},
                      comment + " Block length 8.")
    events = [e["event"] for r in out["results"] for e in r["events"]]
    ensure("restore" in events and "replace" in events, "no restore or no replace")
    cases.append(c)
    c, out = run_case("capacity-lru", ("WAVE-011", "WAVE-010", "WAVE-008"),
                      "Capacity 3: every creation past three evicts the least recently used "
                      "entry, ties broken by the smaller signature.",
                      {"seed": SEED, "config": {**trace, "capacity": 3},
                       "requests": [{"prompt": P2, "max_tokens": 10},
                                    {"prompt": "a second prompt", "max_tokens": 10}]})
    ensure(out["results"][1]["stats"]["evictions"]["capacity"] > 0
           and out["results"][1]["stats"]["entries"] == 3, "no capacity eviction")
    cases.append(c)
    c, out = run_case("migration-evicts", ("WAVE-026", "WAVE-012"),
                      "A circuit extracted from episode a migrates: every entry listing episode "
                      "a is evicted; entries of episode b stay.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**short, "sources": [episode("a")]},
                                    {"prompt": "a second prompt", "max_tokens": 12,
                                     "sources": [episode("b")]},
                                    {**short, "before": [{"migrate": {"sources": [episode("a")]}},
                                                       ctx("migrated", 0.0, "agent")]}]},
                      comment)
    r = out["results"][2]
    ensure(r["stats"]["evictions"]["migration"] > 0 and r["lookups"]
           and not any(x["hit"] for x in r["lookups"]), "migration did not evict")
    cases.append(c)
    c, out = run_case("cascade-evidence", ("WAVE-027", "WAVE-007", "WAVE-009"),
                      "The prompt's evidence is tombstoned: every entry derived from it is "
                      "invalidated and never served again.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**short, "sources": [evidence("p2")]},
                                    {**short, "before": [{"cascade": {"ids": [evidence("p2")]}}]}]},
                      comment)
    r = out["results"][1]
    ensure(r["stats"]["evictions"]["cascade"] == out["results"][0]["stats"]["entries"]
           and not any(x["hit"] for x in r["lookups"]), "the cascade left entries")
    cases.append(c)
    c, out = run_case("cascade-context-op", ("WAVE-027", "WAVE-007", "WAVE-013", "WAVE-030"),
                      "A context-layer op is retracted: the entries produced through it are "
                      "invalidated and the layers are replayed without it.",
                      {"seed": SEED, "config": trace,
                       "requests": [{**short, "before": [ctx("c", 0.1)]},
                                    {**short, "before": [{"cascade": {"ids": [op("c")]}}]}]},
                      comment)
    pristine = run("lora.snapshot", {"seed": SEED})["hash"]
    ensure(out["results"][1]["snapshot"] == pristine, "the replay kept the retracted op")
    cases.append(c)
    c, out = run_case("retire-old-scope", ("WAVE-028", "WAVE-003"),
                      "An agent-layer op changes the scope; retiring every other scope evicts "
                      "the old entries.",
                      {"seed": SEED, "config": trace,
                       "requests": [short, {**short, "before": [ctx("agent", 0.0, "agent"),
                                                                {"retire": {}}]}]}, comment)
    r0, r1 = out["results"]
    ensure(r0["scope"] != r1["scope"] and r1["stats"]["evictions"]["retire"]
           == r0["stats"]["entries"], "retire missed old-scope entries")
    cases.append(c)
    old_scope = r0["scope"]
    c, out = run_case("retire-named-scope", ("WAVE-028",),
                      "Retiring a named scope that is not the current one: its entries leave, "
                      "the current scope's stay.",
                      {"seed": SEED, "config": trace,
                       "requests": [short, {**short, "before": [ctx("agent", 0.0, "agent")]},
                                    {**short, "before": [{"retire": {"scope": old_scope}}]}]},
                      comment + " The named scope is that of the pristine hierarchy (request 1).")
    r0, r1, r2 = out["results"]
    ensure(r2["stats"]["evictions"]["retire"] == r0["stats"]["entries"]
           and any(x["hit"] for x in r2["lookups"]), "retiring a named scope went wrong")
    cases.append(c)
    c, out = run_case("context-update-keeps-scope", ("WAVE-004", "WAVE-003", "WAVE-012"),
                      "A context update of zero scale: a new snapshot hash, the same scope, the "
                      "same decoding, served from the cache in two passes.",
                      {"seed": SEED, "requests": [req, {**req, "before": [ctx("zero", 0.0)]}]},
                      comment)
    r0, r1 = out["results"]
    ensure(r0["scope"] == r1["scope"] and r0["snapshot"] != r1["snapshot"]
           and r1["tokens"] == g and r1["forward_calls"] <= 6, "the context update broke hits")
    cases.append(c)
    c, out = run_case("store-and-capacity-bounds", ("WAVE-029", "WAVE-010"),
                      "Capacity 65536 (the largest); store events with a block of 1 token and "
                      "of L = 32 tokens: all accepted, each store event at its own tick.",
                      {"seed": SEED, "config": {**trace, "capacity": 65536},
                       "requests": [{**short, "before": [store(g[:w], g[w:w + 1]),
                                                        store(g[1:w + 1], (g * 2)[:32])]}]},
                      comment + " The second store's window is g[1:5], its block the first "
                      "32 tokens of g repeated.")
    ensure(sorted(e["created"] for e in out["entries"] if e["created"] < 3) == [1, 2],
           "the two bound stores did not each create an entry")
    cases.append(c)
    c, out = run_case("capacity-one", ("WAVE-029", "WAVE-011"),
                      "Capacity 1 (the smallest): accepted; every creation past the first "
                      "evicts the one live entry.",
                      {"seed": SEED, "config": {**trace, "capacity": 1}, "requests": [short]},
                      comment)
    ensure(out["results"][0]["stats"]["entries"] == 1
           and out["results"][0]["stats"]["evictions"]["capacity"] > 0, "capacity 1 misread")
    cases.append(c)
    for slug, bounds, why in (("least", {"window": 1, "block": 1, "jump_threshold": 0.0,
                                      "cache_threshold": 1.0, "capacity": 1},
                            "window 1, block 1, jump threshold 0, cache threshold 1 (no store), "
                            "capacity 1"),
                           ("greatest", {"window": 16, "block": 127, "jump_threshold": 1.0,
                                         "cache_threshold": 0.0, "capacity": 65536},
                            "window 16, block 127, jump threshold 1 (no lookup), cache "
                            "threshold 0, capacity 65536")):
        c, out = run_case(f"config-{slug}", ("WAVE-029",),
                          f"Every configuration value at its {slug} bound: {why}.",
                          {"seed": SEED, "config": {**trace, **bounds},
                           "requests": [{"prompt": P2, "max_tokens": 20}]},
                          "Boundary: each value at the end of its range of section 5.1.")
        cases.append(c)
    cases += stop_cases(trace)
    base: dict[str, Any] = {"seed": SEED, "requests": []}  # the configuration alone
    for slug, cfg, why in (("window-0", {"window": 0}, "one below 1"),
                           ("window-17", {"window": 17}, "one past 16"),
                           ("block-0", {"block": 0}, "one below 1"),
                           ("block-128", {"block": 128}, "one past 127"),
                           ("threshold-negative", {"jump_threshold": -0.001}, "below 0"),
                           ("threshold-above-1", {"cache_threshold": 1.001}, "above 1"),
                           ("capacity-0", {"capacity": 0}, "one below 1"),
                           ("capacity-65537", {"capacity": 65537}, "one past 65536")):
        cases.append(bad(f"config-{slug}", ("WAVE-029",), f"Configuration {cfg}: {why}.",
                         "wave.run", {**base, "config": cfg}, "E_PAYLOAD_INVALID",
                         comment="Boundary."))
    cases += [
        bad("config-unknown-member", ("CONF-005",), "A configuration member 'speed'.",
            "wave.run", {**base, "config": {"speed": 10}}, "E_BAD_REQUEST"),
        bad("max-tokens-128", ("LORA-027",), "max_tokens 128, one past 127.", "wave.run",
            {"seed": SEED, "requests": [{**req, "max_tokens": 128}]}, "E_PAYLOAD_INVALID",
            comment="Boundary: one past the greatest max_tokens."),
        bad("max-tokens-minus-one", ("LORA-027",), "max_tokens -1, one below 0.", "wave.run",
            {"seed": SEED, "requests": [{**req, "max_tokens": -1}]}, "E_PAYLOAD_INVALID",
            comment="Boundary: one below the least max_tokens."),
        bad("mode-unknown", ("WAVE-029",), "Mode 'fast'.", "wave.run",
            {"seed": SEED, "requests": [{**req, "mode": "fast"}]}, "E_PAYLOAD_INVALID"),
        bad("store-window-length", ("WAVE-029",), "A stored window of 3 tokens with w = 4.",
            "wave.run", {"seed": SEED, "requests": [{**req, "before": [store(g[:3], block)]}]},
            "E_PAYLOAD_INVALID"),
        bad("store-block-too-long", ("WAVE-029",), "A stored block of 33 tokens with L = 32.",
            "wave.run", {"seed": SEED, "requests": [{**req, "before": [store(g[:4], g[:1] * 33)]}]},
            "E_PAYLOAD_INVALID", comment="Boundary: one past L."),
        bad("store-block-empty", ("WAVE-029",), "A stored block of no token.", "wave.run",
            {"seed": SEED, "requests": [{**req, "before": [store(g[:4], [])]}]},
            "E_PAYLOAD_INVALID"),
        bad("source-16-bytes", ("WAVE-007", "ID-002"), "A source id of 16 bytes.", "wave.run",
            {"seed": SEED, "requests": [{**req, "sources": [episode("a")[:-2]]}]},
            "E_ID_MALFORMED"),
        bad("retire-scope-31-bytes", ("WAVE-029",), "A retired scope one byte short.",
            "wave.run", {"seed": SEED, "requests": [{**req, "before": [
                {"retire": {"scope": PRISTINE_ZERO_SCOPE[:-2]}}]}]}, "E_PAYLOAD_INVALID"),
        bad("event-unknown", ("CONF-005",), "An event 'flush'.", "wave.run",
            {"seed": SEED, "requests": [{**req, "before": [{"flush": {}}]}]}, "E_BAD_REQUEST"),
        bad("prompt-128-bytes", ("LORA-025",), "A prompt of 128 bytes.", "wave.run",
            {"seed": SEED, "requests": [{"prompt": "x" * 128, "max_tokens": 1}]},
            "E_PAYLOAD_INVALID"),
        bad("seed-before-config", ("LORA-002",),
            "A 31-byte seed and an unknown configuration member: the seed is checked first.",
            "wave.run", {"seed": SEED[:-2], "config": {"speed": 1}, "requests": []},
            "E_PAYLOAD_INVALID"),
        bad("events-before-prompt", ("WAVE-030", "WAVE-029"),
            "A bad stored window and a bad prompt: the events are checked first.", "wave.run",
            {"seed": SEED, "requests": [{"prompt": "x" * 128, "max_tokens": 1,
                                         "before": [store([1], [1])]}]}, "E_PAYLOAD_INVALID"),
    ]
    return cases


EOS_SEED_LABEL = "eos-0"  # with the prompt "!", the first seed of eos-0, ... emitting EOS early


def stop_cases(trace: dict[str, Any]) -> list[Case]:
    """Chapter 13's stopping rule through the cache: EOS, max_tokens 0, a full context."""
    cases: list[Case] = []
    s = seed(EOS_SEED_LABEL)
    g = greedy("!", 60, s)
    ensure(len(g) == 20 and g[-1] == 257, f"the EOS prompt emits {g}")
    c, out = run_case("eos-ends-output", ("LORA-027", "WAVE-016", "WAVE-018"),
                      "Greedy decoding emits EOS as its 20th token: a plain step of mode off "
                      "stops there, and so does a lossless verification pass that accepts a "
                      "stored block ending in EOS.",
                      {"seed": s, "config": trace,
                       "requests": [{"prompt": "!", "max_tokens": 60, "mode": "off"},
                                    {"prompt": "!", "max_tokens": 60,
                                     "before": [{"store": {"window": g[8:12],
                                                           "block": g[12:20]}}]}]},
                      f'Seed: blake3(b"strata/vectors/wavegen/seed-{EOS_SEED_LABEL}"). Its '
                      "greedy decoding g of the prompt '!' is 20 tokens, EOS last; the stored "
                      "window is g[8:12], the block g[12:20].")
    r0, r1 = out["results"]
    ensure(r0["tokens"] == g and r1["tokens"] == g and r1["lookups"][-1].get("accepted") == 8,
           "EOS did not end the output")
    cases.append(c)
    c, out = run_case("max-tokens-0", ("LORA-027",), "max_tokens 0: no token, no forward call.",
                      {"seed": SEED, "requests": [{"prompt": P1, "max_tokens": 0}]},
                      "Boundary: the least max_tokens.")
    ensure(out["results"][0]["tokens"] == [], "max_tokens 0 emitted a token")
    cases.append(c)
    prompt = "x" * 120
    c, out = run_case("context-full", ("LORA-027", "WAVE-014"),
                      "A prompt of 120 bytes and max_tokens 127: the context of 128 tokens "
                      "fills after 7 tokens, and the lookups stop where room falls below 2.",
                      {"seed": SEED, "config": trace,
                       "requests": [{"prompt": prompt, "max_tokens": 127}]},
                      "The prompt is 120 times 'x'.")
    ensure(len(out["results"][0]["tokens"]) == 7, "the context did not stop the output")
    cases.append(c)
    return cases


# --- the blueprint's JSON-parser scenario (seed 003, steps 1 to 7) -----------------------------

PROMPTS = [P1, "Write another JSON parser", P1, "Write a JSON parser in Python", P1]


def scenario_requests() -> list[dict[str, Any]]:
    """Five requests on one task, each after the context-layer update of the one before."""
    out = []
    for k, prompt in enumerate(PROMPTS, start=1):
        r: dict[str, Any] = {"prompt": prompt, "max_tokens": 60,
                             "sources": [evidence(prompt), episode(f"request-{k}")]}
        if k > 1:
            r["before"] = [ctx(f"context-{k - 1}", 0.05)]
        out.append(r)
    return out


def scenario_cases() -> list[Case]:
    requests = scenario_requests()
    args: dict[str, Any] = {"seed": SEED, "requests": requests}
    c1, out = run_case(
        "json-parser-requests-1-5", ("WAVE-012", "WAVE-014", "WAVE-016", "WAVE-018", "WAVE-022",
                                     "WAVE-023", "WAVE-024", "WAVE-004", "WAVE-013"),
        "The blueprint's scenario: 'Write a function to parse JSON in Python', a near-repeat, "
        "the task again, another near-repeat, the task again, each after a context-layer update "
        "(its step 4). Requests 3 and 5 are served mostly from the cache; the statistics after "
        "each request show the hit rate climb.", args,
        comment=f"The seed label {SCENARIO_LABEL} is the first of json-0, json-1, ... whose "
                "every decision has a wide margin. Before request k > 1 the context layer "
                "applies op context-(k-1), delta_B 'update/context-(k-1)' at scale 0.05 on "
                "blocks.1.mlp.down. Request sources: evidence(<prompt>), episode(request-k).")
    results = out["results"]
    for k, r in enumerate(results):
        updates = [u["update"] for q in requests[:k + 1] for u in q.get("before", [])]
        plain = run("lora.generate", {"seed": SEED, "prompt": PROMPTS[k], "max_tokens": 60,
                                      "updates": updates})["tokens"]
        ensure(r["tokens"] == plain, f"request {k + 1} differs from lora.generate")
    ensure(len({r["scope"] for r in results}) == 1 and len({r["snapshot"] for r in results}) == 5,
           "one scope and five snapshots expected")
    ensure(results[4]["forward_calls"] * 4 <= len(results[4]["tokens"])
           and results[0]["forward_calls"] == len(results[0]["tokens"]),
           "request 5 is not served at four tokens per forward call or more")
    cons = [*requests,
            {"prompt": P1, "max_tokens": 60, "sources": [evidence(P1), episode("request-6")],
             "before": [{"migrate": {"sources": [episode("request-5")]}},
                        ctx("migrated", 0.1, "agent"), {"retire": {}}]},
            {"prompt": P1, "max_tokens": 60, "sources": [evidence(P1), episode("request-7")],
             "before": [{"cascade": {"ids": [evidence(P1)]}}]}]
    c2, out = run_case(
        "json-parser-migration-and-cascade", ("WAVE-026", "WAVE-027", "WAVE-028", "WAVE-003",
                                              "WAVE-025"),
        "The same five requests, then the blueprint's step 7 (the circuit of request 5 migrates "
        "to the agent layer: its entries are evicted, the scope changes, the old scope is "
        "retired), request 6, and a tombstone of the P1 prompt's evidence before request 7.",
        {"seed": SEED, "requests": cons},
        comment="The migration's own op, migrated, adds delta_B 'update/migrated' at scale "
                "0.1 to the agent layer on blocks.1.mlp.down.")
    r5, r6, r7 = out["results"][4:]
    ensure(r6["stats"]["evictions"]["migration"] > 0 and r6["stats"]["evictions"]["retire"] > 0
           and r6["scope"] != r5["scope"] and not any(x["hit"] for x in r6["lookups"]),
           "the migration did not evict and rescope")
    ensure(r7["stats"]["evictions"]["cascade"] > 0, "the cascade invalidated nothing")
    return [c1, c2]


def files() -> list[VectorFile]:
    return [
        VectorFile(FOLDER, CHAPTER, "coherence", tuple(coherence_cases()), comment=DERIVATION),
        VectorFile(FOLDER, CHAPTER, "signatures", tuple(signature_cases()), comment=DERIVATION),
        VectorFile(FOLDER, CHAPTER, "decisions", tuple(decision_cases()), comment=DERIVATION),
        VectorFile(FOLDER, CHAPTER, "scenario", tuple(scenario_cases()), comment=DERIVATION),
    ]

