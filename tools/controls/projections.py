"""Negative controls of chapter 10 and of chapter 01's fold rules: projections that go wrong.

Each control breaks one rule of how the op log is folded into projections
(spec/10-projections.md section 2 and 3, spec/01-data-model.md sections 4 to 6),
and the harness must fail the requirement it names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reference import oplog, projections
from reference.driver import projections as projections_driver
from reference.driver._registry import COMMANDS, Args
from tools.controls import control, drop_requirement


def _one_hop(children: dict[bytes, set[bytes]], tainted: set[bytes], roots: Iterable[bytes],
             reached: Iterable[bytes]) -> set[bytes]:
    """The cascade without transitivity: direct dependents of a retracted record only."""
    found = {c for r in roots for c in children.get(r, ()) if c not in tainted}
    return found | {r for r in reached if r not in tainted}


@control("cascade-one-hop", "DM-028",
         "a tombstone or rejection invalidates only the direct dependents of its root")
def cascade_one_hop() -> None:
    projections.get_cascade_targets = _one_hop


def _fold_unchecked(log: oplog.OpLog, pset: projections.ProjectionSet, op_hash: bytes) -> None:
    """Fold the stored op `op_hash` into `pset` without the order and duplicate checks."""
    op = log.get(op_hash)
    if op is not None:
        pset.projections._fold(op)  # Projections.apply's DM-018 and DM-021 checks bypassed


@control("duplicate-applied-twice", "DM-021",
         "an op appended again (a duplicate) is folded into the projections a second time")
def duplicate_applied_twice() -> None:
    scripted = projections_driver.sync_after_append

    def sync_after_append(pset: projections.ProjectionSet, log: oplog.OpLog,
                          outcome: oplog.AppendResult | None) -> None:
        scripted(pset, log, outcome)
        if outcome is not None and outcome.status == "duplicate":
            _fold_unchecked(log, pset, outcome.hash)

    projections_driver.sync_after_append = sync_after_append
    append = COMMANDS["log.append"]

    def append_in_session(args: Args) -> dict[str, Any]:
        result = append(args)
        if result["status"] == "duplicate":
            log, pset = projections_driver.get_session(args.text("session"))
            pset.sync(log)
            _fold_unchecked(log, pset, bytes.fromhex(result["hash"]))
        return result

    COMMANDS["log.append"] = append_in_session


@control("cycle-accepted", "DM-027",
         "a creation op citing a support created later in the total order is accepted")
def cycle_accepted() -> None:
    drop_requirement("DM-027")


def _sync_in_arrival_order(self: projections.ProjectionSet, log: oplog.OpLog,
                           known: Iterable[oplog.StoredOp] = ()) -> projections.Projections:
    """Fold each op not yet folded after those folded before, whatever its place in the order."""
    for op_hash in projections.get_applied_after(log, None):
        if op_hash not in self.projections.applied:
            _fold_unchecked(log, self, op_hash)
    return self.projections



@control("order-dependent-fold", "DM-025",
         "projections fold ops in arrival order and never rebuild when one arrives early")
def order_dependent_fold() -> None:
    projections.ProjectionSet.sync = _sync_in_arrival_order  # type: ignore[method-assign]
