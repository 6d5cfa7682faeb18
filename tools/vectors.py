"""`strata vectors generate|check|diff` (spec/16-conformance.md section 2)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tools.vectorgen import generate

REGENERATE = "strata vectors generate"


def generate_into(out: Path) -> list[Path]:
    """Regenerate every generated file under `out`, keeping `external/` and `schemas/`."""
    for child in out.glob("*"):
        if child.is_dir() and child.name not in ("external", "schemas"):
            shutil.rmtree(child)
    return generate(out)


def check(out: Path) -> int:
    """Exit 0 when the files under `out` equal a fresh generation, else list the differences."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        for keep in ("external", "schemas"):
            if (out / keep).exists():
                shutil.copytree(out / keep, fresh / keep)
        generate(fresh)
        differ = _differing_files(out, fresh)
    if differ:
        for line in differ:
            print(line)
        print(f"checked-in vectors differ from a fresh generation; run `{REGENERATE}`")
        return 1
    print("vectors match a fresh generation")
    return 0


def _differing_files(a: Path, b: Path) -> list[str]:
    names = {p.relative_to(a).as_posix() for p in a.rglob("*.json")}
    names |= {p.relative_to(b).as_posix() for p in b.rglob("*.json")}
    out = []
    for rel in sorted(names):
        pa, pb = a / rel, b / rel
        if not pa.exists():
            out.append(f"missing: {rel}")
        elif not pb.exists():
            out.append(f"not generated: {rel}")
        elif pa.read_bytes() != pb.read_bytes():
            out.append(f"differs: {rel}")
    return out


def _cases(root: Path) -> dict[str, dict[str, Any]]:
    cases = {}
    for path in sorted(root.rglob("*.json")):
        doc = json.loads(path.read_bytes())
        if isinstance(doc, dict) and "cases" in doc:
            rel = path.relative_to(root).as_posix()
            for case in doc["cases"]:
                cases[f"{rel}#{case['id']}"] = case
    return cases


def diff(old: Path, new: Path) -> int:
    """Print which cases were added, removed or changed between two vector folders."""
    a, b = _cases(old), _cases(new)
    added = sorted(set(b) - set(a))
    removed = sorted(set(a) - set(b))
    changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    for key in added:
        print(f"+ {key}")
    for key in removed:
        print(f"- {key}")
    for key in changed:
        fields = sorted(f for f in set(a[key]) | set(b[key]) if a[key].get(f) != b[key].get(f))
        print(f"~ {key} ({', '.join(fields)})")
    print(f"{len(added)} added, {len(removed)} removed, {len(changed)} changed, "
          f"{len(set(a) & set(b)) - len(changed)} unchanged")
    return 0
