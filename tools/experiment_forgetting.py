"""The blueprint's comparison table, measured: forgetting and resonance (spec/15, seed 003).

`python -m tools.experiment_forgetting` trains adapters of the reference model
strata-tiny-1 (spec/13) with torch on the CPU and prints two tables; it writes them
with an SVG plot to reports/forgetting.{md,svg}. The whole run takes well under two
minutes. Nothing here is part of the spec: it measures what chapter 15's mechanisms do to
real learned deltas, which the chapter's synthetic circuits do not model.

Tasks are byte-string continuations, scored by the mean cross-entropy of the continuation
tokens given BOS and the prompt (teacher forcing):

- task A: red -> apple, blue -> ocean, green -> grass, gold -> coins;
- task B: one -> first, two -> pairs, six -> dicey, ten -> digit;
- task A' (conflicting with A): A's prompts with A's answers rotated by one.

Forgetting: each learner trains on A for EPISODES x STEPS Adam steps, then on B for as
many, and reports A's loss after A and after B.

- plain LoRA: the context-shaped adapter (rank 2, chapter 13's pristine A), B only;
- screening: the same adapter, plus chapter 15's screening: after each episode (a tick),
  the parameters the episode used most (top QUANTILE of |change| among FREE ones) are
  "written" (activity + 1, CONS-027), a parameter is SCREENED at activity >= threshold and
  locked from then on (CONS-029), and a homeostasis step runs (CONS-054);
- DynamicLoRA: screening, and once A's circuit is stable (CONS-034 over the episodes) the
  handoff of CONS-041: the agent layer gets 0.5 x the learned B pattern, folded by the rank
  rule (CONS-008), and the context is weakened by 0.3 x it and its parameters released;
- DynamicLoRA, shared A (an ablation, not chapter 13's hierarchy): the agent layer's A
  takes the context's A rows in the slots the fold uses, so the handoff keeps the function.

Resonance: two agents push gradients of their own tasks into one shared swarm-shaped
adapter (rank 4) by plain gradient descent on factor x (g_a + g_b): factor 1 (none),
chapter 15's 1 + 0.5 cos (CONS-046) or the blueprint's 1 + beta cos with beta = -0.5 for
conflicts (errata E1); for agreeing agents (both on A) and conflicting ones (A and A').
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import blake3
import torch

from reference.lora import consolidation as cons
from reference.lora import hierarchy, model

SEEDS = 3  # base models; every number is the mean over them (and the min-max range)
EPISODES, STEPS = 10, 15  # per task: 150 Adam steps
LR = 0.02
QUANTILE = 0.25  # an episode "writes" the quarter of FREE parameters it changed most
RESONANCE_STEPS, RESONANCE_LR = 60, 0.5
TASK_A = [("red ", "apple"), ("blue ", "ocean"), ("green ", "grass"), ("gold ", "coins")]
TASK_B = [("one ", "first"), ("two ", "pairs"), ("six ", "dicey"), ("ten ", "digit")]
TASK_A2 = [(p, TASK_A[(i + 1) % 4][1]) for i, (p, _) in enumerate(TASK_A)]
REPORTS = Path(__file__).resolve().parent.parent / "reports"
Task = Sequence[tuple[str, str]]
Adapters = dict[str, list[tuple[float, torch.Tensor, torch.Tensor]]]
TARGETS = hierarchy.TARGETS


def seed_of(k: int) -> bytes:
    return blake3.blake3(f"strata/experiments/forgetting/seed-{k}".encode()).digest()


def task_loss(base: hierarchy.BaseModel, adapters: Adapters, task: Task) -> torch.Tensor:
    """Mean cross-entropy of the continuation tokens (teacher forcing)."""
    total, count = torch.zeros(()), 0
    for prompt, answer in task:
        tokens = [256, *prompt.encode(), *answer.encode()]
        start = 1 + len(prompt.encode())
        logits = model.forward(torch.tensor([tokens]), base.weights, adapters)[0]  # (T, V)
        logp = torch.log_softmax(logits[start - 1:-1], dim=-1)  # (n, V)
        target = torch.tensor(tokens[start:])  # (n,)
        total = total - logp[torch.arange(len(target)), target].sum()
        count += len(target)
    return total / count


@attrs.define
class Layer:
    """One trainable layer: A fixed, B learned, with chapter 15's screening state."""

    rank: int
    a: dict[str, torch.Tensor]
    b: dict[str, torch.Tensor]
    activity: dict[str, torch.Tensor]  # per element of B, an integer count
    threshold: float = cons.TAU_INITIAL

    def screened(self) -> dict[str, torch.Tensor]:
        # [CONS-029] SCREENED exactly when activity >= threshold
        return {t: self.activity[t].double() >= self.threshold for t in TARGETS}

    def terms(self, scale: float = 2.0) -> Adapters:
        return {t: [(scale, self.a[t], self.b[t])] for t in TARGETS}


