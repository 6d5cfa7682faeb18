"""Vectors of chapters 07 and 08: tokens, chains, revocation, sanitization, capabilities.

Nothing is random. `derive(label, n)` is the first n bytes of the BLAKE3 XOF of
"strata/vectors/authority/" + label; the seed of a principal NAME is
derive("seed/NAME", 32) and its did:key that of the seed's public key; a
token's nonce is derive("nonce/" + its label, 16); an op's id is the kind byte
0x01, its wall_ms in 6 bytes, then derive("op/" + its label, 10); record ids
likewise with their own kind byte and derive("id/" + label, 10). Times are
offsets from T0 = 1,700,000,000,000 ms: tokens are valid from T0 to
T0 + 1,000,000 unless a case says otherwise, and ops are stamped T0 + 500,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import blake3

import reference.driver.authority  # noqa: F401  (registers the commands)
from reference import identifiers, signatures, ucan, wire_format
from reference.ucan import Capability
from reference.wire_format import Envelope, Value
from tools.vectorgen import Case, GenerationError, VectorFile

FOLDER = "authority"
UCAN_CHAPTER, CAP_CHAPTER = "07-ucan-and-caveats", "08-capabilities"
PREFIX = b"strata/vectors/authority/"
T0 = 1_700_000_000_000
NBF, EXP, AT = T0, T0 + 1_000_000, T0 + 500_000

# --- derivation ------------------------------------------------------------------


def derive(label: str, n: int = 32) -> bytes:
    """The first n bytes of BLAKE3's XOF output for PREFIX + label."""
    return blake3.blake3(PREFIX + label.encode()).digest(length=n)


def seed(name: str) -> bytes:
    return derive("seed/" + name)


def node(name: str) -> bytes:
    return signatures.compute_public_key(seed(name))


def did(name: str) -> str:
    return identifiers.encode_did_key(node(name))


ROOT = did("root")


def record(kind: int, label: str) -> bytes:
    return bytes([kind]) + T0.to_bytes(6, "big") + derive("id/" + label, 10)


def ensure(cond: bool, message: str) -> None:
    if not cond:
        raise GenerationError(message)


def cap(resource: str, ability: str, **nb: Sequence[str]) -> Capability:
    return Capability(resource, ability, {k: tuple(v) for k, v in nb.items()})


ALL = cap("strata:*", "*")
CLAIMS = cap("strata:claim", "claim/*")
ASSERT = cap("strata:claim", "claim/assert")


def issue(label: str, issuer: str, audience: str, caps: Sequence[Capability],
          proofs: Sequence[ucan.Token] = (), nbf: int = NBF, exp: int | None = EXP,
          sub: str = ROOT) -> ucan.Token:
    """A token from principal `issuer` (a name) to `audience` (a name), signed."""
    return ucan.issue_token(seed(issuer), did(audience), sub, caps, nbf, exp,
                            derive("nonce/" + label, 16), [p.hash for p in proofs])


def hexes(tokens: Sequence[ucan.Token | bytes]) -> list[str]:
    return [(t if isinstance(t, bytes) else t.data).hex() for t in tokens]


# --- payloads and ops ----------------------------------------------------------------

EVIDENCE = record(0x02, "evidence")
CLAIM = record(0x04, "claim")


def assert_claim() -> dict[str, Value]:
    return {"type": "AssertClaim", "claim": CLAIM, "subject": None, "predicate": "likes",
            "object": "tea", "supports": [EVIDENCE]}


def confirm_claim() -> dict[str, Value]:
    return {"type": "ConfirmClaim", "claim": CLAIM}


def ingest(source_type: str = "calendar") -> dict[str, Value]:
    return {"type": "IngestEvidence", "evidence": EVIDENCE, "hash": derive("content"),
            "anchor": "uid-1", "source_type": source_type, "metadata": {"title": "lunch"}}


def envelope(author: str, payload: dict[str, Value], label: str, wall_ms: int = AT,
             logical: int = 0) -> Envelope:
    n = node(author)
    op_id = bytes([0x01]) + wall_ms.to_bytes(6, "big") + derive("op/" + label, 10)
    return Envelope(op_id=op_id, author=n, ts=(wall_ms, logical, n), payload=payload, sig=None)


def op(author: str, payload: dict[str, Value], label: str, wall_ms: int = AT,
       logical: int = 0) -> bytes:
    """A signed op of `author` (a name) carrying `payload`."""
    env = envelope(author, payload, label, wall_ms, logical)
    return wire_format.encode_envelope(signatures.sign_op(seed(author), env))


def revocation(token: ucan.Token, by: str, wall_ms: int, logical: int = 0) -> dict[str, Any]:
    return {"token_hash": token.hash.hex(), "by": did(by),
            "ts": [wall_ms, logical, node(by).hex()]}


def authorize(cid: str, reqs: tuple[str, ...], desc: str, tokens: Sequence[ucan.Token | bytes],
              data: bytes, error: str | None = None, revocations: Sequence[dict[str, Any]] = (),
              comment: str | None = None) -> Case:
    return Case(cid, reqs, desc, "ucan.authorize",
                {"root": ROOT, "tokens": hexes(tokens), "revocations": list(revocations),
                 "op": data.hex()},
                "valid" if error is None else "invalid", comment=comment, error=error)


# --- chapter 07: tokens ---------------------------------------------------------------


_DROP: Any = object()  # a key to remove from the token map


def raw_token(label: str, issuer: str = "root", **changes: Value) -> bytes:
    """A root-issued token to alice with `changes` applied to its map, signed where possible."""
    value = ucan.compute_token_value(ROOT if issuer == "root" else did(issuer), did("alice"),
                                     ROOT, [ALL], NBF, EXP, derive("nonce/" + label, 16), [],
                                     None)
    value.update(changes)
    drop = [k for k, v in changes.items() if v is _DROP]
    for k in drop:
        del value[k]
    try:
        signing_input = ucan.compute_token_signing_input(value)
        sig: Value = signatures.sign(seed(issuer), signing_input)
    except Exception:  # noqa: BLE001  (an unsignable defect: iss is not a did:key)
        sig = derive("sig/" + label, 64)
    if "sig" not in changes and "sig" not in drop:
        value["sig"] = sig
    return wire_format.encode_canonical(value)


def malformed(cid: str, reqs: tuple[str, ...], desc: str, data: bytes,
              error: str = "E_UCAN_MALFORMED") -> Case:
    return Case(cid, ("UCAN-012", *reqs), desc, "ucan.verify", {"token": data.hex()},
                "invalid", error=error)


