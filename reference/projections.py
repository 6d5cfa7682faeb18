"""Chapter 10: projections, folds of the operation log in the total order (spec/10-projections.md).

`Projections` holds the record states of every machine of chapter 12 that this
chapter projects, the provenance graph, the ignored events and the effective
entity merges; it changes only by `apply` (DM-002). `rebuild` folds a whole log;
`ProjectionSet.sync` keeps one up to date incrementally and rebuilds whenever
an incremental step could differ from the rebuild (DM-022). The four read
interfaces (section 4) are separate methods with their own rules of what they
may show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

import attrs

from reference import fsms, identifiers, operations, oplog, ucan, wire_format
from reference._require import SpecViolation, require
from reference.driver.wire_format import to_notation
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.oplog import OpLog, StoredOp, Ts

# Section 2.1: the machine of each record kind (spec/12 section 4). Delegations are
# chapter 07's; artifacts and ops have no machine.
MACHINE_OF_KIND: dict[int, str] = {
    IdKind.EVIDENCE: "evidence",
    IdKind.CLAIM: "claim",
    IdKind.ENTITY: "entity",
    IdKind.EPISODE: "episode",
    IdKind.ACTION: "suggested_action",
    IdKind.JOB: "job",
}

# Section 2.2: the field naming the record that receives an op's own event.
TARGET_FIELD: dict[str, str] = {
    "TombstoneEvidence": "evidence",
    "CascadeTombstone": "root",
    "ConfirmClaim": "claim",
    "RejectClaim": "claim",
    "MergeEntity": "source",
    "AcceptAction": "action",
    "DismissAction": "action",
    "ExpireAction": "action",
    "CompleteJob": "job",
    "FailJob": "job",
}

# Section 2.5: a record in one of these states is not live.
NOT_LIVE = frozenset({"Invalidated", "Rejected", "Tombstoned", "Dismissed", "Expired", "Failed"})

CASCADE = fsms.CASCADE


@attrs.frozen
class Change:
    """One entry of a record's history: an event that moved it (section 4.1)."""

    op: bytes  # hash of the op that delivered or caused the event
    event: str
    before: str | None  # None: the event created the record
    after: str


@attrs.frozen
class Ignored:
    """An event with no effect: (op, record, state, event) (spec/12 section 2.2)."""

    op: bytes
    record: bytes
    event: str
    state: str | None  # None: the record did not exist at the op's position


@attrs.define
class Record:
    """One record as the projections hold it (section 2.1)."""

    id: bytes
    machine: str
    state: str
    created_by: bytes  # hash of the creating op: the first creation in total order
    creation: operations.Payload
    supports: set[bytes]
    history: list[Change]
    artifacts: list[dict[str, Any]] = attrs.Factory(list)


def is_live(state: str) -> bool:
    """Whether a record in `state` is live (section 2.5)."""
    return state not in NOT_LIVE


def get_cascade_targets(children: dict[bytes, set[bytes]], tainted: set[bytes],
                        roots: Iterable[bytes], reached: Iterable[bytes]) -> set[bytes]:
    """Records that newly depend on a retracted record: every dependent of `roots` and every
    record of `reached`, with their dependents, not already tainted (section 2.4) [DM-015]."""
    # [DM-015] iterative traversal with a visited set; an already tainted record has all
    # of its dependents tainted too, so the traversal stops there [DM-028]
    found: set[bytes] = set()
    frontier = [c for r in roots for c in children.get(r, ())] + list(reached)
    while frontier:
        record = frontier.pop()
        if record in tainted or record in found:
            continue
        found.add(record)
        frontier.extend(children.get(record, ()))
    return found


