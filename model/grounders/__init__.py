"""Described-target grounders: a description → a point, or an explicit failure."""

from model.grounders.base import DescriptionGrounder, Grounded, GroundingFailure

__all__ = ["DescriptionGrounder", "Grounded", "GroundingFailure"]
