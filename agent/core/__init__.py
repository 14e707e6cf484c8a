"""The vocabulary of native-agent: what every other part speaks.

Actions (one discriminated union), the coordinate contract (:class:`Frame`, the only
converter), the exception hierarchy with stable codes, the :class:`Observation` an env hands
over, and the three interfaces — :class:`Env`, :class:`Model`, :class:`Task`. It imports
nothing of the project above it (no loop, no CLI) and no heavy I/O library (no Playwright,
no torch), so an env adapter, a model backend or a user's own code can build on it alone.
"""

from __future__ import annotations

from agent.core.actions import TERMINAL_TYPES, Action, Trait, dump_action, parse_action
from agent.core.coords import Frame
from agent.core.env import POINTER_KEYBOARD, Env, Feature
from agent.core.errors import NativeAgentError
from agent.core.model import HistoryItem, Model, ModelReply, ModelRequest
from agent.core.observation import Observation, PrivacyRequest, PrivacySnapshot, StepResult
from agent.core.task import Task, TaskResult
from agent.core.uitree import UINode

__all__ = [
    "POINTER_KEYBOARD",
    "TERMINAL_TYPES",
    "Action",
    "Env",
    "Feature",
    "Frame",
    "HistoryItem",
    "Model",
    "ModelReply",
    "ModelRequest",
    "NativeAgentError",
    "Observation",
    "PrivacyRequest",
    "PrivacySnapshot",
    "StepResult",
    "Task",
    "TaskResult",
    "Trait",
    "UINode",
    "dump_action",
    "parse_action",
]