class Projections:
    """Every projection of chapter 10, folded from ops in the total order (section 2)."""

    def __init__(self) -> None:
        self.records: dict[bytes, Record] = {}
        self.children: dict[bytes, set[bytes]] = {}  # parent -> records derived from it
        self.tainted: set[bytes] = set()  # records that received `cascade` (spec/12 2.4)
        self.ignored: set[Ignored] = set()
        self.merges: set[tuple[bytes, bytes]] = set()  # effective (source, target) merges
        self.applied: set[bytes] = set()  # hashes of the ops applied
        self.last: Ts | None = None  # timestamp of the last op applied

    # --- the fold (section 2) ---------------------------------------------------------

    def apply(self, op: StoredOp) -> None:
        """Apply the next op in the total order; an op applied before changes nothing."""
        if op.hash in self.applied:
            # equivalent mutant (stmt-remove): unreachable: sync and rebuild never reapply an op
            return  # [DM-021] idempotent
        # [DM-018] [PROJ-001] ops are applied in the total order, whatever their arrival
        # sync applies only ops after `last` (else it rebuilds); rebuild folds in total order:
        # equivalent mutant (require-true, stmt-remove): a guard no driver input makes false
        require(self.last is None
                # op timestamps are unique in a log (DM-019); a reapplied op returned above:
                # equivalent mutant (cmp-flip): op.ts never equals self.last here
                or op.ts > self.last,
                "DM-018", ErrorCode.E_BAD_REQUEST,
                "an op earlier in the total order than the last applied; rebuild instead")
        self._fold(op)

    def _fold(self, op: StoredOp) -> None:
        """The state change one op makes: its own event, then the cascades it causes."""
        # [DM-002] this is the only place where projection state changes; [DM-013] an op's
        # own event and every cascade it causes are applied here in one step
        # `applied` only saves work: without it every sync rebuilds, giving the same state:
        # equivalent mutant (stmt-remove): no op is applied twice and answers are unchanged
        self.applied.add(op.hash)
        self.last = op.ts if self.last is None else max(self.last, op.ts)
        payload = op.payload
        if isinstance(payload, operations.ReservedPayload):
            # it creates no record and no TARGET_FIELD entry names its type:
            # equivalent mutant (stmt-remove): the rest of _fold does nothing for it
            return  # [OPS-016] stored and relayed, not interpreted
        retracted: list[bytes] = []
        reached: list[bytes] = []
        created = operations.get_created_record(payload)
        if created is not None:
            if self._create(op, created, payload):
                reached.append(created)
        elif op.type in TARGET_FIELD:
            # [PROJ-002] the op's own event goes to the one record its table field names
            record = getattr(payload, TARGET_FIELD[op.type])
            after = self._deliver_guarded(op, record, payload)
            if after is not None and fsms.is_retracting(after):
                retracted.append(record)
            if after is not None and isinstance(payload, operations.MergeEntity):
                # [PROJ-005] an effective merge adds its supports as edges of the source
                self._add_edges(record, payload.supports)
                self.merges.add((payload.source, payload.target))
                reached.append(record)
            if after is not None and isinstance(payload, operations.CompleteJob):
                self.records[record].artifacts = [
                    {"artifact": a["artifact"], "hash": a["hash"], "media_type": a["media_type"]}
                    for a in payload.artifacts]
        # [FSM-007] [DM-012] [DM-028] then `cascade`, once, to every record that now depends
        # on a retracted record: dependents of what this op retracted, and a record this op
        # created or gave edges whose support is retracted or depends on one ("born
        # invalidated"). The op's `cascade` field plays no part [PROJ-006].
        born = [r for r in reached if any(
            p in self.tainted or self._is_retracted(p) for p in self.records[r].supports)]
        targets = get_cascade_targets(self.children, self.tainted, retracted, born)
        # [FSM-012] within this op: `cascade` takes each to Invalidated (`cascade_closed`)
        for record in sorted(targets):
            self.tainted.add(record)
            self._deliver(op, record, CASCADE)

    def _create(self, op: StoredOp, record: bytes, payload: operations.Payload) -> bool:
        """Create `record` in its machine's initial state, unless it exists (section 2.1)."""
        if record in self.records:
            # [DM-010] [DM-034] [FSM-005] a later creation of the same id is ignored
            self._ignore(op, record, op.type)
            # With True the record joins `reached`; but a record whose support is tainted or
            # retracted is itself tainted already, and get_cascade_targets skips tainted ones:
            # equivalent mutant (const): the born-invalidated test never fires for it
            return False
        machine = MACHINE_OF_KIND.get(record[0])
        if machine is None:
            return False  # artifact records (chapters 11 and 15) are their chapters' projections
        state = fsms.initial_state(machine)  # [FSM-002]
        self.records[record] = Record(record, machine, state, op.hash, payload, set(),
                                      [Change(op.hash, op.type, None, state)])
        self._add_edges(record, operations.get_supports(payload))  # [DM-026]
        return True

    def _add_edges(self, record: bytes, supports: Iterable[bytes]) -> None:
        for support in supports:
            self.records[record].supports.add(support)
            self.children.setdefault(support, set()).add(record)

    def _is_retracted(self, record: bytes) -> bool:
        found = self.records.get(record)
        return found is not None and fsms.is_retracting(found.state)

    def _deliver_guarded(self, op: StoredOp, record: bytes,
                         payload: operations.Payload) -> str | None:
        """Deliver an op's own event to `record`, after the guards of section 2.3."""
        if isinstance(payload, operations.MergeEntity):
            target = self.records.get(payload.target)
            # [PROJ-003] a merge into an absent or invalidated target is ignored
            if target is None or target.state == fsms.INVALIDATED:
                self._ignore(op, record, op.type)
                return None
        if isinstance(payload, operations.ExpireAction):
            action = self.records.get(record)
            expires_ms = getattr(action.creation, "expires_ms", 0) if action else 0
            # [PROJ-004] an ExpireAction before the action's expiry instant is ignored
            if action is not None and op.ts[0] < expires_ms:
                self._ignore(op, record, op.type)
                return None
        return self._deliver(op, record, op.type)

    def _deliver(self, op: StoredOp, record: bytes, event: str) -> str | None:
        """Move `record` by `event` per its table, or record the event as ignored."""
        found = self.records.get(record)
        if found is None:
            self._ignore(op, record, event)  # [FSM-005] no such record at this position
            return None
        after = fsms.next_state(found.machine, found.state, event)  # [FSM-003]
        if after is None:
            self._ignore(op, record, event)  # [FSM-004] no transition: ignored
            return None
        found.history.append(Change(op.hash, event, found.state, after))
        found.state = after
        return after

    def _ignore(self, op: StoredOp, record: bytes, event: str) -> None:
        found = self.records.get(record)
        self.ignored.add(Ignored(op.hash, record, event, None if found is None else found.state))

    # --- derived views (section 2) -----------------------------------------------------

    def get_representatives(self) -> dict[bytes, bytes]:
        """Each non-invalidated entity's representative: the smallest id of its class."""
        # [PROJ-007] classes are the connected components of the effective merges between
        # entities that are not Invalidated; union-find, so cycles resolve like any class
        live = {r for r, rec in self.records.items()
                if rec.machine == "entity" and rec.state != fsms.INVALIDATED}
        parent = {r: r for r in live}

        def find(x: bytes) -> bytes:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for source, target in sorted(self.merges):
            if source in live and target in live:
                a, b = find(source), find(target)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the root is always the class minimum
        return {r: find(r) for r in live}

    def get_scores(self) -> dict[bytes, int]:
        """Salience score of every live record: its live direct dependents (section 4.2)."""
        return {
            r: sum(1 for c in self.children.get(r, ()) if is_live(self.records[c].state))
            for r, rec in self.records.items() if is_live(rec.state)
        }

    # --- the read interfaces (section 4) ------------------------------------------------
    # [PROJ-009] one method per interface, each building exactly the members of its section

    def get_detail(self, record: bytes, holds_content: Callable[[bytes], bool]) -> dict[str, Any]:
        """The detail projection of one record (section 4.1) [PROJ-010]."""
        require(record in self.records, "PROJ-011", ErrorCode.E_NOT_FOUND,
                f"no record {record.hex()} has been created by an applied op")
        found = self.records[record]
        out: dict[str, Any] = {
            "id": record.hex(),
            "kind": identifiers.PREFIX[IdKind(record[0])],
            "state": found.state,
            "created_by": found.created_by.hex(),
            "supports": [s.hex() for s in sorted(found.supports)],
            "dependents": [c.hex() for c in sorted(self.children.get(record, ()))],
            "history": [{"op": c.op.hex(), "event": c.event, "from": c.before, "to": c.after}
                        for c in found.history],
        }
        p = found.creation
        if isinstance(p, operations.IngestEvidence):
            out["anchor"] = p.anchor  # [DM-007] the SourceAnchor verbatim, never normalised
            out |= {"hash": p.hash.hex(), "source_type": p.source_type,
                    "metadata": to_notation(p.metadata),
                    # [PROJ-012] never the bytes; present only while not Tombstoned
                    "content_present": found.state == "Ingested" and holds_content(p.hash)}
        elif isinstance(p, operations.AssertClaim):
            out |= {"subject": None if p.subject is None else p.subject.hex(),
                    "predicate": p.predicate, "object": to_notation(p.object)}
        elif isinstance(p, operations.CreateEntity):
            rep = self.get_representatives().get(record)
            out["representative"] = None if rep is None else rep.hex()
        elif isinstance(p, operations.ProposeAction):
            out["expires_ms"] = str(p.expires_ms)
        elif isinstance(p, operations.StartJob):
            out["artifacts"] = [{"artifact": a["artifact"].hex(), "hash": a["hash"].hex(),
                                 "media_type": a["media_type"]} for a in found.artifacts]
        return out

    def get_salience(self, k: int) -> dict[str, Any]:
        """The k most salient live records, score descending then id (section 4.2)."""
        # [PROJ-014] only live records; [PROJ-013] the pinned score and its order
        scores = self.get_scores()
        ranked = sorted(scores, key=lambda r: (-scores[r], r))[:k]
        return {"records": [{"id": r.hex(), "score": scores[r]} for r in ranked]}

    def get_inference(self, budget: int) -> dict[str, Any]:
        """The context window: live Facts, then live Hints, within `budget` bytes (4.3)."""
        scores = self.get_scores()
        claims = [r for r, rec in self.records.items() if rec.machine == "claim"]
        # [PROJ-015] Facts first, then Hints, each by score descending then id; nothing else
        ordered = [r for state in ("Fact", "Hint") for r in sorted(
            (c for c in claims if self.records[c].state == state),
            key=lambda c: (-scores[c], c))]
        # [PROJ-018] the window holds these lines and ids and nothing else
        lines: list[str] = []
        ids: list[str] = []
        used = 0
        for record in ordered:
            line = render_line(cast(operations.AssertClaim, self.records[record].creation))
            size = len(line.encode("utf-8")) + 1
            if used + size > budget:
                break  # [PROJ-017] the window is the longest prefix that fits
            used += size
            lines.append(line)
            ids.append(record.hex())
        return {"lines": lines, "ids": ids}

    def get_debug(self, quarantined_authors: Iterable[bytes]) -> dict[str, Any]:
        """The debug graph: every record, edge and ignored event (section 4.4) [PROJ-019]."""
        return {
            "vertices": [{"id": r.hex(), "kind": identifiers.PREFIX[IdKind(r[0])],
                          "state": self.records[r].state} for r in sorted(self.records)],
            "edges": [[c.hex(), p.hex()] for c, p in sorted(
                (c, p) for c, rec in self.records.items() for p in rec.supports)],
            "ignored": [{"op": i.op.hex(), "event": i.event, "record": i.record.hex(),
                         "state": i.state} for i in sorted(
                             self.ignored, key=lambda i: (i.op, i.record, i.event.encode()))],
            "quarantined_authors": [a.hex() for a in sorted(quarantined_authors)],
        }


