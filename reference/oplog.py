"""Chapter 01: the durable operation log and the evidence store (spec/01-data-model.md).

[DM-001] Evidence (the `evidence` table), operations (`ops`) and projections
(reference/projections.py, folds over `ops()`) are separate layers; nothing
here reads a projection.

One SQLite file per node (WAL mode). `OpLog.append` runs the checks of
section 4.5 in order; a rejected op changes nothing, an accepted one is
stored in one transaction before the call returns. Ops that name records
not yet present, or whose timestamp is too far ahead, are held and applied
when they can be. Projections are not kept here: they are folds over
`ops()` (spec/10-projections.md).

A log opened with a mesh root (a did:key) also checks authority
(spec/07-ucan-and-caveats.md section 7): each op is authorized against the
authorized DelegateUcan and RevokeUcan ops before it in the total order, and
an authority op that arrives out of order decides the later ops again. A log
without a root is the Core-class log of chapter 01.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, Literal, cast

import attrs

from reference import clocks, identifiers, operations, signatures, ucan, wire_format
from reference._require import SpecViolation, require
from reference.introduction import ErrorCode
from reference.operations import Payload, ReservedPayload
from reference.wire_format import Envelope

Ts = tuple[int, int, bytes]

SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (
    hash BLOB PRIMARY KEY, op_id BLOB NOT NULL UNIQUE,
    wall INTEGER NOT NULL, logical INTEGER NOT NULL, node BLOB NOT NULL,
    type TEXT NOT NULL, data BLOB NOT NULL, quarantined INTEGER NOT NULL DEFAULT 0,
    UNIQUE (wall, logical, node));
CREATE TABLE IF NOT EXISTS held (
    hash BLOB PRIMARY KEY, data BLOB NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id BLOB PRIMARY KEY, created_by BLOB NOT NULL,
    wall INTEGER NOT NULL, logical INTEGER NOT NULL, node BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS edges (
    child BLOB NOT NULL, parent BLOB NOT NULL, PRIMARY KEY (child, parent));
CREATE INDEX IF NOT EXISTS edges_parent ON edges (parent);
CREATE TABLE IF NOT EXISTS conflicts (
    author BLOB NOT NULL, stored BLOB NOT NULL, refused BLOB NOT NULL, code TEXT NOT NULL,
    PRIMARY KEY (stored, refused));
CREATE TABLE IF NOT EXISTS evidence (hash BLOB PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS unauthorized (hash BLOB PRIMARY KEY, code TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS redecided (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL, applied INTEGER NOT NULL);
"""
# `unauthorized`: stored ops that a later decision (spec/07 UCAN-036) found unauthorized,
# with the code; they stay stored and leave every projection, like quarantined ones.
# `redecided`: one row each time a stored op left or re-entered the applied ops other than
# by quarantine (a re-decision, or an original replacing its sanitized form); its count
# only grows, so projections can tell that they must rebuild.

# The applied ops: stored, not quarantined (section 4.3), not unauthorized (spec/07 7.2).
APPLIED = "quarantined = 0 AND hash NOT IN (SELECT hash FROM unauthorized)"
# The payload types that change the tokens and revocations of a log (spec/07 UCAN-035).
AUTHORITY_TYPES = ("DelegateUcan", "RevokeUcan")


@attrs.frozen
class StoredOp:
    """An operation in the log, decoded (section 4)."""

    hash: bytes
    env: Envelope
    payload: Payload | ReservedPayload
    data: bytes

    @property
    def ts(self) -> Ts:
        return self.env.ts

    @property
    def type(self) -> str:
        return self.payload.type if isinstance(self.payload, ReservedPayload) else (
            type(self.payload).__name__)

    @property
    def san(self) -> ucan.Sanitization | None:
        """The op's sanitization record, when it is sanitized (spec/07 section 8.1)."""
        return None if self.env.san is None else ucan.decode_sanitization(self.env.san)


@attrs.frozen
class AppendResult:
    """What `append` did: applied, duplicate (already held or stored) or held (with why)."""

    status: Literal["applied", "duplicate", "held"]
    hash: bytes
    reason: ErrorCode | None = None
    applied: tuple[StoredOp, ...] = ()  # every op stored by this call, in total order


