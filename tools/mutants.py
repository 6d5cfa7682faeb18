"""Mutation analysis per requirement: is a reference broken where it cites an id caught?

For each MUST, the reference lines citing its id (`tools.trace.find_sites`) are
mutated at and around the site: a `require(cond, "ID", ...)` call's condition; the
statement on a `# [ID]` line, or the next statement after a comment standing
alone; every statement of a function whose docstring cites the id (at most
`BODY_LIMIT`). Each mutant is an exact source-segment edit (formatting elsewhere
untouched) served from a subprocess that loads the mutated module in place of
the original; the working tree is never edited. The harness runs only the
checks citing the id (`Run(..., only={id})`): a non-conforming run, or a crashed
or hung adapter, kills the mutant.

Operators: cmp-flip (< <=, > >=, == !=, in / not in, is / is not), boolop-swap
(and / or), not-insert and not-remove, arith-swap (+ -, * //, << >>, & |, also
in augmented assignments), const (int k -> k+1 and k-1, True / False),
stmt-remove (a statement becomes `pass`), require-true (a require's condition
becomes `True`).
"""

from __future__ import annotations

import ast
import bisect
import concurrent.futures
import contextlib
import functools
import hashlib
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from tools.spec import load_spec
from tools.trace import find_sites

BODY_LIMIT = 12  # statements mutated per function whose docstring cites an id
QUICK_PER_REQUIREMENT = 3  # mutants per requirement without --full
EXAMPLES = 10  # hypothesis examples per property check
CALL_TIMEOUT_S = 15.0  # one driver call; a hung adapter is a killed mutant
MUTANT_TIMEOUT_S = 60.0  # one whole mutant run; beyond it the mutant is marked timeout
NO_CHECK = "no conformance check ran"
# `# equivalent mutant (cmp-flip, const): why` at the end of the mutated line, or on a
# comment line right above it: those operators' mutants there change nothing observable.
# `const=257` names one mutant of an operator by its replacement text, when the line's other
# mutants of that operator are not equivalent.
EQUIVALENT = re.compile(r"#\s*equivalent mutants? \(([a-z, =\w.-]+)\):\s*(\S.*)$")
# `# outside the harness (stmt-remove): why; test_x` marks code no driver command
# reaches (a live session, a restart): its mutants stay survivors of the harness, and the
# test named last (a function in tests/), run under each, says whether the project kills them.
OUTSIDE = re.compile(r"#\s*outside the harness \(([a-z, -]+)\):\s*(\S.*)$")
PRAGMA = re.compile(r"#\s*(equivalent mutants?|outside the harness) \(")
TEST_NAME = re.compile(r"\b(test_\w+)\s*$")
TEST_TIMEOUT_S = 60.0  # one named test under one mutant (a hang there is a kill)

_CMP = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
        ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.In: ("in", "not in"),
        ast.NotIn: ("not in", "in"), ast.Is: ("is", "is not"), ast.IsNot: ("is not", "is")}
_ARITH = {ast.Add: ("+", "-"), ast.Sub: ("-", "+"), ast.Mult: ("*", "//"),
          ast.FloorDiv: ("//", "*"), ast.LShift: ("<<", ">>"), ast.RShift: (">>", "<<"),
          ast.BitAnd: ("&", "|"), ast.BitOr: ("|", "&")}
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_NO_REMOVE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
              ast.Pass, ast.Global, ast.Nonlocal)


@attrs.frozen(order=True)
class Mutant:
    """One edit of one reference file, charged to one requirement."""

    file: str  # "reference/clocks.py"
    line: int  # line of the edit
    operator: str
    start: int  # byte offsets of the replaced segment
    end: int
    replacement: str
    original: str  # the replaced segment
    requirement: str
    digest: str = ""  # of the file the offsets refer to ("" when unchecked)

    def source_in(self, root: Path) -> bytes:
        """The file's current bytes; ValueError when it changed since the mutant was made."""
        data = (root / self.file).read_bytes()
        if self.digest and hashlib.sha256(data).hexdigest()[:16] != self.digest:
            raise ValueError(f"{self.file} changed since the mutants were generated")
        return data

    def apply(self, source: bytes) -> bytes:
        """The module source with this mutant's edit applied."""
        return source[:self.start] + self.replacement.encode("utf-8") + source[self.end:]

    def mutated_line(self, source: bytes) -> str:
        """The edited line as it reads in the mutant."""
        return self.apply(source).decode("utf-8").splitlines()[self.line - 1].strip()


