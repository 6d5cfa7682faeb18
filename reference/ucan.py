"""Chapter 07: delegation tokens, caveats, chains, revocation (spec/07-ucan-and-caveats.md).

A token is a deterministic-CBOR map signed by its issuer's did:key over the
JWS signing input of chapter 06. An op is authorized when a path of tokens
leads from the mesh root to its author, every link valid at the op's
timestamp and every capability on the path attenuated from the one above
(section 6). The authority of a whole log is decided op by op in the total
order (section 7); sanitization records (section 8) end the module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import attrs

from reference import capabilities, identifiers, operations, signatures, wire_format
from reference._require import SpecViolation, require
from reference.capabilities import Requirement
from reference.introduction import ErrorCode
from reference.wire_format import Envelope, Value

Ts = tuple[int, int, bytes]

TOKEN_VERSION = "strata-ucan/1"
TOKEN_KEYS = frozenset({"v", "iss", "aud", "sub", "cap", "nbf", "exp", "nonce", "prf", "sig"})
CAPABILITY_KEYS = frozenset({"with", "can", "nb"})
MAX_CAPABILITIES = 16
MAX_PROOFS = 4
MAX_CHAIN_DEPTH = 8  # tokens on a path, the leaf and the root-issued token included
NONCE_BYTES = 16
TIME_MAX = 2**48 - 1  # the width of an HLC wall_ms (spec/05)
CAVEAT_KEYS = ("source_types", "types")
MAX_CAVEAT_VALUES = 64
TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
BAD = ErrorCode.E_UCAN_MALFORMED

Caveats = dict[str, tuple[str, ...]]


@attrs.frozen
class Capability:
    """One entry of a token's `cap`: a resource, an ability and caveats (section 3.1)."""

    resource: str  # "with"
    ability: str  # "can"
    caveats: Caveats = attrs.Factory(dict)  # "nb"

    def to_value(self) -> dict[str, Value]:
        nb: dict[str, Value] = {k: list(v) for k, v in self.caveats.items()}
        return {"with": self.resource, "can": self.ability, "nb": nb}


@attrs.frozen
class Token:
    """A decoded, well-formed delegation token with its canonical bytes and hash."""

    iss: str
    aud: str
    sub: str
    capabilities: tuple[Capability, ...]
    nbf: int
    exp: int | None
    nonce: bytes
    proofs: tuple[bytes, ...]
    sig: bytes
    data: bytes
    hash: bytes


def compute_token_value(
    iss: str, aud: str, sub: str, caps: Sequence[Capability], nbf: int, exp: int | None,
    nonce: bytes, proofs: Sequence[bytes], sig: bytes | None,
) -> dict[str, Value]:
    """The token map of section 3.1 (sig null for the signing payload)."""
    return {
        "v": TOKEN_VERSION, "iss": iss, "aud": aud, "sub": sub,
        "cap": [c.to_value() for c in caps], "nbf": nbf, "exp": exp,
        "nonce": nonce, "prf": list(proofs), "sig": sig,
    }


def compute_token_signing_input(value: Mapping[str, Value]) -> bytes:
    """SI(issuer key, canonical token with sig null) (section 3.2) [UCAN-013]."""
    unsigned = dict(value)
    unsigned["sig"] = None
    issuer_key = identifiers.decode_did_key(cast(str, value["iss"]))
    return signatures.compute_signing_input(issuer_key, wire_format.encode_canonical(unsigned))


def compute_token_hash(data: bytes) -> bytes:
    """The ContentHash of a token's canonical bytes, sig included (section 3.3) [UCAN-015]."""
    return identifiers.compute_content_hash(data)


def issue_token(
    seed: bytes, aud: str, sub: str, caps: Sequence[Capability], nbf: int, exp: int | None,
    nonce: bytes, proofs: Sequence[bytes],
) -> Token:
    """Sign a token as the did:key of `seed`; the result is checked like any received token."""
    iss = identifiers.encode_did_key(signatures.compute_public_key(seed))
    value = compute_token_value(iss, aud, sub, caps, nbf, exp, nonce, sorted(proofs), None)
    decode_token(wire_format.encode_canonical({**value, "sig": bytes(64)}))  # shape first
    sig = signatures.sign(seed, compute_token_signing_input(value))  # [UCAN-013]
    return verify_token(wire_format.encode_canonical({**value, "sig": sig}))


