"""Evidence for the chapter-01 requirements no vector can check (spec/untestable.md)."""

from __future__ import annotations

from reference.identifiers import IdKind
from reference.oplog import OpLog
from tools.vectorgen._ops import OpFactory, derive

NOW = 1_800_000_000_000


def _scenario(id_ms: int) -> list[str]:
    """Evidence, a claim on it and a tombstone, with record ids stamped at `id_ms`."""
    author = OpFactory("opaque")
    author_ids = OpFactory("opaque", wall_ms=id_ms)
    ev, claim = author_ids.new_id(IdKind.EVIDENCE), author_ids.new_id(IdKind.CLAIM)
    ops = [
        author.op({"type": "IngestEvidence", "evidence": ev, "hash": derive("x"),
                   "anchor": "a", "source_type": "note", "metadata": {}}),
        author.op({"type": "AssertClaim", "claim": claim, "subject": None, "predicate": "p",
                   "object": 1, "supports": [ev]}),
        author.op({"type": "TombstoneEvidence", "evidence": ev, "reason": "",
                   "cascade": [claim]}),
    ]
    log = OpLog()
    return [log.append(op, NOW).status for op in ops]


def test_ids_are_opaque_to_the_log() -> None:
    """The log's decisions do not depend on the time inside record ids (DM-006)."""
    assert _scenario(1) == _scenario(2**48 - 1) == ["applied", "applied", "applied"]


def test_source_anchor_kept_verbatim() -> None:
    """A SourceAnchor is stored exactly as given, spaces and case included (DM-007)."""
    author = OpFactory("anchor")
    anchor = " UID:Événement-42@example.com "
    op = author.op({"type": "IngestEvidence", "evidence": author.new_id(IdKind.EVIDENCE),
                    "hash": derive("y"), "anchor": anchor, "source_type": "calendar",
                    "metadata": {}})
    log = OpLog()
    log.append(op, NOW)
    stored = next(log.ops())
    assert stored.payload.anchor == anchor  # type: ignore[union-attr]


def test_layers_are_separate() -> None:
    """The log never imports a projection, and projections never write to the log (DM-001)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "reference"
    log_imports = {
        (node.module or "") + "." + alias.name
        for node in ast.walk(ast.parse((root / "oplog.py").read_text()))
        if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert not any("projections" in name for name in log_imports)
    projection_source = (root / "projections.py").read_text()
    for writer in ("log.append(", "INSERT ", "UPDATE ", "DELETE ", ".put_evidence(",
                   ".discard_evidence(", ".release("):
        assert writer not in projection_source, writer