def render_line(claim: operations.AssertClaim) -> str:
    """A claim's line in the context window: `<predicate>: <object as canonical CBOR hex>`."""
    # [PROJ-016] the rendering is fixed so that every implementation counts the same bytes
    return f"{claim.predicate}: {wire_format.encode_canonical(claim.object).hex()}"


def rebuild(ops: Iterable[StoredOp]) -> Projections:
    """Fold ops given in the total order into fresh projections (DM-022)."""
    projections = Projections()
    for op in ops:
        projections.apply(op)
    return projections


def get_delegation_states(ops: Iterable[StoredOp]) -> dict[bytes, str]:
    """The delegation machine (spec/12 section 4.7) of each token applied ops published [UCAN-050].

    Chapter 07 projects delegations (section 7.4): a record per token, named by its
    hash, created by the first DelegateUcan that carries it, moved by RevokeUcan, and
    sent `expiry` before the first op at or after the token's expiry instant.
    """
    states: dict[bytes, str] = {}
    expiry: dict[bytes, int] = {}  # Active delegations with an expiry instant not yet due
    for op in ops:
        # [FSM-006] [FSM-008] first the expiry events due before this op
        for record in sorted(expiry):
            if op.ts[0] >= expiry[record]:
                after = fsms.next_state("delegation", states[record], fsms.EXPIRY)
                if after is not None:
                    states[record] = after  # [FSM-019] Active --expiry--> Expired
                # equivalent mutant (stmt-remove): the record is now Expired, an absorbing
                # state (spec/12), so sending it expiry again on later ops changes nothing
                del expiry[record]
        payload = op.payload
        if isinstance(payload, operations.DelegateUcan):
            try:
                token = ucan.decode_token(payload.token)
            except SpecViolation:
                continue  # a log without a mesh root stores tokens it never reads
            if token.hash not in states:  # [FSM-002] a later publication creates nothing
                states[token.hash] = fsms.initial_state("delegation")
                instant = ucan.get_expiry_instant(token)  # [UCAN-038] exp, or none
                if instant is not None:
                    expiry[token.hash] = instant
        elif isinstance(payload, operations.RevokeUcan) and payload.token_hash in states:
            after = fsms.next_state("delegation", states[payload.token_hash], "RevokeUcan")
            if after is not None:
                states[payload.token_hash] = after  # [FSM-019] Active --RevokeUcan--> Revoked
                expiry.pop(payload.token_hash, None)
    return states


