"""Vectors of chapter 02, operation payloads (spec/02-operations.md), through `log.run`.

Every case is one `log.run` on a fresh log. The case states the outcome of each
op (`applied`, `held:<reason>`, or the error code of its rejection), worked out
from the spec's field table below, which is transcribed from spec/02 section 3
independently of the reference; generation fails when the reference disagrees,
so a per-op slip cannot hide inside a command that succeeds as a whole.

Valid cases carry the prerequisite ops their payload names (evidence, claims,
entities, jobs) earlier in the same list, so that every op is applied. Invalid
cases carry the defective op alone: the payload check precedes holding
(spec/01 section 4.5), so no prerequisite can change its outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from reference.driver import dispatch
from reference.identifiers import IdKind
from tools.vectorgen import Case, GenerationError, VectorFile
from tools.vectorgen._ops import BASE_MS, OpFactory, derive

FOLDER, CHAPTER = "operations", "02-operations"
NOW_MS = BASE_MS  # every op of OpFactory is within the drift bound of this clock
DRIFT_MS = 60_000  # spec/05 section 4.3 MAX_DRIFT_MS
UINT_MAX = 2**63 - 1
PAYLOAD, TYPE = "E_PAYLOAD_INVALID", "E_PAYLOAD_TYPE"
KIND, MALFORMED = "E_ID_KIND", "E_ID_MALFORMED"
HELD_SUPPORT = "held:E_SUPPORT_MISSING"
EV, ENT, CLM, JOB = IdKind.EVIDENCE, IdKind.ENTITY, IdKind.CLAIM, IdKind.JOB
ART, EPI, ACT, OP = IdKind.ARTIFACT, IdKind.EPISODE, IdKind.ACTION, IdKind.OP

# --- the field table of spec/02 section 3 --------------------------------------


@attrs.frozen
class Id:
    kind: IdKind
    optional: bool = False


@attrs.frozen
class Ref:
    pass


@attrs.frozen
class Refs:
    low: int
    high: int


@attrs.frozen
class Text:
    low: int
    high: int


@attrs.frozen
class Name:
    pass


@attrs.frozen
class Hash:
    pass


@attrs.frozen
class Uint:
    pass


@attrs.frozen
class Map:
    pass


@attrs.frozen
class Bytes:
    pass


@attrs.frozen
class AnyValue:
    pass


@attrs.frozen
class Artifacts:
    pass


FieldType = Id | Ref | Refs | Text | Name | Hash | Uint | Map | Bytes | AnyValue | Artifacts
REASON, CASCADE, SUPPORTS = Text(0, 4096), Refs(0, 4096), Refs(1, 256)

FIELDS: dict[str, list[tuple[str, FieldType]]] = {
    "IngestEvidence": [("evidence", Id(EV)), ("hash", Hash()), ("anchor", Text(1, 512)),
                       ("source_type", Name()), ("metadata", Map())],
    "TombstoneEvidence": [("evidence", Id(EV)), ("reason", REASON), ("cascade", CASCADE)],
    "CascadeTombstone": [("root", Ref()), ("reason", REASON), ("cascade", CASCADE)],
    "AssertClaim": [("claim", Id(CLM)), ("subject", Id(ENT, optional=True)),
                    ("predicate", Text(1, 256)), ("object", AnyValue()), ("supports", SUPPORTS)],
    "ConfirmClaim": [("claim", Id(CLM))],
    "RejectClaim": [("claim", Id(CLM)), ("reason", REASON), ("cascade", CASCADE)],
    "CreateEntity": [("entity", Id(ENT)), ("kind", Name()), ("attributes", Map()),
                     ("supports", Refs(0, 256))],
    "MergeEntity": [("source", Id(ENT)), ("target", Id(ENT)), ("supports", Refs(0, 256))],
    "RecordEpisode": [("episode", Id(EPI)), ("summary", Text(1, 4096)), ("start_ms", Uint()),
                      ("end_ms", Uint()), ("supports", SUPPORTS)],
    "ProposeAction": [("action", Id(ACT)), ("description", Text(1, 4096)),
                      ("expires_ms", Uint()), ("supports", SUPPORTS)],
    "AcceptAction": [("action", Id(ACT))],
    "DismissAction": [("action", Id(ACT))],
    "ExpireAction": [("action", Id(ACT))],
    "StartJob": [("job", Id(JOB)), ("kind", Name()), ("inputs", Refs(0, 256))],
    "CompleteJob": [("job", Id(JOB)), ("artifacts", Artifacts())],
    "FailJob": [("job", Id(JOB)), ("reason", REASON)],
    "DelegateUcan": [("token", Bytes())],
    "RevokeUcan": [("token_hash", Hash()), ("reason", REASON)],
}
TYPE_REQ = {Id: "OPS-003", Ref: "OPS-004", Refs: "OPS-005", Text: "OPS-006", Name: "OPS-007",
            Hash: "OPS-008", Uint: "OPS-009", Map: "OPS-010", Bytes: "OPS-011",
            Artifacts: "OPS-012", AnyValue: "OPS-002"}


def slug(name: str) -> str:
    """A variant or field name as a case-id slug: `IngestEvidence` -> `ingest-evidence`."""
    out = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    return out.replace("_", "-")


# --- building ops ---------------------------------------------------------------


class Script:
    """The ops of one case: one author (an OpFactory), prerequisite ops, derived values."""

    def __init__(self, label: str) -> None:
        self.f = OpFactory(f"operations/{label}")
        self.ops: list[bytes] = []
        self.n = 0

    def id(self, kind: IdKind) -> bytes:
        return self.f.new_id(kind)

    def ids(self, kind: IdKind, count: int) -> list[bytes]:
        return sorted(self.id(kind) for _ in range(count))

    def hash(self) -> bytes:
        self.n += 1
        return derive(f"{self.f.label}/hash/{self.n}")

    def emit(self, payload: dict[str, Any], ts: tuple[int, int] | None = None) -> bytes:
        op = self.f.op(payload, ts=ts)
        self.ops.append(op)
        return op

    # prerequisites: each emits one op creating a record and returns the record's id
    def evidence(self) -> bytes:
        ev = self.id(EV)
        self.emit(ingest(self, ev))
        return ev

    def claim(self, supports: list[bytes]) -> bytes:
        claim = self.id(CLM)
        self.emit({"type": "AssertClaim", "claim": claim, "subject": None,
                   "predicate": "mentions", "object": "standup", "supports": sorted(supports)})
        return claim

    def entity(self) -> bytes:
        entity = self.id(ENT)
        self.emit({"type": "CreateEntity", "entity": entity, "kind": "person",
                   "attributes": {"name": "Ada"}, "supports": []})
        return entity

    def episode(self, supports: list[bytes]) -> bytes:
        episode = self.id(EPI)
        self.emit({"type": "RecordEpisode", "episode": episode, "summary": "standup",
                   "start_ms": BASE_MS, "end_ms": BASE_MS + 900_000, "supports": sorted(supports)})
        return episode

    def action(self, supports: list[bytes]) -> bytes:
        action = self.id(ACT)
        self.emit({"type": "ProposeAction", "action": action, "description": "send the notes",
                   "expires_ms": BASE_MS + 86_400_000, "supports": sorted(supports)})
        return action

    def job(self, inputs: list[bytes]) -> bytes:
        job = self.id(JOB)
        self.emit({"type": "StartJob", "job": job, "kind": "transcribe", "inputs": sorted(inputs)})
        return job


def ingest(s: Script, ev: bytes) -> dict[str, Any]:
    return {"type": "IngestEvidence", "evidence": ev, "hash": s.hash(),
            "anchor": "event-0001@calendar.example", "source_type": "calendar",
            "metadata": {"title": "standup", "minutes": 15}}


def artifact(s: Script, media_type: str = "text/plain") -> dict[str, Any]:
    return {"artifact": s.id(ART), "hash": s.hash(), "media_type": media_type}


def valid_payload(variant: str, s: Script) -> dict[str, Any]:
    """A valid payload of `variant`; the ops creating the records it names go to `s.ops`."""
    body: dict[str, Any]
    if variant == "IngestEvidence":
        body = ingest(s, s.id(EV))
    elif variant == "TombstoneEvidence":
        ev = s.evidence()
        body = {"evidence": ev, "reason": "the user deleted the event",
                "cascade": [s.claim([ev])]}
    elif variant == "CascadeTombstone":
        claim = s.claim([s.evidence()])
        body = {"root": claim, "reason": "wrong inference", "cascade": [s.episode([claim])]}
    elif variant == "AssertClaim":
        ev, entity = s.evidence(), s.entity()
        body = {"claim": s.id(CLM), "subject": entity, "predicate": "attended",
                "object": {"event": "standup", "minutes": 15}, "supports": [ev]}
    elif variant == "ConfirmClaim":
        body = {"claim": s.claim([s.evidence()])}
    elif variant == "RejectClaim":
        claim = s.claim([s.evidence()])
        body = {"claim": claim, "reason": "not me", "cascade": [s.episode([claim])]}
    elif variant == "CreateEntity":
        body = {"entity": s.id(ENT), "kind": "person", "attributes": {"name": "Ada"},
                "supports": [s.evidence()]}
    elif variant == "MergeEntity":
        body = {"source": s.entity(), "target": s.entity(), "supports": []}
    elif variant == "RecordEpisode":
        ev = s.evidence()
        body = {"episode": s.id(EPI), "summary": "morning standup", "start_ms": BASE_MS,
                "end_ms": BASE_MS + 900_000, "supports": sorted([ev, s.claim([ev])])}
    elif variant == "ProposeAction":
        body = {"action": s.id(ACT), "description": "send the notes",
                "expires_ms": BASE_MS + 86_400_000, "supports": [s.evidence()]}
    elif variant in ("AcceptAction", "DismissAction", "ExpireAction"):
        body = {"action": s.action([s.evidence()])}
    elif variant == "StartJob":
        body = {"job": s.id(JOB), "kind": "transcribe", "inputs": [s.evidence()]}
    elif variant == "CompleteJob":
        job = s.job([s.evidence()])
        arts = sorted([artifact(s), artifact(s, "application/json")], key=lambda a: a["artifact"])
        body = {"job": job, "artifacts": arts}
    elif variant == "FailJob":
        body = {"job": s.job([s.evidence()]), "reason": "timed out"}
    elif variant == "DelegateUcan":
        body = {"token": derive(f"{s.f.label}/token", 48)}
    else:
        body = {"token_hash": s.hash(), "reason": "key lost"}
    return {"type": variant, **{k: v for k, v in body.items() if k != "type"}}


# --- cases ------------------------------------------------------------------------


def outcome(result: dict[str, Any]) -> str:
    """One op's outcome in the notation of `expect`."""
    if "error" in result:
        return str(result["error"]["code"])
    if result["status"] == "held":
        return f"held:{result['reason']}"
    return str(result["status"])


