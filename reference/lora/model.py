"""Chapter 13: the base model strata-tiny-1, whole, in one file (spec/13-lora-hierarchy.md 4).

A byte-level decoder-only transformer: config, weights from the seeded generator,
the forward pass with optional LoRA adapter terms on its linear maps, and greedy
decoding. Written for clarity, not speed; every tensor line carries its shape:
B batch, T sequence, C d_model, H heads, D d_head, F d_ff, V vocabulary, r rank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import attrs
import blake3
import torch

from reference import wire_format
from reference._require import require
from reference.introduction import ErrorCode
from reference.lora import generator

BAD = ErrorCode.E_PAYLOAD_INVALID

# [LORA-001] [LORA-024] binary32 everywhere: no TF32 on CUDA matmuls or convolutions,
# so a GPU computes what the CPU computes, up to the order of summation.
# outside the harness (const): CUDA only; test_cuda_matches_cpu
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


@attrs.frozen
class Config:
    """strata-tiny-1 (section 4.1), each number with the reason for it."""

    name: str = "strata-tiny-1"
    vocab_size: int = 258  # bytes 0..255, then BOS and EOS: any UTF-8 text, no tokenizer to specify
    bos: int = 256  # the first id after the byte values
    eos: int = 257  # the last id
    d_model: int = 64  # ~125k weights: pure-Python generation in well under a second, fast vectors
    n_blocks: int = 2  # the least depth where one block reads another's output through adapters
    n_heads: int = 4  # several heads, so the head split (and its order) is pinned by vectors
    d_head: int = 16  # d_model / n_heads; the score scale 1/sqrt(16) = 0.25 is exact
    d_ff: int = 256  # the usual 4 * d_model; 1/sqrt(256) = 1/16 is exact
    context: int = 128  # a prompt plus a continuation; bounds vector sizes and position table
    norm_eps: float = 1e-5  # the common RMSNorm epsilon; matters only for near-zero rows
    tok_emb_scale: float = 0.25  # tied head: at 1.0 a random model repeats its last input byte
    pos_emb_scale: float = 1.0  # uniform in [-1, 1); the RMSNorms rescale what follows


CONFIG = Config()

Weights = Mapping[str, torch.Tensor]
# One adapter term on a linear map: (s, A (r, in), B (out, r)), y += s * B (A x).
AdapterTerm = tuple[float, torch.Tensor, torch.Tensor]
Adapters = Mapping[str, Sequence[AdapterTerm]]
StepLogits = Callable[[list[int]], torch.Tensor]


@attrs.frozen
class TensorSpec:
    """One tensor of the base model (section 4.2): fan_in None marks an RMSNorm gain (all 1.0)."""

    name: str
    shape: tuple[int, ...]
    fan_in: int | None
    scale: float


def get_tensor_specs(config: Config = CONFIG) -> list[TensorSpec]:
    """The base model's tensors in the spec's fixed order, with shapes and scales [LORA-005]."""
    c, f = config.d_model, config.d_ff
    specs = [TensorSpec("tok_emb", (config.vocab_size, c), None, config.tok_emb_scale),
             TensorSpec("pos_emb", (config.context, c), None, config.pos_emb_scale)]
    for i in range(config.n_blocks):
        p = f"blocks.{i}."
        specs += [TensorSpec(p + "attn_norm", (c,), None, 1.0)]
        specs += [TensorSpec(p + f"attn.{m}", (c, c), c, generator.compute_scale(c))
                  for m in "qkvo"]
        specs += [TensorSpec(p + "mlp_norm", (c,), None, 1.0),
                  TensorSpec(p + "mlp.up", (f, c), c, generator.compute_scale(c)),
                  TensorSpec(p + "mlp.down", (c, f), f, generator.compute_scale(f))]
    specs.append(TensorSpec("final_norm", (c,), None, 1.0))
    return specs


def is_gain(name: str) -> bool:
    """Whether a tensor is an RMSNorm gain, fixed at 1.0 rather than generated [LORA-005]."""
    return name.endswith("_norm")


def get_tensor_values(seed: bytes, spec: TensorSpec) -> list[float]:
    """The values of one base tensor, row-major [LORA-005]."""
    count = math.prod(spec.shape)
    if is_gain(spec.name):
        return [1.0] * count  # [LORA-005] gains are exactly 1.0, not generated
    return generator.generate_values(seed, spec.name, count, spec.scale)


def load_weights(seed: bytes, device: str = "cpu",
                 config: Config = CONFIG) -> dict[str, torch.Tensor]:
    """Every base tensor of `seed`, as binary32 torch tensors on `device` [LORA-005].

    The seed is checked by the caller (`hierarchy.load_base_model` computes the model id first).
    """
    return {s.name: torch.tensor(get_tensor_values(seed, s), dtype=torch.float32,
                                 device=device).reshape(s.shape)
            for s in get_tensor_specs(config)}


def compute_model_id(seed: bytes, config: Config = CONFIG) -> str:
    """`strata-tiny-1/` + hex of BLAKE3(canonical CBOR of config and seed)[:16] [LORA-006]."""
    generator.check_seed(seed)
    value: wire_format.Value = {"config": dict(attrs.asdict(config)), "seed": seed}
    digest = blake3.blake3(wire_format.encode_canonical(value)).digest()
    return f"{config.name}/{digest[:16].hex()}"


# --- the forward pass (section 4.3) -------------------------------------------


def check_tokens(tokens: Sequence[int], config: Config = CONFIG) -> None:
    """A sequence of 1 to `context` token ids, each below `vocab_size` [LORA-007]."""
    require(1 <= len(tokens) <= config.context, "LORA-007", BAD,
            f"a sequence holds 1 to {config.context} tokens, got {len(tokens)}")
    for t in tokens:
        require(0 <= t < config.vocab_size, "LORA-007", BAD,
                f"token {t} is outside 0..{config.vocab_size - 1}")


def rms_norm(x: torch.Tensor, gain: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) * gain over the last dimension [LORA-008]."""
    ms = x.pow(2).mean(dim=-1, keepdim=True)  # (B, T, 1)
    # equivalent mutant (arith-swap): ms - eps for ms + eps moves an output by about eps / ms
    # relative; rows of generated weights have mean squares of order 0.1 to 10 (no driver input
    # steers one near eps = 1e-5), so by 1e-4 at most, within the tolerance of section 7.3
    return x / torch.sqrt(ms + eps) * gain  # (B, T, C)


