"""Vectors of chapter 15, consolidation (spec/15-consolidation.md).

Derivations: the model seed is BLAKE3(b"strata/vectors/consolidation/seed") (32 bytes);
ops are signed by `OpFactory` authors derived from labels (tools/vectorgen/_ops.py):
`consolidation/<script>/<agent>`. Tick k of a script is the second that starts at
TICK0_MS + 1000 k (HLC wall time), and each author's ops within one tick are 1 ms apart.
Trajectories are the UTF-8 bytes of short texts (`JSON` below for the blueprint's task).

Before a case is written the generator rebuilds its projection and checks every decision
it pins: each stability, vertical-alignment and homeostasis value must differ from its
threshold by more than MARGIN, so an implementation within the tolerance decides alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import Any

import attrs
import blake3

import reference.driver.consolidation  # noqa: F401  (registers the cons.* commands)
from reference import oplog, wire_format
from reference.driver import dispatch
from reference.identifiers import IdKind
from reference.lora import consolidation as cons
from reference.lora import events, generator, hierarchy
from reference.lora import projection as learning
from tools.vectorgen import Case, GenerationError, Result, VectorFile
from tools.vectorgen._ops import OpFactory, derive

FOLDER, CHAPTER = "consolidation", "15-consolidation"
SEED = blake3.blake3(b"strata/vectors/consolidation/seed").digest()
TICK0_MS = 1_700_000_000_000  # tick 0 of every script: a whole second of HLC wall time
NOW_MS = TICK0_MS + 10_000_000  # later than every op: nothing is held for drift
MARGIN = 1e-9  # every pinned decision differs from its threshold by more than this
TOLERANCE = {"atol": 1e-6, "rtol": 1e-6}  # f32 outputs: weights, factors, ratios
JSON = list(b"import json\ndef parse_json(s):\n    try:\n        return json.loads(s)\n"
            b"    except json.JSONDecodeError:\n        return None\n")
SEEDS_COMMENT = (
    'Seed: blake3(b"strata/vectors/consolidation/seed"). Ops are signed by OpFactory '
    'authors labelled "consolidation/<script>/<agent>" (tools/vectorgen/_ops.py); tick k '
    "is the second starting at 1700000000000 + 1000 k ms. Trajectories are UTF-8 bytes.")


def ensure(cond: bool, message: str) -> None:
    """Stop generation when a case lacks the property it claims."""
    if not cond:
        raise GenerationError(message)


def run(command: str, args: dict[str, Any]) -> Any:
    response = dispatch({"id": 0, "cmd": command, "args": args})
    ensure(response["ok"], f"{command}: the reference rejected it: {response.get('error')}")
    return response["result"]


def f32(values: Sequence[float]) -> dict[str, Any]:
    return {"f32": generator.encode_f32(list(values)), "shape": [len(values)]}


def f32_values(out: dict[str, Any]) -> list[float]:
    return generator.decode_f32(bytes.fromhex(out["f32"]))


# --- scripts of signed ops -------------------------------------------------------------------


class Script:
    """The ops of one cons.run case: several authors, ops placed on ticks."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.factories: dict[str, OpFactory] = {}
        self.ops: list[bytes] = []
        self.offsets: dict[tuple[str, int], int] = {}

    def author(self, agent: str) -> OpFactory:
        if agent not in self.factories:
            self.factories[agent] = OpFactory(f"consolidation/{self.label}/{agent}")
        return self.factories[agent]

    def node(self, agent: str) -> str:
        return self.author(agent).node.hex()

    def rid(self, agent: str, kind: IdKind = IdKind.ARTIFACT) -> bytes:
        return self.author(agent).new_id(kind)

    def emit(self, agent: str, tick: int, payload: dict[str, Any]) -> bytes:
        """Sign `payload` by `agent` in tick `tick`; returns the op id."""
        offset = self.offsets.get((agent, tick), 0) + 1
        self.offsets[(agent, tick)] = offset
        ensure(offset < cons.TICK_MS, "too many ops of one author in one tick")
        data = self.author(agent).op(payload, ts=(TICK0_MS + cons.TICK_MS * tick + offset, 0))
        self.ops.append(data)
        return wire_format.decode_envelope(data).op_id

    def evidence(self, agent: str, tick: int, anchor: str) -> bytes:
        record = self.rid(agent, IdKind.EVIDENCE)
        self.emit(agent, tick, {"type": "IngestEvidence", "evidence": record,
                                "hash": derive(f"consolidation/{self.label}/{anchor}"),
                                "anchor": anchor, "source_type": "chat", "metadata": {}})
        return record

    def episode(self, agent: str, tick: int, supports: Sequence[bytes]) -> bytes:
        record = self.rid(agent, IdKind.EPISODE)
        wall = TICK0_MS + cons.TICK_MS * tick
        self.emit(agent, tick, {"type": "RecordEpisode", "episode": record,
                                "summary": "an inference", "start_ms": wall, "end_ms": wall,
                                "supports": sorted(supports)})
        return record

    def consolidate(self, agent: str, tick: int, tokens: Sequence[int],
                    supports: Sequence[bytes], quality: float = 1.0, hits: int = 0,
                    uses: int = 0) -> bytes:
        record = self.rid(agent)
        self.emit(agent, tick, {"type": "LoraConsolidate", "learning": record,
                                "tokens": list(tokens), "quality": quality, "hits": hits,
                                "uses": uses, "supports": sorted(supports)})
        return record

    def learn(self, agent: str, kind: str, tick: int, supports: Sequence[bytes],
              **fields: Any) -> bytes:
        record = self.rid(agent)
        self.emit(agent, tick, {"type": kind, "learning": record, **fields,
                                "supports": sorted(supports)})
        return record

    def hex_ops(self) -> list[str]:
        return [op.hex() for op in self.ops]


def circuit_of(tokens: Sequence[int], seed: bytes = SEED) -> cons.Circuit:
    return cons.extract_circuit(hierarchy.load_base_model(seed).model_id, tokens)


_BASES: dict[bytes, hierarchy.BaseModel] = {}


def base_model(seed: bytes = SEED) -> hierarchy.BaseModel:
    if seed not in _BASES:
        _BASES[seed] = hierarchy.load_base_model(seed)
    return _BASES[seed]


def project(ops: Sequence[bytes], seed: bytes = SEED) -> learning.LearningProjection:
    """The learning projection of a script, built here to check its decisions."""
    log = oplog.OpLog()
    for data in ops:
        log.append(data, NOW_MS)
    return learning.LearningProjection.rebuild(base_model(seed), log.ops())


def check_margins(view: learning.LearningProjection, what: str) -> None:
    for kind, margin in view.margins:
        ensure(abs(margin) > MARGIN, f"{what}: a {kind} decision has margin {margin!r}")


# --- the blueprint's lifecycle (seed 003, sections 4 to 11) -----------------------------------


def avalanche_patterns() -> list[tuple[int, ...]]:
    """Activation counts over the 8 ticks of a window after which a circuit is first stable
    at the last activation of the last tick, and never before: each gives one priority."""
    found: list[tuple[int, ...]] = []
    for counts in product(range(3), repeat=cons.WINDOW):
        if counts[-1] == 0 or not cons.MIN_ACTIVATIONS <= sum(counts) <= 7:
            continue
        ticks = [i for i, c in enumerate(counts) for _ in range(c)]
        verdicts = []
        for j, t in enumerate(ticks):
            seen = ticks[: j + 1]
            series = [seen.count(u) for u in range(t - cons.WINDOW + 1, t + 1)]
            verdicts.append(cons.is_stable(series)[0])
        if verdicts[-1] and not any(verdicts[:-1]):
            found.append(counts)
    return found


@attrs.frozen
class Lifecycle:
    """The lifecycle script and the records a case description names."""

    script: Script
    agent_a: str
    agent_b: str
    circuit: bytes
    avalanche: tuple[bytes, ...]


AVALANCHE = 50
AVALANCHE_TICK = 10  # the avalanche's consolidations fill ticks 10 to 17


