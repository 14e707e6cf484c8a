"""Output dialects of pyautogui code (OpenCUA, Aguvis), parsed as data."""

from __future__ import annotations

from model.parsers.common import Dialect

DIALECTS: tuple[Dialect, ...] = ()
