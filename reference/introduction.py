"""Chapter 00: spec version, conformance classes and the error-code registry.

The registry here mirrors the table in spec/00-introduction.md section 5;
`strata spec lint` fails when the two differ.
"""

from __future__ import annotations

from enum import StrEnum

SPEC_VERSION = "0.1.0"


class ConformanceClass(StrEnum):
    """Conformance classes (spec/00-introduction.md section 4)."""

    CORE = "Core"
    AUTHORITY = "Authority"
    MESH = "Mesh"
    PROJECTIONS = "Projections"
    ENGINE = "Engine"
    LEARNING = "Learning"
    WAVEGEN = "WaveGen"


class ErrorCode(StrEnum):
    """Registered error codes (spec/00-introduction.md section 5)."""

    # 16-conformance: the driver protocol itself
    E_BAD_REQUEST = "E_BAD_REQUEST"
    E_UNSUPPORTED_COMMAND = "E_UNSUPPORTED_COMMAND"
    # 01-data-model and 02-operations
    E_PAYLOAD_TYPE = "E_PAYLOAD_TYPE"
    E_PAYLOAD_INVALID = "E_PAYLOAD_INVALID"
    E_OP_CONFLICT = "E_OP_CONFLICT"
    E_SUPPORT_MISSING = "E_SUPPORT_MISSING"
    E_PROVENANCE_CYCLE = "E_PROVENANCE_CYCLE"
    E_CASCADE_INVALID = "E_CASCADE_INVALID"
    E_NOT_FOUND = "E_NOT_FOUND"
    E_UNKNOWN_SESSION = "E_UNKNOWN_SESSION"
    # 03-wire-format
    E_HEX_INVALID = "E_HEX_INVALID"
    E_CBOR_MALFORMED = "E_CBOR_MALFORMED"
    E_CBOR_LIMIT = "E_CBOR_LIMIT"
    E_CBOR_UNSUPPORTED = "E_CBOR_UNSUPPORTED"
    E_NONCANONICAL = "E_NONCANONICAL"
    E_ENVELOPE_INVALID = "E_ENVELOPE_INVALID"
    # 04-identifiers-and-hashing
    E_ID_MALFORMED = "E_ID_MALFORMED"
    E_ID_KIND = "E_ID_KIND"
    E_ID_EXHAUSTED = "E_ID_EXHAUSTED"
    E_DID_INVALID = "E_DID_INVALID"
    E_DID_UNSUPPORTED = "E_DID_UNSUPPORTED"
    E_HASH_MISMATCH = "E_HASH_MISMATCH"
    # 05-clocks
    E_HLC_DRIFT = "E_HLC_DRIFT"
    E_HLC_RANGE = "E_HLC_RANGE"
    E_HLC_DUPLICATE = "E_HLC_DUPLICATE"
    # 06-signatures
    E_PUBKEY_INVALID = "E_PUBKEY_INVALID"
    E_SIGNATURE_MALLEABLE = "E_SIGNATURE_MALLEABLE"
    E_SIGNATURE_INVALID = "E_SIGNATURE_INVALID"
    E_SIGNATURE_MISSING = "E_SIGNATURE_MISSING"
    E_JWS_MALFORMED = "E_JWS_MALFORMED"
    # 07-ucan-and-caveats
    E_UCAN_MALFORMED = "E_UCAN_MALFORMED"
    E_UCAN_SIGNATURE = "E_UCAN_SIGNATURE"
    E_UCAN_PROOF_MISSING = "E_UCAN_PROOF_MISSING"
    E_UCAN_WRONG_ROOT = "E_UCAN_WRONG_ROOT"
    E_UCAN_BROKEN_CHAIN = "E_UCAN_BROKEN_CHAIN"
    E_UCAN_NOT_YET_VALID = "E_UCAN_NOT_YET_VALID"
    E_UCAN_EXPIRED = "E_UCAN_EXPIRED"
    E_UCAN_ATTENUATION = "E_UCAN_ATTENUATION"
    E_UCAN_CAVEAT = "E_UCAN_CAVEAT"
    E_UCAN_DEPTH = "E_UCAN_DEPTH"
    E_UCAN_REVOKED = "E_UCAN_REVOKED"
    E_UNAUTHORIZED = "E_UNAUTHORIZED"
    # 09-mesh-coordination
    E_MESH_FRAME = "E_MESH_FRAME"
    E_MESH_VERSION = "E_MESH_VERSION"
    E_MESH_ROOT_MISMATCH = "E_MESH_ROOT_MISMATCH"
    E_MESH_RULES_MISMATCH = "E_MESH_RULES_MISMATCH"
