"""Property checks of chapter 15, consolidation (spec/15-consolidation.md).

The harness computes what the chapter fixes exactly on its own, with blake3, cbor2 and
numpy: circuits and their ids, autocorrelations, queue order and bandwidth, resonance
factors, homeostasis steps, which learning a tombstone removes and the provenance hash
that results. Signed ops come from the harness's own author (conformance/suites/_ops.py).
Nothing here imports the reference.
"""

from __future__ import annotations

import random
from typing import Any

import blake3
import cbor2
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._ops import BASE_MS, NOW_MS, Author, record_id
from conformance.suites.lora import CONFIG, LAYERS, RANKS, SHAPES, TARGETS

Json = Any
ATOL = RTOL = 1e-6
MARGIN = 1e-9
BUDGET_FRACTION = {"foundation": 0.75, "domain": 0.75, "swarm": 0.5, "agent": 0.5,
                   "context": 0.25}
SEED = blake3.blake3(b"strata/conformance/consolidation/seed").hexdigest()


def _model_id(seed: str) -> str:
    body = cbor2.dumps({"config": CONFIG, "seed": bytes.fromhex(seed)}, canonical=True)
    return "strata-tiny-1/" + blake3.blake3(body).digest()[:16].hex()


MODEL_ID = _model_id(SEED)


# --- the harness's own arithmetic ------------------------------------------------------------


def _f32(out: Json) -> np.ndarray:
    expect(isinstance(out, dict) and isinstance(out.get("f32"), str), f"not a float output: {out}")
    values = np.frombuffer(bytes.fromhex(out["f32"]), dtype=">f4").astype(np.float64)
    expect(list(out.get("shape", [])) == [len(values)], f"shape {out.get('shape')}")
    return values


def _vec(values: list[float]) -> dict[str, Any]:
    arr = np.array(values, dtype=">f4")
    return {"f32": arr.tobytes().hex(), "shape": [len(values)]}


def _close(a: np.ndarray, e: np.ndarray) -> bool:
    return a.shape == e.shape and bool(np.all(np.abs(a - e) <= ATOL + RTOL * np.abs(e)))