def linear(x: torch.Tensor, name: str, weights: Weights, adapters: Adapters) -> torch.Tensor:
    """y = W x, then + s * B (A x) for each adapter term in layer order [LORA-020]."""
    # [LORA-021] the base product comes first and alone: a zero B adds exact zeros to it.
    y = x @ weights[name].T  # (B, T, out)
    for s, a, b in adapters.get(name, ()):
        y = y + s * ((x @ a.T) @ b.T)  # (B, T, r) then (B, T, out)
    return y


def attention(x: torch.Tensor, i: int, weights: Weights, adapters: Adapters,
              config: Config) -> torch.Tensor:
    """Causal multi-head softmax attention of block i [LORA-008]."""
    bsz, t, c = x.shape
    h, d = config.n_heads, config.d_head
    p = f"blocks.{i}.attn."
    q = linear(x, p + "q", weights, adapters).view(bsz, t, h, d).transpose(1, 2)  # (B, H, T, D)
    k = linear(x, p + "k", weights, adapters).view(bsz, t, h, d).transpose(1, 2)  # (B, H, T, D)
    v = linear(x, p + "v", weights, adapters).view(bsz, t, h, d).transpose(1, 2)  # (B, H, T, D)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d))  # (B, H, T, T)
    causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()  # (T, T)
    att = att.masked_fill(~causal, float("-inf"))  # (B, H, T, T)
    att = torch.softmax(att, dim=-1)  # (B, H, T, T)
    y = att @ v  # (B, H, T, D)
    # equivalent mutant (const): every forward has batch 1, and transpose(0, 2) of (1, H, T, D)
    # gives (T, H, 1, D), the elements of (1, T, H, D) in the same order for the reshape
    y = y.transpose(1, 2).reshape(bsz, t, c)  # (B, T, C), head j in features 16j..16j+15
    return linear(y, p + "o", weights, adapters)  # (B, T, C)


