"""Golden-vector generation from the reference (spec/16-conformance.md section 2).

Each chapter module declares cases: an input and the *intended* result
(valid, invalid or acceptable). The reference answers each case in process;
generation fails when the reference's answer contradicts the intent, so a
vector can never silently record a reference bug as the expected answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

import attrs
import blake3

from reference.driver import dispatch
from reference.introduction import SPEC_VERSION

GENERATOR_VERSION = "1"
FORMAT = "strata-vectors/1"

Result = Literal["valid", "invalid", "acceptable"]


@attrs.frozen
class Case:
    """One request/response of the driver protocol, with the requirements it checks."""

    id: str
    requirements: tuple[str, ...]
    description: str
    command: str
    input: dict[str, Any]
    result: Result
    comment: str | None = None  # how the input was derived, for implementers
    error: str | None = None  # for invalid cases: the error code the author intends
    tolerance: dict[str, float] | None = None  # for f32 outputs (spec/16 section 2.1)


@attrs.frozen
class VectorFile:
    """A file `vectors/<folder>/<topic>.json` of one chapter."""

    folder: str  # e.g. "wire_format"
    chapter: str  # e.g. "03-wire-format"
    topic: str
    cases: tuple[Case, ...]
    comment: str | None = None


class GenerationError(Exception):
    """The reference's answer contradicts a case's declared intent."""


def compute_case_cid(command: str, args: dict[str, Any]) -> str:
    """A case's content address: BLAKE3 of its request as sorted, compact JSON (spec/16 2)."""
    request = json.dumps({"command": command, "input": args}, sort_keys=True,
                         separators=(",", ":"), ensure_ascii=False)
    return blake3.blake3(request.encode("utf-8")).hexdigest()[:32]


def build_case(case: Case) -> dict[str, Any]:
    """Run `case` through the reference in process and record its answer."""
    response = dispatch({"id": 0, "cmd": case.command, "args": case.input})
    out: dict[str, Any] = {
        "id": case.id,
        "cid": compute_case_cid(case.command, case.input),
        "requirements": list(case.requirements),
        "description": case.description,
    }
    if case.comment:
        out["_comment"] = case.comment
    out["command"] = case.command
    out["input"] = case.input
    out["result"] = case.result
    if response["ok"]:
        if case.result == "invalid":
            raise GenerationError(f"{case.id}: intended invalid, the reference accepted it")
        out["output"] = response["result"]
        if case.tolerance is not None:
            out["tolerance"] = case.tolerance
    else:
        code = response["error"]["code"]
        if case.result == "valid":
            raise GenerationError(f"{case.id}: intended valid, the reference said {code}: "
                                  f"{response['error']['message']}")
        if case.error is not None and case.error != code:
            raise GenerationError(f"{case.id}: intended {case.error}, the reference said {code}")
        out["error"] = {"code": code}
    return out


def build_file(vfile: VectorFile) -> dict[str, Any]:
    """The JSON document of one vector file."""
    ids = [c.id for c in vfile.cases]
    if len(ids) != len(set(ids)):
        raise GenerationError(f"{vfile.folder}/{vfile.topic}: duplicate case ids")
    doc: dict[str, Any] = {
        "format": FORMAT,
        "spec_version": SPEC_VERSION,
        "chapter": vfile.chapter,
        "topic": vfile.topic,
    }
    if vfile.comment:
        doc["_comment"] = vfile.comment
    doc["cases"] = [build_case(c) for c in vfile.cases]
    return doc


def dump_json(doc: Any) -> bytes:
    """The one byte form of every generated JSON file (stable across runs)."""
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def all_files() -> list[VectorFile]:
    """Every vector file of every chapter."""
    from tools.vectorgen import (
        authority,
        authority_log,
        boundaries,
        clocks,
        consolidation,
        data_model,
        engine,
        identifiers,
        lora,
        mesh,
        operations,
        projections,
        signatures,
        wavegen,
        wire_format,
    )

    sources: Iterable[Callable[[], list[VectorFile]]] = [
        wire_format.files,
        identifiers.files,
        clocks.files,
        signatures.files,
        boundaries.files,
        projections.files,
        operations.files,
        data_model.files,
        engine.files,
        authority.files,
        authority_log.files,
        lora.files,
        wavegen.files,
        consolidation.files,
        mesh.files,
    ]
    return [vfile for source in sources for vfile in source()]


def generate(out_dir: Path) -> list[Path]:
    """Write all vector files, the requirement catalogue and the manifest under `out_dir`."""
    from tools.fsm import load_machines, machines_catalogue
    from tools.spec import default_root as spec_root
    from tools.spec import load_spec

    spec = load_spec()
    written: dict[str, bytes] = {}
    for vfile in all_files():
        written[f"{vfile.folder}/{vfile.topic}.json"] = dump_json(build_file(vfile))
    written["requirements.json"] = dump_json(spec.catalogue())
    written["fsms.json"] = dump_json(machines_catalogue(load_machines(spec_root())))
    for rel, data in written.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    # External vectors (vectors/external/) are transcribed from their sources, not
    # generated; the manifest pins their bytes too.
    hashed = dict(written)
    for path in sorted((out_dir / "external").rglob("*.json")):
        hashed[path.relative_to(out_dir).as_posix()] = path.read_bytes()
    manifest = {
        "format": "strata-manifest/1",
        "spec_version": SPEC_VERSION,
        "generator_version": GENERATOR_VERSION,
        "files": {rel: blake3.blake3(data).hexdigest() for rel, data in sorted(hashed.items())},
    }
    (out_dir / "manifest.json").write_bytes(dump_json(manifest))
    return [out_dir / rel for rel in sorted(written)] + [out_dir / "manifest.json"]
