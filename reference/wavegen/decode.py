"""Chapter 14: greedy decoding with the cache, lossless and jump (spec/14-wavegen.md section 5).

One forward path serves every mode: `compute_positions` runs the model over the whole
context (the sequence padded to 128 positions), so every call has the same shape and
the logits of a position depend, bit for bit, only on the tokens up to it. A plain
step is that function on the sequence; a verification pass is the same function on
the sequence followed by the draft. Lossless decoding therefore emits exactly the
tokens plain greedy decoding emits, whatever the cache holds and whatever the
thresholds are: the cache changes how many forward calls it takes, never the output.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import torch

from reference._require import require
from reference.introduction import ErrorCode
from reference.lora import hierarchy, model
from reference.wavegen import cache as wcache
from reference.wavegen import coherence

BAD = ErrorCode.E_PAYLOAD_INVALID
PAD = 0  # the token that fills the context after the sequence (any id gives the same logits)
MODES: tuple[str, ...] = ("lossless", "jump", "off")


@attrs.frozen
class Config:
    """The decoding configuration (section 5.1), each number with the reason for it."""

    window: int = 4  # w: about one short word of bytes; shorter windows hit spuriously
    block: int = 32  # L: one verification pass checks up to L tokens at the price of one step
    jump_threshold: float = 0.05  # lookups only when the window is at least this coherent
    cache_threshold: float = 0.05  # stores only windows at least this coherent
    capacity: int = 4096  # live entries; about 70 inferences of 60 tokens


def check_config(config: Config) -> None:
    """Every configuration value within its range (section 5.1) [WAVE-029]."""
    require(1 <= config.window <= 16, "WAVE-029", BAD, f"window is 1 to 16, got {config.window}")
    require(1 <= config.block <= 127, "WAVE-029", BAD, f"block is 1 to 127, got {config.block}")
    for name in ("jump_threshold", "cache_threshold"):
        value = getattr(config, name)
        require(0.0 <= value <= 1.0, "WAVE-029", BAD, f"{name} is 0 to 1, got {value!r}")
    require(1 <= config.capacity <= 65536, "WAVE-029", BAD,
            f"capacity is 1 to 65536, got {config.capacity}")


@attrs.frozen
class Request:
    """One inference request (section 5.2)."""

    prompt: str
    max_tokens: int
    mode: str = "lossless"
    sources: tuple[bytes, ...] = ()  # record ids the inference is derived from


@attrs.frozen
class Lookup:
    """One cache decision: where, which signature, and what came of it."""

    step: int  # the index in the output of the token the lookup is for
    signature: bytes
    hit: bool
    draft: int = 0  # tokens of the block offered (cut to the room left)
    accepted: int | None = None  # lossless hits: the draft tokens greedy decoding agreed with


@attrs.frozen
class Jump:
    """Tokens emitted unverified from an entry (section 5.4) [WAVE-019]."""

    step: int
    length: int
    signature: bytes
    snapshot: bytes  # the provenance hash of the inference that stored the block


@attrs.define
class Trace:
    """What the vector generator checks margins on: every gate and every greedy pick."""

    gates: list[tuple[float, float]] = attrs.Factory(list)  # (coherence, threshold)
    picks: list[tuple[float, float]] = attrs.Factory(list)  # (largest, second largest logit)


@attrs.define
class InferenceResult:
    """The outcome of one request."""

    tokens: list[int]
    verified: bool
    snapshot: bytes
    scope: bytes
    forward_calls: int
    lookups: list[Lookup]
    jumps: list[Jump]
    stores: int
    trajectory: coherence.Trajectory


@attrs.frozen
class Prepared:
    """One snapshot ready for an inference: merged once, scope computed once [WAVE-013]."""

    snapshot: hierarchy.Snapshot
    weights: model.Weights
    scope: bytes
    sources: frozenset[bytes]  # the op ids of every layer


def get_inference_hit_rate(result: InferenceResult) -> tuple[int, int]:
    """The inference's own (hits, uses): its lookups that hit, and all of them (section 6.1)."""
    # an in-process convenience: wave.run makes the pair available as the result's `lookups`
    return sum(x.hit for x in result.lookups), len(result.lookups)


def prepare(base: hierarchy.BaseModel, snapshot: hierarchy.Snapshot) -> Prepared:
    """Merge a snapshot's weights and compute its scope before the first step [WAVE-013]."""
    return Prepared(snapshot, hierarchy.compute_merged_weights(base, snapshot),
                    wcache.compute_snapshot_scope(snapshot), wcache.get_snapshot_ops(snapshot))