def token_cases() -> list[Case]:
    out: list[Case] = []
    nonce = derive("nonce/issue", 16)
    out.append(Case("issue-root", ("UCAN-001", "UCAN-013", "UCAN-015"),
                    "the root delegates everything to alice", "ucan.issue",
                    {"seed": seed("root").hex(), "aud": did("alice"), "sub": ROOT,
                     "cap": [{"with": "strata:*", "can": "*", "nb": {}}], "nbf": NBF,
                     "exp": EXP, "nonce": nonce.hex(), "prf": []}, "valid"))
    parent = issue("issue/parent", "root", "alice", [ALL])
    out.append(Case("issue-with-proof-and-caveats", ("UCAN-013", "UCAN-015", "UCAN-017"),
                    "alice delegates claim/assert with caveats to bob, citing her token",
                    "ucan.issue",
                    {"seed": seed("alice").hex(), "aud": did("bob"), "sub": ROOT,
                     "cap": [{"with": "strata:claim", "can": "claim/assert",
                              "nb": {"types": ["AssertClaim"]}},
                             {"with": "strata:evidence", "can": "evidence/ingest",
                              "nb": {"source_types": ["calendar", "photo"]}}],
                     "nbf": NBF, "exp": None, "nonce": nonce.hex(), "prf": [parent.hash.hex()]},
                    "valid", comment="the proof is the token of issue/parent: root to alice, "
                    "strata:* and *, nbf T0, exp T0 + 1,000,000; exp null: never expires"))
    out.append(Case("issue-bad-capability", ("UCAN-008", "CAP-005"),
                    "an issuer cannot sign a token whose ability is not in the grammar",
                    "ucan.issue",
                    {"seed": seed("root").hex(), "aud": did("alice"), "sub": ROOT,
                     "cap": [{"with": "strata:*", "can": "Claim/Assert", "nb": {}}], "nbf": NBF,
                     "exp": EXP, "nonce": nonce.hex(), "prf": []}, "invalid",
                    error="E_UCAN_MALFORMED"))
    good = raw_token("verify/good")
    out.append(Case("verify-root-issued", ("UCAN-002", "UCAN-013", "UCAN-014", "UCAN-015"),
                    "a well-formed root-issued token verifies and hashes to BLAKE3 of its bytes",
                    "ucan.verify", {"token": good.hex()}, "valid"))
    out.append(Case("verify-exp-null", ("UCAN-006", "UCAN-038", "UCAN-012"),
                    "exp null: a token that never expires has no expiry instant", "ucan.verify",
                    {"token": raw_token("verify/exp-null", exp=None).hex()}, "valid"))
    caveated: list[Value] = [{"with": "strata:evidence", "can": "evidence/ingest",
                              "nb": {"source_types": ["calendar", "photo"],
                                     "types": ["IngestEvidence"]}}]
    out.append(Case("verify-every-field", ("UCAN-003", "UCAN-004", "UCAN-005", "UCAN-006",
                                           "UCAN-007", "UCAN-008", "UCAN-009", "UCAN-010",
                                           "UCAN-011", "UCAN-016", "UCAN-017", "CAP-005",
                                           "CAP-006"),
                    "a root-issued token whose one capability carries both caveats: every "
                    "field is decoded and reported", "ucan.verify",
                    {"token": raw_token("verify/every-field", cap=caveated).hex()}, "valid"))
    out.append(Case("verify-no-caveats", ("UCAN-016", "UCAN-008"),
                    "an empty caveat map: a capability without caveats", "ucan.verify",
                    {"token": good.hex()}, "valid"))
    out.append(Case("verify-exp-max", ("UCAN-006", "UCAN-012"),
                    "exp = 2^48 - 1, the largest wall_ms: still a valid expiry", "ucan.verify",
                    {"token": raw_token("verify/exp-max", exp=2**48 - 1).hex()}, "valid"))
    out.append(Case("verify-nbf-max", ("UCAN-006", "UCAN-012"),
                    "nbf = 2^48 - 1 with exp null: the largest nbf is still valid", "ucan.verify",
                    {"token": raw_token("verify/nbf-max", nbf=2**48 - 1, exp=None).hex()},
                    "valid"))
    out.append(Case("verify-cap-16", ("UCAN-008", "UCAN-012"),
                    "16 capabilities, the most a token carries",
                    "ucan.verify",
                    {"token": raw_token("verify/cap16", cap=[ALL.to_value()] * 16).hex()},
                    "valid"))
    four = sorted(derive(f"verify/p{i}") for i in range(4))
    out.append(Case("verify-prf-4", ("UCAN-009", "UCAN-012"),
                    "4 proofs in ascending order, the most a token carries", "ucan.verify",
                    {"token": raw_token("verify/prf4", issuer="alice",
                                        prf=list[Value](four)).hex()}, "valid",
                    comment="the proofs are derive('verify/p0') to derive('verify/p3') in "
                    "ascending order; decoding does not look them up"))
    names = [f"T{i:02d}" for i in range(64)]
    out.append(Case("verify-caveat-64", ("UCAN-017", "UCAN-012"),
                    "a types caveat of 64 names, the most a caveat holds", "ucan.verify",
                    {"token": raw_token("verify/caveat64", cap=[
                        {"with": "strata:*", "can": "*", "nb": {"types": list[Value](names)}}
                    ]).hex()}, "valid", comment="the names are T00 to T63"))
    out.append(Case("verify-caveat-one", ("UCAN-017", "UCAN-012"),
                    "a source_types caveat of one name, the fewest a caveat holds",
                    "ucan.verify", {"token": raw_token("verify/caveat1", cap=[
                        {"with": "strata:*", "can": "*", "nb": {"source_types": ["calendar"]}}
                    ]).hex()}, "valid"))
    chained = issue("verify/chained", "alice", "bob", [CLAIMS], [parent])
    out.append(Case("verify-with-proof", ("UCAN-009", "UCAN-010", "UCAN-014"),
                    "a token alice issued citing one proof", "ucan.verify",
                    {"token": chained.data.hex()}, "valid"))
    # malformed, one defect each
    out.append(malformed("not-canonical", ("UCAN-002",), "the token's map head is not shortest",
                         bytes([0xB8, 0x0A]) + good[1:], "E_NONCANONICAL"))
    out.append(malformed("not-cbor", ("UCAN-002",), "a truncated token", good[:-1],
                         "E_CBOR_MALFORMED"))
    out.append(malformed("not-a-map", ("UCAN-003",), "an array, not a map",
                         wire_format.encode_canonical([1, 2, 3])))
    out.append(malformed("not-a-map-integer", ("UCAN-003",), "the integer 1, not a map",
                         wire_format.encode_canonical(1)))
    out.append(malformed("missing-nonce", ("UCAN-003",), "no 'nonce' key",
                         raw_token("m/missing-nonce", nonce=_DROP)))
    out.append(malformed("extra-key", ("UCAN-003",), "an extra 'fct' key",
                         raw_token("m/extra-key", fct={})))
    out.append(malformed("version", ("UCAN-004",), "v is 'strata-ucan/2'",
                         raw_token("m/version", v="strata-ucan/2")))
    out.append(malformed("version-int", ("UCAN-004",), "v is the integer 1",
                         raw_token("m/version-int", v=1)))
    out.append(malformed("aud-not-did", ("UCAN-005",), "aud is 'alice'",
                         raw_token("m/aud", aud="alice")))
    out.append(malformed("sub-plc", ("UCAN-005", "UCAN-001"), "sub is a did:plc",
                         raw_token("m/sub", sub="did:plc:ewvi7nxzyoun6zhxrhs64oiz")))
    out.append(malformed("aud-not-text", ("UCAN-005",), "aud is the integer 1",
                         raw_token("m/aud-int", aud=1)))
    wrong_case = ROOT[:9] + ROOT[9:].swapcase()
    out.append(malformed("iss-bad-spelling", ("UCAN-005",), "iss with its base58 case swapped",
                         raw_token("m/iss", iss=wrong_case)))
    out.append(malformed("nbf-equals-exp", ("UCAN-006",), "nbf = exp: an empty window",
                         raw_token("m/window", nbf=EXP)))
    out.append(malformed("exp-too-wide", ("UCAN-006",), "exp = 2^48, beyond wall_ms",
                         raw_token("m/exp", exp=2**48)))
    out.append(malformed("nbf-negative", ("UCAN-006",), "nbf = -1",
                         raw_token("m/nbf", nbf=-1)))
    out.append(malformed("nonce-15", ("UCAN-007",), "a 15-byte nonce",
                         raw_token("m/nonce", nonce=derive("m/nonce15", 15))))
    out.append(malformed("cap-empty", ("UCAN-008",), "cap is []", raw_token("m/cap0", cap=[])))
    out.append(malformed("cap-17", ("UCAN-008",), "17 capabilities",
                         raw_token("m/cap17", cap=[ALL.to_value()] * 17)))
    out.append(malformed("cap-no-nb", ("UCAN-008",), "a capability without 'nb'",
                         raw_token("m/nb", cap=[{"with": "strata:*", "can": "*"}])))
    out.append(malformed("cap-bad-resource", ("UCAN-008", "CAP-006"), "with is 'strata:'",
                         raw_token("m/res", cap=[{"with": "strata:", "can": "*", "nb": {}}])))
    out.append(malformed("cap-bad-ability", ("UCAN-008", "CAP-005"), "can is 'claim'",
                         raw_token("m/abl", cap=[{"with": "strata:*", "can": "claim", "nb": {}}])))
    out.append(malformed("caveat-unknown", ("UCAN-016",), "an unknown caveat 'hours'",
                         raw_token("m/cav", cap=[{"with": "strata:*", "can": "*",
                                                  "nb": {"hours": ["9"]}}])))
    out.append(malformed("caveat-not-a-map", ("UCAN-016",), "nb is an array, not a map",
                         raw_token("m/nb-array", cap=[{"with": "strata:*", "can": "*",
                                                       "nb": []}])))
    out.append(malformed("caveat-unsorted", ("UCAN-017",), "source_types ['photo', 'calendar']",
                         raw_token("m/sort", cap=[{"with": "strata:*", "can": "*", "nb": {
                             "source_types": ["photo", "calendar"]}}])))
    out.append(malformed("caveat-empty", ("UCAN-017",), "types []",
                         raw_token("m/empty", cap=[{"with": "strata:*", "can": "*",
                                                    "nb": {"types": []}}])))
    out.append(malformed("caveat-65", ("UCAN-017",), "a types caveat of 65 names, T00 to T64",
                         raw_token("m/caveat65", cap=[{"with": "strata:*", "can": "*", "nb": {
                             "types": list[Value](f"T{i:02d}" for i in range(65))}}])))
    out.append(malformed("caveat-duplicate", ("UCAN-017",),
                         "types ['AssertClaim', 'AssertClaim']: not strictly ascending",
                         raw_token("m/dup", cap=[{"with": "strata:*", "can": "*", "nb": {
                             "types": ["AssertClaim", "AssertClaim"]}}])))
    out.append(malformed("caveat-bad-type", ("UCAN-017",), "types ['assertClaim']",
                         raw_token("m/type", cap=[{"with": "strata:*", "can": "*",
                                                   "nb": {"types": ["assertClaim"]}}])))
    h1, h2 = sorted([derive("m/p1"), derive("m/p2")])
    out.append(malformed("prf-unsorted", ("UCAN-009",), "two proofs in descending order",
                         raw_token("m/prf", issuer="alice", prf=[h2, h1])))
    out.append(malformed("prf-five", ("UCAN-009",), "five proofs",
                         raw_token("m/prf5", issuer="alice",
                                   prf=list[Value](sorted(derive(f"m/p{i}") for i in range(5))))))
    out.append(malformed("prf-duplicate", ("UCAN-009",), "the same proof twice",
                         raw_token("m/prf-dup", issuer="alice", prf=[h1, h1])))
    out.append(malformed("prf-31-bytes", ("UCAN-009",), "one proof of 31 bytes",
                         raw_token("m/prf31", issuer="alice", prf=[derive("m/p31", 31)])))
    out.append(malformed("prf-text", ("UCAN-009",), "one proof of 32 characters of text",
                         raw_token("m/prf-text", issuer="alice", prf=["p" * 32])))
    out.append(malformed("root-with-proof", ("UCAN-010",), "iss = sub with one proof",
                         raw_token("m/rootprf", prf=[h1])))
    out.append(malformed("no-proof", ("UCAN-010",), "iss (alice) != sub with no proof",
                         raw_token("m/noprf", issuer="alice")))
    out.append(malformed("sig-63", ("UCAN-011",), "a 63-byte sig",
                         raw_token("m/sig", sig=derive("m/sig63", 63))))
    out.append(malformed("sig-65", ("UCAN-011",), "a 65-byte sig",
                         raw_token("m/sig65", sig=derive("m/sig65", 65))))
    forged = bytearray(good)
    forged[-1] ^= 0x01  # the last byte of sig, S's top byte, stays below L
    out.append(malformed("forged-signature", ("UCAN-014",), "the last bit of sig flipped",
                         bytes(forged), "E_UCAN_SIGNATURE"))
    value = wire_format.decode_canonical(good)
    ensure(isinstance(value, dict), "a token decodes to a map")
    assert isinstance(value, dict)  # for mypy; ensure() has already stopped generation
    value["sig"] = signatures.sign(seed("mallory"), ucan.compute_token_signing_input(value))
    out.append(malformed("signed-by-other", ("UCAN-013", "UCAN-014"),
                         "signed by mallory over the right input, but iss is the root",
                         wire_format.encode_canonical(value), "E_UCAN_SIGNATURE"))
    value["sig"] = signatures.sign(seed("root"), wire_format.encode_canonical(
        {**value, "sig": None}))
    out.append(malformed("signed-raw-payload", ("UCAN-013", "UCAN-014"),
                         "signed over the canonical token itself, not the JWS signing input",
                         wire_format.encode_canonical(value), "E_UCAN_SIGNATURE"))
    return out


