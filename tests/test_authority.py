"""Tests of reference/ucan.py and reference/capabilities.py against spec/07 and spec/08."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import blake3
import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference.driver.authority  # noqa: F401  (registers the chapter's commands)
from reference import capabilities, identifiers, signatures, ucan, wire_format
from reference._require import SpecViolation
from reference.driver import dispatch
from reference.introduction import ErrorCode
from reference.ucan import Capability
from tools.vectorgen import authority as gen
from tools.vectorgen import build_file

ROOT = gen.ROOT
ROOT_DIR = Path(__file__).resolve().parent.parent
ALL, CLAIMS, ASSERT = gen.ALL, gen.CLAIMS, gen.ASSERT


def rejects(requirement: str, code: ErrorCode, fn: Any, *args: Any, **kwargs: Any) -> None:
    """Call fn and check that it raises the given requirement and code."""
    with pytest.raises(SpecViolation) as info:
        fn(*args, **kwargs)
    assert (info.value.requirement, info.value.code) == (requirement, code), info.value


def env_of(data: bytes) -> wire_format.Envelope:
    return wire_format.decode_envelope(data)


def authorize(tokens: list[ucan.Token], data: bytes,
              revocations: list[ucan.Revocation] | None = None) -> ucan.Grant:
    op = ucan.check_op(data)
    return ucan.authorize(op.env, {t.hash: t for t in tokens}, revocations or [], ROOT, op.san)


def bob_chain() -> tuple[ucan.Token, ucan.Token]:
    parent = gen.issue("t/root-alice", "root", "alice", [CLAIMS])
    return parent, gen.issue("t/alice-bob", "alice", "bob", [ASSERT], [parent])


BOB_OP = gen.op("bob", gen.assert_claim(), "t/bob")


# --- tokens (section 3) --------------------------------------------------------------


def test_issue_and_verify_round_trip() -> None:
    """An issued token decodes to its fields and hashes to BLAKE3 of its canonical bytes."""
    caps = [Capability("strata:evidence", "evidence/ingest", {"source_types": ("calendar",)})]
    token = ucan.issue_token(gen.seed("root"), gen.did("alice"), ROOT, caps, 5, None,
                             bytes(16), [])
    again = ucan.verify_token(token.data)
    assert again == token
    assert token.iss == ROOT and token.exp is None and token.capabilities == tuple(caps)
    assert token.hash == blake3.blake3(token.data).digest()
    assert ucan.get_expiry_instant(token) is None


def test_signing_input_is_the_jws_input_over_the_unsigned_token() -> None:
    """The token's signature covers SI(issuer key, canonical token with sig null)."""
    _, token = bob_chain()
    value = wire_format.decode_canonical(token.data)
    assert isinstance(value, dict)
    unsigned = wire_format.encode_canonical({**value, "sig": None})
    expected = signatures.compute_signing_input(gen.node("alice"), unsigned)
    assert ucan.compute_token_signing_input(value) == expected
    signatures.verify_signature(gen.node("alice"), expected, token.sig)


@pytest.mark.parametrize("label, changes, requirement", [
    ("version", {"v": "strata-ucan/2"}, "UCAN-004"),
    ("extra", {"fct": 1}, "UCAN-003"),
    ("aud", {"aud": "did:web:example.com"}, "UCAN-005"),
    ("window", {"nbf": gen.EXP}, "UCAN-006"),
    ("exp-float", {"exp": 1.5}, "UCAN-006"),
    ("nonce", {"nonce": bytes(17)}, "UCAN-007"),
    ("caps", {"cap": []}, "UCAN-008"),
    ("resource", {"cap": [{"with": "strata:*", "can": "claim/", "nb": {}}]}, "CAP-005"),
    ("unknown-caveat", {"cap": [{"with": "strata:*", "can": "*", "nb": {"x": ["a"]}}]},
     "UCAN-016"),
    ("dup-caveat", {"cap": [{"with": "strata:*", "can": "*",
                             "nb": {"types": ["AssertClaim", "AssertClaim"]}}]}, "UCAN-017"),
    ("prf-length", {"prf": [bytes(31)]}, "UCAN-009"),
    ("root-prf", {"prf": [bytes(32)]}, "UCAN-010"),
    ("sig", {"sig": None}, "UCAN-011"),
])
def test_invalid_token_shapes(label: str, changes: dict[str, Any], requirement: str) -> None:
    """Each single defect of a token's shape is E_UCAN_MALFORMED under its own requirement."""
    rejects(requirement, ErrorCode.E_UCAN_MALFORMED, ucan.decode_token,
            gen.raw_token("test/" + label, **changes))


