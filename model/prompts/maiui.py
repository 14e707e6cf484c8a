"""Prompt styles of MAI-UI (Tongyi-MAI/MAI-UI-2B, -8B), from the authors' published prompt
text (exact bytes in ``model/prompts/official/``):

* ``mai_ui_nav_system_thinking.txt`` — Tongyi-MAI/MAI-UI@4dd07b9e910a294f001452e888514d912b96cc41
  ``src/prompt.py`` ``MAI_MOBILE_SYS_PROMPT`` (the prompt ``src/mai_naivigation_agent.py``
  sends): the system turn; the task alone is the first user turn, before any screenshot;
* ``mai_ui_grounding_system_eval.txt`` — same commit, ``evaluation/grounding/eval_server.py``
  (the agent prompt plus ``## Input instruction``): the system turn of a grounding request,
  whose user turn is the instruction plus a newline, then the screenshot (text first).

Chat structure: the profile keeps separate turns and replays older replies as assistant
turns, as the navigation agent's ``_build_messages`` does (docs/models/maiui_venus.md).
"""

from __future__ import annotations

from model.prompts.opening import Builder, Opening, PromptInput
from model.prompts.templates import official

NAV_SYSTEM = "mai_ui_nav_system_thinking.txt"
GROUNDING_SYSTEM = "mai_ui_grounding_system_eval.txt"


def _mai_ui(p: PromptInput) -> Opening:
    if p.space == "grounding":
        return Opening(official(GROUNDING_SYSTEM), p.task + "\n")
    return Opening(official(NAV_SYSTEM), p.task)


PROMPTS: dict[str, Builder] = {"mai-ui": _mai_ui}
