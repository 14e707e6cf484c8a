"""``agent run --resume DIR``: continue a stopped episode in place.

Reads episode.json + steps.jsonl, re-creates the env (same name and settings) and the task
(a bundled task re-runs its ``setup``; free text reopens the recorded URL), then replays
the actions the recording executed to restore the app's state — gate decisions are not
asked again (they were recorded), secrets are typed again from ``--secret`` — and continues
the loop, appending to the same steps.jsonl with continuing indices.

What counts as executed: an action with a ``result`` that did not truncate the episode (an
action cut by a dying env, or one in flight at a SIGKILL, was never recorded as done, so
the model is asked again). A scripted model is fast-forwarded past the outputs used by the
replayed steps.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from agent.core.actions import TERMINAL_TYPES, parse_action
from agent.core.coords import Frame
from agent.core.env import Env
from agent.core.errors import ConfigError, EnvError, NativeAgentError, RecordingError
from agent.core.model import HistoryItem, Model
from agent.episode.loop import Loop, LoopConfig, StepEvent
from agent.episode.recording import Episode, EpisodeWriter, load_episode
from agent.safety.gate import Gate
from agent.safety.secrets import Secrets


def executed(step: dict[str, Any]) -> list[dict[str, Any]]:
    """Recorded actions of a step that ran to completion (what a resume replays)."""
    return [
        rec["action"]
        for rec in step.get("actions", [])
        if "result" in rec
        and not rec["result"].get("truncated")
        and rec["action"].get("type") not in TERMINAL_TYPES
    ]


def _done(step: dict[str, Any]) -> bool:
    """False for a step whose action was cut by a dying env (it is asked again)."""
    return not any(r.get("result", {}).get("truncated") for r in step.get("actions", []))


def model_calls(steps: list[dict[str, Any]]) -> int:
    """Model outputs the completed steps used (retries included)."""
    return sum(len(s.get("attempts") or [None]) for s in steps if _done(s))


def _env_kwargs(meta: dict[str, Any]) -> dict[str, Any]:
    spec = dict(meta.get("env", {}).get("spec") or {})
    if isinstance(spec.get("viewport"), list):
        spec["viewport"] = tuple(spec["viewport"])
    return spec


def _model(episode: Episode, model: str | Model | None) -> tuple[Model, bool]:
    from model.registry import load_model

    if isinstance(model, Model):
        return model, False
    spec = model or episode.meta.get("model_spec")
    if not spec:
        raise ConfigError(
            f"{episode.dir} does not say which model ran it; pass --model (the same one)"
        )
    return load_model(spec), True


def _fast_forward(model: Model, n: int) -> Model:
    from model.scripted import ScriptedModel

    if isinstance(model, ScriptedModel) and n:
        return ScriptedModel(model.outputs[n:], model.format, source=model.source)
    return model


def _history(steps: list[dict[str, Any]]) -> list[HistoryItem]:
    out = []
    for s in steps:
        acts = s.get("actions") or []
        error = next((a.get("error") or a.get("result", {}).get("error") for a in acts), None)
        frame = None
        if s.get("frame"):
            try:
                frame = Frame.model_validate(s["frame"])
            except ValueError:
                frame = None
        out.append(
            HistoryItem(
                int(s.get("index", len(out))),
                s.get("raw", ""),
                acts[0]["action"] if acts else None,
                error or s.get("error"),
                None,
                frame,
            )
        )
    return out


def replay(env: Env, steps: list[dict[str, Any]], secrets: Secrets) -> int:
    """Re-execute the recorded actions; returns how many ran. A replayed action that kills
    the env is an EnvError (the state cannot be restored)."""
    n = 0
    for step in steps:
        for data in executed(step):
            try:
                action = secrets.inject(parse_action(data))
            except NativeAgentError as err:
                raise ConfigError(
                    f"step {step.get('index')} typed a secret that was not given again: {err}; "
                    "pass the same --secret NAME=VALUE to resume"
                ) from err
            except ValueError as err:
                raise RecordingError(f"step {step.get('index')}: bad action {data}") from err
            res = env.step(action)
            if res.truncated:
                raise EnvError(
                    f"replaying step {step.get('index')} ended the env: {res.info.get('error')}"
                )
            n += 1
    return n


def resume_episode(
    directory: str | Path,
    *,
    model: str | Model | None = None,
    gate: Gate | None = None,
    secrets: Secrets | None = None,
    max_steps: int | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    env: Env | None = None,
) -> Episode:
    """Continue the episode in ``directory`` and return it read back from disk."""
    from agent.episode.runner import finish, resolve_task
    from envs.registry import make_env

    d = Path(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn last line is expected after a SIGKILL
        episode = load_episode(d)
    if episode.success:
        raise ConfigError(f"{d} already ended in success; nothing to resume")
    sec = secrets or Secrets()
    missing = [n for n in episode.meta.get("secrets", {}).get("names", []) if n not in sec.names]
    meta_task = episode.meta.get("task", {})
    goal, task = resolve_task(meta_task.get("id") or meta_task.get("goal") or "")
    if not goal.strip():
        raise RecordingError(f"{d}/episode.json has no task")
    env_meta = episode.meta.get("env", {})
    own_env = env is None
    env_obj = env or make_env(env_meta.get("name", "browser"), **_env_kwargs(episode.meta))
    model_obj, own_model = _model(episode, model)
    try:
        if task is not None:
            task.setup(env_obj)
        else:
            env_obj.reset(url=env_meta.get("url"))
        done = [s for s in episode.steps if _done(s)]
        if missing and any(
            "{{secret:" in str(a.get("text", "")) for s in done for a in executed(s)
        ):
            raise ConfigError(f"the episode typed secrets {missing}; pass --secret NAME=VALUE")
        replay(env_obj, done, sec)
        runner = _fast_forward(model_obj, model_calls(episode.steps))
        known = {f.name for f in fields(LoopConfig)}
        cfg = LoopConfig(**{k: v for k, v in episode.meta.get("config", {}).items() if k in known})
        if max_steps is not None:
            cfg.max_steps = max_steps
        writer = EpisodeWriter.reopen(d, scrub=sec.scrub if sec else None)
        loop = Loop(env_obj, runner, writer, config=cfg, gate=gate, on_step=on_step, secrets=sec)
        loop.history = _history(episode.steps)
        start = max((int(s.get("index", -1)) for s in episode.steps), default=-1) + 1
        obs = env_obj.observe()
        with sec.redact_logs():
            finish(writer, lambda: loop.run(goal, obs, task, start=start))
    finally:
        if own_model:
            model_obj.close()
        if own_env:
            env_obj.close()
    return load_episode(d)
