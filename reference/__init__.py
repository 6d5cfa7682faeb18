"""Strata reference runtime: written for clarity, not speed (spec/00-introduction.md)."""

from reference.introduction import SPEC_VERSION

__all__ = ["SPEC_VERSION"]
