"""z3 proofs of the state-machine tables' invariants (spec/12-fsms.md section 3).

Each machine gets its own z3 context: states S and events E are enumeration sorts,
the transition relation is a z3 function T : S x E x S -> Bool fixed by one axiom
(T(s, e, t) holds exactly for the table's lines), and `Absorbing : S -> Bool` marks
the states of the `absorbing:` line. Every invariant is proved by asking z3 for a
model of its negation: `unsat` proves it, and a model is a counterexample, printed
in the table's own notation (`Rejected --ConfirmClaim--> Fact`). `reachable X` is
the one existential property: bounded model checking finds the shortest witness path.

Run it as `python -m tools.prove [--verbose]` (the `strata spec prove` command).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import z3

from tools.fsm import (
    CASCADE,
    INVALIDATED,
    FsmFormatError,
    Invariant,
    Machine,
    Transition,
    format_invariant,
    format_transition,
    load_machines,
)
from tools.spec import default_root


@attrs.frozen
class ProofResult:
    """The verdict on one invariant of one machine."""

    machine: str
    invariant: str  # the invariant line: "absorbing Rejected"
    ok: bool
    detail: str  # the witness (reachable) or what was proved; the counterexample on failure


class _Encoding:
    """One machine in one z3 context: the sorts, T and Absorbing, and a solver factory."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.ctx = z3.Context()
        self.S, state_consts = z3.EnumSort(f"{m.name}_State", list(m.states), ctx=self.ctx)
        self.E, event_consts = z3.EnumSort(f"{m.name}_Event", list(m.events), ctx=self.ctx)
        self.state = dict(zip(m.states, state_consts, strict=True))
        self.event = dict(zip(m.events, event_consts, strict=True))
        bool_sort = z3.BoolSort(self.ctx)
        self.T = z3.Function("T", self.S, self.E, self.S, bool_sort)
        self.Absorbing = z3.Function("Absorbing", self.S, bool_sort)
        s, e, t = self.var("s", self.S), self.var("e", self.E), self.var("t", self.S)
        lines = [z3.And(s == self.state[a], e == self.event[b], t == self.state[c])
                 for a, b, c in m.transitions]
        self.axioms = [
            # T(s, e, t) holds for exactly the transition lines of the table
            z3.ForAll([s, e, t], self.T(s, e, t) == self.any(lines)),
            # Absorbing(s) holds for exactly the states of the `absorbing:` line
            z3.ForAll([s], self.Absorbing(s) == self.any([s == self.state[a]
                                                          for a in m.absorbing])),
        ]
        self.counter = 0

    def var(self, name: str, sort: Any) -> Any:
        return z3.Const(name, sort)

    def fresh(self, name: str, sort: Any) -> Any:
        self.counter += 1
        return z3.Const(f"{name}_{self.counter}", sort)

    def any(self, terms: list[Any]) -> Any:
        return z3.Or(*terms) if terms else z3.BoolVal(False, self.ctx)

    def solver(self) -> Any:
        solver = z3.Solver(ctx=self.ctx)
        solver.add(*self.axioms)
        return solver

    def name_of(self, model: Any, term: Any) -> str:
        return str(model.eval(term, model_completion=True))

    def models(self, solver: Any, terms: list[Any]) -> Iterator[list[str]]:
        """Every assignment of `terms` that satisfies `solver`, each blocked after it is found."""
        while True:
            verdict = solver.check()
            if verdict == z3.unknown:
                raise RuntimeError(f"z3 returned unknown on machine {self.m.name}: "
                                   f"{solver.reason_unknown()}")
            if verdict == z3.unsat:
                return
            model = solver.model()
            values = [model.eval(t, model_completion=True) for t in terms]
            yield [str(v) for v in values]
            solver.add(z3.Or(*[t != v for t, v in zip(terms, values, strict=True)]))


def _cite(m: Machine, transition: Transition) -> str:
    """A transition with the spec line it is written on."""
    return f"{format_transition(transition)} ({m.where(transition)})"


# --- one prover per invariant kind (section 3) ----------------------------------------------


