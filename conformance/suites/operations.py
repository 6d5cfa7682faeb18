"""Property checks of chapter 02, operation payloads, through the log commands (spec/02).

Ops are built and signed by the harness itself (`_oplib`: cbor2 and pynacl), so
every payload the checks send is exactly the one they reason about. The
expected outcome of each op is worked out from the harness's own transcription
of the field table: applied, held (spec/01 section 4.4), or the one code its
single defect carries.
"""

from __future__ import annotations

from typing import Any

import cbor2
import nacl.signing
from hypothesis import assume, given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._oplib import (
    ACT,
    ART,
    AUTHORITY_VARIANTS,
    BASE_MS,
    CASCADE_ROOT,
    CLM,
    CREATES,
    DRIFT_MS,
    ENT,
    EPI,
    EV,
    FIELDS,
    INTS,
    PAYLOAD,
    PAYLOAD_CODES,
    RECORD_KINDS,
    TYPE,
    Author,
    Defect,
    b64u,
    defects,
    has_defects,
    named_records,
    op_hash,
    payloads,
    public_key,
    unknown_types,
)

SEEDS = st.binary(min_size=32, max_size=32)
VARIANTS = sorted(FIELDS)
NOW_MS = BASE_MS + 1_000  # every op an Author makes in a check is within the drift bound
CREATABLE = tuple(k for k in RECORD_KINDS if k != ART)  # no variant creates an artifact


def run(impl: Impl, ops: list[bytes], now_ms: int = NOW_MS) -> dict[str, Any]:
    out: dict[str, Any] = impl.ok("log.run", {"ops": [op.hex() for op in ops], "now_ms": now_ms})
    expect(len(out.get("results", [])) == len(ops), f"log.run gave {len(out.get('results', []))} "
                                                    f"results for {len(ops)} ops")
    return out


def outcome(result: dict[str, Any]) -> str:
    """One op's outcome: its error code, `held:<reason>`, or its status."""
    if "error" in result:
        return str(result["error"].get("code"))
    if result.get("status") == "held":
        return f"held:{result.get('reason')}"
    return str(result.get("status"))


def is_self_naming(variant: str, payload: dict[str, Any]) -> bool:
    """Whether a payload names the record it creates (left to spec/01's provenance rules)."""
    created = CREATES.get(variant)
    return created is not None and payload[created] in named_records(variant, payload)


# --- valid payloads are accepted -------------------------------------------------------


@check("OPS-001", "OPS-002", "OPS-003", "OPS-004", "OPS-005", "OPS-006", "OPS-007", "OPS-008",
       "OPS-009", "OPS-010", "OPS-011", "OPS-012", "OPS-013", "OPS-014", "OPS-015", "DM-029")
@given(seed=SEEDS, data=st.data(), variant=st.sampled_from(VARIANTS))
def check_valid_payload_accepted(impl: Impl, seed: bytes, data: st.DataObject,
                                 variant: str) -> None:
    """A random valid payload of any variant, alone in a log, is applied or held, never refused."""
    payload = data.draw(payloads(variant), label="payload")
    assume(not is_self_naming(variant, payload))
    op = Author(seed).op(payload)
    got = outcome(run(impl, [op])["results"][0])
    if variant in AUTHORITY_VARIANTS:
        expect(got not in PAYLOAD_CODES, f"a valid {variant} was refused with {got}")
        return
    want = "held:E_SUPPORT_MISSING" if named_records(variant, payload) else "applied"
    expect(got == want, f"a valid {variant} alone in a log: expected {want}, got {got}")


@check("OPS-016")
@given(seed=SEEDS, suffix=st.text(max_size=10),
       fields=st.dictionaries(st.text(max_size=8).filter(lambda k: k != "type"),
                              st.one_of(st.binary(max_size=20), INTS, st.text(max_size=5),
                                        st.lists(st.binary(min_size=17, max_size=17),
                                                 max_size=3)), max_size=4))
