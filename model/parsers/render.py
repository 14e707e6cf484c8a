"""Actions → model text in each output dialect: the inverse of the parsers, held by each
:class:`~model.parsers.common.Dialect` as its ``render``.

A recorded action (screenshot px) becomes what the model itself would have written for it: its
coordinate space (via :mod:`agent.core.coords` — the only converter), its numbers (integers for
0–1000 and absolute-pixel dialects, or exact decimals for calibration), its verbs and call
syntax. What a dialect cannot say (a ``navigate`` in Qwen2-VL grounding tags) raises
:class:`UnsupportedAction`, so the exporter skips that step instead of writing a sample the
model never could produce.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.core.actions import Action, PointAction, dump_action
from agent.core.coords import Frame, screen_to_model
from agent.core.errors import ConfigError

Point = tuple[float, float]


class UnsupportedAction(ConfigError):
    """An action the target dialect has no words for."""

    code = "unsupported_in_dialect"


@dataclass(frozen=True)
class RenderOpts:
    """How to write a turn: the thought (dialects that write one), the action space of
    tool-call dialects, and ``precise`` numbers (six decimals, so calibration round-trips
    exactly) instead of the integers a model writes."""

    thought: str | None = None
    action_space: str = "computer"
    precise: bool = False


Renderer = Callable[[list[Action], Frame, RenderOpts], str]

GROUNDING_TAGS = {
    "qwen2-vl": (("<|object_ref_start|>", "<|object_ref_end|>"), ("<|box_start|>", "<|box_end|>")),
    "qwen-vl": (("<ref>", "</ref>"), ("<box>", "</box>")),
}
# tool-call dialects (Qwen2.5-VL / Qwen3-VL cookbooks) → the action space they force, if any
TOOL_CALLS: dict[str, str | None] = {
    "qwen2.5-vl": None,
    "qwen3-vl": None,
    "qwen3-vl-mobile": "mobile",
}
GROUNDING_VERBS = {
    "click": "click",
    "double_click": "double click",
    "right_click": "right click",
    "middle_click": "middle click",
    "hover": "hover over",
    "long_press": "long press",
}
UITARS_CALLS = {
    "click": "click",
    "double_click": "left_double",
    "right_click": "right_single",
    "middle_click": "middle_single",
    "hover": "hover",
    "long_press": "long_press",
}
QWEN25_COMPUTER = {
    "click": "left_click",
    "double_click": "double_click",
    "right_click": "right_click",
    "middle_click": "middle_click",
    "hover": "mouse_move",
}


def _int(v: float) -> int:
    return math.floor(v + 0.5)


# the smallest step each convention is written in (the rest are integers)
DECIMALS = {"screen": 2, "norm1": 3}
PRECISE = 6  # decimals of a precise rendering


class Writer:
    """Numbers for one frame: model coordinates of screenshot points, written as the model
    writes them (or precisely)."""

    def __init__(self, frame: Frame, precise: bool = False) -> None:
        self.frame = frame
        self.precise = precise

    def model(self, p: Point) -> tuple[float, float]:
        return screen_to_model(self.frame, p[0], p[1])

    def num(self, v: float) -> int | float:
        """Integers where the model writes integers (0-1000, absolute px); screenshot px
        keep two decimals and 0-1 fractions three."""
        if self.precise:  # fractions of 0-1 need three more places for the same precision
            return round(v, PRECISE + (3 if self.frame.convention == "norm1" else 0))
        places = DECIMALS.get(self.frame.convention)
        return _int(v) if places is None else round(v, places)

    def xy(self, p: Point) -> tuple[int | float, int | float]:
        x, y = self.model(p)
        return self.num(x), self.num(y)


# ---- grounding tags (Qwen-VL, Qwen2-VL) ------------------------------------------------------


def _box_around(w: Writer, action: Any) -> str:
    """A box centred exactly on the action's point (the parser clicks the centre), sized
    like the recorded element box where there is one."""
    px, py = action.point
    hw = hh = 0.0
    box = getattr(action, "box", None)
    if box is not None and box[0] <= px <= box[2] and box[1] <= py <= box[3]:
        hw, hh = min(px - box[0], box[2] - px), min(py - box[1], box[3] - py)
    a = w.model((px - hw, py - hh))
    b = w.model((px + hw, py + hh))
    # round the centre once and keep the half-size symmetric, so the centre survives rounding
    cx, cy = w.num((a[0] + b[0]) / 2), w.num((a[1] + b[1]) / 2)
    rx, ry = w.num((b[0] - a[0]) / 2), w.num((b[1] - a[1]) / 2)
    return f"({w.num(cx - rx)},{w.num(cy - ry)}),({w.num(cx + rx)},{w.num(cy + ry)})"


def _quote(text: str, fmt: str) -> str:
    if "\n" in text or ('"' in text and "'" in text):
        raise UnsupportedAction(f"{fmt} cannot quote the text {text[:40]!r}")
    return f"'{text}'" if '"' in text else f'"{text}"'


def grounding_renderer(fmt: str) -> Renderer:
    """Qwen-VL / Qwen2-VL grounding lines: a verb, the reference, the box (0–1000)."""

    def render(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
        return _grounding(actions, Writer(frame, opts.precise), fmt)

    return render


def _grounding(actions: list[Action], w: Writer, fmt: str) -> str:
    (ref_o, ref_c), (box_o, box_c) = GROUNDING_TAGS[fmt]

    def ref(a: Any) -> str:
        label = (getattr(a, "target", None) or "").replace("\n", " ").strip()
        return f"{ref_o}{label}{ref_c}" if label and "<" not in label else ""

    parts = []
    for a in actions:
        if a.type in GROUNDING_VERBS:
            parts.append(f"{GROUNDING_VERBS[a.type]} {ref(a)}{box_o}{_box_around(w, a)}{box_c}")
        elif a.type == "type" and a.point is not None and not a.enter:
            parts.append(f"type {_quote(a.text, fmt)} into {box_o}{_box_around(w, a)}{box_c}")
        elif a.type == "scroll" and a.point is not None:
            parts.append(f"scroll {a.direction} {box_o}{_box_around(w, a)}{box_c}")
        elif a.type == "drag":
            s, e = (w.xy(p) for p in (a.start, a.end))
            parts.append(f"drag {box_o}({s[0]},{s[1]}){box_c} to {box_o}({e[0]},{e[1]}){box_c}")
        else:
            raise UnsupportedAction(f"{fmt} grounding output cannot express {_short(a)}")
    return "\n".join(parts)


# ---- UI-TARS calls --------------------------------------------------------------------------


def _s(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def uitars_renderer(fmt: str, *, v1: bool) -> Renderer:
    """UI-TARS ``Thought:`` / ``Action:`` calls (v1 wraps points in box tokens)."""

    def render(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
        return _uitars(actions, Writer(frame, opts.precise), fmt, opts.thought, v1)

    return render


def _uitars(actions: list[Action], w: Writer, fmt: str, thought: str | None, v1: bool) -> str:
    def pt(p: Point) -> str:
        x, y = w.xy(p)
        return f"'<|box_start|>({x},{y})<|box_end|>'" if v1 else f"'({x},{y})'"

    calls: list[str] = []
    for a in actions:
        t = a.type
        if isinstance(a, PointAction) and t in UITARS_CALLS:
            extra = f", time='{a.duration:g}'" if a.type == "long_press" else ""
            calls.append(f"{UITARS_CALLS[t]}(start_box={pt(a.point)}{extra})")
        elif a.type == "drag":
            calls.append(f"drag(start_box={pt(a.start)}, end_box={pt(a.end)})")
        elif a.type == "key":
            calls.append(f"hotkey(key='{_s(a.keys.replace('+', ' '))}')")
        elif a.type == "type":
            if a.point is not None:
                calls.append(f"click(start_box={pt(a.point)})")
            content = a.text + ("\n" if a.enter else "")
            calls.append(f"type(content='{_s(content)}')")
        elif a.type == "scroll":
            where = f"start_box={pt(a.point)}, " if a.point is not None else ""
            calls.append(f"scroll({where}direction='{a.direction}')")
        elif a.type == "wait":
            calls.append("wait()")
        elif a.type == "finish" and a.status == "success":
            calls.append(f"finished(content='{_s(a.answer or '')}')")
        elif a.type == "open_app":
            calls.append(f"open_app(app_name='{_s(a.name)}')")
        elif t in ("home", "back"):
            calls.append(f"press_{t}()")
        elif a.type == "call_user":
            calls.append(
                "call_user()" if not a.question else f"call_user(content='{_s(a.question)}')"
            )
        else:
            raise UnsupportedAction(f"{fmt} cannot express {_short(a)}")
    head = " ".join((thought or _describe(actions)).split())
    return f"Thought: {head}\nAction: " + "\n\n".join(calls)


# ---- Qwen2.5-VL / Qwen3-VL tool calls -----------------------------------------------------


def tool_call_renderer(fmt: str, space: str | None = None) -> Renderer:
    """Qwen2.5-VL / Qwen3-VL cookbook ``<tool_call>`` blocks; ``space`` forces an action
    space (Qwen3-VL's mobile dialect), else the request's."""

    def render(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
        w = Writer(frame, opts.precise)
        if (space or opts.action_space) == "grounding":
            return _bbox_answer(actions, w, fmt)
        return _tool_calls(actions, w, space or opts.action_space, fmt)

    return render


def _bbox_answer(actions: list[Action], w: Writer, fmt: str) -> str:
    """The cookbooks' grounding answer: the element's ``bbox_2d`` when the action has a box
    centred on its point (the parser reads a box's centre), else ``point_2d``."""
    if len(actions) != 1 or not isinstance(actions[0], PointAction):
        raise UnsupportedAction(f"{fmt} grounding answers one box, not {len(actions)} action(s)")
    a = actions[0]
    box = a.box
    if box is not None and math.dist(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), a.point) < 0.5:
        return json.dumps({"bbox_2d": [*w.xy((box[0], box[1])), *w.xy((box[2], box[3]))]})
    return json.dumps({"point_2d": list(w.xy(a.point))})


def _tool_calls(actions: list[Action], w: Writer, space: str, fmt: str) -> str:
    tool = "mobile_use" if space == "mobile" else "computer_use"
    calls: list[dict[str, Any]] = []

    def xy(p: Point) -> list[int | float]:
        return list(w.xy(p))

    for a in actions:
        t = a.type
        mobile = tool == "mobile_use"
        if a.type == "click" and mobile:
            calls.append({"action": "click", "coordinate": xy(a.point)})
        elif isinstance(a, PointAction) and t in QWEN25_COMPUTER and not mobile:
            calls.append({"action": QWEN25_COMPUTER[t], "coordinate": xy(a.point)})
        elif a.type == "long_press" and mobile:
            calls.append({"action": "long_press", "coordinate": xy(a.point), "time": a.duration})
        elif a.type == "swipe" and mobile:
            calls.append({"action": "swipe", "coordinate": xy(a.start), "coordinate2": xy(a.end)})
        elif a.type == "drag" and not mobile:
            calls.append(
                {
                    "action": "left_click_drag",
                    "start_coordinate": xy(a.start),
                    "coordinate": xy(a.end),
                }
            )
        elif a.type == "type":
            if a.point is not None:
                click = "click" if mobile else "left_click"
                calls.append({"action": click, "coordinate": xy(a.point)})
            calls.append({"action": "type", "text": a.text})
            if a.enter:
                calls.append(
                    {"action": "key", "text": "enter"}
                    if mobile
                    else {"action": "key", "keys": ["Return"]}
                )
        elif a.type == "key":
            calls.append(
                {"action": "key", "text": a.keys}
                if mobile
                else {"action": "key", "keys": a.keys.split("+")}
            )
        elif a.type == "scroll" and not mobile and a.direction in ("up", "down"):
            call: dict[str, Any] = {"action": "scroll"}
            call["pixels"] = a.amount * 100 * (1 if a.direction == "up" else -1)
            if a.point is not None:
                call["coordinate"] = xy(a.point)
            calls.append(call)
        elif t in ("back", "home") and mobile:
            calls.append({"action": "system_button", "button": t.capitalize()})
        elif a.type == "open_app" and mobile:
            calls.append({"action": "open", "text": a.name})
        elif a.type == "wait":
            calls.append({"action": "wait", "time": a.seconds})
        elif a.type == "finish":
            if a.answer and a.status == "success":
                calls.append({"action": "answer", "text": a.answer})
            elif a.answer:
                raise UnsupportedAction(f"{fmt} cannot give an answer with a failure")
            else:
                calls.append({"action": "terminate", "status": a.status})
        else:
            raise UnsupportedAction(f"{fmt} {tool} cannot express {_short(a)}")
    return "\n".join(
        "<tool_call>\n"
        + json.dumps({"name": tool, "arguments": c}, ensure_ascii=False)
        + "\n</tool_call>"
        for c in calls
    )


# ---- plain JSON ------------------------------------------------------------------------------


def render_json(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    """The action schema as JSON (screenshot px as recorded)."""
    return _json(actions, opts.thought)


def _json(actions: list[Action], thought: str | None) -> str:
    items = [dump_action(a) for a in actions]
    body: dict[str, Any] = {"thought": thought} if thought else {}
    body.update({"action": items[0]} if len(items) == 1 else {"actions": items})
    return json.dumps(body, ensure_ascii=False)


def _short(a: Action) -> str:
    return json.dumps(dump_action(a))[:120]


def _describe(actions: list[Action]) -> str:
    """A plain thought for dialects that expect one when the recording has none."""
    a = actions[0]
    what = getattr(a, "target", None) or getattr(a, "text", None) or getattr(a, "keys", None)
    return f"I will {a.type.replace('_', ' ')}" + (f" {what!r}." if what else ".")