def run(cid: str, reqs: tuple[str, ...], desc: str, ops: list[bytes], expect: list[str],
        comment: str | None = None, now_ms: int = NOW_MS) -> Case:
    """A `log.run` case; fails generation unless each op's outcome is the one expected."""
    args = {"ops": [op.hex() for op in ops], "now_ms": now_ms}
    response = dispatch({"id": 0, "cmd": "log.run", "args": args})
    if not response["ok"]:
        raise GenerationError(f"{cid}: log.run refused: {response['error']}")
    got = [outcome(r) for r in response["result"]["results"]]
    if got != expect:
        raise GenerationError(f"{cid}: expected outcomes {expect}, the reference gave {got}")
    note = "outcomes: " + ", ".join(expect)
    return Case(cid, reqs, desc, "log.run", args, "valid",
                comment=note if comment is None else f"{comment}; {note}")


def one_op(cid: str, reqs: tuple[str, ...], desc: str, variant: str,
           change: Callable[[dict[str, Any], Script], None], expect: str,
           comment: str | None = None) -> Case:
    """A case of one op: a valid payload of `variant` altered by `change`, without prereqs."""
    s = Script(cid)
    payload = valid_payload(variant, s)
    change(payload, s)
    return run(cid, reqs, desc, [s.f.op(payload)], [expect], comment)


