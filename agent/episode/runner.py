"""The one episode runner, and the Python API on top of it.

:func:`run_episode` is what every way of running an episode goes through (``agent run``,
:func:`run`, ``agent bench``, ``agent replay``, ``--resume``): task setup, a writer that
scrubs secrets from everything it writes, the gate, the loop, and an outcome that is always
recorded. :func:`run` is the Python API::

    from agent import run
    episode = run("Book the cheapest nonstop flight BOS→SFO", env="browser", model="ocr")
    print(episode.outcome, episode.dir)

Every documented way in (:func:`run`, :func:`agent.resume`, the Gymnasium and MCP interfaces,
``agent run`` / ``bench`` / ``replay`` / ``mcp``) builds its gate with :func:`resolve_gate`
from the same settings as the command line's flags: the built-in policy unless told
otherwise, ``allow_url`` / ``deny_url`` added to it, ``no_gate=True`` (``--no-gate``) to opt
out.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.env import Env, EnvSpec, Feature
from agent.core.errors import ConfigError, Interrupted, describe_error, signalled
from agent.core.model import HistoryItem, Model
from agent.core.observation import Observation
from agent.core.task import Task
from agent.episode.checker import ModelChecker
from agent.episode.loop import Loop, LoopConfig, LoopResult, StepEvent
from agent.episode.recording import Episode, EpisodeWriter, load_episode
from agent.safety.gate import AllowAll, ConfirmFn, ConfirmMode, Gate, PolicyGate, make_gate
from agent.safety.policy import Policy, default_policy, load_policy
from agent.safety.secrets import Secrets


def resolve_gate(
    gate: Gate | None = None,
    *,
    policy: Policy | str | Path | None = None,
    allow_url: Sequence[str] = (),
    deny_url: Sequence[str] = (),
    confirm: ConfirmFn | ConfirmMode = "auto",
    no_gate: bool = False,
) -> Gate:
    """The gate of every runner, from the settings ``agent run``'s flags name: ``gate`` as
    given; else ``no_gate`` (``--no-gate``: every action runs); else ``policy`` (a Policy or
    a policy file; default: the built-in policy) plus ``allow_url`` / ``deny_url``, with
    ``confirm`` deciding what the policy asks about ("auto": a person on the terminal,
    denied with no TTY; "yes": ``--yes``). A gate given together with settings it would
    override, or ``no_gate`` with a policy or URL list, is a ConfigError (never ignored)."""
    lists = [f for f, v in (("allow_url", allow_url), ("deny_url", deny_url)) if v]
    if gate is not None and (no_gate or policy is not None or lists):
        given = ["no_gate"] * no_gate + ["policy"] * (policy is not None) + lists
        raise ConfigError(f"pass either gate= or {', '.join(given)}, not both")
    if gate is not None:
        return gate
    if no_gate:
        if policy is not None or lists:
            given = ["policy"] * (policy is not None) + lists
            raise ConfigError(f"no_gate turns the gate off: drop {', '.join(given)} or no_gate")
        return make_gate(enabled=False)
    if isinstance(policy, str | Path):
        policy = load_policy(policy)
    base = policy if policy is not None else default_policy()
    return make_gate(base.with_urls(list(allow_url), list(deny_url)), confirm=confirm)


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


@dataclass
class Continuation:
    """How a resumed episode goes on (built by :mod:`agent.episode.resume`): the recorded
    history for the model's window, the next step index, and ``restore``, which brings the
    fresh env back to the recorded state through the gate before the loop continues — it
    returns the observation to continue from, or a LoopResult when the state cannot be
    restored (the episode then ends with that outcome)."""

    history: list[HistoryItem]
    start: int
    restore: Callable[
        [Env, Gate, Secrets, Observation, EpisodeWriter], tuple[Observation, LoopResult | None]
    ]


def run_episode(
    env: Env,
    model: Model,
    out: str | Path,
    *,
    task: Task | None = None,
    goal: str | None = None,
    url: str | None = None,
    config: LoopConfig | None = None,
    gate: Gate | None = None,
    secrets: Secrets | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
    env_meta: Mapping[str, Any] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
    resume: Continuation | None = None,
    checker: ModelChecker | None = None,
) -> LoopResult:
    """The one episode runner (``agent run``, :func:`run`, ``agent bench``, ``agent replay``
    and ``--resume`` all come here): set up the task (or reset the env to ``url``), open the
    writer with every string scrubbed of ``secrets``, run the loop behind ``gate``, and
    always record the outcome (an exception is recorded before it propagates).

    The goal is read after ``task.setup`` because it may come from the live page
    (MiniWoB++). With ``resume`` the recorded episode in ``out`` is reopened and continued.
    """
    sec = secrets if secrets is not None else Secrets()
    cfg = config or LoopConfig()
    the_gate: Gate = gate if gate is not None else AllowAll()
    guard_requests(env, the_gate)  # before the task's first page load
    with sec.redact_logs():
        if task is not None:
            task.setup(env)
            goal = task.goal if goal is None else goal
            obs = env.observe()
        else:
            obs = env.reset(url=url)
        if not goal or not goal.strip():
            raise ConfigError("the episode has no goal: pass --task 'what to do'")
        the_goal: str = goal
        if resume is not None:
            writer = EpisodeWriter.reopen(out, scrub=sec.scrub)
            writer.meta["resumes"][-1]["env"] = env_record(env)  # the env rebuilt for it
        else:
            meta = _meta(env, model, task, goal, url, obs, cfg, gate, sec, env_meta, extra_meta)
            writer = EpisodeWriter(out, meta, scrub=sec.scrub)
        model.new_episode()  # a model object may serve episode after episode
        loop = Loop(
            env,
            model,
            writer,
            config=cfg,
            gate=the_gate,
            on_step=on_step,
            secrets=sec,
            checker=checker,
        )

        def body() -> LoopResult:
            first, start = obs, 0
            if resume is not None:
                loop.history = resume.history
                first, stopped = resume.restore(env, the_gate, sec, obs, writer)
                if stopped is not None:
                    return stopped
                start = resume.start
            return loop.run(the_goal, first, task, start=start)

        return finish(writer, body)


def _meta(
    env: Env,
    model: Model,
    task: Task | None,
    goal: str,
    url: str | None,
    obs: Observation,
    cfg: LoopConfig,
    gate: Gate | None,
    sec: Secrets,
    env_meta: Mapping[str, Any] | None,
    extra_meta: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What episode.json says before the first step (scrubbed by the writer)."""
    describe = getattr(task, "describe", None)  # bundled tasks describe themselves
    return {
        "task": {
            **(describe() if callable(describe) else {}),
            "goal": goal,
            "id": getattr(task, "id", None) or None,
        },
        "env": {**env_record(env), "url": url or obs.url, **(env_meta or {})},
        "model": model.describe(),
        "config": vars(cfg),
        "gate": gate_meta(gate),
        "secrets": sec.describe(),
        **(extra_meta or {}),
    }


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
    policy: Policy | str | Path | None = None,
    allow_url: Sequence[str] = (),
    deny_url: Sequence[str] = (),
    confirm: ConfirmFn | ConfirmMode = "auto",
    no_gate: bool = False,
    on_step: Callable[[StepEvent], None] | None = None,
    secrets: Secrets | Mapping[str, str] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
    checker: ModelChecker | None = None,
    **env_kwargs: Any,
) -> Episode:
    """Run ``task`` to completion; always records; returns the episode read back from disk.

    The gate is ``agent run``'s (:func:`resolve_gate`): the built-in policy by default — with
    no terminal, what it asks about is denied — ``policy`` / ``allow_url`` / ``deny_url`` /
    ``confirm`` as the flags ``--policy`` / ``--allow-url`` / ``--deny-url`` / ``--yes``
    (``confirm="yes"``), ``gate=`` a gate of your own, ``no_gate=True`` none at all.
    ``secrets`` are typed for their ``{{secret:NAME}}`` placeholders and scrubbed from
    everything recorded.
    """
    from envs.registry import make_env
    from model.registry import load_model

    sec = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
    the_gate = resolve_gate(
        gate,
        policy=policy,
        allow_url=allow_url,
        deny_url=deny_url,
        confirm=confirm,
        no_gate=no_gate,
    )
    goal, task_obj = resolve_task(task)
    if not goal.strip():
        raise ConfigError("the task is empty: pass --task 'what to do'")
    own_env = isinstance(env, str)
    env_obj = make_env(env, **env_kwargs) if isinstance(env, str) else env
    own_model = not isinstance(model, Model)
    model_obj = model if isinstance(model, Model) else load_model(model)
    out_dir = Path(out) if out else default_out_dir(goal)
    try:
        run_episode(
            env_obj,
            model_obj,
            out_dir,
            task=task_obj,
            goal=goal,
            url=url,
            config=config or LoopConfig(max_steps=max_steps),
            gate=the_gate,
            secrets=sec,
            on_step=on_step,
            env_meta={"url": url},
            extra_meta={
                **({"model_spec": model} if isinstance(model, str) else {}),
                **({"checker": checker.describe()} if checker is not None else {}),
                **(extra_meta or {}),
            },
            checker=checker,
        )
    finally:
        if own_model:
            model_obj.close()
        if own_env:
            env_obj.close()
    return load_episode(out_dir)


