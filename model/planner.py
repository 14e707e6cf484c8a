"""``PlannedModel``: a planner says *what* (in words), a grounder finds *where*.

Each step: the planner (any :class:`~agent.core.model.Model`: a VLM, a text-only LLM given
the screen's OCR lines, or ``scripted:FILE``) answers one action — our action JSON with a
``target`` description and no point, or one OCR instruction (``click "Search"``,
``type "BOS" into "From"``). Each description goes through a
:class:`~model.grounders.base.DescriptionGrounder`; the answer is one action in the ``json``
format, ``screen`` convention (screenshot px), which the loop parses and executes.

A :class:`~model.grounders.base.GroundingFailure` (or an unreadable planner answer) never
points: the step becomes a zero-second ``wait`` and the reason is the planner's feedback
next step. Every step's :attr:`~agent.core.model.ModelReply.trace` holds the planner's
prompt and raw answer, the description and the grounding (prompt, raw answer, model point,
crop, screen point, latency, tokens); the loop writes it into the step line.

Best-of-N per step (``samples=K`` with a :class:`~model.judge.Judge`): the planner is asked K
times (its own sampling; a scripted planner's ``sample``), every answer is read, unreadable
ones are dropped and identical ones merged; only when two or more distinct remain the judge
picks one, which is then grounded. ``trace["best_of"]`` records every sample and the verdict.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from agent.core.coords import Frame
from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, Model, ModelReply, ModelRequest
from agent.core.observation import Observation
from model.grounders.base import DescriptionGrounder, Grounded
from model.judge import Judge
from model.ocr.instructions import POINTER_VERBS, Step, parse_step, split_steps
from model.parsers import convention_for, frame_options, mode_for
from model.parsers.grammar import planner_schema
from model.prompts.planner import PLANNER_PROMPT, planner_prompt

POINTER_TYPES = frozenset(POINTER_VERBS)
PASS_THROUGH = frozenset(
    {"key", "scroll", "wait", "navigate", "finish", "call_user", "go_back", "refresh"}
)
_FIELD_WORD = re.compile(r"\b(field|input|textbox)\b", re.I)


class PlanError(ValueError):
    """The planner's answer is not one action we can ground (becomes its feedback)."""


def _quote(label: str) -> str:
    return '"' + label.replace('"', "'") + '"'


def field_description(target: str) -> str:
    """A ``type ... into`` target as a description of the input it names."""
    if _FIELD_WORD.search(target):
        return target
    return f"{target} field" if target.lower().startswith("the ") else f"the {target} field"


def from_instruction(text: str) -> tuple[dict[str, Any], str | None]:
    """One OCR instruction → (action without a point, the description to ground or None)."""
    steps = split_steps(text)
    if len(steps) != 1:
        raise PlanError(f"answer with exactly one instruction, got {len(steps)}")
    try:
        step: Step = parse_step(steps[0])
    except ConfigError as err:
        raise PlanError(str(err)) from err
    nth = f" #{step.nth}" if step.nth else ""
    if step.verb in POINTER_VERBS:
        return {"type": step.verb}, f"{_quote(step.target or '')}{nth}"
    if step.verb == "type":
        action = {"type": "type", "text": step.text, "enter": step.enter}
        if step.target is None:
            return action, None
        return {**action, "clear": True}, field_description(_quote(step.target) + nth)
    if step.verb == "key":
        return {"type": "key", "keys": step.keys}, None
    if step.verb == "scroll":
        out: dict[str, Any] = {"type": "scroll", "direction": step.direction}
        return ({**out, "amount": step.amount} if step.amount else out), None
    if step.verb == "wait":
        return {"type": "wait", "seconds": step.seconds}, None
    if step.verb == "navigate":
        return {"type": "navigate", "url": step.url}, None
    fin: dict[str, Any] = {"type": "finish", "status": "success"}
    return ({**fin, "answer": step.answer} if step.answer else fin), None