def count_quarantined(log: OpLog) -> int:
    """How many stored ops are quarantined (a number that only grows, chapter 01 4.3)."""
    return int(log.db.execute("SELECT count(*) FROM ops WHERE quarantined = 1").fetchone()[0])


def count_applied_through(log: OpLog, ts: Ts | None) -> int:
    """How many applied ops (not quarantined, not unauthorized) are at or before `ts`."""
    if ts is None:
        return 0
    return int(log.db.execute(
        f"SELECT count(*) FROM ops WHERE {oplog.APPLIED} AND (wall, logical, node) <= (?, ?, ?)",
        ts).fetchone()[0])


def get_applied_after(log: OpLog, ts: Ts | None) -> list[bytes]:
    """Hashes of the applied ops (not quarantined, not unauthorized) after `ts`, in order."""
    # The same selection and order as OpLog.ops(), without decoding every op.
    if ts is None:
        rows = log.db.execute(
            f"SELECT hash FROM ops WHERE {oplog.APPLIED} ORDER BY wall, logical, node")
    else:
        rows = log.db.execute(
            f"SELECT hash FROM ops WHERE {oplog.APPLIED} AND (wall, logical, node) > (?, ?, ?) "
            "ORDER BY wall, logical, node", ts)
    return [bytes(row[0]) for row in rows]


