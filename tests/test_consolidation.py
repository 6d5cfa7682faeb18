"""Tests of reference.lora.consolidation, events and projection (spec/15-consolidation.md)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import torch

from reference import operations, oplog
from reference._require import SpecViolation
from reference.introduction import ErrorCode
from reference.lora import consolidation as cons
from reference.lora import events, generator, hierarchy, model
from reference.lora import projection as learning
from tools.fsm import load_machines
from tools.vectorgen import consolidation as vectors

ROOT = Path(__file__).resolve().parent.parent
ZERO_ID = model.compute_model_id(bytes(32))
BASE = vectors.base_model()


def node(s: vectors.Script) -> bytes:
    """Agent a's NodeId in a script."""
    return s.author("a").node


def rejects(code: ErrorCode, requirement: str) -> Any:
    """A pytest.raises context matching the violation's code and requirement id."""
    return pytest.raises(SpecViolation, match=rf"^{code} \[{requirement}\]")


# --- circuits (section 3) ---------------------------------------------------------------------


def test_worked_example_of_section_3_7() -> None:
    """The circuit of 'hi' under the zero seed is the chapter's worked example."""
    c = cons.extract_circuit(ZERO_ID, list(b"hi"))
    assert c.trajectory.hex() == "ce4ac2e29f698d90142fdd9b8a9cf7008729b97c3cd26f24ab1fbc5cd0a7d524"
    assert c.id.hex() == "65d5d22a614223485e483c533523768aa92bb9a8de2db17e861427f36e0c7f76"
    first = c.components[0]
    assert (first.target, first.slot) == ("blocks.1.mlp.down", 4)
    assert first.rows == (25, 14, 3, 56, 45, 34, 23, 12)
    assert generator.encode_f32([first.values[0]]) == "bee1621f"
    assert generator.encode_f32(cons.compute_delta_values([first.values[0]], 0.1)) == "bd344e7f"
    assert c.components[1].target == "blocks.0.attn.v"


def test_circuits_have_two_targets_and_distinct_rows() -> None:
    """Every circuit writes 16 distinct positions on two different targets, in every layer."""
    for k in range(200):
        c = cons.extract_circuit(ZERO_ID, list(f"t{k}".encode()))
        assert c.components[0].target != c.components[1].target
        assert all(len(set(comp.rows)) == cons.WIDTH for comp in c.components)
        assert all(cons.compute_cost(c, r) == 16 for r in (2, 4, 8))


def test_rank_rule_folds_the_slot() -> None:
    """A circuit's slot j lands in column j mod r (the rank rule, no SVD)."""
    c = cons.extract_circuit(ZERO_ID, list(b"hi"))
    assert {col for _, _, col in cons.get_positions(c, 2)[:8]} == {4 % 2}
    assert {col for _, _, col in cons.get_positions(c, 8)[8:]} == {3}


def test_circuit_depends_on_the_model() -> None:
    """The same trajectory under another base model is another circuit."""
    other = model.compute_model_id(vectors.SEED)
    assert cons.extract_circuit(ZERO_ID, [1]).id != cons.extract_circuit(other, [1]).id


@pytest.mark.parametrize("tokens", [[], [258], [-1], [0] * 129, [True], ["a"]])
def test_invalid_trajectory(tokens: list[Any]) -> None:
    """Trajectories outside 1 to 128 ids from 0 to 257 are rejected."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "CONS-003"):
        cons.check_trajectory(tokens)


# --- quality, strength, stability (sections 4, 8) ---------------------------------------------


def test_strength_and_gate() -> None:
    """The gate is 0.5 inclusive; the strength grows with the hit rate up to twice 0.1 q."""
    assert cons.is_quality_admitted(0.5) and not cons.is_quality_admitted(0.4999)
    assert cons.compute_strength(1.0, 0, 0) == 0.1
    assert cons.compute_strength(1.0, 5, 5) == 0.2
    assert cons.compute_strength(0.5, 1, 2) == (0.1 * 0.5) * 1.5
    assert cons.compute_quality(list(b"jsAB"), list(b"json")) == 0.5


def test_invalid_quality_of_empty_expectation() -> None:
    """The reference evaluator needs an expected continuation."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "CONS-012"):
        cons.compute_quality([1], [])


