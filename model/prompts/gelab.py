"""Prompt styles of GELab-Zero."""

from __future__ import annotations

from model.prompts.opening import Builder

PROMPTS: dict[str, Builder] = {}
