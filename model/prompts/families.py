"""Model families: which prompt template and which output format a checkpoint speaks.

A family is guessed from the model name (hub id, path or served name) and, for local
checkpoints, the config's ``model_type``; a ``family`` setting overrides the guess and a
``format`` setting overrides the family's parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.core.errors import ConfigError


@dataclass(frozen=True)
class Family:
    name: str
    format: str  # parser name in model.parsers.FORMATS
    history_as_turns: bool  # older steps as assistant turns (UI-TARS) vs text lines
    keep_special_tokens: bool  # output carries tags that are special tokens (<|box_start|>)
    description: str


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("qwen2-vl", "qwen2-vl", False, True, "Qwen2-VL grounding (0-1000 boxes)"),
        Family("qwen2.5-vl", "qwen2.5-vl", False, False, "Qwen2.5-VL computer_use tool calls"),
        Family("ui-tars", "ui-tars", True, True, "UI-TARS v1 (Qwen2-VL arch, 0-1000)"),
        Family("ui-tars-1.5", "ui-tars-1.5", True, True, "UI-TARS-1.5 (Qwen2.5-VL arch, px)"),
        Family("qwen-vl", "qwen-vl", False, False, "Qwen-VL grounding (<ref>/<box>, 0-1000)"),
        Family("json", "json", False, False, "any instruction model: action JSON, screen px"),
    )
}

_ALIASES = {
    "qwen2vl": "qwen2-vl",
    "qwen2_vl": "qwen2-vl",
    "qwen25vl": "qwen2.5-vl",
    "qwen2_5_vl": "qwen2.5-vl",
    "qwen2.5vl": "qwen2.5-vl",
    "uitars": "ui-tars",
    "ui_tars": "ui-tars",
    "ui-tars-1": "ui-tars",
    "uitars-1.5": "ui-tars-1.5",
    "ui_tars_1.5": "ui-tars-1.5",
    "ui-tars1.5": "ui-tars-1.5",
    "qwenvl": "qwen-vl",
}


def get_family(name: str) -> Family:
    """A family by name or alias; unknown names are a ConfigError listing the known ones."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FAMILIES:
        raise ConfigError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[key]


def guess_family(name: str, model_type: str | None = None) -> Family:
    """Best guess from a model name and (if known) the config's ``model_type``.

    UI-TARS v1 is Qwen2-VL, UI-TARS-1.5 is Qwen2.5-VL: an unversioned UI-TARS name is settled
    by the architecture. Unknown names fall back to the architecture, then to ``json``.
    """
    n = re.sub(r"[\s_]+", "-", name.lower())
    arch = {"qwen2_vl": "qwen2-vl", "qwen2_5_vl": "qwen2.5-vl"}.get(model_type or "")
    if "ui-tars" in n or "uitars" in n:
        if "1.5" in n or "1-5" in n or arch == "qwen2.5-vl":
            return FAMILIES["ui-tars-1.5"]
        return FAMILIES["ui-tars"]
    if re.search(r"qwen2[.-]?5-?vl", n):
        return FAMILIES["qwen2.5-vl"]
    if re.search(r"qwen2-?vl", n):
        return FAMILIES["qwen2-vl"]
    if re.search(r"qwen-?vl", n):
        return FAMILIES["qwen-vl"]
    if arch:
        return FAMILIES[arch]
    return FAMILIES["json"]


def resolve_family(
    name: str, *, model_type: str | None = None, family: str | None = None
) -> Family:
    """``family`` setting if given, else the guess."""
    return get_family(family) if family else guess_family(name, model_type)