# --- decoding (section 3) ---------------------------------------------------------


def _is_uint(x: Value) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _check_did(value: Value, name: str) -> str:
    """A principal: a did:key in its one spelling (section 2) [UCAN-005]."""
    require(isinstance(value, str), "UCAN-005", BAD, f"{name!r} is not text")
    try:
        identifiers.decode_did_key(cast(str, value))
    except SpecViolation as violation:
        require(False, "UCAN-005", BAD, f"{name!r} is not an Ed25519 did:key: "
                                        f"{violation.message}")
    return cast(str, value)


def _check_names(value: Value, key: str) -> tuple[str, ...]:
    """A caveat's list: 1 to 64 names, strictly ascending by UTF-8 bytes (section 5) [UCAN-017]."""
    require(isinstance(value, list) and 1 <= len(value) <= MAX_CAVEAT_VALUES, "UCAN-017", BAD,
            f"caveat {key!r} is not an array of 1 to {MAX_CAVEAT_VALUES} names")
    items = cast(list[Value], value)
    grammar = operations.NAME if key == "source_types" else TYPE_NAME
    for item in items:
        require(isinstance(item, str) and grammar.fullmatch(item) is not None, "UCAN-017", BAD,
                f"caveat {key!r} holds {str(item)[:40]!r}, not a {key[:-1]}")
    raw = [cast(str, i).encode("utf-8") for i in items]
    require(all(a < b for a, b in zip(raw, raw[1:], strict=False)), "UCAN-017", BAD,
            f"caveat {key!r} is not strictly ascending")
    return tuple(cast(list[str], items))


def check_caveats(value: Value) -> Caveats:
    """A capability's `nb`: a map of known caveat keys (section 5) [UCAN-016]."""
    require(isinstance(value, dict), "UCAN-016", BAD, "'nb' is not a map")
    nb = cast(dict[str, Value], value)
    unknown = sorted(set(nb) - set(CAVEAT_KEYS))
    require(not unknown, "UCAN-016", BAD, f"unknown caveat keys {unknown}")
    return {key: _check_names(nb[key], key) for key in CAVEAT_KEYS if key in nb}


def check_capability(value: Value) -> Capability:
    """One `cap` entry: exactly with, can and nb (section 3.1) [UCAN-008]."""
    require(isinstance(value, dict) and set(value) == CAPABILITY_KEYS, "UCAN-008", BAD,
            "a capability is a map of exactly 'with', 'can' and 'nb'")
    cap = cast(dict[str, Value], value)
    resource = capabilities.check_resource(cap["with"])
    ability = capabilities.check_ability(cap["can"])
    return Capability(resource, ability, check_caveats(cap["nb"]))


