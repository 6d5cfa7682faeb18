"""Driver commands of chapters 07 and 08: tokens, authorization, sanitization, capabilities.

See spec/07-ucan-and-caveats.md section 9 and spec/08-capabilities.md section 6.
Tokens, ops and hashes travel as lowercase hex; capabilities as JSON objects
`{"with", "can", "nb"}` whose caveat lists are arrays of strings.
"""

from __future__ import annotations

from typing import Any, cast

from reference import capabilities, identifiers, ucan, wire_format
from reference._require import SpecViolation
from reference.driver._registry import Args, command
from reference.introduction import ErrorCode
from reference.wire_format import Value


def _bad(message: str) -> SpecViolation:
    return SpecViolation("CONF-005", ErrorCode.E_BAD_REQUEST, message)


def _capability(raw: Any) -> ucan.Capability:
    """A capability given as a JSON object, checked as a token's `cap` entry is."""
    if not isinstance(raw, dict):
        raise _bad("a capability is an object {with, can, nb}")
    return ucan.check_capability(cast(Value, raw))


def _capability_json(cap: ucan.Capability) -> dict[str, Any]:
    return {"with": cap.resource, "can": cap.ability,
            "nb": {k: list(v) for k, v in cap.caveats.items()}}


def _ts(raw: Any) -> ucan.Ts:
    """An HLC timestamp given as [wall_ms, logical, node hex]."""
    if not (isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], int)
            and isinstance(raw[1], int) and isinstance(raw[2], str)):
        raise _bad("a timestamp is [wall_ms, logical, node hex]")
    return (raw[0], raw[1], wire_format.decode_hex(raw[2]))


def _hexes(values: list[Any], what: str) -> list[bytes]:
    if not all(isinstance(v, str) for v in values):
        raise _bad(f"{what} is an array of hex strings")
    return [wire_format.decode_hex(v) for v in values]


def _root(args: Args) -> str:
    """The mesh root: a did:key (spec/04 section 5; chapter 07 section 2)."""
    root = args.text("root")
    identifiers.decode_did_key(root)
    return root


def _tokens(args: Args) -> dict[bytes, ucan.Token]:
    """The tokens of a request, each decoded and verified in the order given."""
    tokens = [ucan.verify_token(data) for data in _hexes(args.list("tokens"), "'tokens'")]
    return {t.hash: t for t in tokens}


def _revocations(args: Args) -> list[ucan.Revocation]:
    out = []
    for raw in args.list("revocations"):
        if not isinstance(raw, dict):
            raise _bad("a revocation is an object {token_hash, by, ts}")
        r = Args(raw)
        out.append(ucan.Revocation(r.bytes("token_hash"), r.text("by"), _ts(r.any("ts"))))
    return out


@command("ucan.issue")
def ucan_issue(args: Args) -> dict[str, Any]:
    """Issue a token as the did:key of `seed` (07 section 3); {token, hash}."""
    exp = args.any("exp")
    if exp is not None and (not isinstance(exp, int) or isinstance(exp, bool)):
        raise _bad("'exp' is an integer or null")
    token = ucan.issue_token(
        args.bytes("seed"), args.text("aud"), args.text("sub"),
        [_capability(c) for c in args.list("cap")], args.int("nbf"), exp,
        args.bytes("nonce"), _hexes(args.list("prf"), "'prf'"))
    return {"token": token.data.hex(), "hash": token.hash.hex()}


@command("ucan.verify")
def ucan_verify(args: Args) -> dict[str, Any]:
    """Decode and verify a token (07 sections 3.1 and 3.2); its fields and hash."""
    token = ucan.verify_token(args.bytes("token"))
    return {
        "hash": token.hash.hex(), "iss": token.iss, "aud": token.aud, "sub": token.sub,
        "cap": [_capability_json(c) for c in token.capabilities],
        "nbf": token.nbf, "exp": ucan.get_expiry_instant(token), "nonce": token.nonce.hex(),
        "prf": [p.hex() for p in token.proofs],
    }


@command("ucan.authorize")
def ucan_authorize(args: Args) -> dict[str, Any]:
    """Check an op, then authorize it against given tokens and revocations (07 section 6)."""
    root = _root(args)
    tokens = _tokens(args)
    revocations = _revocations(args)
    op = ucan.check_op(args.bytes("op"))
    grant = ucan.authorize(op.env, tokens, revocations, root, op.san)
    out: dict[str, Any] = {"chain": [h.hex() for h in grant.chain]}
    if grant.filter_chain is not None:
        out["filter_chain"] = [h.hex() for h in grant.filter_chain]
    return out


@command("ucan.replay")
def ucan_replay(args: Args) -> dict[str, Any]:
    """Decide each op of a log in the total order (07 section 7); one verdict per op."""
    root = _root(args)
    checked: dict[bytes, ucan.CheckedOp] = {}
    for data in _hexes(args.list("ops"), "'ops'"):
        op = ucan.check_op(data)
        checked[op.hash] = op
    stamps = [op.env.ts for op in checked.values()]
    if len(set(stamps)) != len(stamps):
        raise _bad("two different ops have the same timestamp (spec/01 DM-019)")
    verdicts = ucan.replay([(op.env, op.san, op.hash) for op in checked.values()], root)
    out = []
    for v in verdicts:
        if v.error is None:
            out.append({"hash": v.hash.hex(), "ok": True})
        else:
            out.append({"hash": v.hash.hex(), "ok": False, "code": str(v.error.code)})
    return {"ops": out}


@command("ucan.sanitize")
def ucan_sanitize(args: Args) -> dict[str, Any]:
    """Withhold fields of a signed op as the filter of `seed` (07 section 8.4); {op, hash}."""
    fields = args.list("fields")
    if not all(isinstance(f, str) for f in fields):
        raise _bad("'fields' is an array of field names")
    data = ucan.sanitize_op(args.bytes("seed"), args.bytes("op"), fields)
    return {"op": data.hex(), "hash": identifiers.compute_op_hash(data).hex()}


@command("ucan.check_op")
def ucan_check_op(args: Args) -> dict[str, Any]:
    """The context-free checks of an op, sanitized or signed (07 section 8.3)."""
    op = ucan.check_op(args.bytes("op"))
    out: dict[str, Any] = {"hash": op.hash.hex(), "sanitized": op.san is not None}
    if op.san is not None:
        out["by"] = op.san.by.hex()
        out["of"] = op.san.of.hex()
        out["fields"] = list(op.san.fields)
    return out


@command("ucan.sanitized_form")
def ucan_sanitized_form(args: Args) -> dict[str, Any]:
    """Whether a sanitized op and an original are one operation (07 section 8.5)."""
    sanitized = ucan.check_op(args.bytes("sanitized"))
    original = ucan.check_op(args.bytes("original"))
    return {"same": ucan.is_sanitized_form_of(sanitized, original)}


@command("cap.requirement")
def cap_requirement(args: Args) -> dict[str, Any]:
    """The (action, resource) an op's payload needs (08 section 2); payload as CBOR hex."""
    payload = wire_format.decode_canonical(args.bytes("payload"))
    if not isinstance(payload, dict):
        raise _bad("'payload' is the canonical CBOR of a map")
    req = capabilities.get_requirement(payload)
    return {"action": req.action, "resource": req.resource}


@command("cap.covers")
def cap_covers(args: Args) -> dict[str, Any]:
    """Whether capability `parent` covers `child` (07 section 5, 08 section 4)."""
    parent, child = _capability(args.any("parent")), _capability(args.any("child"))
    return {"covers": ucan.is_capability_covered(parent, child)}
