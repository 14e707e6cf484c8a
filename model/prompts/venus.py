"""Prompt styles of UI-Venus, from the authors' published prompt text (exact bytes in
``model/prompts/official/``), all from github.com/inclusionAI/UI-Venus:

* ``ui_venus_1_5_nav_mobile.txt`` — branch UI-Venus-1.5 @ c3a1442c3c4501af18c124458dbbddcbda5c2c6f
  ``models/navigation/utils.py`` ``MOBILE_USER_PROMPT`` (the eval agent's): system
  "You are a helpful assistant.", one user turn [prompt, screenshot];
* ``ui_venus_1_5_nav_framework_zh.txt`` — same commit,
  ``Venus_framework/processor/uivenus_processor.py`` Chinese ``USER_PROMPT`` (the deploy
  path, states 0–999): used when the language is Chinese, with no system turn, as the
  framework sends it;
* ``ui_venus_1_5_grounding.txt`` — same commit, ``models/grounding/ui_venus1_5_gd.py`` (the
  refusal variant, its default): [screenshot, prompt], no system turn; one trailing '.' of
  the instruction dropped, as the eval does;
* ``ui_venus_1_0_nav.txt`` / ``ui_venus_1_0_grounding_7b.txt`` — branch UI-Venus-1.0 @
  497e2cd9b0c131e4685de23598f51e2da4dd7562 ``models/navigation/utils.py`` ``USER_PROMPT`` and
  ``models/grounding/ui_venus_ground_7b.py`` ``prompt_origin``.

Older steps fill ``{previous_actions}`` as the eval agent writes them: ``Step i:
<think>…</think><action>…</action>``, numbered from 0 in the window.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from model.prompts.opening import Builder, Opening, PromptInput
from model.prompts.templates import SYSTEM_DEFAULT, official

_STEP = re.compile(r"^Step \d+: ")
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_ACTION = re.compile(r"<action>(.*?)</action>", re.DOTALL)


def previous_actions(lines: list[str]) -> str:
    """The history block: each older step's think and action, re-numbered from 0."""
    out = []
    for i, line in enumerate(lines):
        raw = _STEP.sub("", line, count=1)
        think, action = _THINK.search(raw), _ACTION.search(raw)
        if action is None:
            out.append(f"Step {i}: {raw}")
            continue
        thought = think.group(1).strip() if think else ""
        out.append(f"Step {i}: <think>{thought}</think><action>{action.group(1).strip()}</action>")
    return "\n".join(out)


def _grounding_text(name: str, task: str) -> str:
    instruction = task[:-1] if task.endswith(".") else task
    return official(name).format(instruction)


def _venus(nav: str, nav_zh: str | None, grounding: str) -> Callable[[PromptInput], Opening]:
    def build(p: PromptInput) -> Opening:
        if p.space == "grounding":
            return Opening(None, _grounding_text(grounding, p.task), image_first=True)
        history = previous_actions(p.lines)
        if nav_zh is not None and p.language.lower() in ("chinese", "zh"):
            text = official(nav_zh).format(user_task=p.task, previous_actions=history)
            return Opening(None, text)
        text = official(nav).format(user_task=p.task, previous_actions=history)
        return Opening(SYSTEM_DEFAULT, text)

    return build


PROMPTS: dict[str, Builder] = {
    "ui-venus-1.5": _venus(
        "ui_venus_1_5_nav_mobile.txt",
        "ui_venus_1_5_nav_framework_zh.txt",
        "ui_venus_1_5_grounding.txt",
    ),
    "ui-venus": _venus("ui_venus_1_0_nav.txt", None, "ui_venus_1_0_grounding_7b.txt"),
}