def env_record(env: Env) -> dict[str, Any]:
    """episode.json's ``env`` section, less the URL: the env's name and its spec's settings
    (``env.spec()``) — the one place ``--resume``, ``agent replay`` and ``agent bench``
    read to build the same env again. An env that cannot describe itself is recorded with
    ``spec: null`` and the reason (the episode is still recorded)."""
    try:
        spec = env.spec()
    except ConfigError as err:
        return {"name": env.name, "spec": None, "spec_error": str(err)}
    return {"name": spec.name, "spec": spec.kwargs}


def recorded_spec(meta: Mapping[str, Any]) -> EnvSpec:
    """The env an episode ran in, from its episode.json ``meta``: ``env.spec`` (settings as
    JSON), else ``env.kwargs`` (older recordings: ``str()`` of each value, read back as a
    Python literal where it is one), else the recorded env's defaults."""
    env = meta.get("env") or {}
    if not isinstance(env, Mapping):
        raise ConfigError(f"episode.json's env is {env!r:.60}, not an object")
    name = str(env.get("name") or "browser")
    spec = env.get("spec")
    if isinstance(spec, Mapping):
        return EnvSpec(name, dict(spec))
    old = env.get("kwargs")
    if isinstance(old, Mapping):
        return EnvSpec(name, {str(k): _literal(v) for k, v in old.items()})
    return EnvSpec(name)


