"""Chapter 08: actions, resources, the ability hierarchy and matching (spec/08-capabilities.md).

Every operation needs one (action, resource) pair, read off its payload by the
table of section 2 without looking at any other operation. A capability's
ability (`can`) and resource (`with`) admit a pair when they cover it
(section 4). Caveats are chapter 07's concern (reference/ucan.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import cast

import attrs

from reference._require import require
from reference.introduction import ErrorCode
from reference.wire_format import Value

WILDCARD = "*"
RESOURCE_SCHEME = "strata:"
SANITIZE = "op/sanitize"  # the filter's ability (section 3; spec/07 section 7)

# Section 3.1: a segment is 1 to 64 characters of a-z, 0-9 and "_".
SEGMENT = r"[a-z0-9_]{1,64}"
ABILITY = re.compile(rf"\*|{SEGMENT}/\*|{SEGMENT}/{SEGMENT}")
RESOURCE = re.compile(rf"strata:(?:\*|{SEGMENT})")


@attrs.frozen
class Requirement:
    """The action an operation performs and the resource it touches (section 2)."""

    action: str
    resource: str


# Section 2.1: each payload variant of chapter 02 -> (ability, data class).
ACTIONS: dict[str, tuple[str, str]] = {
    "IngestEvidence": ("evidence/ingest", "evidence"),
    "TombstoneEvidence": ("evidence/tombstone", "evidence"),
    "AssertClaim": ("claim/assert", "claim"),
    "ConfirmClaim": ("claim/confirm", "claim"),
    "RejectClaim": ("claim/reject", "claim"),
    "CreateEntity": ("entity/create", "entity"),
    "MergeEntity": ("entity/merge", "entity"),
    "RecordEpisode": ("episode/record", "episode"),
    "ProposeAction": ("action/propose", "action"),
    "AcceptAction": ("action/accept", "action"),
    "DismissAction": ("action/dismiss", "action"),
    "ExpireAction": ("action/expire", "action"),
    "StartJob": ("job/start", "job"),
    "CompleteJob": ("job/complete", "job"),
    "FailJob": ("job/fail", "job"),
    "DelegateUcan": ("ucan/delegate", "ucan"),
    "RevokeUcan": ("ucan/revoke", "ucan"),
}

# Section 2.2: the data class of a record, read from the kind byte of its id
# (spec/04 section 2.1); artifacts belong to the jobs that produce them.
CLASS_OF_KIND: dict[int, str] = {
    0x02: "evidence", 0x03: "entity", 0x04: "claim", 0x05: "job",
    0x06: "job", 0x07: "episode", 0x08: "action",
}

# Section 2.3: reserved variant prefixes (spec/02 section 4) -> data class.
RESERVED_CLASSES: tuple[tuple[str, str], ...] = (
    ("Engine", "engine"), ("Lora", "lora"), ("WaveGen", "wavegen"),
)


def compute_reserved_verb(suffix: str) -> str:
    """The verb of a reserved variant: its suffix in snake case, `_` when empty (section 2.3)."""
    if suffix == "":
        return "_"
    out = []
    for i, ch in enumerate(suffix):
        if "A" <= ch <= "Z":
            out.append(("_" if i > 0 else "") + ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def get_requirement(payload: Mapping[str, Value]) -> Requirement:
    """The (action, resource) an operation with this payload needs (section 2) [CAP-001]."""
    kind = payload.get("type")
    # equivalent mutant (require-true, stmt-remove): the str() of a non-text type ("5",
    # "None", "b'..'", "[..]") is no action and starts with no reserved prefix, so the last
    # require below rejects it with the same E_PAYLOAD_TYPE
    require(isinstance(kind, str), "CAP-001", ErrorCode.E_PAYLOAD_TYPE,
            "a payload's type is not text")
    name = str(kind)
    if name in ACTIONS:
        ability, data_class = ACTIONS[name]
        return Requirement(ability, RESOURCE_SCHEME + data_class)
    if name == "CascadeTombstone":
        # [CAP-002] the class of the cascade's root, from its kind byte
        root = payload.get("root")
        # chapter 02 (section 2, type ref) rejects a root that is not a record id before any
        # requirement is computed; what cap.requirement answers for one is left open (2.2)
        # equivalent mutant (boolop-swap, require-true, stmt-remove): only roots that chapter
        # 02 rejects differ, and section 2.2 leaves the answer for those open
        require(isinstance(root, bytes) and len(root) == 17 and root[0] in CLASS_OF_KIND,
                "CAP-002", ErrorCode.E_PAYLOAD_INVALID,
                "a CascadeTombstone's root is not a record id of a known kind")
        data_class = CLASS_OF_KIND[cast(bytes, root)[0]]
        return Requirement(f"{data_class}/cascade", RESOURCE_SCHEME + data_class)
    for prefix, data_class in RESERVED_CLASSES:
        if name.startswith(prefix):
            # [CAP-003] reserved variants: <class>/<snake-case suffix>
            verb = compute_reserved_verb(name[len(prefix):])
            return Requirement(f"{data_class}/{verb}", RESOURCE_SCHEME + data_class)
    require(False, "CAP-001", ErrorCode.E_PAYLOAD_TYPE, f"no action for payload type {name!r}")
    raise AssertionError("unreachable")  # pragma: no cover


def get_sanitize_requirement(payload: Mapping[str, Value]) -> Requirement:
    """What a sanitizing filter needs: `op/sanitize` on the op's resource [CAP-004]."""
    return Requirement(SANITIZE, get_requirement(payload).resource)


# --- grammar (section 3) ---------------------------------------------------------


def is_ability(text: str) -> bool:
    """Whether `text` is an ability: `*`, `ns/*` or `ns/verb` (section 3.1)."""
    return ABILITY.fullmatch(text) is not None


def is_resource(text: str) -> bool:
    """Whether `text` is a resource: `strata:*` or `strata:<class>` (section 3.2)."""
    return RESOURCE.fullmatch(text) is not None


def check_ability(text: Value) -> str:
    """An ability as a token's `can` carries it (section 3.1) [CAP-005]."""
    require(isinstance(text, str) and is_ability(text), "CAP-005", ErrorCode.E_UCAN_MALFORMED,
            f"{str(text)[:70]!r} is not an ability ('*', 'ns/*' or 'ns/verb')")
    return str(text)


def check_resource(text: Value) -> str:
    """A resource as a token's `with` carries it (section 3.2) [CAP-006]."""
    require(isinstance(text, str) and is_resource(text), "CAP-006", ErrorCode.E_UCAN_MALFORMED,
            f"{str(text)[:70]!r} is not a resource ('strata:*' or 'strata:<class>')")
    return str(text)


# --- matching (section 4) ----------------------------------------------------------


def is_ability_covered(parent: str, child: str) -> bool:
    """Whether ability `parent` covers `child` (section 4.1) [CAP-007]."""
    # [CAP-009] exact, case-sensitive string comparison; no normalization
    if parent == WILDCARD or parent == child:
        return True
    if parent.endswith("/*"):
        namespace = parent[:-1]  # "claim/"
        return child.startswith(namespace)
    return False


def is_resource_covered(parent: str, child: str) -> bool:
    """Whether resource `parent` covers `child` (section 4.2) [CAP-008]."""
    # [CAP-009] exact, case-sensitive string comparison; no normalization
    return parent == child or parent == RESOURCE_SCHEME + WILDCARD
