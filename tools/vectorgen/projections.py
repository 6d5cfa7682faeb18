"""Vectors of chapter 10 (projections) and of chapter 01's log rules seen through them.

Every case is one `log.query`: a script of signed ops appended to a fresh log in
the order given, then queries answered over the projections. Ops come from
`OpFactory(label)` (tools/vectorgen/_ops.py): the author's Ed25519 seed is
BLAKE3("strata/vectors/<label>/seed"), record and op ids are the author's clock
followed by 10 bytes of BLAKE3("strata/vectors/<label>/id/<n>"), and each op
advances the clock by 1 ms from 1_700_000_000_000 unless a timestamp is given.
Beyond the recorded output, each case states what it is for as a predicate on
the reference's answer, and generation fails when the reference disagrees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import blake3

from reference import signatures, wire_format
from reference.driver import dispatch
from reference.identifiers import IdKind
from reference.wire_format import Envelope
from tools.vectorgen import Case, GenerationError, VectorFile
from tools.vectorgen._ops import BASE_MS, OpFactory, derive, op_hash

FOLDER, CHAPTER = "projections", "10-projections"
DM_FOLDER, DM_CHAPTER = "data_model", "01-data-model"
NOW_MS = BASE_MS + 1_000_000  # far enough after every op that none is held for drift
CHAIN = 2000  # the deep chain of derived claims (DM-015)

Out = dict[str, Any]
Check = Callable[[Out], bool]

COMMON = (
    "Each case appends `ops` (hex op envelopes) in the order given to a fresh log at "
    "now_ms = 1_700_001_000_000, then answers `queries`; `evidence` items are content bytes "
    "stored under their own BLAKE3 hash first. Authors are OpFactory(label): seed = "
    "BLAKE3('strata/vectors/<label>/seed'), ids = kind byte, the author's clock (6 bytes), "
    "then 10 bytes of BLAKE3('strata/vectors/<label>/id/<n>'); each op advances the clock "
    "by 1 ms from 1_700_000_000_000 unless its timestamp is stated."
)


# --- payloads ---------------------------------------------------------------------


def content_of(label: str) -> bytes:
    """Evidence content: the canonical CBOR of a small calendar event named by `label`."""
    return wire_format.encode_canonical({"uid": label, "title": f"event {label}"})


def ingest(ev: bytes, label: str, source_type: str = "calendar",
           metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "IngestEvidence", "evidence": ev,
            "hash": blake3.blake3(content_of(label)).digest(), "anchor": f"uid-{label}",
            "source_type": source_type, "metadata": metadata or {}}


def claim(c: bytes, supports: Sequence[bytes], predicate: str, obj: Any,
          subject: bytes | None = None) -> dict[str, Any]:
    return {"type": "AssertClaim", "claim": c, "subject": subject, "predicate": predicate,
            "object": obj, "supports": sorted(supports)}


def episode(e: bytes, supports: Sequence[bytes], summary: str = "an episode") -> dict[str, Any]:
    return {"type": "RecordEpisode", "episode": e, "summary": summary, "start_ms": 10,
            "end_ms": 20, "supports": sorted(supports)}


def tombstone(ev: bytes, cascade: Sequence[bytes] = ()) -> dict[str, Any]:
    return {"type": "TombstoneEvidence", "evidence": ev, "reason": "forget",
            "cascade": sorted(cascade)}


def confirm(c: bytes) -> dict[str, Any]:
    return {"type": "ConfirmClaim", "claim": c}


def reject(c: bytes, cascade: Sequence[bytes] = ()) -> dict[str, Any]:
    return {"type": "RejectClaim", "claim": c, "reason": "wrong", "cascade": sorted(cascade)}


def entity(e: bytes, supports: Sequence[bytes] = ()) -> dict[str, Any]:
    return {"type": "CreateEntity", "entity": e, "kind": "person", "attributes": {},
            "supports": sorted(supports)}


def merge(source: bytes, target: bytes, supports: Sequence[bytes] = ()) -> dict[str, Any]:
    return {"type": "MergeEntity", "source": source, "target": target,
            "supports": sorted(supports)}


def with_op_id(f: OpFactory, op_id: bytes, payload: dict[str, Any]) -> bytes:
    """A signed op of `f` carrying a chosen OpId (for the OpId conflict of DM-020)."""
    f.wall_ms += 1
    env = Envelope(op_id=op_id, author=f.node, ts=(f.wall_ms, 0, f.node), payload=payload,
                   sig=None)
    return wire_format.encode_envelope(signatures.sign_op(f.seed, env))


# --- queries and expectations -------------------------------------------------------


def detail(*records: bytes) -> list[dict[str, Any]]:
    return [{"q": "detail", "id": r.hex()} for r in records]


SALIENCE = {"q": "salience", "k": 10}
INFERENCE = {"q": "inference", "budget": 4096}
DEBUG = {"q": "debug"}


def run(inp: dict[str, Any]) -> Out:
    response = dispatch({"id": 0, "cmd": "log.query", "args": inp})
    if not response["ok"]:
        raise GenerationError(f"log.query refused: {response['error']}")
    return dict(response["result"])


def query(cid: str, reqs: Sequence[str], description: str, ops: Sequence[bytes],
          queries: Sequence[dict[str, Any]], check: Check, comment: str | None = None,
          evidence: Sequence[bytes] = ()) -> Case:
    """A valid log.query case whose answer must satisfy `check` (else generation fails)."""
    inp: dict[str, Any] = {"ops": [o.hex() for o in ops], "now_ms": NOW_MS,
                           "queries": list(queries)}
    if evidence:
        inp["evidence"] = [e.hex() for e in evidence]
    if not check(run(inp)):
        raise GenerationError(f"{cid}: the reference's answer does not show what the case "
                              f"is for: {description}")
    return Case(cid, tuple(reqs), description, "log.query", inp, "valid", comment)


def refused(cid: str, reqs: Sequence[str], description: str, inp: dict[str, Any],
            error: str = "E_BAD_REQUEST") -> Case:
    """An invalid log.query request, refused as a whole (E_BAD_REQUEST unless stated)."""
    return Case(cid, tuple(reqs), description, "log.query", inp, "invalid", error=error)


def states(out: Out) -> list[str | None]:
    """The state of each detail answer, None for an answer that is an error."""
    return [a.get("state") for a in out["answers"]]


def codes(out: Out) -> list[str | None]:
    """Per op: the error code of a rejected append, None for an accepted one."""
    return [r["error"]["code"] if "error" in r else None for r in out["results"]]


def events(answer: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(h["event"], h["from"], h["to"]) for h in answer["history"]]


# --- chapter 10 ---------------------------------------------------------------------


def worked_example() -> list[Case]:
    """The seed's worked example (spec/01 section 8), before and after the tombstone."""
    f = OpFactory("proj/worked")
    ev, c1, c2, ep = (f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM), f.new_id(IdKind.CLAIM),
                      f.new_id(IdKind.EPISODE))
    ops = [
        f.op(ingest(ev, "lunch", metadata={"title": "Lunch with Ana"})),
        f.op(claim(c1, [ev], "event.title", "Lunch with Ana")),
        f.op(claim(c2, [ev], "event.place", "Cafe Central")),
        f.op(episode(ep, [ev, c1, c2], "lunch on Tuesday")),
        f.op(confirm(c1)),
    ]
    tomb = f.op(tombstone(ev, [c1, c2, ep]))
    queries = [*detail(ev, c1, c2, ep), SALIENCE, INFERENCE, DEBUG]
    comment = ("evidence content = canonical CBOR of {uid: 'lunch', title: 'event lunch'}, "
               "given in `evidence`, so content_present is true until the tombstone")
    content = [content_of("lunch")]

    def before(out: Out) -> bool:
        a = out["answers"]
        return (states(out)[:4] == ["Ingested", "Fact", "Hint", "Recorded"]
                and a[0]["content_present"] is True
                and [r["id"] for r in a[4]["records"]][0] == ev.hex()
                and a[5]["ids"] == [c1.hex(), c2.hex()])

    def after(out: Out) -> bool:
        a = out["answers"]
        return (states(out)[:4] == ["Tombstoned", "Invalidated", "Invalidated", "Invalidated"]
                and a[0]["content_present"] is False
                and events(a[1])[-1] == ("cascade", "Fact", "Invalidated")
                and a[4]["records"] == [] and a[5] == {"lines": [], "ids": []}
                and content[0].hex() not in str(out))

    return [
        query("worked-example-live", ["PROJ-001", "PROJ-010", "PROJ-012", "PROJ-013",
                                      "PROJ-015", "PROJ-016", "PROJ-019", "PROJ-020",
                                      "PROJ-021"],
              "ingest calendar evidence, two claims, an episode, confirm one claim: detail, "
              "salience, inference and debug of the live records", ops, queries, before,
              comment, content),
        query("worked-example-tombstoned", ["PROJ-001", "PROJ-009", "PROJ-010", "PROJ-012",
                                            "PROJ-014", "PROJ-018", "PROJ-019", "PROJ-020"],
              "the same, then TombstoneEvidence: the claims and the episode are Invalidated, "
              "detail still shows them, salience and inference leave them out, and the content "
              "is reported absent", [*ops, tomb], queries, after, comment, content),
    ]


