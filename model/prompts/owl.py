"""Prompt styles of GUI-Owl-1.5 and EvoCUA (S2).

System prompts are the authors' texts, byte for byte, in ``model/prompts/official/``:

* ``gui_owl_1_5_computer_system.txt``: ``SYSTEM_PROMPT`` of X-PLUG/MobileAgent
  @11cea575561fb7800b5fb6b6cafa56f7a91de11f ``Mobile-Agent-v3.5/computer_use/utils.py``;
* ``gui_owl_1_5_mobile_system.txt``: ``SYSTEM_PROMPT`` of the same commit's
  ``Mobile-Agent-v3.5/mobile_use/utils.py``;
* ``evocua_s2_system.txt``: meituan/EvoCUA @4a0ad5fd4eb1d5b65966e1c7cc3feaa3b534eadd
  ``mm_agents/evocua/prompts.py`` ``S2_SYSTEM_PROMPT`` rendered as ``evocua_agent.py`` does
  for ``coordinate_type=relative`` (``coordinate_type=absolute`` states the processed image
  size in the same place).

The user text is the deploy scripts' / EvoCUA's ``build_messages`` text: the instruction and
``Previous actions:`` — each step older than the image window as ``Step N: <its Action:
sentence>``, or ``None``. GUI-Owl puts the text before the first screenshot (and its mobile
script prefixes today's date to the instruction); EvoCUA puts the screenshot first and
starts the text with a newline. The later window steps are user screenshot + assistant raw
reply turns (``history_images``: the authors keep 4).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from model.parsers.owl import action_text
from model.prompts import templates
from model.prompts.opening import Builder, Opening, PromptInput

_ASK = (
    "Please generate the next move according to the UI screenshot, instruction and previous "
    "actions."
)
_STATED = "The screen's resolution is 1000x1000."
_STEP = re.compile(r"Step (\d+): ")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _system(name: str, size: tuple[int, int]) -> str:
    text = templates.official(name)
    return text.replace(_STATED, f"The screen's resolution is {size[0]}x{size[1]}.", 1)


def previous_actions(lines: list[str]) -> str:
    """The authors' ``previous_actions_str``: ``Step N: <Action: sentence>`` per older step
    (the whole reply where it has none), joined by newlines; ``None`` when there are none."""
    out = []
    for line in lines:
        m = _STEP.match(line)
        head, raw = (line[: m.end()], line[m.end() :]) if m else ("", line)
        out.append(head + (action_text(raw) or raw))
    return "\n".join(out) if out else "None"


def date_info(day: date) -> str:
    """GUI-Owl's mobile script: ``Today's date is: 2026-01-05 Monday.``"""
    return f"Today's date is: {day.strftime('%Y-%m-%d')} {_WEEKDAYS[day.weekday()]}."


def gui_owl(today: Callable[[], date] = date.today) -> Builder:
    """GUI-Owl-1.5 (``run_gui_owl_1_5_for_{pc,mobile}.py`` ``build_messages``)."""

    def build(p: PromptInput) -> Opening:
        mobile = p.space == "mobile"
        task = date_info(today()) + p.task if mobile else p.task
        text = f"{_ASK}\n\nInstruction: {task}\n\nPrevious actions:\n{previous_actions(p.lines)}"
        name = "gui_owl_1_5_mobile_system.txt" if mobile else "gui_owl_1_5_computer_system.txt"
        return Opening(_system(name, p.size), text)

    return build


def evocua(p: PromptInput) -> Opening:
    """EvoCUA S2 (``evocua_agent.py`` ``_build_s2_messages``): screenshot, then the text."""
    text = f"\n{_ASK}\n\nInstruction: {p.task}\n\nPrevious actions:\n{previous_actions(p.lines)}"
    return Opening(_system("evocua_s2_system.txt", p.size), text, image_first=True)


PROMPTS: dict[str, Builder] = {"gui-owl-1.5": gui_owl(), "evocua": evocua}
