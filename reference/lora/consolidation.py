"""Chapter 15: circuits and the decisions of consolidation (spec/15-consolidation.md).

Pure functions, no state: circuit extraction from a trajectory (section 3), quality and
strength (section 4), screening (section 7), stability (section 8), queue order, budgets
and tick processing (section 9), resonance (section 10) and homeostasis (section 11).
The learning projection (reference/lora/projection.py) calls them; the driver exposes
each one. Every float is binary64, each operation rounded on its own, in the order the
chapter writes it [CONS-001]; Python's float arithmetic is exactly that (no contraction).
"""

from __future__ import annotations

import array
import math
import struct
from collections.abc import Sequence

import attrs
import blake3

from reference import wire_format
from reference._require import require
from reference.introduction import ErrorCode
from reference.lora import hierarchy

BAD = ErrorCode.E_PAYLOAD_INVALID

# --- constants (section 2.2) ---------------------------------------------------------------

TICK_MS = 1000  # a tick is one second of HLC wall time
WINDOW = 8  # ticks in the stability window
MIN_ACTIVATIONS = 4  # activations in the window before a circuit can be stable
STABLE_THRESHOLD = 0.5  # autocorrelation at which a circuit is stable
QUALITY_MIN = 0.5  # the quality gate of a consolidation
S_CONSOLIDATE = 0.1  # the blueprint's context strength
S_MIGRATE = 0.5  # the handoff: consolidate into the target
S_WEAKEN = 0.3  # the handoff: weaken the source
BANDWIDTH_DIVISOR = 100  # 1% of the target layer's parameters per tick
TAU_INITIAL = 3.0  # screening threshold of every layer instance at first
TAU_MIN, TAU_MAX = 1.0, 64.0
TAU_STEP = 1.1  # the blueprint's homeostasis factor
RATIO_LOW = 0.5  # entropy ratio below which homeostasis acts
BUDGET: dict[str, float] = {  # entropy budget: the target screened fraction s* per layer
    "foundation": 0.75, "domain": 0.75, "swarm": 0.5, "agent": 0.5, "context": 0.25}
ALPHA = 0.5  # amplification of agreeing contributions
BETA = 0.5  # damping of conflicting contributions (positive: errata E1)
ETA_RESONANCE = 0.5  # strength of a resonance update into the swarm layer
V_THRESHOLD = 0.9  # vertical alignment of a fast track
GAMMA = 0.5  # amplification of a fast track by its vertical alignment
COMPONENTS = 2  # rank-1 components of a circuit, on two different targets
WIDTH = 8  # rows each component writes
SLOTS = 8  # circuit slots: the largest rank of section 5.1 of chapter 13
STREAM_WORDS = 8 + COMPONENTS * WIDTH  # words of the circuit stream a circuit reads
MAX_TRAJECTORY = 128
MAX_TOKEN = 257
# Section 9.1: the migration chain, each layer to its successor.
CHAIN: dict[str, str] = {"context": "agent", "agent": "swarm", "swarm": "domain"}
PRIVATE_LAYERS = ("agent", "context")  # one instance per agent (section 6.1)
RANK: dict[str, int] = {layer.name: layer.rank for layer in hierarchy.LAYERS}
TARGET_INDEX: dict[str, int] = {t: i for i, t in enumerate(hierarchy.TARGETS)}

Position = tuple[int, int, int]  # (target index, row, column of B)


def to_f32(x: float) -> float:
    """x rounded from binary64 to the nearest binary32, ties to even [CONS-002]."""
    (narrow,) = array.array("f", [x])
    return float(narrow)


# --- circuits (section 3) -------------------------------------------------------------------


@attrs.frozen
class Component:
    """One rank-1 component: WIDTH rows of one B column slot of one target (section 3.3)."""

    target: str
    slot: int
    rows: tuple[int, ...]
    values: tuple[float, ...]  # binary32 values, one per row


@attrs.frozen
class Circuit:
    """A circuit: its id, trajectory hash, tokens and two components (section 3)."""

    id: bytes
    trajectory: bytes
    tokens: tuple[int, ...]
    components: tuple[Component, ...]


def check_trajectory(tokens: Sequence[object]) -> None:
    """1 to 128 token ids, each an integer from 0 to 257 (section 3.1) [CONS-003]."""
    require(1 <= len(tokens) <= MAX_TRAJECTORY, "CONS-003", BAD,
            f"a trajectory holds 1 to {MAX_TRAJECTORY} tokens, got {len(tokens)}")
    for t in tokens:
        require(isinstance(t, int) and not isinstance(t, bool) and 0 <= t <= MAX_TOKEN,
                "CONS-003", BAD, f"token {t!r} is not an integer from 0 to {MAX_TOKEN}")


