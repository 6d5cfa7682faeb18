"""Vectors of chapter 07 section 7 through the op log: a log with a mesh root authorizes.

Every case runs `log.run` (or `log.query`) with `root` set, so the log checks
authority after holding and before provenance (UCAN-037) against the authorized
DelegateUcan and RevokeUcan ops before each op in the total order (UCAN-035),
and decides later ops again when one of those arrives out of order (UCAN-036).
Derivations are those of vectors/authority/tokens.json (tools/vectorgen/authority.py):
`derive(label, n)` is the first n bytes of the BLAKE3 XOF of
"strata/vectors/authority/" + label; the seed of a principal NAME is
derive("seed/NAME", 32); a token's nonce is derive("nonce/" + label, 16); an op's
id is 0x01, its wall_ms in 6 bytes, then derive("op/" + label, 10); an evidence
id is 0x02, T0 in 6 bytes, then derive("id/" + label, 10), and its content hash
derive("content/" + label). T0 = 1,700,000,000,000 ms; tokens are valid from T0
to T0 + 1,000,000 unless a case says otherwise; AT = T0 + 500,000; now_ms is
T0 + 10,000,000, so no op is held for clock drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reference import identifiers, ucan, wire_format
from reference.driver import dispatch
from reference.wire_format import Value
from tools.vectorgen import Case, VectorFile
from tools.vectorgen.authority import (
    AT,
    FOLDER,
    ROOT,
    T0,
    UCAN_CHAPTER,
    cap,
    derive,
    ensure,
    issue,
    op,
    record,
    sanitized,
)

NOW = T0 + 10_000_000
INGEST_CALENDAR = cap("strata:evidence", "evidence/ingest", source_types=["calendar"])
DELEGATE = cap("strata:ucan", "ucan/*")
SANITIZE = cap("strata:evidence", "op/sanitize")

# --- ops -----------------------------------------------------------------------------


def ingest(label: str, source_type: str = "calendar") -> dict[str, Value]:
    """An IngestEvidence payload of its own evidence id (label 'ev/' + label)."""
    return {"type": "IngestEvidence", "evidence": record(0x02, "ev/" + label),
            "hash": derive("content/" + label), "anchor": "uid-" + label,
            "source_type": source_type, "metadata": {"title": label}}


def publish(token: ucan.Token, by: str, label: str, wall_ms: int) -> bytes:
    """A DelegateUcan op of `by` carrying `token`."""
    return op(by, {"type": "DelegateUcan", "token": token.data}, "ol/" + label, wall_ms)


def revoke(token: ucan.Token, by: str, label: str, wall_ms: int) -> bytes:
    """A RevokeUcan op of `by` naming `token`."""
    return op(by, {"type": "RevokeUcan", "token_hash": token.hash, "reason": "lost device"},
              "ol/" + label, wall_ms)


def ingest_op(author: str, label: str, wall_ms: int, source_type: str = "calendar") -> bytes:
    return op(author, ingest(label, source_type), "ol/" + label, wall_ms)


def h(data: bytes) -> str:
    return identifiers.compute_op_hash(data).hex()


# --- cases ------------------------------------------------------------------------------


def outcome(result: dict[str, Any]) -> str:
    """One append's outcome as the cases state it: applied, duplicate, held:CODE or CODE."""
    if "error" in result:
        return str(result["error"]["code"])
    if result["status"] == "held":
        return f"held:{result['reason']}"
    return str(result["status"])


def run(cid: str, reqs: tuple[str, ...], desc: str, ops: Sequence[bytes], want: Sequence[str],
        applied: Sequence[bytes], unauthorized: Sequence[tuple[bytes, str]] = (),
        comment: str | None = None, root: str | None = ROOT) -> Case:
    """A `log.run` case; generation fails unless each op ends as `want` says and the log
    applies exactly `applied` (in total order) and holds `unauthorized` as unauthorized."""
    args: dict[str, Any] = {"ops": [o.hex() for o in ops], "now_ms": NOW}
    if root is not None:
        args["root"] = root
    response = dispatch({"id": 0, "cmd": "log.run", "args": args})
    ensure(response["ok"], f"{cid}: log.run refused: {response.get('error')}")
    result = response["result"]
    got = [outcome(r) for r in result["results"]]
    ensure(got == list(want), f"{cid}: outcomes {got}, intended {list(want)}")
    ensure(result["ops"] == [h(o) for o in applied], f"{cid}: applied {result['ops']}")
    if root is not None:
        ensure(result["unauthorized"] == sorted(({"hash": h(o), "code": c}
                                                  for o, c in unauthorized),
                                                 key=lambda u: u["hash"]),
               f"{cid}: unauthorized {result['unauthorized']}")
    return Case(cid, reqs, desc, "log.run", args, "valid", comment=comment)


