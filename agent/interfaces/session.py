"""One externally driven episode: actions chosen by someone else (a Gymnasium agent, an MCP
client) pass the same gate, secret handling and recording as the agent's own loop.

The loop (:mod:`agent.episode.loop`) owns the model; here the caller is the model. Each
:meth:`ActionSession.act` masks the screen, records it, checks the action with the gate,
injects secrets, executes it and appends one step line in the loop's shape, so every
episode tool (``agent view``, ``agent eval``, ``agent export``, ``agent replay``) reads it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.core.actions import (
    ACTION_ADAPTER,
    TERMINAL_TYPES,
    Action,
    dump_action,
    parse_action,
)
from agent.core.coords import Frame
from agent.core.env import Env
from agent.core.errors import ConfigError, describe_error
from agent.core.model import Model
from agent.core.observation import Observation
from agent.core.task import Task
from agent.episode.checks import LoopGuard
from agent.episode.executor import add_time, execute
from agent.episode.recording import EpisodeWriter
from agent.episode.runner import (
    default_out_dir,
    env_record,
    gate_meta,
    guard_requests,
    resolve_gate,
)
from agent.episode.steps import PHASES
from agent.safety.gate import AllowAll, ConfirmFn, ConfirmMode, Gate
from agent.safety.masking import mask_and_scrub, needs_recapture, privacy_request
from agent.safety.policy import Policy
from agent.safety.secrets import Secrets
from agent.safety.targets import TargetReader


@dataclass
class ActResult:
    """What one external action did: the (masked) next screen and the episode's state."""

    observation: Observation
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    error: str | None = None
    decision: dict[str, Any] | None = None
    error_code: str | None = None  # the stable code of ``error`` (agent.core.errors)
    executed: bool = False  # the env ran the action (else invalid, denied, unknown secret)
    info: dict[str, Any] = field(default_factory=dict)


def resolve_task(task: str | Task | None, seed: int | None) -> tuple[Task | None, str]:
    """(task object, goal): a Task, ``miniwob/NAME`` (seeded by ``reset``), a bundled
    task id (``flights/book-cheapest``), or free text (no success check: reward 0)."""
    if task is None:
        return None, ""
    if isinstance(task, Task):
        return task, task.goal
    text = task.strip()
    if text.startswith("miniwob/"):
        from envs.miniwob import MiniWobTask

        return MiniWobTask(text.split("/", 1)[1], seed or 0), ""
    if re.fullmatch(r"[a-z0-9_-]+/[a-z0-9_-]+", text):
        from envs.sites import get_task

        found = get_task(text)
        return found, found.goal
    return None, text


def grounding_task(phrase: str) -> str:
    """The instruction a model grounds for a phrase: "click" + the phrase quoted (the OCR
    grounder's grammar, and the words the VLM grounding prompts expect)."""
    return 'click "' + " ".join(phrase.replace('"', "'").split()) + '"'


def model_frame(obs: Observation, model: Model, max_tokens: int | None = None) -> Frame:
    """The Frame ``model`` reads ``obs`` in, as the loop plans it (its input mode, token cap
    — or ``max_tokens`` to pin one — and coordinate convention); one place for the MCP
    ``ground`` tool and the ScreenSpot evaluation."""
    from model.parsers import convention_for, frame_options, mode_for

    return obs.frame(
        mode=model.input_mode or mode_for(model.format),
        max_tokens=max_tokens if max_tokens is not None else model.max_tokens,
        convention=model.convention or convention_for(model.format),
        **frame_options(model.format, factor=model.grid, min_pixels=model.min_pixels),
    )


def coerce_action(value: Action | dict[str, Any] | str) -> Action:
    """An action from its JSON text, a dict or an action model; ConfigError names the fix."""
    try:
        if isinstance(value, str):
            return parse_action(value)
        return ACTION_ADAPTER.validate_python(value)
    except ValidationError as err:
        errors = err.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        why = errors[0]["msg"] if errors else str(err)
        raise ConfigError(
            f"not a valid action ({where or 'action'}: {why}); see `agent schema`"
        ) from err


