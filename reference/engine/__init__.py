"""Chapter 11, the data engine (spec/11-data-engine.md).

`events` registers the `Engine...` payload variants with chapter 02; `embedding` is the
reference embedding; `vectorstore`, `patterns` and `salience` are the projections'
pieces; `projection` folds a log's ops into them.
"""

from reference.engine import embedding, events, patterns, projection, salience, vectorstore

__all__ = ["embedding", "events", "patterns", "projection", "salience", "vectorstore"]