# --- chapter 07: chains ------------------------------------------------------------------


def chain_cases() -> list[Case]:
    out: list[Case] = []
    a1 = issue("c/root-alice", "root", "alice", [ALL])
    out.append(authorize("length-1", ("UCAN-001", "UCAN-022", "UCAN-028", "UCAN-033",
                                      "CAP-001"),
                         "root -> alice (* on strata:*); alice asserts a claim", [a1],
                         op("alice", assert_claim(), "c/len1")))
    out.append(authorize("root-author", ("UCAN-021",), "the root authors an op: no token needed",
                         [], op("root", assert_claim(), "c/root")))
    a2 = issue("c/root-alice-claims", "root", "alice", [CLAIMS])
    b2 = issue("c/alice-bob-assert", "alice", "bob", [ASSERT], [a2])
    out.append(authorize("length-2", ("UCAN-025", "UCAN-030", "UCAN-020", "CAP-007"),
                         "root -> alice (claim/*) -> bob (claim/assert); bob asserts", [a2, b2],
                         op("bob", assert_claim(), "c/len2")))
    c3 = issue("c/bob-carol", "bob", "carol",
               [cap("strata:claim", "claim/assert", types=["AssertClaim"])], [b2])
    out.append(authorize("length-3", ("UCAN-025", "UCAN-030", "UCAN-019"),
                         "root -> alice -> bob -> carol, each narrower; carol asserts",
                         [a2, b2, c3], op("carol", assert_claim(), "c/len3")))
    out.append(authorize("tokens-any-order", ("UCAN-022",),
                         "the same chain given leaf first", [c3, b2, a2],
                         op("carol", assert_claim(), "c/len3")))
    wide = issue("c/alice-bob-two", "alice", "bob",
                 [ASSERT, cap("strata:evidence", "evidence/ingest")], [a2])
    out.append(authorize("widening-capability-inert", ("UCAN-029", "UCAN-030"),
                         "bob's token also claims evidence/ingest, which alice never had; "
                         "his claim/assert still works", [a2, wide],
                         op("bob", assert_claim(), "c/inert")))
    out.append(authorize("widening-capability-used", ("UCAN-030",),
                         "the same token used for the capability alice never had", [a2, wide],
                         op("bob", ingest(), "c/inert-used"), "E_UCAN_ATTENUATION"))
    ev = issue("c/root-alice-evidence", "root", "alice", [cap("strata:evidence", "evidence/*")])
    two = issue("c/alice-bob-two-proofs", "alice", "bob", [cap("strata:evidence",
                                                                "evidence/ingest")], [a2, ev])
    out.append(authorize("two-proofs", ("UCAN-033", "UCAN-030"),
                         "bob's token cites alice's claim token and her evidence token; only "
                         "the evidence path covers it", [a2, ev, two],
                         op("bob", ingest(), "c/two")))
    # widening
    wa1 = issue("c/wa1", "root", "alice", [ASSERT])
    out.append(authorize("widen-ability", ("UCAN-030", "CAP-007"),
                         "alice holds claim/assert and delegates claim/*",
                         [wa1, issue("c/wa2", "alice", "bob", [CLAIMS], [wa1])],
                         op("bob", assert_claim(), "c/wa"), "E_UCAN_ATTENUATION"))
    wr1 = issue("c/wr1", "root", "alice", [CLAIMS])
    out.append(authorize("widen-resource", ("UCAN-030", "CAP-008"),
                         "alice holds claim/* on strata:claim and delegates it on strata:*",
                         [wr1, issue("c/wr2", "alice", "bob", [cap("strata:*", "claim/*")],
                                     [wr1])],
                         op("bob", assert_claim(), "c/wr"), "E_UCAN_ATTENUATION"))
    cal = cap("strata:evidence", "evidence/ingest", source_types=["calendar"])
    wc1 = issue("c/wc1", "root", "alice", [cal])
    out.append(authorize("widen-caveat-dropped", ("UCAN-030", "UCAN-019"),
                         "alice may ingest calendar evidence only and delegates ingest with no "
                         "caveat; the op is a calendar ingest",
                         [wc1, issue("c/wc2", "alice", "bob",
                                     [cap("strata:evidence", "evidence/ingest")], [wc1])],
                         op("bob", ingest("calendar"), "c/wc"), "E_UCAN_ATTENUATION"))
    out.append(authorize("widen-caveat-value", ("UCAN-030", "UCAN-019"),
                         "alice may ingest calendar and delegates calendar and photo",
                         [wc1, issue("c/wv2", "alice", "bob",
                                     [cap("strata:evidence", "evidence/ingest",
                                          source_types=["calendar", "photo"])], [wc1])],
                         op("bob", ingest("calendar"), "c/wv"), "E_UCAN_ATTENUATION"))
    narrow = issue("c/nc2", "alice", "bob", [cap("strata:evidence", "evidence/ingest",
                                                 source_types=["calendar"],
                                                 types=["IngestEvidence"])], [wc1])
    out.append(authorize("narrow-caveat-added", ("UCAN-019", "UCAN-018"),
                         "bob's capability keeps alice's caveat and adds types", [wc1, narrow],
                         op("bob", ingest("calendar"), "c/nc")))
    # caveats at the leaf
    out.append(authorize("caveat-source-type", ("UCAN-029", "UCAN-018"),
                         "alice may ingest calendar evidence and ingests a photo", [wc1],
                         op("alice", ingest("photo"), "c/cs"), "E_UCAN_CAVEAT"))
    typed = issue("c/ct", "root", "alice", [cap("strata:claim", "claim/*",
                                                types=["AssertClaim"])])
    out.append(authorize("caveat-types", ("UCAN-029", "UCAN-018"),
                         "alice's claim/* is limited to AssertClaim; she confirms a claim",
                         [typed], op("alice", confirm_claim(), "c/ct"), "E_UCAN_CAVEAT"))
    src_only = issue("c/cv", "root", "alice", [cap("strata:claim", "claim/*",
                                                   source_types=["calendar"])])
    out.append(authorize("caveat-source-types-vacuous", ("UCAN-018",),
                         "source_types does not restrict a payload without a source_type",
                         [src_only], op("alice", assert_claim(), "c/cv")))
    out.append(authorize("unauthorized-action", ("UCAN-028", "CAP-001"),
                         "alice holds claim/* and ingests evidence", [a2],
                         op("alice", ingest(), "c/ua"), "E_UNAUTHORIZED"))
    # time: nbf <= wall_ms < exp, at the leaf and on a proof
    for name, at, error in (("at-nbf", NBF, None), ("at-nbf-minus-1", NBF - 1,
                                                     "E_UCAN_NOT_YET_VALID"),
                            ("at-exp-minus-1", EXP - 1, None), ("at-exp", EXP,
                                                                "E_UCAN_EXPIRED")):
        reqs = ("UCAN-026",) if "nbf" in name else ("UCAN-027",)
        out.append(authorize(f"leaf-{name}", reqs,
                             f"alice's op at {name.replace('at-', '').replace('-', ' ')}",
                             [a1], op("alice", assert_claim(), f"c/{name}", at), error))
    late = issue("c/late-parent", "root", "alice", [CLAIMS], nbf=AT + 1)
    out.append(authorize("proof-not-yet-valid", ("UCAN-026",),
                         "alice's token starts 1 ms after bob's op; bob's own token is valid",
                         [late, issue("c/late-child", "alice", "bob", [ASSERT], [late])],
                         op("bob", assert_claim(), "c/late"), "E_UCAN_NOT_YET_VALID"))
    gone = issue("c/gone-parent", "root", "alice", [CLAIMS], exp=AT)
    out.append(authorize("proof-expired", ("UCAN-027",),
                         "alice's token expires at bob's op's wall_ms",
                         [gone, issue("c/gone-child", "alice", "bob", [ASSERT], [gone])],
                         op("bob", assert_claim(), "c/gone"), "E_UCAN_EXPIRED"))
    # structure
    carol = issue("c/root-carol", "root", "carol", [CLAIMS])
    out.append(authorize("broken-link", ("UCAN-025",),
                         "alice's token to bob cites the root's token to carol",
                         [carol, issue("c/broken", "alice", "bob", [ASSERT], [carol])],
                         op("bob", assert_claim(), "c/broken"), "E_UCAN_BROKEN_CHAIN"))
    mesh = did("mallory")
    foreign = issue("c/foreign", "mallory", "alice", [ALL], sub=mesh)
    out.append(authorize("wrong-root", ("UCAN-024",),
                         "mallory delegates her own mesh to alice", [foreign],
                         op("alice", assert_claim(), "c/foreign"), "E_UCAN_WRONG_ROOT"))
    out.append(authorize("no-leaf", ("UCAN-022",), "no token is delegated to bob", [a1],
                         op("bob", assert_claim(), "c/noleaf"), "E_UCAN_PROOF_MISSING"))
    out.append(authorize("proof-missing", ("UCAN-023", "UCAN-033"),
                         "bob's token cites alice's, which is not given", [b2],
                         op("bob", assert_claim(), "c/missing"), "E_UCAN_PROOF_MISSING"))
    out.append(authorize("missing-beats-first-error", ("UCAN-033",),
                         "bob holds two leaves: one fails attenuation, one cites a missing "
                         "proof; the missing proof is reported",
                         [a2, wide, issue("c/other", "alice", "bob",
                                          [cap("strata:evidence", "evidence/ingest")], [ev])],
                         op("bob", ingest(), "c/mix"), "E_UCAN_PROOF_MISSING",
                         comment="tokens: c/root-alice-claims, c/alice-bob-two, c/other "
                                 "(citing the absent c/root-alice-evidence)"))
    gx = issue("c/expired-x", "root", "alice", [CLAIMS], exp=AT)
    gy = issue("c/expired-y", "root", "alice", [CLAIMS], exp=AT)
    both = issue("c/alice-bob-xy", "alice", "bob", [ASSERT], [gx, gy])
    for name, given, absent in (("x", gx, "y"), ("y", gy, "x")):
        out.append(authorize(f"missing-beats-expired-{name}", ("UCAN-033", "UCAN-023"),
                             "bob's one token cites two of alice's tokens: the given one has "
                             "expired, the other is absent; the missing proof is reported "
                             "whichever proof comes first", [given, both],
                             op("bob", assert_claim(), "c/xy"), "E_UCAN_PROOF_MISSING",
                             comment=f"tokens: c/expired-{name} (root -> alice, claim/*, exp "
                                     f"= AT) and c/alice-bob-xy (alice -> bob, claim/assert, "
                                     f"citing c/expired-x and c/expired-y); c/expired-{absent} "
                                     "is not given"))
    gz = issue("c/not-yet-z", "root", "alice", [CLAIMS], nbf=AT + 1)
    first = min((gx, "E_UCAN_EXPIRED"), (gz, "E_UCAN_NOT_YET_VALID"), key=lambda t: t[0].hash)
    out.append(authorize("first-path-error", ("UCAN-033",),
                         "bob's one token cites two of alice's tokens, both given: one has "
                         "expired, the other is not yet valid; the error of the first path "
                         "(the proof with the smaller hash) is reported",
                         [gx, gz, issue("c/alice-bob-xz", "alice", "bob", [ASSERT], [gx, gz])],
                         op("bob", assert_claim(), "c/xz"), first[1],
                         comment="tokens: c/expired-x (root -> alice, claim/*, exp = AT), "
                                 "c/not-yet-z (root -> alice, claim/*, nbf = AT + 1) and "
                                 "c/alice-bob-xz (alice -> bob, claim/assert, citing both); "
                                 f"c/{'expired-x' if first[0] is gx else 'not-yet-z'} has the "
                                 "smaller hash"))
    forged = bytearray(a1.data)
    forged[-1] ^= 1
    out.append(authorize("forged-token", ("UCAN-014",), "the root's token with a flipped sig bit",
                         [bytes(forged)],
                         op("alice", assert_claim(), "c/forged"), "E_UCAN_SIGNATURE"))
    # depth: 8 tokens is the limit
    names = ["root"] + [f"n{i}" for i in range(1, 10)]
    links: list[ucan.Token] = []
    for i in range(1, 10):
        links.append(issue(f"c/depth{i}", names[i - 1], names[i], [ALL], links[-1:]))
    out.append(authorize("depth-8", ("UCAN-031",), "a chain of 8 tokens, root -> n1 ... -> n8",
                         links[:8], op("n8", assert_claim(), "c/d8")))
    out.append(authorize("depth-9", ("UCAN-031",), "a chain of 9 tokens, root -> n1 ... -> n9",
                         links, op("n9", assert_claim(), "c/d9"), "E_UCAN_DEPTH"))
    # a DelegateUcan carries its own token
    announce = issue("c/announce", "root", "alice", [cap("strata:ucan", "ucan/*"), CLAIMS])
    out.append(authorize("announce-own-token", ("UCAN-034", "CAP-001"),
                         "alice publishes the token delegated to her; it authorizes its own op",
                         [], op("alice", {"type": "DelegateUcan", "token": announce.data},
                                "c/announce")))
    out.append(authorize("announce-without-delegate", ("UCAN-034", "UCAN-028"),
                         "alice publishes a token that does not grant ucan/delegate", [],
                         op("alice", {"type": "DelegateUcan", "token": a2.data}, "c/announce2"),
                         "E_UNAUTHORIZED"))
    out.append(authorize("announce-bad-token", ("UCAN-034", "UCAN-014"),
                         "a DelegateUcan whose token has a flipped sig bit is refused first",
                         [a1], op("alice", {"type": "DelegateUcan", "token": bytes(forged)},
                                  "c/announce3"), "E_UCAN_SIGNATURE"))
    bad_requests: list[tuple[str, str, str, dict[str, Any]]] = [
        ("request-revocation-not-object", "a revocation given as a string", "ucan.authorize",
         {"root": ROOT, "tokens": hexes([a1]), "revocations": ["root"],
          "op": op("alice", assert_claim(), "c/len1").hex()}),
        ("request-ts-not-array", "a revocation whose ts is a number", "ucan.authorize",
         {"root": ROOT, "tokens": hexes([a1]),
          "revocations": [{"token_hash": a1.hash.hex(), "by": ROOT, "ts": AT}],
          "op": op("alice", assert_claim(), "c/len1").hex()}),
        ("request-tokens-not-hex-strings", "tokens holds a number", "ucan.authorize",
         {"root": ROOT, "tokens": [1], "revocations": [],
          "op": op("alice", assert_claim(), "c/len1").hex()}),
        ("request-capability-not-object", "cap.covers with a string parent", "cap.covers",
         {"parent": "strata:*", "child": {"with": "strata:claim", "can": "*", "nb": {}}}),
        ("request-exp-text", "ucan.issue with exp as text", "ucan.issue",
         {"seed": seed("root").hex(), "aud": did("alice"), "sub": ROOT,
          "cap": [ALL.to_value()], "nbf": NBF, "exp": str(EXP),
          "nonce": derive("nonce/issue", 16).hex(), "prf": []}),
        ("request-payload-not-map", "cap.requirement with the CBOR of an array", "cap.requirement",
         {"payload": wire_format.encode_canonical(["AssertClaim"]).hex()}),
    ]
    for cid, desc, command, args in bad_requests:
        out.append(Case(cid, ("CONF-005",), f"{desc}: a member of the wrong JSON type",
                        command, args, "invalid", error="E_BAD_REQUEST"))
    bad_root = {"root": "did:key:zBAD", "tokens": hexes([a1]),
                "revocations": [], "op": op("alice", assert_claim(), "c/len1").hex()}
    out.append(Case("root-not-a-did-key", ("UCAN-001",),
                    "the mesh root 'did:key:zBAD' is not an Ed25519 did:key", "ucan.authorize",
                    bad_root, "invalid", error="E_DID_INVALID"))
    out.append(Case("mesh-rules-root-not-a-did-key", ("UCAN-001",),
                    "a mesh whose root 'did:key:zBAD' is not an Ed25519 did:key has no "
                    "mesh-rules document", "mesh.rules", {"root": "did:key:zBAD"}, "invalid",
                    error="E_DID_INVALID"))
    return out


