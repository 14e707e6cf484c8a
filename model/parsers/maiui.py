"""Output dialects of MAI-UI."""

from __future__ import annotations

from model.parsers.common import Dialect

DIALECTS: tuple[Dialect, ...] = ()
