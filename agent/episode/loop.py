"""The perception-action loop: observe → model → parse → gate → execute → record.

One direction (docs/concepts/data-flow.md): the recorder only listens. The loop adds what a
single model call lacks: a step budget, a history window, a bounded retry that feeds a parse
error back, and after every step the model-free step check and loop guard of
:mod:`agent.episode.checks` (what changed; repeated actions → nudges, optionally a stop; the
same action on an unchanged screen K times → re-prompt, then stop).

Every step line's ``timings`` holds each phase of :data:`agent.episode.steps.PHASES` (0 when
a phase did not happen) plus ``step_s``. ``capture_s`` / ``decode_s`` / ``settle_s`` are the
env's own figures for the screen it captured during this step (``Observation.timings``);
``execute_s`` is the env's ``step`` minus those, so the phases add up to the step. An env
that reports no figures has its whole ``step`` counted as ``execute_s``, and the loop times
an ``observe`` it makes itself as ``capture_s``.

Each action is checked, typed and executed by :func:`agent.episode.executor.execute`, the
one executor a resume's fast-forward and an externally driven episode use too.

A ``zoom`` answer touches no env: the executor turns its region into a crop, and the NEXT
request reads that crop (:func:`agent.core.crops.crop_observation`: native pixels, or the
recorded ×2 upscale) instead of the screen; that reply's points are mapped back to screen px
(:func:`agent.core.crops.action_to_screen`) before the gate and the env, its line records
``zoomed`` (the crop read, with the request's frame; the line's ``frame`` stays the screen's,
which the env's input units are read back through), and the step after sees the whole screen
again. A zoom step changes nothing on screen, so the model checker is not asked about it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.core.actions import Action
from agent.core.coords import Frame
from agent.core.crops import Crop, action_to_screen, crop_observation, crop_record
from agent.core.env import Env
from agent.core.errors import EnvClosedError, ParseError, VisionInputError, describe_error
from agent.core.model import HistoryItem, Model, ModelRequest, SafetyCheck, history_window
from agent.core.observation import Observation
from agent.core.task import Task
from agent.episode.checker import ModelChecker
from agent.episode.checks import DEFAULT_NUDGES, DEFAULT_STAGNATION, LoopGuard, describe_action
from agent.episode.executor import add_time, execute
from agent.episode.recording import EpisodeWriter
from agent.episode.steps import PHASES
from agent.safety.gate import AllowAll, Gate
from agent.safety.masking import mask_and_scrub, needs_recapture, privacy_request
from agent.safety.secrets import Secrets
from agent.safety.targets import TargetReader
from model.parsers import Parsed, convention_for, frame_options, mode_for, parse


@dataclass
class LoopConfig:
    """The loop's own settings. The history window is the model's (``Model.history_steps``
    / ``Model.history_images``, set from the model settings): one source for what the loop
    keeps and what the request holds."""

    max_steps: int = 30
    parse_retries: int = 2  # extra model calls after a malformed output
    no_progress_k: int = 3  # same action on an unchanged screen K times → re-prompt
    change_pixels: int = 16  # more changed pixels than this = the screen changed
    # the loop guard (agent.episode.checks): nudge at these repeats of one (action, page)
    loop_nudges: tuple[int, ...] = DEFAULT_NUDGES
    loop_stop: int = 0  # end the episode ("loop") at this many repeats; 0 = never
    stagnation: int = DEFAULT_STAGNATION  # nudge after N steps without a change; 0 = off


@dataclass
class StepEvent:
    """What the CLI's live progress shows after each step."""

    index: int
    actions: list[dict[str, Any]]
    error: str | None
    timings: dict[str, float]
    status: str | None = None


