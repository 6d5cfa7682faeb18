"""Property checks of chapter 07 section 7 through the op log: a log with a mesh root.

Random delegation trees (each principal receives one token, from the root or
from a principal before it), revocations and ingests are delivered with
`log.open` (with `root`) and `log.append` in random orders. The harness's own
model decides the log: the chain walk of conformance/suites/authority.py
(`_model_path`, one proof per token as in a tree), with check 10 (revocation)
and the tokens and revocations of the authorized ops before each op in the
total order (spec/07 UCAN-035). Ops, tokens and signatures are built with
cbor2, pynacl and blake3 alone.
"""

from __future__ import annotations

from typing import Any

import attrs
import blake3
from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect
from conformance.suites._ops import Author, record_id
from conformance.suites.authority import (
    Cap,
    Tok,
    _model_path,
    author_op,
    did,
    make_token,
    seed,
)

T0 = 1_700_000_000_000
STEP = 10  # ms between two distinct op timestamps
NOW_MS = T0 + 10_000_000  # after every op: nothing is held for clock drift
MISSING = "E_UCAN_PROOF_MISSING"
REQUIREMENT = {"IngestEvidence": ("evidence/ingest", "strata:evidence"),
               "DelegateUcan": ("ucan/delegate", "strata:ucan"),
               "RevokeUcan": ("ucan/revoke", "strata:ucan")}
CAPS = [Cap("strata:*", "*"), Cap("strata:evidence", "evidence/ingest"),
        Cap("strata:evidence", "evidence/ingest", (("source_types", ("calendar",)),)),
        Cap("strata:evidence", "evidence/*", (("types", ("IngestEvidence",)),)),
        Cap("strata:ucan", "ucan/*"), Cap("strata:ucan", "ucan/delegate"),
        Cap("strata:claim", "claim/*")]


@attrs.frozen
class Event:
    """One op of a scenario: its author (a name), wall_ms and payload; `token` for a delegation."""

    author: str
    wall_ms: int
    payload: dict[str, Any]
    token: Tok | None = None

    @property
    def data(self) -> bytes:
        return author_op(self.author, self.payload, self.wall_ms)


# --- the model --------------------------------------------------------------------------


def revoked(tokens: dict[bytes, Tok], leaf: bytes, revocations: list[tuple[bytes, str, int]],
            wall_ms: int) -> bool:
    """Check 10 on the complete path from `leaf`: a link revoked, before the op, by its issuer
    or the issuer of a link above it (spec/07 UCAN-032)."""
    path = [tokens[leaf]]
    while path[-1].iss != path[-1].sub:
        path.append(tokens[path[-1].proofs[0]])
    return any(h == link.hash and by in {t.iss for t in path[i:]} and at < wall_ms
               for i, link in enumerate(path) for h, by, at in revocations)


def model_code(tokens: dict[bytes, Tok], revocations: list[tuple[bytes, str, int]],
               event: Event) -> str | None:
    """The code for one op over a tree of tokens (spec/07 sections 6.1 to 6.3), or None."""
    if event.author == "root":
        return None  # UCAN-021
    principal = did(event.author)
    leaves = sorted(h for h, t in tokens.items() if t.aud == principal)
    if not leaves:
        return MISSING
    action, resource = REQUIREMENT[event.payload["type"]]
    errors = []
    for leaf in leaves:
        code = _model_path(tokens, leaf, principal, action, resource, event.payload,
                           event.wall_ms)
        if code is None and revoked(tokens, leaf, revocations, event.wall_ms):
            code = "E_UCAN_REVOKED"
        if code is None:
            return None
        errors.append(code)
    return MISSING if MISSING in errors else errors[0]


def model_applied(events: list[Event]) -> set[bytes]:
    """The ops a log with the root applies: each decided in the total order (UCAN-035)."""
    tokens: dict[bytes, Tok] = {}
    revocations: list[tuple[bytes, str, int]] = []
    applied: set[bytes] = set()
    for event in sorted(events, key=lambda e: e.wall_ms):
        context = dict(tokens)
        if event.token is not None:
            context[event.token.hash] = event.token  # UCAN-034: its own token counts
        if model_code(context, revocations, event) is not None:
            continue
        applied.add(event.data)
        if event.token is not None:
            tokens[event.token.hash] = event.token
        if event.payload["type"] == "RevokeUcan":
            revocations.append((event.payload["token_hash"], did(event.author), event.wall_ms))
    return applied