class _Source:
    """A module's bytes and AST, with byte offsets of nodes (ast columns are UTF-8 bytes)."""

    def __init__(self, rel: str, data: bytes) -> None:
        self.rel, self.data, self.tree = rel, data, ast.parse(data)
        self.starts = [0]  # byte offset of each line's start
        for line in data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.parent: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)}

    def span(self, node: ast.AST) -> tuple[int, int]:
        n: Any = node
        return (self.starts[n.lineno - 1] + n.col_offset,
                self.starts[n.end_lineno - 1] + n.end_col_offset)

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8")

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)  # 1-based


def _token(src: _Source, after: ast.AST, before: ast.AST, token: str) -> tuple[int, int]:
    """Byte span of operator `token` in the gap between two operands (comments blanked)."""
    lo, hi = src.span(after)[1], src.span(before)[0]
    gap = re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), src.text(lo, hi))
    pattern = r"\s+".join(re.escape(w) for w in token.split())
    found = re.search(rf"\b{pattern}\b" if token[0].isalpha() else pattern, gap)
    if found is None:
        raise ValueError(f"no {token!r} between operands at offset {lo}")
    return lo + len(gap[:found.start()].encode()), lo + len(gap[:found.end()].encode())


def _walk_expr(node: ast.AST) -> Iterator[ast.AST]:
    """Sub-expressions worth mutating: not inside f-strings (messages)."""
    if not isinstance(node, ast.JoinedStr):
        yield node
        for child in ast.iter_child_nodes(node):
            yield from _walk_expr(child)


def _expr_mutants(src: _Source, root: ast.AST) -> Iterator[tuple[str, int, int, str]]:
    """(operator, start, end, replacement) for every operator that applies inside `root`."""
    for node in _walk_expr(root):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                if type(op) in _CMP:
                    old, new = _CMP[type(op)]
                    yield ("cmp-flip", *_token(src, operands[i], operands[i + 1], old), new)
        elif isinstance(node, ast.BoolOp):
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            pairs = zip(node.values, node.values[1:], strict=False)
            spans = [_token(src, a, b, old) for a, b in pairs]
            text = src.text(spans[0][0], spans[-1][1])
            for s, e in reversed(spans):
                text = text[:s - spans[0][0]] + new + text[e - spans[0][0]:]
            yield "boolop-swap", spans[0][0], spans[-1][1], text
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield "not-remove", *src.span(node), f"({src.text(*src.span(node.operand))})"
        elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            old, new = _ARITH[type(node.op)]
            yield ("arith-swap", *_token(src, node.left, node.right, old), new)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield "const", *src.span(node), str(not node.value)
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            for k in (node.value + 1, node.value - 1):
                yield "const", *src.span(node), str(k) if k >= 0 else f"({k})"


def _condition_mutants(src: _Source, cond: ast.AST) -> Iterator[tuple[str, int, int, str]]:
    """`not` inserted before a condition (`not-remove` covers conditions that have one)."""
    if not isinstance(cond, ast.UnaryOp) or not isinstance(cond.op, ast.Not):
        yield "not-insert", *src.span(cond), f"(not ({src.text(*src.span(cond))}))"


def _stmt_mutants(src: _Source, stmt: ast.stmt) -> Iterator[tuple[str, int, int, str]]:
    """Mutants of one statement: its removal (not at module level) and its own expressions."""
    if isinstance(stmt, _NO_REMOVE):
        return
    if not isinstance(src.parent.get(stmt), ast.Module):
        yield ("stmt-remove", *src.span(stmt), "pass")
    if isinstance(stmt, ast.AugAssign) and type(stmt.op) in _ARITH:
        old, new = _ARITH[type(stmt.op)]
        yield ("arith-swap", *_token(src, stmt.target, stmt.value, old + "="), new + "=")
    for name, value in ast.iter_fields(stmt):
        if name in ("body", "orelse", "finalbody", "handlers", "annotation", "cases"):
            continue
        for item in value if isinstance(value, list) else [value]:
            expr = item.context_expr if isinstance(item, ast.withitem) else item
            if isinstance(expr, ast.expr):
                if name == "test":
                    yield from _condition_mutants(src, expr)
                yield from _expr_mutants(src, expr)