def authority_cases() -> list[Case]:
    """Appending with a root: authorized, held for a proof, rejected, published too late."""
    out: list[Case] = []
    alice = issue("ol/root-alice", "root", "alice", [INGEST_CALENDAR, DELEGATE])
    pub_a = publish(alice, "root", "pub-a", AT - 10)
    cal = ingest_op("alice", "cal", AT)
    out.append(run("authorized-ingest", ("UCAN-035", "UCAN-037", "DM-031"),
                   "the root publishes alice's token; alice ingests a calendar item",
                   [pub_a, cal], ["applied", "applied"], [pub_a, cal],
                   comment="alice's token (label ol/root-alice) grants evidence/ingest on "
                   "strata:evidence with source_types [calendar], and ucan/* on strata:ucan"))
    root_op = ingest_op("root", "root-own", AT)
    out.append(run("root-needs-no-token", ("UCAN-021", "UCAN-037"),
                   "the root's own op is authorized with no token in the log", [root_op],
                   ["applied"], [root_op]))
    out.append(run("proof-missing-held-then-released", ("UCAN-037", "UCAN-022", "UCAN-035",
                                                        "DM-029"),
                   "alice's ingest arrives before the DelegateUcan that is earlier in the "
                   "total order: held with E_UCAN_PROOF_MISSING, then released by it",
                   [cal, pub_a], ["held:E_UCAN_PROOF_MISSING", "applied"], [pub_a, cal],
                   comment="the second result's 'applied' lists the DelegateUcan and the "
                   "released ingest"))
    photo = ingest_op("alice", "photo", AT, "photo")
    out.append(run("caveat-violated-rejected", ("UCAN-037", "UCAN-029", "UCAN-018", "DM-032"),
                   "alice's token allows source_types [calendar]; her photo ingest is rejected "
                   "with E_UCAN_CAVEAT and stored nowhere", [pub_a, photo],
                   ["applied", "E_UCAN_CAVEAT"], [pub_a]))
    out.append(run("no-root-no-authority", ("UCAN-049", "DM-031"),
                   "the same ops in a log without a mesh root: the Core-class log checks no "
                   "authority, so the photo ingest is applied", [pub_a, photo],
                   ["applied", "applied"], [pub_a, photo], root=None))
    out.append(run("no-root-late-delegation", ("UCAN-049", "UCAN-036"),
                   "without a mesh root, a DelegateUcan that arrives after a later op decides "
                   "nothing again: alice's photo ingest stays applied", [photo, pub_a],
                   ["applied", "applied"], [pub_a, photo], root=None))
    early = ingest_op("alice", "early", AT - 2)
    rev = revoke(alice, "root", "rev-a", AT)
    late = ingest_op("alice", "late", AT + 2)
    out.append(run("revoked-before-and-after", ("UCAN-032", "UCAN-035", "UCAN-037"),
                   "the root revokes alice's token at AT: her ingest at AT - 2 stays applied, "
                   "the one at AT + 2 is rejected with E_UCAN_REVOKED",
                   [pub_a, early, rev, late], ["applied", "applied", "applied",
                                               "E_UCAN_REVOKED"], [pub_a, early, rev]))
    pub_late = publish(alice, "root", "pub-a-late", AT + 5)
    out.append(run("published-after-use", ("UCAN-035", "UCAN-037"),
                   "the DelegateUcan is received first but is later in the total order than "
                   "alice's ingest: it does not count for it, which stays held",
                   [pub_late, cal], ["applied", "held:E_UCAN_PROOF_MISSING"], [pub_late],
                   comment="the token is published at AT + 5, the ingest is stamped AT"))
    own = publish(alice, "alice", "own-a", AT - 10)
    out.append(run("own-token-announces", ("UCAN-034", "UCAN-037"),
                   "alice publishes her own token, which grants ucan/*: it counts for its own "
                   "DelegateUcan, and then for her ingest", [own, cal], ["applied", "applied"],
                   [own, cal]))
    mallory = ingest_op("mallory", "mallory", AT)
    out.append(run("undelegated-stays-held", ("UCAN-022", "UCAN-037"),
                   "mallory holds no token: her ingest is held, not rejected", [pub_a, mallory],
                   ["applied", "held:E_UCAN_PROOF_MISSING"], [pub_a]))
    twin = op("root", {"type": "RevokeUcan", "token_hash": alice.hash, "reason": "x"}, "ol/eq",
              AT - 10)
    out.append(run("equivocated-delegation-withdraws", ("UCAN-036", "DM-019"),
                   "the root's RevokeUcan with the timestamp of its DelegateUcan of alice's "
                   "token quarantines both: the token no longer counts, so alice's stored "
                   "ingest is decided again and lacks a proof", [pub_a, cal, twin],
                   ["applied", "applied", "E_HLC_DUPLICATE"], [],
                   [(cal, "E_UCAN_PROOF_MISSING")],
                   comment="the RevokeUcan (label ol/eq) is stamped AT - 10, logical 0, by "
                   "the root, like the DelegateUcan pub-a"))
    late_ev = ingest_op("root", "late-ev", AT + 5)
    claim: dict[str, Value] = {
        "type": "AssertClaim", "claim": record(0x04, "ol/claim"), "subject": None,
        "predicate": "likes", "object": "tea", "supports": [record(0x02, "ev/late-ev")]}
    unauthorized_claim = op("alice", claim, "ol/claim", AT)
    out.append(run("authority-before-provenance", ("DM-031", "UCAN-037", "UCAN-028"),
                   "alice, who holds no claim capability, asserts a claim at AT supporting "
                   "evidence the root ingested at AT + 5: authority comes before provenance, "
                   "so the code is E_UNAUTHORIZED, not E_PROVENANCE_CYCLE",
                   [pub_a, late_ev, unauthorized_claim], ["applied", "applied", "E_UNAUTHORIZED"],
                   [pub_a, late_ev], comment="the claim's id is 0x04, T0, derive('id/ol/claim', "
                   "10); its support is the evidence of ingest late-ev"))
    mallory_claim = op("mallory", claim, "ol/mallory-claim", AT + 6)
    out.append(run("holding-before-authority", ("DM-031", "UCAN-037"),
                   "mallory, who holds no token, asserts a claim supporting evidence not yet "
                   "in the log: held for the support (holding comes before authority), not "
                   "for a proof", [pub_a, mallory_claim],
                   ["applied", "held:E_SUPPORT_MISSING"], [pub_a],
                   comment="the claim of authority-before-provenance, by mallory at AT + 6"))
    bad_root = {"ops": [cal.hex()], "now_ms": NOW, "root": "did:key:zBAD"}
    out.append(Case("root-not-a-did-key", ("UCAN-001",), "the mesh root must be a did:key",
                    "log.run", bad_root, "invalid", error="E_DID_INVALID"))
    return out