def detail_cases() -> list[Case]:
    """Detail of each kind, unknown ids, held records, evidence content presence."""
    f = OpFactory("proj/detail")
    ev, c, ent, act, job = (f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM),
                            f.new_id(IdKind.ENTITY), f.new_id(IdKind.ACTION),
                            f.new_id(IdKind.JOB))
    art = f.new_id(IdKind.ARTIFACT)
    ops = [
        f.op(ingest(ev, "d1", source_type="photo", metadata={"w": 640, "tags": ["a", "b"]})),
        f.op(entity(ent, [ev])),
        f.op(claim(c, [ev], "person.name", {"first": "Ana", "n": 2}, subject=ent)),
        f.op({"type": "ProposeAction", "action": act, "description": "call Ana",
              "expires_ms": 2**62, "supports": [c]}),
        f.op({"type": "StartJob", "job": job, "kind": "thumbnail", "inputs": [ev]}),
        f.op({"type": "CompleteJob", "job": job, "artifacts": [
            {"artifact": art, "hash": derive("proj/detail/art"), "media_type": "image/png"}]}),
    ]
    unknown = OpFactory("proj/detail/other").new_id(IdKind.CLAIM)
    held_claim = f.new_id(IdKind.CLAIM)
    missing_ev = OpFactory("proj/detail/other").new_id(IdKind.EVIDENCE)
    held = f.op(claim(held_claim, [missing_ev], "p", 1))

    def kinds(out: Out) -> bool:
        a = out["answers"]
        return ([x["kind"] for x in a] == ["ev", "ent", "clm", "act", "job"]
                and a[0]["content_present"] is False
                and a[1]["representative"] == ent.hex()
                and a[2]["subject"] == ent.hex()
                and a[3]["expires_ms"] == str(2**62)
                and a[4]["state"] == "Completed" and len(a[4]["artifacts"]) == 1)

    def not_found(out: Out) -> bool:
        return bool(out["answers"] == [{"error": {"code": "E_NOT_FOUND"}}] * 3)

    wrong = content_of("not-d2")
    return [
        query("detail-every-kind", ["PROJ-010", "PROJ-021", "DM-026"],
              "detail of evidence (photo, metadata), entity, claim with subject, action with "
              "expires_ms beyond 2^53 (decimal text), completed job with its artifact",
              ops, detail(ev, ent, c, act, job), kinds,
              "artifact hash = BLAKE3('strata/vectors/proj/detail/art')"),
        query("detail-unknown-and-held", ["PROJ-011", "PROJ-021"],
              "detail of an id never created, of a claim whose op is held (its evidence is "
              "missing) and of that missing evidence: E_NOT_FOUND each",
              [*ops, held], detail(unknown, held_claim, missing_ev), not_found),
        query("content-present-verified", ["PROJ-012"],
              "evidence whose bytes are given in `evidence`: content_present is true",
              [OpFactory("proj/content").op(ingest(
                  OpFactory("proj/content").new_id(IdKind.EVIDENCE), "d2"))],
              detail(OpFactory("proj/content").new_id(IdKind.EVIDENCE)),
              lambda out: out["answers"][0]["content_present"] is True,
              "the evidence id is the first id of OpFactory('proj/content'); its op is that "
              "factory's first op (a fresh factory each time, so both derive the same bytes)",
              [content_of("d2")]),
        query("content-absent-other-bytes", ["PROJ-012"],
              "the node holds bytes, but not ones that verify against the evidence's hash: "
              "content_present is false",
              [OpFactory("proj/content").op(ingest(
                  OpFactory("proj/content").new_id(IdKind.EVIDENCE), "d2"))],
              detail(OpFactory("proj/content").new_id(IdKind.EVIDENCE)),
              lambda out: (out["answers"][0]["content_present"] is False
                           and wrong.hex() not in str(out["answers"])),
              "`evidence` holds the content of a different event ('not-d2')", [wrong]),
    ]


