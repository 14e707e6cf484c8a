"""The model interface every backend implements (scripted, transformers, OpenAI-compatible,
OCR grounder, ...).

A model receives a :class:`ModelRequest` — the task, the current screenshot with its
:class:`~agent.core.coords.Frame`, a history window — and answers raw text in its ``format``;
the loop parses that text with :func:`model.parsers.parse`. Model output is data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from agent.core.coords import Convention, Frame, Mode
from agent.core.errors import ConfigError
from agent.core.observation import Observation


@dataclass(frozen=True)
class SafetyCheck:
    """A confirmation a hosted model's vendor requires before the reply's action runs
    (OpenAI ``pending_safety_checks``, Gemini ``require_confirmation``). The executor asks
    the gate; only an approved check's ``id`` comes back in :attr:`HistoryItem.acknowledged`,
    and only then may the backend acknowledge it to the vendor."""

    id: str
    code: str | None = None
    message: str | None = None


@dataclass
class HistoryItem:
    """One past step as the model sees it: its screenshot (only inside the image window),
    the raw output and the action it produced (or the error); ``acknowledged``: the ids of
    the reply's :class:`SafetyCheck` s a person approved (the action then ran)."""

    index: int
    raw: str
    action: dict[str, Any] | None = None
    error: str | None = None
    observation: Observation | None = None
    frame: Frame | None = None
    acknowledged: list[str] = field(default_factory=list)


@dataclass
class ModelRequest:
    task: str
    observation: Observation
    frame: Frame
    history: list[HistoryItem] = field(default_factory=list)
    feedback: str | None = None  # a parse error or a no-progress note to correct
    # a structured-output constraint for this one request, replacing the backend's own
    # (vLLM ``structured_outputs``: ``{"json": schema}``, ``{"regex": r}``, ``{"choice": [...]}``);
    # a planner's, a judge's candidate index. Backends that cannot constrain ignore it and
    # their answer is still parsed (a bad one is an error, never a guess).
    constraint: dict[str, Any] | None = None
    # send no image (a text-only LLM, e.g. a planner shown the screen's OCR lines instead)
    text_only: bool = False


@dataclass
class ModelReply:
    text: str
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    checks: list[SafetyCheck] = field(default_factory=list)  # the vendor's, for the action
    # what a multi-call model did to decide (planner answer, grounding, ...): the step line's
    # ``trace``; JSON-safe
    trace: dict[str, Any] | None = None
    # the server that answered (a backend over HTTP): ``url``, and ``failed`` (each endpoint
    # tried before it, with its ``url`` and ``error``) after a failover; the step line's
    # ``endpoint``; JSON-safe
    endpoint: dict[str, Any] | None = None


class Model(ABC):
    """Base class of every backend.

    ``format`` names the parser for its output; ``input_mode`` / ``max_tokens`` say how
    the screenshot becomes model input (see :class:`~agent.core.coords.Frame`);
    ``convention`` overrides the format's coordinate convention when set; ``grid`` and
    ``min_pixels`` override the format's vision grid (28 or 32) and resize floor.
    ``history_steps`` / ``history_images`` / ``history_block`` are its history window (see
    :func:`history_window`): the one source the loop and the message builder read.
    """

    name: str = "model"
    format: str = "json"
    input_mode: Mode = "pad"
    max_tokens: int | None = None
    convention: Convention | None = None
    grid: int | None = None
    min_pixels: int | None = None
    history_steps: int = 20  # earlier steps in a request (as text, or turns)
    history_images: int = 2  # the last of them that also carry their screenshot
    history_block: int = 1  # 1: a sliding window; B > 1: dropped in blocks of B steps

    @abstractmethod
    def act(self, request: ModelRequest) -> ModelReply:
        """One decision: raw text for the parser."""

    def plan_frame(self, observation: Observation, frame: Frame) -> Frame:
        """The Frame this model sees ``observation`` in: ``frame`` (the loop's plan from
        ``input_mode`` / ``format``) unless the backend sizes images itself (hosted APIs,
        :meth:`Frame.resized_to`). The loop parses and records with the returned frame."""
        return frame

    def new_episode(self) -> None:  # noqa: B027 — optional hook
        """A new episode starts with the next request (the runner calls it; a model object
        may serve several episodes one after another). A backend with several servers
        balances the episode afresh here; its requests until the next call stay on one."""

    def close(self) -> None:  # noqa: B027 — optional hook
        """Release resources (processes, GPU memory, connections)."""

    def describe(self) -> dict[str, Any]:
        """JSON-safe identity for episode.json."""
        return {
            "name": self.name,
            "format": self.format,
            "input_mode": self.input_mode,
            "history_steps": self.history_steps,
            "history_images": self.history_images,
            "history_block": self.history_block,
        }


def check_block(block: int, images: int) -> None:
    """A ConfigError unless ``block`` (``history_block``) is odd, ≥ 1 and at most
    ``2 * images + 1``: only then does the block window hold ``images`` screenshots on
    average (see :func:`history_window`)."""
    if block < 1 or block % 2 == 0 or block > 2 * max(images, 0) + 1:
        raise ConfigError(
            f"history_block={block} with history_images={images}: the block must be odd, "
            f"from 1 (a sliding window) to 2 * history_images + 1 = {2 * max(images, 0) + 1}"
            f" (e.g. history_block=3 with history_images=2)"
        )


def history_window(
    history: list[HistoryItem],
    model: Model | None = None,
    *,
    steps: int | None = 20,
    images: int = 2,
    block: int = 1,
) -> tuple[list[HistoryItem], list[HistoryItem]]:
    """(the earlier steps a request holds, the last of them shown with their screenshot)
    (``model``'s settings when given, else ``steps`` / ``images`` / ``block``; 0 = none;
    ``steps`` None = every given step).

    ``block`` 1, a sliding window: the last ``history_steps`` steps, the last
    ``history_images`` of them with images; a request holds ``1 + min(history_images,
    history_steps, len(history))`` screenshots. Every request changes right after its
    text opening, so a server's prefix cache reuses only what precedes the history.

    ``block`` B > 1 (odd), append-only: the screenshots kept are those of steps numbered
    ≥ ``s = ⌊(n - m) / B⌋ · B`` (``n``: the number of the step being decided, = the newest
    item's ``index + 1``; ``m = history_images - (B - 1) / 2``), so the window grows by one
    step per request and drops B screenshots at once when ``n - m`` reaches a multiple of B.
    It holds m, m + 1, …, m + B - 1 history screenshots in turn: on average exactly
    ``history_images`` over every B consecutive requests once ``n ≥ m`` (B = 3,
    history_images = 2: 1, 2, 3, 1, 2, 3, …). The text window moves with it: steps numbered
    ≥ ``s - (history_steps - history_images)``. Between two block boundaries request n + 1
    is request n plus one step, so everything before the newest screenshot is a cached
    prefix. The window is a function of the items' ``index``, so applying it to its own
    result changes nothing (the loop windows, then the message builder windows again)."""
    if model is not None:
        steps, images = model.history_steps, model.history_images
        block = getattr(model, "history_block", 1)
    if block == 1:
        items = (history[-steps:] if steps > 0 else []) if steps is not None else list(history)
        shown = items[-images:] if images > 0 else []
        return items, shown
    check_block(block, images)
    if not history or steps == 0:
        return [], []
    n = history[-1].index + 1
    low = images - (block - 1) // 2
    start = (n - low) // block * block
    first = None if steps is None else start - (steps - images)
    items = [h for h in history if first is None or h.index >= first]
    shown = [h for h in items if h.index >= start] if images > 0 else []
    return items, shown