def lifecycle(tombstone: bool = False) -> Lifecycle:
    """Requests 1 to 5 of two agents, migration, resonance, fast track, the avalanche,
    homeostasis; with `tombstone`, agent A's task evidence is tombstoned at the end."""
    s = Script("lifecycle")
    circuit = circuit_of(JSON)
    task = {agent: s.evidence(agent, 0, f"{agent}/task: write a JSON parser")
            for agent in ("a", "b")}
    learned: dict[str, list[bytes]] = {"a": [], "b": []}
    for agent in ("a", "b"):  # requests 1 to 5: one per tick, the same task, cache hits grow
        for i in range(1, 6):
            request = s.evidence(agent, i, f"{agent}/request-{i}")
            episode = s.episode(agent, i, [task[agent], request])
            learned[agent].append(s.consolidate(agent, i, JSON, [episode], hits=i - 1, uses=i))
    moved = {agent: s.learn(agent, "LoraMigrate", 6, learned[agent], circuit=circuit.id,
                            source="context", target="agent") for agent in ("a", "b")}
    resonance = s.learn("a", "LoraResonate", 7, [moved["a"], moved["b"]], a=moved["a"],
                        b=moved["b"])
    request = s.evidence("a", 8, "a/request-6")
    episode = s.episode("a", 8, [task["a"], request])
    sixth = s.consolidate("a", 8, JSON, [episode], hits=5, uses=6)
    s.learn("a", "LoraFastTrack", 9, [sixth, resonance], circuit=circuit.id)
    # the avalanche: 50 circuits whose activation patterns make them stable at tick 17
    patterns = avalanche_patterns()
    circuits = []
    for k in range(AVALANCHE):
        tokens = list(f"task-{k:02d}".encode())
        circuits.append(circuit_of(tokens))
        source = s.evidence("a", AVALANCHE_TICK, f"a/avalanche-{k:02d}")
        counts = patterns[k % len(patterns)]
        for i, c in enumerate(counts):
            for _ in range(c):
                s.consolidate("a", AVALANCHE_TICK + i, tokens, [source])
    last = AVALANCHE_TICK + cons.WINDOW - 1
    s.learn("a", "LoraHomeostasis", last, [], layer="context")
    # the queue drains, five circuits per tick, in priority order; two greedy attempts fail
    view = project(s.ops)
    queue = view.get_queue(("agent", s.author("a").node))
    ensure(len(queue) == AVALANCHE, f"{len(queue)} circuits queued, not {AVALANCHE}")
    supports = {c.id: [] for c in circuits}  # type: dict[bytes, list[bytes]]
    for op in oplog_ops(s.ops):
        p = op.payload
        if isinstance(p, events.LoraConsolidate):
            cid = cons.extract_circuit(view.base.model_id, p.tokens).id
            if cid in supports:
                supports[cid].append(p.learning)
    budget = cons.compute_budget("agent")
    tick = last + 1
    pending = list(queue)
    s.learn("a", "LoraMigrate", tick, supports[pending[-1].circuit][:1],
            circuit=pending[-1].circuit, source="context", target="agent")  # not the head
    while pending:
        selected, _ = cons.process_tick(pending, budget, 0)
        for e in selected:
            s.learn("a", "LoraMigrate", tick, supports[e.circuit][:1], circuit=e.circuit,
                    source="context", target="agent")
        pending = [e for e in pending if e not in selected]
        if tick == last + 1 and pending:  # a sixth in the first tick: over the bandwidth
            s.learn("a", "LoraMigrate", tick, supports[pending[0].circuit][:1],
                    circuit=pending[0].circuit, source="context", target="agent")
        tick += 1
    s.learn("a", "LoraHomeostasis", tick, [], layer="domain")
    if tombstone:
        s.emit("a", tick + 1, {"type": "TombstoneEvidence", "evidence": task["a"],
                               "reason": "the user withdrew the task", "cascade": []})
    return Lifecycle(s, s.node("a"), s.node("b"), circuit.id, tuple(c.id for c in circuits))


def oplog_ops(ops: Sequence[bytes]) -> list[oplog.StoredOp]:
    return [oplog.decode_op(data) for data in ops]


# --- cases ------------------------------------------------------------------------------------

ZERO = bytes(32)
SEED_B = blake3.blake3(b"strata/vectors/consolidation/seed-b").digest()


def case(case_id: str, reqs: tuple[str, ...], description: str, command: str,
         args: dict[str, Any], comment: str | None = None, floats: bool = False) -> Case:
    """A valid case; `floats` marks f32 outputs, compared within TOLERANCE."""
    return Case(case_id, reqs, description, command, args, "valid", comment=comment,
                tolerance=dict(TOLERANCE) if floats else None)


def bad(case_id: str, reqs: tuple[str, ...], description: str, command: str,
        args: dict[str, Any], error: str, comment: str | None = None) -> Case:
    result: Result = "invalid"
    return Case(case_id, reqs, description, command, args, result, comment=comment, error=error)


def circuit_cases() -> list[Case]:
    hi = run("cons.circuit", {"seed": ZERO.hex(), "tokens": list(b"hi")})
    ensure(hi["id"] == "65d5d22a614223485e483c533523768aa92bb9a8de2db17e861427f36e0c7f76",
           "the circuit of 'hi' under the zero seed differs from section 3.7's example")
    other = run("cons.circuit", {"seed": SEED_B.hex(), "tokens": list(b"hi")})
    ensure(other["id"] != hi["id"], "another base model gave the same circuit")
    full = [(i * 37) % 258 for i in range(128)]
    cases = [
        case("circuit-zero-hi", ("CONS-002", "CONS-004", "CONS-005", "CONS-006", "CONS-007",
                                 "CONS-009"),
             "The circuit of the trajectory 'hi' under the zero seed (section 3.7's example).",
             "cons.circuit", {"seed": ZERO.hex(), "tokens": list(b"hi")}, floats=True),
        case("circuit-seed-b-hi", ("CONS-005", "CONS-007"),
             "The same trajectory under another base model: another stream, another id.",
             "cons.circuit", {"seed": SEED_B.hex(), "tokens": list(b"hi")}, floats=True,
             comment='Seed B = blake3(b"strata/vectors/consolidation/seed-b").'),
        case("circuit-json", ("CONS-004", "CONS-006", "CONS-007"),
             "The circuit of the blueprint's JSON parser output.", "cons.circuit",
             {"seed": SEED.hex(), "tokens": JSON}, floats=True),
        case("circuit-one-token", ("CONS-003", "CONS-006"), "A trajectory of one token, 0.",
             "cons.circuit", {"seed": SEED.hex(), "tokens": [0]}, floats=True,
             comment="Boundary: the shortest trajectory and the smallest token id."),
        case("circuit-bos-eos", ("CONS-003", "CONS-006"), "BOS and EOS (256, 257).",
             "cons.circuit", {"seed": SEED.hex(), "tokens": [256, 257]}, floats=True,
             comment="Boundary: the largest token ids."),
        case("circuit-128-tokens", ("CONS-003", "CONS-004"), "A trajectory of 128 tokens.",
             "cons.circuit", {"seed": SEED.hex(), "tokens": full}, floats=True,
             comment="Boundary: the longest trajectory. Token i is (37 i) mod 258."),
        bad("circuit-empty", ("CONS-003",), "An empty trajectory.", "cons.circuit",
            {"seed": SEED.hex(), "tokens": []}, "E_PAYLOAD_INVALID"),
        bad("circuit-token-258", ("CONS-003",), "Token 258, one past EOS.", "cons.circuit",
            {"seed": SEED.hex(), "tokens": [104, 258]}, "E_PAYLOAD_INVALID"),
        bad("circuit-token-negative", ("CONS-003",), "Token -1.", "cons.circuit",
            {"seed": SEED.hex(), "tokens": [-1]}, "E_PAYLOAD_INVALID"),
        bad("circuit-129-tokens", ("CONS-003",), "129 tokens.", "cons.circuit",
            {"seed": SEED.hex(), "tokens": [*full, 0]}, "E_PAYLOAD_INVALID",
            comment="Boundary: one past the longest trajectory."),
        bad("circuit-token-text", ("CONS-003",), "A token that is text.", "cons.circuit",
            {"seed": SEED.hex(), "tokens": ["h"]}, "E_PAYLOAD_INVALID"),
        bad("circuit-seed-31", ("LORA-002",), "A seed of 31 bytes.", "cons.circuit",
            {"seed": "00" * 31, "tokens": [1]}, "E_PAYLOAD_INVALID"),
    ]
    for layer in hierarchy.LAYER_NAMES:
        cases.append(case(f"budget-{layer}", ("CONS-038",),
                          f"The parameters and per-tick budget of the {layer} layer.",
                          "cons.budget", {"layer": layer}))
    cases.append(bad("budget-unknown-layer", ("CONS-057", "CONS-016"), "Layer 'team'.",
                     "cons.budget", {"layer": "team"}, "E_PAYLOAD_INVALID"))
    return cases


def _cid(label: str) -> str:
    return blake3.blake3(f"strata/vectors/consolidation/circuit-{label}".encode()).hexdigest()


