"""Boundary vectors from z3 for guards with numeric limits (spec/16-conformance.md section 5).

Each guard is the spec's condition written once as a z3 formula over its
inputs, with the other inputs fixed. z3 maximises the free input subject to
the guard (the input just inside the limit); the input one past it must
violate the guard, which z3 confirms. Both become vector cases answered by
the reference like every other case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import z3

from reference import clocks, identifiers
from reference.engine import events, salience
from tools.vectorgen import Case, VectorFile
from tools.vectorgen import engine as engine_vectors
from tools.vectorgen._ops import BASE_MS, derive

Formula = Callable[[dict[str, z3.ArithRef]], z3.BoolRef]


@attrs.frozen
class Guard:
    """A numeric guard of the spec and how to turn an input into a vector case."""

    name: str
    requirement: str
    free: str  # the input z3 pushes to the limit
    fixed: dict[str, int]
    holds: Formula  # the guard, true just inside the limit
    case: Callable[[dict[str, int], bool], tuple[str, dict[str, Any]]]  # (command, input)
    outside_error: str | None = None  # the code when the command itself rejects the outside
    tolerance: dict[str, float] | None = None  # for the f32 outputs of a valid case


def find_boundary(guard: Guard) -> tuple[dict[str, int], dict[str, int]]:
    """The inputs just inside and just outside the guard's limit."""
    names = [guard.free, *guard.fixed]
    v = {name: z3.Int(name) for name in names}
    opt = z3.Optimize()
    opt.add(*(v[k] == value for k, value in guard.fixed.items()), guard.holds(v))
    opt.maximize(v[guard.free])
    if opt.check() != z3.sat:
        raise ValueError(f"{guard.name}: the guard admits no input")
    model = opt.model()
    inside = {name: model.eval(v[name]).as_long() for name in names}
    outside = {**inside, guard.free: inside[guard.free] + 1}
    check = z3.Solver()
    check.add(*(v[k] == value for k, value in outside.items()), guard.holds(v))
    if check.check() != z3.unsat:
        raise ValueError(f"{guard.name}: one past the maximum still satisfies the guard")
    return inside, outside


NODE_A = derive("boundaries/node-a")
NODE_B = derive("boundaries/node-b")
PT = BASE_MS


def _recv(x: dict[str, int], inside: bool) -> tuple[str, dict[str, Any]]:
    return "hlc.run", {"node": NODE_A.hex(), "start": None, "events": [
        {"recv": {"pt": x["pt"], "ts": [x["wall"], 0, NODE_B.hex()]}}]}


def _tick_from(x: dict[str, int], inside: bool) -> tuple[str, dict[str, Any]]:
    return "hlc.run", {"node": NODE_A.hex(), "start": [x["wall"], x["logical"]],
                       "events": [{"tick": x["pt"]}]}


def _generate(x: dict[str, int], inside: bool) -> tuple[str, dict[str, Any]]:
    return "id.generate", {"kind": "op", "steps": [
        {"now_ms": x["now"], "random": derive("boundaries/rand", 10).hex()}]}


def _engine_ops() -> list[str]:
    """Two test-4d items, (1,0,0,0) and (3,1,0,0), the second citing the first."""
    s = engine_vectors.Script("boundaries")
    first = s.item(engine_vectors.unit(1, 0, 0, 0), text="first")[0]
    c = s.content("second", [first])
    s.embed(c, engine_vectors.unit(3, 1, 0, 0))
    return s.hex_ops()


def _search(x: dict[str, int], inside: bool) -> tuple[str, dict[str, Any]]:
    query = {"query": "search", "vector": engine_vectors.unit(1, 0, 0, 0).hex(),
             "model": engine_vectors.T4, "k": x["k"]}
    return "engine.run", {"ops": _engine_ops(), "now_ms": engine_vectors.NOW_MS,
                          "queries": [query]}


def _salience(x: dict[str, int], inside: bool) -> tuple[str, dict[str, Any]]:
    return "engine.run", {"ops": _engine_ops(), "now_ms": engine_vectors.NOW_MS,
                          "queries": [{"query": "salience", "steps": x["steps"]}]}


GUARDS = [
    Guard("drift", "CLK-014", "wall", {"pt": PT},
          lambda v: v["wall"] <= v["pt"] + clocks.MAX_DRIFT_MS, _recv),
    Guard("logical-no-carry", "CLK-017", "logical", {"wall": PT, "pt": PT},
          lambda v: z3.And(v["logical"] >= 0, v["logical"] + 1 <= clocks.LOGICAL_MAX),
          _tick_from),
    Guard("wall-range", "CLK-018", "wall", {"logical": clocks.LOGICAL_MAX, "pt": 0},
          lambda v: v["wall"] + 1 <= clocks.WALL_MS_MAX, _tick_from),
    Guard("id-clock-range", "ID-006", "now", {},
          lambda v: z3.And(v["now"] >= 0, v["now"] <= identifiers.TIMESTAMP_MAX), _generate,
          "E_ID_EXHAUSTED"),
    Guard("search-k", "ENG-042", "k", {},
          lambda v: z3.And(v["k"] >= 1, v["k"] <= events.MAX_K), _search, "E_BAD_REQUEST",
          engine_vectors.TOLERANCE),
    Guard("salience-steps", "ENG-042", "steps", {},
          lambda v: z3.And(v["steps"] >= 0, v["steps"] <= salience.MAX_STEPS), _salience,
          "E_BAD_REQUEST", engine_vectors.TOLERANCE),
]

# The vector folder and spec chapter of each requirement code with guards.
CHAPTERS = {"CLK": ("clocks", "05-clocks"), "ID": ("identifiers", "04-identifiers-and-hashing"),
            "ENG": ("engine", "11-data-engine")}


def boundary_cases(guard: Guard) -> list[Case]:
    """The two cases of one guard: just inside and just outside its limit."""
    inside, outside = find_boundary(guard)
    out = []
    for label, x, is_inside in (("inside", inside, True), ("outside", outside, False)):
        command, args = guard.case(x, is_inside)
        free = f"{guard.free}={x[guard.free]}"
        # Scripted commands (hlc.run) report an event's rejection inside a valid result.
        rejected = not is_inside and guard.outside_error is not None
        out.append(Case(
            f"{guard.name}-{label}", (guard.requirement,),
            f"{guard.name}: {free}, just {label} the limit z3 found",
            command, args, "invalid" if rejected else "valid",
            comment=f"z3 maximised {guard.free} subject to the guard with {guard.fixed}; "
                    f"{'this input satisfies it' if is_inside else 'one more violates it'}",
            error=guard.outside_error if rejected else None,
            tolerance=None if rejected else guard.tolerance))
    return out


def files() -> list[VectorFile]:
    """One file of boundary cases per chapter with guards."""
    by_chapter: dict[tuple[str, str], list[Case]] = {}
    for guard in GUARDS:
        key = CHAPTERS[guard.requirement.split("-")[0]]
        by_chapter.setdefault(key, []).extend(boundary_cases(guard))
    return [VectorFile(folder, chapter, "boundaries", tuple(cases),
                       comment="inputs at each numeric limit, found by z3 (tools/vectorgen/"
                               "boundaries.py)")
            for (folder, chapter), cases in sorted(by_chapter.items())]
