"""The action gate between parser and env: allow, confirm or deny each action.

Every decision is recorded in the step line. The default gate allows everything; safety
policies plug in here so they are enforced by the executor, the same in every env.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from agent.actions import Action
from envs.base import Env, Observation

Verdict = Literal["allow", "deny"]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    policy: str = "allow-all"
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Gate(Protocol):
    def check(self, action: Action, env: Env, obs: Observation) -> Decision: ...


class AllowAll:
    """No policy: every action runs (the recording still says so)."""

    def check(self, action: Action, env: Env, obs: Observation) -> Decision:
        return Decision("allow")