def check_reserved_variant_stored(impl: Impl, seed: bytes, suffix: str,
                                  fields: dict[str, Any]) -> None:
    """A signed `WaveGen...` op with arbitrary fields is applied uninterpreted.

    OPS-016 binds only prefixes whose class an implementation does not claim; no
    implementation of chapter 14 (class WaveGen) exists yet, so the check uses that prefix.
    """
    op = Author(seed).op({"type": "WaveGen" + suffix, **fields})
    out = run(impl, [op])
    expect(outcome(out["results"][0]) == "applied",
           f"WaveGen{suffix} with fields {sorted(fields)}: {outcome(out['results'][0])}")
    expect(out.get("ops") == [op_hash(op)], "the reserved op is not among the applied ops")


def create(author: Author, kind: int, supports: list[bytes], record: bytes) -> bytes:
    """An op creating `record` (of `kind`) derived from `supports`."""
    sup = sorted(supports)
    if kind == EV:
        return author.op({"type": "IngestEvidence", "evidence": record, "hash": bytes(32),
                          "anchor": "a", "source_type": "s", "metadata": {}})
    if kind == CLM:
        return author.op({"type": "AssertClaim", "claim": record, "subject": None,
                          "predicate": "p", "object": None, "supports": sup})
    if kind == ENT:
        return author.op({"type": "CreateEntity", "entity": record, "kind": "k",
                          "attributes": {}, "supports": sup})
    if kind == EPI:
        return author.op({"type": "RecordEpisode", "episode": record, "summary": "s",
                          "start_ms": 0, "end_ms": 0, "supports": sup})
    if kind == ACT:
        return author.op({"type": "ProposeAction", "action": record, "description": "d",
                          "expires_ms": 0, "supports": sup})
    return author.op({"type": "StartJob", "job": record, "kind": "k", "inputs": sup})


def prerequisites(author: Author, variant: str, payload: dict[str, Any]) -> list[bytes]:
    """Ops creating every record `payload` names; cascade entries are derived from the root."""
    ops: list[bytes] = []
    made: set[bytes] = set()

    def make(record: bytes, supports: list[bytes]) -> None:
        if record in made:
            return
        made.add(record)
        if record[0] in (CLM, EPI, ACT) and not supports:
            base = author.new_id(EV)
            make(base, [])
            supports = [base]
        ops.append(create(author, record[0], supports, record))

    root_field = CASCADE_ROOT.get(variant)
    for record in named_records(variant, payload):
        if root_field is not None and record in payload["cascade"]:
            make(payload[root_field], [])
            make(record, [payload[root_field]])
        else:
            make(record, [])
    return ops


@check("OPS-001", "OPS-002", "DM-029")
@given(seed=SEEDS, data=st.data(),
       variant=st.sampled_from([v for v in VARIANTS if v not in AUTHORITY_VARIANTS]),
       op_first=st.booleans())
def check_valid_payload_applied_with_prerequisites(impl: Impl, seed: bytes, data: st.DataObject,
                                                   variant: str, op_first: bool) -> None:
    """A valid op is applied after the ops creating what it names, or held until they arrive."""
    payload = data.draw(payloads(variant, CREATABLE), label="payload")
    assume(not is_self_naming(variant, payload))
    if variant in CASCADE_ROOT:  # an evidence record depends on nothing, so cannot be listed
        payload["cascade"] = [r for r in payload["cascade"] if r[0] != EV]
    author = Author(seed)
    prereqs = prerequisites(author, variant, payload)
    op = author.op(payload)  # later in the total order than every prerequisite
    ops = [op, *prereqs] if op_first else [*prereqs, op]
    out = run(impl, ops)
    got = [outcome(r) for r in out["results"]]
    if op_first and prereqs:
        expect(got == ["held:E_SUPPORT_MISSING"] + ["applied"] * len(prereqs),
               f"{variant} before its {len(prereqs)} prerequisites: {got}")
    else:
        expect(got == ["applied"] * len(ops), f"{variant} after its prerequisites: {got}")
    expect(sorted(out.get("ops", [])) == sorted(op_hash(o) for o in ops),
           f"applied ops after the run: {out.get('ops')}")
    expect(out.get("held") == [], f"ops still held: {out.get('held')}")


# --- single defects are refused with their code -----------------------------------------


def field_defect(data: st.DataObject, variant: str, payload: dict[str, Any]
                 ) -> tuple[dict[str, Any], str, str]:
    """`payload` with one field given a defect of its type; the code and what was done."""
    fields = [(n, f) for n, f in FIELDS[variant] if has_defects(f)]
    name, ftype = data.draw(st.sampled_from(fields), label="field")
    value, code, what = data.draw(defects(ftype), label="defect")
    return {**payload, name: value}, code, f"{variant}.{name}: {what}"


