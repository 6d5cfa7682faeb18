"""Driver commands of chapter 14, WaveGen (spec/14-wavegen.md section 7).

`wave.run` builds the hierarchy of a seed and an empty cache, then serves requests in
order on them; the events before each request (updates, stores, migrations, cascades,
retirements) are applied first, so one command replays a whole session, as the vector
of the seed's JSON-parser scenario does. Nothing outlives a command but base models.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from reference import identifiers
from reference._require import SpecViolation, require
from reference.driver import lora as lora_driver
from reference.driver._registry import Args, command
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.lora import generator, hierarchy
from reference.wavegen import cache as wcache
from reference.wavegen import coherence, decode
from reference.wire_format import decode_hex

BAD = ErrorCode.E_PAYLOAD_INVALID
_MODELS: dict[bytes, hierarchy.BaseModel] = {}
_CONFIG_KEYS = ("window", "block", "jump_threshold", "cache_threshold", "capacity", "trace")
_EVENTS = ("update", "store", "migrate", "cascade", "retire")


def _bad(message: str) -> SpecViolation:
    return SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, message)


def _base(args: Args) -> hierarchy.BaseModel:
    seed = args.bytes("seed")  # checked by load_base_model, before the configuration is read
    if seed not in _MODELS:
        if len(_MODELS) >= 4:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[seed] = hierarchy.load_base_model(seed, lora_driver.select_device())
    return _MODELS[seed]


def _f32(values: list[float]) -> dict[str, Any]:
    """binary32 output, big-endian hex (spec/16 section 2.1)."""
    return {"f32": generator.encode_f32(values), "shape": [len(values)]}


def _ints(raw: Any, what: str) -> list[int]:
    if not isinstance(raw, list) or not all(isinstance(t, int) and not isinstance(t, bool)
                                            for t in raw):
        raise _bad(f"{what} must be an array of integers")
    return list(raw)


def _ids(raw: Any, what: str) -> list[bytes]:
    """Record or op ids in byte form, any kind (section 4.1)."""
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise _bad(f"{what} must be an array of hex ids")
    out = []
    for text in raw:
        value = decode_hex(text)
        kind = IdKind(value[0]) if value and value[0] in identifiers.KIND_BYTES else IdKind.OP
        identifiers.check_id_bytes(kind, value)  # [WAVE-007] sources are ids
        out.append(value)
    return out


def _number(raw: Any, key: str) -> float:
    if not isinstance(raw, (int, float)) or isinstance(raw, bool):
        raise _bad(f"{key!r} must be a number")
    # a number too large for binary64 becomes infinity, which check_config rejects as out
    # of range
    return float(raw) if abs(raw) < 1e308 else math.inf


def _hex32(raw: Any, key: str) -> bytes:
    if not isinstance(raw, str):
        raise _bad(f"{key!r} must be a hex string")
    value = decode_hex(raw)
    require(len(value) == wcache.SCOPE_BYTES, "WAVE-029", BAD,
            f"a {key} is {wcache.SCOPE_BYTES} bytes, got {len(value)}")
    return value


@command("wave.coherence")
def wave_coherence(args: Args) -> dict[str, Any]:
    """Step coherences and their mean for given logits (section 2.2)."""
    given = args.obj("logits")
    raw, shape = decode_hex(given.text("f32")), _ints(given.any("shape"), "'shape'")
    if len(shape) not in (1, 2) or any(n < 0 for n in shape) or len(raw) % 4 or \
            math.prod(shape) != len(raw) // 4:
        raise _bad("'logits' is {f32, shape} with shape [n] or [k, n] for k * n binary32 values")
    logits = torch.tensor(generator.decode_f32(raw), dtype=torch.float32).reshape(shape)
    steps = coherence.compute_step_coherences(logits)
    return {"steps": _f32(steps), "coherence": _f32([coherence.compute_window_coherence(steps)])}


@command("wave.signature")
def wave_signature(args: Args) -> dict[str, Any]:
    """The signature of a scope and a window of token ids (section 3.2)."""
    scope = args.bytes("scope")
    tokens = _ints(args.any("tokens"), "'tokens'")
    return {"signature": wcache.compute_signature(scope, tokens).hex()}


@command("wave.scope")
def wave_scope(args: Args) -> dict[str, Any]:
    """The scope (and, for comparison, the provenance hash) of given op lists (section 3.1)."""
    base = _base(args)
    given = args.obj("layers")
    for name in given.raw:
        require(name in hierarchy.LAYER_NAMES, "LORA-028", BAD, f"no layer {name!r}")
    layers: list[tuple[str, list[bytes]]] = []
    for name in hierarchy.LAYER_NAMES:
        ops = _ids(given.list(name), f"layer {name!r}") if given.has(name) else []
        for op in ops:
            identifiers.check_id_bytes(IdKind.OP, op)
        require(len(set(ops)) == len(ops), "LORA-012", BAD, f"layer {name!r} lists an op twice")
        layers.append((name, ops))
    return {"scope": wcache.compute_scope(base.model_id, layers).hex(),
            "provenance": hierarchy.compute_provenance_hash(base.model_id, layers).hex()}


def _config(args: Args) -> tuple[decode.Config, bool]:
    if not args.has("config"):
        return decode.Config(), False
    raw = args.obj("config").raw
    for key in raw:
        if key not in _CONFIG_KEYS:
            raise _bad(f"unknown config member {key!r}")
    fields: dict[str, Any] = {}
    for key in ("window", "block", "capacity"):
        if key in raw:
            if not isinstance(raw[key], int) or isinstance(raw[key], bool):
                raise _bad(f"config {key!r} must be an integer")
            fields[key] = raw[key]
    for key in ("jump_threshold", "cache_threshold"):
        if key in raw:
            fields[key] = _number(raw[key], key)
    trace = raw.get("trace", False)
    if not isinstance(trace, bool):
        raise _bad("config 'trace' is true or false")
    config = decode.Config(**fields)
    decode.check_config(config)  # [WAVE-029]
    return config, trace


class Session:
    """One hierarchy, its accepted updates (for replay) and one cache."""

    def __init__(self, base: hierarchy.BaseModel, config: decode.Config, trace: bool,
                 margins: decode.Trace | None = None) -> None:
        self.base = base
        self.margins = margins  # the vector generator's record of gates and picks
        self.config = config
        self.h = hierarchy.new_hierarchy(base)
        self.updates: list[Any] = []
        self.events: list[dict[str, str]] = []
        listener = self._listen if trace else None
        self.cache = wcache.new_cache(config.capacity, listener, keep_gone=trace)

    def _listen(self, entry: wcache.Entry, event: str) -> None:
        self.events.append({"signature": entry.signature.hex(), "event": event})

    def apply(self, raw: Any) -> None:
        """One event before a request (section 7.2)."""
        if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in _EVENTS:
            raise _bad(f"an event is an object with one member: {', '.join(_EVENTS)}")
        kind, body = next(iter(raw.items()))
        if kind == "update":
            lora_driver.apply_json_update(self.h, body)
            self.updates.append(body)
            return
        if not isinstance(body, dict):
            raise _bad(f"a {kind} event is an object")
        if kind == "store":
            self.store(Args(body))
        elif kind == "migrate":
            wcache.evict_migrated(self.cache, _ids(Args(body).any("sources"), "'sources'"))
        elif kind == "cascade":
            self.cascade(_ids(Args(body).any("ids"), "'ids'"))
        elif Args(body).has("scope"):
            wcache.retire_scope(self.cache, _hex32(body["scope"], "scope"))
        else:
            snapshot = hierarchy.freeze(self.h)
            wcache.retire_other_scopes(self.cache, wcache.compute_snapshot_scope(snapshot))

    def store(self, body: Args) -> None:
        """A store event: a block under a window of the current scope (section 7.2)."""
        window = _ints(body.any("window"), "'window'")
        block = _ints(body.any("block"), "'block'")
        sources = _ids(body.any("sources"), "'sources'") if body.has("sources") else []
        require(len(window) == self.config.window, "WAVE-029", BAD,
                f"a stored window holds {self.config.window} tokens, got {len(window)}")
        require(1 <= len(block) <= self.config.block, "WAVE-029", BAD,
                f"a stored block holds 1 to {self.config.block} tokens, got {len(block)}")
        wcache.check_token_ids(block)
        snapshot = hierarchy.freeze(self.h)
        scope = wcache.compute_snapshot_scope(snapshot)
        signature = wcache.compute_signature(scope, window)  # [WAVE-030] the event's window
        wcache.advance_tick(self.cache)  # [WAVE-010]
        wcache.store(self.cache, signature, scope, window, block, snapshot.hash,
                     wcache.get_snapshot_ops(snapshot) | frozenset(sources))

    def cascade(self, ids: list[bytes]) -> None:
        """Invalidate entries derived from the ids, then replay the layers without them."""
        wcache.invalidate_cascade(self.cache, ids)  # [WAVE-027]
        gone = set(ids)
        kept = [u for u in self.updates if decode_hex(u["op_id"]) not in gone]
        self.h = hierarchy.new_hierarchy(self.base)  # [WAVE-027] replay from pristine
        for u in kept:
            lora_driver.apply_json_update(self.h, u)
        self.updates = kept

    def run(self, raw: Any) -> dict[str, Any]:
        """Events, then one inference through a fresh snapshot (section 7.2)."""
        if not isinstance(raw, dict):
            raise _bad("a request is an object")
        req = Args(raw)
        self.events = []
        for event in req.list("before") if req.has("before") else []:  # [WAVE-030] in order
            self.apply(event)
        sources = _ids(req.any("sources"), "'sources'") if req.has("sources") else []
        prompt = req.text("prompt")
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: not text at all
            raise _bad("'prompt' is not valid Unicode text") from exc
        request = decode.Request(prompt, req.int("max_tokens"),
                                 req.text("mode") if req.has("mode") else "lossless",
                                 tuple(sources))
        snapshot = hierarchy.freeze(self.h)  # [WAVE-013] one snapshot for the inference
        result = decode.run_inference(self.cache, decode.prepare(self.base, snapshot), request,
                                      self.config, self.margins)
        out: dict[str, Any] = {
            "tokens": result.tokens,
            "verified": result.verified,
            "snapshot": result.snapshot.hex(),
            "scope": result.scope.hex(),
            "forward_calls": result.forward_calls,
            "lookups": [_lookup(x) for x in result.lookups],
            "jumps": [{"step": j.step, "length": j.length, "signature": j.signature.hex(),
                       "snapshot": j.snapshot.hex()} for j in result.jumps],
            "stores": result.stores,
            "stats": _stats(self.cache),
        }
        if self.cache.listener is not None:
            out["events"] = self.events
        return out


def _lookup(x: decode.Lookup) -> dict[str, Any]:
    out: dict[str, Any] = {"step": x.step, "signature": x.signature.hex(), "hit": x.hit}
    if x.hit:
        out["draft"] = x.draft
    if x.accepted is not None:
        out["accepted"] = x.accepted
    return out


def _stats(cache: wcache.Cache) -> dict[str, Any]:
    s = cache.stats
    hits, uses = wcache.get_hit_rate(cache)  # [WAVE-025]
    return {"uses": uses, "hits": hits, "successes": s.successes, "stores": s.stores,
            "entries": len(cache.live), "evictions": dict(s.evictions)}


def _entry(e: wcache.Entry) -> dict[str, Any]:
    return {"signature": e.signature.hex(), "state": e.state, "window": list(e.window),
            "block": list(e.block), "snapshot": e.snapshot.hex(), "scope": e.scope.hex(),
            "sources": sorted(x.hex() for x in e.sources), "hits": e.hits,
            "successes": e.successes, "created": e.created, "last_used": e.last_used,
            "history": [{"from": a, "event": b, "to": c} for a, b, c in e.history]}


@command("wave.run")
def wave_run(args: Args) -> dict[str, Any]:
    """Requests served in order by one hierarchy and one cache (section 7.2)."""
    return run_session(args)


def run_session(args: Args, margins: decode.Trace | None = None) -> dict[str, Any]:
    """The result of `wave.run`; `margins` collects every gate and pick (section 7.3)."""
    base = _base(args)
    config, trace = _config(args)
    session = Session(base, config, trace, margins)
    results = [session.run(raw) for raw in args.list("requests")]
    out: dict[str, Any] = {"results": results}
    if trace:
        entries = [*(session.cache.gone or []), *session.cache.live.values()]
        out["entries"] = [_entry(e) for e in sorted(entries, key=lambda e: (e.created,
                                                                             e.signature))]
    return out