def test_invalid_token_noncanonical_uses_chapter_03_codes() -> None:
    """A token in non-shortest form is rejected by the CBOR decoder, before any shape rule."""
    good = gen.raw_token("test/good")
    rejects("WIRE-007", ErrorCode.E_NONCANONICAL, ucan.decode_token,
            bytes([0xB8, 0x0A]) + good[1:])


def test_invalid_token_forged_signature() -> None:
    """A token whose signature was altered is E_UCAN_SIGNATURE."""
    data = bytearray(gen.raw_token("test/forge"))
    data[-3] ^= 0x40
    rejects("UCAN-014", ErrorCode.E_UCAN_SIGNATURE, ucan.verify_token, bytes(data))


def test_invalid_issue_with_bad_ability() -> None:
    """The issuer refuses to sign a token its own decoder would reject."""
    rejects("CAP-005", ErrorCode.E_UCAN_MALFORMED, ucan.issue_token, gen.seed("root"),
            gen.did("alice"), ROOT, [Capability("strata:*", "Claim/*")], 0, 10, bytes(16), [])


# --- caveats and coverage (section 5; chapter 08) -------------------------------------------


def test_caveats_combine_with_and() -> None:
    """A payload must meet every caveat key of a capability."""
    nb = {"types": ("IngestEvidence",), "source_types": ("calendar",)}
    assert ucan.is_caveat_satisfied(nb, gen.ingest("calendar"))
    assert not ucan.is_caveat_satisfied(nb, gen.ingest("photo"))
    assert not ucan.is_caveat_satisfied({"types": ("IngestEvidence",)}, gen.assert_claim())
    assert ucan.is_caveat_satisfied({"source_types": ("calendar",)}, gen.assert_claim())


def test_caveat_narrowing_rule() -> None:
    """A child may add caveats or drop values, never drop a caveat or add a value."""
    parent = {"source_types": ("calendar", "photo")}
    assert ucan.is_caveat_narrower(parent, {"source_types": ("photo",), "types": ("X",)})
    assert not ucan.is_caveat_narrower(parent, {})
    assert not ucan.is_caveat_narrower(parent, {"source_types": ("calendar", "contact")})
    assert ucan.is_caveat_narrower({}, {})


@pytest.mark.parametrize("parent, child, covered", [
    ("*", "claim/assert", True), ("claim/*", "claim/assert", True), ("claim/*", "claim/*", True),
    ("claim/*", "*", False), ("claim/*", "claims/x", False), ("claim/assert", "claim/*", False),
    ("claim/assert", "claim/confirm", False),
])
def test_ability_coverage(parent: str, child: str, covered: bool) -> None:
    """The three rules of chapter 08 section 4.1, and nothing else."""
    assert capabilities.is_ability_covered(parent, child) is covered


def test_resource_coverage() -> None:
    """strata:* covers every resource; otherwise only equal resources cover."""
    assert capabilities.is_resource_covered("strata:*", "strata:claim")
    assert not capabilities.is_resource_covered("strata:claim", "strata:*")
    assert not capabilities.is_resource_covered("strata:claim", "strata:Claim")


ABILITIES = st.sampled_from(["*", "claim/*", "claim/assert", "evidence/*", "evidence/ingest"])
NB = st.sampled_from([{}, {"types": ("AssertClaim",)}, {"source_types": ("calendar",)},
                      {"source_types": ("calendar", "photo")}])
CAPS = st.builds(Capability, st.sampled_from(["strata:*", "strata:claim"]), ABILITIES, NB)


@given(a=CAPS, b=CAPS, c=CAPS)
def test_coverage_is_a_preorder(a: Capability, b: Capability, c: Capability) -> None:
    """Coverage is reflexive and transitive, so a chain grants no more than its top."""
    assert ucan.is_capability_covered(a, a)
    if ucan.is_capability_covered(a, b) and ucan.is_capability_covered(b, c):
        assert ucan.is_capability_covered(a, c)


