"""The harness's own signed ops and payload oracle (spec/02, spec/03 section 6, spec/06 section 7).

Independent of any implementation under test: cbor2 (canonical mode) writes the
envelope, pynacl signs the JWS signing input B64U(header) "." B64U(signing
payload), and the field table below is the harness's own transcription of
spec/02-operations.md section 3, with hypothesis strategies for valid values
of each field type and for single defects together with the code each defect
must be rejected with.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import attrs
import blake3
import cbor2
import nacl.signing
from hypothesis import strategies as st

BASE_MS = 1_700_000_000_000
DRIFT_MS = 60_000  # spec/05 section 4.3: MAX_DRIFT_MS
UINT_MAX = 2**63 - 1
PAYLOAD, TYPE = "E_PAYLOAD_INVALID", "E_PAYLOAD_TYPE"
KIND, MALFORMED = "E_ID_KIND", "E_ID_MALFORMED"
PAYLOAD_CODES = frozenset({PAYLOAD, TYPE, KIND, MALFORMED})

# Id kinds (spec/04 section 2.1): the first byte of a 17-byte record id.
OP, EV, ENT, CLM, JOB, ART, EPI, ACT = range(1, 9)
RECORD_KINDS = (EV, ENT, CLM, JOB, ART, EPI, ACT)
RESERVED_PREFIXES = ("Engine", "Lora", "WaveGen")

# --- envelopes and signatures ------------------------------------------------------


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def public_key(seed: bytes) -> bytes:
    return bytes(nacl.signing.SigningKey(seed).verify_key.encode())


def envelope(op_id: bytes, author: bytes, ts: tuple[int, int], payload: dict[str, Any],
             sig: bytes | None) -> bytes:
    """The canonical CBOR of an op envelope (spec/03 section 6)."""
    return bytes(cbor2.dumps({"v": 1, "id": op_id, "author": author,
                              "ts": [ts[0], ts[1], author], "payload": payload, "sig": sig},
                             canonical=True))


def sign_envelope(seed: bytes, op_id: bytes, ts: tuple[int, int],
                  payload: dict[str, Any]) -> bytes:
    """The envelope signed as spec/06 section 7 says: Ed25519 over the JWS signing input."""
    author = public_key(seed)
    header = b'{"alg":"EdDSA","kid":"' + author.hex().encode() + b'"}'
    unsigned = envelope(op_id, author, ts, payload, None)
    signing_input = (b64u(header) + "." + b64u(unsigned)).encode()
    sig = bytes(nacl.signing.SigningKey(seed).sign(signing_input).signature)
    return envelope(op_id, author, ts, payload, sig)


def op_hash(data: bytes) -> str:
    """The hash of an op: BLAKE3-256 of its envelope bytes (spec/04 section 4), hex."""
    return blake3.blake3(data).hexdigest()


@attrs.define
class Author:
    """One signing node: ids and timestamps from counters, so each op is later than the last."""

    seed: bytes
    wall_ms: int = BASE_MS
    counter: int = 0

    @property
    def node(self) -> bytes:
        return public_key(self.seed)

    def new_id(self, kind: int) -> bytes:
        """A fresh id of `kind`: kind byte, 6-byte wall_ms, 10 bytes derived from a counter."""
        self.counter += 1
        rand = blake3.blake3(self.seed + self.counter.to_bytes(8, "big")).digest(length=10)
        return bytes([kind]) + self.wall_ms.to_bytes(6, "big") + rand

    def op(self, payload: dict[str, Any], ts: tuple[int, int] | None = None) -> bytes:
        """A signed op; the clock advances 1 ms unless `ts` is given."""
        if ts is None:
            self.wall_ms += 1
            ts = (self.wall_ms, 0)
        return sign_envelope(self.seed, self.new_id(OP), ts, payload)


# --- the field table of spec/02 section 3 -------------------------------------------


@attrs.frozen
class F:
    """A field type of spec/02 section 2: `kind` names it, the rest parameterise it."""

    kind: str  # id, ref, refs, text, name, hash, uint, map, bytes, any, artifacts
    id_kind: int = 0
    optional: bool = False
    low: int = 0
    high: int = 0


REASON, CASCADE, SUPPORTS = F("text", low=0, high=4096), F("refs", high=4096), \
    F("refs", low=1, high=256)


def ID(kind: int, optional: bool = False) -> F:  # noqa: N802 -- reads like the spec's id(K)
    return F("id", id_kind=kind, optional=optional)


FIELDS: dict[str, list[tuple[str, F]]] = {
    "IngestEvidence": [("evidence", ID(EV)), ("hash", F("hash")),
                       ("anchor", F("text", low=1, high=512)), ("source_type", F("name")),
                       ("metadata", F("map"))],
    "TombstoneEvidence": [("evidence", ID(EV)), ("reason", REASON), ("cascade", CASCADE)],
    "CascadeTombstone": [("root", F("ref")), ("reason", REASON), ("cascade", CASCADE)],
    "AssertClaim": [("claim", ID(CLM)), ("subject", ID(ENT, optional=True)),
                    ("predicate", F("text", low=1, high=256)), ("object", F("any")),
                    ("supports", SUPPORTS)],
    "ConfirmClaim": [("claim", ID(CLM))],
    "RejectClaim": [("claim", ID(CLM)), ("reason", REASON), ("cascade", CASCADE)],
    "CreateEntity": [("entity", ID(ENT)), ("kind", F("name")), ("attributes", F("map")),
                     ("supports", F("refs", high=256))],
    "MergeEntity": [("source", ID(ENT)), ("target", ID(ENT)), ("supports", F("refs", high=256))],
    "RecordEpisode": [("episode", ID(EPI)), ("summary", F("text", low=1, high=4096)),
                      ("start_ms", F("uint")), ("end_ms", F("uint")), ("supports", SUPPORTS)],
    "ProposeAction": [("action", ID(ACT)), ("description", F("text", low=1, high=4096)),
                      ("expires_ms", F("uint")), ("supports", SUPPORTS)],
    "AcceptAction": [("action", ID(ACT))],
    "DismissAction": [("action", ID(ACT))],
    "ExpireAction": [("action", ID(ACT))],
    "StartJob": [("job", ID(JOB)), ("kind", F("name")), ("inputs", F("refs", high=256))],
    "CompleteJob": [("job", ID(JOB)), ("artifacts", F("artifacts"))],
    "FailJob": [("job", ID(JOB)), ("reason", REASON)],
    "DelegateUcan": [("token", F("bytes"))],
    "RevokeUcan": [("token_hash", F("hash")), ("reason", REASON)],
}
CREATES = {"IngestEvidence": "evidence", "AssertClaim": "claim", "CreateEntity": "entity",
           "RecordEpisode": "episode", "ProposeAction": "action", "StartJob": "job"}
CASCADE_ROOT = {"TombstoneEvidence": "evidence", "RejectClaim": "claim",
                "CascadeTombstone": "root"}
# Chapter 07 gives DelegateUcan tokens (and revocations) a meaning an Authority
# implementation checks; the Core checks here only demand no payload rejection.
AUTHORITY_VARIANTS = frozenset({"DelegateUcan", "RevokeUcan"})


def named_records(variant: str, payload: dict[str, Any]) -> list[bytes]:
    """The records a payload names (spec/01 section 4.4): every id or ref but the one created."""
    out: list[bytes] = []
    for name, ftype in FIELDS[variant]:
        value = payload[name]
        if ftype.kind in ("id", "ref") and value is not None and CREATES.get(variant) != name:
            out.append(value)
        elif ftype.kind == "refs":
            out.extend(value)
    return out


# --- strategies of valid values -------------------------------------------------------


def ids(kind: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=16, max_size=16).map(lambda r: bytes([kind]) + r)


def refs_of(kinds: tuple[int, ...]) -> st.SearchStrategy[bytes]:
    return st.sampled_from(kinds).flatmap(ids)


def text_of(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(min_size=low, max_size=min(high, 40)).filter(
        lambda t: low <= len(t.encode()) <= high)


NAME = re.compile(r"[a-z][a-z0-9_.-]{0,31}")
NAMES = st.from_regex(NAME, fullmatch=True)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                    st.binary(max_size=8))
ANY = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8)
MAPS = st.one_of(st.dictionaries(st.text(max_size=6), SCALARS, max_size=5),
                 st.just({f"k{i:02d}": i for i in range(64)}))


def artifacts(min_size: int = 0) -> st.SearchStrategy[list[dict[str, Any]]]:
    item = st.fixed_dictionaries({"artifact": ids(ART), "hash": st.binary(min_size=32,
                                  max_size=32), "media_type": text_of(1, 128)})
    return st.lists(item, min_size=min_size, max_size=4, unique_by=lambda a: a["artifact"]).map(
        lambda items: sorted(items, key=lambda a: a["artifact"]))


def values(ftype: F, ref_kinds: tuple[int, ...] = RECORD_KINDS) -> st.SearchStrategy[Any]:
    """Valid values of a field type (lists kept short so examples stay fast)."""
    k = ftype.kind
    if k == "id":
        return st.one_of(st.none(), ids(ftype.id_kind)) if ftype.optional else ids(ftype.id_kind)
    if k == "ref":
        return refs_of(ref_kinds)
    if k == "refs":
        return st.lists(refs_of(ref_kinds), min_size=ftype.low, max_size=min(ftype.high, 6),
                        unique=True).map(sorted)
    if k == "text":
        return text_of(ftype.low, ftype.high)
    if k == "name":
        return NAMES
    if k == "hash":
        return st.binary(min_size=32, max_size=32)
    if k == "uint":
        return st.one_of(st.integers(0, UINT_MAX), st.sampled_from([0, UINT_MAX]))
    if k == "map":
        return MAPS
    if k == "bytes":
        return st.binary(max_size=64)
    if k == "artifacts":
        return artifacts()
    return ANY


def fix_rules(variant: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Make a payload of independent field values satisfy OPS-013 to OPS-015."""
    if variant == "MergeEntity" and payload["source"] == payload["target"]:
        payload["target"] = bytes([ENT]) + bytes(b ^ 0xFF for b in payload["source"][1:])
    if variant == "RecordEpisode" and payload["start_ms"] > payload["end_ms"]:
        payload["start_ms"], payload["end_ms"] = payload["end_ms"], payload["start_ms"]
    root = CASCADE_ROOT.get(variant)
    if root is not None:
        payload["cascade"] = [r for r in payload["cascade"] if r != payload[root]]
    return payload


