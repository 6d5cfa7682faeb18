"""Chapter 11 section 4.8: salience, the seed's pattern equation dP/dt = D lap P + f(P) made exact.

On the undirected provenance graph of live knowledge records, with L = Deg - Adj:

    P_{t+1} = clamp01(P_t + DT * (-D * L P_t - LAMBDA * P_t + ALPHA * P_t * (1 - P_t) + I))

from P_0 = 0, every node at once, in float64 with each operation rounded on its own
and evaluated in the order written in the spec [ENG-038].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DT = 0.1  # time step: DT * (D * 2 * degree + LAMBDA) < 2 keeps a step stable below degree 95
D = 0.1  # diffusion coefficient: the share of salience that flows along citations
LAMBDA = 1.0  # decay: without input salience fades (forgetting)
ALPHA = 0.5  # logistic reinforcement f(P) = ALPHA * P * (1 - P); ALPHA < LAMBDA: 0 is stable
STEPS = 64  # default number of steps: a lone node is within 4% of its fixed point
MAX_STEPS = 1024  # largest number of steps a query may ask for


def step(nodes: Sequence[bytes], neighbours: Mapping[bytes, Sequence[bytes]],
         inputs: Mapping[bytes, float], p: Mapping[bytes, float]) -> dict[bytes, float]:
    """One step of the salience equation for every node, from the same P_t [ENG-038]."""
    out: dict[bytes, float] = {}
    for node in nodes:
        x = p[node]
        adjacent = neighbours.get(node, ())
        lp = float(len(adjacent)) * x  # (L P)_i = deg_i * P_i - sum of neighbours' P
        for other in adjacent:  # ascending id bytes
            lp = lp - p[other]
        a = D * lp
        b = LAMBDA * x
        c = (ALPHA * x) * (1.0 - x)
        delta = (((-a) - b) + c) + inputs.get(node, 0.0)
        y = x + DT * delta
        out[node] = 0.0 if y < 0.0 else 1.0 if y > 1.0 else y  # clamp to [0, 1]
    return out


def compute_salience(nodes: Sequence[bytes], neighbours: Mapping[bytes, Sequence[bytes]],
                     inputs: Mapping[bytes, float], steps: int = STEPS) -> list[float]:
    """P_steps for `nodes` (ascending id bytes), from P_0 = 0 (section 4.8) [ENG-038]."""
    p = {node: 0.0 for node in nodes}
    for _ in range(steps):
        p = step(nodes, neighbours, inputs, p)
    return [p[node] for node in nodes]