def _is_require(node: ast.AST, req: str, line: int) -> bool:
    """`require(cond, req, ...)` with `req` on `line`."""
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return False
    name, arg = getattr(node.func, "id", getattr(node.func, "attr", "")), node.args[1]
    return name == "require" and isinstance(arg, ast.Constant) and arg.value == req \
        and arg.lineno <= line <= (arg.end_lineno or arg.lineno)


def _function_body(fn: ast.AST) -> list[ast.stmt]:
    stmts = [n for n in ast.walk(fn) if isinstance(n, ast.stmt) and n is not fn
             and not isinstance(n, _NO_REMOVE)
             and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    return sorted(stmts, key=lambda n: (n.lineno, n.col_offset))[:BODY_LIMIT]


def site_mutants(src: _Source, line: int, req: str) -> Iterator[tuple[str, int, int, str]]:
    """Mutants of the code a citation of `req` on `line` stands for."""
    for node in ast.walk(src.tree):
        if _is_require(node, req, line):
            cond = node.args[0]  # type: ignore[attr-defined]
            yield ("require-true", *src.span(cond), "True")
            yield from _condition_mutants(src, cond)
            yield from _expr_mutants(src, cond)
            return
    stmts = [n for n in ast.walk(src.tree) if isinstance(n, ast.stmt)]
    covering = [n for n in stmts if n.lineno <= line <= (n.end_lineno or n.lineno)]
    inner = min(covering, key=lambda n: (n.end_lineno or n.lineno) - n.lineno, default=None)
    owner = src.parent.get(inner) if isinstance(inner, ast.Expr) else inner
    if isinstance(inner, ast.Expr) and isinstance(inner.value, ast.Constant) \
            and isinstance(inner.value.value, str) or isinstance(inner, _DEFS) \
            and line < inner.body[0].lineno:  # a docstring, a bare string or a signature
        for stmt in _function_body(owner) if isinstance(owner, _DEFS) else ():
            yield from _stmt_mutants(src, stmt)
        return  # a module docstring stands for the whole module: no mutants
    if src.data.splitlines()[line - 1].strip().startswith(b"#") and (
            inner is None or hasattr(inner, "body")):  # a comment standing alone
        after = [n for n in stmts if n.lineno > line
                 and (inner is None or n.lineno <= (inner.end_lineno or 0))]
        inner = min(after, key=lambda n: (n.lineno, n.col_offset), default=None)
    if inner is not None:
        yield from _stmt_mutants(src, inner)


def mutants_at(rel: str, source: bytes, line: int, req: str) -> list[Mutant]:
    """The mutants charged to `req` for its citation on `line` of file `rel`."""
    src, digest = _Source(rel, source), hashlib.sha256(source).hexdigest()[:16]
    return [Mutant(rel, src.line_of(start), op, start, end, new, src.text(start, end), req,
                   digest) for op, start, end, new in site_mutants(src, line, req)]


def generate(root: Path, requirements: list[str] | None = None) -> list[Mutant]:
    """Every mutant of the reference for each MUST (or `requirements`), sorted and unique."""
    wanted = requirements or [r.id for r in load_spec(root).requirements if r.level == "MUST"]
    out: set[Mutant] = set()
    for req, sites in find_sites(root).items():
        for rel, _, line in (site.rpartition(":") for site in sites if req in wanted):
            if not rel.startswith("reference/"):
                continue  # the harness's own sites (CONF) are not mutated
            try:
                out.update(mutants_at(rel, (root / rel).read_bytes(), int(line), req))
            except (SyntaxError, ValueError) as exc:  # a file being edited, or an odd operand
                print(f"strata spec mutants: skipping {rel}:{line} ({req}): {exc}",
                      file=sys.stderr)
    return sorted(out, key=lambda m: (m.requirement, m.file, m.line, m.operator, m.start,
                                      m.replacement))


def sample(mutants: list[Mutant], per_requirement: int) -> list[Mutant]:
    """At most `per_requirement` mutants of each requirement, evenly spaced in sorted order."""
    by_req: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_req.setdefault(m.requirement, []).append(m)
    return [group[(2 * i + 1) * len(group) // (2 * min(per_requirement, len(group)))]
            for group in by_req.values() for i in range(min(per_requirement, len(group)))]


def take_shard(mutants: list[Mutant], spec: str) -> list[Mutant]:
    """Every n-th mutant starting at i (0-based) for `spec` = "i/n"."""
    i, _, n = spec.partition("/")
    if not (i.isdigit() and n.isdigit() and 0 <= int(i) < int(n)):
        raise ValueError(f"shard must be i/n with 0 <= i < n, not {spec!r}")
    return mutants[int(i)::int(n)]


# --- running a mutant ---------------------------------------------------------------------

# Loads module argv[2] from file argv[3] in place of the original (argv[1]: repo root).
SWAP = """import importlib.util, os, sys
root, name, path = sys.argv[1:4]
sys.path.insert(0, root)
sys.dont_write_bytecode = True
pkg = [os.path.join(root, *name.split("."))] if path.endswith("__init__.py") else None
spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=pkg)
class Mutated:
    find_spec = staticmethod(lambda fullname, *rest: spec if fullname == name else None)
sys.meta_path.insert(0, Mutated)
"""
# Serves the driver protocol from the reference with the module swapped.
SERVE = SWAP + "from reference.driver import main\nmain()\n"
# Runs one pytest node id (argv[4]) with the module swapped: exit 0 when it passes. Native
# tracebacks: pytest's own rendering of a mutated module's frames can crash (exit 3).
PYTEST = SWAP + ("import pytest\nsys.exit(pytest.main(['-q', '-x', '--tb=native', "
                 "'-p', 'no:cacheprovider', '-p', 'no:xdist', sys.argv[4]]))\n")


def serve_command(root: Path, module: str, path: Path) -> str:
    """The shell command serving the driver protocol from the reference with one module swapped."""
    return shlex.join([sys.executable, "-c", SERVE, str(root), module, str(path)])


def module_name(rel: str) -> str:
    """reference/driver/__init__.py -> reference.driver; reference/clocks.py -> reference.clocks."""
    return rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


@functools.cache
def _suite(root: Path) -> Any:
    """The suite under `root`, loaded (and its digests checked) once per judge process."""
    from conformance.runner import load_suite

    return load_suite(root / "vectors")


def judge(root: Path, command: str, only: frozenset[str] | None) -> dict[str, str]:
    """Run the checks citing `only` (None: every check) against `command`: {status, detail}."""
    from conformance.runner import Run, is_conforming

    run = Run(command, _suite(root), examples=EXAMPLES, only=only,
              stop_on_failure=True, timeout_s=CALL_TIMEOUT_S, shrink=False)
    try:
        report = run.execute()
    except Exception as exc:  # noqa: BLE001 -- an adapter that cannot even say hello is killed
        return {"status": "killed", "detail": f"crash: {type(exc).__name__}: {exc}"[:300]}
    finally:
        run.driver.close()
    if not is_conforming(report):
        failed = [c for r in report["requirements"] for c in r["checks"]
                  if c["outcome"] == "failed"] or [{"name": "run", "detail": "not conforming"}]
        detail = f"{failed[0]['name']}: {failed[0]['detail']}"[:300]
        # A health check or a failure that does not reproduce (a loaded machine) is no
        # verdict; one that fails again on replay with a dead adapter is a crash, a kill.
        flaky = any(n in detail for n in ("FlakyFailure", "Flaky:")) and "DriverError" not in detail
        noise = flaky or "FailedHealthCheck" in detail
        return {"status": "error" if noise else "killed", "detail": detail}
    ran = any(c["outcome"] in ("passed", "acceptable") for r in report["requirements"]
              if only is None or r["id"] in only for c in r["checks"])
    return {"status": "survived", "detail": "" if ran else NO_CHECK}


VERDICT = "strata-mutants-verdict "  # marks the judge's answer among any stray output


def judge_loop(root: Path) -> None:
    """A judge process: one job `{command, only}` per stdin line, one marked verdict per line.

    The suite is loaded and the harness imported once per worker, not once per mutant.
    """
    for line in sys.stdin:
        job = json.loads(line)
        only = None if job["only"] is None else frozenset(job["only"])
        print(VERDICT + json.dumps(judge(root, job["command"], only)), flush=True)


class Judge:
    """A worker's judge process, started on first use and again after it died or hung."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()

    def _start(self) -> subprocess.Popen[str]:
        code = ("import pathlib; from tools.mutants import judge_loop; "
                f"judge_loop(pathlib.Path({str(self.root)!r}))")
        proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=self.root, text=True,
            env={**os.environ, "PYTHONPATH": str(self.root)}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(proc, self.lines), daemon=True).start()
        return proc

    @staticmethod
    def _read(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def ask(self, command: str, only: frozenset[str] | None, timeout_s: float) -> dict[str, str]:
        """The verdict on `command`; a hung judge (and its adapter) is killed: timeout."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"command": command, "only": None if only is None
                                          else sorted(only)}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
                if line is None:
                    self.proc = None
                    return {"status": "error", "detail": "the judge process exited"}
                if line.startswith(VERDICT):
                    return dict(json.loads(line.removeprefix(VERDICT)))
        except queue.Empty:
            self.close()
            return {"status": "timeout", "detail": f"no verdict within {timeout_s:.0f} s"}

    def close(self) -> None:
        """Kill the judge and everything it started (its own session)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None


def evaluate(root: Path, mutant: Mutant | None, only: frozenset[str] | None,
             timeout_s: float = MUTANT_TIMEOUT_S, judge: Judge | None = None) -> dict[str, Any]:
    """Judge a mutant (None: the unmutated reference): {status, detail, seconds}.

    `only` restricts the run to the checks citing those ids (None: the whole suite);
    `judge` is a worker's running judge (None: a judge started and closed for this call).
    """
    t0 = time.perf_counter()
    rel = mutant.file if mutant else "reference/introduction.py"
    try:
        source = mutant.source_in(root) if mutant else (root / rel).read_bytes()
    except ValueError as exc:
        return {"status": "error", "detail": str(exc), "seconds": 0.0}
    own = judge or Judge(root)
    try:
        with tempfile.TemporaryDirectory(prefix="strata-mutant-") as tmp:
            path = Path(tmp) / Path(rel).name
            path.write_bytes(mutant.apply(source) if mutant else source)
            verdict = own.ask(serve_command(root, module_name(rel), path), only, timeout_s)
    finally:
        if judge is None:
            own.close()
    return {**verdict, "seconds": round(time.perf_counter() - t0, 2)}


def _pragma(pattern: re.Pattern[str], source: bytes, mutant: Mutant) -> str | None:
    """The text a `pattern` comment gives for `mutant`'s operator: at the end of its line,
    or in the block of comment lines right above it (a pragma may wrap onto the next line)."""
    lines = source.decode("utf-8").splitlines()
    candidates = [lines[mutant.line - 1] if mutant.line <= len(lines) else ""]
    block: list[str] = []
    for text in reversed(lines[max(0, mutant.line - 7):mutant.line - 1]):
        if not text.lstrip().startswith("#"):
            break
        block.insert(0, text.strip())
    for text in block:  # each pragma line, with the comment lines that continue it
        if PRAGMA.match(text) or not candidates[1:]:
            candidates.append(text)
        else:
            candidates[-1] += " " + text.removeprefix("#").strip()
    for text in candidates:
        found = pattern.search(text)
        if found and any(_names(entry.strip(), mutant) for entry in found.group(1).split(",")):
            return found.group(2).strip()
    return None


def _names(entry: str, mutant: Mutant) -> bool:
    """Whether a pragma entry, `op` or `op=replacement`, names `mutant`."""
    op, _, replacement = entry.partition("=")
    return op.strip() == mutant.operator and (not replacement
                                              or replacement.strip() == mutant.replacement)


def declared_equivalent(source: bytes, mutant: Mutant) -> str | None:
    """The reason an `# equivalent mutant (ops): why` comment gives for `mutant`, if any."""
    return _pragma(EQUIVALENT, source, mutant)


def declared_outside(source: bytes, mutant: Mutant) -> str | None:
    """The text of an `# outside the harness (ops): why; test` comment for `mutant`, if any."""
    return _pragma(OUTSIDE, source, mutant)


def find_test(root: Path, name: str) -> str | None:
    """The pytest node id of test function `name` under tests/, if there is one."""
    for path in sorted((root / "tests").rglob("test_*.py")):
        if re.search(rf"^((async )?def {name}\(|{name} = )", path.read_text("utf-8"),
                     re.MULTILINE):  # a function, or a stateful machine's TestCase
            return f"{path.relative_to(root).as_posix()}::{name}"
    return None


def run_test(root: Path, mutant: Mutant, nodeid: str,
             timeout_s: float = TEST_TIMEOUT_S) -> dict[str, str]:
    """Run test `nodeid` with `mutant` applied: killed-by-test when it fails, else survived."""
    with tempfile.TemporaryDirectory(prefix="strata-mutant-") as tmp:
        path = Path(tmp) / Path(mutant.file).name
        path.write_bytes(mutant.apply(mutant.source_in(root)))
        try:
            proc = subprocess.run(
                [sys.executable, "-c", PYTEST, str(root), module_name(mutant.file), str(path),
                 nodeid], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"status": "killed-by-test", "detail": f"{nodeid} hung past {timeout_s:.0f} s"}
    if proc.returncode == 0:
        return {"status": "survived", "detail": f"outside the harness; {nodeid} passes under it"}
    if proc.returncode == 1:  # tests ran and one failed
        return {"status": "killed-by-test", "detail": f"{nodeid} fails under it"}
    return {"status": "error", "detail": f"{nodeid} could not run (pytest exit {proc.returncode})"}


def is_equivalent(source: bytes, mutant: Mutant) -> bool:
    """A mutant whose module parses to the very same AST as the original (for example `-0`).

    A mutant that does not parse raises SyntaxError (a bug of an operator).
    """
    return ast.dump(ast.parse(mutant.apply(source))) == ast.dump(ast.parse(source))


def _parallel(jobs: list[tuple[Mutant, frozenset[str] | None]], root: Path, workers: int,
              timeout_s: float, label: str) -> list[dict[str, Any]]:
    """Evaluate `jobs` `workers` at a time (a judge process per worker), with progress on
    stderr; results in job order."""
    results: list[dict[str, Any]] = [{} for _ in jobs]
    local, judges = threading.local(), []

    def run(mutant: Mutant, only: frozenset[str] | None) -> dict[str, Any]:
        if not hasattr(local, "judge"):
            local.judge = Judge(root)
            judges.append(local.judge)
        return evaluate(root, mutant, only, timeout_s, local.judge)

    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
            futures = {pool.submit(run, m, only): i for i, (m, only) in enumerate(jobs)}
            for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                i, m = futures[future], jobs[futures[future]][0]
                results[i] = future.result()
                print(f"{label} [{done}/{len(jobs)}] {results[i]['status']:<9} {m.requirement} "
                      f"{m.file}:{m.line} {m.operator}", file=sys.stderr, flush=True)
    finally:
        for judge in judges:
            judge.close()
    return results


def run_all(root: Path, mutants: list[Mutant], workers: int, timeout_s: float = MUTANT_TIMEOUT_S,
            recheck: bool = False) -> list[dict[str, Any]]:
    """Judge every mutant on the checks citing its requirement; results in the mutants' order.

    With `recheck`, each survivor is judged again on the whole suite: `elsewhere`
    then says whether some other requirement's checks kill it (the cited checks
    miss it) or nothing does (equivalent, or a behaviour no check looks at).
    """
    results: list[dict[str, Any]] = [
        {"requirement": m.requirement, "file": m.file, "line": m.line, "operator": m.operator,
         "original": " ".join(m.original.split()), "mutated_line": ""} for m in mutants]
    for m, result in zip(mutants, results, strict=True):
        try:
            source = m.source_in(root)
            result["mutated_line"] = m.mutated_line(source)
            if is_equivalent(source, m):
                result.update(status="equivalent", detail="same AST", seconds=0.0)
            elif (reason := declared_equivalent(source, m)) is not None:
                result.update(status="equivalent", detail=f"declared: {reason}", seconds=0.0)
        except (ValueError, SyntaxError) as exc:  # the file changed under us, or a bad edit
            result.update(status="error", detail=str(exc), seconds=0.0)
    todo = [i for i, r in enumerate(results) if "status" not in r]
    verdicts = _parallel([(mutants[i], frozenset({mutants[i].requirement})) for i in todo],
                         root, workers, timeout_s, "mutants")
    for i, verdict in zip(todo, verdicts, strict=True):
        results[i].update(verdict)
    evidence = {u.id: u.evidence.removeprefix("test:") for u in load_spec(root).untestable
                if u.evidence.startswith("test:")}
    tests: dict[int, str] = {}
    for i in todo:  # survivors outside the harness's reach: the test that covers them judges
        if results[i]["status"] != "survived":
            continue
        outside = declared_outside(mutants[i].source_in(root), mutants[i])
        if outside is None and mutants[i].requirement in evidence:  # spec/untestable.md
            outside = f"registered untestable; {evidence[mutants[i].requirement]}"
        if outside is not None:
            results[i]["outside"] = outside
            name = TEST_NAME.search(outside)
            nodeid = find_test(root, name.group(1)) if name else None
            if nodeid:
                tests[i] = nodeid
            else:
                results[i]["detail"] = f"outside the harness: {outside}"
    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as pool:
        for i, verdict in zip(tests, pool.map(lambda i: run_test(root, mutants[i], tests[i]),
                                              tests), strict=True):
            results[i].update(verdict)
            print(f"tests [{i}] {verdict['status']:<14} {mutants[i].requirement} {tests[i]}",
                  file=sys.stderr, flush=True)
    again = [i for i, r in enumerate(results) if recheck and r["status"] == "survived"]
    verdicts = _parallel([(mutants[i], None) for i in again], root, workers, timeout_s, "recheck")
    for i, verdict in zip(again, verdicts, strict=True):
        killed = verdict["status"] == "killed"
        results[i]["elsewhere"] = (f"killed by {verdict['detail']}" if killed
                                   else f"{verdict['status']} on the whole suite")
    return results


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-requirement counts and the overall score (killed + timeout) / (total - equivalent).

    A hung mutant (timeout) counts as detected, as in most mutation tools; a
    mutant whose evaluation itself failed (error) is left out of the score and listed.
    A mutant killed only by a test outside the harness (killed-by-test) is a survivor
    of the harness: `score_with_tests` counts it as detected, `score` does not.
    """
    counts = ("mutants", "killed", "survived", "timeout", "equivalent", "error", "killed-by-test")
    rows: dict[str, dict[str, Any]] = {}
    for r in results:
        row = rows.setdefault(r["requirement"], {"id": r["requirement"], **dict.fromkeys(counts, 0),
                                                 "survivors": []})
        row["mutants"] += 1
        row[r["status"]] += 1
        if r["status"] in ("survived", "error"):
            row["survivors"].append(r)
        if r["status"] == "equivalent" and r["detail"].startswith("declared"):
            row.setdefault("declared", []).append(r)
        if r["status"] == "killed-by-test":
            row.setdefault("by_test", []).append(r)
    for row in rows.values():
        row["score"] = _score(row)
    totals = {k: sum(row[k] for row in rows.values()) for k in counts}
    return {"requirements": [rows[k] for k in sorted(rows)], "totals": totals,
            "score": _score(totals), "score_with_tests": _score(totals, with_tests=True)}