def rule_defect(variant: str, payload: dict[str, Any]) -> tuple[dict[str, Any], str, str] | None:
    """`payload` breaking one of the rules between fields (OPS-013 to OPS-015), if it has one."""
    if variant == "MergeEntity":
        return {**payload, "target": payload["source"]}, PAYLOAD, "merged into itself"
    if variant == "RecordEpisode":
        start = max(payload["start_ms"], 1)
        return {**payload, "start_ms": start, "end_ms": start - 1}, PAYLOAD, "ends before start"
    root = CASCADE_ROOT.get(variant)
    if root is not None and len(payload["cascade"]) < 4096:
        return ({**payload, "cascade": sorted([*payload["cascade"], payload[root]])}, PAYLOAD,
                "cascade lists its root")
    return None


def single_defect(data: st.DataObject, variant: str, payload: dict[str, Any]
                  ) -> tuple[dict[str, Any], str, str]:
    """One defect of any kind the chapter names, and the code it must be refused with."""
    how = data.draw(st.sampled_from(["field", "field", "field", "missing", "unknown", "type",
                                     "rule"]), label="how")
    if how == "missing":
        name = data.draw(st.sampled_from([n for n, _ in FIELDS[variant]]), label="missing")
        return ({k: v for k, v in payload.items() if k != name}, PAYLOAD,
                f"{variant} without {name}")
    if how == "unknown":
        extra = data.draw(st.text(max_size=10).filter(
            lambda k: k != "type" and k not in payload), label="unknown field")
        return {**payload, extra: 0}, PAYLOAD, f"{variant} with an extra field {extra!r}"
    if how == "type":
        name = data.draw(unknown_types(), label="type")
        return {**payload, "type": name}, TYPE, f"type {name!r}"
    if how == "rule":
        broken = rule_defect(variant, payload)
        if broken is not None:
            return broken
    return field_defect(data, variant, payload)


@check("OPS-001", "OPS-002", "OPS-003", "OPS-004", "OPS-005", "OPS-006", "OPS-007", "OPS-008",
       "OPS-009", "OPS-010", "OPS-011", "OPS-012", "OPS-013", "OPS-014", "OPS-015", "DM-004")
@given(seed=SEEDS, data=st.data(), variant=st.sampled_from(VARIANTS))
def check_single_defect_rejected(impl: Impl, seed: bytes, data: st.DataObject,
                                 variant: str) -> None:
    """A valid payload with one defect is refused with the code spec/02 gives that defect."""
    payload = data.draw(payloads(variant), label="payload")
    bad, code, what = single_defect(data, variant, payload)
    got = outcome(run(impl, [Author(seed).op(bad)])["results"][0])
    expect(got == code, f"{what}: expected {code}, got {got}")


@check("OPS-017")
@given(seed=SEEDS, data=st.data(),
       variant=st.sampled_from([v for v in VARIANTS if len(FIELDS[v]) >= 2]))
def check_first_failing_check_decides(impl: Impl, seed: bytes, data: st.DataObject,
                                      variant: str) -> None:
    """With two defects, the field set beats the fields, and the first field in table order wins."""
    payload = data.draw(payloads(variant), label="payload")
    fields = [(n, f) for n, f in FIELDS[variant] if has_defects(f)]
    assume(len(fields) >= 2)
    i, j = sorted(data.draw(st.lists(st.integers(0, len(fields) - 1), min_size=2, max_size=2,
                                     unique=True), label="fields"))
    first: Defect = data.draw(defects(fields[i][1]), label="first")
    second: Defect = data.draw(defects(fields[j][1]), label="second")
    bad = {**payload, fields[i][0]: first[0], fields[j][0]: second[0]}
    how = data.draw(st.sampled_from(["fields", "field-set", "rule"]), label="how")
    want, what = first[1], f"{fields[i][0]} ({first[2]}) then {fields[j][0]} ({second[2]})"
    if how == "field-set":
        bad = {k: v for k, v in bad.items() if k != fields[j][0]}
        want, what = PAYLOAD, f"{fields[j][0]} missing and {fields[i][0]} ({first[2]})"
    elif how == "rule":
        broken = rule_defect(variant, payload)
        if broken is not None:
            bad = {**broken[0], fields[i][0]: first[0]}
            want, what = first[1], f"{broken[2]} and {fields[i][0]} ({first[2]})"
            if variant == "MergeEntity" and fields[i][0] in ("source", "target"):
                bad = {**bad, "source": first[0], "target": first[0]}
    got = outcome(run(impl, [Author(seed).op(bad)])["results"][0])
    expect(got == want, f"{variant} with {what}: expected {want}, got {got}")


