"""Model families by their older names: a family *is* a :class:`model.profiles.Profile`.

Kept so that callers written against ``Family`` / ``get_family`` / ``guess_family`` /
``resolve_family`` keep working; the registry itself lives in :mod:`model.profiles`.
"""

from __future__ import annotations

from model.profiles import PROFILES as FAMILIES
from model.profiles import Profile as Family
from model.profiles import detect_profile as guess_family
from model.profiles import get_profile as get_family
from model.profiles import resolve_profile as resolve_family

__all__ = ["FAMILIES", "Family", "get_family", "guess_family", "resolve_family"]
