"""What a prompt style takes and gives: :class:`PromptInput` → :class:`Opening`. Each family
group's prompt module (``model/prompts/<group>.py``) maps prompt keys to builders of this shape;
:mod:`model.prompts.messages` joins them into one conversation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.core.coords import Frame


@dataclass(frozen=True)
class PromptInput:
    """What a prompt style builds its first turn from: the task, the current frame, older
    steps as text lines (families that keep history as text), the action space, the
    language, and ``size``: the screen size its prompt states in the dialect's coordinate
    space (:meth:`agent.core.coords.CoordSpec.prompt_size`, so the two cannot disagree)."""

    task: str
    frame: Frame
    lines: list[str]
    space: str
    language: str
    size: tuple[int, int]
    replies: tuple[str, ...] = ()  # every earlier step's raw reply, oldest first, uncut


@dataclass(frozen=True)
class Opening:
    """A prompt style's first turn: system text (None: the chat template's default) and the
    user text; ``image_first`` puts the first screenshot before that text (Qwen3-VL's
    computer cookbook sends ``[image, query]``); ``after`` is text that follows the current
    screenshot in the same turn (GELab-Zero sends ``[prompt, image, output instructions]``)."""

    system: str | None
    text: str
    image_first: bool = False
    after: str | None = None


Builder = Callable[[PromptInput], Opening]
