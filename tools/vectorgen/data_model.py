"""Vectors for chapter 01 (spec/01-data-model.md): evidence, append order, tombstones."""

from __future__ import annotations

import attrs
import blake3

from reference import signatures, wire_format
from reference.identifiers import IdKind
from tools.vectorgen import Case, VectorFile
from tools.vectorgen._ops import OpFactory, derive, op_hash

CHAPTER = "01-data-model"
NOW = 1_800_000_000_000


def _ingest(f: OpFactory, ev: bytes, content: bytes) -> bytes:
    return f.op({"type": "IngestEvidence", "evidence": ev,
                 "hash": blake3.blake3(content).digest(), "anchor": "uid-1",
                 "source_type": "calendar", "metadata": {}})


def evidence_cases() -> list[Case]:
    """Evidence bytes are stored only under the hash that names them (DM-003)."""
    content = b"BEGIN:VEVENT\r\nUID:uid-1\r\nEND:VEVENT\r\n"
    good = blake3.blake3(content).hexdigest()
    return [
        Case("put-matching", ("DM-003", "ID-010"), "bytes that hash to the given ContentHash",
             "evidence.put", {"content": content.hex(), "hash": good}, "valid"),
        Case("put-altered", ("DM-003",), "one byte of the content changed", "evidence.put",
             {"content": content.replace(b"uid-1", b"uid-2").hex(), "hash": good}, "invalid",
             error="E_HASH_MISMATCH"),
        Case("put-empty-under-hash", ("DM-003",), "no bytes under another item's hash",
             "evidence.put", {"content": "", "hash": good}, "invalid", error="E_HASH_MISMATCH"),
    ]


def _log(cid: str, reqs: tuple[str, ...], desc: str, ops: list[bytes],
         comment: str | None = None) -> Case:
    return Case(cid, reqs, desc, "log.run", {"ops": [o.hex() for o in ops], "now_ms": NOW},
                "valid", comment=comment)


def append_cases() -> list[Case]:
    """The check order of section 4.5 and the survival of tombstoned ingest ops."""
    f = OpFactory("data_model/append")
    ev = f.new_id(IdKind.EVIDENCE)
    ingest = _ingest(f, ev, b"content")
    tombstone = f.op({"type": "TombstoneEvidence", "evidence": ev, "reason": "user request",
                      "cascade": []})
    bad_payload = wire_format.decode_envelope(
        f.op({"type": "AssertClaim", "claim": f.new_id(IdKind.CLAIM), "subject": None,
              "predicate": "", "object": 1, "supports": [ev]}))
    # Invalid payload (empty predicate) AND a signature over other bytes: the signature
    # is checked first, so the answer is E_SIGNATURE_INVALID, not E_PAYLOAD_INVALID.
    forged = attrs.evolve(bad_payload, sig=signatures.sign(f.seed, b"other bytes"))
    unknown_support = f.op({"type": "AssertClaim", "claim": f.new_id(IdKind.CLAIM),
                            "subject": None, "predicate": "p", "object": 1,
                            "supports": [IdKind.EVIDENCE.to_bytes(1, "big") + derive("x", 16)]})
    return [
        _log("tombstone-keeps-ingest", ("DM-011", "FSM-013"),
             "after a tombstone the IngestEvidence op is still on the log", [ingest, tombstone],
             comment="output.ops lists both op hashes: "
                     f"{op_hash(ingest).hex()[:16]}..., {op_hash(tombstone).hex()[:16]}..."),
        _log("order-signature-before-payload", ("DM-031", "SIG-028"),
             "an op with a bad payload and a bad signature is rejected for the signature",
             [ingest, wire_format.encode_envelope(forged)]),
        _log("order-payload-before-holding", ("DM-031", "OPS-006"),
             "an op with a bad payload naming an unknown record is rejected, not held",
             [signed_bad_payload(f)]),
        _log("order-duplicate-before-hold", ("DM-031", "DM-021"),
             "a held op offered again is a duplicate, still held",
             [unknown_support, unknown_support]),
    ]


def signed_bad_payload(f: OpFactory) -> bytes:
    """A validly signed AssertClaim with an empty predicate, citing a record never created."""
    return f.op({"type": "AssertClaim", "claim": f.new_id(IdKind.CLAIM), "subject": None,
                 "predicate": "", "object": 1,
                 "supports": [IdKind.EVIDENCE.to_bytes(1, "big") + derive("missing", 16)]})


def files() -> list[VectorFile]:
    """Every vector file of chapter 01 written here (chapter 10's generator adds more)."""
    return [
        VectorFile("data_model", CHAPTER, "evidence-store", tuple(evidence_cases())),
        VectorFile("data_model", CHAPTER, "append-order", tuple(append_cases())),
    ]