# --- a rejection changes nothing --------------------------------------------------------


def rejected_op(data: st.DataObject, author: Author, e1: bytes, e2: bytes, c1: bytes,
                e2_wall: int) -> tuple[bytes, str, str]:
    """An op the log must refuse, given evidence e1, e2 and a claim c1 on e1; its code."""
    how = data.draw(st.sampled_from(["payload", "cycle", "cascade", "signature"]), label="how")
    if how == "cycle":  # supports e2, which is created later in the total order
        op = author.op({"type": "AssertClaim", "claim": author.new_id(CLM), "subject": None,
                        "predicate": "p", "object": 1, "supports": [e2]}, ts=(e2_wall - 1, 1))
        return op, "E_PROVENANCE_CYCLE", "a claim supported by evidence created after it"
    if how == "cascade":  # c1 depends on e1, not on e2
        op = author.op({"type": "TombstoneEvidence", "evidence": e2, "reason": "",
                        "cascade": [c1]})
        return op, "E_CASCADE_INVALID", "a tombstone listing a record not derived from it"
    if how == "signature":
        op = author.op({"type": "ConfirmClaim", "claim": c1})
        sig = cbor2.loads(op)["sig"]
        altered = bytes([sig[0] ^ 0x01]) + sig[1:]  # R altered: the equation fails
        return (op.replace(sig, altered), "E_SIGNATURE_INVALID",
                "a ConfirmClaim whose signature was altered")
    variant = data.draw(st.sampled_from(VARIANTS), label="variant")
    payload = data.draw(payloads(variant), label="payload")
    bad, code, what = single_defect(data, variant, payload)
    return author.op(bad), code, what


@check("DM-032", "DM-014", "DM-027")
@given(seed=SEEDS, data=st.data())
def check_rejection_leaves_state_unchanged(impl: Impl, seed: bytes, data: st.DataObject) -> None:
    """A refused op leaves the applied ops, the held ops and the flagged authors as they were."""
    author = Author(seed)
    e1, e2, c1, unknown = (author.new_id(EV), author.new_id(EV), author.new_id(CLM),
                           author.new_id(EV))
    ops = [create(author, EV, [], e1), create(author, EV, [], e2)]
    e2_wall = author.wall_ms
    ops += [create(author, CLM, [e1], c1),
            create(author, CLM, [unknown], author.new_id(CLM))]  # the last is held
    session = impl.ok("log.open", {})["session"]
    try:
        for op in ops:
            impl.ok("log.append", {"session": session, "op": op.hex(), "now_ms": NOW_MS})
        before = impl.ok("log.state", {"session": session})
        expect(len(before.get("held", [])) == 1, f"the log should hold one op: {before}")
        op, code, what = rejected_op(data, author, e1, e2, c1, e2_wall)
        impl.err("log.append", {"session": session, "op": op.hex(), "now_ms": NOW_MS}, code)
        after = impl.ok("log.state", {"session": session})
        expect(after == before, f"{what} was refused but the log changed: {before} -> {after}")
    finally:
        impl.ok("log.close", {"session": session})


# --- holding -----------------------------------------------------------------------------


@check("DM-029", "CLK-015")
@given(seed=SEEDS, ahead=st.integers(1, 10**9), within=st.integers(0, DRIFT_MS),
       late=st.integers(0, 10**6))