def decode_token(data: bytes) -> Token:
    """Decode a token and check its shape, in the order of section 3.1 [UCAN-012]."""
    value = wire_format.decode_canonical(data)  # [UCAN-002] chapter 03's codes
    require(isinstance(value, dict), "UCAN-003", BAD, "a token is a map")
    tok = cast(dict[str, Value], value)
    keys = set(tok)
    require(keys == TOKEN_KEYS, "UCAN-003", BAD,
            f"token keys: missing {sorted(TOKEN_KEYS - keys)}, unknown {sorted(keys - TOKEN_KEYS)}")
    require(tok["v"] == TOKEN_VERSION and isinstance(tok["v"], str), "UCAN-004", BAD,
            f"token version {tok['v']!r} is not {TOKEN_VERSION!r}")
    iss = _check_did(tok["iss"], "iss")
    aud = _check_did(tok["aud"], "aud")
    sub = _check_did(tok["sub"], "sub")
    nbf, exp = tok["nbf"], tok["exp"]
    require(_is_uint(nbf) and cast(int, nbf) <= TIME_MAX, "UCAN-006", BAD,
            "'nbf' is not an integer from 0 to 2^48-1")
    require(exp is None or (_is_uint(exp) and cast(int, exp) <= TIME_MAX), "UCAN-006", BAD,
            "'exp' is neither null nor an integer from 0 to 2^48-1")
    require(exp is None or cast(int, nbf) < cast(int, exp), "UCAN-006", BAD,
            f"'nbf' {nbf!r} is not before 'exp' {exp!r}")
    nonce = tok["nonce"]
    require(isinstance(nonce, bytes) and len(nonce) == NONCE_BYTES, "UCAN-007", BAD,
            f"'nonce' is not {NONCE_BYTES} bytes")
    caps = tok["cap"]
    require(isinstance(caps, list) and 1 <= len(caps) <= MAX_CAPABILITIES, "UCAN-008", BAD,
            f"'cap' is not an array of 1 to {MAX_CAPABILITIES} capabilities")
    parsed = tuple(check_capability(c) for c in cast(list[Value], caps))
    prf = tok["prf"]
    require(isinstance(prf, list) and len(prf) <= MAX_PROOFS
            and all(isinstance(p, bytes) and len(p) == 32 for p in prf), "UCAN-009", BAD,
            f"'prf' is not an array of at most {MAX_PROOFS} 32-byte hashes")
    proofs = cast(list[bytes], prf)
    require(all(a < b for a, b in zip(proofs, proofs[1:], strict=False)), "UCAN-009", BAD,
            "'prf' is not strictly ascending")
    require((iss == sub) == (not proofs), "UCAN-010", BAD,
            "a token has proofs exactly when its issuer is not its subject")
    sig = tok["sig"]
    require(isinstance(sig, bytes) and len(sig) == 64, "UCAN-011", BAD,
            "'sig' is not a 64-byte signature")
    return Token(iss, aud, sub, parsed, cast(int, nbf), cast(int | None, exp),
                 cast(bytes, nonce), tuple(proofs), cast(bytes, sig), data,
                 compute_token_hash(data))


def verify_token(data: bytes) -> Token:
    """Decode a token, then verify its issuer's signature (section 3.2) [UCAN-014]."""
    token = decode_token(data)
    value = cast(dict[str, Value], wire_format.decode_canonical(data))
    issuer_key = identifiers.decode_did_key(token.iss)
    try:
        signatures.verify_signature(issuer_key, compute_token_signing_input(value), token.sig)
    except SpecViolation as violation:
        require(False, "UCAN-014", ErrorCode.E_UCAN_SIGNATURE,
                f"the token's signature does not verify under its issuer: {violation.message}")
    return token


# --- caveats and attenuation (sections 5 and 6) ----------------------------------------


def is_caveat_satisfied(caveats: Mapping[str, Sequence[str]],
                        payload: Mapping[str, Value]) -> bool:
    """Whether a payload meets every caveat, keys taken together (AND) (section 5) [UCAN-018]."""
    for key, allowed in caveats.items():
        if key == "types" and payload.get("type") not in allowed:
            return False
        if key == "source_types" and "source_type" in payload \
                and payload["source_type"] not in allowed:
            return False
    return True


def is_caveat_narrower(parent: Mapping[str, Sequence[str]],
                       child: Mapping[str, Sequence[str]]) -> bool:
    """Whether `child` implies every caveat of `parent` (section 5) [UCAN-019]."""
    return all(key in child and set(child[key]) <= set(values)
               for key, values in parent.items())


def is_capability_covered(parent: Capability, child: Capability) -> bool:
    """Whether `parent` covers `child`: ability, resource and caveats all narrower [UCAN-020]."""
    return (capabilities.is_ability_covered(parent.ability, child.ability)
            and capabilities.is_resource_covered(parent.resource, child.resource)
            and is_caveat_narrower(parent.caveats, child.caveats))