# --- chapter 07: revocation and the log ------------------------------------------------------


def revocation_cases() -> list[Case]:
    out: list[Case] = []
    a2 = issue("r/root-alice", "root", "alice", [CLAIMS])
    b2 = issue("r/alice-bob", "alice", "bob", [ASSERT], [a2])
    bob_op = op("bob", assert_claim(), "r/op")
    cases = (
        ("revoked-before", "the root revokes bob's token 1 ms before his op",
         revocation(b2, "root", AT - 1), "E_UCAN_REVOKED"),
        ("revoked-after", "the root revokes bob's token 1 ms after his op",
         revocation(b2, "root", AT + 1), None),
        ("revoked-same-ms-earlier", "a revocation at (AT, 0) against bob's op at (AT, 1)",
         revocation(b2, "root", AT, 0), "E_UCAN_REVOKED"),
        ("revoked-same-ms-later", "a revocation at (AT, 2) against bob's op at (AT, 1)",
         revocation(b2, "root", AT, 2), None),
        ("revoked-by-issuer", "alice, who issued bob's token, revokes it",
         revocation(b2, "alice", AT - 1), "E_UCAN_REVOKED"),
        ("revoked-by-audience", "bob, the token's audience, cannot revoke it",
         revocation(b2, "bob", AT - 1), None),
        ("revoked-by-stranger", "carol is on no path and cannot revoke anything",
         revocation(b2, "carol", AT - 1), None),
        ("parent-revoked", "the root revokes alice's token: bob's path goes through it",
         revocation(a2, "root", AT - 1), "E_UCAN_REVOKED"),
        ("parent-revoked-by-child-issuer", "alice cannot revoke the token above her",
         revocation(a2, "alice", AT - 1), None),
    )
    for name, desc, rev, error in cases:
        data = bob_op if "same-ms" not in name else op("bob", assert_claim(), "r/op1", AT, 1)
        out.append(authorize(name, ("UCAN-032",), desc, [a2, b2], data, error, [rev]))
    at_op = {"token_hash": b2.hash.hex(), "by": did("root"), "ts": [AT, 0, node("bob").hex()]}
    out.append(authorize("revoked-at-op-timestamp", ("UCAN-032",),
                         "a revocation by the root stamped with bob's op's own timestamp "
                         "(AT, 0, bob's node) is not before it in the total order: it does not "
                         "apply", [a2, b2], bob_op, None, [at_op],
                         comment="the boundary of 'before': equal timestamps do not count"))
    return out


