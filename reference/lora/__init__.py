"""Chapter 13: the LoRA hierarchy (spec/13-lora-hierarchy.md).

- `generator`: the seeded weight generator (section 3), pure Python and BLAKE3;
- `model`: the base model strata-tiny-1, whole, in one file (section 4, section 8);
- `hierarchy`: the five layers, updates, replay, snapshots, the provenance hash and
  the unmerged and merged forward passes (sections 5 to 7).
"""
