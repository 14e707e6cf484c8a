"""Output dialects of Holo."""

from __future__ import annotations

from model.parsers.common import Dialect

DIALECTS: tuple[Dialect, ...] = ()
