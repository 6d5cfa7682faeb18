"""Chapter 13: the seeded weight generator (spec/13-lora-hierarchy.md section 3).

Pure Python and BLAKE3, no torch, no RNG: any language rebuilds every weight bit
for bit. Each tensor has its own stream, named by the seed and the tensor's name,
so the order in which tensors are generated never matters.
"""

from __future__ import annotations

import array
import math
import struct

import blake3

from reference._require import require
from reference.introduction import ErrorCode

SEED_BYTES = 32
LABEL_PREFIX = "strata/lora/weights/"
BAD = ErrorCode.E_PAYLOAD_INVALID


def check_seed(seed: bytes) -> None:
    """A model seed is exactly 32 bytes (section 3.1) [LORA-002]."""
    require(len(seed) == SEED_BYTES, "LORA-002", BAD,
            f"a model seed is {SEED_BYTES} bytes, got {len(seed)}")


def compute_stream_label(seed: bytes, name: str) -> bytes:
    """The UTF-8 label `strata/lora/weights/<seed hex>/<name>` (section 3.2) [LORA-003]."""
    return (LABEL_PREFIX + seed.hex() + "/" + name).encode("utf-8")


def compute_stream(seed: bytes, name: str, count: int) -> list[int]:
    """The first `count` little-endian uint32 words of the tensor's BLAKE3 XOF stream [LORA-003].

    The seed is checked where a model is built (`model.compute_model_id` comes first).
    """
    # [LORA-003] element i is read from stream bytes 4i .. 4i+3.
    data = blake3.blake3(compute_stream_label(seed, name)).digest(length=4 * count)
    return list(struct.unpack(f"<{count}I", data))


def compute_scale(fan_in: int) -> float:
    """The generator scale 1/sqrt(fan_in), in binary64 (section 3.3)."""
    return 1.0 / math.sqrt(fan_in)


def generate_values(seed: bytes, name: str, count: int, scale: float) -> list[float]:
    """`count` float32 values of tensor `name`, row-major (section 3.3) [LORA-004].

    Each value is (u / 2^31 - 1) * scale computed in binary64, then rounded to the
    nearest binary32 (ties to even). u / 2^31 - 1 is exact in binary64, so only the
    product and the final narrowing round.
    """
    # A non-finite scale needs no check of its own: every element (u / 2^31 - 1) * scale is
    # then infinite or NaN (0 x inf), which the check of the rounded values rejects.
    wide = [(u / 2**31 - 1.0) * scale for u in compute_stream(seed, name, count)]
    # [LORA-004] array('f') narrows each binary64 to the nearest binary32.
    narrow = array.array("f", wide)  # out-of-range values become infinities here
    # equivalent mutant (require-true, stmt-remove): the only generated tensors that can
    # overflow are update deltas, and a non-finite delta makes B + delta_B (or A + delta_A)
    # non-finite, which the last check of an update (5.3) rejects with the same E_PAYLOAD_INVALID
    require(all(math.isfinite(v) for v in narrow), "LORA-004", BAD,
            f"tensor {name!r} at scale {scale!r} has values beyond binary32")
    return narrow.tolist()


def encode_f32(values: list[float]) -> str:
    """Lowercase hex of big-endian binary32 values (spec/16-conformance.md section 2.1)."""
    return struct.pack(f">{len(values)}f", *values).hex()


def decode_f32(raw: bytes) -> list[float]:
    """Big-endian binary32 values (spec/16-conformance.md section 2.1)."""
    return list(struct.unpack(f">{len(raw) // 4}f", raw))