def _score(counts: dict[str, Any], with_tests: bool = False) -> float:
    judged = counts["mutants"] - counts["equivalent"] - counts["error"]
    detected = counts["killed"] + counts["timeout"] + (counts["killed-by-test"] if with_tests
                                                       else 0)
    return round(detected / judged, 4) if judged else 1.0


def render(summary: dict[str, Any], threshold: float, unsited: list[str]) -> str:
    """The per-requirement table, the survivors, and the verdict."""
    out = [f"{'id':<10}{'mutants':>8}{'killed':>7}{'survived':>9}{'timeout':>8}{'equiv':>6}"
           f"{'by test':>8}{'score':>7}"]
    for row in summary["requirements"]:
        out.append(f"{row['id']:<10}{row['mutants']:>8}{row['killed']:>7}{row['survived']:>9}"
                   f"{row['timeout']:>8}{row['equivalent']:>6}{row['killed-by-test']:>8}"
                   f"{row['score']:>7.2f}")
    survivors = [s for row in summary["requirements"] for s in row["survivors"]]
    if survivors:
        out.append(f"survivors ({len(survivors)}):")
        for s in survivors:
            note = f" [{s['status']}: {s['detail']}]" if s["detail"] else ""
            note += f" [whole suite: {s['elsewhere']}]" if "elsewhere" in s else ""
            out.append(f"  {s['requirement']} {s['file']}:{s['line']} {s['operator']}: "
                       f"{s['mutated_line']}   (was {s['original']!r}){note}")
    declared = [d for row in summary["requirements"] for d in row.get("declared", [])]
    if declared:
        out.append(f"declared equivalent ({len(declared)}):")
        out.extend(f"  {d['requirement']} {d['file']}:{d['line']} {d['operator']}: "
                   f"{d['mutated_line']}   ({d['detail']})" for d in declared)
    by_test = [d for row in summary["requirements"] for d in row.get("by_test", [])]
    if by_test:
        out.append(f"outside the harness, killed by a test ({len(by_test)}):")
        out.extend(f"  {d['requirement']} {d['file']}:{d['line']} {d['operator']}: "
                   f"{d['mutated_line']}   ({d.get('outside', '')}; {d['detail']})"
                   for d in by_test)
    if unsited:
        out.append(f"MUSTs without a mutable reference site ({len(unsited)}): "
                   + " ".join(unsited))
    unchecked = sum(1 for s in survivors if s["detail"] == NO_CHECK)
    if unchecked:
        out.append(f"{unchecked} survivors had no conformance check to run (the requirement "
                   "is untested or its class not claimed)")
    t = summary["totals"]
    verdict = "ok" if summary["score"] >= threshold else "FAIL"
    out.append(f"mutation score {summary['score']:.3f} (threshold {threshold:.2f}): "
               f"{t['killed']} killed, {t['timeout']} timed out, {t['survived']} survived, "
               f"{t['equivalent']} equivalent, {t['error']} errors of {t['mutants']}: {verdict}")
    if t["killed-by-test"]:
        out.append(f"with the {t['killed-by-test']} survivors a test outside the harness kills: "
                   f"{summary['score_with_tests']:.3f}")
    return "\n".join(out)