def redecision_cases() -> list[Case]:
    """UCAN-036: an authority op that arrives late decides the later ops again."""
    out: list[Case] = []
    alice = issue("ol/root-alice", "root", "alice", [INGEST_CALENDAR, DELEGATE])
    bob = issue("ol/alice-bob", "alice", "bob", [INGEST_CALENDAR], [alice])
    pub_a = publish(alice, "root", "pub-a", AT - 10)
    pub_b = publish(bob, "alice", "pub-b", AT - 8)
    by_bob = ingest_op("bob", "bob", AT)
    by_alice = ingest_op("alice", "alice", AT + 1)
    rev = revoke(alice, "root", "rev-late", AT - 5)
    chain = ("root -> alice (ol/root-alice: evidence/ingest [calendar], ucan/*) -> bob "
             "(ol/alice-bob: evidence/ingest [calendar]); the root's RevokeUcan of alice's "
             "token is stamped AT - 5 and arrives last")
    out.append(run("late-revocation-withdraws", ("UCAN-036", "UCAN-032", "UCAN-035"),
                   "bob's ingest (AT) and alice's (AT + 1) are applied; a revocation of "
                   "alice's token stamped AT - 5 arrives last: both leave the applied ops and "
                   "stay stored as unauthorized, while bob's DelegateUcan (AT - 8) stays",
                   [pub_a, pub_b, by_bob, by_alice, rev],
                   ["applied"] * 5, [pub_a, pub_b, rev],
                   [(by_bob, "E_UCAN_REVOKED"), (by_alice, "E_UCAN_REVOKED")], comment=chain))
    alice2 = issue("ol/root-alice-2", "root", "alice", [INGEST_CALENDAR])
    pub_a2 = publish(alice2, "root", "pub-a2", AT - 3)
    out.append(run("late-delegation-restores", ("UCAN-036", "UCAN-035"),
                   "then the root's new token for alice, published at AT - 3, arrives: "
                   "alice's ingest is authorized again; bob's, whose chain runs through the "
                   "revoked token, is not", [pub_a, pub_b, by_bob, by_alice, rev, pub_a2],
                   ["applied"] * 6, [pub_a, pub_b, rev, pub_a2, by_alice],
                   [(by_bob, "E_UCAN_REVOKED")], comment=chain + "; ol/root-alice-2 grants "
                   "evidence/ingest [calendar] only"))
    pub_b_after = publish(bob, "alice", "pub-b-after", AT - 4)
    out.append(run("late-revocation-unpublishes", ("UCAN-036", "UCAN-035"),
                   "bob's token is published by alice at AT - 4, after the late revocation of "
                   "her token at AT - 5: that DelegateUcan becomes unauthorized, so bob's "
                   "token no longer counts and his stored ingest lacks a proof",
                   [pub_a, pub_b_after, by_bob, rev], ["applied"] * 4, [pub_a, rev],
                   [(pub_b_after, "E_UCAN_REVOKED"), (by_bob, "E_UCAN_PROOF_MISSING")],
                   comment=chain))
    bob_later = ingest_op("bob", "bob-later", AT + 3)
    out.append(run("unauthorized-delegation-counts-for-nothing", ("UCAN-035", "UCAN-036"),
                   "the ops of late-revocation-unpublishes, then bob ingests again at AT + 3: "
                   "the stored but unauthorized DelegateUcan of his token does not count, so "
                   "the new ingest is held for a proof",
                   [pub_a, pub_b_after, by_bob, rev, bob_later],
                   ["applied"] * 4 + ["held:E_UCAN_PROOF_MISSING"], [pub_a, rev],
                   [(pub_b_after, "E_UCAN_REVOKED"), (by_bob, "E_UCAN_PROOF_MISSING")],
                   comment=chain))
    out.append(run("early-revocation-in-order", ("UCAN-036", "UCAN-037", "UCAN-032"),
                   "the same ops with the revocation delivered in its place: the later ingests "
                   "are rejected on arrival, and the applied ops are the same as when it "
                   "arrives last", [pub_a, pub_b, rev, by_bob, by_alice],
                   ["applied", "applied", "applied", "E_UCAN_REVOKED", "E_UCAN_REVOKED"],
                   [pub_a, pub_b, rev], comment=chain))
    queries = [{"q": "detail", "id": record(0x02, "ev/bob").hex()},
               {"q": "detail", "id": record(0x02, "ev/alice").hex()},
               {"q": "salience", "k": 10}]
    args = {"ops": [o.hex() for o in (pub_a, pub_b, by_bob, by_alice, rev)], "now_ms": NOW,
            "queries": queries, "root": ROOT}
    response = dispatch({"id": 0, "cmd": "log.query", "args": args})
    ensure(response["ok"] and all(a.get("error", {}).get("code") == "E_NOT_FOUND"
                                  for a in response["result"]["answers"][:2])
           and response["result"]["answers"][2] == {"records": []},
           f"late-revocation-projections: {response}")
    out.append(Case("late-revocation-projections", ("UCAN-036", "DM-022"),
                    "the ops of late-revocation-withdraws through log.query: the withdrawn "
                    "ingests leave every projection, so their evidence is not found",
                    "log.query", args, "valid", comment=chain))
    return out