def replay(cid: str, reqs: tuple[str, ...], desc: str, ops: Sequence[bytes],
           comment: str | None = None) -> Case:
    return Case(cid, reqs, desc, "ucan.replay", {"root": ROOT, "ops": [o.hex() for o in ops]},
                "valid", comment=comment)


def log_cases() -> list[Case]:
    out: list[Case] = []
    a1 = issue("l/root-alice", "root", "alice", [CLAIMS, cap("strata:ucan", "ucan/*")])
    b1 = issue("l/alice-bob", "alice", "bob", [ASSERT], [a1])
    pub_a = op("root", {"type": "DelegateUcan", "token": a1.data}, "l/pub-a", AT - 10)
    pub_b = op("alice", {"type": "DelegateUcan", "token": b1.data}, "l/pub-b", AT - 5)
    bob1 = op("bob", assert_claim(), "l/bob1", AT)
    out.append(replay("published-then-used", ("UCAN-035", "UCAN-036"),
                      "the root publishes alice's token, alice publishes bob's, bob asserts",
                      [bob1, pub_b, pub_a]))
    late = op("alice", {"type": "DelegateUcan", "token": b1.data}, "l/late", AT + 5)
    out.append(replay("published-after-use", ("UCAN-035",),
                      "bob's token is published only after his op: it does not count for it",
                      [pub_a, bob1, late]))
    rev = op("root", {"type": "RevokeUcan", "token_hash": b1.hash, "reason": "lost device"},
             "l/rev", AT + 2)
    bob2 = op("bob", assert_claim() | {"predicate": "dislikes"}, "l/bob2", AT + 4)
    out.append(replay("revocation-between", ("UCAN-035", "UCAN-032"),
                      "the root revokes bob's token between two of his ops",
                      [pub_a, pub_b, bob1, rev, bob2]))
    rogue = op("mallory", {"type": "RevokeUcan", "token_hash": b1.hash, "reason": "x"},
               "l/rogue", AT + 2)
    out.append(replay("unauthorized-revocation", ("UCAN-035",),
                      "mallory, who holds nothing, publishes a revocation: it is refused and "
                      "revokes nothing", [pub_a, pub_b, bob1, rogue, bob2]))
    self_rev = op("bob", {"type": "RevokeUcan", "token_hash": b1.hash, "reason": "x"},
                  "l/self", AT + 2)
    out.append(replay("audience-revocation", ("UCAN-035", "CAP-001"),
                      "bob may not write ucan/revoke at all", [pub_a, pub_b, self_rev, bob2]))
    twin = op("bob", assert_claim() | {"object": "coffee"}, "l/twin", AT)
    out.append(Case("replay-same-timestamp", ("DM-019",),
                    "two different ops of bob stamped (AT, 0): no log holds both, so the "
                    "replay is a bad request", "ucan.replay",
                    {"root": ROOT, "ops": [o.hex() for o in (pub_a, pub_b, bob1, twin)]},
                    "invalid", error="E_BAD_REQUEST",
                    comment="the second op of bob (label l/twin) asserts 'coffee' at AT"))
    return out


