"""Driver commands of chapter 15, consolidation (spec/15-consolidation.md section 13).

One command per decision (circuits, quality, strength, screening, stability, budgets,
queue processing, resonance, vertical resonance, homeostasis), each a pure function of
its arguments, and `cons.run`, which appends ops to a fresh log and answers queries over
the learning projection. Floats are written as {"f32", "shape"} (spec/16 section 2.1).
"""

from __future__ import annotations

import math
from typing import Any

from reference import oplog
from reference._require import SpecViolation, require
from reference.driver import lora as lora_driver
from reference.driver._registry import Args, command
from reference.introduction import ErrorCode
from reference.lora import consolidation as cons
from reference.lora import events, generator, hierarchy
from reference.lora import projection as learning
from reference.wire_format import decode_hex

BAD = ErrorCode.E_PAYLOAD_INVALID
QUERY_KINDS = ("snapshot", "queues", "bandwidth", "migrations", "screening", "weights",
               "circuits")
_MODELS: dict[bytes, hierarchy.BaseModel] = {}
LEARNING_VARIANTS = events.VARIANTS  # importing events registers them with chapter 02


def _bad(message: str) -> SpecViolation:
    return SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, message)


def _base(args: Args) -> hierarchy.BaseModel:
    seed = args.bytes("seed")
    generator.check_seed(seed)
    if seed not in _MODELS:
        if len(_MODELS) >= 4:
            _MODELS.pop(next(iter(_MODELS)))
        _MODELS[seed] = hierarchy.load_base_model(seed, lora_driver.select_device())
    return _MODELS[seed]


def _f32(values: list[float]) -> dict[str, Any]:
    return {"f32": generator.encode_f32(values), "shape": [len(values)]}