def decision_cases() -> list[Case]:
    cases = [
        case("quality-exact", ("CONS-012",), "The output equals the expected continuation.",
             "cons.quality", {"output": list(b"json"), "expected": list(b"json")}, floats=True),
        case("quality-half", ("CONS-012",), "Two of four positions match.", "cons.quality",
             {"output": list(b"jsAB"), "expected": list(b"json")}, floats=True),
        case("quality-longer-output", ("CONS-012",),
             "Tokens past the expected length do not count.", "cons.quality",
             {"output": list(b"json!!!"), "expected": list(b"json")}, floats=True),
        case("quality-one-expected", ("CONS-012",), "One expected token, matched: 1.",
             "cons.quality", {"output": [104, 105], "expected": [104]}, floats=True,
             comment="Boundary: the shortest expected continuation."),
        case("quality-empty-output", ("CONS-012",), "An inference that emitted nothing: 0.",
             "cons.quality", {"output": [], "expected": list(b"json")}, floats=True),
        bad("quality-empty-expected", ("CONS-012",), "No expected continuation.",
            "cons.quality", {"output": [1], "expected": []}, "E_PAYLOAD_INVALID"),
        case("strength-first-request", ("CONS-013", "CONS-014"),
             "Quality 1, no cache use: the blueprint's 0.1.", "cons.strength",
             {"quality": 1.0, "hits": 0, "uses": 0}, floats=True),
        case("strength-hit-rate", ("CONS-014",), "Quality 1 with hits 4 of 5 uses: 0.18.",
             "cons.strength", {"quality": 1.0, "hits": 4, "uses": 5}, floats=True),
        case("strength-gate-boundary", ("CONS-013", "CONS-014"),
             "Quality exactly 0.5 passes the gate.", "cons.strength",
             {"quality": 0.5, "hits": 1, "uses": 1}, floats=True,
             comment="Boundary: the gate is 'at least 0.5'."),
        case("strength-below-gate", ("CONS-013",), "Quality 0.49 does not pass.",
             "cons.strength", {"quality": 0.49, "hits": 0, "uses": 3}, floats=True),
        case("strength-quality-0", ("CONS-057", "CONS-013"), "Quality exactly 0: in range.",
             "cons.strength", {"quality": 0.0, "hits": 0, "uses": 0}, floats=True,
             comment="Boundary: quality is from 0 to 1 inclusive."),
        case("strength-quality-1-hits-all", ("CONS-057", "CONS-014"),
             "Quality exactly 1 with hits equal to uses (2 of 2): in range.", "cons.strength",
             {"quality": 1.0, "hits": 2, "uses": 2}, floats=True,
             comment="Boundaries: quality at most 1, hits at most uses."),
        bad("strength-hits-exceed-uses", ("CONS-057",), "hits 3 of 2 uses.", "cons.strength",
            {"quality": 1.0, "hits": 3, "uses": 2}, "E_PAYLOAD_INVALID"),
        bad("strength-hits-negative", ("CONS-057",), "hits -1 of 0 uses.", "cons.strength",
            {"quality": 1.0, "hits": -1, "uses": 0}, "E_PAYLOAD_INVALID",
            comment="Boundary: hits is at least 0."),
        bad("strength-quality-above-1", ("CONS-057",), "Quality 1.5.", "cons.strength",
            {"quality": 1.5, "hits": 0, "uses": 0}, "E_PAYLOAD_INVALID"),
        bad("strength-quality-text", ("CONF-005",), "Quality given as text.", "cons.strength",
            {"quality": "1", "hits": 0, "uses": 0}, "E_BAD_REQUEST"),
        case("screening-lock-and-release", ("CONS-027", "CONS-028", "CONS-029", "CONS-030",
                                           "CONS-031"),
             "Four consolidations at threshold 3: the third screens, the fourth is locked; "
             "a weakening releases; the next consolidation writes again.", "cons.screening",
             {"threshold": 3.0, "events": ["consolidate"] * 4 + ["weaken", "consolidate"]}),
        case("screening-threshold-1", ("CONS-029", "CONS-027", "CONS-030"),
             "At threshold 1 the first consolidation screens and the second is locked.",
             "cons.screening", {"threshold": 1.0, "events": ["consolidate"] * 3},
             comment="Boundary: the least threshold."),
        case("screening-weaken-first", ("CONS-028",),
             "A weakening before any consolidation writes and creates no record.",
             "cons.screening", {"threshold": 3.0, "events": ["weaken", "consolidate"]}),
        case("screening-fractional", ("CONS-029",), "Threshold 2.5: activity 3 screens.",
             "cons.screening", {"threshold": 2.5, "events": ["consolidate"] * 4}),
        bad("screening-threshold-below-1", ("CONS-030",), "Threshold 0.5.", "cons.screening",
            {"threshold": 0.5, "events": []}, "E_PAYLOAD_INVALID"),
        bad("screening-threshold-above-64", ("CONS-030",), "Threshold 64.5.",
            "cons.screening", {"threshold": 64.5, "events": []}, "E_PAYLOAD_INVALID",
            comment="Boundary: just above the greatest threshold."),
        bad("screening-unknown-event", ("CONF-005",), "An event 'erase'.", "cons.screening",
            {"threshold": 3.0, "events": ["erase"]}, "E_BAD_REQUEST"),
    ]
    series = [
        ("four-ticks", [0, 0, 0, 0, 1, 1, 1, 1], "One activation in each of the last four "
         "ticks (the blueprint's requests): 0.625, stable."),
        ("three-ticks", [0, 0, 0, 0, 0, 1, 1, 1], "Three activations: autocorrelation "
         "0.59 but fewer than 4, not stable."),
        ("crowded", [0, 0, 0, 0, 0, 0, 0, 4], "Four activations in one tick: negative."),
        ("constant-active", [1] * 8, "Every tick once: zero variance, autocorrelation 1."),
        ("constant-zero", [0] * 8, "Never: zero variance, autocorrelation 0."),
        ("constant-two", [2] * 8, "Every tick twice: zero variance, 1."),
        ("alternating", [1, 0, 1, 0, 1, 0, 1, 0], "Every other tick: -0.875, not stable."),
        ("fading", [1, 1, 1, 1, 0, 0, 0, 0], "Use that stopped: 0.625, still stable."),
        ("single", [5], "A series of one count: zero variance, 1."),
    ]
    for label, values, description in series:
        stable, rho = cons.is_stable(values)
        ensure(abs(rho - cons.STABLE_THRESHOLD) > MARGIN, f"stability-{label}: narrow margin")
        reqs = ("CONS-001", "CONS-033", "CONS-034", "CONS-057") if len(values) != 8 else (
            "CONS-001", "CONS-032", "CONS-033", "CONS-034")
        cases.append(case(f"stability-{label}", reqs, description, "cons.stability",
                          {"series": values}, floats=True))
    for k, counts in enumerate(avalanche_patterns()):
        cases.append(case(f"stability-avalanche-{k}", ("CONS-033", "CONS-034"),
                          f"Avalanche pattern {k} of the lifecycle vector at its last tick.",
                          "cons.stability", {"series": list(counts)}, floats=True))
    exact = [0, 0, 0, 0, 2, 2, 3, 1]
    ensure(cons.is_stable(exact) == (True, cons.STABLE_THRESHOLD),
           "stability-exactly-threshold: not exactly 0.5")
    cases.append(case("stability-exactly-threshold", ("CONS-034", "CONS-033", "CONS-032"),
                      "Autocorrelation exactly 0.5 with 8 activations: stable (at least 0.5).",
                      "cons.stability", {"series": exact}, floats=True,
                      comment="Mean 1; deviations -1, -1, -1, -1, 1, 1, 2, 0; denominator 10, "
                              "numerator 1 + 1 + 1 - 1 + 1 + 2 + 0 = 5; every sum is of small "
                              "integers, exact in any order, so 5 / 10 is exactly 0.5 and no "
                              "margin is needed."))
    cases += [
        bad("stability-empty", ("CONS-057",), "An empty series.", "cons.stability",
            {"series": []}, "E_PAYLOAD_INVALID"),
        bad("stability-negative", ("CONS-057",), "A negative count.", "cons.stability",
            {"series": [1, -1]}, "E_PAYLOAD_INVALID"),
        case("stability-bounds", ("CONS-057", "CONS-033"),
             "1024 counts, the largest 2^31-1: in range.", "cons.stability",
             {"series": [2**31 - 1, *([0, 1] * 511), 0]}, floats=True,
             comment="Boundaries: at most 1024 counts, each below 2^31."),
        bad("stability-1025", ("CONS-057",), "1025 counts.", "cons.stability",
            {"series": [1, 0] * 512 + [1]}, "E_PAYLOAD_INVALID"),
        bad("stability-count-2-31", ("CONS-057",), "A count of 2^31.", "cons.stability",
            {"series": [2**31, 1]}, "E_PAYLOAD_INVALID"),
    ]
    return cases + queue_cases() + homeostasis_cases()


