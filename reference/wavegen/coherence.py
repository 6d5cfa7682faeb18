"""Chapter 14: step observations, the trajectory and its coherence (spec/14-wavegen.md section 2).

A step's coherence is one minus the normalised entropy of the softmax of its logits,
computed in binary64 with natural logarithms and divided by ln(n) for n logits: 1 for a
certain pick, 0 for a uniform distribution. The coherence of a trajectory is the mean
of its last w observed steps. Both are exact definitions that cost one softmax per step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import torch

from reference._require import require
from reference.introduction import ErrorCode

BAD = ErrorCode.E_PAYLOAD_INVALID


@attrs.frozen
class StepObservation:
    """One emitted token of an inference (section 2.1).

    `logits` (V,) and `activations` (C,) are those of the position whose greedy pick
    emitted the token; a jumped step (section 5.4) was never computed and has neither,
    nor a coherence.
    """

    step_index: int
    token_id: int
    logits: torch.Tensor | None  # (V,) binary32, or None for a jumped step
    activations: torch.Tensor | None  # (C,) binary32 final-norm hidden state, or None
    coherence: float | None  # 1 - H / ln(V) in binary64, or None for a jumped step

    @property
    def observed(self) -> bool:
        """Whether a forward pass computed this step (section 2.1)."""
        return self.coherence is not None


def check_logits(logits: torch.Tensor) -> None:
    """Rows of at least two logits, every one finite [WAVE-001]."""
    # a shape [0, n] holds no row: its coherences are no steps, whose mean compute_window_coherence
    # rejects as undefined
    require(logits.dim() in (1, 2) and logits.shape[-1] >= 2, "WAVE-001", BAD,
            f"coherence needs rows of at least 2 logits, got shape {tuple(logits.shape)}")
    require(bool(torch.isfinite(logits).all()), "WAVE-001", BAD, "logits are not all finite")


def compute_step_coherences(logits: torch.Tensor) -> list[float]:
    """1 - H(softmax(z)) / ln(n) per row of (K, n) binary32 logits, in binary64 [WAVE-001]."""
    check_logits(logits)
    rows = logits.reshape(-1, logits.shape[-1]).to(torch.float64)  # (K, n) binary64
    p = torch.softmax(rows, dim=-1)  # (K, n) binary64
    entropy = torch.special.entr(p).sum(dim=-1)  # (K,) -sum p ln p, with 0 ln 0 = 0
    scale = math.log(rows.shape[-1])  # ln(n): the entropy of the uniform distribution
    return [1.0 - float(h) / scale for h in entropy.tolist()]


def compute_window_coherence(steps: Sequence[float]) -> float:
    """The mean of step coherences, summed in step order in binary64 [WAVE-002]."""
    require(len(steps) > 0, "WAVE-002", BAD, "a window holds at least one step")
    total = 0.0
    for c in steps:  # [WAVE-002] in step order, binary64
        total += c
    return total / len(steps)


@attrs.define
class Trajectory:
    """The observations of one inference, in step order (section 2.1)."""

    steps: list[StepObservation] = attrs.Factory(list)
    observed: list[float] = attrs.Factory(list)  # coherences of the observed steps, in order

    def append(self, step: StepObservation) -> None:
        """Record the next emitted token."""
        self.steps.append(step)
        if step.coherence is not None:
            self.observed.append(step.coherence)

    @property
    def tokens(self) -> list[int]:
        """The emitted token ids."""
        return [s.token_id for s in self.steps]

    @property
    def verified(self) -> bool:
        """Whether every step was computed by a forward pass (section 5.4)."""
        return len(self.observed) == len(self.steps)


def get_trajectory_coherence(trajectory: Trajectory, window: int) -> float | None:
    """The coherence of the last `window` observed steps; None while fewer exist [WAVE-002]."""
    if len(trajectory.observed) < window:
        return None
    return compute_window_coherence(trajectory.observed[-window:])
