"""Chapter 14: scopes, signatures and the lineage-scoped cache (spec/14-wavegen.md 3, 4, 6).

An entry maps the signature of (scope, window of w token ids) to the block of tokens
that followed that window in a verified trajectory. The scope is the lineage of the
slower layers (base model id and the op lists of foundation, domain, swarm and agent),
so entries survive the context-layer update that follows every inference; each entry
keeps the exact snapshot hash of the inference that stored its block, for audit, and
the ids of the records and ops it was derived from, so consolidation and cascades can
evict it. The entry lifecycle is the `wavegen_entry` table of section 4.2.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence

import attrs
import blake3

from reference import wire_format
from reference._require import require
from reference.introduction import ErrorCode
from reference.lora import hierarchy, model

BAD = ErrorCode.E_PAYLOAD_INVALID
SCOPE_BYTES = 32

# [WAVE-004] the lineage: every layer but context, which changes after every inference.
LINEAGE_LAYERS: tuple[str, ...] = tuple(n for n in hierarchy.LAYER_NAMES if n != "context")

# --- scope and signature (section 3) ---------------------------------------------------


def compute_scope(base_model_id: str, layers: Sequence[tuple[str, Sequence[bytes]]]) -> bytes:
    """BLAKE3-256 of canonical CBOR {"base", "lineage": [[name, [op ids]] x 4]} [WAVE-003].

    `layers` are the five layers of a hierarchy in order, as for the provenance hash (both
    callers build them so: wave.scope from LAYER_NAMES, a snapshot from its layers); the
    context layer's ops are left out [WAVE-004].
    """
    value: wire_format.Value = {
        "base": base_model_id,
        # [WAVE-004] foundation, domain, swarm, agent: never context, never a float
        "lineage": [[name, list(ops)] for name, ops in layers if name in LINEAGE_LAYERS],
    }
    return blake3.blake3(wire_format.encode_canonical(value)).digest()


def compute_snapshot_scope(snapshot: hierarchy.Snapshot) -> bytes:
    """The scope of a snapshot's lineage [WAVE-003]."""
    return compute_scope(snapshot.base_model_id, [(x.spec.name, x.ops) for x in snapshot.layers])


def get_snapshot_ops(snapshot: hierarchy.Snapshot) -> frozenset[bytes]:
    """Every op id any layer of the snapshot applied (the entry sources of section 4.1)."""
    return frozenset(op for layer in snapshot.layers for op in layer.ops)


def check_window(window: Sequence[int]) -> None:
    """A window of 1 to 128 token ids, each 0 to 257 [WAVE-005]."""
    require(1 <= len(window) <= model.CONFIG.context, "WAVE-005", BAD,
            f"a window holds 1 to {model.CONFIG.context} token ids, got {len(window)}")
    check_token_ids(window)


def check_token_ids(tokens: Sequence[int]) -> None:
    """Every token id 0 to 257 [WAVE-005]."""
    for t in tokens:
        require(0 <= t < model.CONFIG.vocab_size, "WAVE-005", BAD,
                f"token {t} is outside 0..{model.CONFIG.vocab_size - 1}")


def compute_signature(scope: bytes, window: Sequence[int]) -> bytes:
    """BLAKE3-256 of canonical CBOR {"scope": bytes(32), "window": [token ids]} [WAVE-005]."""
    require(len(scope) == SCOPE_BYTES, "WAVE-005", BAD,
            f"a scope is {SCOPE_BYTES} bytes, got {len(scope)}")
    check_window(window)
    value: wire_format.Value = {"scope": scope, "window": list(window)}
    return blake3.blake3(wire_format.encode_canonical(value)).digest()


# --- the entry lifecycle (section 4.2) ----------------------------------------------------

STORED, CONFIRMED, EVICTED, INVALIDATED = "Stored", "Confirmed", "Evicted", "Invalidated"
CREATED_BY = "WaveGenStore"
STATES: tuple[str, ...] = (STORED, CONFIRMED, EVICTED, INVALIDATED)
ABSORBING: tuple[str, ...] = (EVICTED, INVALIDATED)
# Events: jump (served unverified), success / mismatch (served and verified whole / in
# part), restore / replace (stored again with the same / another block), capacity,
# migration, retire (evicted), cascade (invalidated).
EVICTING_EVENTS: tuple[str, ...] = ("capacity", "migration", "retire")
# [WAVE-008] the `wavegen_entry` table of section 4.2, line by line.
TRANSITIONS: dict[tuple[str, str], str] = {
    (STORED, "jump"): STORED,
    (STORED, "success"): CONFIRMED,
    (STORED, "mismatch"): STORED,
    (STORED, "restore"): STORED,
    (STORED, "replace"): STORED,
    (CONFIRMED, "jump"): CONFIRMED,
    (CONFIRMED, "success"): CONFIRMED,
    (CONFIRMED, "mismatch"): STORED,
    (CONFIRMED, "restore"): CONFIRMED,
    (CONFIRMED, "replace"): STORED,
    **{(s, e): EVICTED for s in (STORED, CONFIRMED) for e in EVICTING_EVENTS},
    (STORED, "cascade"): INVALIDATED,
    (CONFIRMED, "cascade"): INVALIDATED,
}


