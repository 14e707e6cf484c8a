"""Output dialects of GUI-Owl-1.5 and EvoCUA."""

from __future__ import annotations

from model.parsers.common import Dialect

DIALECTS: tuple[Dialect, ...] = ()