def _number(args: Args, key: str) -> float:
    value = args.any(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _bad(f"argument {key!r} must be a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond binary64 is not a finite number
        number = math.inf
    require(math.isfinite(number), "CONS-057", BAD, f"{key!r} is not finite")
    return number


def _ints(args: Args, key: str, minimum: int = 0) -> list[int]:
    items = args.list(key)
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in items):
        raise _bad(f"argument {key!r} must be an array of integers")
    require(all(x >= minimum for x in items), "CONS-057", BAD,
            f"every element of {key!r} is at least {minimum}")
    return items


def _vector(args: Args, key: str) -> list[float]:
    obj = args.obj(key)
    raw, shape = decode_hex(obj.text("f32")), obj.list("shape")
    if len(raw) % 4 or shape != [len(raw) // 4]:
        raise _bad(f"{key!r} is {{f32, shape}} with shape [n] for n binary32 values")
    values = generator.decode_f32(raw)
    require(len(values) >= 1 and all(math.isfinite(v) for v in values), "CONS-057", BAD,
            f"{key!r} is empty or not finite")
    return values


def _layer(args: Args, key: str = "layer") -> str:
    name = args.text(key)
    events.check_layer(key, name)
    return name


# --- the decisions -------------------------------------------------------------------------


@command("cons.circuit")
def cons_circuit(args: Args) -> dict[str, Any]:
    """The circuit of a trajectory: id, components and cost per layer (section 3)."""
    base = _base(args)
    tokens = args.list("tokens")
    cons.check_trajectory(tokens)
    circuit = cons.extract_circuit(base.model_id, tokens)
    return {
        "id": circuit.id.hex(),
        "trajectory": circuit.trajectory.hex(),
        "components": [{"target": c.target, "slot": c.slot, "rows": list(c.rows),
                        "values": _f32(list(c.values))} for c in circuit.components],
        "cost": {layer: cons.compute_cost(circuit, cons.RANK[layer])
                 for layer in hierarchy.LAYER_NAMES},
    }


@command("cons.quality")
def cons_quality(args: Args) -> dict[str, Any]:
    """The reference evaluator: matching positions over the expected length (section 4.1)."""
    output, expected = args.list("output"), args.list("expected")
    if output:  # an inference may emit nothing: an empty output matches nothing
        cons.check_trajectory(output)
    quality = cons.compute_quality(output, expected)  # rejects an empty expected first
    cons.check_trajectory(expected)
    return {"quality": _f32([quality])}


@command("cons.strength")
def cons_strength(args: Args) -> dict[str, Any]:
    """The quality gate and the consolidation strength (section 4.2)."""
    quality = _number(args, "quality")
    require(0.0 <= quality <= 1.0, "CONS-057", BAD, "quality is from 0 to 1")
    hits, uses = args.int("hits"), args.int("uses")
    require(0 <= hits <= uses, "CONS-057", BAD, "0 <= hits <= uses")
    return {"admitted": cons.is_quality_admitted(quality),
            "strength": _f32([cons.compute_strength(quality, hits, uses)])}


@command("cons.screening")
def cons_screening(args: Args) -> dict[str, Any]:
    """One parameter's screening state through consolidating and weakening writes (7.1)."""
    threshold = _number(args, "threshold")
    cons.check_threshold(threshold)
    activity: int | None = None  # no parameter record yet
    steps = []
    for event in args.list("events"):
        if event not in ("consolidate", "weaken"):
            raise _bad("an event is 'consolidate' or 'weaken'")
        before = activity is not None and cons.is_screened(activity, threshold)
        if event == "consolidate":
            written = not before  # [CONS-027] a SCREENED parameter is locked
            activity = (activity or 0) + 1
        else:
            written = True  # [CONS-028] weakening writes whatever the state
            activity = None if activity is None else 0
        state = None if activity is None else (
            "Screened" if cons.is_screened(activity, threshold) else "Free")
        steps.append({"event": event, "written": written, "activity": activity, "state": state})
    return {"steps": steps}


@command("cons.stability")
def cons_stability(args: Args) -> dict[str, Any]:
    """The autocorrelation of an activation series and the stability decision (8)."""
    series = _ints(args, "series")
    require(1 <= len(series) <= 1024 and all(x < 2**31 for x in series), "CONS-057", BAD,
            "a series holds 1 to 1024 counts below 2^31")
    stable, rho = cons.is_stable(series)
    return {"rho": _f32([rho]), "count": sum(series), "stable": stable}


@command("cons.budget")
def cons_budget(args: Args) -> dict[str, Any]:
    """The parameters of a layer and its per-tick migration budget (section 9.2)."""
    layer = _layer(args)
    return {"parameters": cons.compute_layer_parameters(layer),
            "budget": cons.compute_budget(layer)}


def _entry(raw: Any) -> cons.Entry:
    if not isinstance(raw, dict):
        raise _bad("an entry is an object")
    e = Args(raw)
    circuit = e.bytes("circuit")
    source = e.bytes("source") if e.has("source") else b""
    require(len(circuit) == 32, "CONS-057", BAD, "a circuit id is 32 bytes")
    cost = e.int("cost")
    require(cost >= 1, "CONS-057", BAD, "a cost is at least 1")
    return cons.Entry(circuit, source, _number(e, "priority"), cost)


def _entries(entries: list[cons.Entry]) -> list[dict[str, Any]]:
    return [{"circuit": e.circuit.hex(), "source": e.source.hex()} for e in entries]


@command("cons.queue_tick")
def cons_queue_tick(args: Args) -> dict[str, Any]:
    """The migrations of one tick of one queue (section 9.3)."""
    budget, used = args.int("budget"), args.int("used")
    require(budget >= 0 and 0 <= used, "CONS-057", BAD, "budget and used are non-negative")
    entries = [_entry(raw) for raw in args.list("entries")]
    keys = [(e.circuit, e.source) for e in entries]
    require(len(set(keys)) == len(keys), "CONS-036", BAD, "a queue holds a circuit once per source")
    selected, after = cons.process_tick(entries, budget, used)
    pending = [e for e in cons.order_queue(entries) if e not in selected]
    return {"migrate": _entries(selected), "pending": _entries(pending), "used": after}


@command("cons.resonance")
def cons_resonance(args: Args) -> dict[str, Any]:
    """Horizontal resonance of two contributions: alignment, factor, combined (10.1)."""
    a, b = _vector(args, "a"), _vector(args, "b")
    require(len(a) == len(b), "CONS-057", BAD, "the contributions have different lengths")
    alignment = cons.compute_alignment(a, b)
    factor = cons.compute_resonance_factor(alignment)
    return {"alignment": _f32([alignment]), "factor": _f32([factor]),
            "combined": _f32(cons.compute_combined(a, b, factor))}


@command("cons.vertical")
def cons_vertical(args: Args) -> dict[str, Any]:
    """Vertical alignment of one circuit in context, agent and swarm (10.2)."""
    vectors = [_vector(args, key) for key in ("context", "agent", "swarm")]
    require(len({len(v) for v in vectors}) == 1, "CONS-057", BAD,
            "the three vectors have different lengths")
    alignment = cons.compute_vertical_alignment(*vectors)
    return {"alignment": _f32([alignment]), "fast_track": cons.is_fast_track(alignment),
            "strength": _f32([cons.compute_fast_track_strength(alignment)])}


@command("cons.homeostasis")
def cons_homeostasis(args: Args) -> dict[str, Any]:
    """One homeostasis step of a layer's screening threshold (section 11)."""
    layer = _layer(args)
    threshold = _number(args, "threshold")
    step = cons.step_homeostasis(layer, threshold, _ints(args, "activities"))
    return {"ratio": _f32([step.ratio]), "side": step.side, "threshold": _f32([step.threshold]),
            "screened_before": step.screened_before, "screened_after": step.screened_after}


# --- cons.run -------------------------------------------------------------------------------


def _agent(args: Args) -> bytes:
    agent = args.bytes("agent")
    require(len(agent) == 32, "CONS-057", BAD, "an agent is a 32-byte NodeId")
    return agent


def answer(view: learning.LearningProjection, query: Args) -> dict[str, Any]:
    """Answer one query over the learning projection (section 13)."""
    kind = query.text("query")
    if kind == "snapshot":
        agent = _agent(query)
        snap = view.snapshot(agent)
        return {"hash": snap.hash.hex(),
                "layers": {s.spec.name: [x.hex() for x in s.ops] for s in snap.layers}}
    if kind == "queues":
        order = {name: i for i, name in enumerate(hierarchy.LAYER_NAMES)}
        out = []
        for key in sorted(view.queues, key=lambda k: (order[k[0]], k[1])):
            entries = view.get_queue(key)
            if entries:
                out.append({"layer": key[0], "agent": key[1].hex(),
                            "entries": [{"circuit": e.circuit.hex(), "source": e.source.hex(),
                                         "cost": e.cost} for e in entries],
                            "priorities": _f32([e.priority for e in entries])})
        return {"queues": out}
    if kind == "bandwidth":
        order = {name: i for i, name in enumerate(hierarchy.LAYER_NAMES)}
        rows = sorted(view.used.items(), key=lambda kv: (order[kv[0][0][0]], kv[0][0][1],
                                                         kv[0][1]))
        return {"ticks": [{"layer": key[0], "agent": key[1].hex(), "tick": tick, "used": used,
                           "budget": cons.compute_budget(key[0])}
                          for (key, tick), used in rows]}
    if kind == "migrations":
        return {"migrations": [{
            "learning": m.learning.hex(), "op": m.op_id.hex(), "circuit": m.circuit.hex(),
            "agent": m.agent.hex(), "source": m.source, "target": m.target, "tick": m.tick,
            "fast_track": m.fast_track, "sources": [x.hex() for x in m.sources]}
            for m in view.migrations]}
    if kind == "screening":
        inst = view.instance(_layer(query), _agent(query))
        return {"threshold": _f32([inst.threshold]), "records": len(inst.activity),
                "screened": len(inst.screened), "events": dict(inst.events)}
    if kind == "weights":
        inst = view.instance(_layer(query), _agent(query))
        target = query.text("target")
        require(target in hierarchy.TARGET_SHAPES, "CONS-057", BAD, f"no target {target!r}")
        flat = inst.state.b[target].detach().cpu().reshape(-1).tolist()
        indices = _ints(query, "indices")
        require(all(i < len(flat) for i in indices), "CONS-057", BAD, "an index is outside B")
        return {"values": _f32([flat[i] for i in indices])}
    if kind == "circuits":
        return {"circuits": [{"id": c.id.hex(), "trajectory": c.trajectory.hex()}
                             for _, c in sorted(view.circuits.items())]}
    raise _bad(f"unknown query {kind!r}; known: {', '.join(QUERY_KINDS)}")


@command("cons.run")
def cons_run(args: Args) -> dict[str, Any]:
    """Append ops to a fresh log (the first rejection fails the command), fold the learning
    projection, by replay or incrementally, and answer each query (section 13)."""
    base = _base(args)
    now_ms = args.int("now_ms")
    mode = args.text("mode") if args.has("mode") else "replay"
    if mode not in ("replay", "incremental"):
        raise _bad("mode is 'replay' or 'incremental'")
    queries = args.list("queries") if args.has("queries") else []
    log = oplog.OpLog()
    kept = learning.LearningSet(base)
    for index, item in enumerate(args.list("ops")):
        data = Args({"op": item}).bytes("op")
        try:
            log.append(data, now_ms)
        except SpecViolation as violation:
            raise SpecViolation(violation.requirement, violation.code,
                                f"op {index}: {violation.message}") from None
        if mode == "incremental":
            # One sync after the last op folds the same log to the same state (CONS-026 itself):
            # equivalent mutant (stmt-remove): syncing after every delivery only folds earlier
            kept.sync(log)  # [CONS-026] kept in step after every delivery
    view = kept.sync(log) if mode == "incremental" else learning.LearningProjection.rebuild(
        base, log.ops())
    answers = []
    for query in queries:
        if not isinstance(query, dict):
            raise _bad("a query is an object")
        answers.append(answer(view, Args(query)))
    return {"applied": [op.hash.hex() for op in log.ops()],
            "held": [h.hex() for h, _ in log.held()],
            "skipped": [x.hex() for x in view.skipped],
            "ignored": [{"op": i.op_id.hex(), "type": i.type, "reason": i.reason}
                        for i in view.ignored],
            "answers": answers}