def request_cases() -> list[Case]:
    """Malformed queries refuse the whole request before any op is appended."""
    ok = {"ops": [], "now_ms": NOW_MS}
    bad_request = "E_BAD_REQUEST"
    bad: list[tuple[str, str, Any, str]] = [
        ("unknown-query", "a query named 'fetch'", [{"q": "fetch"}], bad_request),
        ("salience-negative-k", "salience with k = -1", [{"q": "salience", "k": -1}], bad_request),
        ("salience-k-text", "salience with k given as text", [{"q": "salience", "k": "3"}],
         bad_request),
        ("inference-budget-float", "inference with a float budget",
         [{"q": "inference", "budget": 1.5}], bad_request),
        ("inference-budget-too-big", "inference with budget 2^63 (one past the range)",
         [{"q": "inference", "budget": 2**63}], bad_request),
        ("detail-id-not-hex", "detail with an id that is not hex",
         [{"q": "detail", "id": "zz"}], "E_HEX_INVALID"),
        ("detail-extra-member", "a detail query with an extra member",
         [{"q": "detail", "id": "00", "k": 1}], bad_request),
        ("debug-missing-q", "a query object without q", [{"k": 1}], bad_request),
        ("query-not-object", "a query that is a string", ["debug"], bad_request),
        ("query-string-q", "a query that is the string 'q'", ["q"], bad_request),
        ("query-array", "a query that is an array holding 'q'", [["q", "debug"]], bad_request),
        ("query-number", "a query that is a number", [5], bad_request),
        ("queries-not-array", "queries given as an object", {"q": "debug"}, bad_request),
    ]
    cases = [refused(f"bad-{name}", ["PROJ-022"], what, {**ok, "queries": queries}, code)
             for name, what, queries, code in bad]
    cases.append(query("boundary-k-and-budget-max", ["PROJ-013", "PROJ-017", "PROJ-022"],
                       "k and budget of 2^63-1, the largest allowed: accepted",
                       [], [{"q": "salience", "k": 2**63 - 1},
                            {"q": "inference", "budget": 2**63 - 1}, DEBUG],
                       lambda out: out["answers"][0] == {"records": []}))
    cases.append(query("boundary-k-and-budget-zero", ["PROJ-013", "PROJ-017", "PROJ-022"],
                       "k and budget of 0, the smallest allowed: accepted, with nothing in them",
                       [], [{"q": "salience", "k": 0}, {"q": "inference", "budget": 0}, DEBUG],
                       lambda out: out["answers"][0] == {"records": []}))
    return cases


def salience_cases() -> list[Case]:
    """Scores, ties broken by id bytes, k boundaries, non-live citers not counted."""
    f = OpFactory("proj/salience")
    e1, e2, e3 = (f.new_id(IdKind.EVIDENCE) for _ in range(3))
    a, b, c, d = (f.new_id(IdKind.CLAIM) for _ in range(4))
    ops = [f.op(ingest(e, f"s{i}")) for i, e in enumerate((e1, e2, e3))] + [
        f.op(claim(a, [e1, e2], "p", 1)),  # e1, e2 get one citer each
        f.op(claim(b, [e2], "p", 2)),  # e2 gets a second
        f.op(claim(c, [e3], "p", 3)),
        f.op(claim(d, [e3], "p", 4)),
        f.op(reject(d)),  # a Rejected citer does not count: e3 scores 1, like e1
    ]
    order = sorted([e1, e3]) + sorted([a, b, c])

    def ranked(k: int) -> Check:
        expected = [{"id": e2.hex(), "score": 2}] + [
            {"id": r.hex(), "score": 1 if r in (e1, e3) else 0} for r in order]
        return lambda out: out["answers"][0] == {"records": expected[:k]}

    cases = []
    for k, why in ((0, "k = 0: empty"), (1, "k = 1: the single top record"),
                   (2, "k = 2: cuts between two records tied at score 1 (smaller id first)"),
                   (6, "k = 6: exactly the number of live records"),
                   (7, "k = 7: one more than the live records; d is Rejected and absent")):
        cases.append(query(f"salience-k{k}", ["PROJ-013", "PROJ-014"], why, ops,
                           [{"q": "salience", "k": k}], ranked(k)))
    return cases


def inference_cases() -> list[Case]:
    """Facts before Hints, score order, the rendering, and the budget boundary."""
    f = OpFactory("proj/inference")
    ev = f.new_id(IdKind.EVIDENCE)
    h1, h2, fact, rej = (f.new_id(IdKind.CLAIM) for _ in range(4))
    ep = f.new_id(IdKind.EPISODE)
    ops = [
        f.op(ingest(ev, "i1")),
        f.op(claim(h1, [ev], "event.title", "Lunch")),  # line "event.title: 654c756e6368"
        f.op(claim(h2, [ev], "n", 7)),  # "n: 07"
        f.op(claim(fact, [ev], "ok", True)),  # "ok: f5"
        f.op(claim(rej, [ev], "bad", None)),
        f.op(episode(ep, [h2])),  # h2 scores 1, h1 scores 0: h2 before h1
        f.op(confirm(fact)),
        f.op(reject(rej)),
    ]
    lines = ["ok: f5", "n: 07", "event.title: 654c756e6368"]
    sizes = [len(line.encode()) + 1 for line in lines]  # 7, 6, 26
    full = sum(sizes)

    def window(n: int) -> Check:
        ids = [fact.hex(), h2.hex(), h1.hex()][:n]
        return lambda out: out["answers"][0] == {"lines": lines[:n], "ids": ids}

    cases = []
    for budget, n, why in (
        (full, 3, f"budget = total size ({full}): every line fits exactly"),
        (full - 1, 2, "budget one byte short of the total: the last line is left out"),
        (sizes[0], 1, "budget = size of the first line (7)"),
        (sizes[0] - 1, 0, "budget one byte short of the first line: empty window"),
        (0, 0, "budget 0: empty window"),
    ):
        cases.append(query(f"inference-budget-{budget}", ["PROJ-015", "PROJ-016", "PROJ-017",
                                                         "PROJ-018"],
                           why + "; Fact first, then Hints by score; the Rejected claim never",
                           ops, [{"q": "inference", "budget": budget}], window(n),
                           "line = predicate ': ' hex(canonical CBOR of object); "
                           "size = UTF-8 bytes + 1"))
    return cases