def new_layer(base: hierarchy.BaseModel, name: str) -> Layer:
    rank = next(s.rank for s in hierarchy.LAYERS if s.name == name)
    return Layer(rank, {t: base.pristine_a[(name, t)].clone() for t in TARGETS},
                 {t: torch.zeros(hierarchy.TARGET_SHAPES[t][0], rank, requires_grad=True)
                  for t in TARGETS},
                 {t: torch.zeros(hierarchy.TARGET_SHAPES[t][0], rank, dtype=torch.long)
                  for t in TARGETS})


def merge(*parts: Adapters) -> Adapters:
    out: Adapters = {t: [] for t in TARGETS}
    for part in parts:
        for t, terms in part.items():
            out[t] += terms
    return out


def train(base: hierarchy.BaseModel, layer: Layer, task: Task, frozen: Adapters,
          screening: bool, on_episode: Callable[[int], None] | None = None) -> None:
    """EPISODES x STEPS Adam steps on the layer's B; SCREENED elements stay locked."""
    opt = torch.optim.Adam(list(layer.b.values()), lr=LR)
    for episode in range(EPISODES):
        start = {t: layer.b[t].detach().clone() for t in TARGETS}
        locked = layer.screened() if screening else None
        for _ in range(STEPS):
            opt.zero_grad()
            loss = task_loss(base, merge(frozen, layer.terms()), task)
            parts = torch.autograd.grad(loss, [layer.b[t] for t in TARGETS])
            for t, g in zip(TARGETS, parts, strict=True):
                layer.b[t].grad = g
            opt.step()
            if locked is not None:  # [CONS-027] a SCREENED parameter is never written
                with torch.no_grad():
                    for t in TARGETS:
                        layer.b[t][locked[t]] = start[t][locked[t]]
        if screening and locked is not None:
            record_episode(layer, start, locked)
        if on_episode is not None:
            on_episode(episode)


def record_episode(layer: Layer, start: dict[str, torch.Tensor],
                   locked: dict[str, torch.Tensor]) -> None:
    """The episode's consolidation: activity + 1 where it wrote most, then homeostasis."""
    change = torch.cat([(layer.b[t].detach() - start[t]).abs()[~locked[t]] for t in TARGETS])
    if change.numel() == 0:
        return
    cut = torch.quantile(change, 1.0 - QUANTILE)
    for t in TARGETS:
        written = ((layer.b[t].detach() - start[t]).abs() >= cut) & ~locked[t] & (
            (layer.b[t].detach() - start[t]).abs() > 0)
        layer.activity[t] += written.long()  # [CONS-027]
    records = [int(x) for t in TARGETS for x in layer.activity[t].reshape(-1) if x > 0]
    if records:  # [CONS-054] one homeostasis step per tick toward the context's budget
        layer.threshold = cons.step_homeostasis("context", layer.threshold, records).threshold


def handoff(context: Layer, agent: Layer) -> None:
    """CONS-041: agent += 0.5 x fold(B), context += -0.3 x B, context released."""
    with torch.no_grad():
        for t in TARGETS:
            for j in range(context.rank):  # [CONS-008] slot j lands in column j mod r
                agent.b[t][:, j % agent.rank] += cons.S_MIGRATE * context.b[t][:, j]
            context.b[t] -= cons.S_WEAKEN * context.b[t]
            context.activity[t].zero_()  # [CONS-028] the weakening frees the source


@attrs.frozen
class ForgettingRow:
    name: str
    a_after_a: float
    a_after_handoff: float
    a_after_b: float
    b_after_b: float
    screened: float  # fraction of the context's B SCREENED at the end


def run_forgetting(seed: bytes, variant: str) -> ForgettingRow:
    torch.manual_seed(0)
    base = hierarchy.load_base_model(seed)
    context, agent = new_layer(base, "context"), new_layer(base, "agent")
    if variant == "shared":  # the ablation: the agent reads the context's input features
        for t in TARGETS:
            agent.a[t][: context.rank] = context.a[t]
    screening = variant != "plain"
    series: list[int] = []
    stable_at: list[int] = []

    def on_episode(episode: int) -> None:  # [CONS-032] one activation of A per tick
        series.append(1)
        window = ([0] * cons.WINDOW + series)[-cons.WINDOW:]
        if cons.is_stable(window)[0] and not stable_at:
            stable_at.append(episode)

    train(base, context, TASK_A, {}, screening, on_episode)
    def loss(task: Task, with_agent: bool = True) -> float:
        with torch.no_grad():
            terms = merge(agent.terms(), context.terms()) if with_agent else context.terms()
            return float(task_loss(base, terms, task))
    a_after_a = loss(TASK_A)
    if variant in ("dynamic", "shared") and stable_at:
        handoff(context, agent)
    a_after_handoff = loss(TASK_A)
    train(base, context, TASK_B, agent.terms(), screening)
    locked = context.screened()
    fraction = sum(float(locked[t].sum()) for t in TARGETS) / sum(
        locked[t].numel() for t in TARGETS)
    return ForgettingRow(variant, a_after_a, a_after_handoff, loss(TASK_A), loss(TASK_B),
                         fraction if screening else 0.0)