def is_expired(token: Token, wall_ms: int) -> bool:
    """Whether the op's instant is at or after the token's exp (section 6.2) [UCAN-027]."""
    return token.exp is not None and wall_ms >= token.exp


def is_not_yet_valid(token: Token, wall_ms: int) -> bool:
    """Whether the op's instant is before the token's nbf (section 6.2) [UCAN-026]."""
    return wall_ms < token.nbf


def get_expiry_instant(token: Token) -> int | None:
    """The instant, in ms, at which the delegation expires (spec/12 FSM-008) [UCAN-038]."""
    return token.exp


# --- revocation (section 7) -----------------------------------------------------


@attrs.frozen
class Revocation:
    """A RevokeUcan op's effect: which token, by which principal, at which timestamp."""

    token_hash: bytes
    by: str  # the principal (did:key) of the RevokeUcan op's author
    ts: Ts


def is_revoked(token_hash: bytes, revokers: frozenset[str], revocations: Sequence[Revocation],
               ts: Ts) -> bool:
    """Whether a revocation by an issuer on the path, before `ts`, names the token [UCAN-032]."""
    return any(r.token_hash == token_hash and r.by in revokers and r.ts < ts
               for r in revocations)


# --- the chain walk (section 6) ---------------------------------------------------


@attrs.frozen
class _Walk:
    """What is fixed while the paths of one principal are walked."""

    tokens: Mapping[bytes, Token]
    root: str
    ts: Ts
    requirement: Requirement
    payload: Mapping[str, Value]
    revocations: Sequence[Revocation]


def _check_link(w: _Walk, path: list[bytes], audience: str,
                below: tuple[Capability, ...] | None) -> tuple[Token, tuple[Capability, ...]]:
    """Checks 1 to 9 of section 6.2 on the last link of `path`; the capabilities it passes on."""
    token = w.tokens.get(path[-1])
    require(token is not None, "UCAN-023", ErrorCode.E_UCAN_PROOF_MISSING,
            f"token {path[-1].hex()} is not in the log")
    token = cast(Token, token)
    require(token.sub == w.root, "UCAN-024", ErrorCode.E_UCAN_WRONG_ROOT,
            f"token {token.hash.hex()[:16]} has subject {token.sub}, not the mesh root")
    require(token.aud == audience, "UCAN-025", ErrorCode.E_UCAN_BROKEN_CHAIN,
            f"token {token.hash.hex()[:16]} is delegated to {token.aud}, not {audience}")
    wall_ms = w.ts[0]
    require(not is_not_yet_valid(token, wall_ms), "UCAN-026", ErrorCode.E_UCAN_NOT_YET_VALID,
            f"token {token.hash.hex()[:16]} is valid from {token.nbf}, the op is at {wall_ms}")
    require(not is_expired(token, wall_ms), "UCAN-027", ErrorCode.E_UCAN_EXPIRED,
            f"token {token.hash.hex()[:16]} expired at {token.exp}, the op is at {wall_ms}")
    req = w.requirement
    if below is None:  # the leaf: a capability must admit the op
        matching = tuple(c for c in token.capabilities
                         if capabilities.is_ability_covered(c.ability, req.action)
                         and capabilities.is_resource_covered(c.resource, req.resource))
        require(bool(matching), "UCAN-028", ErrorCode.E_UNAUTHORIZED,
                f"no capability of the leaf token admits {req.action} on {req.resource}")
        passed = tuple(c for c in matching if is_caveat_satisfied(c.caveats, w.payload))
        require(bool(passed), "UCAN-029", ErrorCode.E_UCAN_CAVEAT,
                f"the payload breaks the caveats of every capability admitting {req.action}")
    else:  # a proof: a capability must cover one passed up from the link below
        passed = tuple(c for c in token.capabilities
                       if any(is_capability_covered(c, d) for d in below))
        require(bool(passed), "UCAN-030", ErrorCode.E_UCAN_ATTENUATION,
                f"no capability of token {token.hash.hex()[:16]} covers the one delegated "
                "below it")
    if token.iss != token.sub:
        require(len(path) < MAX_CHAIN_DEPTH, "UCAN-031", ErrorCode.E_UCAN_DEPTH,
                f"the chain does not reach the root within {MAX_CHAIN_DEPTH} tokens")
    return token, passed


