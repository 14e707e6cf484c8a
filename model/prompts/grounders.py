"""Prompt styles of the grounding zoo (UGround, OS-Atlas, ShowUI, GTA1, InfiGUI-G1, Jedi, Fara)."""

from __future__ import annotations

from model.prompts.opening import Builder

PROMPTS: dict[str, Builder] = {}