def with_prereqs(cid: str, reqs: tuple[str, ...], desc: str, variant: str,
                 change: Callable[[dict[str, Any], Script], None], last: str,
                 comment: str | None = None) -> Case:
    """A valid payload of `variant` altered by `change`, after its prerequisite ops."""
    s = Script(cid)
    payload = valid_payload(variant, s)
    change(payload, s)
    s.emit(payload)
    return run(cid, reqs, desc, s.ops, ["applied"] * (len(s.ops) - 1) + [last], comment)


def dropper(field: str) -> Callable[[dict[str, Any], Script], None]:
    def change(payload: dict[str, Any], s: Script) -> None:
        del payload[field]
    return change


def const(value: Any) -> Callable[[Script], Any]:
    return lambda s: value


def setter(field: str, value: Any) -> Callable[[dict[str, Any], Script], None]:
    def change(payload: dict[str, Any], s: Script) -> None:
        payload[field] = value
    return change


def variant_cases() -> list[Case]:
    """A valid op of every variant, applied after the ops creating what it names."""
    out = []
    for variant in FIELDS:
        out.append(with_prereqs(
            slug(variant), ("OPS-001", "OPS-002"),
            f"a valid {variant}, after the ops creating the records it names", variant,
            lambda p, s: None, "applied"))
    out.append(with_prereqs("assert-claim-subject-null", ("OPS-003", "OPS-002"),
                            "an AssertClaim whose optional subject is null", "AssertClaim",
                            setter("subject", None), "applied"))
    for label, value in (("null", None), ("float", -0.5), ("nested", {"a": [1, b"\x00", True]})):
        out.append(with_prereqs(f"assert-claim-object-{label}", ("OPS-002",),
                                f"an AssertClaim whose object (type any) is {label}",
                                "AssertClaim", setter("object", value), "applied"))
    return out


