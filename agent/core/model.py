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


@dataclass
class HistoryItem:
    """One past step as the model sees it: its screenshot (only inside the image window),
    the raw output and the action it produced (or the error)."""

    index: int
    raw: str
    action: dict[str, Any] | None = None
    error: str | None = None
    observation: Observation | None = None
    frame: Frame | None = None


@dataclass
class ModelRequest:
    task: str
    observation: Observation
    frame: Frame
    history: list[HistoryItem] = field(default_factory=list)
    feedback: str | None = None  # a parse error or a no-progress note to correct


@dataclass
class ModelReply:
    text: str
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)


class Model(ABC):
    """Base class of every backend.

    ``format`` names the parser for its output; ``input_mode`` / ``max_tokens`` say how
    the screenshot becomes model input (see :class:`~agent.core.coords.Frame`);
    ``convention`` overrides the format's coordinate convention when set; ``grid`` and
    ``min_pixels`` override the format's vision grid (28 or 32) and resize floor.
    """

    name: str = "model"
    format: str = "json"
    input_mode: Mode = "pad"
    max_tokens: int | None = None
    convention: Convention | None = None
    grid: int | None = None
    min_pixels: int | None = None

    @abstractmethod
    def act(self, request: ModelRequest) -> ModelReply:
        """One decision: raw text for the parser."""

    def close(self) -> None:  # noqa: B027 — optional hook
        """Release resources (processes, GPU memory, connections)."""

    def describe(self) -> dict[str, Any]:
        """JSON-safe identity for episode.json."""
        return {"name": self.name, "format": self.format, "input_mode": self.input_mode}