def entity_cases() -> list[Case]:
    """Merges: cycles, chains, the target guard, merge supports as edges."""
    f = OpFactory("proj/entity")
    ev = f.new_id(IdKind.EVIDENCE)
    x, y, z, t = (f.new_id(IdKind.ENTITY) for _ in range(4))
    lo, hi = sorted([x, y])
    base = [f.op(ingest(ev, "n1")), *[f.op(entity(e)) for e in (x, y, z)]]
    cycle = [f.op(merge(hi, lo)), f.op(merge(lo, hi))]

    def reps(expected: list[bytes | None], merged: list[str]) -> Check:
        return lambda out: ([a["representative"] for a in out["answers"][:len(expected)]]
                            == [None if e is None else e.hex() for e in expected]
                            and states(out)[:len(merged)] == merged)

    cases = [
        query("merge-cycle", ["PROJ-007"],
              "merge the larger id into the smaller, then the smaller into the larger: both "
              "Merged, one class, the smaller id represents it", [*base, *cycle],
              detail(lo, hi, z), reps([lo, lo, z], ["Merged", "Merged", "Active"])),
        query("merge-cycle-reversed", ["PROJ-007"],
              "the same cycle written the other way round: the same representative",
              [*base, f.op(merge(lo, hi)), f.op(merge(hi, lo))], detail(lo, hi),
              reps([lo, lo], ["Merged", "Merged"])),
        query("merge-chain", ["PROJ-007"], "x into y, then y into z: one class of three",
              [*base, f.op(merge(x, y)), f.op(merge(y, z))], detail(x, y, z),
              reps([min(x, y, z)] * 3, ["Merged", "Merged", "Active"])),
        query("merge-source-already-merged", ["PROJ-002", "PROJ-007", "PROJ-019", "FSM-015"],
              "x into y, then x into z: the second merge is ignored (Merged has no MergeEntity "
              "transition), so z stays alone", [*base, f.op(merge(x, y)), f.op(merge(x, z))],
              [*detail(x, y, z), DEBUG],
              lambda out: (states(out)[:3] == ["Merged", "Active", "Active"]
                           and out["answers"][2]["representative"] == z.hex()
                           and len(out["answers"][3]["ignored"]) == 1)),
    ]
    # the target guard: an invalidated target, and a target created later in total order
    g = OpFactory("proj/entity-guard")
    gev, src, dead, late = (g.new_id(IdKind.EVIDENCE), g.new_id(IdKind.ENTITY),
                            g.new_id(IdKind.ENTITY), g.new_id(IdKind.ENTITY))
    guard_base = [g.op(ingest(gev, "n2")), g.op(entity(src)), g.op(entity(dead, [gev])),
                  g.op(tombstone(gev, [dead]))]
    into_dead = g.op(merge(src, dead))
    late_ms = g.wall_ms + 20
    into_late = g.op(merge(src, late), ts=(late_ms - 10, 0))
    late_op = g.op(entity(late), ts=(late_ms, 0))
    ignored = lambda out: states(out)[0] == "Active" and any(  # noqa: E731
        i["event"] == "MergeEntity" for i in out["answers"][-1]["ignored"])
    cases += [
        query("merge-into-invalidated-ignored", ["PROJ-003", "PROJ-019"],
              "merge into an entity invalidated by a tombstone: ignored, source stays Active",
              [*guard_base, into_dead], [*detail(src, dead), DEBUG], ignored),
        query("merge-into-later-target-ignored", ["PROJ-003", "PROJ-019"],
              "merge whose target is created later in the total order (delivered first): "
              "ignored at its position, source stays Active",
              [*guard_base, late_op, into_late], [*detail(src), DEBUG], ignored,
              "the merge has wall_ms +10 and the target's creation +20 after the guard script"),
        query("merge-valid-target", ["PROJ-003", "PROJ-007"],
              "merge into a live target created earlier: the source is Merged",
              [*guard_base, late_op, g.op(merge(src, late), ts=(late_ms + 1, 0))],
              detail(src, late),
              reps([min(src, late)] * 2, ["Merged", "Active"])),
    ]
    # merge supports are edges of the source: tombstoning them invalidates the source
    m = OpFactory("proj/entity-edges")
    mev, a, b = m.new_id(IdKind.EVIDENCE), m.new_id(IdKind.ENTITY), m.new_id(IdKind.ENTITY)
    edge_ops = [m.op(ingest(mev, "n3")), m.op(entity(a)), m.op(entity(b)),
                m.op(merge(a, b, [mev])), m.op(tombstone(mev))]
    cases.append(query(
        "merge-supports-are-edges", ["PROJ-005", "PROJ-006", "PROJ-007"],
        "a merge citing evidence gives its source that edge: tombstoning the evidence "
        "invalidates the merged source (Merged -> Invalidated), not the target",
        edge_ops, detail(a, b),
        lambda out: (states(out) == ["Invalidated", "Active"]
                     and out["answers"][0]["supports"] == [mev.hex()]
                     and out["answers"][0]["representative"] is None
                     and out["answers"][1]["representative"] == b.hex())))
    return cases


def action_job_cases() -> list[Case]:
    """The expiry guard; decided actions keep their decision; jobs follow their inputs."""
    f = OpFactory("proj/action")
    ev, c = f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM)
    a1, a2, a3 = (f.new_id(IdKind.ACTION) for _ in range(3))
    job = f.new_id(IdKind.JOB)
    expires = BASE_MS + 100

    def propose(a: bytes) -> dict[str, Any]:
        return {"type": "ProposeAction", "action": a, "description": "call back",
                "expires_ms": expires, "supports": [c]}

    base = [f.op(ingest(ev, "a1")), f.op(claim(c, [ev], "p", 1)), f.op(propose(a1)),
            f.op(propose(a2)), f.op(propose(a3))]
    early = f.op({"type": "ExpireAction", "action": a1}, ts=(expires - 1, 0))
    exact = f.op({"type": "ExpireAction", "action": a2}, ts=(expires, 0))
    accept = f.op({"type": "AcceptAction", "action": a3}, ts=(expires + 1, 0))
    tomb = f.op(tombstone(ev, [c, a1, a2, a3]), ts=(expires + 2, 0))
    cases = [
        query("expire-before-instant-ignored", ["PROJ-004", "PROJ-019", "FSM-017"],
              "ExpireAction at wall_ms = expires_ms - 1 is ignored; at expires_ms exactly it "
              "takes effect", [*base, early, exact], detail(a1, a2),
              lambda out: states(out) == ["Proposed", "Expired"],
              f"expires_ms = {expires}; the ExpireAction ops have those wall_ms"),
        query("decided-actions-invalidated", ["PROJ-001", "PROJ-010", "FSM-017", "FSM-007"],
              "a tombstone after an ignored early expiry, an expiry and an acceptance: all "
              "three actions are Invalidated, each history ending with the cascade",
              [*base, early, exact, accept, tomb], detail(a1, a2, a3),
              lambda out: (states(out) == ["Invalidated"] * 3 and [
                  events(a)[-1][1] for a in out["answers"]] == ["Proposed", "Expired",
                                                                 "Accepted"])),
    ]
    j = OpFactory("proj/job")
    jev, job = j.new_id(IdKind.EVIDENCE), j.new_id(IdKind.JOB)
    jobs = [j.op(ingest(jev, "j1")), j.op({"type": "StartJob", "job": job, "kind": "ocr",
                                            "inputs": [jev]}),
            j.op({"type": "FailJob", "job": job, "reason": "timeout"})]
    cases += [
        query("job-failed-then-invalidated", ["PROJ-005", "PROJ-010", "FSM-018", "FSM-007"],
              "a job over evidence fails, then the evidence is tombstoned with an empty "
              "cascade list: the Failed job is Invalidated through its input edge",
              [*jobs, j.op(tombstone(jev))], detail(job),
              lambda out: events(out["answers"][0])[1:] == [
                  ("FailJob", "Started", "Failed"), ("cascade", "Failed", "Invalidated")]),
    ]
    return cases