def type_cases() -> list[Case]:
    """OPS-001 (unknown types) and OPS-016 (reserved types stored uninterpreted)."""
    out = []
    for cid, name, why in (
        ("type-unknown-foo", "Foo", "no variant is named Foo"),
        ("type-lowercase", "ingestEvidence", "type names are case-sensitive"),
        ("type-empty", "", "the empty type names no variant"),
        ("type-near-reserved", "Engin", "a prefix of a reserved prefix is not reserved"),
        ("type-reserved-lowercase", "engineEmbedding", "reserved prefixes are case-sensitive"),
    ):
        out.append(one_op(cid, ("OPS-001",), f"type {name!r}: {why}", "IngestEvidence",
                          setter("type", name), TYPE))

    def only_foo(payload: dict[str, Any], s: Script) -> None:
        payload.clear()
        payload["type"] = "Foo"

    out.append(one_op("type-unknown-before-fields", ("OPS-001", "OPS-017"),
                      "type Foo with no other field: the type is checked before the field set",
                      "ConfirmClaim", only_foo, TYPE))
    # [OPS-016] binds an implementation only for the reserved prefixes whose chapter's class
    # it does not claim. The reference claims Engine (chapter 11 validates `Engine...`
    # variants) and implements no `WaveGen...` variant (chapter 14), so these cases use
    # the WaveGen prefix; they do not apply to an implementation claiming class WaveGen.
    reserved: list[tuple[str, str, dict[str, Any]]] = [
        ("wavegen", "WaveGenEntry", {"key": b"\x00" * 40, "weights": [0.5, -1.0]}),
        ("wavegen-bare", "WaveGen", {}),
        ("wavegen-odd-fields", "WaveGenCache", {"type2": None, "": {"nested": [1, "x"]}}),
    ]
    for label, name, fields in reserved:
        # [OPS-002] binds the variants of this chapter: a reserved one's fields are free
        reqs = ("OPS-016", "OPS-001", "OPS-002") if label == "wavegen-odd-fields" else (
            "OPS-016", "OPS-001")
        out.append(run(f"reserved-{label}", reqs,
                       f"{name}: a reserved variant, stored and applied without interpreting "
                       "its fields", [Script(f"reserved-{label}").f.op({"type": name, **fields})],
                       ["applied"]))
    s = Script("reserved-fields-not-interpreted")
    unknown = s.id(EV)
    link = s.f.op({"type": "WaveGenLink", "supports": [unknown, unknown], "claim": 7})
    out.append(run("reserved-fields-not-interpreted", ("OPS-016",),
                   "WaveGenLink whose 'supports' repeats an unknown evidence id: its fields are "
                   "not read, so it is neither rejected nor held", [link], ["applied"]))
    s = Script("reserved-unsigned")
    unsigned = s.f.op({"type": "WaveGenEntry", "key": b"\x01"}, sign=False)
    out.append(run("reserved-unsigned", ("OPS-016", "DM-016"),
                   "an unsigned WaveGenEntry: reserved ops still pass the signature check",
                   [unsigned], ["E_SIGNATURE_MISSING"]))
    return out


def field_set_cases() -> list[Case]:
    """OPS-002: a missing field and an unknown field, for every variant."""
    out = []
    for variant, fields in FIELDS.items():
        for name, _ in fields:
            out.append(one_op(f"{slug(variant)}-missing-{slug(name)}", ("OPS-002",),
                              f"{variant} without its field {name!r}", variant,
                              dropper(name), PAYLOAD))
        out.append(one_op(f"{slug(variant)}-unknown-field", ("OPS-002",),
                          f"{variant} with an extra field 'note'", variant,
                          setter("note", "hello"), PAYLOAD))
    return out


# --- corruptions by field type (spec/02 section 2) ----------------------------------

Bad = tuple[str, Callable[[Script], Any], str, str]  # slug, value maker, outcome, description


def id_bytes(kind: int, s: Script, length: int = 17) -> bytes:
    """A record-id-shaped value: kind byte, then the bytes of a fresh id, cut to `length`."""
    return (bytes([kind]) + s.id(EV)[1:])[:length]