def _prove_absorbing(enc: _Encoding, x: str) -> tuple[bool, str]:
    """absorbing X: not exists e, t. T(X, e, t)."""
    e, t = enc.fresh("e", enc.E), enc.fresh("t", enc.S)
    solver = enc.solver()
    solver.add(enc.T(enc.state[x], e, t))
    leaving = [(x, ev, st) for ev, st in enc.models(solver, [e, t])]
    if leaving:
        return False, "transition out of absorbing state: " + "; ".join(
            _cite(enc.m, tr) for tr in leaving)
    return True, f"no transition leaves {x}"


def _prove_no_resurrection(enc: _Encoding, x: str) -> tuple[bool, str]:
    """no_resurrection X: {X} is inductive; s = X and T(s, e, t) and t != X is unsat."""
    s, e, t = enc.fresh("s", enc.S), enc.fresh("e", enc.E), enc.fresh("t", enc.S)
    solver = enc.solver()
    solver.add(s == enc.state[x], enc.T(s, e, t), t != enc.state[x])
    escapes = [(x, ev, st) for ev, st in enc.models(solver, [e, t])]
    if escapes:
        return False, f"resurrection: {x} reaches another state: " + "; ".join(
            _cite(enc.m, tr) for tr in escapes)
    return True, f"inductive: s = {x} and T(s, e, t) imply t = {x}"


def _prove_reachable(enc: _Encoding, x: str) -> tuple[bool, str]:
    """reachable X: bounded model check, paths of 0 to |S| transitions from the initial state."""
    for k in range(len(enc.m.states) + 1):
        path = [enc.fresh("s", enc.S) for _ in range(k + 1)]
        events = [enc.fresh("e", enc.E) for _ in range(k)]
        solver = enc.solver()
        solver.add(path[0] == enc.state[enc.m.initial], path[k] == enc.state[x])
        for i in range(k):
            solver.add(enc.T(path[i], events[i], path[i + 1]))
        verdict = solver.check()
        if verdict == z3.unknown:
            raise RuntimeError(f"z3 returned unknown on machine {enc.m.name}")
        if verdict == z3.sat:
            model = solver.model()
            witness = enc.name_of(model, path[0])
            for i in range(k):
                witness += (f" --{enc.name_of(model, events[i])}--> "
                            f"{enc.name_of(model, path[i + 1])}")
            return True, witness
    return False, (f"{x} is unreachable: no path of at most {len(enc.m.states)} transitions "
                   f"from {enc.m.initial} reaches it (reachable: "
                   f"{', '.join(_reachable_from(enc.m, enc.m.initial))})")


def _prove_cascade_closed(enc: _Encoding) -> tuple[bool, str]:
    """cascade_closed: non-absorbing s has T(s, cascade, Invalidated); cascade goes nowhere else."""
    cascade, invalidated = enc.event[CASCADE], enc.state[INVALIDATED]
    s, t = enc.fresh("s", enc.S), enc.fresh("t", enc.S)
    missing_q = enc.solver()
    missing_q.add(z3.Not(enc.Absorbing(s)), z3.Not(enc.T(s, cascade, invalidated)))
    missing = [st for (st,) in enc.models(missing_q, [s])]
    elsewhere_q = enc.solver()
    elsewhere_q.add(enc.T(s, cascade, t), t != invalidated)
    elsewhere = [(a, CASCADE, b) for a, b in enc.models(elsewhere_q, [s, t])]
    problems = [f"missing: {format_transition((st, CASCADE, INVALIDATED))} "
                f"({st} is not absorbing)" for st in missing]
    problems += [f"cascade goes elsewhere than {INVALIDATED}: {_cite(enc.m, tr)}"
                 for tr in elsewhere]
    if problems:
        return False, "; ".join(problems)
    return True, f"every non-absorbing state moves to {INVALIDATED} on {CASCADE}, and only there"


def _prove_deterministic(enc: _Encoding) -> tuple[bool, str]:
    """deterministic: T(s, e, t) and T(s, e, u) and t != u is unsat."""
    s, e = enc.fresh("s", enc.S), enc.fresh("e", enc.E)
    t, u = enc.fresh("t", enc.S), enc.fresh("u", enc.S)
    solver = enc.solver()
    solver.add(enc.T(s, e, t), enc.T(s, e, u), t != u)
    pairs: list[tuple[Transition, Transition]] = []
    for a, ev, b, c in enc.models(solver, [s, e, t, u]):
        if not any(p == ((a, ev, c), (a, ev, b)) for p in pairs):  # each pair once
            pairs.append(((a, ev, b), (a, ev, c)))
    if pairs:
        return False, "nondeterministic: " + "; ".join(
            f"{_cite(enc.m, p)} and {_cite(enc.m, q)}" for p, q in pairs)
    return True, "no two transitions share source and event"


