"""The Python API: one call runs a task on an env with a model and returns the episode.

from agent import run
episode = run("Book the cheapest nonstop flight BOS→SFO", env="browser", model="ocr")
print(episode.outcome, episode.dir)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent.core.env import Env
from agent.core.errors import ConfigError
from agent.core.model import Model
from agent.core.task import Task
from agent.episode.loop import Loop, LoopConfig, LoopResult, StepEvent
from agent.episode.recording import Episode, EpisodeWriter, load_episode
from agent.safety.gate import Gate
from agent.safety.secrets import Secrets


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "episode"


def default_out_dir(goal: str, root: str | Path = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{_slug(goal)}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def resolve_task(task: str | Task) -> tuple[str, Task | None]:
    """A Task object, a bundled task id (``flights/book-cheapest``), or free text."""
    if isinstance(task, Task):
        return task.goal, task
    if re.fullmatch(r"[a-z0-9_-]+/[a-z0-9_-]+", task.strip()):
        from envs.sites import get_task

        t = get_task(task.strip())
        return t.goal, t
    return task, None


def run(
    task: str | Task,
    env: str | Env = "browser",
    model: str | Model | None = None,
    *,
    url: str | None = None,
    out: str | Path | None = None,
    max_steps: int = 30,
    config: LoopConfig | None = None,
    gate: Gate | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    secrets: Secrets | Mapping[str, str] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
    **env_kwargs: Any,
) -> Episode:
    """Run ``task`` to completion; always records; returns the episode read back from disk.

    ``gate`` defaults to no gate (library callers choose; ``agent run`` uses the default
    policy, see :func:`agent.safety.gate.make_gate`). ``secrets`` are typed for their
    ``{{secret:NAME}}`` placeholders and scrubbed from everything recorded.
    """
    from envs.registry import make_env
    from model.registry import load_model

    sec = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
    goal, task_obj = resolve_task(task)
    if not goal.strip():
        raise ConfigError("the task is empty: pass --task 'what to do'")
    own_env = isinstance(env, str)
    env_obj = make_env(env, **env_kwargs) if isinstance(env, str) else env
    own_model = not isinstance(model, Model)
    model_obj = model if isinstance(model, Model) else load_model(model)
    cfg = config or LoopConfig(max_steps=max_steps)
    out_dir = Path(out) if out else default_out_dir(goal)
    try:
        if task_obj is not None:
            task_obj.setup(env_obj)
            obs = env_obj.observe()
        else:
            obs = env_obj.reset(url=url)
        meta = {
            "task": {"goal": goal, "id": getattr(task_obj, "id", None)},
            "env": {
                "name": env_obj.name,
                "kwargs": {k: str(v) for k, v in env_kwargs.items()},
                "spec": {k: json_safe(v) for k, v in env_kwargs.items()},
                "url": url,
            },
            "model": model_obj.describe(),
            "config": vars(cfg),
            "gate": gate_meta(gate),
            "secrets": sec.describe(),
            **({"model_spec": model} if isinstance(model, str) else {}),
            **(extra_meta or {}),
        }
        writer = EpisodeWriter(out_dir, meta, scrub=sec.scrub if sec else None)
        loop = Loop(env_obj, model_obj, writer, config=cfg, gate=gate, on_step=on_step, secrets=sec)
        with sec.redact_logs():
            finish(writer, lambda: loop.run(goal, obs, task_obj))
    finally:
        if own_model:
            model_obj.close()
        if own_env:
            env_obj.close()
    return load_episode(out_dir)


def json_safe(value: Any) -> Any:
    """A value for episode.json that :func:`agent.episode.resume` can pass back to the env."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def gate_meta(gate: Gate | None) -> dict[str, Any]:
    """What episode.json says about the gate (the policy itself when there is one)."""
    if gate is None:
        return {"policy": "none"}
    describe = getattr(gate, "describe", None)
    return describe() if callable(describe) else {"policy": type(gate).__name__}


def finish(writer: EpisodeWriter, body: Callable[[], LoopResult]) -> LoopResult:
    """Run the loop and always write an outcome: an exception (a full disk included) is
    recorded with its type before it propagates."""
    try:
        result = body()
    except BaseException as err:
        outcome = LoopResult(
            "error", writer.n_steps, error=f"{type(err).__name__}: {err}"
        ).outcome()
        outcome["error_type"] = type(err).__name__
        try:
            writer.finish(outcome)
        except Exception as again:
            raise again from err
        raise
    writer.finish(result.outcome())
    return result
