"""Vectors of chapter 13, the LoRA hierarchy (spec/13-lora-hierarchy.md).

Derivations: `seed(label)` = BLAKE3(b"strata/vectors/lora/seed-" + label) (32 bytes);
`op(label)` = 0x01 followed by the first 16 bytes of
BLAKE3(b"strata/vectors/lora/op-" + label), an OpId in byte form. Deltas are named by
label in the notation of section 9.2. Logit outputs carry the tolerance of section 7.3.

Generation checks what each case claims: merged cases agree with their unmerged twins,
zero-scale cases equal the base bit for bit, hashes differ (or agree) where the case says
so, and a decoding is kept only while every step's top-2 margin exceeds ten times the
tolerance; a case that falls short is shortened to its wide-margin prefix or dropped.
"""

from __future__ import annotations

from typing import Any

import attrs
import blake3
import torch

from reference.driver import dispatch
from reference.driver import lora as lora_driver
from reference.lora import generator, hierarchy, model
from tools.vectorgen import Case, GenerationError, Result, VectorFile

FOLDER, CHAPTER = "lora", "13-lora-hierarchy"
TOLERANCE = {"atol": 1e-4, "rtol": 1e-4}  # logits (section 7.3)
EXACT = {"atol": 0.0, "rtol": 0.0}  # generated weights are exact (section 3.3)
MARGIN_FACTOR = 10.0
PREFIX = b"strata/vectors/lora/"


def seed(label: str) -> str:
    return blake3.blake3(PREFIX + b"seed-" + label.encode()).hexdigest()


def op(label: str) -> str:
    return "01" + blake3.blake3(PREFIX + b"op-" + label.encode()).digest()[:16].hex()


ZERO = "00" * 32
SEED_A, SEED_B = seed("a"), seed("b")
SEEDS_COMMENT = (
    'Seeds: ZERO = 32 zero bytes; A = blake3(b"strata/vectors/lora/seed-a"), '
    'B = ...seed-b. Op ids: 0x01 || blake3(b"strata/vectors/lora/op-<label>")[:16]. '
    'An update {"b": {"label": L, "scale": c}} adds the generator tensor "update/L" '
    "(shape (out, r), scale c) to B (section 9.2).")


def ensure(cond: bool, message: str) -> None:
    """Stop generation when a case lacks the property it claims."""
    if not cond:
        raise GenerationError(message)


def run(command: str, args: dict[str, Any]) -> Any:
    response = dispatch({"id": 0, "cmd": command, "args": args})
    ensure(response["ok"], f"{command}: the reference rejected {args}: {response.get('error')}")
    return response["result"]


def case(case_id: str, reqs: tuple[str, ...], description: str, command: str,
         args: dict[str, Any], comment: str | None = None, floats: bool = False,
         tolerance: dict[str, float] | None = None) -> Case:
    """A valid case; `floats` marks f32 outputs, compared within `tolerance` (section 7.3's
    by default)."""
    fields: dict[str, Any] = {"id": case_id, "requirements": reqs, "description": description,
                              "command": command, "input": args, "result": "valid",
                              "comment": comment}
    if floats:
        # spec/16 section 2.1: a case with f32 outputs carries its tolerance.
        ensure("tolerance" in attrs.fields_dict(Case),
               "tools.vectorgen.Case needs a `tolerance: dict[str, float] | None = None` field "
               "that build_case writes as the case's \"tolerance\" (spec/16 section 2.1)")
        fields["tolerance"] = dict(tolerance or TOLERANCE)
    return Case(**fields)


def bad(case_id: str, reqs: tuple[str, ...], description: str, command: str,
        args: dict[str, Any], error: str, comment: str | None = None) -> Case:
    result: Result = "invalid"
    return Case(case_id, reqs, description, command, args, result, comment=comment, error=error)


def upd(layer: str, target: str, op_label: str, label: str, scale: float,
        a: tuple[str, float] | None = None) -> dict[str, Any]:
    """An update in the notation of section 9.2."""
    out: dict[str, Any] = {"layer": layer, "target": target, "op_id": op(op_label),
                           "b": {"label": label, "scale": scale}}
    if a is not None:
        out["a"] = {"label": a[0], "scale": a[1]}
    return out


def logits_of(command: str, args: dict[str, Any]) -> torch.Tensor:
    raw = bytes.fromhex(run(command, args)["logits"]["f32"])
    return torch.tensor(generator.decode_f32(raw))


def close(a: torch.Tensor, e: torch.Tensor) -> bool:
    return bool(((a - e).abs() <= TOLERANCE["atol"] + TOLERANCE["rtol"] * e.abs()).all())


# --- weights and the model id (sections 3, 4.2, 4.4, 5.2) --------------------------


