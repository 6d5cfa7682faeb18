"""Strata conformance harness: judges any implementation through vectors and the driver protocol.

This package never imports `reference` (DESIGN section 2).
"""

HARNESS_VERSION = "0.1.0"