@pytest.mark.parametrize(("series", "rho", "stable"), [
    ([0, 0, 0, 0, 1, 1, 1, 1], 0.625, True),
    ([0, 0, 0, 0, 0, 1, 1, 1], 71 / 120, False),
    ([1] * 8, 1.0, True),
    ([0] * 8, 0.0, False),
    ([1, 0, 1, 0, 1, 0, 1, 0], -0.875, False),
])
def test_autocorrelation(series: list[int], rho: float, stable: bool) -> None:
    """Lag-1 autocorrelation with zero variance defined; stability needs 4 activations."""
    got_stable, got_rho = cons.is_stable(series)
    assert got_rho == pytest.approx(rho, abs=1e-15) and got_stable is stable


# --- queues and bandwidth (section 9) --------------------------------------------------------


def test_budgets_are_one_percent_of_the_target() -> None:
    """Budgets: 184 for rank 8, 92 for rank 4, 46 for rank 2."""
    assert [cons.compute_budget(x) for x in hierarchy.LAYER_NAMES] == [184, 184, 92, 92, 46]


def test_queue_order_and_head_of_line() -> None:
    """Priority first, id bytes break ties; the head that does not fit blocks the tick."""
    entries = [cons.Entry(bytes([2]) * 32, b"", 0.6, 16), cons.Entry(bytes([1]) * 32, b"", 0.6,
                                                                     16),
               cons.Entry(bytes([3]) * 32, b"", 0.9, 50)]
    assert [e.circuit[0] for e in cons.order_queue(entries)] == [3, 1, 2]
    selected, used = cons.process_tick(entries, 92, 50)
    assert selected == [] and used == 50
    selected, used = cons.process_tick(entries, 92, 42)
    assert [e.circuit[0] for e in selected] == [3] and used == 92


# --- resonance and homeostasis (sections 10, 11) ----------------------------------------------


def test_resonance_damps_what_the_blueprint_amplified() -> None:
    """Opposite contributions get factor 0.5 where the blueprint's beta < 0 gave 1.5 (E1)."""
    a = [0.5, -0.25, 1.0]
    rho = cons.compute_alignment(a, [-x for x in a])
    assert rho == -1.0
    assert cons.compute_resonance_factor(rho) == 0.5
    assert 1 + (-0.5) * rho == 1.5  # the blueprint's formula, for contrast
    assert cons.compute_resonance_factor(cons.compute_alignment(a, a)) == 1.5


def test_alignment_is_scale_free_and_defined_for_zero() -> None:
    """A cosine ignores scale (E2) and a zero vector aligns with nothing."""
    a = [0.5, -0.25, 1.0]
    assert cons.compute_alignment(a, [1000 * x for x in a]) == pytest.approx(1.0)
    assert cons.compute_alignment([0.0, 0.0, 0.0], a) == 0.0


def test_homeostasis_moves_toward_the_budget_from_both_sides() -> None:
    """Crystallized raises the threshold and releases; amnesic lowers it and screens (E3)."""
    up = cons.step_homeostasis("context", 3.0, [3] * 10)
    assert (up.side, up.threshold, up.screened_before, up.screened_after) == (
        "crystallized", 3.0 * 1.1, 10, 0)
    down = cons.step_homeostasis("agent", 3.2, [3] * 10)
    assert (down.side, down.screened_before, down.screened_after) == ("amnesic", 0, 10)
    assert down.threshold == 3.2 / 1.1
    assert cons.step_homeostasis("agent", 3.0, [4] * 5 + [1] * 5).side == "balanced"
    assert cons.step_homeostasis("swarm", 64.0, [64]).threshold == 64.0