def compute_positions(weights: model.Weights, tokens: Sequence[int],
                      config: model.Config = model.CONFIG) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations (T, C) and logits (T, V) of every position, by one fixed-shape pass [WAVE-017].

    The sequence is padded to the full context, so every call multiplies tensors of
    one shape; with causal attention, position p then depends only on tokens 0..p.
    """
    # equivalent mutant (stmt-remove): every sequence the driver passes is already valid: the
    # prompt is checked by encode_prompt, picks are ids of the vocabulary, stored blocks are
    # checked by their store event, and drafts are cut to the room left in the context
    model.check_tokens(tokens, config)
    device = weights["tok_emb"].device
    t = len(tokens)
    ids = torch.tensor([[*tokens, *[PAD] * (config.context - t)]], dtype=torch.long,
                       device=device)  # (1, context)
    pos = torch.arange(config.context, device=device)  # (context,)
    with torch.no_grad():
        x = weights["tok_emb"][ids] + weights["pos_emb"][pos]  # (1, context, C)
        for i in range(config.n_blocks):
            a = model.rms_norm(x, weights[f"blocks.{i}.attn_norm"], config.norm_eps)
            x = x + model.attention(a, i, weights, {}, config)  # (1, context, C)
            m = model.rms_norm(x, weights[f"blocks.{i}.mlp_norm"], config.norm_eps)
            x = x + model.mlp(m, i, weights, {})  # (1, context, C)
        x = model.rms_norm(x, weights["final_norm"], config.norm_eps)  # (1, context, C)
        logits = x @ weights["tok_emb"].T  # (1, context, V), the tied head
    return x[0, :t], logits[0, :t]  # (T, C), (T, V)


def cut_draft(block: Sequence[int], room: int) -> tuple[int, ...]:
    """The block cut to `room` tokens and after its first EOS [WAVE-015]."""
    draft = tuple(block[:room])
    if model.CONFIG.eos in draft:
        draft = draft[:draft.index(model.CONFIG.eos) + 1]
    return draft


def _pick(row: torch.Tensor, trace: Trace | None) -> int:
    """Chapter 13's greedy pick of one row, its top-2 gap recorded for the vector generator."""
    if trace is not None:
        top = torch.topk(row, 2).values.tolist()
        trace.picks.append((top[0], top[1]))
    return model.select_greedy_token(row.tolist())


def _gate(c: float, threshold: float, trace: Trace | None) -> bool:
    """Whether a window's coherence is above a threshold, the margin recorded for the generator."""
    if trace is not None:
        trace.gates.append((c, threshold))
    # [WAVE-014] [WAVE-022] a gate opens only strictly above its threshold
    # equivalent mutant (cmp-flip): `>=` differs only when c equals the threshold exactly, and
    # every vector's gates clear it by more than 3.4e-3, the cross-implementation bound (7.3)
    return c > threshold


def verify_draft(rows: torch.Tensor, draft: Sequence[int],
                 trace: Trace | None = None) -> tuple[list[int], int]:
    """The tokens one verification pass emits, and how many draft tokens it accepted [WAVE-016].

    `rows` (k + 1, V) are the logits of the positions before each draft token and after
    the last. Greedy picks are emitted while they equal the draft; the first pick that
    differs, the pick after the whole draft, or EOS ends the pass.
    """
    eos = model.CONFIG.eos
    tokens: list[int] = []
    accepted = 0
    for j, wanted in enumerate([*draft, None]):  # None: the position after the last token
        token = _pick(rows[j], trace)  # [WAVE-016] greedy decoding's own token
        tokens.append(token)
        matched = token == wanted
        accepted += matched
        if token == eos or not matched:  # EOS, the first disagreement, or the bonus token
            break
    return tokens, accepted