class ActionSession:
    """Episodes of one env driven from outside; one recorded episode per :meth:`start`.

    The gate is ``agent run``'s (:func:`agent.episode.runner.resolve_gate`): the built-in
    policy unless ``gate`` / ``policy`` / ``allow_url`` / ``deny_url`` / ``confirm`` say
    otherwise, ``no_gate=True`` to opt out."""

    def __init__(
        self,
        env: Env,
        *,
        gate: Gate | None = None,
        secrets: Secrets | None = None,
        record_dir: str | Path = "runs",
        max_steps: int = 50,
        meta: dict[str, Any] | None = None,
        policy: Policy | str | Path | None = None,
        allow_url: Sequence[str] = (),
        deny_url: Sequence[str] = (),
        confirm: ConfirmFn | ConfirmMode = "auto",
        no_gate: bool = False,
    ) -> None:
        if max_steps < 1:
            raise ConfigError(f"max_steps must be ≥ 1, got {max_steps}")
        self.env = env
        self.gate = resolve_gate(
            gate,
            policy=policy,
            allow_url=allow_url,
            deny_url=deny_url,
            confirm=confirm,
            no_gate=no_gate,
        )
        guard_requests(env, self.gate)  # the URL policy on the wire, where the env can
        self.secrets = secrets or Secrets()
        self.reader: TargetReader = getattr(self.gate, "reader", None) or TargetReader()
        env.set_privacy(privacy_request(self.secrets))  # what the env's snapshots look for
        self.record_dir = Path(record_dir)
        self.max_steps = max_steps
        self.meta = dict(meta or {})
        self.writer: EpisodeWriter | None = None
        self.task: Task | None = None
        self.goal = ""
        self.steps = 0
        self.done = False
        self.obs: Observation | None = None
        self.last_dir: Path | None = None  # the episode that ended last
        self._pending: dict[str, float] = {}  # phases of the next step spent before it
        self.guard = LoopGuard()  # the step check and loop guard (records; nudges in info)

    @property
    def episode_dir(self) -> Path | None:
        return self.writer.dir if self.writer else None

    def start(
        self,
        task: Task | None = None,
        goal: str = "",
        *,
        url: str | None = None,
        seed: int | None = None,
        out: str | Path | None = None,
        reset: bool = True,
    ) -> Observation:
        """End the episode in progress (if any), bring the env to the task's start state
        (``reset=False``: keep the screen as it is) and open a new recording; returns the
        masked first screen."""
        self.end("reset")
        self.task = task
        if task is not None and reset:
            task.setup(self.env)
            obs = self.env.observe()
            goal = task.goal or goal
        elif reset:
            obs = self.env.reset(url=url, seed=seed)
        else:
            obs = self.env.observe()
        self.goal = goal
        task_meta: dict[str, Any] = {"goal": self.secrets.scrub_text(goal)}
        task_meta["id"] = getattr(task, "id", None)
        describe = getattr(task, "describe", None)
        if callable(describe):
            task_meta.update({k: v for k, v in describe().items() if k not in task_meta})
        meta = {
            "task": task_meta,
            "env": {**env_record(self.env), "url": url},
            "model": {"name": "external", "format": "json"},
            "gate": gate_meta(self.gate if not isinstance(self.gate, AllowAll) else None),
            "secrets": self.secrets.describe(),
            **self.meta,
        }
        directory = Path(out) if out else default_out_dir(goal or self.env.name, self.record_dir)
        scrub = self.secrets.scrub if self.secrets else None
        self.writer = EpisodeWriter(directory, meta, scrub=scrub)
        self.steps, self.done = 0, False
        self.guard = LoopGuard()
        self.obs = self._screen(obs)
        return self.obs

    def _screen(self, obs: Observation, timings: dict[str, float] | None = None) -> Observation:
        """``obs`` masked; the seconds go to ``timings`` (the step that captured it), or,
        outside a step, to the next step's ``mask_s``."""
        if needs_recapture(obs, self.secrets):  # captured before the env knew the secrets
            obs = self.env.observe(last_action_error=obs.last_action_error)
        t0 = time.perf_counter()
        masked = mask_and_scrub(obs, self.secrets, self.reader)
        if timings is not None:
            add_time(timings, "mask_s", time.perf_counter() - t0)
        else:
            self._pending = {"mask_s": time.perf_counter() - t0}
        return masked

    def observe(self) -> Observation:
        """The current screen, masked (no step is recorded)."""
        self._need_episode()
        self.obs = self._screen(self.env.observe())
        return self.obs

    def _need_episode(self) -> None:
        if self.writer is None and self.done:
            raise ConfigError("the episode has ended: call reset / start for a new one")
        if self.writer is None:
            raise ConfigError("no episode in progress: call reset / start first")

    def act(self, value: Action | dict[str, Any] | str, *, raw: str | None = None) -> ActResult:
        """Run one action through the gate and the env, and record it as one step.

        An invalid action, a gate denial and a failed action are all recorded and come back
        as ``error`` (also the next observation's ``last_action_error``); none raises. The
        step line has the loop's shape: the same keys, every phase of
        :data:`~agent.episode.steps.PHASES` in ``timings`` (``model_s`` is 0: the caller is
        the model; ``parse_s`` reads the action), the same action record
        (:func:`agent.episode.executor.execute`)."""
        self._need_episode()
        assert self.writer is not None and self.obs is not None
        t_step = time.perf_counter()
        timings: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        timings.update(self._pending)  # masking the screen this step starts from
        self._pending = {}
        i = self.steps
        obs = self.obs
        text = raw if raw is not None else _as_text(value)
        line: dict[str, Any] = {"index": i, "started_at": time.time()}
        t0 = time.perf_counter()
        shot = self.writer.save_screenshot(i, obs)
        timings["record_s"] = time.perf_counter() - t0
        line.update(
            observation=obs.meta(),
            screenshot=shot,
            frame=obs.frame(convention="screen").model_dump(),
            raw=text,
            actions=[],
        )
        result = self._execute(value, obs, line, timings)
        if line["actions"]:  # the loop's step check and guard; the caller reads the nudge
            acted = coerce_action(line["actions"][0]["action"])
            verdict = self.guard.after_step(obs, [acted], result.observation)
            line.update(verdict.record)
            if verdict.feedback:
                result.info["feedback"] = verdict.feedback
        self.steps += 1
        if not (result.terminated or result.truncated) and self.steps >= self.max_steps:
            result.truncated = True
            result.info["budget"] = f"max_steps={self.max_steps} reached"
        t0 = time.perf_counter()
        line["ended_at"] = time.time()
        if self.secrets:
            line = self.secrets.scrub(line)
        add_time(timings, "record_s", time.perf_counter() - t0)
        timings["step_s"] = time.perf_counter() - t_step
        line["timings"] = {k: round(v, 6) for k, v in timings.items()}
        self.writer.write_step(line)
        self.obs = result.observation
        if result.terminated or result.truncated:
            self.end(self._status(result), result)
        return result

    def _execute(
        self, value: Any, obs: Observation, line: dict[str, Any], timings: dict[str, float]
    ) -> ActResult:
        t0 = time.perf_counter()
        try:
            action = coerce_action(value)
        except ConfigError as err:
            add_time(timings, "parse_s", time.perf_counter() - t0)
            line.update(describe_error(err))  # the loop's shape of an unparsable output
            error, code = line["error"], line["error_code"]
            return ActResult(obs.with_error(error), error=error, error_code=code)
        add_time(timings, "parse_s", time.perf_counter() - t0)
        ex = execute(self.env, self.gate, self.secrets, obs, action, timings)
        line["actions"].append(ex.record)
        decision = ex.record["gate"]
        if ex.zoom is not None:  # served by the executor: the crop is in the record
            info = {"action_type": action.type, "zoom": ex.record["zoom"]}
            return ActResult(ex.observation, decision=decision, info=info)
        if ex.step is None:  # denied (the same, masked screen), or an unknown secret
            error, code = ex.record["error"], ex.record["error_code"]
            after = ex.observation if ex.denied else self._screen(ex.observation, timings)
            return ActResult(after, error=error, decision=decision, error_code=code)
        res = ex.step
        out = ActResult(
            self._screen(res.observation, timings),
            reward=float(res.reward),
            terminated=res.terminated,
            truncated=res.truncated,
            error=res.observation.last_action_error,
            decision=decision,
            error_code=res.info.get("error_code"),
            executed=True,
            info={"action_type": action.type},
        )
        if action.type == "finish":
            out.info["finish_status"] = action.status
        if self.task is not None and not res.truncated:
            ev = self.task.evaluate(self.env)
            out.info["success"] = ev.success
            if ev.success or res.terminated or action.type in TERMINAL_TYPES:
                out.terminated, out.reward = True, float(ev.reward)
                out.info["evaluation"] = {"success": ev.success, "reward": ev.reward, **ev.details}
        return out

    def _status(self, result: ActResult) -> str:
        if result.truncated:
            return "truncated" if "budget" not in result.info else "max_steps"
        ev = result.info.get("evaluation")
        if ev is not None:
            return "success" if ev["success"] else "failure"
        if result.info.get("action_type") == "finish":
            return str(result.info.get("finish_status", "success"))
        return "call_user" if result.info.get("action_type") == "call_user" else "terminated"

    def end(self, status: str, result: ActResult | None = None) -> None:
        """Write the outcome of the episode in progress (idempotent)."""
        if self.writer is None:
            return
        writer, self.writer = self.writer, None
        self.done = True
        outcome: dict[str, Any] = {"status": status, "steps": self.steps}
        if result is not None and "evaluation" in result.info:
            outcome["evaluation"] = result.info["evaluation"]
        if result is not None and result.error:
            outcome["error"] = result.error
            if result.error_code:
                outcome["error_code"] = result.error_code
        writer.finish(self.secrets.scrub(outcome) if self.secrets else outcome)
        self.last_dir = writer.dir

    def close(self) -> None:
        self.end("closed")
        self.env.close()


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    try:
        return json.dumps(dump_action(value))
    except Exception:
        return repr(value)