def _check_revocations(w: _Walk, path: list[bytes]) -> None:
    """Check 10 of section 6.2: no link revoked by its issuer or one above it [UCAN-032]."""
    links = [w.tokens[h] for h in path]
    for i, token in enumerate(links):
        revokers = frozenset(t.iss for t in links[i:])
        require(not is_revoked(token.hash, revokers, w.revocations, w.ts), "UCAN-032",
                ErrorCode.E_UCAN_REVOKED,
                f"token {token.hash.hex()[:16]} was revoked before the op")


def _walk(w: _Walk, path: list[bytes], audience: str, below: tuple[Capability, ...] | None,
          errors: list[SpecViolation]) -> tuple[bytes, ...] | None:
    """Depth-first over the paths from `path`, proofs in ascending order (section 6.1)."""
    try:
        token, passed = _check_link(w, path, audience, below)
        if token.iss == token.sub:  # the root-issued top of the path
            _check_revocations(w, path)
            return tuple(path)
    except SpecViolation as violation:
        errors.append(violation)
        return None
    for proof in token.proofs:
        found = _walk(w, [*path, proof], token.iss, passed, errors)
        if found is not None:
            return found
    return None


def _pick_error(errors: list[SpecViolation]) -> SpecViolation:
    """The error of a failed walk: the first missing proof, else the first path's [UCAN-033]."""
    for violation in errors:
        if violation.code == ErrorCode.E_UCAN_PROOF_MISSING:
            return violation
    return errors[0]


def check_chain(tokens: Mapping[bytes, Token], leaf_hash: bytes, principal: str, root: str,
                ts: Ts, requirement: Requirement, payload: Mapping[str, Value],
                revocations: Sequence[Revocation]) -> tuple[bytes, ...]:
    """The first path from `leaf_hash` that authorizes the op (section 6.2); raise if none."""
    w = _Walk(tokens, root, ts, requirement, payload, revocations)
    errors: list[SpecViolation] = []
    found = _walk(w, [leaf_hash], principal, None, errors)
    if found is None:
        raise _pick_error(errors)
    return found


def check_principal(tokens: Mapping[bytes, Token], principal: str, root: str, ts: Ts,
                    requirement: Requirement, payload: Mapping[str, Value],
                    revocations: Sequence[Revocation]) -> tuple[bytes, ...]:
    """Whether `principal` holds `requirement` at `ts`; the chain that shows it (section 6.1)."""
    if principal == root:
        return ()  # [UCAN-021] the root holds every capability over itself
    leaves = sorted(h for h, t in tokens.items() if t.aud == principal)
    require(bool(leaves), "UCAN-022", ErrorCode.E_UCAN_PROOF_MISSING,
            f"no token in the log is delegated to {principal}")
    errors: list[SpecViolation] = []
    for leaf in leaves:  # [UCAN-022] leaves in ascending order of hash
        try:
            return check_chain(tokens, leaf, principal, root, ts, requirement, payload,
                               revocations)
        except SpecViolation as violation:
            errors.append(violation)
    raise _pick_error(errors)


@attrs.frozen
class Grant:
    """An authorized op: the chain of its author and, for a sanitized op, of its filter."""

    chain: tuple[bytes, ...]
    filter_chain: tuple[bytes, ...] | None = None


def get_principal(node: bytes) -> str:
    """A node's principal: the did:key of its NodeId (section 2) [UCAN-001]."""
    return identifiers.encode_did_key(node)


