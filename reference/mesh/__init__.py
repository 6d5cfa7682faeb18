"""Chapter 09: mesh coordination (spec/09-mesh-coordination.md).

The package is the chapter: this module holds the mesh-rules document and the
handshake (sections 2 and 3), entity-merge resolution (section 7) and the
backdating flag (section 8); `frames` is section 4, `reconcile` section 5 and
`node` the node of section 6, which serves and syncs over TCP on loopback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

import attrs

from reference import clocks, identifiers, operations, signatures, ucan, wire_format
from reference._require import require
from reference.identifiers import IdKind
from reference.introduction import SPEC_VERSION, ErrorCode
from reference.mesh import frames, reconcile
from reference.oplog import StoredOp, Ts
from reference.wire_format import Envelope, Value

PROTOCOL_VERSION = 1  # section 3.2: the `v` of a hello frame
RULES_VERSION = "strata-mesh-rules/1"  # section 3.1: the `v` of a mesh-rules document
HOST = "127.0.0.1"  # section 6.3: this version syncs on loopback only


# --- nodes (section 2) ----------------------------------------------------------------------

ALL = ucan.Capability("strata:*", "*")  # section 2.2: what the root delegates to a new node


def compute_announcement(root_seed: bytes, seed: bytes, wall_ms: int, nonce: bytes,
                         id_random: bytes) -> tuple[ucan.Token, bytes]:
    """A new node's token from the root and its announcement op (section 2.2) [MESH-002]."""
    node = signatures.compute_public_key(seed)
    root = identifiers.encode_did_key(signatures.compute_public_key(root_seed))
    token = ucan.issue_token(root_seed, ucan.get_principal(node), root, [ALL], wall_ms, None,
                             nonce, [])
    # the node's first tick from a fresh clock at wall_ms is (wall_ms, 0) (spec/05 section 4)
    op_id = identifiers.IdGenerator(IdKind.OP).generate(wall_ms, id_random)
    env = Envelope(op_id=op_id, author=node, ts=(wall_ms, 0, node),
                   payload={"type": "DelegateUcan", "token": token.data}, sig=None)
    return token, wire_format.encode_envelope(signatures.sign_op(seed, env))


# --- the mesh-rules document (section 3.1) ---------------------------------------------


def compute_rules(root: str) -> dict[str, Value]:
    """The mesh-rules document of a mesh: its root and every constant two peers share."""
    # equivalent mutant (stmt-remove): through the driver, reference.driver.mesh decodes it first
    identifiers.decode_did_key(root)  # [UCAN-001] the root is an Ed25519 did:key
    # [MESH-003] exactly these keys and values
    return {
        "v": RULES_VERSION,
        "root": root,
        "spec": SPEC_VERSION,
        "branch": reconcile.BRANCH,
        "list_max": reconcile.LIST_MAX,
        "fp_bytes": reconcile.FP_BYTES,
        "id_bytes": reconcile.ID_BYTES,
        "max_frame": frames.MAX_FRAME_BYTES,
        "max_drift_ms": clocks.MAX_DRIFT_MS,
        "max_messages": reconcile.MAX_MESSAGES,
    }


def encode_rules(root: str) -> bytes:
    """The deterministic CBOR of the mesh-rules document (section 3.1) [MESH-003]."""
    return wire_format.encode_canonical(compute_rules(root))


def compute_rules_hash(root: str) -> bytes:
    """The ContentHash of the mesh-rules document (section 3.1) [MESH-004]."""
    return identifiers.compute_content_hash(encode_rules(root))


# --- the handshake (section 3.2) --------------------------------------------------------


def compute_hello(root: str, node: bytes) -> frames.Frame:
    """The hello frame a node sends first on every connection (section 3.2) [MESH-005]."""
    return {"t": "hello", "v": PROTOCOL_VERSION, "root": root,
            "rules": compute_rules_hash(root), "node": node}


