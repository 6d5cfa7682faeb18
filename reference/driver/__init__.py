"""The reference's side of the driver protocol (spec/16-conformance.md).

One module per chapter registers that chapter's commands; `dispatch` answers one
request, `serve` runs the JSON-lines loop.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import IO, Any

from reference._require import SpecViolation
from reference.driver import (  # noqa: F401 (registers the commands)
    authority,
    clocks,
    engine,
    identifiers,
    mesh,
    oplog,
    projections,
    signatures,
    wire_format,
)
from reference.driver._registry import COMMANDS, Args, Handler, command
from reference.introduction import SPEC_VERSION, ConformanceClass, ErrorCode

IMPLEMENTATION_NAME = "strata-reference"

# The torch-backed chapters register their commands on the first request naming
# one: a session that never asks for LoRA or WaveGen starts without importing
# torch (about 1.5 s of a driver's start-up).
LAZY_MODULES = {"lora.": "reference.driver.lora", "cons.": "reference.driver.consolidation",
                "wave.": "reference.driver.wavegen"}

# [INTRO-001] Classes the reference claims: Core, plus each class whose chapters it
# implements in full (each chapter's issue adds its class when it lands).
CLAIMED_CLASSES = [
    ConformanceClass.CORE,
    ConformanceClass.AUTHORITY,
    ConformanceClass.MESH,
    ConformanceClass.PROJECTIONS,
    ConformanceClass.ENGINE,
    ConformanceClass.LEARNING,
    ConformanceClass.WAVEGEN,
]


@command("hello")
def hello(args: Args) -> dict[str, Any]:
    """Identify the implementation and the classes it claims [CONF-002]."""
    return {
        "name": IMPLEMENTATION_NAME,
        "version": SPEC_VERSION,
        "spec_version": SPEC_VERSION,
        "classes": [str(c) for c in CLAIMED_CLASSES],
        "policies": {},
    }


def handler_for(name: str) -> Handler | None:
    """The handler of command `name`, loading its chapter's module on first use."""
    prefix = next((p for p in LAZY_MODULES if name.startswith(p)), None)
    if name not in COMMANDS and prefix is not None:
        importlib.import_module(LAZY_MODULES[prefix])
    return COMMANDS.get(name)


def dispatch(request: Any) -> dict[str, Any]:
    """Answer one decoded request object with `{ok, result}` or `{ok: false, error}` [CONF-004]."""
    rid = request.get("id") if isinstance(request, dict) else None
    try:
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            raise SpecViolation(
                "CONF-005", ErrorCode.E_BAD_REQUEST, "a request is an object with a string 'cmd'"
            )
        handler = handler_for(request["cmd"])
        if handler is None:
            raise SpecViolation(
                "CONF-006",
                ErrorCode.E_UNSUPPORTED_COMMAND,
                f"no command named {request['cmd']!r}",
            )
        raw_args = request.get("args", {})
        if not isinstance(raw_args, dict):
            raise SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, "'args' must be an object")
        result = handler(Args(raw_args))
        return {"id": rid, "ok": True, "result": result}
    except SpecViolation as violation:
        # [INTRO-002] every rejection carries one registered ErrorCode and a message.
        return {
            "id": rid,
            "ok": False,
            "error": {
                "code": str(violation.code),
                "message": violation.message,
                "requirement": violation.requirement,
            },
        }


def serve(stdin: IO[str], stdout: IO[str]) -> None:
    """Read one JSON request per line and write one JSON response per line [CONF-003]."""
    for line in stdin:  # [CONF-001] a rejection never ends the session
        # spec/16 section 3: an implementation may ignore white-space-only lines (or answer them).
        # equivalent mutant (stmt-remove): answering a blank line is also conforming (MAY)
        if not line.strip():
            # equivalent mutant (stmt-remove): spec/16 section 3 lets white-space lines be
            # answered: without `continue` the line gets an E_BAD_REQUEST answer, also conforming
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            response: dict[str, Any] = {
                "id": None,
                "ok": False,
                "error": {"code": str(ErrorCode.E_BAD_REQUEST), "message": f"not JSON: {exc}"},
            }
        else:
            response = dispatch(request)
        # equivalent mutant (const): JSON object member order carries no meaning (RFC 8259)
        stdout.write(json.dumps(response, separators=(",", ":"), sort_keys=True) + "\n")
        # equivalent mutant (stmt-remove): the harness starts adapters with PYTHONUNBUFFERED=1
        # (conformance/driver.py), so each write reaches it at once with or without the flush
        stdout.flush()


def main() -> None:
    """Entry point of `python -m reference.adapter`."""
    serve(sys.stdin, sys.stdout)
