"""Chapter 15 section 5: the learning operations, the `Lora` payload variants.

Every variant creates one learning record, named by its `learning` field (an ArtifactId,
as chapter 11's engine records are), and lists in `supports` the records the learning
derives from, so chapter 01's holding, provenance and cascade rules reach it unchanged.
What an operation does to the hierarchy is decided by the learning projection
(reference/lora/projection.py), never here: a payload is checked on its own.
"""

from __future__ import annotations

import math
from typing import Any, cast

import attrs

from reference import operations
from reference._require import require
from reference.identifiers import IdKind
from reference.introduction import ErrorCode
from reference.lora import consolidation, hierarchy
from reference.operations import _field, check_hash, check_record_ref, check_refs, check_uint
from reference.wire_format import Value

BAD = ErrorCode.E_PAYLOAD_INVALID
MAX_LIST = operations.MAX_LIST


# --- field types (section 5.2) ----------------------------------------------------------------


def check_layer(name: str, value: Value) -> None:
    """One of the five layer names of chapter 13 [CONS-016]."""
    require(isinstance(value, str) and value in hierarchy.LAYER_NAMES, "CONS-016", BAD,
            f"{name!r} is not one of the layers {', '.join(hierarchy.LAYER_NAMES)}")


def check_tokens(name: str, value: Value) -> None:
    """A trajectory: 1 to 128 token ids from 0 to 257 [CONS-003]."""
    require(isinstance(value, list), "CONS-003", BAD, f"{name!r} is not an array of token ids")
    consolidation.check_trajectory(cast(list[object], value))


def check_unit(name: str, value: Value) -> None:
    """A float from 0 to 1 inclusive; an integer is not a float [CONS-017]."""
    require(isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0,
            "CONS-017", BAD, f"{name!r} is not a float from 0 to 1")


_learning = _field(operations.check_id(IdKind.ARTIFACT))


def check_rules(payload: Any) -> None:
    """The rules between fields, after every field check, in section 5.3's order."""
    if isinstance(payload, LoraConsolidate):  # [CONS-018] hits <= uses
        require(payload.hits <= payload.uses, "CONS-018", BAD,
                f"hits ({payload.hits}) exceed uses ({payload.uses})")
    if isinstance(payload, LoraMigrate):  # [CONS-019] one step up the chain
        require(consolidation.CHAIN.get(payload.source) == payload.target, "CONS-019", BAD,
                f"{payload.source} does not migrate to {payload.target}; the chain is "
                "context, agent, swarm, domain")
    if isinstance(payload, LoraResonate):  # [CONS-020] two records, both supports
        require(payload.a != payload.b, "CONS-020", BAD, "a resonance combines two records")
        require(payload.a in payload.supports and payload.b in payload.supports, "CONS-020",
                BAD, "a resonance lists both of its records in supports")


class _Rules:
    """Runs the rules between fields when parse_payload builds the variant [OPS-017]."""

    def __attrs_post_init__(self) -> None:
        check_rules(self)


def lora_variant(cls: type[Any]) -> type[Any]:
    """Register a learning variant with chapter 02; it creates its `learning` record."""
    operations.register_variant(creates="learning")(cls)
    return cls


# --- the variants (section 5.1) ---------------------------------------------------------------


@lora_variant
@attrs.frozen
class LoraConsolidate(_Rules):
    """An inference's circuit is consolidated into its author's context layer."""

    learning: bytes = _learning
    tokens: list[int] = _field(check_tokens)
    quality: float = _field(check_unit)
    hits: int = _field(check_uint)
    uses: int = _field(check_uint)
    supports: list[bytes] = _field(check_refs(1, MAX_LIST))


@lora_variant
@attrs.frozen
class LoraWeaken(_Rules):
    """A circuit is weakened in one layer instance."""

    learning: bytes = _learning
    layer: str = _field(check_layer)
    circuit: bytes = _field(check_hash)
    supports: list[bytes] = _field(check_refs(1, MAX_LIST))


@lora_variant
@attrs.frozen
class LoraMigrate(_Rules):
    """The head of a queue moves one step up: consolidated in the target, weakened in the
    source."""

    learning: bytes = _learning
    circuit: bytes = _field(check_hash)
    source: str = _field(check_layer)
    target: str = _field(check_layer)
    supports: list[bytes] = _field(check_refs(1, MAX_LIST))


@lora_variant
@attrs.frozen
class LoraFastTrack(_Rules):
    """A vertically aligned circuit jumps from context to domain, bypassing the queues."""

    learning: bytes = _learning
    circuit: bytes = _field(check_hash)
    supports: list[bytes] = _field(check_refs(1, MAX_LIST))


@lora_variant
@attrs.frozen
class LoraResonate(_Rules):
    """Two agents' agent-layer learning combines into the swarm layer."""

    learning: bytes = _learning
    a: bytes = _field(check_record_ref)
    b: bytes = _field(check_record_ref)
    supports: list[bytes] = _field(check_refs(2, MAX_LIST))


@lora_variant
@attrs.frozen
class LoraHomeostasis(_Rules):
    """One homeostasis step of a layer instance's screening threshold."""

    learning: bytes = _learning
    layer: str = _field(check_layer)
    supports: list[bytes] = _field(check_refs(0, MAX_LIST))


LearningPayload = (LoraConsolidate | LoraWeaken | LoraMigrate | LoraFastTrack | LoraResonate
                   | LoraHomeostasis)
VARIANTS: tuple[type[Any], ...] = (LoraConsolidate, LoraWeaken, LoraMigrate, LoraFastTrack,
                                   LoraResonate, LoraHomeostasis)


def is_learning_payload(payload: object) -> bool:
    """Whether a parsed payload is one of this chapter's variants."""
    return isinstance(payload, VARIANTS)


# [CONS-015] An implementation that claims the Learning class validates every `Lora...`
# payload: from here on chapter 02 no longer stores unknown `Lora...` types uninterpreted
# ([OPS-016] applies only without the class), so an unlisted one is refused with
# E_PAYLOAD_TYPE by [OPS-001].
operations.claim_prefix("Lora")
