"""Chapter 09 section 5: range-based set reconciliation (spec/09-mesh-coordination.md).

Two nodes find the symmetric difference of their sets of stored ops by
exchanging messages about ranges of the sorted item keys, in the manner of
negentropy: a range whose fingerprints agree is settled, a range that differs
is split into BRANCH sub-ranges (by the splitter's own items) until a side holds
at most LIST_MAX items in it, which it then lists by short ids; the other side
pushes what the lister lacks and asks for what it lacks itself. Every message
is computed from the receiver's current items and the message alone: the only
session state is the salt.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

import attrs
import blake3

from reference import clocks
from reference._require import require
from reference.introduction import ErrorCode
from reference.mesh import frames
from reference.wire_format import Value

KEY_BYTES = 72  # section 5.1: wall_ms 6 + logical 2 + node 32 + op hash 32
HASH_OFFSET = 40  # where the op hash starts in a key
FP_BYTES = 16  # section 5.3: a fingerprint is the first 16 bytes of a BLAKE3 output
ID_BYTES = 8  # section 5.3: a short id is the first 8 bytes of a BLAKE3 output
SALT_BYTES = 16  # section 5.3: the session salt
BRANCH = 4  # section 5.4: B, the sub-ranges a differing range splits into
LIST_MAX = 12  # section 5.4: L, the most items a side lists instead of splitting
MAX_MESSAGES = 64  # section 5.6: reconciliation messages per session, both sides together

FINGERPRINT_TAG = b"strata/mesh/fingerprint/1"
ID_TAG = b"strata/mesh/id/1"

# Section 5.2: the modes of a range entry.
SKIP, FINGERPRINT, LIST, NEED = 0, 1, 2, 3
MODES = (SKIP, FINGERPRINT, LIST, NEED)

BAD = ErrorCode.E_MESH_FRAME


# --- keys, bounds, fingerprints (sections 5.1 and 5.3) ----------------------------------


def compute_key(ts: tuple[int, int, bytes], op_hash: bytes) -> bytes:
    """An item's key: wall_ms (6 bytes), logical (2), node (32), op hash (32), big-endian."""
    wall_ms, logical, node = ts
    clocks.validate_timestamp(clocks.Timestamp(wall_ms, logical, node))
    # [MESH-013] fixed widths, big-endian: the byte order of keys is the total order of
    # chapter 05 section 3, ties (equivocation) broken by the op hash
    return wall_ms.to_bytes(6, "big") + logical.to_bytes(2, "big") + node + op_hash


def get_hash(key: bytes) -> bytes:
    """The op hash inside a key."""
    return key[HASH_OFFSET:]


def compute_bound(before: bytes, at: bytes) -> bytes:
    """The shortest prefix of `at` that sorts after `before` (section 5.1) [MESH-014]."""
    common = 0
    # equivalent mutant (cmp-flip): `before` and `at` are distinct keys of 72 bytes, so they
    # differ at some index below len(before) and the loop stops there
    while common < len(before) and before[common] == at[common]:
        common += 1
    return at[:common + 1]


def compute_fingerprint(salt: bytes, keys: Sequence[bytes]) -> bytes:
    """BLAKE3 of the tag, the salt and the range's op hashes in key order, first 16 bytes."""
    # [MESH-017] collision resistant: a different set of hashes gives a different input,
    # and finding two inputs with one output is a BLAKE3 collision (XOR would be linear)
    hasher = blake3.blake3(FINGERPRINT_TAG + salt)
    hasher.update(b"".join(k[HASH_OFFSET:] for k in keys))
    return hasher.digest(length=FP_BYTES)


def compute_short_id(salt: bytes, key: bytes) -> bytes:
    """BLAKE3 of the tag, the salt and one op hash, first 8 bytes (section 5.3) [MESH-018]."""
    return blake3.blake3(ID_TAG + salt + key[HASH_OFFSET:]).digest(length=ID_BYTES)


# --- the item set -----------------------------------------------------------------------


class Items:
    """A node's items: the keys of its stored ops, sorted (section 5.1)."""

    def __init__(self, keys: Iterable[bytes] = ()) -> None:
        self.keys = sorted(set(keys))

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        i = bisect.bisect_left(self.keys, cast(bytes, key))
        return i < len(self.keys) and self.keys[i] == key

    def add(self, key: bytes) -> bool:
        """Insert a key; False when it was present already."""
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return False
        self.keys.insert(i, key)
        return True

    def span(self, lower: bytes, upper: bytes | None) -> list[bytes]:
        """The keys k with lower <= k < upper, in order (upper None: no upper bound)."""
        i = bisect.bisect_left(self.keys, lower)
        j = len(self.keys) if upper is None else bisect.bisect_left(self.keys, upper)
        return self.keys[i:j]