# --- scenarios ----------------------------------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn) -> list[Event]:
    """A delegation tree, its DelegateUcan ops, a few revocations and ingests."""
    slots = iter(draw(st.permutations(range(1, 41))))
    events: list[Event] = []
    tokens: dict[str, Tok] = {}
    for i in range(1, draw(st.integers(1, 4)) + 1):
        name = f"p{i}"
        parent = draw(st.sampled_from(["root", *tokens]))
        caps = tuple(draw(st.lists(st.sampled_from(CAPS), min_size=1, max_size=2, unique=True)))
        exp = draw(st.sampled_from([T0 + 1_000_000, T0 + 1_000_000, None, T0 + 20 * STEP]))
        proofs = () if parent == "root" else (tokens[parent].hash,)
        token = make_token(parent, name, caps, proofs, T0, exp, label=f"log/{i}")
        tokens[name] = token
        publisher = draw(st.sampled_from(["root", parent, name]))
        events.append(Event(publisher, T0 + next(slots) * STEP,
                            {"type": "DelegateUcan", "token": token.data}, token))
    names = list(tokens)
    for _ in range(draw(st.integers(0, 2))):
        target = tokens[draw(st.sampled_from(names))]
        by = draw(st.sampled_from(["root", *names]))
        events.append(Event(by, T0 + next(slots) * STEP,
                            {"type": "RevokeUcan", "token_hash": target.hash, "reason": ""}))
    for k in range(draw(st.integers(1, 5))):
        author = draw(st.sampled_from(["root", "mallory", *names]))
        source = draw(st.sampled_from(["calendar", "photo"]))
        events.append(Event(author, T0 + next(slots) * STEP, {
            "type": "IngestEvidence", "evidence": record_id("ev", T0, f"authority-log/{k}"),
            "hash": bytes(32), "anchor": f"uid-{k}", "source_type": source, "metadata": {}}))
    return events


def deliver(impl: Impl, ops: list[bytes]) -> set[str]:
    """Append `ops` in the order given to a fresh log with the root, then offer them again, as
    a mesh does (spec/07 section 7.3), until nothing changes; the applied op hashes."""
    session = impl.ok("log.open", {"root": did("root")})["session"]
    try:
        last: Any = None
        for _ in range(len(ops) + 1):
            for data in ops:
                impl.call("log.append", {"session": session, "op": data.hex(), "now_ms": NOW_MS})
            state = impl.ok("log.state", {"session": session})
            seen = (sorted(state["ops"]), sorted(h["hash"] for h in state["held"]))
            if seen == last:
                break
            last = seen
        return set(state["ops"])
    finally:
        impl.call("log.close", {"session": session})


def hashes(ops: set[bytes]) -> set[str]:
    return {blake3.blake3(o).hexdigest() for o in ops}


# --- checks -----------------------------------------------------------------------------------


@check("UCAN-035", "UCAN-036", "UCAN-037", "UCAN-032", "UCAN-034", "UCAN-022")
@given(events=scenarios(), data=st.data())
def check_log_applies_the_authorized_ops(impl: Impl, events: list[Event],
                                         data: st.DataObject) -> None:
    """A log with a root applies exactly the ops the model authorizes, in any delivery order."""
    ops = [e.data for e in events]
    want = hashes(model_applied(events))
    first = deliver(impl, data.draw(st.permutations(ops)))
    expect(first == want, f"applied {len(first)} ops, the model {len(want)}: extra "
                          f"{sorted(first - want)}, missing {sorted(want - first)}")
    second = deliver(impl, data.draw(st.permutations(ops)))
    expect(second == first, "the applied ops changed with the delivery order")