class ProjectionSet:
    """Projections kept in step with one log: incremental when possible, else rebuilt."""

    def __init__(self) -> None:
        self.projections = Projections()
        self.count = 0  # ops applied so far, all at or before projections.last
        self.quarantined = 0  # the log's quarantined count when last synced
        self.redecided = 0  # the log's count of ops that left or re-entered the applied ops

    def sync(self, log: OpLog, known: Iterable[StoredOp] = ()) -> Projections:
        """Apply what the log gained since the last sync (section 3) [DM-022] [PROJ-008].

        The result is always the fold of the log's applied ops, whatever order they
        arrived in or left the applied set in [DM-025].

        `known` are ops already decoded (those an append just stored), used instead of
        reading them back from the log.
        """
        last = self.projections.last
        quarantined = count_quarantined(log)
        redecided = log.count_redecided()
        if quarantined == self.quarantined and redecided == self.redecided \
                and count_applied_through(log, last) == self.count:
            # nothing was quarantined or decided again (spec/07 UCAN-036) and nothing
            # arrived at or before the last op applied: every new op is later in the total
            # order, so applying it extends the fold
            decoded = {op.hash: op for op in known}
            new = get_applied_after(log, last)
            for op_hash in new:
                op = decoded.get(op_hash) or log.get(op_hash)
                self.projections.apply(cast(StoredOp, op))
            # a count too small only makes every later sync rebuild, giving the same state:
            # equivalent mutant (stmt-remove, arith-swap): a rebuild equals the fold (chapter
            # 01 section 5)
            self.count += len(new)
        else:
            # an op arrived earlier in the total order than one applied, or a stored op
            # was quarantined, left the applied ops when its authority was decided again or
            # was replaced by its original: only a fold of the whole log gives the
            # rebuild's state [UCAN-036]
            self.projections = rebuild(log.ops())
            self.count = len(self.projections.applied)
            # a stale quarantined count only makes every later sync rebuild:
            # equivalent mutant (stmt-remove): a rebuild equals the fold (chapter 01 section 5)
            self.quarantined = quarantined
            self.redecided = redecided
        return self.projections