def cascade_cases() -> list[Case]:
    """The cascade comes from the graph, not from the op's `cascade` field."""
    f = OpFactory("proj/cascade")
    ev = f.new_id(IdKind.EVIDENCE)
    c1, c2, c3 = (f.new_id(IdKind.CLAIM) for _ in range(3))
    ops = [f.op(ingest(ev, "c1")), f.op(claim(c1, [ev], "p", 1)), f.op(claim(c2, [c1], "p", 2)),
           f.op(claim(c3, [c2], "p", 3))]
    all_invalid = lambda out: states(out) == ["Invalidated"] * 3  # noqa: E731
    return [
        query("tombstone-empty-cascade-list", ["PROJ-006"],
              "TombstoneEvidence listing no dependents: all three claims of the chain are "
              "still Invalidated", [*ops, f.op(tombstone(ev))], detail(c1, c2, c3), all_invalid),
        query("reject-invalidates-derived", ["PROJ-006"],
              "RejectClaim of the first claim listing only c2: c2 and c3 are Invalidated, c1 "
              "is Rejected", [*ops, f.op(reject(c1, [c2]))], detail(c1, c2, c3),
              lambda out: states(out) == ["Rejected", "Invalidated", "Invalidated"]),
        query("cascade-tombstone-root", ["PROJ-002", "PROJ-006"],
              "CascadeTombstone with root c2 and an empty list: c2 Invalidated by the op, c3 by "
              "cascade, c1 untouched", [*ops, f.op({"type": "CascadeTombstone", "root": c2,
                                                    "reason": "r", "cascade": []})],
              detail(c1, c2, c3),
              lambda out: states(out) == ["Hint", "Invalidated", "Invalidated"]),
        query("cascade-tombstone-evidence-root", ["PROJ-002", "FSM-013", "DM-013"],
              "CascadeTombstone whose root is live evidence (a cascade continuation): the "
              "evidence is Tombstoned and the chain of claims Invalidated",
              [*ops, f.op({"type": "CascadeTombstone", "root": ev, "reason": "r",
                           "cascade": [c1]})], [*detail(ev, c1, c2, c3), DEBUG],
              lambda out: (states(out)[:4] == ["Tombstoned", "Invalidated", "Invalidated",
                                               "Invalidated"]
                           and out["answers"][4]["ignored"] == [])),
    ]


def ignored_cases() -> list[Case]:
    """Transitions with no table entry are ignored and listed in the debug graph."""
    f = OpFactory("proj/ignored")
    ev, c = f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM)
    ops = [f.op(ingest(ev, "g1")), f.op(claim(c, [ev], "p", 1)), f.op(reject(c)),
           f.op(confirm(c))]
    confirm_hash = op_hash(ops[3]).hex()
    return [query(
        "confirm-after-reject-ignored",
        ["PROJ-002", "PROJ-010", "PROJ-019", "FSM-003", "FSM-004"],
        "ConfirmClaim after RejectClaim: the claim stays Rejected, its history has no entry "
        "for it, and the debug graph lists it as ignored in state Rejected",
        ops, [*detail(c), DEBUG],
        lambda out: (states(out)[0] == "Rejected" and len(out["answers"][0]["history"]) == 2
                     and out["answers"][1]["ignored"] == [
                         {"op": confirm_hash, "event": "ConfirmClaim", "record": c.hex(),
                          "state": "Rejected"}])),
        early_event_case()]


def early_event_case() -> Case:
    """An event before its record's creation in total order, and a second creation (FSM-005)."""
    f = OpFactory("proj/early")
    ev, c = f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM)
    ing = f.op(ingest(ev, "e1"))
    early_confirm = f.op(confirm(c))  # earlier timestamp than the claim's creation below
    create = f.op(claim(c, [ev], "p", 1))
    again = f.op(claim(c, [ev], "q", 2))
    hashes = [op_hash(o).hex() for o in (early_confirm, again)]
    return query(
        "event-before-creation-ignored", ["FSM-005", "PROJ-019"],
        "a ConfirmClaim ordered before its claim's AssertClaim (held until the claim exists, "
        "then applied in total order) and a second AssertClaim of the same id: both ignored",
        [ing, early_confirm, create, again], [*detail(c), DEBUG],
        lambda out: (states(out)[0] == "Hint" and {
            (i["op"], i["state"]) for i in out["answers"][1]["ignored"]} == {
                (hashes[0], None), (hashes[1], "Hint")}))


def incremental_cases() -> list[Case]:
    """Out-of-order arrival and quarantine force a rebuild of what was kept (PROJ-008)."""
    f = OpFactory("proj/incremental")
    ev, c = f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM)
    ing, asrt = f.op(ingest(ev, "o1")), f.op(claim(c, [ev], "p", 1))
    conf, rej = f.op(confirm(c)), f.op(reject(c))
    hist = [("AssertClaim", None, "Hint"), ("ConfirmClaim", "Hint", "Fact"),
            ("RejectClaim", "Fact", "Rejected")]
    check = lambda out: events(out["answers"][0]) == hist  # noqa: E731
    return [
        query("reject-arrives-before-confirm", ["PROJ-001", "PROJ-008", "FSM-006"],
              "the RejectClaim (later in total order) arrives before the ConfirmClaim: the "
              "history is that of the total order, Hint -> Fact -> Rejected",
              [ing, asrt, rej, conf], detail(c), check),
        query("in-total-order", ["PROJ-001", "PROJ-008"],
              "the same ops in total order: the same answer", [ing, asrt, conf, rej],
              detail(c), check),
    ]


# --- chapter 01 through the projections ----------------------------------------------


