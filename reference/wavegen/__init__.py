"""Chapter 14: WaveGen, trajectory coherence and the lineage-scoped cache (spec/14-wavegen.md).

- `coherence`: step observations, the trajectory and its coherence (section 2);
- `cache`: scopes, signatures, entries and their lifecycle, eviction, statistics and the
  signals exchanged with consolidation (sections 3, 4 and 6);
- `decode`: greedy decoding through one fixed-shape forward path, with the cache in
  lossless or jump mode, and storing after an inference (section 5).
"""