# --- resonance --------------------------------------------------------------------------------


def seed_factor(alignment: float) -> float:
    """The blueprint's factor: 1 + alpha cos, and 1 + beta cos with beta = -0.5 (errata E1)."""
    return 1.0 + cons.ALPHA * alignment if alignment >= 0 else 1.0 + (-0.5) * alignment


@attrs.frozen
class ResonanceRow:
    scenario: str
    formula: str
    loss_1: float
    loss_2: float
    alignment: float  # mean over the steps
    factor: float  # mean over the steps
    norm: float  # of the swarm's B at the end


def run_resonance(seed: bytes, scenario: str, formula: str) -> ResonanceRow:
    base = hierarchy.load_base_model(seed)
    swarm = new_layer(base, "swarm")
    tasks = (TASK_A, TASK_A) if scenario == "agreeing" else (TASK_A, TASK_A2)
    factor_of: Callable[[float], float] = {
        "none": lambda _: 1.0, "chapter 15": cons.compute_resonance_factor,
        "blueprint": seed_factor}[formula]
    alignments, factors = [], []
    for _ in range(RESONANCE_STEPS):
        grads = []
        for task in tasks:  # each agent's gradient w.r.t. the shared swarm layer
            parts = torch.autograd.grad(task_loss(base, swarm.terms(), task),
                                        [swarm.b[t] for t in TARGETS])
            grads.append(torch.cat([g.reshape(-1) for g in parts]).double())
        # [CONS-045] cosine alignment, in index order as chapter 15 fixes it
        rho = cons.compute_alignment(grads[0].tolist(), grads[1].tolist())
        f = factor_of(rho)
        alignments.append(rho)
        factors.append(f)
        combined = f * (grads[0] + grads[1])  # [CONS-047]
        with torch.no_grad():
            offset = 0
            for t in TARGETS:
                n = swarm.b[t].numel()
                swarm.b[t] -= RESONANCE_LR * combined[offset:offset + n].reshape(
                    swarm.b[t].shape).float()
                offset += n
    with torch.no_grad():
        losses = [float(task_loss(base, swarm.terms(), task)) for task in tasks]
    norm = math.sqrt(sum(float((swarm.b[t].detach() ** 2).sum()) for t in TARGETS))
    return ResonanceRow(scenario, formula, losses[0], losses[1],
                        sum(alignments) / len(alignments), sum(factors) / len(factors), norm)


# --- reporting ----------------------------------------------------------------------------------


def mean_range(values: Sequence[float]) -> tuple[float, float, float]:
    return sum(values) / len(values), min(values), max(values)


def fmt(values: Sequence[float]) -> str:
    m, lo, hi = mean_range(values)
    return f"{m:.3f} [{lo:.3f}, {hi:.3f}]"


LABELS = {"plain": "plain LoRA (rank 2, A then B)",
          "screening": "screening only (CONS-027..030, homeostasis)",
          "dynamic": "DynamicLoRA (screening + handoff to agent)",
          "shared": "DynamicLoRA, shared A (ablation)"}