def queue_cases() -> list[Case]:
    def entry(label: str, priority: float, cost: int = 16, source: str = "") -> dict[str, Any]:
        return {"circuit": _cid(label), "source": source, "priority": priority, "cost": cost}

    mixed = [entry("c", 0.5625), entry("a", 0.625), entry("g", 0.529255319), entry(
        "b", 0.586538462), entry("e", 0.544354839), entry("d", 0.579545455),
        entry("f", 0.560897436)]
    tied = [entry(x, 0.625) for x in "pqrstu"]
    agent_x, agent_y = "11" * 32, "22" * 32
    return [
        case("queue-priority-order", ("CONS-037", "CONS-039"),
             "Seven circuits of cost 16 with distinct priorities, budget 92: the five highest "
             "migrate (80), in priority order.", "cons.queue_tick",
             {"budget": 92, "used": 0, "entries": mixed},
             comment='Circuit ids: blake3(b"strata/vectors/consolidation/circuit-<label>").'),
        case("queue-tie-break", ("CONS-037", "CONS-039"),
             "Six circuits of equal priority: circuit id bytes decide.", "cons.queue_tick",
             {"budget": 92, "used": 0, "entries": tied}),
        case("queue-source-tie", ("CONS-036", "CONS-037"),
             "One circuit pending from two agents at equal priority: the source bytes decide.",
             "cons.queue_tick", {"budget": 92, "used": 60, "entries": [
                 entry("s", 0.7, source=agent_y), entry("s", 0.7, source=agent_x)]}),
        case("queue-head-blocks", ("CONS-039",),
             "The head costs 50 with 50 of 92 used: nothing migrates, though the next fits.",
             "cons.queue_tick", {"budget": 92, "used": 50, "entries": [
                 entry("h", 0.9, cost=50), entry("i", 0.8, cost=16)]},
             comment="Strict priority: the head waits for the next tick."),
        case("queue-exact-fit", ("CONS-039", "CONS-042", "CONS-057"),
             "used + cost equals the budget: it fits.", "cons.queue_tick",
             {"budget": 92, "used": 76, "entries": [entry("x", 0.6), entry("y", 0.55)]},
             comment="Boundary: 76 + 16 = 92."),
        case("queue-empty", ("CONS-039",), "An empty queue migrates nothing.",
             "cons.queue_tick", {"budget": 92, "used": 0, "entries": []}),
        case("queue-zero-budget", ("CONS-039", "CONS-042", "CONS-057"), "A budget of 0.",
             "cons.queue_tick", {"budget": 0, "used": 0, "entries": [entry("z", 1.0)]}),
        bad("queue-duplicate-entry", ("CONS-036",), "One circuit twice from one source.",
            "cons.queue_tick", {"budget": 92, "used": 0,
                                "entries": [entry("d", 0.6), entry("d", 0.7)]},
            "E_PAYLOAD_INVALID"),
        bad("queue-circuit-31-bytes", ("CONS-057",), "A circuit id one byte short.",
            "cons.queue_tick", {"budget": 92, "used": 0, "entries": [
                {**entry("w", 0.6), "circuit": _cid("w")[:62]}]}, "E_PAYLOAD_INVALID",
            comment="Boundary: a circuit id is 32 bytes."),
        bad("queue-cost-zero", ("CONS-057",), "An entry of cost 0.", "cons.queue_tick",
            {"budget": 92, "used": 0, "entries": [entry("z", 0.6, cost=0)]},
            "E_PAYLOAD_INVALID"),
        case("queue-cost-one", ("CONS-039", "CONS-057"), "An entry of cost 1, the least.",
             "cons.queue_tick", {"budget": 1, "used": 0, "entries": [entry("o", 0.6, cost=1)]},
             comment="Boundary: a cost is at least 1."),
        bad("queue-budget-negative", ("CONS-057",), "A budget of -1.", "cons.queue_tick",
            {"budget": -1, "used": 0, "entries": []}, "E_PAYLOAD_INVALID"),
        bad("queue-used-negative", ("CONS-057",), "Used -1.", "cons.queue_tick",
            {"budget": 92, "used": -1, "entries": []}, "E_PAYLOAD_INVALID"),
        bad("queue-priority-beyond-binary64", ("CONS-057",),
            "A priority given as the integer 10^400, which has no finite binary64 value.",
            "cons.queue_tick", {"budget": 92, "used": 0,
                                "entries": [{**entry("o", 0.6), "priority": 10**400}]},
            "E_PAYLOAD_INVALID", comment="A priority is a finite number."),
    ]


def homeostasis_cases() -> list[Case]:
    specs = [
        ("crystallized-context", "context", 3.0, [5] * 10 + [4] * 6,
         "Every record screened (s = 1): raise the threshold to 3.3; all stay screened."),
        ("crystallized-release", "context", 3.0, [3] * 12,
         "Activity 3 at threshold 3: crystallized; 3.3 releases every record."),
        ("amnesic-domain", "domain", 3.0, [1] * 16,
         "Nothing screened in domain (s = 0): lower the threshold to 3 / 1.1."),
        ("amnesic-screens", "agent", 3.2, [3] * 9 + [0],
         "Threshold 3.2 over activities 3: amnesic; 3.2 / 1.1 screens nine."),
        ("balanced-agent", "agent", 3.0, [4] * 5 + [1] * 5,
         "Half screened in agent (its budget): balanced, no change."),
        ("bound-high", "swarm", 64.0, [64] * 4,
         "Crystallized at the greatest threshold: it stays 64."),
        ("bound-low", "swarm", 1.0, [0] * 4, "Amnesic at the least threshold: it stays 1."),
        ("one-record", "foundation", 2.0, [2], "One record, screened: crystallized."),
    ]
    cases = []
    for label, layer, tau, acts, description in specs:
        step = cons.step_homeostasis(layer, tau, acts)
        ensure(abs(step.ratio - cons.RATIO_LOW) > MARGIN, f"homeostasis-{label}: narrow margin")
        cases.append(case(f"homeostasis-{label}", ("CONS-053", "CONS-054", "CONS-029"),
                          description, "cons.homeostasis",
                          {"layer": layer, "threshold": tau, "activities": acts}, floats=True))
    cases += [
        bad("homeostasis-no-records", ("CONS-054",), "No records.", "cons.homeostasis",
            {"layer": "agent", "threshold": 3.0, "activities": []}, "E_PAYLOAD_INVALID"),
        bad("homeostasis-threshold-65", ("CONS-030", "CONS-054"),
            "Threshold 65: no step from a threshold above 64.", "cons.homeostasis",
            {"layer": "agent", "threshold": 65.0, "activities": [1]}, "E_PAYLOAD_INVALID"),
        bad("homeostasis-unknown-layer", ("CONS-016", "CONS-057"), "Layer 'team'.",
            "cons.homeostasis", {"layer": "team", "threshold": 3.0, "activities": [1]},
            "E_PAYLOAD_INVALID"),
    ]
    return cases


def resonance_cases() -> list[Case]:
    a = [0.5, -0.25, 0.75, 0.0, 0.125, -1.0]
    b = [0.25, 0.5, -0.5, 1.0, 0.0, 0.375]
    seed_factor = 1 + (-0.5) * (-1.0)  # the blueprint's formula at alignment -1
    ensure(seed_factor > 1, "the blueprint's factor should amplify")
    cases = [
        case("resonance-agree", ("CONS-045", "CONS-046", "CONS-047"),
             "Two equal contributions: alignment 1, factor 1.5.", "cons.resonance",
             {"a": f32(a), "b": f32(a)}, floats=True),
        case("resonance-conflict", ("CONS-045", "CONS-046", "CONS-047"),
             "Opposite contributions: alignment -1, factor 0.5 (the blueprint's formula gives "
             "1.5, errata E1).", "cons.resonance", {"a": f32(a), "b": f32([-x for x in a])},
             floats=True),
        case("resonance-scale-invariant", ("CONS-045",),
             "b = 8 a: alignment 1 whatever the scale (errata E2).", "cons.resonance",
             {"a": f32(a), "b": f32([8 * x for x in a])}, floats=True),
        case("resonance-partial-conflict", ("CONS-045", "CONS-046", "CONS-047"),
             "Partly opposed contributions: a negative alignment damps.", "cons.resonance",
             {"a": f32(a), "b": f32(b)}, floats=True),
        case("resonance-orthogonal", ("CONS-045", "CONS-046"),
             "Orthogonal contributions: factor 1.", "cons.resonance",
             {"a": f32([1.0, 0.0]), "b": f32([0.0, 1.0])}, floats=True),
        case("resonance-zero", ("CONS-045", "CONS-046"),
             "A zero contribution: alignment 0 (no division by zero), factor 1.",
             "cons.resonance", {"a": f32([0.0, 0.0, 0.0]), "b": f32([1.0, 2.0, 3.0])},
             floats=True),
        bad("resonance-lengths", ("CONS-057",), "Contributions of 2 and 3 values.",
            "cons.resonance", {"a": f32([1.0, 0.0]), "b": f32([1.0, 0.0, 0.0])},
            "E_PAYLOAD_INVALID"),
        case("resonance-one-value", ("CONS-057", "CONS-045"),
             "Contributions of one value each (2 and -3): alignment -1.", "cons.resonance",
             {"a": f32([2.0]), "b": f32([-3.0])}, floats=True,
             comment="Boundary: a contribution holds at least one value."),
        bad("resonance-empty", ("CONS-057",), "Two empty contributions.", "cons.resonance",
            {"a": {"f32": "", "shape": [0]}, "b": {"f32": "", "shape": [0]}},
            "E_PAYLOAD_INVALID", comment="Boundary: zero values, one fewer than the least."),
        bad("resonance-nan", ("CONS-057",), "A NaN component.", "cons.resonance",
            {"a": {"f32": "7fc00000", "shape": [1]}, "b": f32([1.0])}, "E_PAYLOAD_INVALID"),
        bad("resonance-shape", ("CONF-005",), "A shape that does not match the bytes.",
            "cons.resonance", {"a": {"f32": "3f800000", "shape": [2]}, "b": f32([1.0])},
            "E_BAD_REQUEST"),
    ]
    tilt = [x + 0.2 * y for x, y in zip(a, b, strict=True)]
    vertical = [
        ("aligned", a, [2 * x for x in a], [0.5 * x for x in a],
         "One circuit at three strengths: alignment 1, fast track, strength 0.75."),
        ("tilted", a, tilt, a, "A slightly tilted agent vector: above 0.9."),
        ("swarm-empty", a, a, [0.0] * len(a), "Nothing in swarm: (1 + 0 + 0) / 3."),
        ("opposed", a, [-x for x in a], a, "The agent holds the opposite: (-1 - 1 + 1) / 3."),
    ]
    for label, c, g, s, description in vertical:
        va = cons.compute_vertical_alignment(c, g, s)
        ensure(abs(va - cons.V_THRESHOLD) > MARGIN, f"vertical-{label}: narrow margin")
        cases.append(case(f"vertical-{label}", ("CONS-050", "CONS-051", "CONS-052"),
                          description, "cons.vertical",
                          {"context": f32(c), "agent": f32(g), "swarm": f32(s)}, floats=True))
    unit, swarm = [1.0, 0.0, 0.0, 0.0, 0.0], [17.0, 10.0, 3.0, 1.0, 1.0]
    ensure(cons.compute_vertical_alignment(unit, unit, swarm) == cons.V_THRESHOLD,
           "vertical-exactly-threshold: not exactly 0.9")
    cases.append(case("vertical-exactly-threshold", ("CONS-050", "CONS-051"),
                      "Alignment exactly 0.9 in binary64: fast-tracked (at least 0.9).",
                      "cons.vertical", {"context": f32(unit), "agent": f32(unit),
                                        "swarm": f32(swarm)}, floats=True,
                      comment="|swarm| = 20 (289 + 100 + 9 + 1 + 1 = 400): ca = 1, as = cs = "
                              "17 / 20 = 0.85; (1 + 0.85) + 0.85 = 2.7 and 2.7 / 3 = 0.9, "
                              "each step exact to the binary64 nearest 0.9; every sum is of small "
                              "integers, exact in any order, so no margin is needed."))
    cases.append(case("vertical-one-value", ("CONS-057", "CONS-050", "CONS-051"),
                      "One value in each layer (1, 2, 0.5): alignment 1, fast-tracked.",
                      "cons.vertical", {"context": f32([1.0]), "agent": f32([2.0]),
                                        "swarm": f32([0.5])}, floats=True,
                      comment="Boundary: a vector holds at least one value."))
    cases.append(bad("vertical-three-lengths", ("CONS-057",), "Vectors of 1, 2 and 3 values.",
                     "cons.vertical", {"context": f32([1.0]), "agent": f32([1.0, 0.0]),
                                       "swarm": f32([1.0, 2.0, 0.0])}, "E_PAYLOAD_INVALID"))
    cases.append(bad("vertical-lengths", ("CONS-057",), "Vectors of different lengths.",
                     "cons.vertical", {"context": f32([1.0]), "agent": f32([1.0]),
                                       "swarm": f32([1.0, 2.0])}, "E_PAYLOAD_INVALID"))
    return cases