@attrs.define
class Entry:
    """One cache entry (section 4.1)."""

    signature: bytes
    scope: bytes
    window: tuple[int, ...]
    block: tuple[int, ...]
    snapshot: bytes  # [WAVE-006] the exact provenance hash that produced the block, for audit
    sources: frozenset[bytes]  # [WAVE-007] record and op ids the entry is derived from
    created: int  # the tick of its creation
    last_used: int  # the tick of its last store or hit
    state: str = STORED
    hits: int = 0
    successes: int = 0
    history: list[tuple[str | None, str, str]] = attrs.Factory(list)  # (from, event, to)

    @property
    def live(self) -> bool:
        """Whether the entry can still be served (not in an absorbing state)."""
        return self.state not in ABSORBING


def empty_evictions() -> dict[str, int]:
    """Eviction counters by event, all zero."""
    return {"capacity": 0, "migration": 0, "retire": 0, "cascade": 0}


@attrs.define
class Stats:
    """The cache's counters (section 4.4) [WAVE-012]."""

    uses: int = 0  # lookups made
    hits: int = 0  # lookups that found a live entry
    successes: int = 0  # hits whose whole draft the verification pass accepted
    stores: int = 0  # store actions: creations, restores and replacements
    evictions: dict[str, int] = attrs.Factory(empty_evictions)


Listener = Callable[["Entry", str], None]


@attrs.define
class Cache:
    """The live entries by signature, the logical tick, the counters (section 4)."""

    capacity: int
    live: dict[bytes, Entry] = attrs.Factory(dict)
    tick: int = 0
    stats: Stats = attrs.Factory(Stats)
    listener: Listener | None = None  # told of every lifecycle event, in order
    gone: list[Entry] | None = None  # entries that left the cache, when the caller keeps them
    _recency: list[tuple[int, bytes]] = attrs.Factory(list)  # heap of (last_used, signature)


def new_cache(capacity: int, listener: Listener | None = None, keep_gone: bool = False) -> Cache:
    """An empty cache of `capacity` live entries at tick 0 (decode.check_config checks it)."""
    return Cache(capacity, listener=listener, gone=[] if keep_gone else None)


def apply_event(cache: Cache, entry: Entry, event: str) -> None:
    """Move an entry by one line of the lifecycle table [WAVE-008]."""
    target = TRANSITIONS.get((entry.state, event), "")
    # every caller delivers an event the table has a line for from Stored and Confirmed, and
    # only live entries (Stored or Confirmed) receive events: absorbed ones leave `live`
    # equivalent mutant (require-true, stmt-remove): unreachable, every event sent has a line
    require(target != "", "WAVE-008", BAD,
            f"no line {entry.state} --{event}--> in the wavegen_entry table")
    entry.history.append((entry.state, event, target))
    entry.state = target
    if not entry.live:
        # [WAVE-009] an absorbing entry is never served again
        del cache.live[entry.signature]
        cache.stats.evictions[event] += 1  # capacity, migration, retire or cascade
        if cache.gone is not None:
            cache.gone.append(entry)
    if cache.listener is not None:
        cache.listener(entry, event)


def advance_tick(cache: Cache) -> None:
    """Advance the logical tick by one (an inference or a store event) [WAVE-010]."""
    cache.tick += 1


def touch(cache: Cache, entry: Entry) -> None:
    """Mark an entry used at the current tick [WAVE-010]."""
    entry.last_used = cache.tick
    heapq.heappush(cache._recency, (entry.last_used, entry.signature))
    # compacting the lazy heap only saves memory: evict_least_recent skips stale items
    # equivalent mutant (cmp-flip, stmt-remove, const, arith-swap, not-insert): compaction only
    if len(cache._recency) > 4 * len(cache.live) + 64:  # drop stale items now and then
        # a sorted list is a heap; keeping the old heap instead changes nothing but memory
        # equivalent mutant (stmt-remove): compaction only, the old heap is valid as well
        cache._recency = sorted((e.last_used, e.signature) for e in cache.live.values())


def evict_least_recent(cache: Cache) -> Entry:
    """Evict the live entry of least (last_used, signature bytes) with `capacity` [WAVE-011]."""
    while True:
        last_used, signature = heapq.heappop(cache._recency)
        entry = cache.live.get(signature)
        if entry is not None and entry.last_used == last_used:  # else a stale heap item
            apply_event(cache, entry, "capacity")
            return entry