def mlp(x: torch.Tensor, i: int, weights: Weights, adapters: Adapters) -> torch.Tensor:
    """up, exact (erf) GELU, down of block i [LORA-008]."""
    p = f"blocks.{i}.mlp."
    u = linear(x, p + "up", weights, adapters)  # (B, T, F)
    u = torch.nn.functional.gelu(u, approximate="none")  # (B, T, F)
    return linear(u, p + "down", weights, adapters)  # (B, T, C)


def forward(tokens: torch.Tensor, weights: Weights, adapters: Adapters | None = None,
            config: Config = CONFIG) -> torch.Tensor:
    """Logits of every position for token ids (B, T) [LORA-008]."""
    terms: Adapters = adapters or {}
    t = tokens.shape[1]
    pos = torch.arange(t, device=tokens.device)  # (T,)
    x = weights["tok_emb"][tokens] + weights["pos_emb"][pos]  # (B, T, C)
    for i in range(config.n_blocks):
        a = rms_norm(x, weights[f"blocks.{i}.attn_norm"], config.norm_eps)  # (B, T, C)
        x = x + attention(a, i, weights, terms, config)  # (B, T, C)
        m = rms_norm(x, weights[f"blocks.{i}.mlp_norm"], config.norm_eps)  # (B, T, C)
        x = x + mlp(m, i, weights, terms)  # (B, T, C)
    x = rms_norm(x, weights["final_norm"], config.norm_eps)  # (B, T, C)
    return x @ weights["tok_emb"].T  # (B, T, V), the head tied to the token embedding


def forward_last(tokens: Sequence[int], weights: Weights, adapters: Adapters | None = None,
                 config: Config = CONFIG) -> torch.Tensor:
    """Logits of the last position of one checked sequence [LORA-007]."""
    check_tokens(tokens, config)
    device = weights["tok_emb"].device
    ids = torch.tensor([list(tokens)], dtype=torch.long, device=device)  # (1, T)
    with torch.no_grad():
        # equivalent mutant (const): the batch holds one sequence, so batch index -1 is index 0
        return forward(ids, weights, adapters, config)[0, -1]  # (V,)


# --- greedy decoding (section 8) ----------------------------------------------


def encode_prompt(text: str, config: Config = CONFIG) -> list[int]:
    """BOS then the UTF-8 bytes of `text`, at most context - 1 of them [LORA-025]."""
    raw = text.encode("utf-8")
    require(len(raw) <= config.context - 1, "LORA-025", BAD,
            f"a prompt is at most {config.context - 1} UTF-8 bytes, got {len(raw)}")
    return [config.bos, *raw]


def select_greedy_token(logits: Sequence[float]) -> int:
    """The id of the largest logit; among equal largest, the smallest id [LORA-026]."""
    require(len(logits) > 0 and all(math.isfinite(v) for v in logits), "LORA-026", BAD,
            "logits are empty or not all finite")
    best = max(logits)  # -0.0 == 0.0, so signed zeros tie
    return next(i for i, v in enumerate(logits) if v == best)


def check_max_tokens(max_tokens: int, config: Config = CONFIG) -> None:
    """max_tokens is 0 to context - 1 [LORA-027]."""
    require(0 <= max_tokens <= config.context - 1, "LORA-027", BAD,
            f"max_tokens is 0 to {config.context - 1}, got {max_tokens}")


def decode_greedy(step: StepLogits, prompt: list[int], max_tokens: int,
                  config: Config = CONFIG) -> list[int]:
    """Generated ids: pick, append, until EOS, max_tokens, or a full context [LORA-027].

    The prompt comes from `encode_prompt`; `step` checks each sequence it is given (section 4.3).
    """
    check_max_tokens(max_tokens, config)
    sequence, out = list(prompt), list[int]()
    while len(out) < max_tokens and len(sequence) < config.context:
        logits = step(sequence)  # (V,)
        token = select_greedy_token(logits.tolist())
        sequence.append(token)
        out.append(token)
        if token == config.eos:  # [LORA-027] EOS is emitted, then decoding stops
            break
    return out