def run_inference(cache: wcache.Cache, prepared: Prepared, request: Request, config: Config,
                  trace: Trace | None = None) -> InferenceResult:
    """Greedy decoding of one request with the cache in its mode (section 5)."""
    require(request.mode in MODES, "WAVE-029", BAD,
            f"mode is one of {', '.join(MODES)}, got {request.mode!r}")
    sequence = model.encode_prompt(request.prompt)  # [LORA-025]
    model.check_max_tokens(request.max_tokens)  # [LORA-027]
    cfg, eos = model.CONFIG, model.CONFIG.eos
    mode, w = request.mode, config.window
    if mode != "off":
        wcache.advance_tick(cache)  # [WAVE-010] one tick per inference that uses the cache
    trajectory = coherence.Trajectory()
    out: list[int] = []
    lookups: list[Lookup] = []
    jumps: list[Jump] = []
    calls = 0
    done = False

    def emit(token: int, logits: torch.Tensor | None, hidden: torch.Tensor | None,
             coh: float | None) -> None:
        trajectory.append(coherence.StepObservation(len(out), token, logits, hidden, coh))
        sequence.append(token)
        out.append(token)

    while not done:
        room = min(request.max_tokens - len(out), cfg.context - len(sequence))
        if room <= 0:  # [LORA-027] max_tokens emitted or the context full
            break
        at = len(out)  # the step the lookup, if any, is for
        entry: wcache.Entry | None = None
        signature = b""
        draft: tuple[int, ...] = ()
        # [WAVE-021] mode off never looks up
        looks_up = mode != "off"
        # [WAVE-014] the other modes look up exactly when w steps were observed, the window
        # is coherent enough and a draft fits: any room (room > 0 here) fits a jump, while a
        # lossless draft needs room for the model's own token after it.
        if looks_up and (mode != "lossless" or room >= 2):
            c = coherence.get_trajectory_coherence(trajectory, w)
            # [WAVE-014] a lookup once w steps are observed and their coherence is above the
            # jump threshold
            if c is not None and _gate(c, config.jump_threshold, trace):
                signature = wcache.compute_signature(prepared.scope, out[-w:])
                entry = wcache.lookup(cache, signature)
                if entry is None:
                    lookups.append(Lookup(at, signature, False))
                else:
                    # [WAVE-015] room for the model's own token after a lossless draft
                    draft = cut_draft(entry.block, room - 1 if mode == "lossless" else room)
        if entry is not None and mode == "jump":
            # [WAVE-019] emitted without a forward pass: unverified, unobserved
            lookups.append(Lookup(at, signature, True, len(draft)))
            jumps.append(Jump(at, len(draft), signature, entry.snapshot))
            wcache.record_jump(cache, entry)
            for token in draft:
                emit(token, None, None, None)
            done = out[-1] == eos
            continue
        # [WAVE-016] one forward pass over the sequence and the draft (a plain step when
        # the draft is empty); [WAVE-017] the same function either way, so [WAVE-018] every
        # token emitted here is the one mode off emits at this step.
        start = len(sequence) - 1
        hidden, logits = compute_positions(prepared.weights, [*sequence, *draft])
        calls += 1  # [WAVE-024]
        rows = logits[start:start + len(draft) + 1]  # (k + 1, V)
        coherences = coherence.compute_step_coherences(rows)  # [WAVE-022] what the gates average
        tokens, accepted = verify_draft(rows, draft, trace)
        for j, token in enumerate(tokens):
            emit(token, rows[j], hidden[start + j], coherences[j])
        done = tokens[-1] == eos  # [LORA-027] EOS ends the output, accepted or not
        if entry is not None:
            lookups.append(Lookup(at, signature, True, len(draft), accepted))
            wcache.record_verification(cache, entry, accepted, len(draft))
    stores = 0
    if mode != "off":  # [WAVE-021] mode off stores nothing
        stores = store_trajectory(cache, prepared, request, config, out, trajectory, trace)
    return InferenceResult(out, trajectory.verified, prepared.snapshot.hash, prepared.scope, calls,
                           lookups, jumps, stores, trajectory)


def store_trajectory(cache: wcache.Cache, prepared: Prepared, request: Request, config: Config,
                     out: Sequence[int], trajectory: coherence.Trajectory,
                     trace: Trace | None = None) -> int:
    """Store the block after every coherent window of the verified prefix [WAVE-022]."""
    w = config.window
    # [WAVE-020] only the steps before the first unverified one: no stored window or block
    # ever holds a token the model did not compute
    verified = next((s.step_index for s in trajectory.steps if not s.observed), len(out))
    steps = trajectory.observed
    sources = prepared.sources | frozenset(request.sources)  # [WAVE-007]
    stored = 0
    for i in range(w, verified):  # i: the first token of the block
        c = coherence.compute_window_coherence(steps[i - w:i])  # [WAVE-002]
        if _gate(c, config.cache_threshold, trace):
            signature = wcache.compute_signature(prepared.scope, out[i - w:i])
            wcache.store(cache, signature, prepared.scope, out[i - w:i],
                         out[i:min(i + config.block, verified)], prepared.snapshot.hash, sources)
            stored += 1
    return stored