def check_drift_held_then_released(impl: Impl, seed: bytes, ahead: int, within: int,
                                   late: int) -> None:
    """An op beyond the drift bound is held with E_HLC_DRIFT and applied once the bound is met."""
    author = Author(seed)
    far_wall = NOW_MS + DRIFT_MS + ahead
    near_wall = NOW_MS + within

    def ingest(wall: int, logical: int) -> bytes:
        return author.op({"type": "IngestEvidence", "evidence": author.new_id(EV),
                          "hash": bytes(32), "anchor": "a", "source_type": "s", "metadata": {}},
                         ts=(wall, logical))

    far, near = ingest(far_wall, 0), ingest(near_wall, 1)  # distinct logicals: no clash
    later_now = far_wall - DRIFT_MS + late
    trigger = ingest(later_now, 2)
    session = impl.ok("log.open", {})["session"]
    try:
        got = impl.ok("log.append", {"session": session, "op": far.hex(), "now_ms": NOW_MS})
        expect(got.get("status") == "held" and got.get("reason") == "E_HLC_DRIFT",
               f"an op {DRIFT_MS + ahead} ms ahead: {got}")
        got = impl.ok("log.append", {"session": session, "op": near.hex(), "now_ms": NOW_MS})
        expect(got.get("status") == "applied", f"an op {within} ms ahead: {got}")
        impl.ok("log.append", {"session": session, "op": trigger.hex(), "now_ms": later_now})
        state = impl.ok("log.state", {"session": session})
        expect(op_hash(far) in state.get("ops", []) and state.get("held") == [],
               f"at now_ms {later_now} the op at {far_wall} is still not applied: {state}")
    finally:
        impl.ok("log.close", {"session": session})


# --- field order in a sanitized op (class Authority) -------------------------------------

FILTER_SEED = b"\x0d" * 32


def _sanitized_claim(payload: dict[str, Any], withheld: list[str], wall_ms: int) -> bytes:
    """An AssertClaim of one author, `withheld` fields nulled, with a filter's record
    (spec/07 section 8) signed over the envelope with both signatures null."""
    author, by = public_key(b"\x0e" * 32), public_key(FILTER_SEED)
    value: dict[str, Any] = {
        "v": 1, "id": bytes([0x01]) + wall_ms.to_bytes(6, "big") + bytes(10),
        "ts": [wall_ms, 0, author], "sig": None, "author": author,
        "payload": {**payload, **{f: None for f in withheld}},
        "san": {"by": by, "fields": sorted(withheld), "of": bytes(32), "sig": None}}
    header = b64u(('{"alg":"EdDSA","kid":"' + by.hex() + '"}').encode("ascii"))
    signing_input = (header + "." + b64u(cbor2.dumps(value, canonical=True))).encode("ascii")
    value["san"]["sig"] = bytes(nacl.signing.SigningKey(FILTER_SEED).sign(signing_input).signature)
    return bytes(cbor2.dumps(value, canonical=True))


@check("OPS-017", "UCAN-044", "OPS-002")
@given(case=st.sampled_from([
    # (subject, predicate, supports, the code of the first failing field in table order)
    ("ev", "", "ev", "E_ID_KIND"),  # subject of the wrong kind, then an empty predicate
    (None, "", "op", PAYLOAD),  # an empty predicate, then an OpId in supports
    (None, "p", "op", "E_ID_KIND"),  # only the OpId in supports
    (None, "p", "extra", PAYLOAD),  # an unknown field `note` (the field set comes first)
]), wall=st.integers(BASE_MS, BASE_MS + 1000))
def check_sanitized_fields_in_order(impl: Impl, case: tuple[str | None, str, str, str],
                                    wall: int) -> None:
    """The fields a filter left in a sanitized op are checked as any op's, in table order:
    the first failing one decides the code (the withheld `object` is not checked)."""
    subject, predicate, support, code = case
    ids = {"ev": bytes([EV]) + wall.to_bytes(6, "big") + b"\x01" * 10,
           "op": bytes([0x01]) + wall.to_bytes(6, "big") + b"\x02" * 10}
    payload: dict[str, Any] = {
        "type": "AssertClaim", "claim": bytes([CLM]) + wall.to_bytes(6, "big") + bytes(10),
        "subject": None if subject is None else ids[subject], "predicate": predicate,
        "object": None, "supports": [ids["op" if support == "extra" else support]]}
    if support == "extra":
        payload["supports"], payload["note"] = [ids["ev"]], "x"
    impl.err("ucan.check_op", {"op": _sanitized_claim(payload, ["object"], wall).hex()}, code)