def check_hello(frame: frames.Frame, root: str) -> bytes:
    """Accept a peer's hello or refuse it, checks in the order of section 3.2 [MESH-006].

    Returns the peer's NodeId.
    """
    require(frame.get("t") == "hello", "MESH-006", ErrorCode.E_MESH_FRAME,
            f"the first frame is {frame.get('t')!r}, not hello")
    require(frame["v"] == PROTOCOL_VERSION, "MESH-006", ErrorCode.E_MESH_VERSION,
            f"the peer speaks protocol {frame['v']!r}, this node {PROTOCOL_VERSION}")
    require(frame["root"] == root, "MESH-006", ErrorCode.E_MESH_ROOT_MISMATCH,
            f"the peer's mesh root is {str(frame['root'])[:60]!r}, not {root}")
    require(frame["rules"] == compute_rules_hash(root), "MESH-006",
            ErrorCode.E_MESH_RULES_MISMATCH,
            f"the peer's mesh-rules hash {cast(bytes, frame['rules']).hex()} differs from "
            f"{compute_rules_hash(root).hex()}")
    return cast(bytes, frame["node"])


# --- entity merges (section 7) -----------------------------------------------------------


@attrs.frozen
class Resolution:
    """Entity states, each entity's representative, and which merges took effect."""

    states: dict[bytes, str]  # EntityId -> Active | Merged
    representatives: dict[bytes, bytes]  # EntityId -> the smallest EntityId of its class
    effective: tuple[bytes, ...]  # hashes of the merges that moved their source, in order
    ignored: tuple[bytes, ...]  # hashes of the merges and creations that did nothing


def merge_order_key(op: StoredOp) -> Ts:
    """The order merges are decided in: the total order of chapter 05 (section 7.1)."""
    # [MESH-032] the whole triple: wall_ms, then logical, then node; never wall_ms alone
    return op.ts


def resolve_merges(ops: Iterable[StoredOp]) -> Resolution:
    """Resolve CreateEntity and MergeEntity ops into classes (section 7) [MESH-032]."""
    entity_ops = [op for op in ops
                  if isinstance(op.payload, operations.CreateEntity | operations.MergeEntity)]
    states: dict[bytes, str] = {}
    effective: list[tuple[bytes, bytes, bytes]] = []
    ignored: list[bytes] = []
    for op in sorted(entity_ops, key=merge_order_key):
        payload = op.payload
        if isinstance(payload, operations.CreateEntity):
            if payload.entity in states:
                ignored.append(op.hash)  # [DM-034] a later creation of the id does nothing
            else:
                states[payload.entity] = "Active"
            continue
        merge = cast(operations.MergeEntity, payload)
        # [MESH-032] the first merge of a source in the total order moves it; a later merge
        # of the same source finds it Merged and is ignored (spec/12 FSM-015)
        if states.get(merge.source) == "Active" and merge.target in states:
            states[merge.source] = "Merged"
            effective.append((op.hash, merge.source, merge.target))
        else:
            ignored.append(op.hash)
    return Resolution(states, compute_representatives(states, [(s, t) for _, s, t in effective]),
                      tuple(h for h, _, _ in effective), tuple(ignored))


def compute_representatives(entities: Iterable[bytes],
                            merges: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Union-find keeping the smallest id as the root of each class (section 7) [MESH-033]."""
    parent = {e: e for e in entities}

    def find(x: bytes) -> bytes:
        while parent[x] != x:
            # equivalent mutant (stmt-remove): path halving only shortens later walks to the root
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for source, target in merges:
        a, b = find(source), find(target)
        if a != b:
            parent[max(a, b)] = min(a, b)  # cycles join a class they are already in
    return {e: find(e) for e in parent}


# --- backdating (section 8) -----------------------------------------------------------------


def is_backdated(wall_ms: int, latest: Mapping[bytes, int], author: bytes) -> bool:
    """Whether an op is more than MAX_DRIFT_MS behind its author's latest stored op [MESH-034]."""
    last = latest.get(author)
    return last is not None and wall_ms < last - clocks.MAX_DRIFT_MS