def payloads(variant: str, ref_kinds: tuple[int, ...] = RECORD_KINDS
             ) -> st.SearchStrategy[dict[str, Any]]:
    """Valid payloads of one variant."""
    fields = {name: values(ftype, ref_kinds) for name, ftype in FIELDS[variant]}
    return st.fixed_dictionaries(fields).map(
        lambda p: fix_rules(variant, {"type": variant, **p}))


# --- single defects and the code each must be rejected with ---------------------------

Defect = tuple[Any, str, str]  # the bad value, its code, what is wrong

INTS = st.integers(-(2**64), 2**64 - 1)  # the data model's integers (spec/03 section 3)
NOT_BYTES = st.one_of(st.text(max_size=8), st.integers(-5, 5), st.booleans(),
                      st.lists(st.integers(0, 3), max_size=2))


def _tag(strategy: st.SearchStrategy[Any], code: str, what: str) -> st.SearchStrategy[Defect]:
    return strategy.map(lambda v: (v, code, what))


def _wrong_length(kind: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=40).filter(lambda b: len(b) != 17).map(
        lambda b: (bytes([kind]) + b)[:len(b)] if b else b)


def _with_element(ftype: F, bad: st.SearchStrategy[bytes]) -> st.SearchStrategy[list[bytes]]:
    """A sorted, repeat-free list within bounds holding one bad element (one defect only)."""
    good = st.lists(refs_of(RECORD_KINDS), max_size=min(ftype.high - 1, 4), unique=True)
    return st.tuples(good, bad).filter(lambda gb: gb[1] not in gb[0]).map(
        lambda gb: sorted([*gb[0], gb[1]]))