def authorize(env: Envelope, tokens: Mapping[bytes, Token], revocations: Sequence[Revocation],
              root: str, san: Sanitization | None = None) -> Grant:
    """Authorize a checked op against the log's tokens and revocations (section 6.3)."""
    payload = env.payload
    if payload.get("type") == "DelegateUcan":
        own = verify_token(cast(bytes, payload["token"]))  # [UCAN-034]
        tokens = {**tokens, own.hash: own}  # [UCAN-034] its own token counts for it
    requirement = capabilities.get_requirement(payload)
    chain = check_principal(tokens, get_principal(env.author), root, env.ts, requirement,
                            payload, revocations)
    if san is None:
        return Grant(chain)
    # [UCAN-045] the filter needs op/sanitize on the op's resource at the op's timestamp
    filter_chain = check_principal(tokens, get_principal(san.by), root, env.ts,
                                   capabilities.get_sanitize_requirement(payload), payload,
                                   revocations)
    return Grant(chain, filter_chain)


# --- the authority of a log (section 7.2) -------------------------------------------


@attrs.frozen
class Verdict:
    """The outcome for one op of a log: its hash, and its grant or its rejection."""

    hash: bytes
    env: Envelope
    grant: Grant | None
    error: SpecViolation | None


def replay(ops: Iterable[tuple[Envelope, Sanitization | None, bytes]], root: str) -> list[Verdict]:
    """Decide every op of a log in the total order against the authorized ops before it (7.2)."""
    tokens: dict[bytes, Token] = {}
    revocations: list[Revocation] = []
    out: list[Verdict] = []
    for env, san, op_hash in sorted(ops, key=lambda item: item[0].ts):
        try:
            # [UCAN-035] only the authorized ops before this one count; [UCAN-036] each op
            # is decided against them, so the verdicts are a function of the set of ops
            grant = authorize(env, tokens, revocations, root, san)
        except SpecViolation as violation:
            out.append(Verdict(op_hash, env, None, violation))
            continue
        out.append(Verdict(op_hash, env, grant, None))
        kind = env.payload.get("type")
        if kind == "DelegateUcan":
            token = verify_token(cast(bytes, env.payload["token"]))
            tokens[token.hash] = token
        elif kind == "RevokeUcan":
            revocations.append(Revocation(cast(bytes, env.payload["token_hash"]),
                                          get_principal(env.author), env.ts))
    return out


def authorize_in_log(env: Envelope, san: Sanitization | None,
                     log: Iterable[tuple[Envelope, Sanitization | None, bytes]],
                     root: str) -> Grant:
    """Authorize an op against the authorized ops before it in a log (section 7.2) [UCAN-035]."""
    # equivalent mutant (cmp-flip): its one caller, the op log, passes only ops before env.ts
    earlier = [item for item in log if item[0].ts < env.ts]
    tokens: dict[bytes, Token] = {}
    revocations: list[Revocation] = []
    for verdict in replay(earlier, root):
        if verdict.error is not None:
            continue
        kind = verdict.env.payload.get("type")
        if kind == "DelegateUcan":
            token = verify_token(cast(bytes, verdict.env.payload["token"]))
            tokens[token.hash] = token
        elif kind == "RevokeUcan":
            revocations.append(Revocation(cast(bytes, verdict.env.payload["token_hash"]),
                                          get_principal(verdict.env.author), verdict.env.ts))
    return authorize(env, tokens, revocations, root, san)


# --- sanitization (section 8) -------------------------------------------------------

SAN_KEYS = frozenset({"by", "fields", "of", "sig"})
MISSING = ErrorCode.E_SIGNATURE_MISSING

# Section 8.2: the fields a filter may withhold, per variant: exactly the fields of
# types text(a, b), map and any of chapter 02 section 3. No id, hash, name, uint,
# token or reserved-variant field is withholdable.
WITHHOLDABLE: dict[str, tuple[str, ...]] = {
    "IngestEvidence": ("anchor", "metadata"),
    "TombstoneEvidence": ("reason",),
    "CascadeTombstone": ("reason",),
    "AssertClaim": ("predicate", "object"),
    "RejectClaim": ("reason",),
    "CreateEntity": ("attributes",),
    "RecordEpisode": ("summary",),
    "ProposeAction": ("description",),
    "FailJob": ("reason",),
    "RevokeUcan": ("reason",),
}