def test_requirement_table() -> None:
    """Core variants, cascades by root kind, and the reserved snake-case rule."""
    req = capabilities.get_requirement
    assert req({"type": "MergeEntity"}) == capabilities.Requirement("entity/merge",
                                                                    "strata:entity")
    root = gen.record(0x06, "art")
    assert req({"type": "CascadeTombstone", "root": root}).action == "job/cascade"
    assert req({"type": "EngineVectorStored"}) == capabilities.Requirement(
        "engine/vector_stored", "strata:engine")
    assert req({"type": "WaveGen"}).action == "wavegen/_"
    assert capabilities.get_sanitize_requirement(gen.ingest()).resource == "strata:evidence"


def test_invalid_requirement_unknown_type() -> None:
    """A payload type of no variant has no requirement."""
    rejects("CAP-001", ErrorCode.E_PAYLOAD_TYPE, capabilities.get_requirement, {"type": "Note"})


# --- the chain walk (section 6) ------------------------------------------------------------


def test_chain_lengths_one_to_three() -> None:
    """Chains of 1, 2 and 3 tokens authorize, and the chain is reported leaf first."""
    a1 = gen.issue("t/a1", "root", "alice", [ALL])
    assert authorize([a1], gen.op("alice", gen.assert_claim(), "t/1")).chain == (a1.hash,)
    parent, child = bob_chain()
    assert authorize([parent, child], BOB_OP).chain == (child.hash, parent.hash)
    leaf = gen.issue("t/carol", "bob", "carol", [ASSERT], [child])
    chain = authorize([leaf, child, parent], gen.op("carol", gen.assert_claim(), "t/3")).chain
    assert chain == (leaf.hash, child.hash, parent.hash)


def test_root_needs_no_token() -> None:
    """The root's own ops are authorized with no token."""
    assert authorize([], gen.op("root", gen.assert_claim(), "t/root")).chain == ()


def test_invalid_no_leaf() -> None:
    """An author no token names is E_UCAN_PROOF_MISSING (held, not rejected)."""
    rejects("UCAN-022", ErrorCode.E_UCAN_PROOF_MISSING, authorize, [], BOB_OP)


def test_invalid_missing_proof() -> None:
    """A leaf whose proof is absent is E_UCAN_PROOF_MISSING."""
    _, child = bob_chain()
    rejects("UCAN-023", ErrorCode.E_UCAN_PROOF_MISSING, authorize, [child], BOB_OP)


def test_invalid_wrong_root() -> None:
    """A chain of another mesh is E_UCAN_WRONG_ROOT."""
    foreign = gen.issue("t/foreign", "mallory", "bob", [ALL], sub=gen.did("mallory"))
    rejects("UCAN-024", ErrorCode.E_UCAN_WRONG_ROOT, authorize, [foreign], BOB_OP)


def test_invalid_broken_link() -> None:
    """A proof delegated to someone other than the child's issuer is E_UCAN_BROKEN_CHAIN."""
    carol = gen.issue("t/carol-root", "root", "carol", [CLAIMS])
    child = gen.issue("t/broken", "alice", "bob", [ASSERT], [carol])
    rejects("UCAN-025", ErrorCode.E_UCAN_BROKEN_CHAIN, authorize, [carol, child], BOB_OP)


@pytest.mark.parametrize("wall_ms, requirement, code", [
    (gen.NBF - 1, "UCAN-026", ErrorCode.E_UCAN_NOT_YET_VALID),
    (gen.EXP, "UCAN-027", ErrorCode.E_UCAN_EXPIRED),
])
def test_invalid_outside_window(wall_ms: int, requirement: str, code: ErrorCode) -> None:
    """nbf <= wall_ms < exp: one millisecond outside either bound fails."""
    a1 = gen.issue("t/window", "root", "alice", [ALL])
    rejects(requirement, code, authorize, [a1],
            gen.op("alice", gen.assert_claim(), f"t/w{wall_ms}", wall_ms))


def test_window_boundaries_inside() -> None:
    """An op at nbf and one at exp - 1 are authorized."""
    a1 = gen.issue("t/window", "root", "alice", [ALL])
    for wall_ms in (gen.NBF, gen.EXP - 1):
        authorize([a1], gen.op("alice", gen.assert_claim(), f"t/in{wall_ms}", wall_ms))