# --- operations and runs ----------------------------------------------------------------------


def q_snapshot(node: str) -> dict[str, Any]:
    return {"query": "snapshot", "agent": node}


def q_weights(node: str, layer: str, circuit: cons.Circuit, k: int = 0) -> dict[str, Any]:
    """B of one component's target at the circuit's eight positions in `layer`."""
    rank = cons.RANK[layer]
    comp = circuit.components[k]
    return {"query": "weights", "agent": node, "layer": layer, "target": comp.target,
            "indices": [row * rank + comp.slot % rank for row in comp.rows]}


def q_screening(node: str, layer: str) -> dict[str, Any]:
    return {"query": "screening", "agent": node, "layer": layer}


Q_QUEUES = {"query": "queues"}
Q_BANDWIDTH = {"query": "bandwidth"}
Q_MIGRATIONS = {"query": "migrations"}


def run_case(case_id: str, reqs: tuple[str, ...], description: str, script: Script,
             queries: Sequence[dict[str, Any]], comment: str | None = None,
             mode: str | None = None, ops: Sequence[bytes] | None = None) -> Case:
    """A cons.run case over a script's ops, its decisions' margins checked first."""
    check_margins(project(script.ops), case_id)
    args: dict[str, Any] = {"seed": SEED.hex(),
                            "ops": [x.hex() for x in (script.ops if ops is None else ops)],
                            "now_ms": NOW_MS, "queries": list(queries)}
    if mode is not None:
        args["mode"] = mode
    return case(case_id, reqs, description, "cons.run", args, comment=comment, floats=True)


def bad_op(case_id: str, reqs: tuple[str, ...], description: str, payload: dict[str, Any],
           error: str) -> Case:
    s = Script(f"bad/{case_id}")
    s.emit("a", 1, payload)
    return bad(case_id, reqs, description, "cons.run",
               {"seed": SEED.hex(), "ops": s.hex_ops(), "now_ms": NOW_MS, "queries": []}, error)


def operation_cases() -> list[Case]:
    s = Script("variants")
    ev = s.evidence("a", 1, "a/request")
    c1 = s.consolidate("a", 1, list(b"abc"), [ev], quality=0.75, hits=2, uses=3)
    circuit = circuit_of(list(b"abc"))
    s.learn("a", "LoraWeaken", 2, [c1], layer="context", circuit=circuit.id)
    m = s.learn("a", "LoraMigrate", 2, [c1], circuit=circuit.id, source="context",
                target="agent")
    s.learn("a", "LoraFastTrack", 3, [c1], circuit=circuit.id)
    s.learn("a", "LoraResonate", 3, [c1, m], a=c1, b=m)
    s.learn("a", "LoraHomeostasis", 3, [], layer="swarm")
    cases = [run_case("variants-each-once", ("CONS-003", "CONS-015", "CONS-016", "CONS-017",
                                             "CONS-018", "CONS-019", "CONS-020", "CONS-023",
                                             "CONS-040", "CONS-043", "CONS-048", "CONS-051",
                                             "CONS-055"),
                      "One valid op of each learning variant; the projection admits the "
                      "consolidation and the weakening and ignores the rest with their reasons.",
                      s, [q_snapshot(s.node("a"))])]
    edges = Script("field-boundaries")
    ev2 = edges.evidence("a", 1, "a/edges")
    edges.consolidate("a", 1, [0, 257], [ev2], quality=1.0, hits=3, uses=3)
    edges.consolidate("a", 1, [(i * 37) % 258 for i in range(128)], [ev2], quality=0.0)
    cases.append(run_case("op-field-boundaries", ("CONS-003", "CONS-017", "CONS-018"),
                          "Valid boundary fields: tokens 0 and 257, 128 tokens, quality "
                          "exactly 1.0 and 0.0, hits equal to uses (3 of 3).",
                          edges, [q_snapshot(edges.node("a"))],
                          comment="Boundaries: each range is inclusive."))
    art = s.rid("a")
    art2 = s.rid("a")
    ev_id = s.rid("a", IdKind.EVIDENCE)

    def consolidate(**changes: Any) -> dict[str, Any]:
        return {"type": "LoraConsolidate", "learning": art, "tokens": [104, 105],
                "quality": 1.0, "hits": 0, "uses": 0, "supports": [ev_id], **changes}

    cid = circuit.id
    cases += [
        bad_op("op-unknown-lora-type", ("CONS-015",), "A 'LoraDistill' payload.",
               {"type": "LoraDistill", "learning": art, "supports": [ev_id]}, "E_PAYLOAD_TYPE"),
        bad_op("op-missing-field", ("CONS-015", "OPS-002"), "A LoraConsolidate without uses.",
               {k: v for k, v in consolidate().items() if k != "uses"}, "E_PAYLOAD_INVALID"),
        bad_op("op-learning-kind", ("CONS-015", "OPS-003"),
               "A learning id of kind EvidenceId.", consolidate(learning=ev_id), "E_ID_KIND"),
        bad_op("op-tokens-empty", ("CONS-003",), "No tokens.", consolidate(tokens=[]),
               "E_PAYLOAD_INVALID"),
        bad_op("op-token-258", ("CONS-003",), "Token 258.", consolidate(tokens=[1, 258]),
               "E_PAYLOAD_INVALID"),
        bad_op("op-tokens-byte-string", ("CONS-003",),
               "Tokens as the byte string 'hi': its bytes are not an array of token ids.",
               consolidate(tokens=b"hi"), "E_PAYLOAD_INVALID"),
        bad_op("op-tokens-integer", ("CONS-003",), "Tokens as the integer 104.",
               consolidate(tokens=104), "E_PAYLOAD_INVALID"),
        bad_op("op-quality-integer", ("CONS-017",), "Quality 1 as an integer.",
               consolidate(quality=1), "E_PAYLOAD_INVALID"),
        bad_op("op-quality-above-1", ("CONS-017",), "Quality 1.25.",
               consolidate(quality=1.25), "E_PAYLOAD_INVALID"),
        bad_op("op-quality-negative", ("CONS-017",), "Quality -0.5.",
               consolidate(quality=-0.5), "E_PAYLOAD_INVALID"),
        bad_op("op-hits-exceed-uses", ("CONS-018",), "hits 2, uses 1.",
               consolidate(hits=2, uses=1), "E_PAYLOAD_INVALID"),
        bad_op("op-supports-empty", ("CONS-015", "OPS-005"), "A consolidation without supports.",
               consolidate(supports=[]), "E_PAYLOAD_INVALID"),
        bad_op("op-layer-unknown", ("CONS-016",), "A weakening in layer 'team'.",
               {"type": "LoraWeaken", "learning": art, "layer": "team", "circuit": cid,
                "supports": [ev_id]}, "E_PAYLOAD_INVALID"),
        bad_op("op-layer-before-circuit", ("CONS-016", "OPS-017"),
               "A bad layer and a 31-byte circuit: the layer comes first in the table.",
               {"type": "LoraWeaken", "learning": art, "layer": "Agent", "circuit": cid[:31],
                "supports": [ev_id]}, "E_PAYLOAD_INVALID"),
        bad_op("op-migrate-skips-layer", ("CONS-019", "OPS-017"),
               "A migration from context to swarm: a rule between fields, checked when the "
               "payload is parsed.",
               {"type": "LoraMigrate", "learning": art, "circuit": cid, "source": "context",
                "target": "swarm", "supports": [ev_id]}, "E_PAYLOAD_INVALID"),
        bad_op("op-migrate-downward", ("CONS-019",), "A migration from agent to context.",
               {"type": "LoraMigrate", "learning": art, "circuit": cid, "source": "agent",
                "target": "context", "supports": [ev_id]}, "E_PAYLOAD_INVALID"),
        bad_op("op-migrate-into-foundation", ("CONS-019",), "A migration from domain.",
               {"type": "LoraMigrate", "learning": art, "circuit": cid, "source": "domain",
                "target": "foundation", "supports": [ev_id]}, "E_PAYLOAD_INVALID"),
        bad_op("op-resonate-same-record", ("CONS-020", "OPS-017"),
               "a equals b: a rule between fields, checked when the payload is parsed.",
               {"type": "LoraResonate", "learning": art, "a": art2, "b": art2,
                "supports": sorted([art2, ev_id])}, "E_PAYLOAD_INVALID"),
        bad_op("op-resonate-unlisted", ("CONS-020",), "b is not among the supports.",
               {"type": "LoraResonate", "learning": art, "a": art2, "b": ev_id,
                "supports": sorted([art2, s.rid("a")])}, "E_PAYLOAD_INVALID"),
        bad_op("op-resonate-one-support", ("CONS-015", "OPS-005"), "One support only.",
               {"type": "LoraResonate", "learning": art, "a": art2, "b": ev_id,
                "supports": [art2]}, "E_PAYLOAD_INVALID"),
    ]
    return cases