def _literal(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def gate_meta(gate: Gate | None) -> dict[str, Any]:
    """What episode.json says about the gate (the policy itself when there is one)."""
    if gate is None or isinstance(gate, AllowAll):
        return {"policy": "none"}
    describe = getattr(gate, "describe", None)
    return describe() if callable(describe) else {"policy": type(gate).__name__}


def guard_requests(env: Env, gate: Gate) -> None:
    """Put the gate's URL policy on the wire of an env that can filter its requests (every
    request judged before it leaves); an env reused under another gate loses the old one."""
    if env.offers(Feature.REQUEST_FILTER):
        env.filter_requests(gate.wire_verdict() if isinstance(gate, PolicyGate) else None)


def finish(writer: EpisodeWriter, body: Callable[[], LoopResult]) -> LoopResult:
    """Run the loop and always write an outcome: an exception (a full disk included) is
    recorded with its type before it propagates."""
    try:
        result = body()
    except BaseException as err:
        # a signal's Interrupted may surface as another error (a driver torn down mid-call)
        stopped = isinstance(err, (Interrupted, KeyboardInterrupt)) or signalled() is not None
        status = "interrupted" if stopped else "error"
        described = describe_error(err)
        code = Interrupted.code if stopped else described["error_code"]
        outcome = LoopResult(status, writer.n_steps, error=described["error"], error_code=code)
        record = outcome.outcome()
        record["error_type"] = type(err).__name__
        try:
            writer.finish(record)
        except Exception as again:
            raise again from err
        if stopped and not isinstance(err, (Interrupted, KeyboardInterrupt)):
            raise Interrupted(signalled() or "SIGTERM") from err
        raise
    writer.finish(result.outcome())
    return result
