"""Property checks of chapters 07 and 08: tokens, chains, revocation, sanitization, capabilities.

Independent of any implementation under test: cbor2 (canonical mode) writes
tokens and ops, pynacl signs them over the JWS signing input of chapter 06,
blake3 hashes them, and the harness's own model of the chain walk
(`model_authorize`, transcribed from spec/07-ucan-and-caveats.md section 6
and spec/08-capabilities.md section 4) is the oracle for verdicts and codes.
"""

from __future__ import annotations

import base64
from typing import Any

import attrs
import blake3
import cbor2
import nacl.exceptions
import nacl.signing
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._ops import Author, record_id

T0 = 1_700_000_000_000
AT = T0 + 500_000  # the wall_ms of the ops the checks authorize
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

# --- principals, tokens and ops ------------------------------------------------------


def seed(name: str) -> bytes:
    return blake3.blake3(b"strata/conformance/authority/" + name.encode()).digest()


def public_key(name: str) -> bytes:
    return bytes(nacl.signing.SigningKey(seed(name)).verify_key.encode())


def did(name: str) -> str:
    """did:key:z + base58btc(0xed 0x01 || key) (spec/04 section 5)."""
    data = b"\xed\x01" + public_key(name)
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "did:key:z" + "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def canonical(value: Any) -> bytes:
    return bytes(cbor2.dumps(value, canonical=True))


def signing_input(key: bytes, payload: bytes) -> bytes:
    header = b'{"alg":"EdDSA","kid":"' + key.hex().encode("ascii") + b'"}'
    return (b64u(header) + "." + b64u(payload)).encode("ascii")


@attrs.frozen
class Cap:
    """A capability: resource (`with`), ability (`can`), caveats (`nb`)."""

    resource: str
    ability: str
    nb: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def json(self) -> dict[str, Any]:
        return {"with": self.resource, "can": self.ability, "nb": {k: list(v) for k, v in self.nb}}


@attrs.frozen
class Tok:
    """A token the harness built: its fields, bytes and hash."""

    iss: str
    aud: str
    sub: str
    caps: tuple[Cap, ...]
    nbf: int
    exp: int | None
    proofs: tuple[bytes, ...]
    data: bytes
    hash: bytes
    names: tuple[str, str, str, str]  # issuer, audience, subject, label: enough to rebuild it


def make_token(issuer: str, audience: str, caps: tuple[Cap, ...], proofs: tuple[bytes, ...] = (),
               nbf: int = T0, exp: int | None = T0 + 1_000_000, sub: str = "root",
               label: str = "") -> Tok:
    """Sign a token as the principal `issuer` (a name), per spec/07 sections 3.1 and 3.2."""
    value: dict[str, Any] = {
        "v": "strata-ucan/1", "iss": did(issuer), "aud": did(audience), "sub": did(sub),
        "cap": [c.json() for c in caps], "nbf": nbf, "exp": exp,
        "nonce": blake3.blake3(f"nonce/{issuer}/{audience}/{label}".encode()).digest(length=16),
        "prf": sorted(proofs), "sig": None,
    }
    key = nacl.signing.SigningKey(seed(issuer))
    value["sig"] = bytes(key.sign(signing_input(public_key(issuer), canonical(value))).signature)
    data = canonical(value)
    return Tok(did(issuer), did(audience), did(sub), caps, nbf, exp, tuple(sorted(proofs)), data,
               blake3.blake3(data).digest(), (issuer, audience, sub, label))


def payload_for(kind: str) -> dict[str, Any]:
    evidence = record_id("ev", T0, "evidence")
    if kind == "AssertClaim":
        return {"type": "AssertClaim", "claim": record_id("clm", T0, "claim"), "subject": None,
                "predicate": "likes", "object": "tea", "supports": [evidence]}
    if kind == "ConfirmClaim":
        return {"type": "ConfirmClaim", "claim": record_id("clm", T0, "claim")}
    source = kind.split(":")[1]
    return {"type": "IngestEvidence", "evidence": evidence, "hash": bytes(32), "anchor": "uid",
            "source_type": source, "metadata": {}}


REQUIREMENT = {"AssertClaim": ("claim/assert", "strata:claim"),
               "ConfirmClaim": ("claim/confirm", "strata:claim"),
               "IngestEvidence": ("evidence/ingest", "strata:evidence")}


def author_op(name: str, payload: dict[str, Any], wall_ms: int = AT, logical: int = 0) -> bytes:
    return Author(seed(name)).op(payload, wall_ms, logical)


# --- the harness's model (spec/07 sections 5 and 6, spec/08 section 4) --------------------