def sanitized_cases() -> list[Case]:
    """Sanitized ops in a log with a root: the filter's authority, and one operation."""
    out: list[Case] = []
    alice = issue("ol/root-alice", "root", "alice", [INGEST_CALENDAR, DELEGATE])
    flt = issue("ol/root-filter", "root", "filter", [SANITIZE])
    pub_a = publish(alice, "root", "pub-a", AT - 10)
    pub_f = publish(flt, "root", "pub-f", AT - 9)
    original = ingest_op("alice", "san", AT)
    san = ucan.sanitize_op(derive("seed/filter"), original, ["metadata"])
    setup = ("alice's token ol/root-alice as in log; the filter's token ol/root-filter grants "
             "op/sanitize on strata:evidence; the sanitized op is alice's ingest at AT with "
             "metadata withheld by the filter (ucan.sanitize)")
    out.append(run("sanitized-accepted", ("UCAN-045", "CAP-004", "UCAN-039", "UCAN-044",
                                          "SIG-027", "WIRE-019", "DM-016"),
                   "a sanitized op (sig null, san) whose filter holds op/sanitize is applied",
                   [pub_a, pub_f, san], ["applied"] * 3, [pub_a, pub_f, san], comment=setup))
    rev_f = revoke(flt, "root", "rev-f", AT - 5)
    out.append(run("original-replaces-withdrawn-sanitized", ("UCAN-036", "UCAN-048", "DM-020"),
                   "the filter's token is revoked late (AT - 5), so the stored sanitized op "
                   "becomes unauthorized; then alice's signed original arrives: it replaces "
                   "the sanitized form, needs no filter, and is decided again as applied",
                   [pub_a, pub_f, san, rev_f, original], ["applied"] * 5,
                   [pub_a, pub_f, rev_f, original], comment=setup + "; the root revokes the "
                   "filter's token with a RevokeUcan stamped AT - 5"))
    args = {"ops": [o.hex() for o in (pub_a, pub_f, san)], "now_ms": NOW, "root": ROOT,
            "queries": [{"q": "detail", "id": record(0x02, "ev/san").hex()}]}
    response = dispatch({"id": 0, "cmd": "log.query", "args": args})
    answer = response["result"]["answers"][0] if response["ok"] else {}
    ensure(answer.get("state") == "Ingested" and answer.get("metadata") is None,
           f"sanitized-ingest-projected: {response}")
    out.append(Case("sanitized-ingest-projected", ("UCAN-044", "UCAN-045"),
                    "the ops of sanitized-accepted through log.query: the sanitized ingest "
                    "creates its evidence, whose withheld metadata is null", "log.query", args,
                    "valid", comment=setup))
    ingest_only = issue("ol/root-filter-ingest", "root", "filter", [INGEST_CALENDAR])
    pub_fi = publish(ingest_only, "root", "pub-fi", AT - 9)
    out.append(run("sanitized-filter-lacks-op-sanitize", ("UCAN-045", "CAP-004", "UCAN-037"),
                   "the filter's token grants evidence/ingest, not op/sanitize: rejected",
                   [pub_a, pub_fi, san], ["applied", "applied", "E_UNAUTHORIZED"],
                   [pub_a, pub_fi], comment=setup + "; here the filter's token is "
                   "ol/root-filter-ingest (evidence/ingest [calendar])"))
    out.append(run("sanitized-filter-without-token", ("UCAN-045", "UCAN-037"),
                   "no token names the filter: the op is held for the filter's proof",
                   [pub_a, san], ["applied", "held:E_UCAN_PROOF_MISSING"], [pub_a],
                   comment=setup))
    out.append(run("sanitized-then-original", ("UCAN-048", "DM-020"),
                   "the original arrives after its sanitized form: no conflict, and the "
                   "original takes its place", [pub_a, pub_f, san, original], ["applied"] * 4,
                   [pub_a, pub_f, original], comment=setup))
    out.append(run("original-then-sanitized", ("UCAN-048", "DM-021"),
                   "the sanitized form arrives after the original: a duplicate, the original "
                   "is kept", [pub_a, pub_f, original, san], ["applied"] * 3 + ["duplicate"],
                   [pub_a, pub_f, original], comment=setup))
    held_san = ("the filter's DelegateUcan (pub-f, AT - 9) arrives after the sanitized op, "
                "which is held for the filter's proof until then")
    out.append(run("sanitized-held-then-released", ("UCAN-045", "UCAN-037", "UCAN-048"),
                   "a sanitized op held for its filter's proof is released, as itself, when "
                   "the filter's token is published: no original is stored, so it is no "
                   "duplicate", [pub_a, san, pub_f],
                   ["applied", "held:E_UCAN_PROOF_MISSING", "applied"], [pub_a, pub_f, san],
                   comment=setup + "; " + held_san))
    out.append(run("sanitized-held-original-stored", ("UCAN-048", "DM-021"),
                   "a sanitized op is held for its filter's proof; the original arrives and "
                   "is applied; when the filter's token is published the held sanitized form "
                   "leaves the held ops as the same operation, and the original is kept",
                   [pub_a, san, original, pub_f],
                   ["applied", "held:E_UCAN_PROOF_MISSING", "applied", "applied"],
                   [pub_a, pub_f, original], comment=setup + "; " + held_san))
    bob = issue("ol/alice-bob", "alice", "bob", [INGEST_CALENDAR], [alice])
    pub_b = publish(bob, "alice", "pub-b", AT - 8)
    flt_ucan = issue("ol/root-filter-ucan", "root", "filter", [cap("strata:ucan", "op/sanitize")])
    pub_fu = publish(flt_ucan, "root", "pub-fu", AT - 9)
    rev_b = revoke(bob, "alice", "rev-b", AT - 4)
    san_rev = ucan.sanitize_op(derive("seed/filter"), rev_b, ["reason"])
    rev_fu = revoke(flt_ucan, "root", "rev-fu", AT - 6)
    by_bob = ingest_op("bob", "bob", AT)
    out.append(run("original-revocation-decides-again", ("UCAN-036", "UCAN-048", "UCAN-032"),
                   "alice's RevokeUcan of bob's token (AT - 4) is stored in its sanitized "
                   "form, which withdraws bob's ingest (AT); the filter's token is revoked at "
                   "AT - 6, so the sanitized form is withdrawn and bob's ingest returns; then "
                   "alice's signed original arrives, needs no filter, takes its place, and "
                   "withdraws bob's ingest again",
                   [pub_a, pub_b, pub_fu, by_bob, san_rev, rev_fu, rev_b], ["applied"] * 7,
                   [pub_a, pub_fu, pub_b, rev_fu, rev_b], [(by_bob, "E_UCAN_REVOKED")],
                   comment="ol/alice-bob: alice -> bob, evidence/ingest [calendar]; "
                   "ol/root-filter-ucan: root -> filter, op/sanitize on strata:ucan; the "
                   "sanitized RevokeUcan withholds its reason (ucan.sanitize)"))
    nulled = ingest("hand") | {"metadata": None}
    with_sig = sanitized("alice", nulled, "ol/with-sig", ["metadata"], sig=derive("ol/sig", 64))
    out.append(run("san-with-sig", ("UCAN-039", "WIRE-019", "WIRE-027"),
                   "an envelope carrying both a signature and a san is malformed", [with_sig],
                   ["E_ENVELOPE_INVALID"], []))
    env = wire_format.decode_envelope(op("alice", ingest("arr"), "ol/arr", AT))
    value = env.to_value()
    value["sig"] = None
    value["san"] = [derive("ol/arr-by")]
    array_san = wire_format.encode_canonical(value)
    out.append(run("san-not-a-map", ("UCAN-039", "WIRE-019"),
                   "an unsigned envelope whose san is an array", [array_san],
                   ["E_ENVELOPE_INVALID"], []))
    value.pop("san")
    unsigned = wire_format.encode_canonical(value)
    out.append(run("sig-null-without-san", ("SIG-027", "DM-016", "UCAN-039"),
                   "sig null and no sanitization record", [unsigned],
                   ["E_SIGNATURE_MISSING"], []))
    bad_payload = ingest("bad") | {"metadata": None, "source_type": "Photo"}
    out.append(run("sanitized-payload-checked", ("DM-031", "UCAN-044"),
                   "a sanitized ingest whose record verifies, but whose source_type 'Photo' is "
                   "not a name: the payload step rejects it", [sanitized(
                       "alice", bad_payload, "ol/bad-payload", ["metadata"])],
                   ["E_PAYLOAD_INVALID"], [], root=None,
                   comment="a record built by hand as the filter would (of = "
                   "derive('of/ol/bad-payload')); a log without a root"))
    out.append(run("sanitized-record-before-payload", ("DM-031", "UCAN-043"),
                   "the same bad payload under a record whose signature does not verify: the "
                   "signature step (the record's) comes first", [sanitized(
                       "alice", bad_payload, "ol/bad-both", ["metadata"],
                       san_sig=derive("ol/bad-both-sig", 64))],
                   ["E_SIGNATURE_MISSING"], [], root=None,
                   comment="the record's sig is derive('ol/bad-both-sig', 64)"))
    forged = sanitized("alice", nulled, "ol/forged", ["metadata"],
                       san_sig=derive("ol/forged-sig", 64))
    out.append(run("record-does-not-verify", ("UCAN-043", "SIG-027"),
                   "a record whose signature is not the filter's", [forged],
                   ["E_SIGNATURE_MISSING"], []))
    return out