def _stable(s: Script, agent: str, tokens: Sequence[int], first_tick: int = 1,
            uses: bool = False) -> tuple[list[bytes], bytes]:
    """Four consolidations of one trajectory, one per tick: stable at the fourth."""
    ev = s.evidence(agent, first_tick, f"{agent}/{bytes(tokens)!r}/{first_tick}")
    records = [s.consolidate(agent, first_tick + i, tokens, [ev], hits=i if uses else 0,
                             uses=i + 1 if uses else 0) for i in range(4)]
    return records, ev


def run_cases() -> list[Case]:
    cases: list[Case] = []
    # one consolidation; the quality gate; the lock
    s = Script("consolidate")
    ev = s.evidence("a", 1, "a/q")
    s.consolidate("a", 1, list(b"gate"), [ev], quality=0.4999)
    s.consolidate("a", 1, list(b"gate"), [ev], quality=0.5)
    c = circuit_of(list(b"gate"))
    cases.append(run_case(
        "run-quality-gate", ("CONS-013", "CONS-014", "CONS-010", "CONS-011", "CONS-024",
                             "CONS-023"),
        "Quality 0.4999 is ignored ('quality'); quality 0.5 consolidates with strength 0.05.",
        s, [q_snapshot(s.node("a")), q_weights(s.node("a"), "context", c),
            q_screening(s.node("a"), "context")]))
    last = {**q_weights(s.node("a"), "context", c), "target": "blocks.1.mlp.down",
            "indices": [64 * cons.RANK["context"] - 1]}
    cases.append(run_case(
        "run-query-bounds", ("CONS-057",), "The last entry of B of blocks.1.mlp.down in the "
        "context layer (64 rows of rank 2: index 127), and the screening of that agent.",
        s, [last, q_screening(s.node("a"), "context")],
        comment="Boundary: an index is below the size of B."))
    for name, query, what in (
            ("index-past-b", {**last, "indices": [64 * cons.RANK["context"]]},
             "index 128 of a 128-entry B"),
            ("unknown-target", {**last, "target": "blocks.2.attn.q"}, "a target no block has"),
            ("agent-31-bytes", {**q_screening(s.node("a"), "context"),
                                "agent": s.node("a")[:62]}, "an agent id one byte short")):
        cases.append(bad(f"run-query-{name}", ("CONS-057",), f"A query naming {what}.",
                         "cons.run", {"seed": SEED.hex(), "ops": s.hex_ops(), "now_ms": NOW_MS,
                                      "queries": [query]}, "E_PAYLOAD_INVALID"))
    s = Script("lock")
    ev = s.evidence("a", 1, "a/lock")
    three = [s.consolidate("a", 1, list(b"lock"), [ev]) for _ in range(3)]
    s.consolidate("a", 1, list(b"lock"), [ev])
    c = circuit_of(list(b"lock"))
    view = project(s.ops)
    three_only = project(s.ops[:4])
    inst = view.instance("context", s.author("a").node)
    ensure(view.read(inst, c) == three_only.read(three_only.instance(
        "context", s.author("a").node), c) and len(three) == 3,
        "the fourth consolidation changed a screened parameter")
    cases.append(run_case(
        "run-screening-lock", ("CONS-027", "CONS-029", "CONS-030", "CONS-031", "CONS-024"),
        "Four consolidations of one circuit in one tick: the third screens its 16 parameters, "
        "the fourth is locked (the weights equal those after three) yet joins the op list.",
        s, [q_snapshot(s.node("a")), q_weights(s.node("a"), "context", c, 0),
            q_weights(s.node("a"), "context", c, 1), q_screening(s.node("a"), "context")],
        comment="Four consolidations in one tick are not stable (series [0,...,0,4])."))
    # stability, the queue and the handoff
    s = Script("handoff")
    early = s.learn("a", "LoraMigrate", 0, [s.evidence("a", 0, "a/early")],
                    circuit=circuit_of(list(b"json")).id, source="context", target="agent")
    records, ev = _stable(s, "a", list(b"json"), uses=True)
    s.consolidate("a", 5, list(b"json"), [ev], hits=4, uses=5)
    s.learn("a", "LoraMigrate", 6, records, circuit=circuit_of(list(b"json")).id,
            source="context", target="agent")
    ensure(bool(early), "no early op")
    c = circuit_of(list(b"json"))
    node = s.node("a")
    cases.append(run_case(
        "run-stable-migrate", ("CONS-008", "CONS-010", "CONS-025", "CONS-032", "CONS-033",
                               "CONS-034", "CONS-035", "CONS-040", "CONS-041", "CONS-024",
                               "CONS-027", "CONS-028", "CONS-056"),
        "A migration before the circuit is stable is ignored ('not_queued'); four requests on "
        "four ticks make it stable (0.625) and enqueue it; a fifth is locked; the migration "
        "at tick 6 consolidates 0.5 into agent and weakens context by 0.3.",
        s, [q_snapshot(node), Q_QUEUES, Q_BANDWIDTH, Q_MIGRATIONS,
            q_weights(node, "context", c), q_weights(node, "agent", c),
            q_screening(node, "context"), q_screening(node, "agent")]))
    s.learn("a", "LoraMigrate", 7, records, circuit=c.id, source="agent", target="swarm")
    cases.append(run_case(
        "run-pending-state", ("CONS-035", "CONS-036", "CONS-037"),
        "Before the handoff: the queue of the agent instance holds the circuit once, with its "
        "priority 0.625, though the fifth consolidation at tick 5 found it stable again.", s,
        [Q_QUEUES, q_snapshot(node)], ops=s.ops[:-2]))
    cases += [_priority_run(), _weaken_run(), *_resonance_runs(), _resonance_bandwidth_run(),
              _fast_track_run(),
              _homeostasis_run(), _homeostasis_ignored_run(), _not_creator_run(),
              *_tombstone_runs()]
    return cases


def _priority_run() -> Case:
    """Seven circuits stable at one tick; a migration out of order, one over the budget."""
    s = Script("priority")
    patterns = avalanche_patterns()[:7]
    for k, counts in enumerate(patterns):
        tokens = list(f"p{k}".encode())
        ev = s.evidence("a", 1, f"a/p{k}")
        for i, n in enumerate(counts):
            for _ in range(n):
                s.consolidate("a", 1 + i, tokens, [ev])
    view = project(s.ops)
    node = s.author("a").node
    queue = view.get_queue(("agent", node))
    ensure(len(queue) == 7, "seven circuits are not all queued")
    tick = 9
    ev = s.evidence("a", tick, "a/migrations")
    s.learn("a", "LoraMigrate", tick, [ev], circuit=queue[1].circuit, source="context",
            target="agent")  # not the head
    for e in queue[:5]:
        s.learn("a", "LoraMigrate", tick, [ev], circuit=e.circuit, source="context",
                target="agent")
    s.learn("a", "LoraMigrate", tick, [ev], circuit=queue[5].circuit, source="context",
            target="agent")  # 80 + 16 > 92
    for e in queue[5:]:
        s.learn("a", "LoraMigrate", tick + 1, [ev], circuit=e.circuit, source="context",
                target="agent")
    return run_case(
        "run-priority-bandwidth", ("CONS-025", "CONS-035", "CONS-037", "CONS-038", "CONS-039",
                                   "CONS-040", "CONS-042"),
        "Seven circuits become stable at tick 8 with distinct priorities. At tick 9 a "
        "migration of the second is ignored ('not_head'), the first five migrate (80 of 92), a "
        "sixth is ignored ('bandwidth'); at tick 10 the last two migrate.",
        s, [Q_BANDWIDTH, Q_MIGRATIONS, Q_QUEUES, q_snapshot(s.node("a"))],
        comment="Circuit k's trajectory is 'p<k>'; its activation counts over ticks 1 to 8 "
                "are avalanche pattern k (the stability-avalanche-k cases).")