def ability_covers(parent: str, child: str) -> bool:
    return parent == "*" or parent == child or (
        parent.endswith("/*") and child.startswith(parent[:-1]))


def resource_covers(parent: str, child: str) -> bool:
    return parent == child or parent == "strata:*"


def narrower(parent: Cap, child: Cap) -> bool:
    c = dict(child.nb)
    return all(k in c and set(c[k]) <= set(v) for k, v in parent.nb)


def covers(parent: Cap, child: Cap) -> bool:
    return (ability_covers(parent.ability, child.ability)
            and resource_covers(parent.resource, child.resource) and narrower(parent, child))


def satisfied(cap: Cap, payload: dict[str, Any]) -> bool:
    for key, allowed in cap.nb:
        if key == "types" and payload["type"] not in allowed:
            return False
        if key == "source_types" and "source_type" in payload and payload[
                "source_type"] not in allowed:
            return False
    return True


def model_authorize(tokens: list[Tok], author: str, payload: dict[str, Any],
                    wall_ms: int) -> str | None:
    """The code for an op over a *linear* chain (at most one leaf, one proof each), or None."""
    if did(author) == did("root"):
        return None
    by_hash = {t.hash: t for t in tokens}
    leaves = sorted(t.hash for t in tokens if t.aud == did(author))
    if not leaves:
        return "E_UCAN_PROOF_MISSING"
    action, resource = REQUIREMENT[payload["type"]]
    errors = []
    for leaf in leaves:
        errors.append(_model_path(by_hash, leaf, did(author), action, resource, payload, wall_ms))
    if None in errors:
        return None
    return "E_UCAN_PROOF_MISSING" if "E_UCAN_PROOF_MISSING" in errors else errors[0]


def _model_path(by_hash: dict[bytes, Tok], h: bytes, audience: str, action: str, resource: str,
                payload: dict[str, Any], wall_ms: int) -> str | None:
    below: list[Cap] | None = None
    depth = 0
    while True:
        depth += 1
        token = by_hash.get(h)
        if token is None:
            return "E_UCAN_PROOF_MISSING"
        if token.sub != did("root"):
            return "E_UCAN_WRONG_ROOT"
        if token.aud != audience:
            return "E_UCAN_BROKEN_CHAIN"
        if wall_ms < token.nbf:
            return "E_UCAN_NOT_YET_VALID"
        if token.exp is not None and wall_ms >= token.exp:
            return "E_UCAN_EXPIRED"
        if below is None:
            matching = [c for c in token.caps if ability_covers(c.ability, action)
                        and resource_covers(c.resource, resource)]
            if not matching:
                return "E_UNAUTHORIZED"
            passed = [c for c in matching if satisfied(c, payload)]
            if not passed:
                return "E_UCAN_CAVEAT"
        else:
            passed = [c for c in token.caps if any(covers(c, d) for d in below)]
            if not passed:
                return "E_UCAN_ATTENUATION"
        if token.iss == token.sub:
            return None
        if depth == 8:
            return "E_UCAN_DEPTH"
        below, audience, h = passed, token.iss, token.proofs[0]


def authorize(impl: Impl, tokens: list[Tok], data: bytes,
              revocations: list[dict[str, Any]] | None = None) -> str | None:
    """ucan.authorize; the error code or None."""
    response = impl.call("ucan.authorize", {"root": did("root"),
                                            "tokens": [t.data.hex() for t in tokens],
                                            "revocations": revocations or [], "op": data.hex()})
    return None if response.ok else response.code


# --- strategies -----------------------------------------------------------------------------

CAVEATS = [(), (("types", ("AssertClaim",)),), (("source_types", ("calendar",)),),
           (("source_types", ("calendar", "photo")),),
           (("source_types", ("calendar",)), ("types", ("IngestEvidence",)))]
caps = st.builds(Cap, st.sampled_from(["strata:*", "strata:claim", "strata:evidence"]),
                 st.sampled_from(["*", "claim/*", "claim/assert", "claim/confirm", "evidence/*",
                                  "evidence/ingest"]), st.sampled_from(CAVEATS))
cap_lists = st.lists(caps, min_size=1, max_size=3, unique=True).map(tuple)
OPS = ["AssertClaim", "ConfirmClaim", "IngestEvidence:calendar", "IngestEvidence:photo"]