def bad_values(ftype: FieldType) -> list[Bad]:
    """Invalid values of a field type, each with the code spec/02 section 2 gives it."""
    if isinstance(ftype, Id):
        other = ART if ftype.kind != ART else EV
        out: list[Bad] = [
            ("wrong-kind", lambda s: id_bytes(other, s), KIND,
             f"a well-formed id of kind 0x{other:02x}"),
            ("op-id", lambda s: id_bytes(OP, s), KIND, "a well-formed OpId"),
            ("16-bytes", lambda s: id_bytes(ftype.kind, s, 16), MALFORMED,
             "a 16-byte id (the kind byte and 15 bytes)"),
            ("unassigned-kind", lambda s: id_bytes(0x09, s), MALFORMED,
             "17 bytes whose kind byte 0x09 is unassigned (spec/04 section 2.2)"),
            ("text", lambda s: "ev_01HGW2V8Q5ZZZZZZZZZZZZZZZZ", PAYLOAD,
             "the text form of an id instead of its bytes"),
        ]
        if not ftype.optional:
            out.append(("null", lambda s: None, PAYLOAD, "null for a required id"))
        return out
    if isinstance(ftype, Ref):
        return [("op-id", lambda s: id_bytes(OP, s), KIND, "an OpId"),
                ("16-bytes", lambda s: id_bytes(CLM, s, 16), MALFORMED, "a 16-byte claim id"),
                ("18-bytes", lambda s: id_bytes(CLM, s) + b"\x00", MALFORMED,
                 "an 18-byte claim id"),
                ("kind-0x00", lambda s: id_bytes(0x00, s), KIND, "17 bytes of kind byte 0x00"),
                ("kind-0x09", lambda s: id_bytes(0x09, s), KIND, "17 bytes of kind byte 0x09")]
    if isinstance(ftype, Refs):
        out = [
            ("not-array", lambda s: s.id(EV), PAYLOAD, "one id, not an array"),
            ("unsorted", lambda s: s.ids(EV, 2)[::-1], PAYLOAD, "two ids in descending order"),
            ("repeated", lambda s: [s.id(EV)] * 2, PAYLOAD, "one id twice"),
            ("kinds-unsorted", lambda s: [s.id(CLM), s.id(EV)], PAYLOAD,
             "a claim id (kind 0x04) before an evidence id (kind 0x02)"),
            ("op-id", lambda s: [id_bytes(OP, s)], KIND, "an OpId among the refs"),
            ("16-bytes", lambda s: [id_bytes(EV, s, 16)], MALFORMED, "a 16-byte id"),
            ("unassigned-kind", lambda s: [id_bytes(0x09, s)], KIND,
             "an id of unassigned kind byte 0x09"),
        ]
        if ftype.low == 1:
            out.append(("empty", lambda s: [], PAYLOAD, "no entry; at least 1 is required"))
        if ftype.high == 256:
            out.append(("257-entries", lambda s: s.ids(EV, 257), PAYLOAD,
                        "257 distinct sorted evidence ids; at most 256"))
        return out
    if isinstance(ftype, Text):
        high = ftype.high
        out = [("bytes", lambda s: b"standup", PAYLOAD, "a byte string, not text"),
               ("over-limit", lambda s: "\u00e9" * (high // 2) + "a", PAYLOAD,
                f"{high // 2} x U+00E9 then 'a': {high + 1} UTF-8 bytes in {high // 2 + 1} "
                f"characters, one byte over {high}")]
        if ftype.low == 1:
            out.append(("empty", lambda s: "", PAYLOAD, "the empty text; at least 1 byte"))
        return out
    if isinstance(ftype, Name):
        return [(sl, const(v), PAYLOAD, desc) for sl, v, desc in (
            ("uppercase", "Calendar", "starts with an upper-case letter"),
            ("digit-first", "1calendar", "starts with a digit"),
            ("underscore-first", "_calendar", "starts with '_'"),
            ("space", "my calendar", "contains a space"),
            ("non-ascii", "caf\u00e9", "contains U+00E9"),
            ("33-chars", "a" * 33, "33 characters; at most 32"),
            ("empty", "", "the empty text"),
            ("bytes", b"calendar", "a byte string, not text"))]
    if isinstance(ftype, Hash):
        return [("31-bytes", lambda s: s.hash()[:31], PAYLOAD, "31 bytes"),
                ("33-bytes", lambda s: s.hash() + b"\x00", PAYLOAD, "33 bytes"),
                ("hex-text", lambda s: s.hash().hex(), PAYLOAD, "the hash as 64 hex digits")]
    if isinstance(ftype, Uint):
        return [(sl, const(v), PAYLOAD, desc) for sl, v, desc in (
            ("negative", -1, "-1"), ("2-pow-63", 2**63, "2^63, one over the maximum"),
            ("float", 1.0, "the float 1.0 (integral, but not an integer)"),
            ("bool", True, "true"), ("text", "5", "the text '5'"))]
    if isinstance(ftype, Map):
        return [("65-entries", lambda s: {f"k{i:02d}": i for i in range(65)}, PAYLOAD,
                 "65 entries k00..k64; at most 64"),
                ("array", lambda s: [], PAYLOAD, "an empty array, not a map"),
                ("null", lambda s: None, PAYLOAD, "null")]
    if isinstance(ftype, Bytes):
        return [("text", lambda s: "token", PAYLOAD, "text, not a byte string"),
                ("null", lambda s: None, PAYLOAD, "null")]
    if isinstance(ftype, Artifacts):
        return artifact_bad()
    return []


def artifact_bad() -> list[Bad]:
    """Invalid `artifacts` arrays of CompleteJob (OPS-012)."""

    def one(**change: Any) -> Callable[[Script], Any]:
        def make(s: Script) -> Any:
            item = artifact(s)
            for key, value in change.items():
                if value is _DROP:
                    del item[key]
                else:
                    item[key] = value(s) if callable(value) else value
            return [item]
        return make

    def pair(order: str) -> Callable[[Script], Any]:
        def make(s: Script) -> Any:
            a, b = sorted([artifact(s), artifact(s)], key=lambda x: x["artifact"])
            return [b, a] if order == "desc" else [a, {**b, "artifact": a["artifact"]}]
        return make

    return [
        ("not-array", lambda s: artifact(s), PAYLOAD, "one output map, not an array"),
        ("item-not-map", lambda s: [s.id(ART)], PAYLOAD, "an artifact id instead of a map"),
        ("item-missing-hash", one(hash=_DROP), PAYLOAD, "an output without 'hash'"),
        ("item-extra-key", one(size=12), PAYLOAD, "an output with an extra key 'size'"),
        ("item-artifact-wrong-kind", one(artifact=lambda s: id_bytes(JOB, s)), KIND,
         "an output whose artifact is a JobId"),
        ("item-artifact-16-bytes", one(artifact=lambda s: id_bytes(ART, s, 16)), MALFORMED,
         "an output whose artifact id is 16 bytes"),
        ("item-hash-31-bytes", one(hash=lambda s: s.hash()[:31]), PAYLOAD,
         "an output whose hash is 31 bytes"),
        ("item-media-type-empty", one(media_type=""), PAYLOAD, "an empty media_type"),
        ("item-media-type-129", one(media_type="a" * 129), PAYLOAD,
         "a 129-byte media_type; at most 128"),
        ("unsorted", pair("desc"), PAYLOAD, "two outputs in descending artifact order"),
        ("repeated", pair("same"), PAYLOAD, "two outputs with the same artifact id"),
        ("257-entries", lambda s: sorted((artifact(s) for _ in range(257)),
                                         key=lambda x: x["artifact"]), PAYLOAD,
         "257 outputs; at most 256"),
    ]


_DROP = object()


def good_values(ftype: FieldType, field: str) -> list[Bad]:
    """Boundary values a field type admits: slug, value maker, outcome, description."""
    out: list[Bad]
    if isinstance(ftype, Text):
        high = ftype.high
        out = [("at-limit", lambda s: "\u00e9" * (high // 2), "applied",
                f"{high // 2} x U+00E9: exactly {high} UTF-8 bytes")]
        out.append(("min", lambda s: "x" * ftype.low, "applied", f"{ftype.low} byte(s)"))
        return out
    if isinstance(ftype, Name):
        return [("32-chars", lambda s: "a" + "b0_.-" * 6 + "z", "applied",
                 "32 characters using every admitted class"),
                ("1-char", lambda s: "z", "applied", "one letter")]
    if isinstance(ftype, Uint):
        return [("max", lambda s: UINT_MAX, "applied", "2^63-1, the maximum"),
                ("zero", lambda s: 0, "applied", "0")]
    if isinstance(ftype, Map):
        return [("64-entries", lambda s: {f"k{i:02d}": i for i in range(64)}, "applied",
                 "64 entries, the maximum"), ("empty", lambda s: {}, "applied", "no entry")]
    if isinstance(ftype, Bytes):
        return [("empty", lambda s: b"", "applied", "the empty byte string")]
    if isinstance(ftype, Refs) and ftype.high == 256:
        out = [("256-entries", lambda s: s.ids(EV, 256), HELD_SUPPORT,
                "256 distinct sorted evidence ids no op created: valid, so held")]
        if ftype.low == 0:
            out.append(("empty", lambda s: [], "applied", "no entry"))
        return out
    if isinstance(ftype, Refs):
        return [("empty", lambda s: [], "applied", "no entry (a cascade of the root alone)")]
    if isinstance(ftype, Artifacts):
        return [("256-entries", lambda s: sorted((artifact(s) for _ in range(256)),
                                                 key=lambda x: x["artifact"]), "applied",
                 "256 outputs, the maximum"), ("empty", lambda s: [], "applied", "no output"),
                ("media-type-1-byte", lambda s: [artifact(s, "x")], "applied",
                 "an output whose media_type is 1 byte, the minimum"),
                ("media-type-128-bytes", lambda s: [artifact(s, "a" * 128)], "applied",
                 "an output whose media_type is 128 bytes, the maximum")]
    return []


def episode_fix(field: str, value: Any) -> Callable[[dict[str, Any], Script], None]:
    """Set an episode bound and keep start_ms <= end_ms where the other bound allows it."""
    def change(payload: dict[str, Any], s: Script) -> None:
        payload[field] = value
        if field == "start_ms" and value == UINT_MAX:
            payload["end_ms"] = UINT_MAX
        if field == "end_ms" and value == 0:
            payload["start_ms"] = 0
    return change


def field_type_cases() -> list[Case]:
    """Every field of every variant, each invalid value of its type, and its boundaries."""
    out = []
    for variant, fields in FIELDS.items():
        for name, ftype in fields:
            req = TYPE_REQ[type(ftype)]
            prefix = f"{slug(variant)}-{slug(name)}"
            for sl, make, code, desc in bad_values(ftype):
                reqs = (req, "OPS-004") if code != PAYLOAD and isinstance(ftype, Refs) else (req,)
                if isinstance(ftype, Id) and code != PAYLOAD:
                    reqs = (req, "DM-004")

                def change(p: dict[str, Any], s: Script, n: str = name,
                           m: Callable[[Script], Any] = make) -> None:
                    p[n] = m(s)

                out.append(one_op(f"{prefix}-{sl}", reqs, f"{variant}.{name}: {desc}", variant,
                                  change, code))
            for sl, make, last, desc in good_values(ftype, name):
                def change_good(p: dict[str, Any], s: Script, n: str = name,
                                m: Callable[[Script], Any] = make) -> None:
                    episode_fix(n, m(s))(p, s)

                reqs = (req, "DM-029") if last.startswith("held") else (req,)
                out.append(with_prereqs(f"{prefix}-{sl}", reqs, f"{variant}.{name}: {desc}",
                                        variant, change_good, last))
    return out


def rule_cases() -> list[Case]:
    """The rules between fields (OPS-013 to OPS-015) and the order of checks (OPS-017)."""
    out = [
        one_op("merge-entity-into-itself", ("OPS-013",), "MergeEntity whose source is its target",
               "MergeEntity", lambda p, s: p.update(target=p["source"]), PAYLOAD),
        one_op("record-episode-ends-before-start", ("OPS-014",), "end_ms = start_ms - 1",
               "RecordEpisode", lambda p, s: p.update(end_ms=p["start_ms"] - 1), PAYLOAD),
        with_prereqs("record-episode-instant", ("OPS-014",), "start_ms = end_ms is allowed",
                     "RecordEpisode", lambda p, s: p.update(end_ms=p["start_ms"]), "applied"),
        one_op("tombstone-evidence-cascade-lists-root", ("OPS-015",),
               "TombstoneEvidence whose cascade lists its own evidence", "TombstoneEvidence",
               lambda p, s: p.update(cascade=sorted([p["evidence"], *p["cascade"]])), PAYLOAD),
        one_op("reject-claim-cascade-lists-root", ("OPS-015",),
               "RejectClaim whose cascade lists its own claim", "RejectClaim",
               lambda p, s: p.update(cascade=sorted([p["claim"], *p["cascade"]])), PAYLOAD),
        one_op("cascade-tombstone-cascade-lists-root", ("OPS-015",),
               "CascadeTombstone whose cascade lists its root", "CascadeTombstone",
               lambda p, s: p.update(cascade=sorted([p["root"], *p["cascade"]])), PAYLOAD),
    ]
    # [OPS-017] two defects, whose codes differ: the first in table order decides.
    two = [
        ("order-first-field-id-kind", "IngestEvidence", KIND,
         "evidence is a ClaimId (E_ID_KIND) and hash is 31 bytes (E_PAYLOAD_INVALID)",
         lambda p, s: p.update(evidence=id_bytes(CLM, s), hash=p["hash"][:31])),
        ("order-first-field-payload", "RecordEpisode", PAYLOAD,
         "summary is empty (E_PAYLOAD_INVALID) and supports holds an OpId (E_ID_KIND)",
         lambda p, s: p.update(summary="", supports=[id_bytes(OP, s)])),
        ("order-malformed-before-kind", "AssertClaim", MALFORMED,
         "claim is 16 bytes (E_ID_MALFORMED) and subject is an EvidenceId (E_ID_KIND)",
         lambda p, s: p.update(claim=id_bytes(CLM, s, 16), subject=id_bytes(EV, s))),
        ("order-kind-before-malformed", "MergeEntity", KIND,
         "source is a ClaimId (E_ID_KIND) and target is 16 bytes (E_ID_MALFORMED)",
         lambda p, s: p.update(source=id_bytes(CLM, s), target=id_bytes(ENT, s, 16))),
        ("order-root-before-reason", "CascadeTombstone", KIND,
         "root is an OpId (E_ID_KIND) and reason is bytes (E_PAYLOAD_INVALID)",
         lambda p, s: p.update(root=id_bytes(OP, s), reason=b"x")),
        ("order-reason-before-cascade", "RejectClaim", PAYLOAD,
         "reason is 4097 bytes (E_PAYLOAD_INVALID) and cascade holds a 16-byte id "
         "(E_ID_MALFORMED)",
         lambda p, s: p.update(reason="a" * 4097, cascade=[id_bytes(EV, s, 16)])),
        ("order-job-before-artifacts", "CompleteJob", MALFORMED,
         "job is 16 bytes (E_ID_MALFORMED) and an artifact is a JobId (E_ID_KIND)",
         lambda p, s: p.update(job=id_bytes(JOB, s, 16),
                               artifacts=[{**artifact(s), "artifact": id_bytes(JOB, s)}])),
        ("order-artifact-key-before-hash", "CompleteJob", KIND,
         "one output's artifact is a JobId (E_ID_KIND) and its hash 31 bytes "
         "(E_PAYLOAD_INVALID): its keys are checked in the listed order",
         lambda p, s: p.update(artifacts=[{**artifact(s), "artifact": id_bytes(JOB, s),
                                           "hash": s.hash()[:31]}])),
        ("order-field-set-before-fields", "IngestEvidence", PAYLOAD,
         "an unknown field (E_PAYLOAD_INVALID) and evidence a ClaimId (E_ID_KIND): the field "
         "set is checked first",
         lambda p, s: p.update(note=1, evidence=id_bytes(CLM, s))),
        ("order-fields-before-merge-rule", "MergeEntity", KIND,
         "source = target, both ClaimIds: the field checks (E_ID_KIND) precede OPS-013",
         lambda p, s: p.update(source=(c := id_bytes(CLM, s)), target=c)),
        ("order-fields-before-episode-rule", "RecordEpisode", KIND,
         "end_ms < start_ms and an OpId in supports: the field checks precede OPS-014",
         lambda p, s: p.update(end_ms=0, supports=[id_bytes(OP, s)])),
        ("order-fields-before-cascade-rule", "TombstoneEvidence", KIND,
         "the cascade lists its root and an OpId: the field checks precede OPS-015",
         lambda p, s: p.update(cascade=sorted([p["evidence"], id_bytes(OP, s)]))),
    ]
    for cid, variant, code, desc, change in two:
        out.append(one_op(cid, ("OPS-017",), f"{variant}: {desc}", variant, change, code))
    s = Script("order-signature-before-payload")
    payload = valid_payload("IngestEvidence", s)
    payload["hash"] = payload["hash"][:31]
    out.append(run("order-signature-before-payload", ("DM-031", "OPS-008"),
                   "an unsigned IngestEvidence with a 31-byte hash: the signature is checked "
                   "before the payload", [s.f.op(payload, sign=False)], ["E_SIGNATURE_MISSING"]))
    return out


def limit_cases() -> list[Case]:
    """The 4,096-entry bound of a cascade, at and one over the limit (OPS-005)."""
    return [
        with_prereqs("tombstone-evidence-cascade-4096", ("OPS-005", "DM-029"),
                     "a cascade of exactly 4096 distinct sorted claim ids no op created: valid, "
                     "so held", "TombstoneEvidence",
                     lambda p, s: p.update(cascade=s.ids(CLM, 4096)), HELD_SUPPORT),
        one_op("tombstone-evidence-cascade-4097", ("OPS-005",),
               "a cascade of 4097 distinct sorted claim ids, one over the bound",
               "TombstoneEvidence", lambda p, s: p.update(cascade=s.ids(CLM, 4097)), PAYLOAD),
    ]


def holding_cases() -> list[Case]:
    """Valid ops that cannot apply yet are held, then applied (spec/01 section 4.4)."""
    out = []
    s = Script("held-until-support")
    payload = valid_payload("ProposeAction", s)
    evidence_op = s.ops.pop()
    s.ops.append(s.f.op(payload))
    out.append(run("held-until-support", ("DM-029", "OPS-002"),
                   "a ProposeAction before the IngestEvidence it cites: held, then applied when "
                   "the evidence arrives", [*s.ops, evidence_op], [HELD_SUPPORT, "applied"]))
    s = Script("held-until-job")
    payload = valid_payload("FailJob", s)
    out.append(run("held-until-job", ("DM-029",),
                   "a FailJob before its StartJob: held (the job is named but not created)",
                   [s.f.op(payload), *s.ops], [HELD_SUPPORT, "applied", "applied"]))
    for cid, ahead, last, desc in (
        ("drift-held", DRIFT_MS + 1, "held:E_HLC_DRIFT",
         "an IngestEvidence 60001 ms ahead of now_ms: held, not rejected"),
        ("drift-at-bound", DRIFT_MS, "applied",
         "an IngestEvidence exactly 60000 ms ahead of now_ms: within the bound"),
    ):
        s = Script(cid)
        op = s.f.op(valid_payload("IngestEvidence", s), ts=(NOW_MS + ahead, 0))
        out.append(run(cid, ("DM-029", "OPS-002"), desc, [op], [last]))
    return out


def files() -> list[VectorFile]:
    """The vector files of chapter 02."""
    common = ("Each case's ops are made by OpFactory('operations/<case id>') "
              "(tools/vectorgen/_ops.py): the author's Ed25519 seed is "
              "BLAKE3('strata/vectors/operations/<case id>/seed'); the n-th id it allocates "
              "is kind byte || w (6 bytes, big-endian) || the first 10 bytes of "
              "BLAKE3('strata/vectors/operations/<case id>/id/<n>'), where w is the wall_ms "
              f"of the author's latest op ({BASE_MS} before the first); the i-th op (from 1) "
              f"has timestamp ({BASE_MS} + i, 0) unless a case says otherwise (ops built and "
              "left out, the prerequisites of an invalid case, count); the n-th hash "
              "is BLAKE3('strata/vectors/operations/<case id>/hash/<n>'); a DelegateUcan "
              "token is the first 48 bytes of BLAKE3('strata/vectors/operations/<case id>/"
              "token'). now_ms is "
              f"{NOW_MS}. `outcomes` in each case's comment lists each op's result in order "
              "(applied, held:<reason>, or the rejection's code)")
    return [
        VectorFile(FOLDER, CHAPTER, "variants", tuple(variant_cases()),
                   comment=common + ". One valid op of every variant, after the ops that "
                   "create the records it names"),
        VectorFile(FOLDER, CHAPTER, "types", tuple(type_cases()), comment=common),
        VectorFile(FOLDER, CHAPTER, "field_sets", tuple(field_set_cases()),
                   comment=common + ". Invalid cases are the defective op alone: the payload "
                   "is checked before holding (spec/01 section 4.5)"),
        VectorFile(FOLDER, CHAPTER, "field_types", tuple(field_type_cases()),
                   comment=common + ". <variant>-<field>-<defect>: the valid payload of the "
                   "variant (see variants.json) with one field replaced; invalid cases carry "
                   "the defective op alone, boundary cases carry the prerequisite ops first"),
        VectorFile(FOLDER, CHAPTER, "rules", tuple(rule_cases()), comment=common),
        VectorFile(FOLDER, CHAPTER, "limits", tuple(limit_cases()), comment=common),
        VectorFile(FOLDER, CHAPTER, "holding", tuple(holding_cases()), comment=common),
    ]