def test_invalid_unauthorized_and_caveat() -> None:
    """No capability admits: E_UNAUTHORIZED; one admits but its caveats fail: E_UCAN_CAVEAT."""
    a1 = gen.issue("t/cal", "root", "alice", [gen.cap("strata:evidence", "evidence/ingest",
                                                      source_types=["calendar"])])
    rejects("UCAN-028", ErrorCode.E_UNAUTHORIZED, authorize, [a1],
            gen.op("alice", gen.assert_claim(), "t/u"))
    rejects("UCAN-029", ErrorCode.E_UCAN_CAVEAT, authorize, [a1],
            gen.op("alice", gen.ingest("photo"), "t/c"))


def test_invalid_widening() -> None:
    """A child capability its parent does not cover is E_UCAN_ATTENUATION."""
    parent = gen.issue("t/assert", "root", "alice", [ASSERT])
    child = gen.issue("t/widen", "alice", "bob", [CLAIMS], [parent])
    rejects("UCAN-030", ErrorCode.E_UCAN_ATTENUATION, authorize, [parent, child], BOB_OP)


def test_depth_limit() -> None:
    """Eight tokens are allowed; a ninth is E_UCAN_DEPTH."""
    names = ["root"] + [f"n{i}" for i in range(1, 10)]
    links: list[ucan.Token] = []
    for i in range(1, 10):
        links.append(gen.issue(f"t/d{i}", names[i - 1], names[i], [ALL], links[-1:]))
    authorize(links[:8], gen.op("n8", gen.assert_claim(), "t/d8"))
    rejects("UCAN-031", ErrorCode.E_UCAN_DEPTH, authorize, links,
            gen.op("n9", gen.assert_claim(), "t/d9"))


def test_missing_proof_reported_before_other_errors() -> None:
    """When no path passes, a missing proof wins over the first path's error."""
    parent = gen.issue("t/pm", "root", "alice", [CLAIMS])
    wide = gen.issue("t/pm-wide", "alice", "bob", [gen.cap("strata:evidence",
                                                           "evidence/ingest")], [parent])
    ev = gen.issue("t/pm-ev", "root", "alice", [gen.cap("strata:evidence", "evidence/*")])
    other = gen.issue("t/pm-other", "alice", "bob",
                      [gen.cap("strata:evidence", "evidence/ingest")], [ev])
    data = gen.op("bob", gen.ingest(), "t/pm")
    rejects("UCAN-023", ErrorCode.E_UCAN_PROOF_MISSING, authorize, [parent, wide, other], data)
    assert authorize([parent, wide, other, ev], data).chain == (other.hash, ev.hash)


# --- revocation and the log (section 7) ----------------------------------------------------


def test_revocation_applies_only_before_the_op_and_by_an_issuer_above() -> None:
    """Only an issuer of the link or above, strictly before the op in total order, revokes it."""
    parent, child = bob_chain()
    at = gen.AT
    root_node = gen.node("root")

    def verdict(token: ucan.Token, by: str, ts: ucan.Ts) -> ErrorCode | None:
        try:
            authorize([parent, child], BOB_OP, [ucan.Revocation(token.hash, gen.did(by), ts)])
        except SpecViolation as violation:
            return violation.code
        return None

    revoked = ErrorCode.E_UCAN_REVOKED
    assert verdict(child, "root", (at - 1, 0, root_node)) == revoked
    assert verdict(child, "root", (at + 1, 0, root_node)) is None
    assert verdict(child, "alice", (at - 1, 0, root_node)) == revoked
    assert verdict(child, "bob", (at - 1, 0, root_node)) is None
    assert verdict(parent, "root", (at - 1, 0, root_node)) == revoked
    assert verdict(parent, "alice", (at - 1, 0, root_node)) is None
    bob_node = gen.node("bob")
    order = sorted([(at, 0, root_node), (at, 0, bob_node)])
    expected = revoked if order[0][2] == root_node else None
    assert verdict(child, "root", (at, 0, root_node)) == expected


def test_replay_is_independent_of_input_order() -> None:
    """The same ops in any order give the same verdicts, decided in the total order."""
    case = next(c for c in gen.log_cases() if c.id == "revocation-between")
    ops = [ucan.check_op(bytes.fromhex(h)) for h in case.input["ops"]]
    items = [(o.env, o.san, o.hash) for o in ops]
    first = [(v.hash, v.error is None) for v in ucan.replay(items, ROOT)]
    random.Random(7).shuffle(items)
    assert [(v.hash, v.error is None) for v in ucan.replay(items, ROOT)] == first
    assert [ok for _, ok in first] == [True, True, True, True, False]


