"""State-machine tables: parse the ```fsm blocks of spec/*.md (spec/12-fsms.md section 1).

A table is a fenced block with the info string `fsm`. Its lines, in this order:

    machine: claim
    states: Hint, Fact, Rejected, Invalidated
    initial: Hint
    absorbing: Rejected, Invalidated
    created_by: AssertClaim
    transitions:
      Hint --ConfirmClaim--> Fact
    invariants:
      absorbing Rejected

Blank lines and lines whose first non-blank character is `#` are skipped. Header
lines start in column 1; transition and invariant lines are indented. The
well-formedness rules (section 1.3) are checked here; the invariants themselves are
proved by tools/prove.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from reference.introduction import SPEC_VERSION

CATALOGUE_FORMAT = "strata-fsms/1"

# Section 1.2: the lexical classes of names.
MACHINE_NAME = re.compile(r"[a-z][a-z0-9_]*")
STATE_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
OP_TYPE = re.compile(r"[A-Z][A-Za-z0-9]*")
DERIVED_EVENT = re.compile(r"[a-z][a-z0-9_]*")
EVENT = re.compile(r"[A-Z][A-Za-z0-9]*|[a-z][a-z0-9_]*")

CASCADE = "cascade"  # section 2.4: the derived event of a tombstone/reject/invalidate upstream
INVALIDATED = "Invalidated"
# Section 2.4: entering one of these states retracts a record; each must be absorbing.
RETRACTING = ("Tombstoned", "Rejected", "Invalidated")

# Section 1.1: the header keys, in the order a table gives them.
HEADER_KEYS = ("machine", "states", "initial", "absorbing", "created_by", "transitions",
               "invariants")
# Section 3: invariant kind -> whether it takes a state argument.
INVARIANT_KINDS: dict[str, bool] = {
    "absorbing": True,
    "no_resurrection": True,
    "reachable": True,
    "cascade_closed": False,
    "deterministic": False,
    "terminal_reachable": False,
}

_OPEN_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*fsm[ \t]*$")
_ANY_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADER = re.compile(r"^([a-z_]+):(.*)$")
_TRANSITION = re.compile(r"^[ \t]+(\S+)[ \t]+--(\S+?)-->[ \t]+(\S+)[ \t]*$")
_INVARIANT = re.compile(r"^[ \t]+([a-z_]+)(?:[ \t]+(\S+))?[ \t]*$")

Transition = tuple[str, str, str]  # (source state, event, target state)
Invariant = tuple[str, str | None]  # (kind, state argument or None)


@attrs.frozen
class Machine:
    """One state-machine table as the spec states it."""

    name: str
    states: tuple[str, ...]
    initial: str
    absorbing: tuple[str, ...]
    created_by: tuple[str, ...]
    transitions: tuple[Transition, ...]
    invariants: tuple[Invariant, ...]
    source: str  # "spec/12-fsms.md:LINE", the line of `machine:`
    # the spec line of each transition, parallel to `transitions` (for counterexamples)
    transition_lines: tuple[int, ...] = attrs.field(default=(), eq=False)

    @property
    def path(self) -> str:
        """The file the table is in."""
        return self.source.rsplit(":", 1)[0]

    @property
    def events(self) -> tuple[str, ...]:
        """The events of the transitions, in first-use order, then `cascade` if absent."""
        seen = dict.fromkeys(e for _, e, _ in self.transitions)
        seen.setdefault(CASCADE)
        return tuple(seen)

    def where(self, transition: Transition) -> str:
        """`path:LINE` of a transition of this table, or the table's own source."""
        for t, line in zip(self.transitions, self.transition_lines, strict=False):
            if t == transition:
                return f"{self.path}:{line}"
        return self.source


def format_transition(transition: Transition) -> str:
    """A transition in the table's own notation: `Hint --ConfirmClaim--> Fact`."""
    src, event, dst = transition
    return f"{src} --{event}--> {dst}"


def format_invariant(invariant: Invariant) -> str:
    """An invariant line as the table writes it: `absorbing Rejected`, `deterministic`."""
    kind, arg = invariant
    return kind if arg is None else f"{kind} {arg}"


