"""``OcrModel``: follows step-level instructions by grounding each step with OCR (CPU).

The task text is a list of steps (grammar in :mod:`model.ocr.instructions`). Each call
answers ONE action as JSON — the ``json`` format, ``screen`` convention: points and boxes
in screenshot px — wrapped as ``{"thought": "step k/n ...", "action": {...}}``.

Which step is next is *derived from the history*, not from a counter, so a retried,
failed or denied action never skips a step: the executed actions are replayed against the
steps and a step is done when an action of its kind (and target / text / keys) ran without
``error``. Scrolls issued to look for a missing target do not complete the step. When the
loop's window has dropped early items, replay starts from this instance's note of the state
at the window's first index, else from the ``step k/n`` marker in that item's raw output.

Outcomes: a missing target → one ``wait`` (``settle_waits``: the screen may still be
loading after the previous action) → scroll down (up to ``max_scrolls``, and only while
the screen still changes) → ``call_user('could not find "X"')``. Several equally good
matches that the previous action's point does not separate → ``call_user`` listing them
with their positions (``click "X" #2`` picks one); never a guess. An action that failed
twice → ``call_user``. After the last step → ``finish(success)``.

Speed: building the model starts the OCR engine's warm-up (ONNX sessions loaded and run
once) in a background thread while the env starts; each screen after the first is read
incrementally (:mod:`model.ocr.incremental`), and a new episode (empty history) drops the
previous screen so nothing carries over between envs.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from agent.core.errors import ConfigError
from agent.core.model import HistoryItem, Model, ModelReply, ModelRequest
from model.grounding import (
    DEFAULT_MARGIN,
    DEFAULT_NEAR_RATIO,
    AmbiguousTargetError,
    Candidate,
    Grounder,
    GroundingError,
    Point,
    TargetNotFoundError,
    choose,
)
from model.ocr.instructions import Step, parse_instructions

_MARKER = re.compile(r"step (\d+)/(\d+)")
MAX_STEP_FAILURES = 2
MAX_NOTES = 4096


def screen_changed(a: np.ndarray, b: np.ndarray, threshold: float = 0.002) -> bool:
    """Did the screen change (strided grey sample; > ``threshold`` of pixels differ)?"""
    if a.shape != b.shape:
        return True
    x = a[::4, ::4].astype(np.int16).sum(axis=2)
    y = b[::4, ::4].astype(np.int16).sum(axis=2)
    return np.count_nonzero(np.abs(x - y) > 24) / x.size > threshold


@dataclass
class Progress:
    """Where the instructions stand: the next step and what was tried for it so far."""

    step: int = 0
    scrolls: int = 0  # search scrolls for a missing target
    waits: int = 0  # settle waits for a missing target
    failures: int = 0  # executed actions of this step that reported an error


def _matches(step: Step, action: dict[str, Any]) -> bool:
    """Does an executed action complete ``step``?"""
    kind = action.get("type")
    if step.verb in ("click", "double_click", "right_click", "hover"):
        return kind == step.verb and action.get("target") == step.target
    if step.verb == "type":
        return kind == "type" and action.get("text") == step.text
    if step.verb == "key":
        return kind == "key" and action.get("keys") == step.keys
    if step.verb == "scroll":
        return kind == "scroll" and action.get("direction") == step.direction
    if step.verb == "wait":
        return kind == "wait"
    if step.verb == "navigate":
        return kind == "navigate" and action.get("url") == step.url
    return kind == "finish"


class OcrModel(Model):
    """Instruction follower on a :class:`~model.grounding.Grounder` (RapidOCR by default)."""

    name = "ocr"
    format = "json"
    input_mode = "pad"
    convention = "screen"

    def __init__(
        self,
        grounder: Grounder | None = None,
        *,
        max_scrolls: int = 3,
        scroll_amount: int = 5,
        settle_waits: int = 1,
        settle_seconds: float = 1.0,
        margin: float = DEFAULT_MARGIN,
        near_ratio: float = DEFAULT_NEAR_RATIO,
        **grounder_settings: Any,
    ) -> None:
        if max_scrolls < 0 or settle_waits < 0 or not 1 <= scroll_amount <= 100:
            raise ConfigError("max_scrolls, settle_waits ≥ 0 and scroll_amount in 1..100")
        if not 0 <= settle_seconds <= 60:
            raise ConfigError("settle_seconds must be in 0..60")
        if grounder is None:
            from model.ocr.grounder import OcrGrounder

            grounder = OcrGrounder(margin=margin, **grounder_settings)
        elif grounder_settings:
            raise ConfigError(f"unused settings with a given grounder: {sorted(grounder_settings)}")
        self.grounder = grounder
        self._engine = getattr(grounder, "engine", None)
        warm = getattr(self._engine, "warm_up", None)
        if callable(warm):  # load the ONNX models while the env starts
            warm()
        self.max_scrolls = max_scrolls
        self.scroll_amount = scroll_amount
        self.margin = margin
        self.near_ratio = near_ratio
        self.settle_waits = settle_waits
        self.settle_seconds = settle_seconds
        self._notes: dict[tuple[str, int], Progress] = {}  # (task, index) → before that step

    # ---- the cursor --------------------------------------------------------------------
    def close(self) -> None:
        join = getattr(self._engine, "join_warm_up", None)
        if callable(join):  # never leave the ONNX warm-up running at exit
            join()

    def progress(self, task: str, steps: list[Step], history: list[HistoryItem]) -> Progress:
        """Replay the executed actions against the steps (see the module docstring)."""
        p = Progress()
        if history and history[0].index > 0:
            note = self._notes.get((task, history[0].index))
            if note is not None:
                p = replace(note)
            else:
                m = _MARKER.search(history[0].raw or "")
                p.step = int(m.group(1)) - 1 if m else 0
        for item in history:
            if p.step >= len(steps) or item.action is None:
                continue
            step = steps[p.step]
            kind = item.action.get("type")
            if item.error:
                p.failures += 1
            elif _matches(step, item.action):
                p = Progress(p.step + 1)
            elif step.grounded and kind == "scroll":
                p.scrolls += 1
            elif step.grounded and kind == "wait":
                p.waits += 1
        return p

    # ---- one decision ------------------------------------------------------------------
    def act(self, request: ModelRequest) -> ModelReply:
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        try:
            steps = parse_instructions(request.task)
        except ConfigError as err:
            return self._reply(None, {"type": "call_user", "question": str(err)}, t0, timings)
        history = request.history
        index = history[-1].index + 1 if history else 0
        if not history:  # a new episode (maybe another env): no incremental OCR base
            self._notes = {k: v for k, v in self._notes.items() if k[0] != request.task}
            forget = getattr(self._engine, "forget_screen", None)
            if callable(forget):
                forget()
        p = self.progress(request.task, steps, history)
        self._notes[(request.task, index)] = replace(p)
        if len(self._notes) > MAX_NOTES:  # a long-lived model: forget the oldest half
            self._notes = dict(list(self._notes.items())[MAX_NOTES // 2 :])
        cursor = p.step
        if cursor >= len(steps):
            return self._reply(None, {"type": "finish", "status": "success"}, t0, timings)
        step = steps[cursor]
        marker = f"step {cursor + 1}/{len(steps)} ({step.source})"
        if request.feedback:
            q = f"{marker}: stopped: {request.feedback}"
            return self._reply(marker, {"type": "call_user", "question": q}, t0, timings)
        if p.failures >= MAX_STEP_FAILURES:
            last = history[-1].error if history else ""
            q = f"{marker} failed {p.failures} times: {last}"
            return self._reply(marker, {"type": "call_user", "question": q}, t0, timings)
        if not step.grounded:
            return self._reply(marker, self._plain(step), t0, timings)
        near = self._near(history)
        image = request.observation.array
        tg = time.perf_counter()
        role: Literal["any", "field"] = "field" if step.verb == "type" else "any"
        assert step.target is not None
        cands = self.grounder.ground(image, step.target, near=near, role=role)
        timings["ground_s"] = time.perf_counter() - tg
        try:
            target = self._pick(step, cands, near)
        except AmbiguousTargetError as err:
            q = f"{err}. Say which one, e.g. '{step.source} #1'"
            return self._reply(marker, {"type": "call_user", "question": q}, t0, timings)
        except GroundingError as err:
            if p.waits < self.settle_waits and not p.scrolls:
                note = f"{marker}: {err}; waiting in case the screen is still changing"
                action = {"type": "wait", "seconds": self.settle_seconds}
                return self._reply(note, action, t0, timings)
            if p.scrolls < self.max_scrolls and self._can_scroll(request, history, p.scrolls):
                note = f"{marker}: {err}; scrolling down to look for it"
                action = {"type": "scroll", "direction": "down", "amount": self.scroll_amount}
                return self._reply(note, action, t0, timings)
            tail = f" (after scrolling {p.scrolls} times)" if p.scrolls else ""
            q = f"{err}{tail} for step {cursor + 1}: {step.source}"
            return self._reply(marker, {"type": "call_user", "question": q}, t0, timings)
        note = f"{marker}: {target.kind} {target.describe()}"
        return self._reply(note, self._grounded(step, target), t0, timings)

    def _pick(self, step: Step, cands: list[Candidate], near: Point | None) -> Candidate:
        if step.nth is None:
            return choose(step.target or "", cands, near=near, margin=self.margin,
                          near_ratio=self.near_ratio)  # fmt: skip
        top = [c for c in cands if c.tier == cands[0].tier] if cands else []
        top.sort(key=lambda c: (round(c.center[1] / 8), c.center[0]))  # reading order
        if step.nth > len(top):
            raise TargetNotFoundError(f"{step.target} #{step.nth}")
        return top[step.nth - 1]

    def _can_scroll(self, request: ModelRequest, history: list[HistoryItem], searches: int) -> bool:
        """Before the first search scroll we cannot know; after one, the screen must have
        changed (compared with the screenshot the last scroll was issued on)."""
        if searches == 0 or not history:
            return True
        last = history[-1]
        if last.observation is None or (last.action or {}).get("type") != "scroll":
            return True
        return screen_changed(last.observation.array, request.observation.array)

    @staticmethod
    def _near(history: list[HistoryItem]) -> Point | None:
        for item in reversed(history):
            p = (item.action or {}).get("point")
            if p is not None:
                return float(p[0]), float(p[1])
        return None

    def _plain(self, step: Step) -> dict[str, Any]:
        if step.verb == "type":
            return {"type": "type", "text": step.text, "enter": step.enter}
        if step.verb == "key":
            return {"type": "key", "keys": step.keys}
        if step.verb == "scroll":
            out: dict[str, Any] = {"type": "scroll", "direction": step.direction}
            if step.amount is not None:
                out["amount"] = step.amount
            return out
        if step.verb == "wait":
            return {"type": "wait", "seconds": step.seconds}
        if step.verb == "navigate":
            return {"type": "navigate", "url": step.url}
        out = {"type": "finish", "status": "success"}
        if step.answer:
            out["answer"] = step.answer
        return out

    @staticmethod
    def _grounded(step: Step, c: Candidate) -> dict[str, Any]:
        point = [round(c.center[0], 1), round(c.center[1], 1)]
        box = [round(v, 1) for v in c.box]
        if step.verb == "type":
            return {"type": "type", "text": step.text, "point": point, "box": box,
                    "clear": True, "enter": step.enter}  # fmt: skip
        return {"type": step.verb, "point": point, "box": box, "target": step.target}

    @staticmethod
    def _reply(
        thought: str | None, action: dict[str, Any], t0: float, timings: dict[str, float]
    ) -> ModelReply:
        body: dict[str, Any] = {"action": action}
        if thought:
            body = {"thought": thought, **body}
        timings["total_s"] = time.perf_counter() - t0
        return ModelReply(json.dumps(body, ensure_ascii=False), timings=timings)

    def describe(self) -> dict[str, Any]:
        out = {**super().describe(), "convention": self.convention}
        out.update(max_scrolls=self.max_scrolls, scroll_amount=self.scroll_amount,
                   settle_waits=self.settle_waits)  # fmt: skip
        engine = getattr(self.grounder, "engine", None)
        if engine is not None:
            out["ocr"] = {k: v for k, v in engine.settings.items() if k != "Global.log_level"}
        return out


_SETTING_TYPES: dict[str, type] = {
    "max_scrolls": int, "scroll_amount": int, "settle_waits": int, "settle_seconds": float,
    "margin": float, "near_ratio": float,
    "fuzzy": float, "det_limit_side_len": int, "det_limit_type": str, "max_side_len": int,
    "text_score": float, "use_cls": bool, "word_boxes": bool, "threads": int, "cache_size": int,
    "imagenet_norm": bool, "sparse_lines": int, "det_tile": int, "incremental": bool,
}  # fmt: skip


def _coerce(key: str, value: Any) -> Any:
    kind = _SETTING_TYPES[key]
    if not isinstance(value, str) or kind is str:
        return value
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"ocr setting {key} must be true/false, got {value!r}")
    try:
        return kind(value)
    except ValueError as err:
        raise ConfigError(f"ocr setting {key} must be {kind.__name__}, got {value!r}") from err


def load_ocr_model(rest: str = "", **settings: Any) -> OcrModel:
    """``--model ocr`` or ``ocr:key=value,key=value`` (e.g. ``ocr:max_scrolls=5``);
    keyword settings override the spec's. Unknown keys are a ConfigError."""
    merged: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"ocr model settings are key=value, got {part!r}")
        merged[key.strip()] = value.strip()
    merged.update(settings)
    unknown = sorted(set(merged) - set(_SETTING_TYPES))
    if unknown:
        raise ConfigError(
            f"unknown ocr model settings {unknown}; known: {', '.join(sorted(_SETTING_TYPES))}"
        )
    return OcrModel(**{k: _coerce(k, v) for k, v in merged.items()})