@attrs.frozen
class Sanitization:
    """A sanitization record: who filtered, the original op's hash, what was withheld."""

    by: bytes  # the filter's NodeId
    of: bytes  # the hash of the original signed op (spec/04 section 4)
    fields: tuple[str, ...]
    sig: bytes | None

    def to_value(self) -> dict[str, Value]:
        fields: list[Value] = list(self.fields)
        return {"by": self.by, "fields": fields, "of": self.of, "sig": self.sig}


def decode_sanitization(value: Value) -> Sanitization:
    """The record's shape: exactly by, fields, of and sig (section 8.1) [UCAN-040]."""
    require(isinstance(value, dict) and set(value) == SAN_KEYS, "UCAN-040", MISSING,
            "a sanitization record is a map of exactly 'by', 'fields', 'of' and 'sig'")
    san = cast(dict[str, Value], value)
    by, fields, of, sig = san["by"], san["fields"], san["of"], san["sig"]
    require(isinstance(by, bytes) and len(by) == 32, "UCAN-040", MISSING,
            "'by' is not a 32-byte NodeId")
    require(isinstance(fields, list) and all(isinstance(f, str) for f in fields), "UCAN-040",
            MISSING, "'fields' is not an array of text")
    require(isinstance(of, bytes) and len(of) == 32, "UCAN-040", MISSING,
            "'of' is not a 32-byte op hash")
    require(isinstance(sig, bytes) and len(sig) == 64, "UCAN-040", MISSING,
            "'sig' is not a 64-byte signature")
    return Sanitization(cast(bytes, by), cast(bytes, of), tuple(cast(list[str], fields)),
                        cast(bytes, sig))


def encode_sanitized(env: Envelope, san: Sanitization) -> bytes:
    """The canonical bytes of a sanitized envelope: chapter 03's keys plus `san` (section 8.1)."""
    value = env.to_value()
    value["san"] = san.to_value()
    return wire_format.encode_canonical(value)


def compute_sanitized_signing_input(env: Envelope, san: Sanitization) -> bytes:
    """SI(by, the sanitized envelope with sig and san.sig null) (section 8.3) [UCAN-043]."""
    unsigned = attrs.evolve(env, sig=None)
    return signatures.compute_signing_input(
        san.by, encode_sanitized(unsigned, attrs.evolve(san, sig=None)))


def split_sanitization(data: bytes) -> tuple[Envelope, Value | None]:
    """Decode an envelope that may carry `san` (section 8.1); return it and the raw record."""
    value = wire_format.decode_canonical(data)
    if not (isinstance(value, dict) and "san" in value):
        return wire_format.decode_envelope(data), None
    rest = {k: v for k, v in value.items() if k != "san"}
    env = wire_format.decode_envelope(wire_format.encode_canonical(rest))
    bad = ErrorCode.E_ENVELOPE_INVALID
    require(env.sig is None, "UCAN-039", bad, "an envelope with 'san' has a non-null 'sig'")
    require(isinstance(value["san"], dict), "UCAN-039", bad, "'san' is not a map")
    return env, value["san"]


def _utf8_order(fields: Iterable[str]) -> list[str]:
    return sorted(fields, key=lambda f: f.encode("utf-8"))


def verify_sanitization(env: Envelope, san_value: Value) -> Sanitization:
    """Verify an unsigned op's sanitization record: shape, fields, nulls, signature (8.1-8.3)."""
    san = decode_sanitization(san_value)
    kind = cast(str, env.payload.get("type"))
    allowed = WITHHOLDABLE.get(kind, ())
    require(len(san.fields) >= 1 and list(san.fields) == _utf8_order(set(san.fields))
            and len(set(san.fields)) == len(san.fields), "UCAN-041", MISSING,
            "'fields' is not a non-empty, strictly ascending list")
    for name in san.fields:
        require(name in allowed, "UCAN-041", MISSING,
                f"{name!r} is not a withholdable field of {kind}")
        require(name in env.payload and env.payload[name] is None, "UCAN-042", MISSING,
                f"withheld field {name!r} is not null in the payload")
    try:
        signatures.verify_signature(san.by, compute_sanitized_signing_input(env, san),
                                    cast(bytes, san.sig))
    except SpecViolation as violation:
        require(False, "UCAN-043", MISSING,
                f"the filter's signature does not verify: {violation.message}")
    return san