def _weaken_run() -> Case:
    s = Script("weaken")
    records, ev = _stable(s, "a", list(b"oops"))
    c = circuit_of(list(b"oops"))
    s.learn("a", "LoraWeaken", 5, [ev], layer="context", circuit=circuit_of(list(b"no")).id)
    s.learn("a", "LoraWeaken", 5, [ev], layer="agent", circuit=c.id)
    s.learn("a", "LoraWeaken", 5, records, layer="context", circuit=c.id)
    s.learn("a", "LoraMigrate", 6, records, circuit=c.id, source="context", target="agent")
    node = s.node("a")
    return run_case(
        "run-weaken", ("CONS-043", "CONS-028", "CONS-024"),
        "Weakening an unknown circuit ('unknown_circuit'), one never in the agent layer "
        "('not_present'), then the stable circuit in context: its queue entry goes, so the "
        "migration is ignored ('not_queued').", s,
        [q_snapshot(node), Q_QUEUES, q_weights(node, "context", c),
         q_screening(node, "context")])


def _resonance_script(conflict: bool) -> tuple[Script, cons.Circuit]:
    s = Script("resonance-conflict" if conflict else "resonance-agree")
    tokens = list(b"shared pattern")
    c = circuit_of(tokens)
    moved = {}
    for agent in ("a", "b"):
        records, _ = _stable(s, agent, tokens)
        moved[agent] = s.learn(agent, "LoraMigrate", 5, records, circuit=c.id,
                               source="context", target="agent")
    second = moved["b"]
    if conflict:
        second = s.learn("b", "LoraWeaken", 6, [moved["b"]], layer="agent", circuit=c.id)
    s.learn("a", "LoraResonate", 6, [moved["a"], records[0]], a=moved["a"], b=records[0])
    s.learn("a", "LoraResonate", 6, sorted([moved["a"], moved["a"] if False else second]),
            a=moved["a"], b=second)
    s.learn("b", "LoraResonate", 7, [moved["a"], second], a=moved["a"], b=second)
    return s, c


def _resonance_runs() -> list[Case]:
    out = []
    for conflict in (False, True):
        s, c = _resonance_script(conflict)
        a, b = s.node("a"), s.node("b")
        label = "conflict" if conflict else "agree"
        what = ("agent B weakened the circuit it migrated (contribution -0.3): alignment -1, "
                "factor 0.5, swarm gets 0.5 x 0.5 x (0.5 - 0.3) = 0.05 times the circuit; the "
                "blueprint's formula would write 0.15 (errata E1)") if conflict else (
                "both migrated the circuit (0.5 each): alignment 1, factor 1.5, swarm gets "
                "0.5 x 1.5 x (0.5 + 0.5) = 0.75 times the circuit")
        out.append(run_case(
            f"run-resonance-{label}", ("CONS-044", "CONS-045", "CONS-046", "CONS-047",
                                       "CONS-048", "CONS-049", "CONS-021"),
            f"Two agents, one circuit: {what}. A resonance with a consolidation record is "
            "ignored ('not_agent_record'), a second with the same records ('reused').",
            s, [q_snapshot(a), q_snapshot(b), q_weights(a, "swarm", c),
                q_weights(a, "swarm", c, 1), Q_BANDWIDTH, q_screening(a, "swarm")]))
    return out


def _resonance_bandwidth_run() -> Case:
    """Three resonances of two different circuits each in one tick: the third is over."""
    s = Script("resonance-bandwidth")
    names = [list(b"alpha"), list(b"beta"), list(b"gamma")]
    circuits = [circuit_of(t) for t in names]
    records = {agent: {c.id: _stable(s, agent, t)[0] for t, c in zip(names, circuits,
                                                                     strict=True)}
               for agent in ("a", "b")}
    moved: dict[tuple[str, bytes], bytes] = {}
    for agent in ("a", "b"):
        queue = project(s.ops).get_queue(("agent", s.author(agent).node))
        ensure(len(queue) == 3, "resonance-bandwidth: three circuits are not queued")
        for e in queue:  # in queue order: each migration takes the head
            moved[(agent, e.circuit)] = s.learn(agent, "LoraMigrate", 5, records[agent][e.circuit],
                                                circuit=e.circuit, source="context",
                                                target="agent")
    pairs = [(circuits[k].id, circuits[(k + 1) % 3].id) for k in range(3)]
    for ca, cb in pairs:
        s.learn("a", "LoraResonate", 6, sorted([moved[("a", ca)], moved[("b", cb)]]),
                a=moved[("a", ca)], b=moved[("b", cb)])
    view = project(s.ops)
    rank = cons.RANK["swarm"]
    costs = [len(set(cons.get_positions(circuits[k], rank))
                 | set(cons.get_positions(circuits[(k + 1) % 3], rank))) for k in range(3)]
    budget = cons.compute_budget("swarm")
    ensure(costs[0] + costs[1] <= budget < costs[0] + costs[1] + costs[2],
           f"resonance-bandwidth: costs {costs} do not overflow {budget} at the third")
    ensure([i.reason for i in view.ignored] == ["bandwidth"],
           "resonance-bandwidth: the third resonance is not the only one ignored")
    node = s.node("a")
    return run_case(
        "run-resonance-bandwidth", ("CONS-042", "CONS-044", "CONS-048", "CONS-049"),
        "Agents a and b each migrate circuits 'alpha', 'beta' and 'gamma' to their agent "
        "layers; at tick 6 agent a resonates a's alpha with b's beta, a's beta with b's gamma, "
        f"a's gamma with b's alpha: each writes the union of two circuits' positions in swarm "
        f"(costs {costs[0]}, {costs[1]}, {costs[2]}), so the third exceeds the budget of "
        f"{budget} and is ignored ('bandwidth') and writes nothing.",
        s, [q_snapshot(node), Q_BANDWIDTH, *[q_weights(node, "swarm", c, k) for c in circuits
                                             for k in (0, 1)], q_screening(node, "swarm")],
        comment="Each circuit is stable at tick 4 (one consolidation per tick, ticks 1 to 4); "
                "each agent migrates its three in queue order at tick 5.")


def _fast_track_run() -> Case:
    s = Script("fast-track")
    tokens = list(b"universal")
    c = circuit_of(tokens)
    records, ev = _stable(s, "a", tokens)
    s.learn("a", "LoraFastTrack", 5, records, circuit=c.id)  # nothing in agent or swarm yet
    s.learn("a", "LoraFastTrack", 5, records, circuit=circuit_of(list(b"unknown")).id)
    node = s.node("a")
    return run_case(
        "run-fast-track-refused", ("CONS-050", "CONS-051"),
        "A fast track of a circuit only in context: vertical alignment 0 ('not_aligned'); one "
        "of an unknown circuit ('unknown_circuit').", s, [q_snapshot(node), Q_MIGRATIONS])


def _homeostasis_run() -> Case:
    s = Script("homeostasis")
    ev = s.evidence("a", 1, "a/h")
    s.learn("a", "LoraHomeostasis", 1, [ev], layer="domain")
    for _ in range(3):
        s.consolidate("a", 1, list(b"rigid"), [ev])
    s.learn("a", "LoraHomeostasis", 2, [ev], layer="context")
    s.learn("a", "LoraHomeostasis", 3, [ev], layer="context")
    node = s.node("a")
    return run_case(
        "run-homeostasis", ("CONS-055", "CONS-053", "CONS-054", "CONS-029", "CONS-024"),
        "Homeostasis of an empty domain instance ('no_parameters'); three consolidations "
        "screen 16 context parameters (crystallized): the threshold rises to 3.3 and releases "
        "them all; a second step finds the instance amnesic and lowers it to 3.",
        s, [q_snapshot(node), q_screening(node, "context")],
        comment="The second step's threshold is 3.3 / 1.1 in binary64: 2.9999999999999996, "
                "below 3, so the 16 parameters of activity 3 are screened again.")


def _homeostasis_ignored_run() -> Case:
    s = Script("homeostasis-ignored")
    ev = s.evidence("a", 1, "a/hi")
    for _ in range(3):
        s.consolidate("a", 1, list(b"rigid"), [ev])
    soft = s.consolidate("a", 1, list(b"soft"), [ev])
    s.learn("a", "LoraHomeostasis", 2, [ev], layer="context")
    s.learn("a", "LoraWeaken", 3, [soft], layer="context", circuit=circuit_of(list(b"rigid")).id)
    s.learn("a", "LoraWeaken", 3, [soft], layer="context", circuit=circuit_of(list(b"soft")).id)
    s.learn("a", "LoraWeaken", 3, [soft], layer="agent", circuit=circuit_of(list(b"soft")).id)
    for _ in range(13):
        s.learn("a", "LoraHomeostasis", 4, [ev], layer="context")
    s.consolidate("a", 5, list(b"soft"), [ev])
    node = s.node("a")
    view = project(s.ops)
    inst = view.instance("context", s.author("a").node)
    ensure(inst.threshold == cons.TAU_MIN, "homeostasis-ignored: the threshold is not at 1")
    return run_case(
        "run-homeostasis-ignored", ("CONS-055", "CONS-054", "CONS-028", "CONS-031"),
        "Circuit 'rigid' three times (16 screened) and 'soft' once (16 free) in context: half "
        "screened, so the step is 'balanced'. Both circuits weakened in context (activity 0, "
        "the 16 'rigid' parameters released; one of 'soft' in agent, where it never "
        "arrived, is ignored ('not_present'); twelve amnesic steps lower the threshold "
        "from 3 to 1, the thirteenth is 'bound'; a last consolidation of 'soft' brings "
        "its 16 parameters from activity 0 to 1, which screens them at threshold 1.",
        s, [q_snapshot(node), q_screening(node, "context")],
        comment="3 / 1.1^12 < 1: the twelfth step stops at the minimum 1.0.")