@dataclass
class LoopResult:
    status: str  # success | failure | call_user | max_steps | no_progress | loop | parse_error
    # | truncated
    steps: int
    answer: str | None = None
    evaluation: dict[str, Any] | None = None
    error: str | None = None
    error_code: str | None = None  # the stable code of the error (agent.core.errors)
    extra: dict[str, Any] = field(default_factory=dict)

    def outcome(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "steps": self.steps}
        for k in ("answer", "evaluation", "error", "error_code"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        return {**out, **self.extra}


class Loop:
    """Runs one episode of ``model`` on ``env``; construct once per episode."""

    def __init__(
        self,
        env: Env,
        model: Model,
        writer: EpisodeWriter,
        *,
        config: LoopConfig | None = None,
        gate: Gate | None = None,
        on_step: Callable[[StepEvent], None] | None = None,
        secrets: Secrets | None = None,
        checker: ModelChecker | None = None,
    ) -> None:
        self.env, self.model, self.writer = env, model, writer
        self.checker = checker  # the optional model step check (agent.episode.checker)
        self.cfg = config or LoopConfig()
        self.gate = gate or AllowAll()
        self.on_step = on_step
        self.secrets = secrets or Secrets()
        # one reader for the gate and the masking (it caches the OCR engine)
        self.reader: TargetReader = getattr(self.gate, "reader", None) or TargetReader()
        env.set_privacy(privacy_request(self.secrets))  # what the env's snapshots look for
        self.history: list[HistoryItem] = []
        self.checks: list[SafetyCheck] = []  # vendor safety checks on the last parsed reply
        self.mode = model.input_mode if model.input_mode else mode_for(model.format)
        self.convention = model.convention or convention_for(model.format)
        self.frame_kw = frame_options(model.format, factor=model.grid, min_pixels=model.min_pixels)
        c = self.cfg
        self.guard = LoopGuard(
            nudges=c.loop_nudges,
            stop=c.loop_stop or None,
            stagnation=c.stagnation,
            no_progress_k=c.no_progress_k,
            change_pixels=c.change_pixels,
        )

    def _frame(self, obs: Observation) -> Frame:
        """The screenshot's Frame as the model sees it (the model may size it itself:
        :meth:`~agent.core.model.Model.plan_frame`)."""
        frame = obs.frame(
            mode=self.mode,
            max_tokens=self.model.max_tokens,
            convention=self.convention,
            **self.frame_kw,
        )
        return self.model.plan_frame(obs, frame)

    def _view(
        self, obs: Observation, zoom: Crop | None, i: int
    ) -> tuple[Observation, dict[str, Any] | None]:
        """What the model reads this step: the screen, or the crop a zoom asked for last
        step, with its record for the step line."""
        if zoom is None:
            return obs, None
        record: dict[str, Any] = {"step": i - 1, **crop_record(zoom)}
        try:
            return crop_observation(obs, zoom), record
        except VisionInputError as err:  # the screen changed size since: read it whole
            return obs, {**record, **describe_error(err)}

    # ---- one model decision, with bounded retries on malformed output -----------------
    def _decide(
        self, goal: str, obs: Observation, feedback: str | None
    ) -> tuple[Parsed | None, list[dict[str, Any]], dict[str, float]]:
        frame = self._frame(obs)
        attempts: list[dict[str, Any]] = []
        timings: dict[str, float] = {}
        self.checks = []
        for _ in range(1 + self.cfg.parse_retries):
            t0 = time.perf_counter()
            reply = self.model.act(
                ModelRequest(goal, obs, frame, self._window(), feedback=feedback)
            )
            timings["model_s"] = timings.get("model_s", 0.0) + time.perf_counter() - t0
            for k, v in reply.timings.items():
                timings[f"model.{k}"] = v
            attempt: dict[str, Any] = {"raw": reply.text}
            if reply.usage:
                attempt["usage"] = reply.usage
            if reply.trace is not None:
                attempt["trace"] = reply.trace
            if reply.endpoint is not None:
                attempt["endpoint"] = reply.endpoint
            attempts.append(attempt)
            t0 = time.perf_counter()
            try:
                parsed = parse(self.model.format, reply.text, frame, convention=self.convention)
                add_time(timings, "parse_s", time.perf_counter() - t0)
                self.checks = list(reply.checks)  # the vendor's, for the first action
                return parsed, attempts, timings
            except ParseError as err:
                add_time(timings, "parse_s", time.perf_counter() - t0)
                attempt.update(describe_error(err))
                feedback = (
                    f"Your previous answer could not be parsed ({err.reason}). Answer again "
                    f"with exactly one action in the required format."
                )
        return None, attempts, timings

    def _window(self) -> list[HistoryItem]:
        """The model's history window (:func:`agent.core.model.history_window`: its own
        ``history_steps`` and ``history_images``); pixels outside it are freed."""
        items, shown = history_window(self.history, self.model)
        keep = {id(h) for h in shown}
        for h in self.history:
            if id(h) not in keep:
                h.observation = None  # free pixels outside the image window
        return items

    def run(
        self, goal: str, obs: Observation, task: Task | None = None, *, start: int = 0
    ) -> LoopResult:
        """Run until the model ends, the env dies or ``max_steps`` (counted from 0, so a
        resumed episode passes ``start`` = the steps already recorded) is reached."""
        goal = self.secrets.scrub_text(goal) + self.secrets.prompt_note()
        feedback: str | None = None
        result: LoopResult | None = None
        if needs_recapture(obs, self.secrets):  # captured before the env knew the secrets
            obs = self.env.observe(last_action_error=obs.last_action_error)
        zoom: Crop | None = None  # a zoom answered last step: this request reads its crop
        for i in range(start, self.cfg.max_steps):
            t_step = time.perf_counter()
            t0 = time.perf_counter()
            obs = mask_and_scrub(obs, self.secrets, self.reader)  # masked, scrubbed
            mask_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            shot = self.writer.save_screenshot(i, obs)
            record_s = time.perf_counter() - t0
            view, zoomed = self._view(obs, zoom, i)
            parsed, attempts, decided = self._decide(goal, view, feedback)
            timings = {**dict.fromkeys(PHASES, 0.0), **decided}
            timings["mask_s"], timings["record_s"] = mask_s, record_s
            feedback = None
            frame = self._frame(view)  # the model's: the crop's after a zoom
            if zoomed is not None and view is not obs:
                zoomed["frame"] = frame.model_dump()
            line: dict[str, Any] = {
                "index": i,
                "started_at": time.time(),
                "observation": obs.meta(),
                "screenshot": shot,
                "frame": (frame if zoomed is None else self._frame(obs)).model_dump(),
                "raw": attempts[-1]["raw"],
                "attempts": attempts if len(attempts) > 1 or "error" in attempts[0] else None,
                "thought": parsed.thought if parsed else None,
                "actions": [],
                "zoomed": zoomed,
            }
            if "trace" in attempts[-1]:
                line["trace"] = attempts[-1]["trace"]
            if "endpoint" in attempts[-1]:
                line["endpoint"] = attempts[-1]["endpoint"]
            if parsed is None:
                line["error"] = attempts[-1].get("error")
                line["error_code"] = ParseError.code
                result = LoopResult("parse_error", i + 1, error=line["error"], error_code="parse")
                self._emit(line, i, timings, t_step, result.status)
                break
            if zoom is not None and zoomed is not None and "error" not in zoomed:
                parsed.actions = [action_to_screen(zoom, a) for a in parsed.actions]
            zoom = None  # the step after a zoomed one sees the whole screen
            next_obs = obs
            acknowledged: list[str] = []
            for n, action in enumerate(parsed.actions):
                checks = self.checks if n == 0 else []
                ex = execute(self.env, self.gate, self.secrets, obs, action, timings, checks)
                acknowledged += ex.acknowledged
                line["actions"].append(ex.record)
                if ex.denied:  # nothing ran: the same screen
                    next_obs = next_obs.with_error(ex.record["error"])
                    break
                next_obs = ex.observation
                if ex.zoom is not None:  # the next request reads this crop
                    zoom = ex.zoom
                    break
                if ex.step is None:  # an unknown secret placeholder or a bad zoom region
                    break
                if ex.step.truncated:
                    info = ex.step.info
                    result = LoopResult(
                        "truncated",
                        i + 1,
                        error=info.get("error"),
                        error_code=info.get("error_code", EnvClosedError.code),
                    )
                    break
                if ex.step.terminated:
                    result = self._terminal(action, i + 1)
                    break
                if next_obs.last_action_error:
                    break  # don't run the rest of a multi-action answer blindly
            self.history.append(
                HistoryItem(
                    i,
                    attempts[-1]["raw"],
                    line["actions"][0]["action"] if line["actions"] else None,
                    next_obs.last_action_error,
                    view,  # what the model read (its raw answer's coordinates are on it)
                    frame,
                    acknowledged,
                )
            )
            # the step check and the loop guard (agent.episode.checks)
            verdict = self.guard.after_step(obs, parsed.actions, next_obs)
            line.update(verdict.record)
            if result is None:
                feedback = verdict.feedback
                if verdict.stop:
                    result = LoopResult(verdict.stop, i + 1, error=verdict.reason)
            if result is None and self.checker is not None and parsed.actions and zoom is None:
                feedback = self._ask_checker(goal, parsed.actions[-1], line, next_obs, feedback)
                timings["model_s"] += line["checker"]["latency_s"]  # a model call too
            obs = next_obs
            self._emit(line, i, timings, t_step, result.status if result else None)
            if result is not None:
                break
        if result is None:
            result = LoopResult("max_steps", max(self.cfg.max_steps, start))
        result.extra["final_observation"] = obs.meta()
        if task is not None and result.status != "truncated":
            ev = task.evaluate(self.env)
            result.evaluation = {"success": ev.success, "reward": ev.reward, **ev.details}
            if result.status in (
                "success",
                "max_steps",
                "failure",
                "call_user",
                "no_progress",
                "loop",
            ):
                result.extra["model_status"] = result.status
                result.status = (
                    "success"
                    if ev.success
                    else ("failure" if result.status == "success" else result.status)
                )
        return result

    def _ask_checker(
        self, goal: str, action: Action, line: dict[str, Any], after: Observation, fb: str | None
    ) -> str | None:
        """The checker model's verdict on this step, recorded; its re-plan note joins ``fb``."""
        assert self.checker is not None
        found = line["check"]
        diff = f"{found['result']}" + (f", region {found['region']}" if "region" in found else "")
        got = self.checker.check(goal, describe_action(action), diff, after)
        line["checker"] = got.record
        return " ".join(f for f in (fb, got.feedback) if f) or None

    def _terminal(self, action: Action, steps: int) -> LoopResult:
        if action.type == "finish":
            return LoopResult(
                "success" if action.status == "success" else "failure", steps, answer=action.answer
            )
        return LoopResult("call_user", steps, answer=getattr(action, "question", None))

    def _emit(
        self, line: dict[str, Any], i: int, timings: dict[str, float], t0: float, status: str | None
    ) -> None:
        t_rec = time.perf_counter()
        line["ended_at"] = time.time()
        line = {k: v for k, v in line.items() if v is not None}
        if self.secrets:
            line = self.secrets.scrub(line)
        # the line's own write (one unbuffered append) is the only work outside the phases
        timings["record_s"] = timings.get("record_s", 0.0) + time.perf_counter() - t_rec
        timings["step_s"] = time.perf_counter() - t0
        line["timings"] = {k: round(v, 6) for k, v in timings.items()}
        self.writer.write_step(line)
        if self.on_step:
            errors = [line.get("error")]
            errors += [a.get("error") or a.get("result", {}).get("error") for a in line["actions"]]
            error = next((e for e in errors if e), None)
            actions = [a["action"] for a in line["actions"]]
            self.on_step(StepEvent(i, actions, error, line["timings"], status))