def _unsorted(ftype: F) -> st.SearchStrategy[list[bytes]]:
    return st.lists(refs_of(RECORD_KINDS), min_size=2, max_size=min(ftype.high, 5),
                    unique=True).map(lambda rs: sorted(rs, reverse=True))


def _repeated(ftype: F) -> st.SearchStrategy[list[bytes]]:
    return st.lists(refs_of(RECORD_KINDS), min_size=1, max_size=min(ftype.high - 1, 4),
                    unique=True).flatmap(lambda rs: st.sampled_from(rs).map(
                        lambda r: sorted([*rs, r])))


def _too_long_text(high: int) -> st.SearchStrategy[str]:
    return st.characters(codec="utf-8").map(
        lambda c: c * (high // len(c.encode()) + 1))


def _bad_name() -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=40), st.sampled_from(["A", "9a", "a" * 33, "", "a b"])
                     ).filter(lambda t: NAME.fullmatch(t) is None)


def _bad_artifacts() -> st.SearchStrategy[Defect]:
    item = artifacts(min_size=2)

    def mutate(items: list[dict[str, Any]], how: str, junk: Any) -> Defect:
        items = [dict(i) for i in items]
        first = items[0]
        if how == "missing":
            del first["hash"]
            return items, PAYLOAD, "an output without hash"
        if how == "extra":
            first["size"] = junk
            return items, PAYLOAD, "an output with an extra key"
        if how == "kind":
            first["artifact"] = bytes([EV]) + first["artifact"][1:]
            return (sorted(items, key=lambda a: a["artifact"]), KIND,
                    "an output's artifact is an EvidenceId")
        if how == "hash":
            first["hash"] = first["hash"][:31]
            return items, PAYLOAD, "an output's hash is 31 bytes"
        if how == "media":
            first["media_type"] = ""
            return items, PAYLOAD, "an empty media_type"
        if how == "repeat":
            return sorted([*items, first], key=lambda a: a["artifact"]), PAYLOAD, \
                "an artifact id twice"
        return items[::-1], PAYLOAD, "outputs in descending artifact order"

    hows = st.sampled_from(["missing", "extra", "kind", "hash", "media", "repeat", "unsorted"])
    return st.tuples(item, hows, INTS).map(lambda t: mutate(*t))


