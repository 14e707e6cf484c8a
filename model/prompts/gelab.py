"""Prompt style of GELab-Zero (StepFun): no system message; one user turn
``[action-space prompt, task + last summary, screenshot, output instructions]``.

Texts of stepfun-ai/gelab-zero@19465cf337effc20db25830688aeec5a72855c0a
``copilot_tools/parser_0920_summary.py`` (``task_define_prompt`` and ``make_status_prompt``
as ``Parser0920Summary.env2messages4ask`` joins them), shipped byte-exact as
``official/gelab_task_define.txt``, ``official/gelab_status_before_image.txt`` (its
no-history rendering, with ``{task}``) and ``official/gelab_status_after_image.txt``. The
history is only the ``summary:`` field of the previous reply (the authors' agent is
Markov: one screenshot, one summary); before the first step it says 暂无历史操作.
"""

from __future__ import annotations

from model.parsers.gelab import fields, split_think
from model.prompts.opening import Builder, Opening, PromptInput
from model.prompts.templates import official

NO_HISTORY = "暂无历史操作"  # the template's "no history yet"


def last_summary(replies: tuple[str, ...]) -> str:
    """The ``summary:`` of the last reply (the authors' ``summary_history``), or the
    template's no-history text before the first step."""
    if not replies:
        return NO_HISTORY
    return fields(split_think(replies[-1])[1]).get("summary", "")


def _gelab(p: PromptInput) -> Opening:
    head, tail = official("gelab_status_before_image.txt").split("{task}", 1)
    status = head + p.task + tail.replace(NO_HISTORY, last_summary(p.replies), 1)
    return Opening(
        None,
        official("gelab_task_define.txt") + status,
        after=official("gelab_status_after_image.txt"),
    )


PROMPTS: dict[str, Builder] = {"gelab-zero": _gelab}