def parse_sanitized_payload(payload: dict[str, Value],
                            withheld: Sequence[str]) -> operations.Payload:
    """Chapter 02's checks with the withheld fields exempt (section 8.3) [UCAN-044]."""
    kind = payload.get("type")
    cls = operations.VARIANTS[cast(str, kind)]  # a withholdable variant (UCAN-041)
    fields = attrs.fields(cls)
    expected = {f.name for f in fields} | {"type"}
    require(set(payload) == expected, "OPS-002", operations.BAD,
            f"{kind!r} fields: missing {sorted(expected - set(payload))}, "
            f"unknown {sorted(set(payload) - expected)}")
    for f in fields:  # [OPS-017] the variant's order; a withheld field is null, unchecked
        if f.name not in withheld:
            f.metadata["check"](f.name, payload[f.name])
    parsed = cast(operations.Payload, cls(**{f.name: payload[f.name] for f in fields}))
    operations.check_variant_rules(parsed)
    return parsed


@attrs.frozen
class CheckedOp:
    """An op that passed the context-free checks: envelope, signature or record, payload."""

    env: Envelope
    san: Sanitization | None
    hash: bytes
    data: bytes


def check_op(data: bytes) -> CheckedOp:
    """Envelope (03), signature (06) or sanitization record (8.3), payload (02), in order."""
    env, san_value = split_sanitization(data)
    if san_value is None:
        signatures.verify_op(env)
        operations.parse_payload(env.payload)
        return CheckedOp(env, None, identifiers.compute_op_hash(data), data)
    san = verify_sanitization(env, san_value)
    parse_sanitized_payload(env.payload, san.fields)
    return CheckedOp(env, san, identifiers.compute_op_hash(data), data)


def sanitize_op(seed: bytes, original: bytes, fields: Sequence[str]) -> bytes:
    """Withhold `fields` of a signed op as the filter of `seed` (section 8.4) [UCAN-046]."""
    env, san_value = split_sanitization(original)
    require(san_value is None and env.sig is not None, "UCAN-046", ErrorCode.E_BAD_REQUEST,
            "only a signed op can be sanitized (this one is unsigned or already sanitized)")
    check_op(original)  # [UCAN-046] the original's signature is verified first
    kind = cast(str, env.payload.get("type"))
    allowed = WITHHOLDABLE.get(kind, ())
    require(len(fields) >= 1 and len(set(fields)) == len(fields)
            and all(f in allowed for f in fields), "UCAN-046", ErrorCode.E_BAD_REQUEST,
            f"withhold one or more distinct fields of {list(allowed)}, not {list(fields)}")
    payload = {k: (None if k in fields else v) for k, v in env.payload.items()}
    sanitized = attrs.evolve(env, payload=payload, sig=None)
    san = Sanitization(signatures.compute_public_key(seed),
                       identifiers.compute_op_hash(original),  # [UCAN-047]
                       tuple(_utf8_order(fields)), None)
    sig = signatures.sign(seed, compute_sanitized_signing_input(sanitized, san))
    data = encode_sanitized(sanitized, attrs.evolve(san, sig=sig))
    # equivalent mutant (stmt-remove): a self-check of the op just built, which always passes
    check_op(data)
    return data


def is_sanitized_form_of(sanitized: CheckedOp, original: CheckedOp) -> bool:
    """Whether `sanitized` is `original` with fields withheld (section 8.5) [UCAN-048]."""
    if sanitized.san is None or original.san is not None or sanitized.san.of != original.hash:
        return False
    withheld = set(sanitized.san.fields)
    payload = {k: (None if k in withheld else v) for k, v in original.env.payload.items()}
    return attrs.evolve(original.env, payload=payload, sig=None) == sanitized.env