def weight_cases() -> list[Case]:
    cases = []
    tensors = [("tok_emb", ("LORA-003", "LORA-004", "LORA-005")),
               ("pos_emb", ("LORA-004", "LORA-005")),
               ("blocks.0.attn.q", ("LORA-004", "LORA-005")),
               ("blocks.1.attn.o", ("LORA-004", "LORA-005")),
               ("blocks.0.mlp.up", ("LORA-004", "LORA-005")),
               ("blocks.1.mlp.down", ("LORA-004", "LORA-005")),
               ("blocks.0.attn_norm", ("LORA-005",)),
               ("blocks.1.mlp_norm", ("LORA-005",)),
               ("final_norm", ("LORA-005",)),
               ("lora/foundation/blocks.0.attn.q/A", ("LORA-004", "LORA-010")),
               ("lora/context/blocks.1.mlp.down/A", ("LORA-004", "LORA-010")),
               ("lora/swarm/blocks.1.mlp.up/A", ("LORA-004", "LORA-010"))]
    sizes = {s.name: s.shape for s in model.get_tensor_specs()}
    ranks = {s.name: s.rank for s in hierarchy.LAYERS}
    for label, s in (("zero", ZERO), ("a", SEED_A)):
        for name, reqs in tensors:
            if name.startswith("lora/"):
                layer, target = name.split("/")[1:3]
                shape: tuple[int, ...] = (ranks[layer], hierarchy.TARGET_SHAPES[target][1])
            else:
                shape = sizes[name]
            n = shape[0] * (shape[1] if len(shape) > 1 else 1)
            indices = sorted({0, 1, n // 2, n - 1})
            slug = name.replace("/", "-").replace(".", "-").lower()
            cases.append(case(f"{label}-{slug}", reqs,
                              f"{name} of seed {label}: elements {indices} (first, second, "
                              "middle, last, row-major)", "lora.weights",
                              {"seed": s, "name": name, "indices": indices},
                              comment="Generated values are exact: tolerance zero.",
                              floats=True, tolerance=EXACT))
    cases += [
        case("model-id-zero", ("LORA-006",), "The id of the zero seed (section 4.4's example).",
             "lora.model_id", {"seed": ZERO}),
        case("model-id-a", ("LORA-006",), "The id of seed A.", "lora.model_id",
             {"seed": SEED_A}),
        bad("seed-31-bytes", ("LORA-002", "LORA-006"),
            "A seed one byte short: it has no model id.", "lora.model_id",
            {"seed": "00" * 31}, "E_PAYLOAD_INVALID", comment="Boundary: 31 bytes."),
        bad("seed-33-bytes", ("LORA-002",), "A seed one byte long.", "lora.weights",
            {"seed": "00" * 33, "name": "tok_emb", "indices": [0]}, "E_PAYLOAD_INVALID",
            comment="Boundary: 33 bytes; the seed is checked before the tensor name."),
        bad("unknown-tensor-lm-head", ("LORA-028", "LORA-005"),
            "There is no lm_head tensor: the head is tok_emb.", "lora.weights",
            {"seed": ZERO, "name": "lm_head", "indices": [0]}, "E_PAYLOAD_INVALID"),
        bad("unknown-a-layer", ("LORA-028",), "An A matrix of a layer that does not exist.",
            "lora.weights", {"seed": ZERO, "name": "lora/team/blocks.0.attn.q/A",
                             "indices": [0]}, "E_PAYLOAD_INVALID"),
        case("index-first-and-last", ("LORA-028",), "Indices 0 and 4095 of a (64, 64) matrix.",
             "lora.weights", {"seed": ZERO, "name": "blocks.0.attn.k", "indices": [0, 4095]},
             comment="Boundaries: the first and the last element.", floats=True,
             tolerance=EXACT),
        bad("index-negative", ("LORA-028",), "Index -1 of a (64, 64) matrix.",
            "lora.weights", {"seed": ZERO, "name": "blocks.0.attn.k", "indices": [0, -1]},
            "E_PAYLOAD_INVALID", comment="Boundary: one below the first element, 0."),
        bad("index-past-end", ("LORA-028",), "Index 4096 of a (64, 64) matrix.",
            "lora.weights", {"seed": ZERO, "name": "blocks.0.attn.k", "indices": [0, 4096]},
            "E_PAYLOAD_INVALID", comment="Boundary: one past the last element, 4095."),
    ]
    return cases


# --- the base model forward (section 4.3) --------------------------------------------


PROMPTS = [("bos", [256]), ("hello", [256, *b"hello"]),
           ("fox", [256, *b"The quick brown fox jumps over the lazy dog."]),
           ("json", [256, *b'{"a": [1, 2, 3]}'])]
FULL = [256] + [(i * 37) % 256 for i in range(127)]  # 128 tokens


def model_cases() -> list[Case]:
    cases = []
    for label, s in (("zero", ZERO), ("a", SEED_A)):
        for name, tokens in PROMPTS:
            reqs = ("LORA-001", "LORA-008", "LORA-007") if len(tokens) == 1 else (
                "LORA-001", "LORA-008")
            cases.append(case(f"base-{label}-{name}", reqs,
                              f"Base logits of seed {label}, prompt {name} ({len(tokens)} "
                              "tokens), last position.", "lora.forward",
                              {"seed": s, "tokens": tokens}, floats=True))
    cases += [
        case("base-full-context", ("LORA-007", "LORA-008"),
             "A sequence of exactly 128 tokens is accepted.", "lora.forward",
             {"seed": SEED_A, "tokens": FULL}, floats=True,
             comment="Boundary: the context length. Token p >= 1 is (37 * (p - 1)) mod 256."),
        case("base-eos-bos-inside", ("LORA-007", "LORA-008"),
             "BOS and EOS may appear anywhere in a sequence given to the model.",
             "lora.forward", {"seed": SEED_B, "tokens": [257, 256, 0, 255, 257]}, floats=True,
             comment="Boundary: the smallest and largest token ids."),
        bad("tokens-empty", ("LORA-007",), "An empty sequence.", "lora.forward",
            {"seed": ZERO, "tokens": []}, "E_PAYLOAD_INVALID"),
        bad("token-258", ("LORA-007",), "Token id 258, one past EOS.", "lora.forward",
            {"seed": ZERO, "tokens": [256, 258]}, "E_PAYLOAD_INVALID"),
        bad("token-negative", ("LORA-007",), "Token id -1.", "lora.forward_merged",
            {"seed": ZERO, "tokens": [256, -1]}, "E_PAYLOAD_INVALID"),
        bad("tokens-129", ("LORA-007",), "129 tokens, one past the context.", "lora.forward",
            {"seed": ZERO, "tokens": [*FULL, 0]}, "E_PAYLOAD_INVALID"),
    ]
    return cases


# --- adapters: unmerged and merged (sections 5, 7) ----------------------------------


ADAPTED = [256, *b"LoRA: five layers, one snapshot."]
ALL_LAYERS = [upd(layer, t, f"all-{layer}", f"all-{layer}-{t}", 0.1)
              for layer in hierarchy.LAYER_NAMES
              for t in ("blocks.0.attn.q", "blocks.0.attn.v", "blocks.1.mlp.down")]
ADAPTER_SETS: list[tuple[str, str, tuple[str, ...], list[dict[str, Any]]]] = [
    *[(f"one-{layer}", f"One update of B in the {layer} layer on blocks.1.attn.o.",
       ("LORA-009", "LORA-010", "LORA-014", "LORA-020"),
       [upd(layer, "blocks.1.attn.o", f"one-{layer}", f"one-{layer}", 0.2)])
      for layer in hierarchy.LAYER_NAMES],
    ("all-layers", "B updated in all five layers on three targets each (layer-order sums).",
     ("LORA-009", "LORA-014", "LORA-020"), ALL_LAYERS),
    ("mlp-both-blocks", "The domain layer adapts mlp.up and mlp.down of both blocks in one op.",
     ("LORA-014", "LORA-020"),
     [upd("domain", f"blocks.{i}.mlp.{m}", "mlp", f"mlp-{i}-{m}", 0.1)
      for i in (0, 1) for m in ("up", "down")]),
    ("delta-a", "An update that also changes A (agent layer, blocks.0.attn.k).",
     ("LORA-011", "LORA-014", "LORA-020"),
     [upd("agent", "blocks.0.attn.k", "delta-a", "da-b", 0.3, ("da-a", 0.05))]),
    ("twice-same-target", "Two ops add to one adapter of the context layer.",
     ("LORA-011", "LORA-014", "LORA-020"),
     [upd("context", "blocks.0.attn.q", "t1", "t1", 0.2),
      upd("context", "blocks.0.attn.q", "t2", "t2", -0.1)]),
]


def adapter_cases() -> list[Case]:
    cases = []
    base_logits = logits_of("lora.forward", {"seed": SEED_A, "tokens": ADAPTED})
    for slug, description, reqs, updates in ADAPTER_SETS:
        args = {"seed": SEED_A, "tokens": ADAPTED, "updates": updates}
        unmerged = logits_of("lora.forward", args)
        merged = logits_of("lora.forward_merged", args)
        ensure(close(merged, unmerged), f"{slug}: merged and unmerged differ")
        ensure(float((unmerged - base_logits).abs().max()) > 1e-2,
               f"{slug}: the adapters barely move the logits; the case would not bite")
        cases.append(case(f"{slug}-unmerged", ("LORA-001", "LORA-008", *reqs), description,
                          "lora.forward",
                          args, floats=True))
        cases.append(case(f"{slug}-merged", ("LORA-022", "LORA-023", *reqs),
                          description + " Merged weights.", "lora.forward_merged", args,
                          floats=True))
    zero = [upd(layer, t, f"zero-{layer}", f"zero-{layer}-{t}", 0.0, ("zero-a", 0.25))
            for layer in hierarchy.LAYER_NAMES for t in ("blocks.0.attn.q", "blocks.1.mlp.up")]
    zero_args = {"seed": SEED_A, "tokens": ADAPTED, "updates": zero}
    ensure(run("lora.forward", zero_args) == run("lora.forward", {"seed": SEED_A,
                                                                  "tokens": ADAPTED}),
           "zero-scale updates changed the unmerged logits")
    cases += [
        case("zero-b-unmerged", ("LORA-021", "LORA-010"),
             "Updates whose delta_B is zero (scale 0) and whose delta_A is not: the base logits.",
             "lora.forward", zero_args, floats=True,
             comment="The output equals lora.forward of seed A for these tokens with no "
                     "updates; the property check lora.zero_b_is_base compares bit for bit."),
        case("zero-b-merged", ("LORA-021", "LORA-022"),
             "The same zero-B updates through merged weights: the base logits.",
             "lora.forward_merged", zero_args, floats=True),
    ]
    a = upd("agent", "blocks.0.attn.q", "x", "x", 0.1)
    cases += [
        bad("update-not-object", ("CONF-005", "LORA-011"),
            "An update given as a number: a malformed request, before any check of LORA-011.",
            "lora.forward", {"seed": SEED_A, "tokens": [256], "updates": [5]},
            "E_BAD_REQUEST"),
        bad("unknown-layer", ("LORA-011",), "Layer 'team' does not exist.", "lora.forward",
            {"seed": SEED_A, "tokens": [256], "updates": [{**a, "layer": "team"}]},
            "E_PAYLOAD_INVALID"),
        bad("unknown-target", ("LORA-011",), "blocks.0.attn.qkv is not a target.",
            "lora.forward", {"seed": SEED_A, "tokens": [256],
                             "updates": [{**a, "target": "blocks.0.attn.qkv"}]},
            "E_PAYLOAD_INVALID"),
        bad("target-block-2", ("LORA-011",), "There is no block 2.", "lora.forward",
            {"seed": SEED_A, "tokens": [256], "updates": [{**a, "target": "blocks.2.mlp.up"}]},
            "E_PAYLOAD_INVALID", comment="Boundary: one past the last block."),
        bad("layer-before-op-id", ("LORA-011",),
            "Unknown layer and malformed op id: the layer is checked first.", "lora.forward",
            {"seed": SEED_A, "tokens": [256],
             "updates": [{**a, "layer": "team", "op_id": "01" * 16}]}, "E_PAYLOAD_INVALID"),
        bad("op-id-16-bytes", ("LORA-011", "ID-002"), "An op id of 16 bytes.", "lora.forward",
            {"seed": SEED_A, "tokens": [256], "updates": [{**a, "op_id": op("x")[:-2]}]},
            "E_ID_MALFORMED"),
        bad("op-id-kind-evidence", ("LORA-011", "ID-004"), "An EvidenceId (kind 0x02) as op id.",
            "lora.forward", {"seed": SEED_A, "tokens": [256],
                             "updates": [{**a, "op_id": "02" + op("x")[2:]}]}, "E_ID_KIND"),
        bad("op-id-before-delta", ("LORA-011", "ID-002"),
            "Malformed op id and an overflowing scale: the op id is checked first.",
            "lora.forward", {"seed": SEED_A, "tokens": [256],
                             "updates": [{**a, "op_id": "01", "b": {"label": "x",
                                                                   "scale": 1e39}}]},
            "E_ID_MALFORMED"),
        bad("op-reapplied", ("LORA-012", "LORA-011"),
            "Op x, then op y, then op x again in the agent layer.", "lora.forward",
            {"seed": SEED_A, "tokens": [256],
             "updates": [a, upd("agent", "blocks.1.mlp.up", "y", "y", 0.1),
                         upd("agent", "blocks.0.attn.k", "x", "x2", 0.1)]},
            "E_PAYLOAD_INVALID"),
        bad("scale-beyond-binary64", ("LORA-004",),
            "A scale given as the integer 10^400: no finite binary64 value, so every element "
            "of delta_B is infinite or NaN.", "lora.forward",
            {"seed": SEED_A, "tokens": [256],
             "updates": [upd("agent", "blocks.0.attn.q", "x", "x", 10**400)]},
            "E_PAYLOAD_INVALID"),
        bad("delta-overflows-binary32", ("LORA-004",), "A scale of 1e39: delta_B overflows.",
            "lora.forward", {"seed": SEED_A, "tokens": [256],
                             "updates": [upd("agent", "blocks.0.attn.q", "x", "x", 1e39)]},
            "E_PAYLOAD_INVALID"),
        bad("sum-overflows", ("LORA-011", "LORA-014"),
            "Two updates of scale 3e38 with one label: B + delta_B overflows to infinity.",
            "lora.forward", {"seed": SEED_A, "tokens": [256],
                             "updates": [upd("agent", "blocks.0.attn.q", "x", "x", 3e38),
                                         upd("agent", "blocks.0.attn.q", "x", "x", 3e38)]},
            "E_PAYLOAD_INVALID",
            comment="Each delta is finite (|value| < 3e38); their doubled elements above "
                    "3.4028235e38 round to infinity."),
        bad("updates-before-tokens", ("LORA-011",),
            "A bad update and a bad token: the updates are checked first.", "lora.forward",
            {"seed": SEED_A, "tokens": [999], "updates": [{**a, "layer": "team"}]},
            "E_PAYLOAD_INVALID"),
    ]
    return cases


# --- snapshots and provenance (section 6) -----------------------------------------------


def snapshot_cases() -> list[Case]:
    def hash_of(s: str, layers: dict[str, list[str]]) -> str:
        return str(run("lora.snapshot_hash", {"seed": s, "layers": layers})["hash"])

    p, q, r = op("p"), op("q"), op("r")
    pq = hash_of(SEED_A, {"context": [p, q]})
    ensure(pq != hash_of(SEED_A, {"context": [q, p]}), "reordering ops kept the hash")
    ensure(pq != hash_of(SEED_A, {"agent": [p, q]}), "moving ops to another layer kept the hash")
    ensure(pq != hash_of(SEED_B, {"context": [p, q]}), "another base kept the hash")
    ensure(hash_of(ZERO, {}) == "969ac4c3b2bee4d6f745ca7fc87afcf59cf1b6e1dba9bbbe360bc9a2a17cff87",
           "the pristine hash of the zero seed differs from section 6.2's example")
    cases = [
        case("hash-pristine-zero", ("LORA-018",), "No ops in any layer, zero seed "
             "(section 6.2's example).", "lora.snapshot_hash", {"seed": ZERO, "layers": {}}),
        case("hash-context-pq", ("LORA-018",), "Ops p then q in the context layer.",
             "lora.snapshot_hash", {"seed": SEED_A, "layers": {"context": [p, q]}}),
        case("hash-context-qp", ("LORA-018",), "Ops q then p: order changes the hash.",
             "lora.snapshot_hash", {"seed": SEED_A, "layers": {"context": [q, p]}}),
        case("hash-agent-pq", ("LORA-018",), "Ops p then q in the agent layer instead.",
             "lora.snapshot_hash", {"seed": SEED_A, "layers": {"agent": [p, q]}}),
        case("hash-seed-b", ("LORA-018", "LORA-006"), "Ops p, q in context over base B.",
             "lora.snapshot_hash", {"seed": SEED_B, "layers": {"context": [p, q]}}),
        case("hash-every-layer", ("LORA-018",), "Every layer applied ops; empty lists explicit.",
             "lora.snapshot_hash",
             {"seed": SEED_A, "layers": {"foundation": [r], "domain": [], "swarm": [q],
                                         "agent": [p, r], "context": [q, p, r]}}),
        bad("hash-unknown-layer", ("LORA-028",), "A layer named 'team'.", "lora.snapshot_hash",
            {"seed": SEED_A, "layers": {"team": [p]}}, "E_PAYLOAD_INVALID"),
        bad("hash-op-twice", ("LORA-012",), "A layer lists op p twice.", "lora.snapshot_hash",
            {"seed": SEED_A, "layers": {"swarm": [p, q, p]}}, "E_PAYLOAD_INVALID"),
        bad("hash-op-malformed", ("ID-002",), "An op id of 17 bytes with kind byte 0x00.",
            "lora.snapshot_hash", {"seed": SEED_A, "layers": {"swarm": ["00" * 17]}},
            "E_ID_MALFORMED"),
    ]
    one_op = [upd("domain", t, "p", f"p-{t}", 0.1) for t in hierarchy.TARGETS[:4]]
    mixed = [upd("context", "blocks.0.attn.q", "p", "c1", 0.1),
             upd("agent", "blocks.0.attn.q", "q", "a1", 0.1),
             upd("context", "blocks.1.mlp.up", "q", "c2", 0.1),
             upd("context", "blocks.1.mlp.up", "r", "c3", 0.1)]
    rescaled = [{**u, "b": {"label": "other", "scale": -0.7}} for u in mixed]
    snap = run("lora.snapshot", {"seed": SEED_A, "updates": mixed})
    ensure(snap == run("lora.snapshot", {"seed": SEED_A, "updates": rescaled}),
           "other deltas under the same ops changed the hash")
    ensure(snap["hash"] == hash_of(SEED_A, {"context": [p, q, r], "agent": [q]}),
           "lora.snapshot and lora.snapshot_hash disagree")
    cases += [
        case("snapshot-one-op-four-targets", ("LORA-014", "LORA-018"),
             "One op updates four targets of the domain layer: one entry in its op list.",
             "lora.snapshot", {"seed": SEED_A, "updates": one_op}),
        case("snapshot-interleaved", ("LORA-014", "LORA-018"),
             "Ops spread over two layers; q reaches both; context applies p, q, r.",
             "lora.snapshot", {"seed": SEED_A, "updates": mixed},
             comment="The hash equals lora.snapshot_hash of context [p, q, r], agent [q]."),
        case("snapshot-same-ops-other-deltas", ("LORA-019", "LORA-018"),
             "The same ops carrying other deltas: the same op lists and the same hash.",
             "lora.snapshot", {"seed": SEED_A, "updates": rescaled},
             comment="Output identical to snapshot-interleaved: the hash covers no float."),
    ]
    return cases + run_cases()


def run_cases() -> list[Case]:
    u1 = upd("context", "blocks.0.attn.o", "p", "run-1", 0.5)
    u2 = upd("agent", "blocks.1.mlp.down", "q", "run-2", 0.5)
    tokens = [256, *b"frozen"]
    steps: list[dict[str, Any]] = [
        {"freeze": {}},
        {"update": u1},
        {"update": {**u2, "layer": "team"}},
        {"freeze": {}},
        {"update": u2},
        {"forward": {"snapshot": 0, "tokens": tokens}},
        {"forward": {"snapshot": 1, "tokens": tokens}},
        {"forward": {"snapshot": 1, "tokens": tokens, "merged": True}},
        {"freeze": {}},
    ]
    args = {"seed": SEED_A, "steps": steps}
    results = run("lora.run", args)["results"]
    base = run("lora.forward", {"seed": SEED_A, "tokens": tokens})["logits"]
    after_u1 = run("lora.forward", {"seed": SEED_A, "tokens": tokens, "updates": [u1]})["logits"]
    pristine = run("lora.snapshot", {"seed": SEED_A})["hash"]
    ensure(results[2] == {"error": {"code": "E_PAYLOAD_INVALID"}}, "bad update not rejected")
    ensure(results[5]["logits"] == base, "snapshot 0 changed after later updates")
    ensure(results[6]["logits"] == after_u1, "snapshot 1 is not the replay of its updates")
    ensure(results[0]["hash"] == pristine and results[3]["hash"] != pristine,
           "snapshot hashes do not follow the op lists")
    ensure(results[8]["hash"] == run("lora.snapshot", {"seed": SEED_A,
                                                       "updates": [u1, u2]})["hash"],
           "the final hash is not that of the replayed updates")
    return [
        case("run-freeze-update-forward", ("LORA-016", "LORA-013", "LORA-015", "LORA-020",
                                           "LORA-022"),
             "Freeze, update, a rejected update, freeze, update, then forward through both "
             "snapshots: snapshot 0 still gives the base logits, snapshot 1 those of update 1.",
             "lora.run", args, floats=True,
             comment="Step 2 names layer 'team' and is rejected without changing anything. "
                     "Step 5's logits equal lora.forward with no updates; step 6's equal "
                     "lora.forward with updates [step 1's]."),
        bad("run-unfrozen-snapshot", ("CONF-005",), "A forward through snapshot 1 of a run "
            "that froze one.", "lora.run",
            {"seed": SEED_A, "steps": [{"freeze": {}},
                                       {"forward": {"snapshot": 1, "tokens": [256]}}]},
            "E_BAD_REQUEST"),
    ]


# --- greedy decoding (section 8) -----------------------------------------------------------


def margins(args: dict[str, Any]) -> list[float]:
    """Each step's top-2 gap minus ten times the tolerance at its largest logit."""
    h = hierarchy.new_hierarchy(hierarchy.load_base_model(bytes.fromhex(args["seed"])))
    for raw in args.get("updates", []):
        lora_driver.apply_json_update(h, raw)
    out: list[float] = []

    merged = hierarchy.compute_merged_weights(h.base, hierarchy.freeze(h))

    def observe(sequence: list[int]) -> torch.Tensor:
        logits = model.forward_last(sequence, merged)  # the step of hierarchy.generate
        top = torch.topk(logits, 2).values
        bound = MARGIN_FACTOR * (TOLERANCE["atol"] + TOLERANCE["rtol"] * abs(float(top[0])))
        out.append(float(top[0] - top[1]) - bound)
        return logits

    model.decode_greedy(observe, model.encode_prompt(args["prompt"]), args["max_tokens"])
    return out


def decoding(case_id: str, reqs: tuple[str, ...], description: str, args: dict[str, Any],
             comment: str | None = None, min_tokens: int = 4) -> Case | None:
    """A generation case cut to its wide-margin prefix, or None when that is too short."""
    gaps = margins(args)
    wide = next((i for i, g in enumerate(gaps) if g <= 0), len(gaps))
    if wide < len(gaps):
        if wide < min_tokens:
            return None
        args = {**args, "max_tokens": wide}
        note = f"Shortened to {wide} tokens: step {wide} has a narrow top-2 margin."
        comment = f"{comment} {note}" if comment else note
    return case(case_id, reqs, description, "lora.generate", args, comment=comment)


# Labels eos-0, eos-1, ... searched in order: eos-160 is the first whose update (context
# layer, blocks.1.mlp.down, scale 2.0) makes the decoding of "hello" (seed A) emit EOS
# within 16 tokens with every step's margin wide. Generation re-checks that it does.
EOS_LABEL = "eos-160"


def eos_args() -> dict[str, Any]:
    """A decoding that emits EOS before max_tokens, with wide margins throughout."""
    args = {"seed": SEED_A, "prompt": "hello", "max_tokens": 16,
            "updates": [upd("context", "blocks.1.mlp.down", "eos", EOS_LABEL, 2.0)]}
    tokens = run("lora.generate", args)["tokens"]
    ensure(2 <= len(tokens) < 16 and tokens[-1] == model.CONFIG.eos
           and all(g > 0 for g in margins(args)),
           f"{EOS_LABEL} no longer stops at EOS with wide margins: search eos-0, eos-1, ...")
    return args


def generation_cases() -> list[Case]:
    found: list[Case | None] = []
    for label, s in (("zero", ZERO), ("a", SEED_A), ("b", SEED_B)):
        for name, prompt in (("hello", "hello"), ("code", "def parse_json(s):"),
                             ("unicode", "h\u00e9llo \u4e16\u754c")):
            found.append(decoding(f"greedy-{label}-{name}", ("LORA-025", "LORA-026", "LORA-027"),
                                  f"24 greedy tokens of seed {label} for {prompt!r}.",
                                  {"seed": s, "prompt": prompt, "max_tokens": 24}))
    plain = {"seed": SEED_A, "prompt": "hello", "max_tokens": 24}
    adapted = {**plain, "updates": ALL_LAYERS}
    ensure(run("lora.generate", adapted) != run("lora.generate", plain),
           "the adapters do not change the decoding")
    found.append(decoding("greedy-adapted", ("LORA-017", "LORA-020", "LORA-027"),
                          "The decoding of greedy-a-hello through adapters in all five layers.",
                          adapted))
    found.append(decoding("greedy-stops-at-eos", ("LORA-027",),
                          "A decoding that emits EOS before max_tokens: EOS ends the output.",
                          eos_args(),
                          comment=f"The update's label {EOS_LABEL} is the first of eos-0, "
                                  "eos-1, ... that makes this decoding emit EOS within 16 "
                                  "tokens with every step's margin wide."))
    long_prompt = "".join(chr(97 + (i * 7) % 26) for i in range(120))
    found.append(decoding("greedy-fills-context", ("LORA-027", "LORA-025"),
                          "BOS + 120 bytes leave room for 7 tokens: max_tokens 127 stops at 7.",
                          {"seed": SEED_B, "prompt": long_prompt, "max_tokens": 127},
                          comment="Boundary: the context of 128 tokens. Prompt byte i is "
                                  "'a' + (7 i mod 26).", min_tokens=7))
    cases = [c for c in found if c is not None]
    ensure(len(cases) >= 8, "too few decodings have wide margins")
    cases += [
        case("greedy-zero-tokens", ("LORA-027",), "max_tokens 0 emits nothing.",
             "lora.generate", {"seed": SEED_A, "prompt": "hello", "max_tokens": 0},
             comment="Boundary: the least max_tokens."),
        case("greedy-empty-prompt", ("LORA-025",), "The empty prompt is BOS alone.",
             "lora.generate", {"seed": SEED_A, "prompt": "", "max_tokens": 0}),
        case("prompt-127-bytes", ("LORA-025", "LORA-027"),
             "A prompt of 127 UTF-8 bytes fills the context with BOS: nothing is emitted.",
             "lora.generate", {"seed": SEED_A, "prompt": "\u00e9" * 63 + "x",
                               "max_tokens": 1},
             comment="Boundary: the longest prompt (63 x U+00E9, then 'x')."),
        bad("prompt-128-bytes", ("LORA-025",), "A prompt of 128 UTF-8 bytes (64 x U+00E9).",
            "lora.generate", {"seed": SEED_A, "prompt": "\u00e9" * 64, "max_tokens": 1},
            "E_PAYLOAD_INVALID", comment="Boundary: one byte past the 127 that fit with BOS."),
        bad("prompt-128-bytes-no-tokens", ("LORA-025",),
            "A prompt of 128 UTF-8 bytes with max_tokens 0: rejected though nothing is decoded.",
            "lora.generate", {"seed": SEED_A, "prompt": "\u00e9" * 64, "max_tokens": 0},
            "E_PAYLOAD_INVALID", comment="Boundary: one byte past the 127 that fit with BOS."),
        bad("max-tokens-128", ("LORA-027",), "max_tokens 128.", "lora.generate",
            {"seed": SEED_A, "prompt": "", "max_tokens": 128}, "E_PAYLOAD_INVALID",
            comment="Boundary: one past 127."),
        bad("max-tokens-negative", ("LORA-027",), "max_tokens -1.", "lora.generate",
            {"seed": SEED_A, "prompt": "", "max_tokens": -1}, "E_PAYLOAD_INVALID"),
    ]
    return cases + argmax_cases()


def f32(*values: float) -> dict[str, Any]:
    return {"f32": generator.encode_f32(list(values)), "shape": [len(values)]}


def argmax_cases() -> list[Case]:
    ramp = [float(i % 7) - 3.0 for i in range(258)]
    ramp[257] = 4.0
    tie_last = [0.0] * 258
    tie_last[200] = tie_last[257] = 1.5
    return [
        case("argmax-tie", ("LORA-026",), "1, 3, 3, -2: ids 1 and 2 tie; the smaller wins.",
             "lora.argmax", {"logits": f32(1.0, 3.0, 3.0, -2.0)}),
        case("argmax-signed-zeros", ("LORA-026",), "-1, -0, +0: the zeros tie; id 1 wins.",
             "lora.argmax", {"logits": f32(-1.0, -0.0, 0.0)}),
        case("argmax-all-equal", ("LORA-026",), "258 equal logits: id 0.", "lora.argmax",
             {"logits": f32(*([0.5] * 258))}),
        case("argmax-last", ("LORA-026",), "The largest logit is EOS's (id 257).",
             "lora.argmax", {"logits": f32(*ramp)}),
        case("argmax-tie-200-257", ("LORA-026",), "Ids 200 and 257 tie at 1.5: id 200.",
             "lora.argmax", {"logits": f32(*tie_last)}),
        case("argmax-one", ("LORA-026",), "One logit: id 0.", "lora.argmax",
             {"logits": f32(-7.0)}, comment="Boundary: the least number of logits."),
        bad("argmax-empty", ("LORA-026",), "No logits.", "lora.argmax",
            {"logits": {"f32": "", "shape": [0]}}, "E_PAYLOAD_INVALID"),
        bad("argmax-nan", ("LORA-026",), "A NaN logit.", "lora.argmax",
            {"logits": {"f32": "3f8000007fc00000", "shape": [2]}}, "E_PAYLOAD_INVALID"),
        bad("argmax-infinity", ("LORA-026",), "A +infinity logit.", "lora.argmax",
            {"logits": {"f32": "7f8000003f800000", "shape": [2]}}, "E_PAYLOAD_INVALID"),
        bad("argmax-shape-mismatch", ("CONF-005",), "Two values with shape [3].", "lora.argmax",
            {"logits": {"f32": "3f8000003f800000", "shape": [3]}}, "E_BAD_REQUEST"),
    ]


def files() -> list[VectorFile]:
    return [
        VectorFile(FOLDER, CHAPTER, "weights", tuple(weight_cases()), comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "model", tuple(model_cases()), comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "adapters", tuple(adapter_cases()), comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "snapshots", tuple(snapshot_cases()),
                   comment=SEEDS_COMMENT),
        VectorFile(FOLDER, CHAPTER, "generation", tuple(generation_cases()),
                   comment=SEEDS_COMMENT + " Decodings are kept only while every step's top-2 "
                   "margin exceeds 10 * (atol + rtol * |largest logit|)."),
    ]
