"""``agent run --resume DIR``: continue a stopped episode in place.

Reads episode.json + steps.jsonl, re-creates the env (same name and settings) and the task
(a bundled task re-runs its ``setup``; free text reopens the recorded URL), then
**fast-forwards**: re-executes the actions the recording executed to restore the app's
state, each through the same gate as a live step — a confirmation given in the recorded run
is asked again (with no TTY it is denied unless ``--yes``), secrets are typed again from
``--secret``. A fast-forward action the gate denies is not executed; the resume stops there
with the outcome ``resume_denied`` (the recorded state cannot be restored without it). Then
the loop continues, appending to the same steps.jsonl with continuing indices.

What is re-executed: the executed, non-terminal actions of the complete steps, as
:mod:`agent.episode.steps` defines them (a step cut by a dying env, or in flight at a
SIGKILL, was never recorded as done, so the model is asked again). A scripted model skips
the outputs the completed steps used.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from agent.core.actions import parse_action
from agent.core.env import Env
from agent.core.errors import (
    ActionDeniedError,
    ConfigError,
    EnvError,
    RecordingError,
    TargetChangedError,
)
from agent.core.model import HistoryItem, Model
from agent.core.observation import Observation
from agent.episode.executor import execute
from agent.episode.loop import LoopConfig, LoopResult, StepEvent
from agent.episode.recording import Episode, EpisodeWriter, load_episode
from agent.episode.steps import StepRecord
from agent.safety.gate import ConfirmFn, ConfirmMode, Gate
from agent.safety.policy import Policy
from agent.safety.secrets import Secrets


def model_calls(steps: list[StepRecord]) -> int:
    """Model outputs the completed steps used (retries included)."""
    return sum(s.model_calls for s in steps if s.complete)


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


def skip_outputs(model: Model, n: int) -> Model:
    """A scripted model without the ``n`` outputs the recorded steps already used."""
    from model.scripted import ScriptedModel

    if isinstance(model, ScriptedModel) and n:
        return ScriptedModel(model.outputs[n:], model.format, source=model.source)
    return model


def _history(steps: list[StepRecord]) -> list[HistoryItem]:
    out = []
    for s in steps:
        error = next((a.failure for a in s.actions if a.failure), None)
        out.append(
            HistoryItem(
                s.index,
                s.raw,
                s.actions[0].action if s.actions else None,
                error or s.error,
                None,
                s.frame,
            )
        )
    return out


def fast_forward(
    env: Env,
    steps: list[StepRecord],
    gate: Gate,
    secrets: Secrets,
    obs: Observation,
    log: list[dict[str, Any]] | None = None,
) -> tuple[Observation, LoopResult | None]:
    """Re-execute the recorded state-changing actions of ``steps``, each through ``gate``
    as a live step would be; returns the observation to continue from, and a LoopResult
    (status ``resume_denied``) when the gate denied one — that action is not executed.
    ``log`` collects what was re-executed (step, action, gate decision). A re-executed
    action that kills the env is an EnvError (the state cannot be restored)."""
    done = 0
    for step in steps:
        for data in step.state_actions():
            try:
                action = parse_action(data)
            except ValueError as err:
                raise RecordingError(f"step {step.index}: bad action {data}") from err
            ex = execute(env, gate, secrets, obs, action, {})
            decision = ex.decision
            entry = {"step": step.index, "action": data, "gate": decision.to_json()}
            if log is not None:
                log.append(entry)
            if ex.denied:
                what = data.get("type", "?")
                target = (decision.target or {}).get("text")
                if target:
                    what += f" on {str(target)[:60]!r}"
                error = (
                    f"resume stopped at step {step.index}: re-executing its {what} was denied "
                    f"by {decision.policy} ({decision.reason}); the recorded state cannot be "
                    "restored without it — confirm it when asked, or pass --yes"
                )
                return obs, LoopResult(
                    "resume_denied",
                    0,
                    error=error,
                    error_code=ActionDeniedError.code,
                    extra={"fast_forward": {**entry, "ran": done}},
                )
            if isinstance(ex.error, TargetChangedError):  # what it pressed changed: not run
                raise EnvError(f"re-executing step {step.index}: {ex.error}") from ex.error
            if ex.step is None:  # an unknown secret placeholder: nothing was typed
                raise ConfigError(
                    f"step {step.index} typed a secret that was not given again: {ex.error}; "
                    "pass the same --secret NAME=VALUE to resume"
                ) from ex.error
            if ex.step.truncated:
                raise EnvError(
                    f"re-executing step {step.index} ended the env: {ex.step.info.get('error')}"
                )
            obs = ex.observation
            done += 1
    return obs, None


def check_resumable(episode: Episode) -> None:
    """ConfigError when there is nothing to resume — asked before a model is loaded, so a
    refused resume costs no model load (and leaves no loader thread behind at exit)."""
    if episode.success:
        raise ConfigError(f"{episode.dir} already ended in success; nothing to resume")


def resume_episode(
    directory: str | Path,
    *,
    model: str | Model | None = None,
    gate: Gate | None = None,
    secrets: Secrets | None = None,
    max_steps: int | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    env: Env | None = None,
    policy: Policy | str | Path | None = None,
    allow_url: Sequence[str] = (),
    deny_url: Sequence[str] = (),
    confirm: ConfirmFn | ConfirmMode = "auto",
    no_gate: bool = False,
) -> Episode:
    """Continue the episode in ``directory`` and return it read back from disk. The gate
    checks every fast-forwarded action as well as the new ones; it is built as
    :func:`agent.run` builds it (:func:`~agent.episode.runner.resolve_gate`: the built-in
    policy by default, ``no_gate=True`` to opt out) — never from the recording."""
    from agent.episode.runner import (
        Continuation,
        recorded_spec,
        resolve_gate,
        resolve_task,
        run_episode,
    )
    from envs.registry import make_env

    the_gate = resolve_gate(
        gate,
        policy=policy,
        allow_url=allow_url,
        deny_url=deny_url,
        confirm=confirm,
        no_gate=no_gate,
    )
    d = Path(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn last line is expected after a SIGKILL
        episode = load_episode(d)
    check_resumable(episode)
    sec = secrets or Secrets()
    steps = episode.records
    done = [s for s in steps if s.complete]
    missing = [n for n in episode.meta.get("secrets", {}).get("names", []) if n not in sec.names]
    typed = [str(a.get("text", "")) for s in done for a in s.state_actions()]
    if missing and any("{{secret:" in t for t in typed):
        raise ConfigError(f"the episode typed secrets {missing}; pass --secret NAME=VALUE")
    meta_task = episode.meta.get("task", {})
    goal, task = resolve_task(meta_task.get("id") or meta_task.get("goal") or "")
    if not goal.strip():
        raise RecordingError(f"{d}/episode.json has no task")
    known = {f.name for f in fields(LoopConfig)}
    cfg = LoopConfig(**{k: v for k, v in episode.meta.get("config", {}).items() if k in known})
    if max_steps is not None:
        cfg.max_steps = max_steps
    env_meta = episode.meta.get("env", {})
    own_env = env is None
    env_obj = env or make_env(recorded_spec(episode.meta))
    model_obj, own_model = _model(episode, model)

    def restore(
        env: Env, gate: Gate, secrets: Secrets, obs: Observation, writer: EpisodeWriter
    ) -> tuple[Observation, LoopResult | None]:
        log: list[dict[str, Any]] = []
        writer.meta["resumes"][-1]["fast_forward"] = log  # written with the outcome
        t0 = time.perf_counter()
        obs, stopped = fast_forward(env, done, gate, secrets, obs, log)
        writer.meta["resumes"][-1]["fast_forward_s"] = round(time.perf_counter() - t0, 3)
        if stopped is not None:
            stopped.steps = writer.n_steps
        return obs, stopped

    try:
        run_episode(
            env_obj,
            skip_outputs(model_obj, model_calls(steps)),
            d,
            task=task,
            goal=goal,
            url=None if task is not None else env_meta.get("url"),
            config=cfg,
            gate=the_gate,
            secrets=sec,
            on_step=on_step,
            resume=Continuation(
                history=_history(steps),
                start=max((s.index for s in steps), default=-1) + 1,
                restore=restore,
            ),
        )
    finally:
        if own_model:
            model_obj.close()
        if own_env:
            env_obj.close()
    return load_episode(d)