@st.composite
def chains(draw: st.DrawFn) -> tuple[list[Tok], str, dict[str, Any], int]:
    """A linear chain root -> p1 -> ... -> pk with random capabilities, windows and defects."""
    k = draw(st.integers(1, 4))
    names = ["root"] + [f"p{i}" for i in range(1, k + 1)]
    tokens: list[Tok] = []
    for i in range(k):
        issuer, audience, sub = names[i], names[i + 1], "root"
        defect = draw(st.sampled_from(["none"] * 6 + ["aud", "sub", "time"]))
        if defect == "aud":
            audience = "stranger"
        if defect == "sub":
            sub = "mallory"
            issuer = "mallory" if i == 0 else issuer
        nbf, exp = T0, T0 + 1_000_000
        exp_: int | None = exp
        if defect == "time":
            nbf = AT + draw(st.sampled_from([-1, 0, 1]))
            drawn = draw(st.sampled_from([None, nbf + 1, AT, AT + 1]))
            exp_ = None if drawn is None or drawn <= nbf else drawn
        proofs = (tokens[-1].hash,) if tokens else ()
        tokens.append(make_token(issuer, audience, draw(cap_lists), proofs, nbf, exp_, sub,
                                 label=str(i)))
    if k > 1 and draw(st.integers(0, 7)) == 0:
        del tokens[draw(st.integers(0, k - 2))]  # a missing proof
    kind = draw(st.sampled_from(OPS))
    return tokens, names[-1], payload_for(kind), AT


# --- checks -----------------------------------------------------------------------------------


@check("UCAN-002", "UCAN-012", "UCAN-013", "UCAN-014", "UCAN-015", "UCAN-038")
@given(tokens=cap_lists, nbf=st.integers(0, 2**48 - 2), span=st.one_of(
    st.none(), st.integers(1, 2**20)), nonce=st.binary(min_size=16, max_size=16))
def check_issue_matches_harness(impl: Impl, tokens: tuple[Cap, ...], nbf: int,
                                span: int | None, nonce: bytes) -> None:
    """ucan.issue writes the harness's bytes, and ucan.verify reads them back with BLAKE3's hash."""
    exp = None if span is None else min(nbf + span, 2**48 - 1)
    value: dict[str, Any] = {
        "v": "strata-ucan/1", "iss": did("root"), "aud": did("p1"), "sub": did("root"),
        "cap": [c.json() for c in tokens], "nbf": nbf, "exp": exp, "nonce": nonce, "prf": [],
        "sig": None}
    value["sig"] = bytes(nacl.signing.SigningKey(seed("root")).sign(
        signing_input(public_key("root"), canonical(value))).signature)
    want = canonical(value)
    got = impl.ok("ucan.issue", {"seed": seed("root").hex(), "aud": did("p1"), "sub": did("root"),
                                 "cap": [c.json() for c in tokens], "nbf": nbf, "exp": exp,
                                 "nonce": nonce.hex(), "prf": []})
    expect(got["token"] == want.hex(), "ucan.issue's bytes differ from the harness's token")
    expect(got["hash"] == blake3.blake3(want).hexdigest(), "the token hash is not BLAKE3")
    read = impl.ok("ucan.verify", {"token": want.hex()})
    expect(read["exp"] == exp and read["nbf"] == nbf and read["iss"] == did("root"),
           f"ucan.verify read back {read}")


@check("UCAN-022", "UCAN-023", "UCAN-024", "UCAN-025", "UCAN-026", "UCAN-027", "UCAN-028",
       "UCAN-029", "UCAN-030", "UCAN-033", "UCAN-019", "UCAN-020", "CAP-001", "CAP-007",
       "CAP-008")
@given(chain=chains())
def check_chain_follows_rules(impl: Impl, chain: tuple[list[Tok], str, dict[str, Any], int]
                              ) -> None:
    """A random chain is accepted exactly when the harness's walk accepts it, with its code."""
    tokens, author, payload, wall_ms = chain
    want = model_authorize(tokens, author, payload, wall_ms)
    got = authorize(impl, tokens, author_op(author, payload, wall_ms))
    expect(got == want, f"expected {want or 'authorized'}, got {got or 'authorized'}")