@check("UCAN-036", "UCAN-035")
@given(events=scenarios())
def check_late_authority_ops_decide_again(impl: Impl, events: list[Event]) -> None:
    """Delegations and revocations delivered last, latest first, give the in-order result."""
    ordered = sorted(events, key=lambda e: e.wall_ms)
    authority = [e for e in ordered if e.payload["type"] != "IngestEvidence"]
    ingests = [e for e in ordered if e.payload["type"] == "IngestEvidence"]
    want = hashes(model_applied(events))
    in_order = deliver(impl, [e.data for e in ordered])
    late = deliver(impl, [e.data for e in ingests] + [e.data for e in reversed(authority)])
    expect(in_order == want, f"in total order: extra {sorted(in_order - want)}, "
                             f"missing {sorted(want - in_order)}")
    expect(late == want, f"authority ops last: extra {sorted(late - want)}, "
                         f"missing {sorted(want - late)}")


def probed_debug(impl: Impl, ops: list[bytes], probe: bool) -> Any:
    """Deliver `ops` like `deliver`, querying the projections after every append when `probe`
    (so an implementation that keeps them incrementally is exercised); the final debug graph."""
    session = impl.ok("log.open", {"root": did("root")})["session"]
    query = {"session": session, "queries": [{"q": "debug"}]}
    try:
        last: Any = None
        for _ in range(len(ops) + 1):
            for data in ops:
                impl.call("log.append", {"session": session, "op": data.hex(), "now_ms": NOW_MS})
                if probe:
                    impl.ok("proj.query", query)
            state = impl.ok("log.state", {"session": session})
            seen = (sorted(state["ops"]), sorted(h["hash"] for h in state["held"]))
            if seen == last:
                break
            last = seen
        return impl.ok("proj.query", query).get("answers")
    finally:
        impl.call("log.close", {"session": session})


@check("UCAN-036", "DM-022")
@given(events=scenarios())
def check_projections_follow_late_authority_ops(impl: Impl, events: list[Event]) -> None:
    """Projections kept while authority ops arrive last, latest first, withdraw and restore
    what those ops decide again: they equal those of the log that received the ops in order."""
    ordered = sorted(events, key=lambda e: e.wall_ms)
    authority = [e.data for e in reversed(ordered) if e.payload["type"] != "IngestEvidence"]
    ingests = [e.data for e in ordered if e.payload["type"] == "IngestEvidence"]
    want = probed_debug(impl, [e.data for e in ordered], probe=False)
    got = probed_debug(impl, ingests + authority, probe=True)
    expect(got == want, f"projections after late authority ops differ from in-order ones: "
                        f"{str(got)[:300]} != {str(want)[:300]}")


@check("UCAN-048", "DM-019", "DM-020")
@given(title=st.text(min_size=1, max_size=20), with_root=st.booleans())
def check_signed_twins_conflict(impl: Impl, title: str, with_root: bool) -> None:
    """Two signed ops with one OpId and one timestamp but other bytes are not one operation
    (neither is the other's sanitized form): the second is refused, the first quarantined."""
    author = Author(seed("root"))
    op_id = record_id("op", T0 + STEP, "twins")
    ops = [author.op({"type": "IngestEvidence", "evidence": record_id("ev", T0, "twins"),
                      "hash": bytes(32), "anchor": "uid", "source_type": "calendar",
                      "metadata": {"title": text}}, T0 + STEP, op_id=op_id)
           for text in (title, title + "/")]
    args: dict[str, Any] = {"ops": [o.hex() for o in ops], "now_ms": NOW_MS}
    if with_root:
        args["root"] = did("root")
    out = impl.ok("log.run", args)
    first, second = out["results"]
    expect(first.get("status") == "applied", f"the first op was not applied: {first}")
    code = second.get("error", {}).get("code")
    # spec/01 DM-019 and DM-020 both apply; either code refuses the twin
    expect(code in ("E_OP_CONFLICT", "E_HLC_DUPLICATE"),
           f"the twin was not refused as a conflict: {second}")
    expect(out["ops"] == [], f"the stored op was not quarantined: applied {out['ops']}")
    expect(out["equivocators"] == [author.node.hex()], f"flagged {out['equivocators']}")
