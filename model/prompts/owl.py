"""Prompt styles of GUI-Owl-1.5, EvoCUA."""

from __future__ import annotations

from model.prompts.opening import Builder

PROMPTS: dict[str, Builder] = {}