def dm_cases() -> list[Case]:
    """Log rules of chapter 01 as the projections show them."""
    cases: list[Case] = []
    f = OpFactory("dm/first-creation")
    g = OpFactory("dm/first-creation-b")
    ev = f.new_id(IdKind.EVIDENCE)
    c = f.new_id(IdKind.CLAIM)
    ing = f.op(ingest(ev, "f1"))
    early = f.op(claim(c, [ev], "first", 1), ts=(BASE_MS + 10, 0))
    late = g.op(claim(c, [ev], "second", 2), ts=(BASE_MS + 20, 0))
    first_wins = lambda out: (  # noqa: E731
        out["answers"][0]["predicate"] == "first"
        and out["answers"][0]["created_by"] == op_hash(early).hex()
        and out["answers"][1]["ignored"][0]["event"] == "AssertClaim")
    cases += [
        query("first-creation-wins", ["DM-034", "DM-018"],
              "two authors create the same ClaimId; the earlier in total order creates it, the "
              "later is ignored", [ing, early, late], [*detail(c), DEBUG], first_wins,
              "the creations have wall_ms BASE+10 (author dm/first-creation) and BASE+20 "
              "(author dm/first-creation-b)"),
        query("first-creation-wins-late-arrival", ["DM-034", "DM-025", "DM-022"],
              "the same, the later creation delivered first: the earlier still creates the "
              "record (projections rebuilt)", [ing, late, early], [*detail(c), DEBUG],
              first_wins),
    ]
    other_ev = g.new_id(IdKind.EVIDENCE)
    late_other = g.op(claim(c, [other_ev], "second", 2), ts=(BASE_MS + 20, 0))
    cases.append(query(
        "first-creation-keeps-edges", ["DM-034", "DM-014"],
        "the later creation cites other evidence; a tombstone of the first creation's "
        "evidence may list the record in its cascade, since its edges are the first "
        "creation's, and invalidates it", [ing, early, g.op(ingest(other_ev, "f2")), late_other,
                                           f.op(tombstone(ev, [c]))],
        detail(ev, c),
        lambda out: (codes(out) == [None] * 5 and states(out) == ["Tombstoned", "Invalidated"]),
        "the creations have wall_ms BASE+10 (author dm/first-creation, citing the first "
        "evidence) and BASE+20 (author dm/first-creation-b, citing its own evidence)"))
    h = OpFactory("dm/evidence-hash")
    hev = h.new_id(IdKind.EVIDENCE)
    first, second = h.op(ingest(hev, "h1")), h.op(ingest(hev, "h2"))
    cases.append(query(
        "evidence-hash-kept", ["DM-010"],
        "a second IngestEvidence for the same EvidenceId with another hash creates nothing "
        "(the debug graph lists it as an ignored event); the first hash stays in force",
        [first, second], [*detail(hev), DEBUG],
        lambda out: (out["answers"][0]["hash"] == blake3.blake3(content_of("h1")).hexdigest()
                     and out["answers"][1]["ignored"] == [{
                         "op": op_hash(second).hex(), "event": "IngestEvidence",
                         "record": hev.hex(), "state": "Ingested"}])))

    # the worked example's cascade, a record born after the tombstone, out-of-order delivery
    w = OpFactory("dm/cascade")
    wev, c1, c2, ep, born, born_ep = (w.new_id(IdKind.EVIDENCE), w.new_id(IdKind.CLAIM),
                                      w.new_id(IdKind.CLAIM), w.new_id(IdKind.EPISODE),
                                      w.new_id(IdKind.CLAIM), w.new_id(IdKind.EPISODE))
    script = [w.op(ingest(wev, "w1")), w.op(claim(c1, [wev], "a", 1)),
              w.op(claim(c2, [c1], "b", 2)), w.op(episode(ep, [wev, c1]))]
    tomb = w.op(tombstone(wev, [c1, c2, ep]))
    after = [w.op(claim(born, [wev], "late", 3)), w.op(episode(born_ep, [c2]))]
    every = detail(wev, c1, c2, ep, born, born_ep)
    closed = ["Tombstoned"] + ["Invalidated"] * 5
    cases += [
        query("cascade-closure", ["DM-012", "DM-013", "DM-028", "DM-026"],
              "a tombstone invalidates the claims and the episode that depend on the evidence, "
              "directly or through a claim", [*script, tomb], detail(wev, c1, c2, ep),
              lambda out: states(out) == closed[:4]),
        query("born-invalidated", ["DM-028", "DM-012", "PROJ-006"],
              "a claim citing the tombstoned evidence and an episode citing an invalidated "
              "claim, both created after the tombstone: both are Invalidated as they are born",
              [*script, tomb, *after], every,
              lambda out: (states(out) == closed and events(out["answers"][4]) == [
                  ("AssertClaim", None, "Hint"), ("cascade", "Hint", "Invalidated")])),
        query("born-invalidated-tombstone-last", ["DM-028", "DM-025", "DM-018"],
              "the same ops, the tombstone delivered last although it is earlier in total "
              "order than the late records: the same states", [*script, *after, tomb], every,
              lambda out: states(out) == closed),
    ]
    x = OpFactory("dm/cascade-other")
    xev, xc = x.new_id(IdKind.EVIDENCE), x.new_id(IdKind.CLAIM)
    cases.append(query(
        "cascade-lists-non-dependent", ["DM-014", "DM-032"],
        "a tombstone whose cascade lists a claim derived from other evidence is rejected with "
        "E_CASCADE_INVALID and changes nothing",
        [*script, x.op(ingest(xev, "x1")), x.op(claim(xc, [xev], "x", 0)),
         w.op(tombstone(wev, [c1, xc]))], detail(wev, c1, xc),
        lambda out: (codes(out)[-1] == "E_CASCADE_INVALID"
                     and states(out) == ["Ingested", "Hint", "Hint"])))
    cases += conflict_cases() + order_cases() + opaque_cases()
    return cases


def opaque_cases() -> list[Case]:
    """Record ids and anchors are used as given (DM-006, DM-007); merge edges (PROJ-005)."""
    f = OpFactory("dm/opaque")
    # ids whose 16 bytes after the kind byte are all 0x00 or all 0xff: no sensible time
    ev_lo, ev_hi = bytes([IdKind.EVIDENCE]) + bytes(16), bytes([IdKind.EVIDENCE]) + b"\xff" * 16
    c_lo, c_hi = bytes([IdKind.CLAIM]) + bytes(16), bytes([IdKind.CLAIM]) + b"\xff" * 16
    opaque = [f.op(ingest(ev_hi, "o-hi")), f.op(ingest(ev_lo, "o-lo")),
              f.op(claim(c_hi, [ev_lo, ev_hi], "hi", 1)),
              f.op(claim(c_lo, [ev_lo, ev_hi], "lo", 2))]
    ranked = [r.hex() for r in (ev_lo, ev_hi, c_lo, c_hi)]
    a = OpFactory("dm/anchor")
    anchors = [" UID:Ab-1 ", "cafe\u0301", "caf\u00e9", "a"]
    evs = [a.new_id(IdKind.EVIDENCE) for _ in anchors]
    ingests = [a.op({"type": "IngestEvidence", "evidence": ev,
                     "hash": blake3.blake3(anchor.encode()).digest(), "anchor": anchor,
                     "source_type": "calendar", "metadata": {}})
               for ev, anchor in zip(evs, anchors, strict=True)]
    m = OpFactory("dm/merge-cascade")
    mev, src, dst = m.new_id(IdKind.EVIDENCE), m.new_id(IdKind.ENTITY), m.new_id(IdKind.ENTITY)
    merged = [m.op(ingest(mev, "m1")), m.op(entity(src)), m.op(entity(dst)),
              m.op(merge(src, dst, [mev])), m.op(tombstone(mev, [src]))]
    return [
        query("opaque-record-ids", ["DM-006"],
              "evidence and claim ids whose bytes after the kind are all 0x00 or all 0xff are "
              "created and cited like any other; equal scores are ordered by id bytes",
              opaque, [*detail(ev_lo, ev_hi, c_lo, c_hi), SALIENCE],
              lambda out: (codes(out) == [None] * 4
                           and states(out)[:4] == ["Ingested", "Ingested", "Hint", "Hint"]
                           and [r["id"] for r in out["answers"][4]["records"]] == ranked),
              "ev_lo/c_lo = kind byte then 16 zero bytes; ev_hi/c_hi = kind byte then 16 "
              "bytes 0xff; both claims cite both evidences"),
        query("anchor-verbatim", ["DM-007"],
              "anchors with outer spaces, a decomposed and a precomposed e-acute, and one "
              "byte are kept and reported verbatim, never trimmed or normalised",
              ingests, detail(*evs),
              lambda out: [x["anchor"] for x in out["answers"]] == anchors,
              "each evidence's hash is BLAKE3 of its anchor's UTF-8 bytes; the anchors are "
              "' UID:Ab-1 ', 'cafe' + U+0301, 'caf' + U+00E9 and 'a'"),
        query("merge-support-cascade", ["PROJ-005", "DM-028", "DM-014"],
              "a merge supported by evidence makes its source depend on that evidence: a "
              "tombstone listing the source in its cascade is accepted and invalidates it",
              merged, detail(mev, src, dst),
              lambda out: (codes(out) == [None] * 5
                           and states(out) == ["Tombstoned", "Invalidated", "Active"])),
    ]