class FsmFormatError(ValueError):
    """Malformed fsm blocks; `problems` holds one "path:LINE: message" per fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- parsing --------------------------------------------------------------------------------


def _split_list(value: str) -> list[str]:
    """A comma-separated list; an empty value is the empty list."""
    value = value.strip()
    return [] if not value else [item.strip() for item in value.split(",")]


class _BlockParser:
    """Parses the lines of one fsm block into a Machine, collecting problems."""

    def __init__(self, path: str, lines: list[tuple[int, str]], fence_line: int) -> None:
        self.path = path
        self.lines = lines
        self.fence_line = fence_line
        self.problems: list[str] = []

    def fail(self, line: int, message: str) -> None:
        self.problems.append(f"{self.path}:{line}: {message}")

    def names(self, line: int, what: str, items: list[str], pattern: re.Pattern[str]) -> None:
        for item in items:
            if not pattern.fullmatch(item):
                self.fail(line, f"malformed {what} name {item!r}")

    def no_duplicates(self, line: int, what: str, items: Iterable[str]) -> None:
        seen: set[str] = set()
        for item in items:
            if item in seen:
                self.fail(line, f"duplicate {what} {item}")
            seen.add(item)

    def parse(self) -> Machine | None:
        header: dict[str, tuple[int, str]] = {}
        transitions: list[tuple[int, Transition]] = []
        invariants: list[tuple[int, Invariant]] = []
        section: str | None = None
        expected = 0  # index into HEADER_KEYS of the next header line
        for lineno, raw in self.lines:
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            if raw[0] in " \t":
                if section == "transitions":
                    m = _TRANSITION.match(raw)
                    if not m:
                        self.fail(lineno, f"malformed transition line {raw.strip()!r} "
                                          "(expected 'Source --Event--> Target')")
                    else:
                        transitions.append((lineno, (m.group(1), m.group(2), m.group(3))))
                elif section == "invariants":
                    m = _INVARIANT.match(raw)
                    if not m:
                        self.fail(lineno, f"malformed invariant line {raw.strip()!r}")
                    else:
                        invariants.append((lineno, (m.group(1), m.group(2))))
                else:
                    self.fail(lineno, f"malformed line {raw.strip()!r}: an indented line "
                                      "belongs under 'transitions:' or 'invariants:'")
                continue
            m = _HEADER.match(raw.rstrip())
            if not m or m.group(1) not in HEADER_KEYS:
                self.fail(lineno, f"malformed line {raw.strip()!r} (expected one of "
                                  f"{', '.join(k + ':' for k in HEADER_KEYS)})")
                continue
            key, value = m.group(1), m.group(2).strip()
            if key in header:
                self.fail(lineno, f"duplicate '{key}:' line (first at line {header[key][0]})")
                continue
            want = HEADER_KEYS[expected] if expected < len(HEADER_KEYS) else None
            if key != want:
                self.fail(lineno, f"'{key}:' out of order: expected '{want}:' here "
                                  f"(order: {', '.join(HEADER_KEYS)})")
            expected = HEADER_KEYS.index(key) + 1
            header[key] = (lineno, value)
            section = key if key in ("transitions", "invariants") else None
            if section is not None and value:
                self.fail(lineno, f"'{key}:' takes no value on its own line; list the "
                                  "entries on indented lines below it")
        for key in HEADER_KEYS:
            if key not in header:
                self.fail(self.fence_line, f"fsm block has no '{key}:' line")
        if self.problems:
            return None
        return self.build(header, transitions, invariants)

    def build(
        self,
        header: dict[str, tuple[int, str]],
        transitions: list[tuple[int, Transition]],
        invariants: list[tuple[int, Invariant]],
    ) -> Machine | None:
        name_line, name = header["machine"]
        if not MACHINE_NAME.fullmatch(name):
            self.fail(name_line, f"malformed machine name {name!r} (lowercase, digits, _)")
        states_line, states_text = header["states"]
        states = _split_list(states_text)
        if not states:
            self.fail(states_line, "a machine has at least one state")
        self.names(states_line, "state", states, STATE_NAME)
        self.no_duplicates(states_line, "state", states)
        known = set(states)

        def state(line: int, what: str, value: str) -> None:
            if STATE_NAME.fullmatch(value) and value not in known:
                self.fail(line, f"unknown state {value} in {what} (states: {', '.join(states)})")
            elif not STATE_NAME.fullmatch(value):
                self.fail(line, f"malformed state name {value!r} in {what}")

        initial_line, initial = header["initial"]
        state(initial_line, "initial", initial)
        absorbing_line, absorbing_text = header["absorbing"]
        absorbing = _split_list(absorbing_text)
        for item in absorbing:
            state(absorbing_line, "absorbing", item)
        self.no_duplicates(absorbing_line, "absorbing state", absorbing)
        for retracting in RETRACTING:
            if retracting in known and retracting not in absorbing:
                self.fail(absorbing_line, f"{retracting} is a retracting state and must be "
                                          "listed as absorbing (section 1.3)")
        created_line, created_text = header["created_by"]
        created_by = _split_list(created_text)
        if not created_by:
            self.fail(created_line, "created_by lists at least one op type")
        self.names(created_line, "op type", created_by, OP_TYPE)
        self.no_duplicates(created_line, "creation op", created_by)

        seen_t: dict[Transition, int] = {}
        for line, (src, event, dst) in transitions:
            state(line, "transition source", src)
            if not EVENT.fullmatch(event):
                self.fail(line, f"malformed event name {event!r}")
            state(line, "transition target", dst)
            if (src, event, dst) in seen_t:
                self.fail(line, f"duplicate transition {format_transition((src, event, dst))} "
                                f"(first at line {seen_t[(src, event, dst)]})")
            seen_t.setdefault((src, event, dst), line)

        seen_i: dict[Invariant, int] = {}
        for line, (kind, arg) in invariants:
            if kind not in INVARIANT_KINDS:
                self.fail(line, f"unknown invariant kind {kind!r} "
                                f"(known: {', '.join(INVARIANT_KINDS)})")
                continue
            if INVARIANT_KINDS[kind] and arg is None:
                self.fail(line, f"invariant {kind} names a state: '{kind} State'")
            elif not INVARIANT_KINDS[kind] and arg is not None:
                self.fail(line, f"invariant {kind} takes no argument, got {arg!r}")
            elif arg is not None:
                state(line, f"invariant {kind}", arg)
                if kind == "absorbing" and arg in known and arg not in absorbing:
                    self.fail(line, f"'absorbing {arg}': {arg} is not listed on the "
                                    "'absorbing:' line")
            if kind == "cascade_closed" and INVALIDATED not in known:
                self.fail(line, f"cascade_closed needs a state named {INVALIDATED}")
            if (kind, arg) in seen_i:
                self.fail(line, f"duplicate invariant {format_invariant((kind, arg))} "
                                f"(first at line {seen_i[(kind, arg)]})")
            seen_i.setdefault((kind, arg), line)
        for item in absorbing:
            if ("absorbing", item) not in seen_i:
                self.fail(absorbing_line, f"absorbing state {item} has no 'absorbing {item}' "
                                          "invariant line")
        if self.problems:
            return None
        return Machine(
            name=name,
            states=tuple(states),
            initial=initial,
            absorbing=tuple(absorbing),
            created_by=tuple(created_by),
            transitions=tuple(t for _, t in transitions),
            invariants=tuple(i for _, i in invariants),
            source=f"{self.path}:{name_line}",
            transition_lines=tuple(line for line, _ in transitions),
        )


def parse_machines(text: str, path: str) -> list[Machine]:
    """Every ```fsm table of one markdown text; raises FsmFormatError naming each bad line."""
    machines: list[Machine] = []
    problems: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _ANY_FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening.group(1)
        is_fsm = bool(_OPEN_FENCE.match(lines[i]))
        start = i + 1  # 1-based line of the opening fence
        body: list[tuple[int, str]] = []
        i += 1
        closed = False
        while i < len(lines):
            closing = _ANY_FENCE.match(lines[i])
            if closing and closing.group(1)[0] == fence[0] and \
                    len(closing.group(1)) >= len(fence) and not closing.group(2).strip():
                closed = True
                break
            body.append((i + 1, lines[i]))
            i += 1
        i += 1
        if not is_fsm:
            continue
        if not closed:
            problems.append(f"{path}:{start}: fsm block is not closed")
            continue
        parser = _BlockParser(path, body, start)
        machine = parser.parse()
        problems.extend(parser.problems)
        if machine is not None:
            machines.append(machine)
    _check_across(machines, problems)
    if problems:
        raise FsmFormatError(problems)
    return machines


def _check_across(machines: list[Machine], problems: list[str]) -> None:
    """Section 1.3: machine names, and creation op types, are unique across all tables."""
    names: dict[str, str] = {}
    creators: dict[str, str] = {}
    for m in machines:
        if m.name in names:
            problems.append(f"{m.source}: duplicate machine {m.name} (first at {names[m.name]})")
        names.setdefault(m.name, m.source)
        for op in m.created_by:
            if op in creators and creators[op] != m.name:
                problems.append(f"{m.source}: op type {op} already creates records of "
                                f"machine {creators[op]}")
            creators.setdefault(op, m.name)


def load_machines(root: Path) -> list[Machine]:
    """Every table of every spec/*.md under `root`, in file order; FsmFormatError if any is bad."""
    machines: list[Machine] = []
    problems: list[str] = []
    for path in sorted((root / "spec").glob("*.md")):
        rel = path.relative_to(root).as_posix()
        try:
            machines.extend(parse_machines(path.read_text("utf-8"), rel))
        except FsmFormatError as exc:
            problems.extend(exc.problems)
    _check_across(machines, problems)
    if problems:
        raise FsmFormatError(list(dict.fromkeys(problems)))
    return machines


def machines_catalogue(machines: Iterable[Machine]) -> dict[str, Any]:
    """The tables as JSON, for vectors/fsms.json (the harness cannot import tools)."""
    return {
        "format": CATALOGUE_FORMAT,
        "spec_version": SPEC_VERSION,
        "derived_events": [CASCADE, "expiry"],
        "retracting_states": list(RETRACTING),
        "machines": [
            {
                "name": m.name,
                "source": m.source,
                "states": list(m.states),
                "initial": m.initial,
                "absorbing": list(m.absorbing),
                "created_by": list(m.created_by),
                "transitions": [{"from": s, "event": e, "to": t} for s, e, t in m.transitions],
                "invariants": [{"kind": k, "arg": a} for k, a in m.invariants],
            }
            for m in machines
        ],
    }
