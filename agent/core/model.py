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
    ``history_steps`` / ``history_images`` are its history window (see
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
        }


def history_window(
    history: list[HistoryItem], model: Model | None = None, *, steps: int = 20, images: int = 2
) -> tuple[list[HistoryItem], list[HistoryItem]]:
    """(the earlier steps a request holds, the last of them shown with their screenshot):
    at most ``history_steps`` steps, of which the last ``history_images`` carry images
    (``model``'s settings when given, else ``steps`` / ``images``; 0 = none). A request thus
    holds ``1 + min(history_images, history_steps, len(history))`` screenshots."""
    if model is not None:
        steps, images = model.history_steps, model.history_images
    items = history[-steps:] if steps > 0 else []
    shown = items[-images:] if images > 0 else []
    return items, shown