def delegation_cases() -> list[Case]:
    """FSM-008 and FSM-019 over a log with a root: Active, Revoked, Expired."""
    out: list[Case] = []
    expiring = issue("ol/expiring", "root", "alice", [INGEST_CALENDAR], exp=AT)
    revoked = issue("ol/revoked", "root", "bob", [INGEST_CALENDAR], exp=None)
    lasting = issue("ol/lasting", "root", "carol", [INGEST_CALENDAR], exp=None)
    pubs = [publish(expiring, "root", "pub-exp", AT - 10),
            publish(revoked, "root", "pub-rev", AT - 9),
            publish(lasting, "root", "pub-last", AT - 8)]
    rev = revoke(revoked, "root", "rev-bob", AT - 7)
    before = ingest_op("alice", "before-exp", AT - 1)
    at_exp = ingest_op("alice", "at-exp", AT)
    tick = ingest_op("root", "tick", AT)
    comment = ("ol/expiring: root -> alice, exp = AT; ol/revoked: root -> bob, exp null, "
               "revoked by the root at AT - 7; ol/lasting: root -> carol, exp null")
    states = {expiring.hash: "Expired", revoked.hash: "Revoked", lasting.hash: "Active"}
    case = run("delegation-states", ("UCAN-050", "FSM-008", "FSM-019", "UCAN-038", "UCAN-027",
                                     "FSM-002", "FSM-006"),
               "alice's token expires at AT: her ingest at AT - 1 is applied, the one at AT "
               "is rejected with E_UCAN_EXPIRED, and the root's op at AT delivers expiry",
               [*pubs, rev, before, at_exp, tick],
               ["applied"] * 5 + ["E_UCAN_EXPIRED", "applied"], [*pubs, rev, before, tick],
               comment=comment)
    _check_states(case, states)
    out.append(case)
    case = run("delegation-not-yet-expired", ("UCAN-050", "FSM-008", "UCAN-038"),
               "the last op is at AT - 1, before alice's token's expiry instant: the "
               "delegation stays Active", [pubs[0], before], ["applied", "applied"],
               [pubs[0], before], comment=comment)
    _check_states(case, {expiring.hash: "Active"})
    out.append(case)
    return out


def _check_states(case: Case, want: dict[bytes, str]) -> None:
    result = dispatch({"id": 0, "cmd": case.command, "args": case.input})["result"]
    got = {d["token"]: d["state"] for d in result["delegations"]}
    ensure(got == {k.hex(): v for k, v in want.items()}, f"{case.id}: delegations {got}")


def files() -> list[VectorFile]:
    """The vector file of chapter 07 section 7 through the op log."""
    common = __doc__.split("\n\n", 1)[1].replace("\n", " ").strip() if __doc__ else ""
    cases = authority_cases() + redecision_cases() + sanitized_cases() + delegation_cases()
    return [VectorFile(FOLDER, UCAN_CHAPTER, "oplog", tuple(cases), comment=common)]