def test_token_published_after_use_does_not_count() -> None:
    """A token counts only for ops after the DelegateUcan that publishes it."""
    case = next(c for c in gen.log_cases() if c.id == "published-after-use")
    ops = [ucan.check_op(bytes.fromhex(h)) for h in case.input["ops"]]
    verdicts = ucan.replay([(o.env, o.san, o.hash) for o in ops], ROOT)
    codes = [None if v.error is None else v.error.code for v in verdicts]
    assert codes == [None, ErrorCode.E_UCAN_PROOF_MISSING, None]


def test_authorize_in_log_sees_only_earlier_authorized_ops() -> None:
    """An op is decided against the authorized ops before it, whatever else the log holds."""
    case = next(c for c in gen.log_cases() if c.id == "revocation-between")
    ops = [ucan.check_op(bytes.fromhex(h)) for h in case.input["ops"]]
    log = [(o.env, o.san, o.hash) for o in ops]
    first, last = ops[2], ops[4]  # bob's ops before and after the root's revocation
    assert ucan.authorize_in_log(first.env, None, log, ROOT).chain
    rejects("UCAN-032", ErrorCode.E_UCAN_REVOKED, ucan.authorize_in_log, last.env, None, log,
            ROOT)
    rejects("UCAN-022", ErrorCode.E_UCAN_PROOF_MISSING, ucan.authorize_in_log, first.env, None,
            [item for item in log if item[0].payload["type"] != "DelegateUcan"], ROOT)


def test_expiry_instant_is_exp() -> None:
    """The delegation's expiry instant is its token's exp in ms."""
    token = gen.issue("t/exp", "root", "alice", [ALL], exp=gen.T0 + 42)
    assert ucan.get_expiry_instant(token) == gen.T0 + 42


# --- sanitization (section 8) -------------------------------------------------------------


def test_sanitize_and_check() -> None:
    """A sanitized op nulls its fields, names its original, verifies, and is the same op."""
    original = gen.op("alice", gen.assert_claim(), "t/s")
    data = ucan.sanitize_op(gen.seed("filter"), original, ["predicate", "object"])
    checked = ucan.check_op(data)
    assert checked.san is not None and checked.env.sig is None
    assert checked.san.fields == ("object", "predicate")
    assert checked.san.of == identifiers.compute_op_hash(original)
    assert checked.env.payload["object"] is None
    assert ucan.is_sanitized_form_of(checked, ucan.check_op(original))
    other = gen.op("alice", gen.assert_claim() | {"object": "x"}, "t/s")
    assert not ucan.is_sanitized_form_of(checked, ucan.check_op(other))


def test_filter_needs_op_sanitize_on_the_resource() -> None:
    """The filter's chain is walked for op/sanitize on the op's resource."""
    data = ucan.sanitize_op(gen.seed("filter"), gen.op("alice", gen.assert_claim(), "t/f"),
                            ["object"])
    alice = gen.issue("t/f-alice", "root", "alice", [CLAIMS])
    good = gen.issue("t/f-ok", "root", "filter", [gen.cap("strata:claim", "op/sanitize")])
    grant = authorize([alice, good], data)
    assert grant.filter_chain == (good.hash,)
    bad = gen.issue("t/f-bad", "root", "filter", [gen.cap("strata:claim", "claim/*")])
    rejects("UCAN-028", ErrorCode.E_UNAUTHORIZED, authorize, [alice, bad], data)


def test_invalid_sanitization_records() -> None:
    """Each defect of a record is E_SIGNATURE_MISSING under its own requirement."""
    nulled = gen.assert_claim() | {"object": None}
    cases = [
        ("UCAN-041", gen.sanitized("alice", gen.assert_claim() | {"claim": None}, "t/i",
                                   ["claim"])),
        ("UCAN-042", gen.sanitized("alice", gen.assert_claim(), "t/n", ["object"])),
        ("UCAN-043", gen.sanitized("alice", nulled, "t/g", ["object"],
                                   san_sig=gen.derive("t/junk", 64))),
        ("UCAN-040", gen.sanitized("alice", nulled, "t/k", ["object"], san_extra={"x": 1})),
    ]
    for requirement, data in cases:
        rejects(requirement, ErrorCode.E_SIGNATURE_MISSING, ucan.check_op, data)
    rejects("UCAN-039", ErrorCode.E_ENVELOPE_INVALID, ucan.check_op,
            gen.sanitized("alice", nulled, "t/s2", ["object"], sig=bytes(64)))