def from_json(data: Any) -> tuple[dict[str, Any], str | None]:
    """Our action JSON with a ``target`` description → (action without a point, description)."""
    if isinstance(data, dict) and isinstance(data.get("action"), dict):
        data = data["action"]
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise PlanError('answer one JSON action object with a "type"')
    action = dict(data)
    kind = action["type"]
    if any(k in action for k in ("point", "box", "start", "end", "coordinate")):
        raise PlanError('no coordinates: name the element in words in "target"')
    target = action.pop("target", None)
    if target is not None and not (isinstance(target, str) and target.strip()):
        raise PlanError('"target" must be a non-empty description')
    if kind in POINTER_TYPES:
        if target is None:
            raise PlanError(f'a {kind} needs a "target" description')
        return action, target
    if kind == "type":
        if not isinstance(action.get("text"), str):
            raise PlanError('a type needs its "text"')
        if target is None:
            return action, None
        return {"clear": True, **action}, field_description(target)
    if kind in PASS_THROUGH and target is None:
        return action, None
    raise PlanError(f"the planner cannot use {kind!r} here; answer one of: click, "
                    f"double_click, right_click, hover, type, key, scroll, wait, navigate, "
                    f"finish, call_user")  # fmt: skip


def read_answer(text: str) -> tuple[dict[str, Any], str | None]:
    """The planner's raw answer (JSON, in a code fence or not, or one instruction)."""
    s = text.strip()
    fence = re.match(r"^```(?:json)?\s*(.*?)\s*```$", s, re.S)
    if fence:
        s = fence.group(1)
    if s.startswith("{"):
        try:
            data = json.loads(s)
        except json.JSONDecodeError as err:
            raise PlanError(f"the JSON answer does not parse: {err}") from err
        return from_json(data)
    if not s:
        raise PlanError("empty answer")
    return from_instruction(s)


def _done(item: HistoryItem) -> str:
    a = item.action or {}
    what = a.get("target") or a.get("text") or a.get("keys") or a.get("url") or ""
    note = f" (error: {item.error})" if item.error else ""
    return f"{a.get('type', '?')} {what}".strip() + note


def candidate_text(action: dict[str, Any], description: str | None) -> str:
    """One read planner answer as the judge sees it: the action JSON with its ``target``
    description (no point: the grounder has not run yet)."""
    shown = {**action, "target": description} if description is not None else action
    return json.dumps(shown, ensure_ascii=False)