def main_mutants(root: Path, *, shard: str | None, full: bool, workers: int,
                 out: Path | None, requirement: str | None, threshold: float = 0.9,
                 timeout_s: float = MUTANT_TIMEOUT_S, recheck: bool = False) -> int:
    """`strata spec mutants`: 0 when the score reaches `threshold`, 1 below it, 2 on misuse."""
    t0 = time.perf_counter()
    root = root.resolve()
    musts = sorted(r.id for r in load_spec(root).requirements if r.level == "MUST")
    if requirement is not None and requirement not in musts:
        print(f"strata spec mutants: {requirement} is not a MUST of the spec", file=sys.stderr)
        return 2
    try:
        take_shard([], shard or "0/1")
    except ValueError as exc:
        print(f"strata spec mutants: {exc}", file=sys.stderr)
        return 2
    every = generate(root, [requirement] if requirement else None)
    chosen = every if full else sample(every, QUICK_PER_REQUIREMENT)
    chosen = take_shard(chosen, shard) if shard else chosen
    unsited = sorted(set([requirement] if requirement else musts)
                     - {m.requirement for m in every})
    print(f"{len(chosen)} of {len(every)} mutants ({'full' if full else 'quick'}"
          f"{f', shard {shard}' if shard else ''}), {workers} workers", file=sys.stderr)
    if chosen:
        baseline = evaluate(root, None, frozenset(m.requirement for m in chosen), timeout_s * 5)
        if baseline["status"] != "survived":
            print(f"strata spec mutants: the unmutated reference is not conforming on these "
                  f"checks ({baseline['status']}: {baseline['detail']})", file=sys.stderr)
            return 2
    results = run_all(root, chosen, workers, timeout_s, recheck)
    summary = summarise(results)
    duration = round(time.perf_counter() - t0, 1)
    print(render(summary, threshold, unsited))
    print(f"{len(chosen)} mutants in {duration} s")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "format": "strata-mutants/1", "mode": "full" if full else "quick", "shard": shard,
            "threshold": threshold, "duration_s": duration, "generated": len(every),
            "unsited": unsited, **summary, "results": results}, indent=2) + "\n", "utf-8")
    return 0 if summary["score"] >= threshold else 1