def decode_op(data: bytes) -> StoredOp:
    """Run the context-free checks: envelope (03), signature (06), payload (02) [DM-031]."""
    env = wire_format.decode_envelope(data)
    signatures.verify_op(env)  # a sanitized op: its record instead (spec/07 section 8.3)
    # [UCAN-044] a sanitized op: chapter 02's checks with the withheld fields exempt
    payload = operations.parse_payload(env.payload) if env.san is None else (
        ucan.parse_sanitized_payload(env.payload, cast(list[str], env.san["fields"])))
    return StoredOp(identifiers.compute_op_hash(data), env, payload, data)


def is_same_operation(a: StoredOp, b: StoredOp) -> bool:
    """Whether one op is the sanitized form of the other (spec/07 section 8.5) [UCAN-048]."""
    # When both or neither are sanitized, is_sanitized_form_of answers False itself.
    sanitized, original = (a, b) if a.env.san is not None else (b, a)
    return ucan.is_sanitized_form_of(ucan.check_op(sanitized.data), ucan.check_op(original.data))


def get_authority_item(data: bytes) -> tuple[Envelope, ucan.Sanitization | None, bytes]:
    """A stored op as chapter 07's log functions take it: envelope, record, hash."""
    # The op passed every context-free check when it was stored; only decode it again.
    env = wire_format.decode_envelope(data)
    san = None if env.san is None else ucan.decode_sanitization(env.san)
    return env, san, identifiers.compute_op_hash(data)


def get_references(op: StoredOp) -> list[bytes]:
    """Every record an op names: supports, cascade entries and its target (section 6)."""
    payload = op.payload
    refs = operations.get_supports(payload) + operations.get_cascade(payload)
    root = operations.get_cascade_root(payload)
    if root is not None:
        refs.append(root)
    for name in ("claim", "action", "job", "subject", "source", "target"):
        value = getattr(payload, name, None)
        if isinstance(value, bytes) and value != operations.get_created_record(payload):
            refs.append(value)
    return refs