@pytest.mark.parametrize("threshold", [0.99, 64.01, math.nan])
def test_invalid_threshold(threshold: float) -> None:
    """Screening thresholds lie from 1 to 64."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "CONS-030"):
        cons.step_homeostasis("agent", threshold, [1])


# --- payloads (section 5) ----------------------------------------------------------------------


def _consolidate(**changes: Any) -> dict[str, Any]:
    return {"type": "LoraConsolidate", "learning": bytes([6]) + bytes(16), "tokens": [1, 2],
            "quality": 1.0, "hits": 0, "uses": 0, "supports": [bytes([2]) + bytes(16)],
            **changes}


def test_payloads_parse_into_the_variants() -> None:
    """A valid LoraConsolidate parses into its class and creates its learning record."""
    payload = operations.parse_payload(_consolidate())
    assert isinstance(payload, events.LoraConsolidate)
    assert operations.get_created_record(payload) == bytes([6]) + bytes(16)


@pytest.mark.parametrize(("changes", "requirement"), [
    ({"quality": 1}, "CONS-017"),
    ({"quality": 1.5}, "CONS-017"),
    ({"tokens": []}, "CONS-003"),
    ({"hits": 2, "uses": 1}, "CONS-018"),
])
def test_invalid_consolidate_payload(changes: dict[str, Any], requirement: str) -> None:
    """Bad fields and broken rules between fields are rejected with their ids."""
    with rejects(ErrorCode.E_PAYLOAD_INVALID, requirement):
        operations.parse_payload(_consolidate(**changes))


def test_invalid_migrate_and_resonate_payloads() -> None:
    """A migration skipping a layer and a resonance of one record are rejected."""
    art, ev = bytes([6]) + bytes(16), bytes([2]) + bytes(16)
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "CONS-019"):
        operations.parse_payload({"type": "LoraMigrate", "learning": art, "circuit": bytes(32),
                                  "source": "context", "target": "swarm", "supports": [ev]})
    with rejects(ErrorCode.E_PAYLOAD_INVALID, "CONS-020"):
        operations.parse_payload({"type": "LoraResonate", "learning": art, "a": ev, "b": ev,
                                  "supports": [ev, art]})


def test_invalid_unknown_lora_type() -> None:
    """With the Learning class claimed, an unknown Lora type is refused."""
    with rejects(ErrorCode.E_PAYLOAD_TYPE, "OPS-001"):
        operations.parse_payload({"type": "LoraDistill", "learning": bytes([6]) + bytes(16)})


# --- the projection (sections 6 to 12) ----------------------------------------------------------


def _stable_script(label: str) -> tuple[vectors.Script, cons.Circuit, list[bytes]]:
    s = vectors.Script(label)
    records, _ = vectors._stable(s, "a", list(b"json"))
    return s, vectors.circuit_of(list(b"json")), records


def test_consolidation_joins_the_context_op_list() -> None:
    """An admitted consolidation's op id is in the context layer's list and nowhere else."""
    s, _, _ = _stable_script("ops")
    view = vectors.project(s.ops)
    layers = {x.spec.name: x.ops for x in view.snapshot(node(s)).layers}
    ids = [oplog.decode_op(x).env.op_id for x in s.ops[1:]]
    assert list(layers["context"]) == ids and all(not layers[x] for x in ("agent", "swarm"))


def test_unwritten_elements_keep_their_bits() -> None:
    """Negative-zero deltas leave every element that an op does not write bit for bit."""
    s, c, _ = _stable_script("bits")
    view = vectors.project(s.ops)
    b = view.instance("context", node(s)).state.b
    written = {(hierarchy.TARGETS[t], row, col) for t, row, col in cons.get_positions(c, 2)}
    for target, matrix in b.items():
        for (row, col), value in zip(((r, k) for r in range(matrix.shape[0])
                                      for k in range(matrix.shape[1])),
                                     matrix.reshape(-1).tolist(), strict=True):
            if (target, row, col) not in written:
                assert value == 0.0 and math.copysign(1.0, value) == 1.0


def test_screened_parameters_are_locked() -> None:
    """After three consolidations the fourth changes no weight but counts activity."""
    s = vectors.Script("lock")
    ev = s.evidence("a", 1, "ev")
    for _ in range(4):
        s.consolidate("a", 1, [7], [ev])
    three, four = vectors.project(s.ops[:4]), vectors.project(s.ops)
    c = vectors.circuit_of([7])
    assert three.read(three.instance("context", node(s)), c) == four.read(
        four.instance("context", node(s)), c)
    inst = four.instance("context", node(s))
    assert set(inst.activity.values()) == {4} and len(inst.screened) == 16


def test_stable_circuit_migrates_with_the_handoff() -> None:
    """A stable circuit is queued; its migration writes 0.5 into agent and -0.3 into context."""
    s, c, records = _stable_script("handoff")
    s.learn("a", "LoraMigrate", 5, records, circuit=c.id, source="context", target="agent")
    before, view = vectors.project(s.ops[:-1]), vectors.project(s.ops)
    assert [e.circuit for e in before.get_queue(("agent", node(s)))] == [c.id]
    assert before.get_queue(("agent", node(s)))[0].priority == 0.625
    agent = view.read(view.instance("agent", node(s)), c)
    assert agent == cons.compute_delta_values(cons.get_values(c), 0.5)
    ctx_before = before.read(before.instance("context", node(s)), c)
    weak = cons.compute_delta_values(cons.get_values(c), -0.3)
    ctx = view.read(view.instance("context", node(s)), c)
    assert ctx == [float(torch.tensor(x, dtype=torch.float32) + torch.tensor(
        y, dtype=torch.float32)) for x, y in zip(ctx_before, weak, strict=True)]
    assert [(m.source, m.target, m.circuit) for m in view.migrations] == [
        ("context", "agent", c.id)]
    assert not view.instance("context", node(s)).screened  # the handoff frees the source


def test_bandwidth_limits_a_tick() -> None:
    """Seven circuits queued at once: five migrate in the first tick, the sixth waits."""
    case = vectors._priority_run()
    ops = [bytes.fromhex(x) for x in case.input["ops"]]
    view = vectors.project(ops)
    assert sorted(view.used.values()) == [32, 80]
    assert [i.reason for i in view.ignored] == ["not_head", "bandwidth"]


def test_tombstone_removes_learning_and_changes_the_hash() -> None:
    """Retracting the evidence behind consolidations skips them and changes the hash."""
    s = vectors.Script("forget")
    ev = s.evidence("a", 1, "ev")
    s.consolidate("a", 1, [9], [ev])
    before = vectors.project(s.ops)
    s.emit("a", 2, {"type": "TombstoneEvidence", "evidence": ev, "reason": "",
                    "cascade": []})
    after = vectors.project(s.ops)
    assert len(after.skipped) == 1
    assert after.snapshot(node(s)).hash != before.snapshot(node(s)).hash
    pristine = learning.LearningProjection(BASE).snapshot(node(s)).hash
    assert after.snapshot(node(s)).hash == pristine


def test_replay_equals_incremental_under_shuffled_delivery() -> None:
    """A projection kept up to date under any delivery order equals the rebuild, bitwise."""
    s, c, records = _stable_script("replay")
    s.learn("a", "LoraMigrate", 5, records, circuit=c.id, source="context", target="agent")
    s.emit("a", 6, {"type": "TombstoneEvidence", "evidence": oplog.decode_op(s.ops[0]).payload
                    .evidence, "reason": "", "cascade": []})  # type: ignore[union-attr]
    replay = vectors.project(s.ops)
    for seed in range(3):
        shuffled = list(s.ops)
        random.Random(seed).shuffle(shuffled)
        log, kept = oplog.OpLog(), learning.LearningSet(BASE)
        for data in shuffled:
            log.append(data, vectors.NOW_MS)
            kept.sync(log)
        view = kept.sync(log)
        assert view.snapshot(node(s)).hash == replay.snapshot(node(s)).hash
        for layer in ("context", "agent"):
            for t in hierarchy.TARGETS:
                assert torch.equal(view.instance(layer, node(s)).state.b[t],
                                   replay.instance(layer, node(s)).state.b[t])
        assert view.ignored == replay.ignored and view.skipped == replay.skipped


def test_resonance_conflict_is_damped_in_the_swarm() -> None:
    """An agent's weakening against another's migration writes 0.05 times the circuit."""
    s, c = vectors._resonance_script(conflict=True)
    view = vectors.project(s.ops)
    got = view.read(view.instance("swarm", node(s)), c)
    want = [cons.to_f32(0.5 * (0.5 * (0.5 * v + -0.3 * v))) for v in cons.get_values(c)]
    assert got == want


def test_lifecycle_drains_the_avalanche_in_priority_order() -> None:
    """The lifecycle's fifty circuits migrate five per tick for ten ticks."""
    lc = vectors.lifecycle()
    view = vectors.project(lc.script.ops)
    ticks = [m.tick for m in view.migrations if m.circuit in set(lc.avalanche)]
    assert sorted({t: ticks.count(t) for t in ticks}.values()) == [5] * 10
    assert all(used <= cons.compute_budget(key[0]) for (key, _), used in view.used.items())


# --- the parameter machine (section 7.2) ---------------------------------------------------------


def test_parameter_table_matches_the_projection() -> None:
    """The chapter's fsm table is the two transitions the projection delivers."""
    (table,) = [m for m in load_machines(ROOT) if m.name == "parameter"]
    assert table.source.startswith("spec/15-consolidation.md:")
    assert table.initial == "Free" and table.absorbing == ()
    assert set(table.transitions) == {("Free", "screen", "Screened"),
                                      ("Screened", "release", "Free")}
    assert set(table.created_by) == {"LoraConsolidate", "LoraMigrate", "LoraFastTrack",
                                     "LoraResonate"}
    assert all(x in operations.VARIANTS for x in table.created_by)