# --- chapter 07: sanitization ---------------------------------------------------------


def sanitized(author: str, payload: dict[str, Value], label: str, fields: Sequence[str],
              filter_name: str = "filter", of: bytes | None = None, sig: bytes | None = None,
              san_sig: bytes | None = None, san_extra: dict[str, Value] | None = None) -> bytes:
    """A hand-built sanitized op (so that defects the filter would refuse can be built)."""
    env = attrs.evolve(envelope(author, payload, label), sig=None)
    san = ucan.Sanitization(node(filter_name), of if of is not None else derive("of/" + label),
                            tuple(fields), None)
    signature = signatures.sign(seed(filter_name), ucan.compute_sanitized_signing_input(env, san))
    value = env.to_value()
    value["sig"] = sig
    value["san"] = attrs.evolve(san, sig=san_sig or signature).to_value()
    if san_extra is not None:
        value["san"] = {**value["san"], **san_extra}  # type: ignore[dict-item]
    return wire_format.encode_canonical(value)


def check(cid: str, reqs: tuple[str, ...], desc: str, data: bytes,
          error: str | None = None) -> Case:
    return Case(cid, reqs, desc, "ucan.check_op", {"op": data.hex()},
                "valid" if error is None else "invalid", error=error)


def sanitization_cases() -> list[Case]:
    out: list[Case] = []
    original = op("alice", assert_claim(), "s/original")
    out.append(Case("sanitize-claim", ("UCAN-046", "UCAN-047", "UCAN-041"),
                    "the filter withholds the predicate and object of alice's claim",
                    "ucan.sanitize", {"seed": seed("filter").hex(), "op": original.hex(),
                                      "fields": ["object", "predicate"]}, "valid"))
    good = ucan.sanitize_op(seed("filter"), original, ["predicate", "object"])
    out.append(check("check-sanitized", ("UCAN-039", "UCAN-040", "UCAN-041", "UCAN-042",
                                         "UCAN-043", "UCAN-044"),
                     "the sanitized op of sanitize-claim passes the context-free checks", good))
    out.append(Case("author-signs-sanitized", ("UCAN-039",),
                    "alice signs the sanitized op of check-sanitized: the signed op carries no "
                    "san (a record is present only when sig is null)", "op.sign",
                    {"seed": seed("alice").hex(), "op": good.hex()}, "valid"))
    out.append(check("check-unsigned", ("UCAN-039",), "sig null and no san",
                     wire_format.encode_envelope(envelope("alice", assert_claim(), "s/u")),
                     "E_SIGNATURE_MISSING"))
    nulled = assert_claim() | {"object": None, "predicate": None}
    out.append(check("hand-built", ("UCAN-043", "UCAN-044"),
                     "a record built by hand exactly as the filter would",
                     sanitized("alice", nulled, "s/hand", ["object", "predicate"])))
    out.append(check("one-field", ("UCAN-041", "UCAN-042", "UCAN-043"),
                     "a record withholding one field, the fewest it may",
                     sanitized("alice", assert_claim() | {"object": None}, "s/one", ["object"])))
    out.append(check("fields-not-withholdable", ("UCAN-041",), "claim withheld (an id)",
                     sanitized("alice", assert_claim() | {"claim": None}, "s/id", ["claim"]),
                     "E_SIGNATURE_MISSING"))
    out.append(check("fields-unsorted", ("UCAN-041",), "fields ['predicate', 'object']",
                     sanitized("alice", nulled, "s/unsorted", ["predicate", "object"]),
                     "E_SIGNATURE_MISSING"))
    out.append(check("fields-empty", ("UCAN-041",), "fields []",
                     sanitized("alice", assert_claim(), "s/empty", []), "E_SIGNATURE_MISSING"))
    out.append(check("field-not-null", ("UCAN-042",), "object listed but still present",
                     sanitized("alice", assert_claim(), "s/notnull", ["object"]),
                     "E_SIGNATURE_MISSING"))
    out.append(check("record-bad-sig", ("UCAN-043",), "the record's sig is another op's",
                     sanitized("alice", nulled, "s/badsig", ["object", "predicate"],
                               san_sig=derive("s/junk", 64)), "E_SIGNATURE_MISSING"))
    out.append(check("record-extra-key", ("UCAN-040",), "the record has an extra key 'at'",
                     sanitized("alice", nulled, "s/key", ["object", "predicate"],
                               san_extra={"at": 1}), "E_SIGNATURE_MISSING"))
    out.append(check("san-with-sig", ("UCAN-039",), "a record on an op whose sig is not null",
                     sanitized("alice", nulled, "s/withsig", ["object", "predicate"],
                               sig=derive("s/sig", 64)), "E_ENVELOPE_INVALID"))
    array_san = wire_format.decode_envelope(op("alice", assert_claim(), "s/array")).to_value()
    array_san["sig"] = None
    array_san["san"] = [derive("s/array-by")]
    out.append(check("san-not-a-map", ("UCAN-039",), "an unsigned envelope whose san is an "
                     "array", wire_format.encode_canonical(array_san), "E_ENVELOPE_INVALID"))
    out.append(check("record-of-31-bytes", ("UCAN-040",),
                     "the record's of is 31 bytes (signed as such by the filter)",
                     sanitized("alice", nulled, "s/of31", ["object", "predicate"],
                               of=derive("s/of31", 31)), "E_SIGNATURE_MISSING"))
    wrong_types: list[tuple[str, str, Value, str]] = [
        ("record-by-text", "by", "f" * 32, "by is 32 characters of text"),
        ("record-fields-integer", "fields", [1], "fields is [1]"),
        ("record-sig-text", "sig", "s" * 64, "sig is 64 characters of text")]
    for name, key, wrong_value, desc in wrong_types:
        out.append(check(name, ("UCAN-040",), desc,
                         sanitized("alice", nulled, "s/" + name, ["object", "predicate"],
                                   san_extra={key: wrong_value}), "E_SIGNATURE_MISSING"))
    out.append(check("payload-field-type", ("UCAN-044",),
                     "object withheld, but the predicate left in is the integer 5",
                     sanitized("alice", assert_claim() | {"object": None, "predicate": 5},
                               "s/type", ["object"]), "E_PAYLOAD_INVALID"))
    out.append(check("payload-missing-field", ("UCAN-044", "OPS-002"),
                     "object and predicate withheld, but the payload has no 'supports'",
                     sanitized("alice", {k: v for k, v in nulled.items() if k != "supports"},
                               "s/missing", ["object", "predicate"]), "E_PAYLOAD_INVALID"))
    out.append(check("payload-extra-field", ("UCAN-044", "OPS-002"),
                     "object and predicate withheld, but the payload has an extra key 'note'",
                     sanitized("alice", nulled | {"note": "x"}, "s/extra",
                               ["object", "predicate"]), "E_PAYLOAD_INVALID"))
    bad_episode: dict[str, Value] = {
        "type": "RecordEpisode", "episode": record(0x07, "episode"), "summary": None,
        "start_ms": 10, "end_ms": 5, "supports": [EVIDENCE]}
    out.append(check("payload-rules-still-apply", ("UCAN-044",),
                     "summary withheld, but start_ms > end_ms", sanitized(
                         "alice", bad_episode, "s/episode", ["summary"]), "E_PAYLOAD_INVALID"))
    unsigned = wire_format.encode_envelope(envelope("alice", assert_claim(), "s/u"))
    for name, data, desc in (("sanitize-unsigned", unsigned, "an unsigned op"),
                             ("sanitize-twice", good, "an op already sanitized")):
        out.append(Case(name, ("UCAN-046",), f"the filter refuses {desc}", "ucan.sanitize",
                        {"seed": seed("filter").hex(), "op": data.hex(), "fields": ["object"]},
                        "invalid", error="E_BAD_REQUEST"))
    out.append(Case("sanitize-id-field", ("UCAN-046",), "the filter refuses to withhold an id",
                    "ucan.sanitize", {"seed": seed("filter").hex(), "op": original.hex(),
                                      "fields": ["claim"]}, "invalid", error="E_BAD_REQUEST"))
    for name, fields, desc in (("sanitize-no-field", [], "to withhold no field"),
                               ("sanitize-field-twice", ["object", "object"],
                                "to withhold the same field twice")):
        out.append(Case(name, ("UCAN-046",), f"the filter refuses {desc}", "ucan.sanitize",
                        {"seed": seed("filter").hex(), "op": original.hex(), "fields": fields},
                        "invalid", error="E_BAD_REQUEST"))
    tampered = op("alice", assert_claim(), "s/tamper")
    env = wire_format.decode_envelope(tampered)
    bad = wire_format.encode_envelope(attrs.evolve(env, payload=assert_claim() | {
        "object": "coffee"}))
    out.append(Case("sanitize-bad-original", ("UCAN-046",),
                    "the original's signature does not verify", "ucan.sanitize",
                    {"seed": seed("filter").hex(), "op": bad.hex(), "fields": ["object"]},
                    "invalid", error="E_SIGNATURE_INVALID"))
    # the filter's authority
    alice = issue("s/root-alice", "root", "alice", [CLAIMS])
    flt = issue("s/root-filter", "root", "filter", [cap("strata:claim", "op/sanitize")])
    out.append(authorize("filter-authorized", ("UCAN-045", "CAP-004", "UCAN-034"),
                         "the filter holds op/sanitize on strata:claim", [alice, flt], good))
    wrong = issue("s/root-filter-ev", "root", "filter", [cap("strata:evidence", "op/sanitize")])
    out.append(authorize("filter-wrong-resource", ("UCAN-045", "CAP-004"),
                         "the filter holds op/sanitize on strata:evidence only", [alice, wrong],
                         good, "E_UNAUTHORIZED"))
    out.append(authorize("filter-without-token", ("UCAN-045",), "no token names the filter",
                         [alice], good, "E_UCAN_PROOF_MISSING"))
    out.append(authorize("author-checked-first", ("UCAN-034",),
                         "alice holds no token and the filter only claims: the author's check "
                         "decides",
                         [flt], ucan.sanitize_op(seed("filter"), op(
                             "alice", ingest(), "s/ingest"), ["metadata"]),
                         "E_UCAN_PROOF_MISSING"))
    # one operation
    out.append(Case("same-operation", ("UCAN-048",), "the sanitized form of an op and the op",
                    "ucan.sanitized_form", {"sanitized": good.hex(), "original": original.hex()},
                    "valid"))
    other = op("alice", assert_claim() | {"object": "coffee"}, "s/original")
    out.append(Case("different-operation", ("UCAN-048",),
                    "the same sanitized op against an op with the same id and another object",
                    "ucan.sanitized_form", {"sanitized": good.hex(), "original": other.hex()},
                    "valid"))
    return out