def compute_trajectory_hash(tokens: Sequence[int]) -> bytes:
    """BLAKE3-256 of the canonical CBOR array of the token ids [CONS-004]."""
    # Callers (cons.circuit, the LoraConsolidate field check) check the trajectory first.
    # equivalent mutant (stmt-remove): every caller has already checked the trajectory
    check_trajectory(tokens)
    value: wire_format.Value = list(tokens)
    return blake3.blake3(wire_format.encode_canonical(value)).digest()


def compute_circuit_stream(model_id: str, trajectory: bytes) -> list[int]:
    """The first STREAM_WORDS little-endian uint32 words of the circuit stream [CONS-005]."""
    label = ("strata/cons/circuit/" + model_id + "/" + trajectory.hex()).encode("utf-8")
    data = blake3.blake3(label).digest(length=4 * STREAM_WORDS)
    return list(struct.unpack(f"<{STREAM_WORDS}I", data))


def compute_components(w: Sequence[int]) -> tuple[Component, ...]:
    """The two components from the stream words, as section 3.3's table says [CONS-006]."""
    n = len(hierarchy.TARGETS)
    first = w[0] % n
    targets = (first, (first + 1 + w[1] % (n - 1)) % n)  # two different targets
    out: list[Component] = []
    for k, index in enumerate(targets):
        target = hierarchy.TARGETS[index]
        rows_of_b = hierarchy.TARGET_SHAPES[target][0]  # 64 or 256: a power of two
        start = w[4 + 2 * k] % rows_of_b
        # equivalent mutant (arith-swap, const): only step mod rows_of_b matters, and
        # 2 (w mod d) + 1 = 2 w + 1 mod rows_of_b whenever rows_of_b divides 2 d (d = rows_of_b
        # // 2, rows_of_b // 1 or rows_of_b * 2)
        step = 2 * (w[5 + 2 * k] % (rows_of_b // 2)) + 1  # odd, so the rows are distinct
        rows = tuple((start + m * step) % rows_of_b for m in range(WIDTH))
        # [CONS-006] (u / 2^31 - 1) is exact in binary64; rounded once to binary32 (scale 1)
        values = tuple(to_f32(w[8 + WIDTH * k + m] / 2**31 - 1.0) for m in range(WIDTH))
        out.append(Component(target, w[2 + k] % SLOTS, rows, values))
    return tuple(out)


def compute_circuit_id(model_id: str, trajectory: bytes,
                       components: Sequence[Component]) -> bytes:
    """BLAKE3-256 of the circuit's definition, a CBOR map without floats [CONS-007]."""
    value: wire_format.Value = {
        "model": model_id,
        "trajectory": trajectory,
        "components": [[c.target, c.slot, list(c.rows)] for c in components],
    }
    return blake3.blake3(wire_format.encode_canonical(value)).digest()


def extract_circuit(model_id: str, tokens: Sequence[int]) -> Circuit:
    """The circuit of a trajectory under a base model (section 3)."""
    trajectory = compute_trajectory_hash(tokens)
    components = compute_components(compute_circuit_stream(model_id, trajectory))
    return Circuit(compute_circuit_id(model_id, trajectory, components), trajectory,
                   tuple(tokens), components)


def get_values(circuit: Circuit) -> list[float]:
    """The circuit's element values in element order: component, then row (section 3.3)."""
    return [v for c in circuit.components for v in c.values]


def get_positions(circuit: Circuit, rank: int) -> list[Position]:
    """Where each element lands in a layer of rank r: column slot mod r [CONS-008]."""
    # [CONS-008] the rank rule: no SVD, a fold of the eight circuit slots onto r columns
    return [(TARGET_INDEX[c.target], row, c.slot % rank) for c in circuit.components
            for row in c.rows]


def compute_cost(circuit: Circuit, rank: int) -> int:
    """The parameters a circuit writes in a layer: its distinct positions [CONS-009]."""
    return len(set(get_positions(circuit, rank)))


def compute_delta_values(values: Sequence[float], strength: float) -> list[float]:
    """binary32(strength x v) for each element (section 3.5) [CONS-010]."""
    return [to_f32(strength * v) for v in values]


# --- quality and strength (section 4) -------------------------------------------------------


def compute_quality(output: Sequence[int], expected: Sequence[int]) -> float:
    """Matching positions over the expected length: the reference evaluator [CONS-012]."""
    require(len(expected) >= 1, "CONS-012", BAD, "the expected continuation is empty")
    matches = sum(1 for i, t in enumerate(expected) if i < len(output) and output[i] == t)
    return float(matches) / float(len(expected))


def is_quality_admitted(quality: float) -> bool:
    """A consolidation passes the quality gate at 0.5 or more [CONS-013]."""
    return quality >= QUALITY_MIN


def compute_hit_rate(hits: int, uses: int) -> float:
    """WaveGen's hit rate: hits / uses, and 0 when nothing was used [CONS-014]."""
    return 0.0 if uses == 0 else float(hits) / float(uses)


def compute_strength(quality: float, hits: int, uses: int) -> float:
    """sigma = (0.1 x q) x (1 + h) [CONS-014]."""
    return (S_CONSOLIDATE * quality) * (1.0 + compute_hit_rate(hits, uses))


# --- screening (section 7) --------------------------------------------------------------------


def is_screened(activity: int, threshold: float) -> bool:
    """A parameter is SCREENED exactly when its activity reaches the threshold [CONS-029]."""
    return float(activity) >= threshold


# --- stability (section 8) --------------------------------------------------------------------


def compute_autocorrelation(series: Sequence[int]) -> float:
    """Lag-1 autocorrelation; a constant series is 1 when active, else 0 [CONS-033]."""
    n = len(series)
    mean = float(sum(series)) / float(n)
    d = [float(x) - mean for x in series]
    den = 0.0
    for x in d:
        den += x * x
    if den == 0.0:  # [CONS-033] zero variance: every count equal, no division
        # equivalent mutant (const): every count is equal here, so series[-1] is series[0]
        return 1.0 if series[0] > 0 else 0.0
    num = 0.0
    for i in range(n - 1):
        num += d[i] * d[i + 1]
    return num / den


def is_stable(series: Sequence[int]) -> tuple[bool, float]:
    """(stable, rho): at least 4 activations and rho >= 0.5 [CONS-034]."""
    rho = compute_autocorrelation(series)
    return sum(series) >= MIN_ACTIVATIONS and rho >= STABLE_THRESHOLD, rho


# --- queues and bandwidth (section 9) --------------------------------------------------------


@attrs.frozen
class Entry:
    """A pending migration into one target instance (section 9.1)."""

    circuit: bytes
    source: bytes  # the source instance's agent, empty for a shared source
    priority: float  # the autocorrelation at which the circuit became stable
    cost: int


def order_queue(entries: Sequence[Entry]) -> list[Entry]:
    """Priority descending, then circuit id bytes, then source agent bytes [CONS-037]."""
    return sorted(entries, key=lambda e: (-e.priority, e.circuit, e.source))


def compute_layer_parameters(layer: str) -> int:
    """The parameters of a layer: r x (out + in) over the twelve targets [CONS-038]."""
    rank = RANK[layer]
    return sum(rank * (o + i) for o, i in (hierarchy.TARGET_SHAPES[t]
                                           for t in hierarchy.TARGETS))


def compute_budget(layer: str) -> int:
    """The per-tick bandwidth of a target layer: floor(parameters / 100) [CONS-038]."""
    return compute_layer_parameters(layer) // BANDWIDTH_DIVISOR


def fits_budget(used: int, cost: int, budget: int) -> bool:
    """Whether a migration of `cost` still fits a tick that has used `used` [CONS-042]."""
    return used + cost <= budget


def process_tick(entries: Sequence[Entry], budget: int, used: int) -> tuple[list[Entry], int]:
    """The migrations of one tick: heads in order while they fit, no overtaking [CONS-039]."""
    selected: list[Entry] = []
    for entry in order_queue(entries):
        if not fits_budget(used, entry.cost, budget):
            break  # [CONS-039] strict priority: the head waits for the next tick
        selected.append(entry)
        used += entry.cost
    return selected, used


# --- resonance (section 10) ------------------------------------------------------------------


def compute_alignment(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two vectors in index order; 0 when either norm is 0 [CONS-045]."""
    dot = na = nb = 0.0
    # equivalent mutant (const): every caller passes equal lengths (the driver rejects others,
    # section 13; the projection builds both vectors on one union of positions)
    for x, y in zip(a, b, strict=True):
        dot += x * y
        na += x * x
        nb += y * y
    if na == 0.0 or nb == 0.0:
        return 0.0  # [CONS-045] no direction, no alignment: no division by zero
    cos = dot / (math.sqrt(na) * math.sqrt(nb))
    return min(1.0, max(-1.0, cos))


def compute_resonance_factor(alignment: float) -> float:
    """1 + 0.5 rho for rho >= 0 (amplify), 1 + 0.5 rho for rho < 0 (damp) [CONS-046]."""
    # ALPHA == BETA == 0.5 (section 2.2): both branches compute the same factor.
    # equivalent mutant (cmp-flip, not-insert, stmt-remove): ALPHA == BETA, same factor
    if alignment >= 0.0:
        # equivalent mutant (stmt-remove): ALPHA == BETA: the BETA line gives the same factor
        return 1.0 + ALPHA * alignment
    return 1.0 + BETA * alignment  # [CONS-046] BETA > 0: a factor below 1 (errata E1)


def compute_combined(a: Sequence[float], b: Sequence[float], factor: float) -> list[float]:
    """The combined gradient factor x (a + b), elementwise [CONS-047]."""
    # equivalent mutant (const): both callers (cons.resonance, projection) pass equal lengths
    return [factor * (x + y) for x, y in zip(a, b, strict=True)]


def compute_vertical_alignment(context: Sequence[float], agent: Sequence[float],
                               swarm: Sequence[float]) -> float:
    """The mean of the three pairwise cosines, in the order written [CONS-050]."""
    total = compute_alignment(context, agent) + compute_alignment(agent, swarm)
    total = total + compute_alignment(context, swarm)
    return total / 3.0


def is_fast_track(alignment: float) -> bool:
    """A circuit is fast-tracked to domain at vertical alignment 0.9 or more [CONS-051]."""
    return alignment >= V_THRESHOLD


def compute_fast_track_strength(alignment: float) -> float:
    """S_MIGRATE x (1 + gamma x alignment) [CONS-052]."""
    return S_MIGRATE * (1.0 + GAMMA * alignment)


# --- homeostasis (section 11) -----------------------------------------------------------------


def compute_entropy(fraction: float) -> float:
    """The screening entropy (4 x s) x (1 - s), 1 at s = 0.5 and 0 at 0 and 1 [CONS-053]."""
    return (4.0 * fraction) * (1.0 - fraction)


@attrs.frozen
class HomeostasisStep:
    """One homeostasis step of a layer instance (section 11.2)."""

    ratio: float
    side: str  # "crystallized", "amnesic" or "balanced"
    threshold: float  # after the step
    screened_before: int
    screened_after: int


def check_threshold(threshold: float) -> None:
    """A screening threshold is a finite number from 1 to 64 (section 7.1) [CONS-030]."""
    require(math.isfinite(threshold) and TAU_MIN <= threshold <= TAU_MAX, "CONS-030", BAD,
            f"a screening threshold is from {TAU_MIN} to {TAU_MAX}, got {threshold!r}")


def step_homeostasis(layer: str, threshold: float, activities: Sequence[int]) -> HomeostasisStep:
    """Move the threshold toward the layer's entropy budget, from either side [CONS-054]."""
    check_threshold(threshold)
    require(len(activities) >= 1, "CONS-054", BAD, "homeostasis needs parameter records")
    before = sum(1 for a in activities if is_screened(a, threshold))
    fraction = float(before) / float(len(activities))
    budget = BUDGET[layer]
    ratio = compute_entropy(fraction) / compute_entropy(budget)  # [CONS-053]
    # A ratio of exactly 0.5 needs 4s(1-s) = 0.5 x 4b(1-b), whose roots s are irrational for
    # b = 0.25, 0.5, 0.75; no fraction k/n (searched n to 200000) hits it after rounding.
    # equivalent mutant (cmp-flip): no record count gives a ratio of exactly 0.5
    if ratio >= RATIO_LOW:
        side, after_tau = "balanced", threshold
    # equivalent mutant (cmp-flip): at fraction == budget the ratio is 1, so balanced above
    elif fraction > budget:  # crystallized: too rigid, raise the threshold (the blueprint)
        side, after_tau = "crystallized", min(threshold * TAU_STEP, TAU_MAX)
    else:  # amnesic: too fluid, lower the threshold (errata E3)
        side, after_tau = "amnesic", max(threshold / TAU_STEP, TAU_MIN)
    after = sum(1 for a in activities if is_screened(a, after_tau))
    return HomeostasisStep(ratio, side, after_tau, before, after)