def lookup(cache: Cache, signature: bytes) -> Entry | None:
    """One lookup: count it, and a hit when a live entry has the signature (section 4.3)."""
    cache.stats.uses += 1  # [WAVE-012] every lookup is a use
    entry = cache.live.get(signature)  # [WAVE-009] live entries only
    if entry is None:
        return None
    cache.stats.hits += 1  # [WAVE-012]
    entry.hits += 1  # [WAVE-006] the entry's own count of hits
    touch(cache, entry)
    return entry


def record_verification(cache: Cache, entry: Entry, accepted: int, drafted: int) -> None:
    """A lossless hit: `success` when the whole draft was accepted, else `mismatch` [WAVE-012]."""
    if accepted == drafted:
        cache.stats.successes += 1  # [WAVE-012] verified whole
        entry.successes += 1
        apply_event(cache, entry, "success")
    else:
        apply_event(cache, entry, "mismatch")


def record_jump(cache: Cache, entry: Entry) -> None:
    """A jump hit delivers `jump` (section 5.4), never `success`: nothing verified it [WAVE-008]."""
    apply_event(cache, entry, "jump")


def store(cache: Cache, signature: bytes, scope: bytes, window: Sequence[int],
          block: Sequence[int], snapshot: bytes, sources: Iterable[bytes]) -> str:
    """Store a block under a signature; returns the event: WaveGenStore, restore or replace."""
    # both callers pass 1 to L tokens: a store event's block is checked first, and an
    # inference's block runs from i to min(i + L - 1, v - 1) with i <= v - 1
    cache.stats.stores += 1  # [WAVE-012] creations, restores and replacements
    new_sources = frozenset(sources)
    entry = cache.live.get(signature)
    if entry is not None:
        # [WAVE-023] the newer verified block wins; sources only ever grow
        event = "restore" if entry.block == tuple(block) else "replace"
        entry.block = tuple(block)
        entry.snapshot = snapshot
        entry.sources = entry.sources | new_sources
        touch(cache, entry)
        apply_event(cache, entry, event)
        return event
    if len(cache.live) >= cache.capacity:
        evict_least_recent(cache)  # [WAVE-011] make room first: a new entry is never the victim
    entry = Entry(signature, scope, tuple(window), tuple(block), snapshot, new_sources,
                  created=cache.tick, last_used=cache.tick)
    entry.history.append((None, CREATED_BY, STORED))
    cache.live[signature] = entry
    touch(cache, entry)
    if cache.listener is not None:
        cache.listener(entry, CREATED_BY)
    return CREATED_BY


# --- eviction by consolidation and cascade (section 6) ----------------------------------


def evict_where(cache: Cache, matches: Callable[[Entry], bool], event: str) -> list[bytes]:
    """Deliver `event` to every live entry that matches, in signature order."""
    hit = sorted(sig for sig, entry in cache.live.items() if matches(entry))
    for sig in hit:
        apply_event(cache, cache.live[sig], event)
    return hit


def evict_migrated(cache: Cache, circuit_sources: Iterable[bytes]) -> list[bytes]:
    """A circuit migrated: evict the entries derived from any of its sources [WAVE-026]."""
    ids = frozenset(circuit_sources)
    return evict_where(cache, lambda e: not e.sources.isdisjoint(ids), "migration")


def invalidate_cascade(cache: Cache, retracted: Iterable[bytes]) -> list[bytes]:
    """A cascade retracted records or ops: invalidate every entry derived from one [WAVE-027]."""
    ids = frozenset(retracted)
    return evict_where(cache, lambda e: not e.sources.isdisjoint(ids), "cascade")


def retire_scope(cache: Cache, scope: bytes) -> list[bytes]:
    """Evict every entry of a scope [WAVE-028]."""
    return evict_where(cache, lambda e: e.scope == scope, "retire")


def retire_other_scopes(cache: Cache, current: bytes) -> list[bytes]:
    """Evict every entry whose scope is not `current` [WAVE-028]."""
    return evict_where(cache, lambda e: e.scope != current, "retire")


# --- signals to consolidation (section 6.1) ------------------------------------------------


def get_hit_rate(cache: Cache) -> tuple[int, int]:
    """The hit-rate signal as the exact pair (hits, uses) [WAVE-025]."""
    return cache.stats.hits, cache.stats.uses


def get_consolidation_candidates(cache: Cache) -> list[Entry]:
    """The live Confirmed entries, by signature: blocks a later inference reproduced (6.1)."""
    # an in-process convenience: wave.run makes them available as its trace's `entries`
    return [cache.live[s] for s in sorted(cache.live) if cache.live[s].state == CONFIRMED]