class PlannedModel(Model):
    """Planner + grounder as one :class:`Model` (``json`` format, ``screen`` convention)."""

    name = "planned"
    format = "json"
    input_mode = "pad"
    convention = "screen"

    def __init__(
        self,
        planner: Model,
        grounder: DescriptionGrounder,
        *,
        text_only: bool = False,
        samples: int = 1,
        judge: Judge | None = None,
    ) -> None:
        if samples < 1:
            raise ConfigError(f"--samples must be ≥ 1, got {samples}")
        if samples > 1 and judge is None:
            raise ConfigError(
                f"--samples {samples} asks the planner {samples} times per step: give "
                f"--judge MODEL to choose among the answers (or --samples 1)"
            )
        self.planner = planner
        self.grounder = grounder
        self.text_only = text_only
        self.samples = samples
        self.judge = judge
        self.history_steps = planner.history_steps
        self.history_images = planner.history_images
        self.history_block = planner.history_block
        self._feedback: str | None = None  # why the last action was not done
        self._ocr: Any = None  # the screen reader of a text-only planner (lazily)
        # a constrained planner (``constrained = true``) is held to the planner answer, not
        # to its backend's own action schema (which wants points)
        self.constrained = bool(getattr(planner, "constrained", False))

    def _planner_frame(self, obs: Observation) -> Frame:
        p = self.planner
        fmt = p.format if p.format != "instructions" else "json"
        frame = obs.frame(
            mode=p.input_mode or mode_for(fmt),
            max_tokens=p.max_tokens,
            convention=p.convention or convention_for(fmt),
            **frame_options(fmt, factor=p.grid, min_pixels=p.min_pixels),
        )
        return p.plan_frame(obs, frame)

    def _lines(self, obs: Observation) -> list[tuple[str, float, float]]:
        ocr = getattr(self.grounder, "ocr", None) or self._ocr
        if ocr is None:
            from model.ocr.grounder import OcrGrounder

            ocr = self._ocr = OcrGrounder()
        out = []
        for line in ocr.read(obs.array).lines:
            x1, y1, x2, y2 = line.box
            out.append((line.text, (x1 + x2) / 2, (y1 + y2) / 2))
        return out

    def act(self, request: ModelRequest) -> ModelReply:
        t0 = time.perf_counter()
        obs = request.observation
        if not request.history:
            self._feedback = None  # a new episode
        feedback = "; ".join(f for f in (self._feedback, request.feedback) if f) or None
        self._feedback = None
        lines = self._lines(obs) if self.text_only else None
        done = [_done(h) for h in request.history]
        prompt = planner_prompt(
            request.task,
            lines=lines,
            history=done,
            feedback=feedback,
        )
        sub = ModelRequest(
            prompt,
            obs,
            self._planner_frame(obs),
            request.history,
            feedback,
            constraint=self._constraint(lines),
            text_only=self.text_only,  # a text-only planner is sent no image
        )
        tp = time.perf_counter()
        timings: dict[str, float] = {}
        best: dict[str, Any] | None = None
        read: tuple[dict[str, Any], str | None] | PlanError | None = None
        if self.samples > 1:
            context = "Done so far:\n" + "\n".join(
                f"{i + 1}. {d}" for i, d in enumerate(done)) if done else None  # fmt: skip
            reply, read, best = self._best_of(sub, request.task, obs, timings, context)
        else:
            reply = self.planner.act(sub)
        timings["planner_s"] = time.perf_counter() - tp - timings.get("judge_s", 0.0)
        trace: dict[str, Any] = {
            "planner": {"name": self.planner.name, "prompt": prompt, "raw": reply.text},
        }
        if reply.usage:
            trace["planner"]["usage"] = reply.usage
        if feedback:
            trace["feedback_in"] = feedback
        if best is not None:
            trace["best_of"] = best
        try:
            answer = read_answer(reply.text) if read is None else read
            if isinstance(answer, PlanError):
                raise answer
            action, description = answer
        except PlanError as err:
            return self._not_done(f"your answer could not be read: {err}", trace, timings, t0)
        if description is not None:
            trace["description"] = description
            near = self._near(request.history)
            if hasattr(self.grounder, "near"):
                self.grounder.near = near  # ties broken by the previous point (OCR)
            tg = time.perf_counter()
            g = self.grounder.ground(obs, description)
            timings["ground_s"] = time.perf_counter() - tg
            trace["grounding"] = g.to_json()
            if not isinstance(g, Grounded):
                reason = f"could not find {description} ({g.reason}); nothing was pressed"
                return self._not_done(reason, trace, timings, t0)
            action = self._place(action, description, g)
        timings["total_s"] = time.perf_counter() - t0
        body = {"thought": f"planner: {reply.text.strip()[:300]}", "action": action}
        return ModelReply(json.dumps(body, ensure_ascii=False), timings, dict(reply.usage),
                          list(reply.checks), trace=trace)  # fmt: skip

    def _constraint(self, lines: list[tuple[str, float, float]] | None) -> dict[str, Any] | None:
        """The planner answer's schema for a constrained planner (targets: the OCR labels a
        text-only planner was shown); None for an unconstrained one."""
        if not self.constrained:
            return None
        return {"json": planner_schema([t for t, _, _ in lines] if lines else None)}

    def _sample(self, sub: ModelRequest) -> list[ModelReply]:
        """K planner answers to one request: the planner's own ``sample(request, k)`` when it
        has one (a scripted planner's list entry), else K calls of ``act``."""
        sample = getattr(self.planner, "sample", None)
        if callable(sample):
            return list(sample(sub, self.samples))
        return [self.planner.act(sub) for _ in range(self.samples)]

    def _best_of(
        self,
        sub: ModelRequest,
        goal: str,
        obs: Observation,
        timings: dict[str, float],
        context: str | None = None,
    ) -> tuple[ModelReply, tuple[dict[str, Any], str | None] | PlanError, dict[str, Any]]:
        """Sample, read, drop the unreadable, merge the identical, judge when ≥ 2 remain.
        Returns the chosen reply, its read answer (the first error when none was readable)
        and the step's ``best_of`` record."""
        replies = self._sample(sub)
        cands: list[dict[str, Any]] = []
        distinct: list[int] = []  # index into cands of each distinct readable answer
        keys: dict[str, int] = {}
        read: list[tuple[dict[str, Any], str | None] | PlanError] = []
        for i, r in enumerate(replies):
            c: dict[str, Any] = {"raw": r.text}
            try:
                action, description = read_answer(r.text)
            except PlanError as err:
                c["error"] = str(err)
                read.append(err)
            else:
                c["action"], c["description"] = action, description
                read.append((action, description))
                key = json.dumps([action, description], sort_keys=True, ensure_ascii=False)
                if key in keys:
                    c["same_as"] = keys[key]
                else:
                    keys[key] = i
                    distinct.append(i)
            cands.append(c)
        record: dict[str, Any] = {"samples": len(replies), "candidates": cands,
                                  "distinct": distinct, "judge": None}  # fmt: skip
        usage: dict[str, int] = {}
        for r in replies:
            for k, v in r.usage.items():
                usage[k] = usage.get(k, 0) + v
        if not distinct:  # nothing readable: the first answer's error is the feedback
            chosen = 0
        elif len(distinct) == 1:
            chosen = distinct[0]
        else:
            assert self.judge is not None  # checked in __init__
            shown = [candidate_text(*r) for r in (read[i] for i in distinct)
                     if not isinstance(r, PlanError)]  # fmt: skip
            tj = time.perf_counter()
            verdict = self.judge.choose(goal, shown, obs, kind="step", context=context)
            timings["judge_s"] = time.perf_counter() - tj
            record["judge"] = verdict.to_json()
            chosen = distinct[verdict.index]
        record["chosen"] = chosen
        pick = replies[chosen] if replies else ModelReply(text="")
        reply = ModelReply(pick.text, dict(pick.timings), usage, list(pick.checks))
        answer = read[chosen] if read else PlanError("the planner gave no answer")
        return reply, answer, record

    def _not_done(
        self, reason: str, trace: dict[str, Any], timings: dict[str, float], t0: float
    ) -> ModelReply:
        """Nothing is pressed: a zero-second wait; ``reason`` is the next step's feedback."""
        self._feedback = reason
        trace["feedback_out"] = reason
        timings["total_s"] = time.perf_counter() - t0
        body = {"thought": f"not done: {reason}", "action": {"type": "wait", "seconds": 0}}
        return ModelReply(json.dumps(body, ensure_ascii=False), timings, trace=trace)

    @staticmethod
    def _place(action: dict[str, Any], description: str, g: Grounded) -> dict[str, Any]:
        out = {**action, "point": [g.point[0], g.point[1]]}
        if g.box is not None:
            out["box"] = list(g.box)
        if action["type"] in POINTER_TYPES:
            out["target"] = description
        return out

    @staticmethod
    def _near(history: list[HistoryItem]) -> tuple[float, float] | None:
        for item in reversed(history):
            p = (item.action or {}).get("point")
            if p is not None:
                return float(p[0]), float(p[1])
        return None

    def new_episode(self) -> None:
        """Each model it asks starts the episode too (several endpoints: balanced afresh)."""
        self.planner.new_episode()
        inner = getattr(self.grounder, "model", None)  # a family grounder's model
        if isinstance(inner, Model):
            inner.new_episode()
        if self.judge is not None:
            self.judge.model.new_episode()

    def close(self) -> None:
        self.planner.close()
        close = getattr(self.grounder, "close", None)
        if callable(close):
            close()
        if self.judge is not None:
            self.judge.model.close()

    def describe(self) -> dict[str, Any]:
        out = {
            **super().describe(),
            "convention": self.convention,
            "planner": self.planner.describe(),
            "grounder": getattr(self.grounder, "name", type(self.grounder).__name__),
            "text_only": self.text_only,
            "constrained": self.constrained,
            "planner_prompt": PLANNER_PROMPT,
        }
        if self.judge is not None:
            out["samples"], out["judge"] = self.samples, self.judge.describe()
        return out