def test_invalid_sanitize_requests() -> None:
    """The filter refuses unsigned ops, no field, a field twice and unwithholdable fields."""
    unsigned = wire_format.encode_envelope(gen.envelope("alice", gen.assert_claim(), "t/u"))
    rejects("UCAN-046", ErrorCode.E_BAD_REQUEST, ucan.sanitize_op, gen.seed("filter"),
            unsigned, ["object"])
    rejects("UCAN-046", ErrorCode.E_BAD_REQUEST, ucan.sanitize_op, gen.seed("filter"),
            gen.op("alice", gen.assert_claim(), "t/v"), ["supports"])
    for fields in ([], ["object", "object"]):
        rejects("UCAN-046", ErrorCode.E_BAD_REQUEST, ucan.sanitize_op, gen.seed("filter"),
                gen.op("alice", gen.assert_claim(), "t/v"), fields)


def test_sanitized_payload_keeps_other_rules() -> None:
    """Withheld fields skip their type check; the other fields and cross-field rules do not."""
    episode: dict[str, wire_format.Value] = {
        "type": "RecordEpisode", "episode": gen.record(0x07, "e"), "summary": None,
        "start_ms": 1, "end_ms": 2, "supports": [gen.EVIDENCE]}
    ucan.parse_sanitized_payload(dict(episode), ["summary"])
    rejects("OPS-014", ErrorCode.E_PAYLOAD_INVALID, ucan.parse_sanitized_payload,
            episode | {"start_ms": 3}, ["summary"])
    rejects("OPS-006", ErrorCode.E_PAYLOAD_INVALID, ucan.parse_sanitized_payload,
            dict(episode), [])


# --- the driver and the vectors -----------------------------------------------------------


def test_driver_authorize_reports_the_chain() -> None:
    """ucan.authorize answers with the chain in hex, leaf first."""
    parent, child = bob_chain()
    response = dispatch({"id": 1, "cmd": "ucan.authorize", "args": {
        "root": ROOT, "tokens": [parent.data.hex(), child.data.hex()], "revocations": [],
        "op": BOB_OP.hex()}})
    assert response["ok"] and response["result"]["chain"] == [child.hash.hex(),
                                                              parent.hash.hex()]


def test_invalid_driver_root_not_a_did() -> None:
    """A root that is not a did:key is refused with chapter 04's code."""
    response = dispatch({"id": 1, "cmd": "ucan.authorize", "args": {
        "root": "alice", "tokens": [], "revocations": [], "op": BOB_OP.hex()}})
    assert response["error"]["code"] == "E_DID_INVALID"


def test_vectors_generate_without_contradiction() -> None:
    """Every case gets the result and code its author intended, in the vector-file schema."""
    schema = json.loads((ROOT_DIR / "vectors" / "schemas" / "vector-file.schema.json").read_text())
    for vfile in gen.files():
        doc = build_file(vfile)
        jsonschema.validate(doc, schema)
        assert doc["cases"], vfile.topic
        for case in doc["cases"]:
            assert case["requirements"], case["id"]


def test_every_requirement_has_a_vector_or_check() -> None:
    """Each UCAN and CAP id of the chapters is cited by a vector case or a property check."""
    import conformance.suites.authority  # noqa: F401
    import conformance.suites.authority_log  # noqa: F401
    from conformance.suites import CHECKS
    from tools.spec import load_spec
    from tools.vectorgen import authority_log

    files = gen.files() + authority_log.files()
    cited = {r for vfile in files for case in vfile.cases for r in case.requirements}
    cited |= {r for c in CHECKS.values() for r in c.requirements}
    ids = {r for r in load_spec().by_id() if r.startswith(("UCAN-", "CAP-"))}
    assert ids, "the chapters define no requirement"
    assert sorted(ids - cited) == []


def test_cases_are_derived_not_random() -> None:
    """Two generations give identical bytes."""
    first = [build_file(v) for v in gen.files()[:2]]
    assert first == [build_file(v) for v in gen.files()[:2]]