def _not_creator_run() -> Case:
    s = Script("not-creator")
    ev = s.evidence("a", 1, "a/n")
    record = s.consolidate("a", 1, list(b"twice"), [ev])
    s.emit("b", 2, {"type": "LoraConsolidate", "learning": record, "tokens": list(b"other"),
                    "quality": 1.0, "hits": 0, "uses": 0, "supports": [ev]})
    return run_case(
        "run-not-creator", ("CONS-023", "CONS-022"),
        "A second op creating an existing learning record is ignored ('not_creator').",
        s, [q_snapshot(s.node("a")), q_snapshot(s.node("b"))])


def _tombstone_runs() -> list[Case]:
    s = Script("tombstone")
    kept_ev = s.evidence("a", 1, "a/kept")
    gone_ev = s.evidence("a", 1, "a/gone")
    episode = s.episode("a", 1, [gone_ev])
    s.consolidate("a", 1, list(b"kept"), [kept_ev])
    for _ in range(2):
        s.consolidate("a", 2, list(b"gone"), [episode])
    s.emit("a", 3, {"type": "TombstoneEvidence", "evidence": gone_ev, "reason": "forget",
                    "cascade": [episode]})
    s.consolidate("a", 4, list(b"gone"), [episode])  # learned after the tombstone: born dead
    node = s.node("a")
    before = project(s.ops[:-2])
    after = project(s.ops)
    a = s.author("a").node
    ensure(before.snapshot(a).hash != after.snapshot(a).hash, "the tombstone kept the hash")
    ensure(len(after.skipped) == 3, "the tombstone did not skip the three consolidations")
    shuffled = list(reversed(s.ops))
    replay = run("cons.run", {"seed": SEED.hex(), "ops": s.hex_ops(), "now_ms": NOW_MS,
                              "queries": [q_snapshot(node)]})
    incremental = run("cons.run", {"seed": SEED.hex(), "ops": [x.hex() for x in s.ops],
                                   "now_ms": NOW_MS, "mode": "incremental",
                                   "queries": [q_snapshot(node)]})
    ensure(replay == incremental, "incremental and replay differ")
    late = Script("tombstone-late")
    late_ev = late.evidence("a", 1, "a/late")
    late_episode = late.episode("a", 1, [late_ev])
    late.consolidate("a", 1, list(b"kept"), [late.evidence("a", 1, "a/late-kept")])
    for _ in range(2):
        late.consolidate("a", 2, list(b"gone"), [late_episode])
    late.emit("a", 3, {"type": "TombstoneEvidence", "evidence": late_ev, "reason": "forget",
                       "cascade": []})
    late_node = late.node("a")
    ensure(len(project(late.ops).skipped) == 2, "the late tombstone did not skip the two")
    ensure(len(project(late.ops[:-1]).skipped) == 0, "the late tombstone's learning was dead")
    return [
        run_case("run-tombstone-late-incremental", ("CONS-026", "CONS-022", "DM-015"),
                 "Evidence, an episode it supports and two consolidations supported by the "
                 "episode are folded as live; then the evidence is tombstoned with an empty "
                 "cascade list. Kept up to date after every op, in order: the retraction "
                 "reaches the consolidations through two dependent edges (evidence, episode, "
                 "learning), so both are skipped and only the other circuit stays.", late,
                 [q_snapshot(late_node), {"query": "circuits"}], mode="incremental",
                 comment="Delivered in the total order; the cascade lists nothing, so the "
                         "invalidated set is the traversal from the root alone."),
        run_case("run-tombstone-late-replay", ("CONS-022", "CONS-023"),
                 "The same log folded by replay: the retraction comes after the learning it "
                 "reaches in the total order, and the two consolidations are still skipped.",
                 late, [q_snapshot(late_node), {"query": "circuits"}]),
        run_case("run-tombstone-forgets", ("CONS-022", "CONS-023", "CONS-024", "CONS-026"),
                 "Two consolidations derive from an episode of evidence that is then "
                 "tombstoned, and a third after it: all three are skipped; only the other "
                 "circuit's consolidation stays in the context op list.", s,
                 [q_snapshot(node), {"query": "circuits"}]),
        run_case("run-tombstone-before", ("CONS-024",),
                 "The same log without the tombstone and the last op: both circuits learned; "
                 "the snapshot hash differs from run-tombstone-forgets.", s,
                 [q_snapshot(node)], ops=s.ops[:-2]),
        run_case("run-tombstone-incremental", ("CONS-026", "CONS-022"),
                 "run-tombstone-forgets delivered in reverse order and kept up to date after "
                 "every op: the same answers (ops wait, held, for their supports).", s,
                 [q_snapshot(node), {"query": "circuits"}], mode="incremental", ops=shuffled),
    ]


def lifecycle_cases() -> list[Case]:
    plain, gone = lifecycle(), lifecycle(tombstone=True)
    a, b = plain.agent_a, plain.agent_b
    view = project(plain.script.ops)
    order = view.migrations
    avalanche = [m for m in order if m.circuit in set(plain.avalanche)]
    ensure(len(avalanche) == AVALANCHE, "the avalanche did not drain")
    per_tick: dict[int, int] = {}
    for m in avalanche:
        per_tick[m.tick] = per_tick.get(m.tick, 0) + 1
    ensure(sorted(per_tick.values()) == [5] * 10, f"five per tick over ten ticks: {per_tick}")
    last = AVALANCHE_TICK + cons.WINDOW - 1
    stable_at = project([x for x in plain.script.ops
                         if wire_format.decode_envelope(x).ts[0] < TICK0_MS + 1000 * (last + 1)])
    queued = stable_at.get_queue(("agent", bytes.fromhex(a)))
    ensure([e.circuit for e in queued] == [m.circuit for m in avalanche],
           "the avalanche did not drain in priority order")
    ensure(len({e.priority for e in queued}) > 1, "the avalanche has a single priority")
    c = circuit_of(JSON)
    queries = [q_snapshot(a), q_snapshot(b), Q_QUEUES, Q_BANDWIDTH, Q_MIGRATIONS,
               q_screening(a, "context"), q_screening(a, "domain"),
               q_weights(a, "agent", c), q_weights(a, "swarm", c), q_weights(a, "domain", c)]
    gone_view = project(gone.script.ops)
    node_a = bytes.fromhex(a)
    ensure(gone_view.snapshot(node_a).hash != view.snapshot(node_a).hash,
           "the tombstone did not change agent A's snapshot hash")
    agent_ops = [set(v.snapshot(node_a).layers[3].ops) for v in (view, gone_view)]
    removed = agent_ops[0] - agent_ops[1]
    ensure(len(removed) == 1, "the tombstone did not remove the circuit's migration into agent")
    comment = ("Agents a and b: requests 1 to 5 (ticks 1 to 5) each ingest evidence, record "
               "an episode supported by the agent's task evidence and the request, and "
               "consolidate the JSON parser trajectory with hits i - 1 of i uses. Tick 6: each "
               "migrates it to its agent layer; tick 7: a resonates both migrations into swarm; "
               "tick 8: a's sixth request; tick 9: a fast-tracks it to domain. Ticks 10 to 17: "
               "50 circuits 'task-00' to 'task-49', circuit k with avalanche pattern k mod 9; "
               "tick 17: homeostasis of a's context. Ticks 18 to 27: a migrates five per tick "
               "in queue order, after a migration of the last entry at tick 18 ('not_head') "
               "and with a sixth at tick 18 ('bandwidth'). Tick 28: homeostasis of domain.")
    return [
        run_case("lifecycle", ("CONS-013", "CONS-014", "CONS-021", "CONS-024", "CONS-027",
                               "CONS-029", "CONS-032", "CONS-033", "CONS-034", "CONS-035",
                               "CONS-037", "CONS-039", "CONS-040", "CONS-041", "CONS-042",
                               "CONS-044", "CONS-046", "CONS-049", "CONS-050", "CONS-051",
                               "CONS-052", "CONS-053", "CONS-054", "CONS-055", "CONS-056"),
                 "The blueprint's lifecycle (seed 003, sections 4 to 11): two agents learn one "
                 "task, migrate it, resonate it into swarm, fast-track it to domain; fifty "
                 "circuits become stable at once and drain five per tick in priority order.",
                 plain.script, queries, comment=comment),
        run_case("lifecycle-tombstone", ("CONS-022", "CONS-024", "CONS-026"),
                 "The lifecycle, then agent a's task evidence is tombstoned: a's consolidations "
                 "of the task, its migration, the resonance and the fast track are skipped, "
                 "and both agents' snapshot hashes change.", gone.script, queries,
                 comment=comment + " Tick 29: TombstoneEvidence of agent a's task evidence."),
    ]


def files() -> list[VectorFile]:
    return [
        VectorFile(FOLDER, CHAPTER, "circuits", tuple(circuit_cases()), comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "decisions", tuple(decision_cases()), comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "resonance", tuple(resonance_cases()),
                   comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "operations", tuple(operation_cases()),
                   comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "runs", tuple(run_cases()), comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "lifecycle", tuple(lifecycle_cases()),
                   comment=SEEDS_COMMENT),
    ]