# --- messages (section 5.2) ------------------------------------------------------------


@attrs.frozen
class Entry:
    """One range of a message: its upper bound (None: the end), its mode and its data."""

    upper: bytes | None
    mode: int
    data: bytes = b""


@attrs.frozen
class Reply:
    """What a side sends after a message: ops the peer lacks, then its next entries."""

    entries: tuple[Entry, ...]  # () is the final message: the session is done
    push: tuple[bytes, ...]  # keys of own items the peer lacks, in key order


def encode_entries(entries: Sequence[Entry]) -> list[Value]:
    """The flat array [upper, mode, data, upper, mode, data, ...] of a message (5.2)."""
    out: list[Value] = []
    for e in entries:
        out.extend([e.upper, e.mode, e.data])
    return out


def decode_entries(value: Value) -> tuple[Entry, ...]:
    """Check and decode a message's `r` (section 5.2) [MESH-015]."""
    require(isinstance(value, list) and len(value) % 3 == 0, "MESH-015", BAD,
            "'r' is not a flat array of (upper, mode, data) triples")
    flat = cast(list[Value], value)
    entries: list[Entry] = []
    previous = b""
    for i in range(0, len(flat), 3):
        upper, mode, data = flat[i], flat[i + 1], flat[i + 2]
        last = i + 3 == len(flat)
        if last:
            require(upper is None, "MESH-015", BAD, "the last range does not end at the end")
        else:
            # equivalent mutant (cmp-flip, const): a bound of 0 bytes is never above the one
            # before (the first is compared with the empty string), so it is refused either way
            require(isinstance(upper, bytes) and 0 < len(upper) <= KEY_BYTES
                    and upper > previous, "MESH-015", BAD,
                    f"range {i // 3}: the upper bound is not 1 to {KEY_BYTES} bytes above "
                    "the one before")
            previous = cast(bytes, upper)
        require(isinstance(mode, int) and not isinstance(mode, bool) and mode in MODES,
                "MESH-015", BAD, f"range {i // 3}: mode {mode!r} is not 0, 1, 2 or 3")
        require(isinstance(data, bytes), "MESH-015", BAD, f"range {i // 3}: data is not bytes")
        size = len(cast(bytes, data))
        ok = {SKIP: size == 0, FINGERPRINT: size == FP_BYTES}.get(
            cast(int, mode), size % ID_BYTES == 0)
        require(ok, "MESH-015", BAD, f"range {i // 3}: {size} bytes of data for mode {mode!r}")
        entries.append(Entry(cast(bytes | None, upper), cast(int, mode), cast(bytes, data)))
    return tuple(entries)


def _coalesce(entries: list[Entry]) -> tuple[Entry, ...]:
    """Merge consecutive skips; a message of one skip over everything is the final one."""
    out: list[Entry] = []
    for e in entries:
        if out and out[-1].mode == SKIP and e.mode == SKIP:
            out[-1] = e
        else:
            out.append(e)
    if len(out) == 1 and out[0].mode == SKIP:
        return ()  # [MESH-022] nothing left to settle
    return tuple(out)


def _describe(salt: bytes, own: list[bytes], upper: bytes | None) -> list[Entry]:
    """A range the peer's fingerprint disagrees with: a list, or BRANCH fingerprints."""
    n = len(own)
    if n <= LIST_MAX:
        # [MESH-020] few items: list them all by short id
        return [Entry(upper, LIST, b"".join(compute_short_id(salt, k) for k in own))]
    # [MESH-021] split own items into BRANCH groups of nearly equal count; group g holds
    # own[floor(g*n/B) : floor((g+1)*n/B)], and each boundary is the shortest bound
    # between the last key of one group and the first of the next
    out: list[Entry] = []
    for g in range(BRANCH):
        start, end = g * n // BRANCH, (g + 1) * n // BRANCH
        bound = upper if g == BRANCH - 1 else compute_bound(own[end - 1], own[end])
        out.append(Entry(bound, FINGERPRINT, compute_fingerprint(salt, own[start:end])))
    return out


