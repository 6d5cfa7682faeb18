"""`strata spec diff OLD NEW`: what a spec change changes (requirements and vectors).

OLD and NEW are each a folder or a git revision of the repository (exported
with `git archive`, never checked out over the working tree). The report lists
requirement ids added, retired and changed (text or level), vector cases added,
removed and changed, and warns about every vector case that cites a changed
requirement yet whose command, input or expected answer did not change: a
sign its check does not test the change.

Ids are stable (DESIGN section 3): an id present in OLD and absent from NEW
must be listed in NEW's spec/retired.md, and a retired id is never used again.
Either breach is an error (exit 1); everything else is informational (exit 0).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import attrs

from tools.spec import Requirement, Spec, default_root, load_spec
from tools.vectors import _cases

# The fields of a case that say what is tested; a case whose other fields alone changed
# (description, comment, cid) still tests what it tested before.
BEHAVIOUR = frozenset({"command", "input", "result", "output", "error"})


@attrs.frozen
class SpecDiff:
    """The differences between two trees."""

    added: tuple[str, ...]
    retired: tuple[str, ...]  # absent from NEW and listed in NEW's retired.md
    unretired: tuple[str, ...]  # absent from NEW and not listed: an error
    reused: tuple[str, ...]  # retired in OLD, used again in NEW: an error
    changed: tuple[tuple[str, tuple[str, ...]], ...]  # (id, ("text", "level"))
    old_reqs: dict[str, Requirement]
    new_reqs: dict[str, Requirement]
    cases_added: tuple[str, ...]
    cases_removed: tuple[str, ...]
    cases_changed: tuple[tuple[str, tuple[str, ...]], ...]  # (case key, changed fields)
    stale: tuple[tuple[str, tuple[str, ...]], ...]  # (changed id, unchanged citing cases)
    uncited: tuple[str, ...]  # changed ids no vector case of NEW cites

    @property
    def errors(self) -> int:
        return len(self.unretired) + len(self.reused)


def normalize(text: str) -> str:
    """A requirement's text compared modulo whitespace and its final punctuation."""
    return re.sub(r"[.!?:;]+$", "", " ".join(text.split()))


def resolve(ref: str, repo: Path, stack: contextlib.ExitStack) -> Path:
    """A folder as is; otherwise a git revision of `repo`, exported into a temporary folder."""
    folder = Path(ref)
    if folder.is_dir():
        return folder.resolve()
    rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                          f"{ref}^{{commit}}"], capture_output=True, text=True)
    if rev.returncode != 0:
        raise ValueError(f"{ref!r} is neither a folder nor a git revision of {repo}")
    sha = rev.stdout.strip()
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", sha],
                             capture_output=True, check=True)
    out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"strata-{sha[:8]}-")))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(out, filter="data")
    return out


def _load(root: Path) -> Spec | None:
    return load_spec(root) if (root / "spec").is_dir() else None


def _vector_cases(root: Path) -> dict[str, dict[str, Any]]:
    return _cases(root / "vectors") if (root / "vectors").is_dir() else {}


def compare(old_root: Path, new_root: Path) -> SpecDiff:
    """Compare the spec and the checked-in vectors of two trees."""
    old_spec, new_spec = _load(old_root), _load(new_root)
    old = old_spec.by_id() if old_spec else {}
    new = new_spec.by_id() if new_spec else {}
    new_retired = {r.id for r in new_spec.retired} if new_spec else set()
    old_retired = {r.id for r in old_spec.retired} if old_spec else set()
    gone = sorted(set(old) - set(new))
    changed: list[tuple[str, tuple[str, ...]]] = []
    for req_id in sorted(set(old) & set(new)):
        a, b = old[req_id], new[req_id]
        fields = tuple(f for f, differ in (("text", normalize(a.text) != normalize(b.text)),
                                           ("level", a.level != b.level)) if differ)
        if fields:
            changed.append((req_id, fields))

    a_cases, b_cases = _vector_cases(old_root), _vector_cases(new_root)
    common = sorted(set(a_cases) & set(b_cases))
    cases_changed = []
    for key in common:
        if a_cases[key] != b_cases[key]:
            differ = sorted(f for f in set(a_cases[key]) | set(b_cases[key])
                            if a_cases[key].get(f) != b_cases[key].get(f))
            cases_changed.append((key, tuple(differ)))
    retested = {k for k, fields in cases_changed if set(fields) & BEHAVIOUR}
    stale: list[tuple[str, tuple[str, ...]]] = []
    uncited: list[str] = []
    for req_id, _ in changed:
        citing = [k for k in sorted(b_cases) if req_id in (b_cases[k].get("requirements") or ())]
        if not citing:
            uncited.append(req_id)
        same = [k for k in citing if k in a_cases and k not in retested]
        if same:
            stale.append((req_id, tuple(same)))
    return SpecDiff(
        added=tuple(sorted(set(new) - set(old))),
        retired=tuple(i for i in gone if i in new_retired),
        unretired=tuple(i for i in gone if i not in new_retired),
        reused=tuple(sorted(set(new) & (old_retired | new_retired))),
        changed=tuple(changed), old_reqs=old, new_reqs=new,
        cases_added=tuple(sorted(set(b_cases) - set(a_cases))),
        cases_removed=tuple(sorted(set(a_cases) - set(b_cases))),
        cases_changed=tuple(cases_changed), stale=tuple(stale), uncited=tuple(uncited))