def _prove_terminal_reachable(enc: _Encoding) -> tuple[bool, str]:
    """terminal_reachable: R_n(s) for every s (R_0 = Absorbing; R_k+1 adds one step back)."""
    n = max(len(enc.m.states) - 1, 0)
    solver = enc.solver()
    s, e, t = enc.var("s", enc.S), enc.var("e", enc.E), enc.var("t", enc.S)
    previous = enc.Absorbing
    for k in range(1, n + 1):
        r_k = z3.Function(f"R_{k}", enc.S, z3.BoolSort(enc.ctx))
        solver.add(z3.ForAll([s], r_k(s) == z3.Or(
            previous(s), z3.Exists([e, t], z3.And(enc.T(s, e, t), previous(t))))))
        previous = r_k
    stuck_state = enc.fresh("s", enc.S)
    solver.add(z3.Not(previous(stuck_state)))
    stuck = [st for (st,) in enc.models(solver, [stuck_state])]
    if stuck:
        return False, "; ".join(
            f"from {st} no absorbing state is reachable (it reaches only "
            f"{', '.join(_reachable_from(enc.m, st))})" for st in stuck)
    return True, "an absorbing state is reachable from every state"


def _reachable_from(m: Machine, start: str) -> list[str]:
    """The states reachable from `start` (for the text of counterexamples), in table order."""
    seen = {start}
    frontier = [start]
    while frontier:
        src = frontier.pop()
        for a, _, b in m.transitions:
            if a == src and b not in seen:
                seen.add(b)
                frontier.append(b)
    return [st for st in m.states if st in seen]


_WITH_ARG: dict[str, Callable[[_Encoding, str], tuple[bool, str]]] = {
    "absorbing": _prove_absorbing,
    "no_resurrection": _prove_no_resurrection,
    "reachable": _prove_reachable,
}
_WITHOUT_ARG: dict[str, Callable[[_Encoding], tuple[bool, str]]] = {
    "cascade_closed": _prove_cascade_closed,
    "deterministic": _prove_deterministic,
    "terminal_reachable": _prove_terminal_reachable,
}


def prove_invariant(enc: _Encoding, invariant: Invariant) -> ProofResult:
    """Prove one invariant line of the encoded machine."""
    kind, arg = invariant
    if arg is not None:
        ok, detail = _WITH_ARG[kind](enc, arg)
    else:
        ok, detail = _WITHOUT_ARG[kind](enc)
    return ProofResult(enc.m.name, format_invariant(invariant), ok, detail)


def prove_machine(m: Machine) -> list[ProofResult]:
    """Every invariant of one machine, in the order its table lists them."""
    enc = _Encoding(m)
    return [prove_invariant(enc, invariant) for invariant in m.invariants]


def main_prove(root: Path | None = None, verbose: bool = False) -> int:
    """Prove every invariant of every table under `root`; print verdicts; 1 on any failure."""
    root = default_root() if root is None else root
    try:
        machines = load_machines(root)
    except FsmFormatError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"spec prove: {len(exc.problems)} malformed fsm table line"
              f"{'s' if len(exc.problems) != 1 else ''}; nothing proved")
        return 1
    if not machines:
        print(f"spec prove: no ```fsm tables under {root / 'spec'}")
        return 1
    failed = 0
    total = 0
    for m in machines:
        for result in prove_machine(m):
            total += 1
            verdict = "proved" if result.ok else "FAILED"
            failed += not result.ok
            line = f"{verdict:6}  {result.machine}: {result.invariant}"
            if not result.ok or verbose or result.invariant.startswith("reachable "):
                line += f"  [{result.detail}]"
            print(line)
    print(f"spec prove: {len(machines)} machines, {total} invariants, {total - failed} proved, "
          f"{failed} failed")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.prove [--root DIR] [--verbose]`."""
    parser = argparse.ArgumentParser(prog="python -m tools.prove", description=__doc__)
    parser.add_argument("--root", type=Path, default=None, help="repository root")
    parser.add_argument("--verbose", action="store_true", help="print what each proof showed")
    args = parser.parse_args(argv)
    return main_prove(args.root, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