def open_session(items: Items, salt: bytes) -> tuple[Entry, ...]:
    """The initiator's first message: one range over everything (section 5.5) [MESH-019]."""
    # equivalent mutant (stmt-remove, require-true): the driver checks `salt` first, a node draws 16
    require(len(salt) == SALT_BYTES, "MESH-016", BAD, f"a salt is {SALT_BYTES} bytes")
    own = items.keys
    if len(own) <= LIST_MAX:
        return (Entry(None, LIST, b"".join(compute_short_id(salt, k) for k in own)),)
    return (Entry(None, FINGERPRINT, compute_fingerprint(salt, own)),)


def respond(items: Items, salt: bytes, entries: Sequence[Entry]) -> Reply:
    """The reply to a message: each range in order, as section 5.5 says [MESH-020]."""
    out: list[Entry] = []
    push: list[bytes] = []
    lower = b""
    for e in entries:
        own = items.span(lower, e.upper)
        if e.mode == SKIP:
            out.append(Entry(e.upper, SKIP))
        elif e.mode == FINGERPRINT:
            if compute_fingerprint(salt, own) == e.data:
                out.append(Entry(e.upper, SKIP))  # [MESH-020] settled
            else:
                out.extend(_describe(salt, own, e.upper))
        elif e.mode == LIST:
            theirs = [e.data[i:i + ID_BYTES] for i in range(0, len(e.data), ID_BYTES)]
            have = set(theirs)
            mine = {compute_short_id(salt, k): k for k in own}
            # [MESH-020] push what the lister lacks, ask for what this side lacks
            push.extend(k for sid, k in mine.items() if sid not in have)
            wanted: list[bytes] = []
            for sid in theirs:
                if sid not in mine and sid not in wanted:
                    wanted.append(sid)
            out.append(Entry(e.upper, NEED, b"".join(wanted)) if wanted
                       else Entry(e.upper, SKIP))
        else:  # NEED
            asked = {e.data[i:i + ID_BYTES] for i in range(0, len(e.data), ID_BYTES)}
            push.extend(k for k in own if compute_short_id(salt, k) in asked)
            out.append(Entry(e.upper, SKIP))
        lower = e.upper if e.upper is not None else lower
    return Reply(_coalesce(out), tuple(sorted(push)))


# --- a whole session in memory (section 9, mesh.reconcile) ----------------------------


@attrs.frozen
class Outcome:
    """What a session found and cost: each side's needs, messages and bytes."""

    a_needs: tuple[bytes, ...]  # keys b pushed to a
    b_needs: tuple[bytes, ...]  # keys a pushed to b
    messages: int
    bytes: int


def encode_message(entries: Sequence[Entry], salt: bytes | None) -> bytes:
    """The frame of a reconciliation message; the first one carries the salt (5.2)."""
    body: dict[str, Value] = {"t": "rec", "r": encode_entries(entries)}
    if salt is not None:
        body["salt"] = salt
    return frames.encode_frame(body)


def simulate(a: Mapping[bytes, bytes], b: Mapping[bytes, bytes], salt: bytes,
             trace: list[tuple[int, bytes]] | None = None) -> Outcome:
    """Reconcile two sets of ops (key -> op bytes) as two nodes would, a initiating (section 9).

    `trace`, when given, receives every frame sent as (sender: 0 for a, 1 for b, bytes).
    """
    sides = [Items(a), Items(b)]
    ops = [dict(a), dict(b)]
    needs: list[list[bytes]] = [[], []]
    log = trace if trace is not None else []
    entries = open_session(sides[0], salt)
    log.append((0, encode_message(entries, salt)))
    messages, sender, total = 1, 0, len(log[-1][1])
    while entries:
        # two sides that follow section 5.5 agree within about log4(n) + 3 messages: only a
        # faulty peer reaches the limit (spec/untestable.md, test_invalid_endless_session_*)
        # equivalent mutant (cmp-flip, require-true): both sides here follow section 5.5, so
        # no input of mesh.reconcile reaches 64 messages (the live limit is judged by
        # mesh.session, whose scripted peer is dishonest)
        require(messages < MAX_MESSAGES, "MESH-024", BAD,
                f"no agreement within {MAX_MESSAGES} messages")
        receiver = 1 - sender
        reply = respond(sides[receiver], salt, entries)
        sent = frames.pack_ops([ops[receiver][k] for k in reply.push])
        sent.append(encode_message(reply.entries, None))
        for frame in sent:
            log.append((receiver, frame))
            total += len(frame)
        for k in reply.push:  # [MESH-023] the peer stores what it is sent
            sides[sender].add(k)
            ops[sender][k] = ops[receiver][k]
            needs[sender].append(k)
        messages += 1
        entries, sender = reply.entries, receiver
    return Outcome(tuple(sorted(needs[0])), tuple(sorted(needs[1])), messages, total)
