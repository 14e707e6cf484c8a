"""Tasks with a programmatic success check (as BrowserGym and AndroidWorld do).

A task knows its goal text, how to put the env in its start state (``setup``) and how to
judge the outcome from the application's own state (``evaluate``), never from the model's
claim.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from agent.core.env import Env


@dataclass(frozen=True)
class TaskResult:
    success: bool
    reward: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """One task on one env. ``id`` is unique within its site, e.g. ``flights/book-basic``."""

    id: str = ""
    goal: str = ""
    env_name: str = "browser"

    @abstractmethod
    def setup(self, env: Env) -> None:
        """Reset the app's state and open the start page."""

    @abstractmethod
    def evaluate(self, env: Env) -> TaskResult:
        """Read the app's state and judge success."""