@check("UCAN-020", "UCAN-030", "CAP-007", "CAP-008")
@given(chain=chains(), data=st.data())
def check_narrowing_is_monotone(impl: Impl, chain: tuple[list[Tok], str, dict[str, Any], int],
                                data: st.DataObject) -> None:
    """Removing a capability from a token never turns an unauthorized op into an authorized one."""
    tokens, author, payload, wall_ms = chain
    op = author_op(author, payload, wall_ms)
    before = authorize(impl, tokens, op)
    candidates = [i for i, t in enumerate(tokens) if len(t.caps) > 1]
    if before is None or not candidates:
        return
    i = data.draw(st.sampled_from(candidates))
    drop = data.draw(st.integers(0, len(tokens[i].caps) - 1))
    rebuilt: list[Tok] = []
    renamed: dict[bytes, bytes] = {}  # a proof that was left out stays missing
    for j, t in enumerate(tokens):
        caps_j = t.caps[:drop] + t.caps[drop + 1:] if j == i else t.caps
        issuer, audience, sub, label = t.names
        new = make_token(issuer, audience, caps_j, tuple(renamed.get(p, p) for p in t.proofs),
                         t.nbf, t.exp, sub, label)
        renamed[t.hash] = new.hash
        rebuilt.append(new)
    after = authorize(impl, rebuilt, op)
    expect(after is not None, f"dropping capability {drop} of token {i} authorized the op "
                              f"(before: {before})")


@check("UCAN-032")
@given(target=st.integers(0, 1), revoker=st.sampled_from(["root", "p1", "p2", "stranger"]),
       dw=st.integers(-2, 2), dl=st.integers(0, 2))
def check_revocation_time_rule(impl: Impl, target: int, revoker: str, dw: int, dl: int) -> None:
    """A revocation applies exactly when its revoker issued the link or one above, before the op."""
    t1 = make_token("root", "p1", (Cap("strata:claim", "claim/*"),), label="rev")
    t2 = make_token("p1", "p2", (Cap("strata:claim", "claim/assert"),), (t1.hash,), label="rev")
    op = author_op("p2", payload_for("AssertClaim"), AT, 1)
    revoked = (t1, t2)[target]
    ts = [AT + dw, dl, public_key(revoker).hex()]
    issuers_above = {t1.iss} if target == 0 else {t1.iss, t2.iss}
    before = (AT + dw, dl, public_key(revoker)) < (AT, 1, Author(seed("p2")).node)
    want = "E_UCAN_REVOKED" if did(revoker) in issuers_above and before else None
    got = authorize(impl, [t1, t2], op, [{"token_hash": revoked.hash.hex(), "by": did(revoker),
                                          "ts": ts}])
    expect(got == want, f"revocation by {revoker} of token {target} at {ts[:2]} against an op at "
                        f"({AT}, 1): expected {want or 'authorized'}, got {got or 'authorized'}")


@check("UCAN-026", "UCAN-027", "UCAN-038")
@given(dn=st.integers(-2, 2), de=st.one_of(st.none(), st.integers(-2, 2)))
def check_validity_window(impl: Impl, dn: int, de: int | None) -> None:
    """An op is authorized exactly when nbf <= wall_ms < exp (exp null: no upper bound)."""
    nbf = AT + dn
    exp = None if de is None else AT + de
    if exp is not None and exp <= nbf:
        exp = nbf + 1
    token = make_token("root", "p1", (Cap("strata:*", "*"),), nbf=nbf, exp=exp, label="window")
    got = authorize(impl, [token], author_op("p1", payload_for("AssertClaim")))
    want = ("E_UCAN_NOT_YET_VALID" if AT < nbf else
            "E_UCAN_EXPIRED" if exp is not None and AT >= exp else None)
    expect(got == want, f"nbf {nbf - AT:+}, exp {None if exp is None else exp - AT}: expected "
                        f"{want or 'authorized'}, got {got or 'authorized'}")


@check("UCAN-035", "UCAN-036", "UCAN-032")
@given(order=st.permutations(list(range(6))), with_revocation=st.booleans(),
       rev_at=st.integers(1, 5))
def check_replay_order_independent(impl: Impl, order: list[int], with_revocation: bool,
                                   rev_at: int) -> None:
    """ucan.replay's verdicts depend on the set of ops only, and follow the total order."""
    t1 = make_token("root", "p1", (Cap("strata:*", "*"),), label="log")
    t2 = make_token("p1", "p2", (Cap("strata:claim", "claim/assert"),), (t1.hash,), label="log")
    ops = [author_op("root", {"type": "DelegateUcan", "token": t1.data}, T0 + 1),
           author_op("p1", {"type": "DelegateUcan", "token": t2.data}, T0 + 2)]
    ops += [author_op("p2", payload_for("AssertClaim") | {"predicate": f"p{i}"}, T0 + 2 + i)
            for i in range(1, 4)]
    revoke = {"type": "RevokeUcan", "token_hash": t2.hash, "reason": ""}
    ops.append(author_op("root" if with_revocation else "mallory", revoke, T0 + 2 + rev_at, 1))
    shuffled = [ops[i] for i in order]
    first = impl.ok("ucan.replay", {"root": did("root"), "ops": [o.hex() for o in ops]})["ops"]
    again = impl.ok("ucan.replay", {"root": did("root"), "ops": [o.hex() for o in shuffled]})["ops"]
    expect(first == again, "the verdicts changed with the order of the ops given")
    verdict = {v["hash"]: v for v in first}
    for i in range(1, 4):
        v = verdict[blake3.blake3(ops[1 + i]).hexdigest()]
        revoked = with_revocation and 2 + rev_at < 2 + i
        expect(v["ok"] is (not revoked), f"p2's op at T0+{2 + i} with a revocation "
                                         f"{'by the root' if with_revocation else 'by mallory'} "
                                         f"at T0+{2 + rev_at}: got {v}")