def _brief(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def render(diff: SpecDiff, old: str, new: str, limit: int = 40) -> str:
    """The report: requirements, vectors, warnings, errors, and a one-line summary."""
    out = [f"spec diff {old} -> {new}"]

    def section(title: str, lines: list[str]) -> None:
        if lines:
            out.append(f"{title} ({len(lines)}):")
            out.extend(f"  {line}" for line in lines[:limit])
            if len(lines) > limit:
                out.append(f"  ... {len(lines) - limit} more")

    section("requirements added", [f"+ {i} {diff.new_reqs[i].level}: "
                                   f"{_brief(diff.new_reqs[i].text)}" for i in diff.added])
    section("requirements retired", [f"- {i}" for i in diff.retired])
    changed: list[str] = []  # one entry per id; its detail lines follow it
    for req_id, fields in diff.changed:
        a, b = diff.old_reqs[req_id], diff.new_reqs[req_id]
        entry = [f"~ {req_id} ({', '.join(fields)})"]
        if "level" in fields:
            entry.append(f"    level: {a.level} -> {b.level}")
        if "text" in fields:
            entry += [f"    old: {_brief(a.text)}", f"    new: {_brief(b.text)}"]
        changed.append("\n  ".join(entry))
    section("requirements changed", changed)
    section("vector cases added", [f"+ {k}" for k in diff.cases_added])
    section("vector cases removed", [f"- {k}" for k in diff.cases_removed])
    section("vector cases changed", [f"~ {k} ({', '.join(f)})" for k, f in diff.cases_changed])
    warnings = [f"{req_id} changed but its vector case {k} did not (a sign the check does "
                "not test the change)" for req_id, keys in diff.stale for k in keys]
    warnings += [f"{req_id} changed and no vector case cites it" for req_id in diff.uncited]
    section("warnings", warnings)
    errors = [f"{i} was removed but is not listed in spec/retired.md (ids are never "
              "renumbered: retire them)" for i in diff.unretired]
    errors += [f"{i} is a retired id used again (a retired id is never reused)"
               for i in diff.reused]
    section("errors", errors)
    out.append(f"requirements: {len(diff.added)} added, {len(diff.retired) + len(diff.unretired)}"
               f" removed, {len(diff.changed)} changed; vector cases: {len(diff.cases_added)} "
               f"added, {len(diff.cases_removed)} removed, {len(diff.cases_changed)} changed; "
               f"{len(warnings)} warnings, {len(errors)} errors")
    return "\n".join(out)


def main_specdiff(root: Path, old: str, new: str) -> int:
    """Print the diff of OLD and NEW (folders or revisions of the repo at `root`); 1 on an error.

    Exit 1 when an id was removed without being retired or a retired id is reused.
    """
    with contextlib.ExitStack() as stack:
        try:
            old_root, new_root = resolve(old, root, stack), resolve(new, root, stack)
        except (ValueError, subprocess.CalledProcessError) as exc:
            print(f"strata spec diff: {exc}", file=sys.stderr)
            return 2
        diff = compare(old_root, new_root)
    print(render(diff, old, new))
    return 1 if diff.errors else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tools.specdiff", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="a folder or a git revision")
    parser.add_argument("new", help="a folder or a git revision")
    parser.add_argument("--root", type=Path, default=default_root(), help="the git repository")
    args = parser.parse_args()
    sys.exit(main_specdiff(args.root, args.old, args.new))