# --- chapter 08 --------------------------------------------------------------------------


def payload_hex(payload: dict[str, Value]) -> str:
    return wire_format.encode_canonical(payload).hex()


def requirement_cases() -> list[Case]:
    out: list[Case] = []
    examples: dict[str, dict[str, Value]] = {
        "IngestEvidence": ingest(), "AssertClaim": assert_claim(),
        "ConfirmClaim": confirm_claim(),
    }
    from reference import capabilities
    for kind in capabilities.ACTIONS:
        payload = examples.get(kind, {"type": kind})
        out.append(Case(f"requirement-{kind.lower()}", ("CAP-001",),
                        f"the action and resource of {kind}", "cap.requirement",
                        {"payload": payload_hex(payload)}, "valid",
                        comment=None if kind in examples else "only the type is given: the "
                        "requirement reads nothing else"))
    for byte, name in ((0x02, "evidence"), (0x03, "entity"), (0x04, "claim"), (0x05, "job"),
                       (0x06, "artifact"), (0x07, "episode"), (0x08, "action")):
        out.append(Case(f"cascade-{name}", ("CAP-002",),
                        f"a CascadeTombstone whose root is an {name} id", "cap.requirement",
                        {"payload": payload_hex({"type": "CascadeTombstone",
                                                 "root": record(byte, "root/" + name),
                                                 "reason": "", "cascade": []})}, "valid"))
    for kind in ("EngineContentReceived", "EnginePriorRelevanceAnalyzed", "EngineLLMCall",
                 "Engine", "Engine2Pass", "LoraLayerConsolidated", "WaveGenCacheHit"):
        out.append(Case(f"reserved-{kind.lower()}", ("CAP-003",),
                        f"the reserved variant {kind}", "cap.requirement",
                        {"payload": payload_hex({"type": kind})}, "valid"))
    out.append(Case("unknown-type", ("CAP-001",), "a type no chapter defines", "cap.requirement",
                    {"payload": payload_hex({"type": "Note"})}, "invalid",
                    error="E_PAYLOAD_TYPE"))
    return out