def has_defects(ftype: F) -> bool:
    """Whether a field type admits an invalid value (every type but `any`)."""
    return ftype.kind != "any"


def defects(ftype: F) -> st.SearchStrategy[Defect]:
    """Single defects of a field type with the code spec/02 section 2 gives each."""
    k = ftype.kind
    if k == "id":
        options = [
            _tag(st.sampled_from([x for x in range(1, 9) if x != ftype.id_kind]).flatmap(ids),
                 KIND, "an id of another kind"),
            _tag(_wrong_length(ftype.id_kind), MALFORMED, "an id of the wrong length"),
            _tag(st.sampled_from([0, *range(9, 256)]).flatmap(ids), MALFORMED,
                 "an id of an unassigned kind byte"),
            _tag(NOT_BYTES, PAYLOAD, "not a byte string"),
        ]
        if not ftype.optional:
            options.append(_tag(st.none(), PAYLOAD, "null"))
        return st.one_of(options)
    if k == "ref":
        return st.one_of(
            _tag(_wrong_length(CLM), MALFORMED, "a ref of the wrong length"),
            _tag(st.sampled_from([0, OP, *range(9, 256)]).flatmap(ids), KIND,
                 "a ref of kind OpId or an unassigned kind"))
    if k == "refs":
        options = [
            _tag(st.one_of(st.binary(max_size=20), st.text(max_size=5), st.none(),
                           st.dictionaries(st.text(max_size=3), INTS, max_size=2)),
                 PAYLOAD, "not an array"),
            _tag(_unsorted(ftype), PAYLOAD, "refs in descending order"),
            _tag(_repeated(ftype), PAYLOAD, "a ref twice"),
            _tag(_with_element(ftype, st.sampled_from([0, OP, *range(9, 256)]).flatmap(ids)),
                 KIND, "an OpId or unassigned kind among the refs"),
            _tag(_with_element(ftype, _wrong_length(EV)), MALFORMED,
                 "a ref of the wrong length among the refs"),
        ]
        if ftype.low > 0:
            options.append(_tag(st.just([]), PAYLOAD, "no ref"))
        if ftype.high == 256:
            options.append(_tag(st.just(sorted(bytes([EV]) + i.to_bytes(16, "big")
                                               for i in range(257))), PAYLOAD, "257 refs"))
        return st.one_of(options)
    if k == "text":
        options = [_tag(st.one_of(st.binary(max_size=8), INTS, st.none()), PAYLOAD,
                        "not text"),
                   _tag(_too_long_text(ftype.high), PAYLOAD, "one byte or more too long")]
        if ftype.low > 0:
            options.append(_tag(st.just(""), PAYLOAD, "empty"))
        return st.one_of(options)
    if k == "name":
        return st.one_of(_tag(_bad_name(), PAYLOAD, "not a name"),
                         _tag(NOT_BYTES.filter(lambda v: not isinstance(v, str)), PAYLOAD,
                              "not text"))
    if k == "hash":
        return st.one_of(
            _tag(st.binary(max_size=64).filter(lambda b: len(b) != 32), PAYLOAD,
                 "not 32 bytes"),
            _tag(NOT_BYTES, PAYLOAD, "not a byte string"))
    if k == "uint":
        return _tag(st.one_of(
            st.integers(-(2**64), -1), st.integers(2**63, 2**64 - 1),
            st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
            st.text(max_size=3), st.none()), PAYLOAD, "not an integer in [0, 2^63-1]")
    if k == "map":
        return _tag(st.one_of(
            st.integers(65, 70).map(lambda n: {f"k{i:02d}": i for i in range(n)}),
            st.lists(INTS, max_size=2), st.binary(max_size=4), st.none()), PAYLOAD,
            "not a map of at most 64 entries")
    if k == "bytes":
        return _tag(st.one_of(st.text(max_size=5), INTS, st.none()), PAYLOAD,
                    "not a byte string")
    if k == "artifacts":
        return st.one_of(_bad_artifacts(),
                         _tag(st.one_of(st.binary(max_size=4), st.none()), PAYLOAD,
                              "not an array"))
    raise ValueError(f"a field of type {k} admits every value")


def unknown_types() -> st.SearchStrategy[str]:
    """Type names that are neither variants nor reserved (spec/02 sections 3 and 4)."""
    return st.text(max_size=16).filter(
        lambda t: t not in FIELDS and not t.startswith(RESERVED_PREFIXES))

