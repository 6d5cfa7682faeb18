"""Negative controls of chapter 07 section 7: a log with a mesh root that misjudges authority.

Each replaces methods of `reference.oplog.OpLog`. The harness
(conformance/suites/authority_log.py and vectors/authority/oplog.json) must fail both.
"""

from __future__ import annotations

from typing import cast

from reference import oplog, ucan
from reference._require import SpecViolation
from reference.introduction import ErrorCode
from tools.controls import control

_END_OF_TIME: ucan.Ts = (2**48, 0, b"\xff" * 32)  # after every timestamp a log can hold


def _never_redecide(self: oplog.OpLog) -> bool:
    return False


@control("log-skip-authority", "UCAN-037",
         "a log with a mesh root appends every op without authorizing it")
def skip_authority() -> None:
    def authorize(self: oplog.OpLog, op: oplog.StoredOp) -> ErrorCode | None:
        return None

    oplog.OpLog._authorize = authorize  # type: ignore[method-assign]
    oplog.OpLog._redecide = _never_redecide  # type: ignore[method-assign]


@control("log-authorize-at-receipt", "UCAN-035",
         "each op is judged once, against every delegation and revocation the log holds when "
         "it arrives, not those before it in the total order")
def authorize_at_receipt() -> None:
    def authorize(self: oplog.OpLog, op: oplog.StoredOp) -> ErrorCode | None:
        if self.root is None:
            return None
        tokens: dict[bytes, ucan.Token] = {}
        revocations: list[ucan.Revocation] = []
        for verdict in ucan.replay(self._authority_items(_END_OF_TIME), self.root):
            if verdict.error is not None:
                continue
            payload = verdict.env.payload
            if payload.get("type") == "DelegateUcan":
                token = ucan.verify_token(cast(bytes, payload["token"]))
                tokens[token.hash] = token
            else:
                revocations.append(ucan.Revocation(cast(bytes, payload["token_hash"]),
                                                   ucan.get_principal(verdict.env.author),
                                                   verdict.env.ts))
        try:
            ucan.authorize(op.env, tokens, revocations, self.root, op.san)
        except SpecViolation as violation:
            if violation.code == ErrorCode.E_UCAN_PROOF_MISSING:
                return ErrorCode.E_UCAN_PROOF_MISSING
            raise
        return None

    oplog.OpLog._authorize = authorize  # type: ignore[method-assign]
    oplog.OpLog._redecide = _never_redecide  # type: ignore[method-assign]