def circuit(tokens: list[int], model_id: str = MODEL_ID) -> dict[str, Any]:
    """Section 3: the circuit of a trajectory, from BLAKE3 and CBOR alone."""
    trajectory = blake3.blake3(cbor2.dumps(tokens, canonical=True)).digest()
    label = f"strata/cons/circuit/{model_id}/{trajectory.hex()}".encode()
    w = [int(x) for x in np.frombuffer(blake3.blake3(label).digest(length=96), dtype="<u4")]
    first = w[0] % 12
    components = []
    for k, index in enumerate((first, (first + 1 + w[1] % 11) % 12)):
        out = SHAPES[TARGETS[index]][0]
        start, step = w[4 + 2 * k] % out, 2 * (w[5 + 2 * k] % (out // 2)) + 1
        rows = [(start + m * step) % out for m in range(8)]
        values = (np.array(w[8 + 8 * k: 16 + 8 * k], dtype=np.float64) / 2**31 - 1.0)
        components.append({"target": TARGETS[index], "slot": w[2 + k] % 8, "rows": rows,
                           "values": values.astype(np.float32)})
    definition = {"model": model_id, "trajectory": trajectory,
                  "components": [[c["target"], c["slot"], c["rows"]] for c in components]}
    cid = blake3.blake3(cbor2.dumps(definition, canonical=True)).digest()
    return {"id": cid, "trajectory": trajectory, "components": components}


def autocorrelation(series: list[int]) -> float:
    """Section 8, in the stated order of binary64 operations."""
    mean = float(sum(series)) / float(len(series))
    d = [float(x) - mean for x in series]
    den = 0.0
    for x in d:
        den += x * x
    if den == 0.0:
        return 1.0 if series[0] > 0 else 0.0
    num = 0.0
    for i in range(len(d) - 1):
        num += d[i] * d[i + 1]
    return num / den


def queue_order(entries: list[Json]) -> list[Json]:
    """Section 9.1: priority descending, then circuit bytes, then source bytes."""
    return sorted(entries, key=lambda e: (-e["priority"], bytes.fromhex(e["circuit"]),
                                          bytes.fromhex(e.get("source", ""))))


def budget_of(layer: str) -> int:
    r = RANKS[layer]
    return sum(r * (o + i) for o, i in SHAPES.values()) // 100


def provenance_hash(model_id: str, layers: dict[str, list[str]]) -> str:
    body = {"base": model_id, "layers": [[name, [bytes.fromhex(x) for x in layers.get(name, [])]]
                                         for name in LAYERS]}
    return blake3.blake3(cbor2.dumps(body, canonical=True)).hexdigest()


# --- scripts of signed ops -------------------------------------------------------------------


class Script:
    """Signed ops of several harness authors, placed on ticks of one second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.authors: dict[str, Author] = {}
        self.ops: list[bytes] = []
        self.ids: list[bytes] = []  # the op id of each op
        self.offsets: dict[tuple[str, int], int] = {}
        self.n = 0

    def author(self, name: str) -> Author:
        if name not in self.authors:
            self.authors[name] = Author(blake3.blake3(
                f"strata/conformance/consolidation/{self.label}/{name}".encode()).digest())
        return self.authors[name]

    def rid(self, kind: str) -> bytes:
        self.n += 1
        return record_id(kind, BASE_MS, f"consolidation/{self.label}/{self.n}")

    def emit(self, name: str, tick: int, payload: dict[str, Any]) -> bytes:
        offset = self.offsets.get((name, tick), 0) + 1
        self.offsets[(name, tick)] = offset
        wall = BASE_MS + 1000 * tick + offset
        op_id = record_id("op", wall, f"{self.label}/{name}/{tick}/{offset}")
        self.ops.append(self.author(name).op(payload, wall, op_id=op_id))
        self.ids.append(op_id)
        return op_id

    def evidence(self, name: str, tick: int) -> bytes:
        ev = self.rid("ev")
        self.emit(name, tick, {"type": "IngestEvidence", "evidence": ev,
                               "hash": blake3.blake3(ev).digest(), "anchor": ev.hex(),
                               "source_type": "chat", "metadata": {}})
        return ev

    def consolidate(self, name: str, tick: int, tokens: list[int], supports: list[bytes],
                    quality: float = 1.0) -> tuple[bytes, bytes]:
        learning = self.rid("art")
        op_id = self.emit(name, tick, {"type": "LoraConsolidate", "learning": learning,
                                       "tokens": tokens, "quality": quality, "hits": 0,
                                       "uses": 0, "supports": sorted(supports)})
        return learning, op_id

    def migrate(self, name: str, tick: int, circuit_id: bytes, supports: list[bytes]) -> bytes:
        return self.emit(name, tick, {"type": "LoraMigrate", "learning": self.rid("art"),
                                      "circuit": circuit_id, "source": "context",
                                      "target": "agent", "supports": sorted(supports)})

    def node(self, name: str) -> str:
        return self.author(name).node.hex()


def cons_run(impl: Impl, ops: list[bytes], queries: list[Json], mode: str = "replay") -> Json:
    return impl.ok("cons.run", {"seed": SEED, "ops": [x.hex() for x in ops], "now_ms": NOW_MS,
                                "mode": mode, "queries": queries})


# --- checks ----------------------------------------------------------------------------------

token_lists = st.lists(st.integers(0, 257), min_size=1, max_size=40)


@check("CONS-004", "CONS-005", "CONS-006", "CONS-007", "CONS-008", "CONS-009")
@given(tokens=token_lists)
def check_circuit_definition(impl: Impl, tokens: list[int]) -> None:
    """Circuit ids, targets, slots, rows and values equal section 3 computed here."""
    want = circuit(tokens)
    got = impl.ok("cons.circuit", {"seed": SEED, "tokens": tokens})
    expect(got.get("id") == want["id"].hex(), f"circuit id {got.get('id')} != {want['id'].hex()}")
    expect(got.get("trajectory") == want["trajectory"].hex(), "trajectory hash differs")
    for k, comp in enumerate(want["components"]):
        mine = got["components"][k]
        expect([mine["target"], mine["slot"], mine["rows"]] ==
               [comp["target"], comp["slot"], comp["rows"]], f"component {k}: {mine}")
        expect(mine["values"]["f32"] == comp["values"].astype(">f4").tobytes().hex(),
               f"component {k} values differ")
    expect(got.get("cost") == {layer: 16 for layer in LAYERS}, f"costs {got.get('cost')}")


@check("CONS-032", "CONS-033", "CONS-034")
@given(series=st.lists(st.integers(0, 3), min_size=8, max_size=8))
def check_stability(impl: Impl, series: list[int]) -> None:
    """The autocorrelation and the stability decision equal section 8 computed here."""
    rho = autocorrelation(series)
    got = impl.ok("cons.stability", {"series": series})
    expect(_close(_f32(got.get("rho")), np.array([np.float32(rho)], dtype=np.float64)),
           f"rho of {series}: {got.get('rho')} != {rho}")
    expect(got.get("count") == sum(series), f"count {got.get('count')}")
    if abs(rho - 0.5) > MARGIN:
        stable = sum(series) >= 4 and rho >= 0.5
        expect(got.get("stable") is stable, f"{series}: stable {got.get('stable')}, want {stable}")


entry_lists = st.lists(st.tuples(st.sampled_from([0.9, 0.625, 0.6, 0.55]),
                                 st.integers(1, 40), st.binary(min_size=32, max_size=32)),
                       max_size=12, unique_by=lambda t: t[2])


def _entries(raw: list[tuple[float, int, bytes]]) -> list[Json]:
    return [{"circuit": c.hex(), "source": "", "priority": p, "cost": cost} for p, cost, c in raw]


@check("CONS-037", "CONS-039", "CONS-042")
@given(raw=entry_lists, budget=st.integers(0, 120), used=st.integers(0, 60))
def check_bandwidth_never_exceeded(impl: Impl, raw: list[tuple[float, int, bytes]],
                                   budget: int, used: int) -> None:
    """A tick migrates the longest prefix of the priority order that fits the budget."""
    entries = _entries(raw)
    got = impl.ok("cons.queue_tick", {"budget": budget, "used": used, "entries": entries})
    want, total = [], used
    for e in queue_order(entries):
        if total + e["cost"] > budget:
            break
        want.append(e["circuit"])
        total += e["cost"]
    moved = [m["circuit"] for m in got.get("migrate", [])]
    cost = {e["circuit"]: e["cost"] for e in entries}
    expect(used + sum(cost.get(c, 0) for c in moved) <= max(budget, used),
           f"the tick admitted {moved} beyond the budget {budget} (used {used})")
    expect(moved == want, f"migrated {moved}, want {want}")
    expect(got.get("used") == total, f"used {got.get('used')}, want {total}")


@check("CONS-037", "CONS-039")
@given(raw=entry_lists)
def check_queue_drains_in_priority_order(impl: Impl, raw: list[tuple[float, int, bytes]]) -> None:
    """Processing tick after tick drains a queue exactly in priority order."""
    pending = _entries(raw)
    random.Random(len(raw)).shuffle(pending)  # the delivery order must not matter
    drained: list[str] = []
    for _ in range(len(pending) + 1):
        if not pending:
            break
        got = impl.ok("cons.queue_tick", {"budget": 40, "used": 0, "entries": pending})
        moved = [m["circuit"] for m in got.get("migrate", [])]
        expect(bool(moved), "a tick with a fitting head migrated nothing")
        drained += moved
        pending = [e for e in pending if e["circuit"] not in moved]
    expect(drained == [e["circuit"] for e in queue_order(_entries(raw))],
           "the queue did not drain in priority order")


vectors = st.lists(st.floats(-4, 4, width=32), min_size=1, max_size=10)


@check("CONS-045", "CONS-046", "CONS-047")
@given(a=vectors, b=vectors, flip=st.booleans())
def check_resonance_damps_conflicts(impl: Impl, a: list[float], b: list[float],
                                    flip: bool) -> None:
    """The factor is 1 + 0.5 cos: above 1 for agreement, below 1 for conflicts (errata E1)."""
    n = min(len(a), len(b))
    x = np.array(a[:n], dtype=np.float32).astype(np.float64)
    y = np.array(b[:n], dtype=np.float32).astype(np.float64)
    if flip:
        y = -np.sign(float(x @ y) or 1.0) * y  # force a conflict where the sign is known
    dot = na = nb = 0.0
    for p, q in zip(x, y, strict=True):
        dot, na, nb = dot + p * q, na + p * p, nb + q * q
    rho = 0.0 if na == 0 or nb == 0 else max(-1.0, min(1.0, dot / (np.sqrt(na) * np.sqrt(nb))))
    got = impl.ok("cons.resonance", {"a": _vec(list(x)), "b": _vec(list(y))})
    factor = float(_f32(got.get("factor"))[0])
    expect(abs(factor - (1 + 0.5 * rho)) <= 1e-6, f"factor {factor} for alignment {rho}")
    if rho < -MARGIN:
        expect(factor < 1.0, f"conflicting contributions (alignment {rho}) amplified: {factor}")
        combined = _f32(got.get("combined"))
        expect(np.linalg.norm(combined) <= np.linalg.norm(x + y) * (1 + 1e-6) + 1e-6,
               "the combined gradient of a conflict exceeds the plain sum")
    if rho > MARGIN:
        expect(factor > 1.0, f"agreeing contributions (alignment {rho}) damped: {factor}")


@check("CONS-053", "CONS-054", "CONS-029", "CONS-030")
@given(layer=st.sampled_from(LAYERS), tau=st.floats(1.0, 64.0),
       activities=st.lists(st.integers(0, 70), min_size=1, max_size=30))
def check_homeostasis_moves_toward_budget(impl: Impl, layer: str, tau: float,
                                          activities: list[int]) -> None:
    """Crystallized layers raise the threshold, amnesic ones lower it; neither moves away."""
    got = impl.ok("cons.homeostasis", {"layer": layer, "threshold": tau,
                                       "activities": activities})
    before = sum(1 for a in activities if a >= tau)
    s, star = before / len(activities), BUDGET_FRACTION[layer]
    ratio = (4 * s * (1 - s)) / (4 * star * (1 - star))
    after_tau = float(_f32(got.get("threshold"))[0])
    expect(got.get("screened_before") == before, f"screened before {got.get('screened_before')}")
    if abs(ratio - 0.5) <= 1e-9:
        return
    side = "balanced" if ratio >= 0.5 else "crystallized" if s > star else "amnesic"
    expect(got.get("side") == side, f"side {got.get('side')}, want {side} (s {s}, ratio {ratio})")
    after = int(got.get("screened_after", -1))
    if side == "crystallized":
        want = min(tau * 1.1, 64.0)
        expect(after <= before, "a crystallized layer screened more after the step")
    elif side == "amnesic":
        want = max(tau / 1.1, 1.0)
        expect(after >= before, "an amnesic layer screened fewer after the step")
    else:
        want = tau
        expect(after == before, "a balanced step changed the screening")
    expect(abs(after_tau - want) <= 1e-6 * want, f"threshold {after_tau}, want {want}")


@st.composite
def learning_scripts(draw: st.DrawFn) -> tuple[Script, list[bytes], list[bytes]]:
    """Consolidations of a few trajectories over ticks, each supported by one of two pieces
    of evidence; the first evidence is then tombstoned. Returns the script and the op ids of
    the consolidations that survive and that are removed."""
    s = Script(f"tomb-{draw(st.integers(0, 10**6))}")
    names = ["a", "b"] if draw(st.booleans()) else ["a"]
    ev = [s.evidence("a", 0), s.evidence("a", 0)]
    kept: list[bytes] = []
    gone: list[bytes] = []
    trajectories = [list(f"t{k}".encode()) for k in range(draw(st.integers(1, 3)))]
    for tick in range(1, draw(st.integers(2, 6))):
        for _ in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(names))
            which = draw(st.integers(0, 1))
            quality = draw(st.sampled_from([1.0, 0.75, 0.25]))
            _, op_id = s.consolidate(name, tick, draw(st.sampled_from(trajectories)),
                                     [ev[which]], quality)
            if quality >= 0.5 and name == "a":
                (gone if which == 0 else kept).append(op_id)
    s.emit("a", 7, {"type": "TombstoneEvidence", "evidence": ev[0], "reason": "forget",
                    "cascade": []})
    return s, kept, gone


@check("CONS-022", "CONS-024", "CONS-021")
@given(script=learning_scripts())
def check_tombstone_removes_learning(impl: Impl, script: tuple[Script, list[bytes],
                                                                list[bytes]]) -> None:
    """After a tombstone, the context op list holds exactly the surviving consolidations."""
    s, kept, _ = script
    node = s.node("a")
    out = cons_run(impl, s.ops, [{"query": "snapshot", "agent": node}])
    snap = out["answers"][0]
    want = {"context": [x.hex() for x in kept]}
    expect(snap.get("layers", {}).get("context") == want["context"],
           f"context ops {snap.get('layers', {}).get('context')}, want {want['context']}")
    expect(snap.get("hash") == provenance_hash(MODEL_ID, want),
           "the snapshot hash is not the provenance hash of the surviving learning")


@check("CONS-026", "CONS-023")
@given(script=learning_scripts(), order=st.randoms(use_true_random=False))
def check_replay_equals_incremental(impl: Impl, script: tuple[Script, list[bytes],
                                                               list[bytes]],
                                    order: random.Random) -> None:
    """The projection kept up to date under any delivery order equals the replay."""
    s = script[0]
    circuit_t0 = circuit(list(b"t0"))
    queries: list[Json] = [{"query": "snapshot", "agent": s.node(n)} for n in sorted(s.authors)]
    queries += [{"query": "weights", "agent": s.node("a"), "layer": "context",
                 "target": c["target"],
                 "indices": [row * 2 + c["slot"] % 2 for row in c["rows"]]}
                for c in circuit_t0["components"]]
    replay = cons_run(impl, s.ops, queries)
    shuffled = list(s.ops)
    order.shuffle(shuffled)
    incremental = cons_run(impl, shuffled, queries, mode="incremental")
    for key in ("skipped", "ignored"):
        expect(replay.get(key) == incremental.get(key), f"{key} differs between the modes")
    for r, i in zip(replay["answers"], incremental["answers"], strict=True):
        if "values" in r:
            expect(_close(_f32(i["values"]), _f32(r["values"])), "weights differ")
        else:
            expect(r == i, f"snapshot differs: {r} vs {i}")


@check("CONS-035", "CONS-037", "CONS-040", "CONS-042")
@given(k=st.integers(2, 9), attempts=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 1)),
                                              max_size=14))
def check_runs_respect_bandwidth_and_order(impl: Impl, k: int,
                                           attempts: list[tuple[int, int]]) -> None:
    """Migrations a projection admits never exceed a tick's budget and follow the queue."""
    s = Script(f"queue-{k}-{len(attempts)}")
    ev = s.evidence("a", 0)
    ids = []
    for j in range(k):  # k circuits, each stable (0.625) at tick 4, enqueued in order j
        tokens = list(f"q{j}".encode())
        ids.append(circuit(tokens)["id"])
        for tick in range(1, 5):
            s.consolidate("a", tick, tokens, [ev])
    pending = sorted(ids)  # equal priorities: circuit id order
    used: dict[int, int] = {}
    want = []
    # in the total order: tick 5's attempts, then tick 6's, each in the order drawn
    for which, later in sorted(attempts, key=lambda a: a[1]):  # the oracle of CONS-040
        tick = 5 + later
        c = ids[which % k]
        s.migrate("a", tick, c, [ev])
        if c in pending and pending[0] == c and used.get(tick, 0) + 16 <= budget_of("agent"):
            pending.remove(c)
            used[tick] = used.get(tick, 0) + 16
            want.append(c.hex())
    out = cons_run(impl, s.ops, [{"query": "bandwidth"}, {"query": "migrations"}])
    rows, events = out["answers"][0].get("ticks", []), out["answers"][1].get("migrations", [])
    for row in rows:
        expect(row.get("used", 0) <= row.get("budget", -1) == budget_of(row.get("layer", "")),
               f"bandwidth exceeded: {row}")
    expect([e.get("circuit") for e in events] == want,
           f"admitted {[e.get('circuit') for e in events]}, want {want}")
