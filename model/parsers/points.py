"""Output dialects of the grounding zoo."""

from __future__ import annotations

from model.parsers.common import Dialect

DIALECTS: tuple[Dialect, ...] = ()