def _c(resource: str, ability: str, **nb: list[str]) -> dict[str, Any]:
    return {"with": resource, "can": ability, "nb": nb}


def matching_cases() -> list[Case]:
    out: list[Case] = []
    rows: list[tuple[str, tuple[str, ...], str, dict[str, Any], dict[str, Any]]] = [
        ("star-covers-all", ("CAP-007", "CAP-009"), "* covers claim/assert",
         _c("strata:claim", "*"), _c("strata:claim", "claim/assert")),
        ("namespace-covers-verb", ("CAP-007",), "claim/* covers claim/assert",
         _c("strata:claim", "claim/*"), _c("strata:claim", "claim/assert")),
        ("namespace-covers-itself", ("CAP-007",), "claim/* covers claim/*",
         _c("strata:claim", "claim/*"), _c("strata:claim", "claim/*")),
        ("namespace-not-star", ("CAP-007", "CAP-009"), "claim/* does not cover *",
         _c("strata:claim", "claim/*"), _c("strata:claim", "*")),
        ("namespace-prefix-only", ("CAP-007",), "claim/* does not cover claims/assert",
         _c("strata:claim", "claim/*"), _c("strata:claim", "claims/assert")),
        ("verb-not-namespace", ("CAP-007",), "claim/assert does not cover claim/*",
         _c("strata:claim", "claim/assert"), _c("strata:claim", "claim/*")),
        ("other-verb", ("CAP-007", "CAP-009"), "claim/assert does not cover claim/confirm",
         _c("strata:claim", "claim/assert"), _c("strata:claim", "claim/confirm")),
        ("resource-star", ("CAP-008", "CAP-009"), "strata:* covers strata:claim",
         _c("strata:*", "*"), _c("strata:claim", "*")),
        ("resource-narrower-parent", ("CAP-008",), "strata:claim does not cover strata:*",
         _c("strata:claim", "*"), _c("strata:*", "*")),
        ("resource-other", ("CAP-008", "CAP-009"), "strata:claim does not cover strata:evidence",
         _c("strata:claim", "*"), _c("strata:evidence", "*")),
        ("caveat-added", ("UCAN-019", "UCAN-020"), "the child adds a types caveat",
         _c("strata:*", "*"), _c("strata:*", "*", types=["AssertClaim"])),
        ("caveat-subset", ("UCAN-019",), "the child keeps one of two source types",
         _c("strata:*", "*", source_types=["calendar", "photo"]),
         _c("strata:*", "*", source_types=["photo"])),
        ("caveat-dropped", ("UCAN-019",), "the child drops the parent's caveat",
         _c("strata:*", "*", source_types=["calendar"]), _c("strata:*", "*")),
        ("caveat-superset", ("UCAN-019",), "the child adds a source type",
         _c("strata:*", "*", source_types=["calendar"]),
         _c("strata:*", "*", source_types=["calendar", "photo"])),
        ("caveat-other-key", ("UCAN-019",), "the parent limits types, the child source types",
         _c("strata:*", "*", types=["IngestEvidence"]),
         _c("strata:*", "*", source_types=["calendar"])),
    ]
    for cid, reqs, desc, parent, child in rows:
        out.append(Case(cid, ("UCAN-020", *reqs), desc, "cap.covers",
                        {"parent": parent, "child": child}, "valid"))
    for cid, resource, ability, reqs in (
            ("ability-uppercase", "strata:claim", "Claim/Assert", ("CAP-005", "CAP-009")),
            ("ability-one-segment", "strata:claim", "claim", ("CAP-005",)),
            ("ability-three-segments", "strata:claim", "claim/assert/x", ("CAP-005",)),
            ("ability-star-verb-only", "strata:claim", "*/assert", ("CAP-005",)),
            ("ability-segment-65", "strata:claim", "claim/" + "a" * 65, ("CAP-005",)),
            ("resource-uppercase", "strata:Claim", "*", ("CAP-006", "CAP-009")),
            ("resource-empty-class", "strata:", "*", ("CAP-006",)),
            ("resource-other-scheme", "urn:claim", "*", ("CAP-006",)),
            ("resource-space", "strata:claim ", "*", ("CAP-006", "CAP-009"))):
        out.append(Case(cid, reqs, f"the parent's capability {ability!r} on {resource!r} is "
                        "malformed", "cap.covers",
                        {"parent": _c(resource, ability), "child": _c("strata:claim", "*")},
                        "invalid", error="E_UCAN_MALFORMED"))
    out.append(Case("ability-segment-64", ("CAP-005",), "a 64-character verb is well formed",
                    "cap.covers", {"parent": _c("strata:claim", "claim/" + "a" * 64),
                                   "child": _c("strata:claim", "claim/" + "a" * 64)}, "valid"))
    return out


def files() -> list[VectorFile]:
    """The vector files of chapters 07 and 08."""
    common = __doc__.split("\n\n", 1)[1].replace("\n", " ").strip() if __doc__ else ""
    return [
        VectorFile(FOLDER, UCAN_CHAPTER, "tokens", tuple(token_cases()), comment=common +
                   " Malformed tokens are a root-issued token to alice (strata:*, *) with the "
                   "one change the case names, re-signed by the root where the change allows."),
        VectorFile(FOLDER, UCAN_CHAPTER, "chains", tuple(chain_cases()), comment=common +
                   " Each token's label is the string after 'nonce/' in its nonce's "
                   "derivation; the op labels after 'op/'."),
        VectorFile(FOLDER, UCAN_CHAPTER, "revocation", tuple(revocation_cases()),
                   comment=common + " Every case: root -> alice (claim/*) -> bob (claim/assert); "
                   "bob's op asserts a claim at (AT, 0), or (AT, 1) for the same-ms cases."),
        VectorFile(FOLDER, UCAN_CHAPTER, "log", tuple(log_cases()), comment=common),
        VectorFile(FOLDER, UCAN_CHAPTER, "sanitization", tuple(sanitization_cases()),
                   comment=common + " The filter is the principal 'filter'; hand-built records "
                   "have of = derive('of/' + label)."),
        VectorFile(FOLDER, CAP_CHAPTER, "requirements", tuple(requirement_cases()),
                   comment=common),
        VectorFile(FOLDER, CAP_CHAPTER, "matching", tuple(matching_cases()), comment=common),
    ]
