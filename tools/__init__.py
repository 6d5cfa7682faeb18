"""Strata tools: the `strata` CLI, vector generation, spec-author tools, negative controls."""