class OpLog:
    """The operation log of one node, in one SQLite file (or in memory for tests)."""

    def __init__(self, path: str = ":memory:", root: str | None = None) -> None:
        """Open the log at `path`; with `root` (the mesh root's did:key) it checks authority."""
        if root is not None:
            identifiers.decode_did_key(root)  # [UCAN-001] the mesh root is an Ed25519 did:key
        self.path = path
        self.root = root  # None: the Core-class log of chapter 01, which checks no authority
        self.db = sqlite3.connect(path, isolation_level=None)
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        # [DM-033] NORMAL in WAL mode: a committed append survives the process being
        # killed at any point (an OS crash may lose the last commits: see the chapter).
        # Without it SQLite keeps its default FULL, which syncs more, never less:
        # equivalent mutant (stmt-remove): only speed changes, never what is durable
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._items: dict[bytes, tuple[Envelope, ucan.Sanitization | None, bytes]] = {}
        if root is not None and self.count():
            self._redecide()  # a reopened log: every stored op decided under this root

    def close(self) -> None:
        self.db.close()

    # --- reading -----------------------------------------------------------------

    def ops(self) -> Iterator[StoredOp]:
        """Every applied op in the total order of section 4.2, without quarantined ones.

        In a log with a mesh root, stored ops found unauthorized are left out too
        (spec/07 section 7.2) [UCAN-036].
        """
        rows = self.db.execute(f"SELECT data FROM ops WHERE {APPLIED} ORDER BY wall, logical, node")
        for (data,) in rows:
            yield decode_op(data)

    def get(self, op_hash: bytes) -> StoredOp | None:
        """The stored op with this hash, quarantined or not."""
        row = self.db.execute("SELECT data FROM ops WHERE hash = ?", (op_hash,)).fetchone()
        return None if row is None else decode_op(row[0])

    def get_by_id(self, op_id: bytes) -> StoredOp | None:
        """The stored op with this OpId."""
        row = self.db.execute("SELECT data FROM ops WHERE op_id = ?", (op_id,)).fetchone()
        return None if row is None else decode_op(row[0])

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM ops").fetchone()[0])

    def held(self) -> list[tuple[bytes, str]]:
        """Held ops as (hash, reason code), by hash."""
        return list(self.db.execute("SELECT hash, reason FROM held ORDER BY hash"))

    def unauthorized(self) -> list[tuple[bytes, str]]:
        """Stored ops a later decision found unauthorized, as (hash, code), by hash [UCAN-036]."""
        return list(self.db.execute(
            "SELECT u.hash, u.code FROM unauthorized u JOIN ops o ON o.hash = u.hash "
            "WHERE o.quarantined = 0 ORDER BY u.hash"))

    def count_redecided(self) -> int:
        """How many times a stored op left or re-entered the applied ops (only grows)."""
        return int(self.db.execute("SELECT count(*) FROM redecided").fetchone()[0])

    def equivocators(self) -> list[bytes]:
        """Authors flagged for conflicting ops (section 4.3), by NodeId."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT author FROM conflicts ORDER BY author")]

    def get_creation(self, record: bytes) -> tuple[bytes, Ts] | None:
        """The op that created `record` (the earliest in total order) and its timestamp."""
        # [DM-006] a record id is an opaque key here: looked up by its bytes, never parsed
        row = self.db.execute(
            "SELECT created_by, wall, logical, node FROM records WHERE id = ?", (record,)
        ).fetchone()
        return None if row is None else (row[0], (row[1], row[2], row[3]))

    def get_supports(self, record: bytes) -> list[bytes]:
        """The records `record` was derived from (section 6), as the log's edges record them."""
        return [r[0] for r in self.db.execute(
            "SELECT parent FROM edges WHERE child = ? ORDER BY parent", (record,))]

    def get_dependents(self, record: bytes) -> list[bytes]:
        """The records derived directly from `record` (section 6)."""
        return [r[0] for r in self.db.execute(
            "SELECT child FROM edges WHERE parent = ? ORDER BY child", (record,))]

    def compute_closure(self, root: bytes) -> set[bytes]:
        """Every record reachable from `root` along dependent edges, iteratively [DM-015]."""
        seen: set[bytes] = set()
        frontier = [root]
        while frontier:
            record = frontier.pop()
            for child in self.get_dependents(record):
                if child not in seen:
                    seen.add(child)
                    frontier.append(child)
        return seen

    # --- appending ---------------------------------------------------------------

    def append(self, data: bytes, now_ms: int) -> AppendResult:
        """Check and store one op; release any held op it unblocks (section 4.5)."""
        op = decode_op(data)  # [DM-031] envelope, signature, payload; raises on rejection
        if self._is_known(op):
            return AppendResult("duplicate", op.hash)  # [DM-021] idempotent
        same = self._check_conflicts(op)
        if same is not None and op.env.san is not None:
            # [UCAN-048] the sanitized form of a stored op is that op: keep the original
            return AppendResult("duplicate", op.hash)
        reason = self._hold_reason(op, now_ms)
        if reason is None:
            reason = self._authorize(op)  # [DM-031] [UCAN-037] after holding, before provenance
        if reason is not None:
            self._in_transaction(lambda: self.db.execute(
                "INSERT INTO held (hash, data, reason) VALUES (?, ?, ?)",
                (op.hash, op.data, str(reason))))
            return AppendResult("held", op.hash, reason)
        self._check_provenance(op)
        self._in_transaction(lambda: self._store_or_replace(op, same))
        self._decide_later(op)
        return AppendResult("applied", op.hash, None, (op, *self.release(now_ms)))

    def append_many(self, items: Iterable[bytes],
                    now_ms: int) -> list[AppendResult | SpecViolation]:
        """Append several ops, each independently; rejections are returned, not raised."""
        out: list[AppendResult | SpecViolation] = []
        for data in items:
            try:
                out.append(self.append(data, now_ms))
            except SpecViolation as violation:
                out.append(violation)
        return out

    def release(self, now_ms: int) -> list[StoredOp]:
        """Apply every held op that can now be applied, until none can (section 4.4)."""
        released: list[StoredOp] = []
        progress = True
        while progress:
            progress = False
            for op_hash, data, held_for in list(self.db.execute(
                    "SELECT hash, data, reason FROM held ORDER BY hash")):
                op = decode_op(data)
                if self._hold_reason(op, now_ms) is not None:
                    continue
                try:
                    same = self._check_conflicts(op)
                    # [UCAN-048] the original is stored: this sanitized form is the same op
                    drop = same is not None and op.env.san is not None
                    reason = None if drop else self._authorize(op)  # [UCAN-037]
                    if reason is not None:
                        if reason != held_for:
                            self._in_transaction(lambda h=op_hash, r=reason: self.db.execute(
                                "UPDATE held SET reason = ? WHERE hash = ?", (str(r), h)))
                        continue  # still held: its proof is missing
                    if not drop:
                        self._check_provenance(op)
                except SpecViolation:
                    drop = True  # rejected now: it leaves the held ops
                if drop:
                    self._in_transaction(lambda h=op_hash: self.db.execute(
                        "DELETE FROM held WHERE hash = ?", (h,)))
                    continue

                def store(o: StoredOp = op, s: StoredOp | None = same) -> None:
                    self.db.execute("DELETE FROM held WHERE hash = ?", (o.hash,))
                    self._store_or_replace(o, s)

                self._in_transaction(store)
                self._decide_later(op)
                released.append(op)
                progress = True
        return sorted(released, key=lambda o: o.ts)

    def _is_known(self, op: StoredOp) -> bool:
        for table in ("ops", "held"):
            if self.db.execute(f"SELECT 1 FROM {table} WHERE hash = ?", (op.hash,)).fetchone():
                return True
        return False

    def _check_conflicts(self, op: StoredOp) -> StoredOp | None:
        """Refuse a second op with a stored op's OpId or timestamp; quarantine the stored one.

        Returns the stored op when `op` is its sanitized form or its original: one
        operation, not a conflict (spec/07 section 8.5) [UCAN-048].
        """
        wall, logical, node = op.ts
        same_id = self._hash_where("op_id = ?", (op.env.op_id,))
        same_ts = self._hash_where("wall = ? AND logical = ? AND node = ?", (wall, logical, node))
        # equivalent mutant (boolop-swap): is_same_operation compares the whole envelopes,
        # ts included, so a stored op sharing only the OpId is never the same operation
        if same_id is not None and same_id == same_ts:
            stored = self.get(same_id)
            if stored is not None and is_same_operation(stored, op):
                return stored  # [UCAN-048] no E_OP_CONFLICT, no quarantine
        conflicts = [(found, code, req) for found, code, req in (
            (same_id, ErrorCode.E_OP_CONFLICT, "DM-020"),
            (same_ts, ErrorCode.E_HLC_DUPLICATE, "DM-019")) if found is not None]
        if not conflicts:
            return None

        def quarantine() -> None:
            # Every stored op the newcomer conflicts with is quarantined, not only the first:
            # one may share its OpId and another its timestamp.
            for stored, code, _ in conflicts:
                self.db.execute("UPDATE ops SET quarantined = 1 WHERE hash = ?", (stored,))
                self.db.execute(
                    "INSERT OR IGNORE INTO conflicts (author, stored, refused, code) "
                    "VALUES (?, ?, ?, ?)", (op.env.author, stored, op.hash, str(code)))

        self._in_transaction(quarantine)
        if self.root is not None and any(self._is_authority(c[0]) for c in conflicts):
            self._redecide()  # [UCAN-036] the quarantined ops' tokens no longer count
        first, code, req = conflicts[0]
        require(False, req, code,
                f"op {op.hash.hex()[:16]} conflicts with stored op {first.hex()[:16]}; "
                "both are quarantined and the author is flagged")
        return None

    def _hash_where(self, condition: str, params: tuple[Any, ...]) -> bytes | None:
        """The hash of the stored op meeting `condition` (at most one does), if any."""
        row = self.db.execute(f"SELECT hash FROM ops WHERE {condition}", params).fetchone()
        return None if row is None else bytes(row[0])

    def _hold_reason(self, op: StoredOp, now_ms: int) -> ErrorCode | None:
        """Why `op` cannot be applied yet, if it cannot (section 4.4)."""
        wall, logical, node = op.ts
        if not clocks.is_releasable(clocks.Timestamp(wall, logical, node), now_ms):
            return ErrorCode.E_HLC_DRIFT  # [CLK-015] [DM-029] held, not rejected
        for record in get_references(op):
            if self.get_creation(record) is None:
                return ErrorCode.E_SUPPORT_MISSING  # [DM-029]
        return None

    # --- authority (spec/07 section 7) ------------------------------------------------

    def _authorize(self, op: StoredOp) -> ErrorCode | None:
        """Authority, between holding and provenance: None, or why the op is held.

        A log without a mesh root checks no authority: that is the Authority class's.
        """
        if self.root is None:
            return None  # [UCAN-049] no mesh root: no authority step at all
        try:
            # [UCAN-035] the authorized DelegateUcan and RevokeUcan ops before it in order
            ucan.authorize_in_log(op.env, op.san, self._authority_items(op.ts), self.root)
        except SpecViolation as violation:
            if violation.code == ErrorCode.E_UCAN_PROOF_MISSING:
                return ErrorCode.E_UCAN_PROOF_MISSING  # [UCAN-037] transient: held
            raise  # [UCAN-037] any other code of section 6 rejects the op
        return None

    def _authority_items(self, before: Ts) -> list[tuple[Envelope, ucan.Sanitization | None,
                                                        bytes]]:
        """The stored DelegateUcan and RevokeUcan ops before `before`, not quarantined."""
        rows = self.db.execute(
            "SELECT hash, data FROM ops WHERE quarantined = 0 AND type IN (?, ?) "
            "AND (wall, logical, node) < (?, ?, ?) ORDER BY wall, logical, node",
            (*AUTHORITY_TYPES, *before))
        out = []
        for op_hash, data in rows:
            item = self._items.get(op_hash)
            if item is None:
                item = self._items[op_hash] = get_authority_item(data)
            out.append(item)
        return out

    def _is_authority(self, op_hash: bytes) -> bool:
        row = self.db.execute("SELECT type FROM ops WHERE hash = ?", (op_hash,)).fetchone()
        return row is not None and row[0] in AUTHORITY_TYPES

    def _decide_later(self, op: StoredOp) -> None:
        """After storing `op`: decide again the ops it may change (spec/07 7.2) [UCAN-036].

        Only an authority op changes the tokens or revocations of the ops after it. An
        original that takes the place of its sanitized form was itself authorized before
        it was stored, and changes other verdicts only when it is an authority op (a
        RevokeUcan whose reason was withheld), which the test below covers.
        """
        if self.root is None:
            return
        wall, logical, node = op.ts
        later = self.db.execute(
            "SELECT 1 FROM ops WHERE (wall, logical, node) > (?, ?, ?) LIMIT 1",
            (wall, logical, node)).fetchone()
        # equivalent mutant (boolop-swap): _redecide recomputes every verdict from the stored
        # ops and records only changes, so running it where nothing can change is a no-op
        if op.type in AUTHORITY_TYPES and later is not None:
            self._redecide()

    def _redecide(self) -> bool:
        """Decide every stored op again in the total order (spec/07 section 7.2) [UCAN-036].

        An op now unauthorized leaves the applied ops (it stays stored); one now
        authorized re-enters them. Returns whether the applied ops changed.
        """
        root = cast(str, self.root)
        rows = self.db.execute("SELECT data FROM ops WHERE quarantined = 0")
        verdicts = ucan.replay([get_authority_item(data) for (data,) in rows], root)
        current = dict(self.db.execute("SELECT hash, code FROM unauthorized").fetchall())
        changes = []
        for verdict in verdicts:
            code = None if verdict.error is None else str(verdict.error.code)
            if current.get(verdict.hash) != code:
                moved = (verdict.hash in current) != (code is not None)  # left or re-entered
                changes.append((verdict.hash, code, moved))

        def record() -> None:
            for op_hash, code, moved in changes:
                if code is None:
                    self.db.execute("DELETE FROM unauthorized WHERE hash = ?", (op_hash,))
                else:
                    self.db.execute("INSERT OR REPLACE INTO unauthorized (hash, code) "
                                    "VALUES (?, ?)", (op_hash, code))
                if not moved:
                    continue  # unauthorized before and after, with another code
                self.db.execute("INSERT INTO redecided (hash, applied) VALUES (?, ?)",
                                (op_hash, int(code is None)))

        if changes:
            self._in_transaction(record)
        return any(moved for _, _, moved in changes)

    # --- provenance and storing ---------------------------------------------------------

    def _check_provenance(self, op: StoredOp) -> None:
        """Supports precede the op in total order; a cascade lists only dependents (section 6)."""
        created = operations.get_created_record(op.payload)
        for support in operations.get_supports(op.payload):
            creation = self.get_creation(support)
            require(
                support != created and creation is not None
                # equivalent mutant (cmp-flip): a support created at this op's own timestamp
                # was created by this op's sanitized form (section 4.3 refuses any other op
                # with that ts before provenance), so it is `created`, refused by the first test
                and creation[1] < op.ts,
                "DM-027",
                ErrorCode.E_PROVENANCE_CYCLE,
                f"support {support.hex()} is not created before this op in the total order",
            )
        root = operations.get_cascade_root(op.payload)
        if root is not None:
            closure = self.compute_closure(root)
            for record in operations.get_cascade(op.payload):
                require(record in closure, "DM-014", ErrorCode.E_CASCADE_INVALID,
                        f"cascade lists {record.hex()}, which does not depend on its root")

    def _store_or_replace(self, op: StoredOp, same: StoredOp | None) -> None:
        """Store `op`; when it is the original of the stored sanitized `same`, in its place."""
        if same is not None:
            # [UCAN-048] keep the original: it takes the place of its sanitized form
            self.db.execute("DELETE FROM ops WHERE hash = ?", (same.hash,))
            self.db.execute("DELETE FROM unauthorized WHERE hash = ?", (same.hash,))
            self.db.execute("INSERT INTO redecided (hash, applied) VALUES (?, 0)", (same.hash,))
            self._items.pop(same.hash, None)
        self._store(op)

    def _store(self, op: StoredOp) -> None:
        """Insert the op and its record and edges; the caller holds the transaction."""
        wall, logical, node = op.ts
        self.db.execute(
            "INSERT INTO ops (hash, op_id, wall, logical, node, type, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (op.hash, op.env.op_id, wall, logical, node, op.type, op.data))
        created = operations.get_created_record(op.payload)
        if isinstance(op.payload, operations.MergeEntity):
            # [DM-028] a merge's supports are edges into its source (spec/10 PROJ-005)
            self.db.executemany(
                "INSERT OR IGNORE INTO edges (child, parent) VALUES (?, ?)",
                [(op.payload.source, parent) for parent in op.payload.supports])
        if created is None:
            return
        existing = self.get_creation(created)
        if existing is not None and existing[1] < op.ts:
            return  # [DM-034] the earliest creation in total order keeps the record
        self.db.execute(
            "INSERT OR REPLACE INTO records (id, created_by, wall, logical, node) "
            "VALUES (?, ?, ?, ?, ?)", (created, op.hash, wall, logical, node))
        self.db.execute("DELETE FROM edges WHERE child = ?", (created,))
        # [DM-026] the creation's supports, kept with the log (the cascade check reads them)
        self.db.executemany(
            "INSERT OR IGNORE INTO edges (child, parent) VALUES (?, ?)",
            [(created, parent) for parent in operations.get_supports(op.payload)])

    def _in_transaction(self, work: object) -> None:
        """Run `work` atomically: all of it is stored or none [DM-032]."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            work()  # type: ignore[operator]
        except BaseException:
            # every check runs before the transaction; `work` holds only SQL statements:
            # equivalent mutant (stmt-remove): no driver input makes `work` raise
            self.db.execute("ROLLBACK")
            raise  # equivalent mutant (stmt-remove): unreachable, as the ROLLBACK above
        self.db.execute("COMMIT")

    # --- evidence store (section 3) -------------------------------------------------

    def put_evidence(self, content: bytes, expected: bytes) -> None:
        """Store evidence bytes under their ContentHash after verifying them [DM-003]."""
        identifiers.verify_content(content, expected)
        self._in_transaction(lambda: self.db.execute(
            "INSERT OR IGNORE INTO evidence (hash, content) VALUES (?, ?)", (expected, content)))

    def get_evidence(self, content_hash: bytes) -> bytes | None:
        """The evidence bytes named by a hash, when this node holds them (they MAY be absent)."""
        row = self.db.execute(
            "SELECT content FROM evidence WHERE hash = ?", (content_hash,)).fetchone()
        return None if row is None else bytes(row[0])

    def discard_evidence(self, content_hash: bytes) -> None:
        """Drop evidence bytes (after a tombstone); the ingest op stays on the log [DM-011]."""
        # Dropping the bytes is optional (spec/01 3.1 MAY) and no driver command calls this:
        # equivalent mutant (stmt-remove): keeping the bytes changes no answer (spec/10 4.1)
        self._in_transaction(lambda: self.db.execute(
            "DELETE FROM evidence WHERE hash = ?", (content_hash,)))