def conflict_cases() -> list[Case]:
    """Equivocation, OpId conflicts, duplicates and rejected ops (DM-019 to DM-021)."""
    f = OpFactory("dm/conflict")
    ev, c1, c2 = f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM), f.new_id(IdKind.CLAIM)
    ing = f.op(ingest(ev, "q1"))
    stamp = (f.wall_ms + 5, 0)
    stored = f.op(claim(c1, [ev], "one", 1), ts=stamp)
    rival = f.op(claim(c2, [ev], "two", 2), ts=stamp)  # same (wall_ms, logical, node)
    author = f.node.hex()
    g = OpFactory("dm/conflict-id")
    gev, g1, g2 = g.new_id(IdKind.EVIDENCE), g.new_id(IdKind.CLAIM), g.new_id(IdKind.CLAIM)
    shared = g.new_id(IdKind.OP)
    g_ing = g.op(ingest(gev, "q2"))
    g_first = with_op_id(g, shared, claim(g1, [gev], "one", 1))
    g_second = with_op_id(g, shared, claim(g2, [gev], "two", 2))
    d = OpFactory("dm/duplicate")
    dev, dc = d.new_id(IdKind.EVIDENCE), d.new_id(IdKind.CLAIM)
    dup_ops = [d.op(ingest(dev, "u1")), d.op(claim(dc, [dev], "p", 1)), d.op(confirm(dc))]
    twice = [o for o in dup_ops for _ in (0, 1)]
    queries = [*detail(dev, dc), SALIENCE, INFERENCE, DEBUG]
    once_answers = run({"ops": [o.hex() for o in dup_ops], "now_ms": NOW_MS,
                        "queries": queries})["answers"]
    signed = wire_format.decode_envelope(d.op(claim(d.new_id(IdKind.CLAIM), [dev], "q", 2)))
    sig = bytearray(signed.sig or b"")
    sig[0] ^= 1  # one bit of R flipped: the signature no longer verifies
    bad_sig = wire_format.encode_envelope(attrs.evolve(signed, sig=bytes(sig)))
    q = OpFactory("dm/quarantine-early")
    qev, qc1, qc2, qc3 = (q.new_id(IdKind.EVIDENCE), q.new_id(IdKind.CLAIM),
                          q.new_id(IdKind.CLAIM), q.new_id(IdKind.CLAIM))
    q_ing = q.op(ingest(qev, "e1"), ts=(BASE_MS + 1, 0))
    q_first = q.op(claim(qc1, [qev], "first", 1), ts=(BASE_MS + 5, 0))
    q_second = q.op(claim(qc2, [qev], "second", 2), ts=(BASE_MS + 10, 0))
    q_rival = q.op(claim(q.new_id(IdKind.CLAIM), [qev], "rival", 3), ts=(BASE_MS + 5, 0))
    q_early = q.op(claim(qc3, [qev], "early", 4), ts=(BASE_MS + 3, 0))
    r = OpFactory("dm/reverse")
    r_ev1, r_ev2 = r.new_id(IdKind.EVIDENCE), r.new_id(IdKind.EVIDENCE)
    r_first = r.op(ingest(r_ev1, "v1"), ts=(BASE_MS + 1, 0))
    r_second = r.op(ingest(r_ev2, "v2"), ts=(BASE_MS + 2, 0))
    return [
        query("equivocation-quarantines", ["DM-019"],
              "a second op with the same (wall_ms, logical, node) and other bytes: "
              "E_HLC_DUPLICATE, the stored op is quarantined (its claim disappears) and the "
              "author is flagged", [ing, stored, rival], [*detail(c1, c2), DEBUG],
              lambda out: (codes(out) == [None, None, "E_HLC_DUPLICATE"]
                           and out["answers"][:2] == [{"error": {"code": "E_NOT_FOUND"}}] * 2
                           and out["answers"][2]["quarantined_authors"] == [author]),
              "both claims carry the timestamp (BASE+6, 0) of author dm/conflict"),
        query("equivocation-only-one-seen", ["DM-019"],
              "a node that saw only one of the two keeps it", [ing, stored], detail(c1),
              lambda out: states(out) == ["Hint"]),
        query("op-id-conflict-quarantines", ["DM-020"],
              "a second op with the same OpId and other bytes: E_OP_CONFLICT, the stored op "
              "is quarantined and the author flagged", [g_ing, g_first, g_second],
              [*detail(g1, g2), DEBUG],
              lambda out: (codes(out) == [None, None, "E_OP_CONFLICT"]
                           and out["answers"][0] == {"error": {"code": "E_NOT_FOUND"}}
                           and out["answers"][2]["quarantined_authors"] == [g.node.hex()]),
              "both claims carry OpId #4 of OpFactory('dm/conflict-id')"),
        query("duplicates-idempotent", ["DM-021"],
              "every op delivered twice: the second is a duplicate and every answer equals "
              "the answer for one delivery (no doubled history, score or ignored event)",
              twice, queries,
              lambda out: (out["answers"] == once_answers
                           and [r["status"] for r in out["results"]][1::2] == ["duplicate"] * 3)),
        query("duplicate-after-rejection", ["DM-021", "DM-032"],
              "ops offered again after a rejected op: the accepted one is a duplicate, the "
              "rejected one is rejected again", [dup_ops[0], bad_sig, dup_ops[0], bad_sig],
              [DEBUG],
              lambda out: ([r.get("status") or r["error"]["code"] for r in out["results"]] == [
                  "applied", "E_SIGNATURE_INVALID", "duplicate", "E_SIGNATURE_INVALID"]
                  and len(out["answers"][0]["vertices"]) == 1)),
        query("equivocation-either-order", ["DM-019", "DM-025"],
              "the rival delivered before the op it conflicts with: the same outcome, both "
              "claims are out of every projection", [ing, rival, stored],
              [*detail(c1, c2), DEBUG],
              lambda out: (codes(out) == [None, None, "E_HLC_DUPLICATE"]
                           and out["answers"][:2] == [{"error": {"code": "E_NOT_FOUND"}}] * 2
                           and out["answers"][2]["quarantined_authors"] == [author])),
        query("quarantine-then-early-arrival", ["DM-025", "PROJ-008", "DM-019", "DM-022"],
              "claims at BASE+5 and BASE+10, a rival of the first (quarantined), then a claim "
              "at BASE+3, earlier than every claim applied: it is applied all the same",
              [q_ing, q_first, q_second, q_rival, q_early], detail(qc1, qc2, qc3),
              lambda out: (codes(out) == [None, None, None, "E_HLC_DUPLICATE", None]
                           and states(out) == [None, "Hint", "Hint"]),
              "author dm/quarantine-early; ops at wall_ms BASE+1 (the evidence), BASE+5, "
              "BASE+10, BASE+5 (the rival) and BASE+3"),
        query("reverse-delivery", ["DM-025", "PROJ-008"],
              "two evidences delivered in the reverse of their total order: both are applied",
              [r_second, r_first], detail(r_ev1, r_ev2),
              lambda out: states(out) == ["Ingested", "Ingested"],
              "author dm/reverse; the first evidence at wall_ms BASE+1, the second at BASE+2"),
        query("rejected-op-changes-nothing", ["DM-002", "DM-032"],
              "an op with a corrupted signature is rejected and no projection changes",
              [*dup_ops, bad_sig], [DEBUG],
              lambda out: (codes(out)[-1] == "E_SIGNATURE_INVALID"
                           and out["answers"][0] == once_answers[-1])),
    ]