@check("UCAN-039", "UCAN-043", "UCAN-046", "UCAN-047", "UCAN-048")
@given(fields=st.sampled_from([["object"], ["predicate"], ["object", "predicate"]]),
       text=st.text(min_size=1, max_size=30))
def check_sanitize_round_trip(impl: Impl, fields: list[str], text: str) -> None:
    """A sanitized op names its original's hash, its record verifies, and it is the same op."""
    original = author_op("p1", payload_for("AssertClaim") | {"object": text})
    out = impl.ok("ucan.sanitize", {"seed": seed("filter").hex(), "op": original.hex(),
                                    "fields": fields})
    data = bytes.fromhex(out["op"])
    value = cbor2.loads(data)
    san = value["san"]
    expect(value["sig"] is None and san["of"] == blake3.blake3(original).digest()
           and san["by"] == public_key("filter") and san["fields"] == sorted(fields),
           f"unexpected record {san}")
    expect(all(value["payload"][f] is None for f in fields), "a withheld field is not null")
    unsigned = dict(value, san=dict(san, sig=None))
    try:
        nacl.signing.VerifyKey(public_key("filter")).verify(
            signing_input(public_key("filter"), canonical(unsigned)), san["sig"])
    except nacl.exceptions.BadSignatureError:
        expect(False, "the filter's signature does not verify over the spec's signing input")
    checked = impl.ok("ucan.check_op", {"op": data.hex()})
    expect(checked["sanitized"] is True, "ucan.check_op does not see the record")
    same = impl.ok("ucan.sanitized_form", {"sanitized": data.hex(), "original": original.hex()})
    expect(same["same"] is True, "the sanitized op is not the same operation as its original")


@check("CAP-001", "CAP-002", "CAP-003")
@given(kind=st.sampled_from(["AssertClaim", "ConfirmClaim", "StartJob", "DelegateUcan",
                             "CascadeTombstone", "Engine", "Lora", "WaveGen"]),
       suffix=st.text(alphabet="ABCDXYZabcxyz019", max_size=12),
       root_kind=st.sampled_from(list(range(2, 9))))
def check_requirement_table(impl: Impl, kind: str, suffix: str, root_kind: int) -> None:
    """cap.requirement gives the table's row, the root's class, or the reserved snake-case rule."""
    classes = {2: "evidence", 3: "entity", 4: "claim", 5: "job", 6: "job", 7: "episode",
               8: "action"}
    payload: dict[str, Any] = {"type": kind}
    if kind == "CascadeTombstone":
        payload["root"] = bytes([root_kind]) + bytes(16)
        want = (f"{classes[root_kind]}/cascade", f"strata:{classes[root_kind]}")
    elif kind in ("Engine", "Lora", "WaveGen"):
        payload["type"] = kind + suffix
        verb = "".join(("_" if i else "") + c.lower() if c.isupper() else c
                       for i, c in enumerate(suffix)) or "_"
        want = (f"{kind.lower()}/{verb}", f"strata:{kind.lower()}")
    else:
        want = {"AssertClaim": ("claim/assert", "strata:claim"),
                "ConfirmClaim": ("claim/confirm", "strata:claim"),
                "StartJob": ("job/start", "strata:job"),
                "DelegateUcan": ("ucan/delegate", "strata:ucan")}[kind]
    got = impl.ok("cap.requirement", {"payload": canonical(payload).hex()})
    expect((got["action"], got["resource"]) == want, f"{payload['type']}: {got}, not {want}")


@check("CAP-007", "CAP-008", "UCAN-019", "UCAN-020")
@given(parent=caps, child=caps)
def check_covers_model(impl: Impl, parent: Cap, child: Cap) -> None:
    """cap.covers agrees with the harness's reading of spec/08 section 4 and spec/07 section 5."""
    got = impl.ok("cap.covers", {"parent": parent.json(), "child": child.json()})["covers"]
    expect(got is covers(parent, child), f"{parent} covers {child}: got {got}")