def svg_plot(forgetting: dict[str, list[ForgettingRow]],
             resonance: dict[tuple[str, str], list[ResonanceRow]]) -> str:
    """Two bar charts, drawn by hand: task A's loss after A and after B; resonance losses."""
    width, height, pad = 860, 420, 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']

    def bars(x0: float, title: str, groups: list[tuple[str, list[tuple[str, float, str]]]],
             top: float) -> None:
        chart_w, chart_h = 380, 280
        y0 = pad + chart_h
        out.append(f'<text x="{x0}" y="{pad - 20}" font-size="13" font-weight="bold">'
                   f'{title}</text>')
        out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0 + chart_w}" y2="{y0}" stroke="black"/>')
        out.append(f'<line x1="{x0}" y1="{pad}" x2="{x0}" y2="{y0}" stroke="black"/>')
        for k in range(5):
            v = top * k / 4
            y = y0 - chart_h * k / 4
            out.append(f'<text x="{x0 - 5}" y="{y + 4}" text-anchor="end">{v:.1f}</text>')
        slot = chart_w / len(groups)
        for g, (label, items) in enumerate(groups):
            bw = slot * 0.8 / len(items)
            for i, (_, value, color) in enumerate(items):
                x = x0 + g * slot + slot * 0.1 + i * bw
                h = chart_h * min(value, top) / top
                out.append(f'<rect x="{x:.1f}" y="{y0 - h:.1f}" width="{bw:.1f}" '
                           f'height="{h:.1f}" fill="{color}"/>')
            out.append(f'<text x="{x0 + g * slot + slot / 2:.1f}" y="{y0 + 14}" '
                       f'text-anchor="middle">{label}</text>')

    groups = []
    for name, rows in forgetting.items():
        groups.append((name, [("after A", mean_range([r.a_after_a for r in rows])[0], "#4c72b0"),
                              ("after B", mean_range([r.a_after_b for r in rows])[0],
                               "#dd8452")]))
    top = max(v for _, items in groups for _, v, _ in items) * 1.1
    bars(pad + 10, "task A loss: after A (blue), after B (orange)", groups, top)
    rgroups = []
    for (scenario, formula), rrows in resonance.items():
        short = {"none": "none", "chapter 15": "ch15", "blueprint": "seed"}[formula]
        rgroups.append((f"{scenario[:3]} {short}",
                        [("agent 1", mean_range([r.loss_1 for r in rrows])[0], "#55a868"),
                         ("agent 2", mean_range([r.loss_2 for r in rrows])[0], "#c44e52")]))
    rtop = max(v for _, items in rgroups for _, v, _ in items) * 1.1
    bars(pad + 450, "resonance: each agent's loss (green 1, red 2)", rgroups, rtop)
    out.append("</svg>")
    return "\n".join(out)


def main() -> None:
    torch.set_num_threads(1)
    started = time.time()
    forgetting: dict[str, list[ForgettingRow]] = {v: [] for v in LABELS}
    resonance: dict[tuple[str, str], list[ResonanceRow]] = {
        (s, f): [] for s in ("agreeing", "conflicting")
        for f in ("none", "chapter 15", "blueprint")}
    for k in range(SEEDS):
        seed = seed_of(k)
        for variant in LABELS:
            forgetting[variant].append(run_forgetting(seed, variant))
        for scenario, formula in resonance:
            resonance[(scenario, formula)].append(run_resonance(seed, scenario, formula))
    lines = [f"# Forgetting and resonance on strata-tiny-1 ({SEEDS} base models; mean "
             "[min, max])", "",
             "Task A's loss after learning A, after the handoff, and after then learning B; "
             "B's loss at the end; the context's SCREENED fraction at the end.", "",
             "| learner | A after A | A after handoff | A after B | B after B | screened |",
             "| --- | --- | --- | --- | --- | --- |"]
    for variant, rows in forgetting.items():
        lines.append(f"| {LABELS[variant]} | {fmt([r.a_after_a for r in rows])} | "
                     f"{fmt([r.a_after_handoff for r in rows])} | "
                     f"{fmt([r.a_after_b for r in rows])} | {fmt([r.b_after_b for r in rows])}"
                     f" | {fmt([r.screened for r in rows])} |")
    lines += ["", f"Resonance: {RESONANCE_STEPS} steps of gradient descent (lr "
              f"{RESONANCE_LR}) of a shared swarm adapter on factor x (g1 + g2).", "",
              "| agents | factor | loss, agent 1 | loss, agent 2 | mean alignment | "
              "mean factor | swarm norm |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for (scenario, formula), rrows in resonance.items():
        lines.append(f"| {scenario} | {formula} | {fmt([r.loss_1 for r in rrows])} | "
                     f"{fmt([r.loss_2 for r in rrows])} | {fmt([r.alignment for r in rrows])} | "
                     f"{fmt([r.factor for r in rrows])} | {fmt([r.norm for r in rrows])} |")
    lines += ["", f"Untrained loss of task A: {fmt(baselines())}; run time "
              f"{time.time() - started:.0f} s."]
    text = "\n".join(lines)
    print(text)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "forgetting.md").write_text(text + "\n", encoding="utf-8")
    (REPORTS / "forgetting.svg").write_text(svg_plot(
        {v: forgetting[v] for v in LABELS}, resonance) + "\n", encoding="utf-8")
    (REPORTS / "forgetting.json").write_text(json.dumps({
        "forgetting": {v: [attrs.asdict(r) for r in rows] for v, rows in forgetting.items()},
        "resonance": [attrs.asdict(r) for rrows in resonance.values() for r in rrows],
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {REPORTS / 'forgetting.md'}, forgetting.svg, forgetting.json")


def baselines() -> list[float]:
    out = []
    for k in range(SEEDS):
        base = hierarchy.load_base_model(seed_of(k))
        with torch.no_grad():
            out.append(float(task_loss(base, {}, TASK_A)))
    return out


if __name__ == "__main__":
    main()