def order_cases() -> list[Case]:
    """Holding, provenance order, and the same answers for every delivery order."""
    f = OpFactory("dm/order")
    ev, c, later_ev = f.new_id(IdKind.EVIDENCE), f.new_id(IdKind.CLAIM), f.new_id(IdKind.EVIDENCE)
    ing, asrt = f.op(ingest(ev, "r1")), f.op(claim(c, [ev], "p", 1))
    conf = f.op(confirm(c))
    forward = f.op(claim(f.new_id(IdKind.CLAIM), [later_ev], "fwd", 2), ts=(BASE_MS + 50, 0))
    support_later = f.op(ingest(later_ev, "r2"), ts=(BASE_MS + 60, 0))
    return [
        query("claim-before-evidence-held", ["DM-029", "DM-018"],
              "the claim and its confirmation arrive before the evidence: both are held with "
              "E_SUPPORT_MISSING and applied, in total order, when the evidence arrives",
              [conf, asrt, ing], [*detail(c), INFERENCE],
              lambda out: ([r["status"] for r in out["results"]] == ["held", "held", "applied"]
                           and len(out["results"][2]["applied"]) == 3
                           and states(out)[0] == "Fact")),
        query("support-created-later-rejected", ["DM-027"],
              "a claim whose support is created later in the total order (delivered after "
              "it) is rejected with E_PROVENANCE_CYCLE and creates nothing",
              [support_later, forward], [DEBUG],
              lambda out: (codes(out) == [None, "E_PROVENANCE_CYCLE"]
                           and len(out["answers"][0]["vertices"]) == 1),
              "the claim has wall_ms BASE+50, its support's IngestEvidence BASE+60"),
        query("support-created-earlier-accepted", ["DM-027"],
              "the support created earlier in the total order: accepted",
              [ing, asrt], detail(c), lambda out: states(out) == ["Hint"]),
    ]


def chain_cases() -> list[Case]:
    """A chain of CHAIN derived claims tombstoned at the root (DM-015)."""
    f = OpFactory("dm/chain")
    ev = f.new_id(IdKind.EVIDENCE)
    ops = [f.op(ingest(ev, "chain"))]
    parent, claims = ev, []
    for i in range(CHAIN):
        c = f.new_id(IdKind.CLAIM)
        ops.append(f.op(claim(c, [parent], "link", i)))
        claims.append(c)
        parent = c
    tomb = f.op(tombstone(ev, claims[:3]))  # the cascade field lists only the first three
    return [query(
        "deep-chain-tombstoned", ["DM-015", "DM-028", "DM-012"],
        f"a chain of {CHAIN} claims, each supported by the one before, the first by evidence; "
        "the tombstone lists only the first three claims; every claim is Invalidated",
        [*ops, tomb], [*detail(claims[0], claims[CHAIN // 2], claims[-1]),
                       {"q": "salience", "k": 3}, INFERENCE],
        lambda out: (states(out)[:3] == ["Invalidated"] * 3
                     and out["answers"][3] == {"records": []}
                     and out["answers"][4] == {"lines": [], "ids": []}),
        f"claim i has predicate 'link' and object i (0 to {CHAIN - 1})")]


LADDER = 32  # levels of the diamond ladder (DM-015): 2^32 paths, 64 claims


def ladder_case() -> Case:
    """A ladder of diamonds: the records are few, the paths through them exponential."""
    f = OpFactory("dm/ladder")
    ev = f.new_id(IdKind.EVIDENCE)
    ops = [f.op(ingest(ev, "ladder"))]
    level = [ev]
    rungs: list[list[bytes]] = []
    for i in range(LADDER):
        pair = [f.new_id(IdKind.CLAIM), f.new_id(IdKind.CLAIM)]
        ops += [f.op(claim(c, level, "rung", i)) for c in pair]
        rungs.append(pair)
        level = pair
    tomb = f.op(tombstone(ev, rungs[0]))
    return query(
        "diamond-ladder-tombstoned", ["DM-015", "DM-028", "DM-012"],
        f"{LADDER} levels of two claims, each citing both claims of the level before (the "
        "first level cites the evidence): 2^32 paths lead from the evidence to the last level, "
        "so only a traversal that visits each record once finishes; all become Invalidated",
        [*ops, tomb], [*detail(*rungs[0], *rungs[-1]), SALIENCE],
        lambda out: (states(out)[:4] == ["Invalidated"] * 4
                     and out["answers"][4] == {"records": []}),
        f"claims of level i have predicate 'rung' and object i (0 to {LADDER - 1}); the "
        "tombstone lists the two claims of level 0")


def files() -> list[VectorFile]:
    """The vector files of chapter 10 and the projected log rules of chapter 01."""
    return [
        VectorFile(FOLDER, CHAPTER, "worked-example", tuple(worked_example()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "detail", tuple(detail_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "requests", tuple(request_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "salience", tuple(salience_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "inference", tuple(inference_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "entities", tuple(entity_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "actions-jobs", tuple(action_job_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "cascade", tuple(cascade_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "ignored", tuple(ignored_cases()), comment=COMMON),
        VectorFile(FOLDER, CHAPTER, "incremental", tuple(incremental_cases()), comment=COMMON),
        VectorFile(DM_FOLDER, DM_CHAPTER, "projected", tuple(dm_cases()), comment=COMMON),
        VectorFile(DM_FOLDER, DM_CHAPTER, "deep-chain", (*chain_cases(), ladder_case()),
                   comment=COMMON),
    ]
