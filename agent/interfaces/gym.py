"""Gymnasium interface: every registered env as ``gymnasium.make("native_agent/NAME-v0")``.

    import gymnasium
    import agent.interfaces.gym  # registers native_agent/{browser,desktop,android,miniwob,…}-v0

    env = gymnasium.make("native_agent/miniwob-v0", task="miniwob/click-test")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step('{"type": "click", "point": [80, 120]}')

Observation: a ``Dict`` of the screenshot (H×W×3 uint8 at native resolution, masked like
everything the agent records) and text fields (goal, URL, app, last action error). Action:
the action JSON (a ``Text`` space), a dict, or an :mod:`agent.core.actions` model. Reward and
``terminated`` come from the task's own success check; ``truncated`` from the step budget or
a dead backend. Every action passes the safety gate — ``agent run``'s, built from the same
settings (``policy``, ``allow_url``, ``deny_url``, ``confirm``; nobody can be asked, so
``confirm="no"`` by default; ``no_gate=True`` opts out) — and every episode is recorded
(:mod:`agent.interfaces.session`). Constructor keywords beyond the wrapper's own are the
env's settings; ``env=`` may also be an :class:`~agent.core.env.EnvSpec` — e.g. the one an
episode recorded, ``agent.episode.runner.recorded_spec(meta)`` — to rebuild that env.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from agent.core.env import Env, EnvSpec
from agent.core.errors import ConfigError
from agent.core.observation import Observation
from agent.core.task import Task
from agent.episode.runner import resolve_gate
from agent.interfaces.session import ActionSession, ActResult, resolve_task
from agent.safety.gate import ConfirmMode, Gate
from agent.safety.policy import Policy
from agent.safety.secrets import Secrets

NAMESPACE = "native_agent"
VERSION = 0
# Text spaces hold these characters (printable ASCII, tab/newline, Latin…Unicode symbols);
# anything else in an observation string becomes "?" so observations stay in their space.
CHARSET = frozenset(
    "\t\n" + "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0xA0, 0x2500)))
)
TEXT_LIMITS = {"goal": 4096, "url": 4096, "app": 256, "last_action_error": 2048}
ACTION_CHARS = 8192


def env_id(name: str) -> str:
    return f"{NAMESPACE}/{name}-v{VERSION}"


def _fit_text(text: str | None, limit: int) -> str:
    s = "".join(c if c in CHARSET else "?" for c in (text or ""))
    return s[:limit]


def _fit_image(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A fresh copy in the declared shape (a dead backend's placeholder is padded/cropped)."""
    if array.shape == shape:
        return np.array(array, dtype=np.uint8, copy=True)
    out = np.zeros(shape, np.uint8)
    h, w = min(shape[0], array.shape[0]), min(shape[1], array.shape[1])
    out[:h, :w] = array[:h, :w, :3]
    return out


class NativeAgentEnv(gymnasium.Env[dict[str, Any], Any]):
    """A native-agent env behind the Gymnasium API; see the module docstring."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 — Gymnasium's

    def __init__(
        self,
        env: str | EnvSpec | Env = "browser",
        task: str | Task | None = None,
        *,
        render_mode: str | None = None,
        max_steps: int = 50,
        record_dir: str | Path = "runs",
        gate: Gate | None = None,
        policy: Policy | str | Path | None = None,
        allow_url: Sequence[str] = (),
        deny_url: Sequence[str] = (),
        confirm: ConfirmMode = "no",
        no_gate: bool = False,
        secrets: Secrets | dict[str, str] | None = None,
        url: str | None = None,
        **env_kwargs: Any,
    ) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ConfigError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.task_spec, self.url = task, url
        from envs.registry import make_env

        the_gate = resolve_gate(  # before the env starts: a bad setting costs no browser
            gate,
            policy=policy,
            allow_url=allow_url,
            deny_url=deny_url,
            confirm=confirm,
            no_gate=no_gate,
        )
        native = env if isinstance(env, Env) else make_env(env, **env_kwargs)
        sec = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
        self.session = ActionSession(
            native,
            gate=the_gate,
            secrets=sec,
            record_dir=record_dir,
            max_steps=max_steps,
            meta={"interface": "gymnasium"},
        )
        try:
            frame = native.geometry()
        except BaseException:
            native.close()
            raise
        self._shape = (frame.screen_h, frame.screen_w, 3)
        self.observation_space = spaces.Dict(
            {
                "screenshot": spaces.Box(0, 255, self._shape, np.uint8),
                **{
                    k: spaces.Text(n, min_length=0, charset=CHARSET) for k, n in TEXT_LIMITS.items()
                },
            }
        )
        self.action_space = spaces.Text(ACTION_CHARS, min_length=1, charset=CHARSET)
        self._last: Observation | None = None
        self._closed = False

    @property
    def native(self) -> Env:
        """The native-agent env underneath (for its own API: ``geometry``, ``page``, …)."""
        return self.session.env

    @property
    def episode_dir(self) -> Path | None:
        """The recording of the episode in progress."""
        return self.session.episode_dir

    def _obs(self, obs: Observation) -> dict[str, Any]:
        self._last = obs
        return {
            "screenshot": _fit_image(obs.array, self._shape),
            "goal": _fit_text(self.session.goal, TEXT_LIMITS["goal"]),
            "url": _fit_text(obs.url, TEXT_LIMITS["url"]),
            "app": _fit_text(obs.app, TEXT_LIMITS["app"]),
            "last_action_error": _fit_text(obs.last_action_error, TEXT_LIMITS["last_action_error"]),
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start a new recorded episode; ``options`` may set ``task`` and ``url``."""
        super().reset(seed=seed)
        opts = options or {}
        task, goal = resolve_task(opts.get("task", self.task_spec), seed)
        obs = self.session.start(task, goal, url=opts.get("url", self.url), seed=seed)
        info = {"task_id": getattr(task, "id", None) or "", "steps": 0}
        return self._obs(obs), info

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self.session.writer is None:
            raise ConfigError("call reset() before step(), and again after an episode ends")
        res: ActResult = self.session.act(action)
        info: dict[str, Any] = {"steps": self.session.steps, **res.info}
        if res.error:
            info["error"] = res.error
            if res.error_code:
                info["error_code"] = res.error_code
        if res.decision is not None:
            info["gate"] = res.decision
        return self._obs(res.observation), float(res.reward), res.terminated, res.truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._last is None:
            return np.zeros(self._shape, np.uint8)
        return _fit_image(self._last.array, self._shape)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.session.close()


def register_envs() -> list[str]:
    """Register ``native_agent/NAME-v0`` for every env the registry knows (built-ins and
    ``native_agent.envs`` entry points); returns the ids. Safe to call twice."""
    from envs.registry import available_envs

    ids = []
    for name in sorted(available_envs()):
        eid = env_id(name)
        if eid not in gymnasium.registry:
            gymnasium.register(
                id=eid,
                entry_point="agent.interfaces.gym:NativeAgentEnv",
                kwargs={"env": name},
                disable_env_checker=False,
            )
        ids.append(eid)
    return ids


REGISTERED = register_envs()
