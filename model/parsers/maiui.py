"""Output dialects of MAI-UI (Tongyi-MAI/MAI-UI-2B, -8B; Qwen3-VL): docs/models/maiui_venus.md.

* ``mai-ui`` — navigation: ``<thinking>…</thinking>`` then ``<tool_call>{"name": "mobile_use",
  "arguments": {"action": …}}</tool_call>``, points 0–999 divided by 999 (the authors'
  agent ``/999`` and their MobileWorld benchmark's ``int(v / 999 * W)``). A 4-number
  coordinate is a box: its centre acts. ``swipe`` becomes a scroll as MobileWorld's
  ``reverse_swipe_direction`` does: up and down swap, left and right stay.
* ``mai-ui-grounding`` — ``<grounding_think>…</grounding_think><answer>{"coordinate":
  [x, y]}</answer>`` divided by 1000, as their grounding evaluation does (it reproduces the
  published ScreenSpot-Pro predictions exactly; /999 reproduces none).
* ``mai-ui-grounding-agent`` — the same text divided by 999, as their grounding agent class
  (``src/mai_grounding_agent.py``) does: the selectable second path.
"""

from __future__ import annotations

import json
from typing import Any

from agent.core.actions import (
    Action,
    Back,
    CallUser,
    Click,
    DoubleClick,
    Drag,
    Finish,
    Home,
    Key,
    LongPress,
    OpenApp,
    PointAction,
    Scroll,
    Type,
    Wait,
)
from agent.core.coords import CoordSpec, Frame
from model.parsers.common import (
    Ctx,
    Dialect,
    Parsed,
    find_json,
    guard,
    json_coords,
    loads,
    strip_or_none,
    tagged,
)
from model.parsers.render import RenderOpts, UnsupportedAction, Writer

_Q3 = 32  # Qwen3-VL grid: 16-px patches merged 2×2
QWEN3_MIN = 65536  # Qwen3-VL preprocessor_config.json size.shortest_edge
QWEN3_MAX = 16384 * 32 * 32  # size.longest_edge (vLLM's default for the navigation agent)
EVAL_MAX = 6553600  # MAI-UI grounding eval README: --max_pixels 6553600
TOOL = "mobile_use"
_REVERSE = {"up": "down", "down": "up", "left": "left", "right": "right"}  # MobileWorld
_BUTTONS = {"back": Back, "home": Home}


# ---- navigation -----------------------------------------------------------------------------


def _split_thinking(text: str) -> tuple[str | None, str]:
    """(thought, the rest): ``<thinking>…</thinking>``, or the thinking-model form whose
    opening tag was consumed by the chat template (only ``</think>`` / ``</thinking>``)."""
    for close in ("</thinking>", "</think>"):
        end = text.find(close)
        if end >= 0:
            head = text[:end].replace("<thinking>", "").replace("<think>", "")
            return strip_or_none(head), text[end + len(close) :]
    return None, text


def parse_maiui(text: str, ctx: Ctx) -> Parsed:
    thought, rest = _split_thinking(text)
    calls = tagged(rest, "<tool_call>", "</tool_call>")
    if not calls:
        raise ctx.fail(rest or text, "no <tool_call>…</tool_call> block")
    actions: list[Action] = []
    for body, _s, end in calls:
        if end == len(rest) and not rest.endswith("</tool_call>"):
            raise ctx.fail(body, "truncated <tool_call> (no </tool_call>)")
        with guard(ctx, body):
            actions.append(_call(loads(body.strip(), ctx), body, ctx))
    return Parsed(thought, actions)


def _args(call: Any, fragment: str, ctx: Ctx) -> dict[str, Any]:
    if not isinstance(call, dict):
        raise ctx.fail(fragment, "a tool call must be a JSON object")
    name = call.get("name")
    if name != TOOL:
        raise ctx.fail(
            fragment,
            f"tool {name!r} is not mobile_use (MCP tools are not configured in this agent)",
        )
    args = call.get("arguments")
    if not isinstance(args, dict) or not isinstance(args.get("action"), str):
        raise ctx.fail(fragment, "mobile_use 'arguments' must be an object with an 'action'")
    return args


def _xy(args: dict[str, Any], key: str, fragment: str, ctx: Ctx) -> tuple[float, float]:
    if key not in args:
        raise ctx.fail(fragment, f"missing {key!r}")
    point, _box = ctx.locate(json_coords(args[key], ctx, key), fragment)
    return point


def _str(args: dict[str, Any], key: str, fragment: str, ctx: Ctx) -> str:
    value = args.get(key)
    if not isinstance(value, str):
        raise ctx.fail(fragment, f"missing text argument {key!r}")
    return value


def _call(call: Any, fragment: str, ctx: Ctx) -> Action:
    args = _args(call, fragment, ctx)
    action = args["action"]
    pointers = {"click": Click, "long_press": LongPress, "double_click": DoubleClick}
    if action in pointers:
        return pointers[action](point=_xy(args, "coordinate", fragment, ctx))
    if action == "type":
        return Type(text=_str(args, "text", fragment, ctx))
    if action == "swipe":
        direction = _str(args, "direction", fragment, ctx).strip().lower()
        if direction not in _REVERSE:
            raise ctx.fail(fragment, f"swipe direction must be up/down/left/right: {direction!r}")
        point = _xy(args, "coordinate", fragment, ctx) if "coordinate" in args else None
        # MobileWorld reverse_swipe_direction: up <-> down swap, left / right stay
        return Scroll.model_validate({"direction": _REVERSE[direction], "point": point})
    if action == "open":
        return OpenApp(name=_str(args, "text", fragment, ctx))
    if action == "drag":
        start = _xy(args, "start_coordinate", fragment, ctx)
        return Drag(start=start, end=_xy(args, "end_coordinate", fragment, ctx))
    if action == "system_button":
        button = _str(args, "button", fragment, ctx).strip().lower()
        if button in _BUTTONS:
            return _BUTTONS[button]()
        if button in ("menu", "enter"):
            return Key(keys=button)
        raise ctx.fail(fragment, f"unknown system_button {button!r} (back, home, menu, enter)")
    if action == "wait":
        return Wait()
    if action == "terminate":
        status = args.get("status")
        if status not in ("success", "fail"):
            raise ctx.fail(fragment, f"terminate status must be success or fail: {status!r}")
        return Finish(status="success" if status == "success" else "failure")
    if action == "answer":
        return Finish(status="success", answer=_str(args, "text", fragment, ctx))
    if action == "ask_user":
        return CallUser(question=_str(args, "text", fragment, ctx))
    raise ctx.fail(fragment, f"unknown mobile_use action {action!r}")


def after_thinking(text: str, opens: tuple[str, ...], closes: tuple[str, ...]) -> str | None:
    """The text after the thinking block (None while a thinking block is still open), so
    that a closing tag quoted inside the thought does not count."""
    start = max(text.rfind(c) + len(c) if text.rfind(c) >= 0 else -1 for c in closes)
    if start < 0:
        return None if any(o in text for o in opens) else text
    return text[start:]


def maiui_complete(text: str) -> bool:
    """A ``</tool_call>`` after the thinking block (not one quoted inside it)."""
    rest = after_thinking(text, ("<thinking>", "<think>"), ("</thinking>", "</think>"))
    return rest is not None and "</tool_call>" in rest


def _dump(args: dict[str, Any]) -> str:
    call = {"name": TOOL, "arguments": args}
    return "<tool_call>\n" + json.dumps(call, ensure_ascii=False) + "\n</tool_call>"


def render_maiui(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    """One turn as MAI-UI writes it: the thinking block and one tool call per action."""
    w = Writer(frame, opts.precise)
    calls: list[str] = []
    for a in actions:
        calls.extend(_dump(args) for args in _render_one(a, w))
    thought = " ".join((opts.thought or f"I will {actions[0].type.replace('_', ' ')}.").split())
    return f"<thinking>\n{thought}\n</thinking>\n" + "\n".join(calls)


def _render_one(a: Action, w: Writer) -> list[dict[str, Any]]:
    if isinstance(a, PointAction) and a.type in ("click", "long_press", "double_click"):
        return [{"action": a.type, "coordinate": list(w.xy(a.point))}]
    if a.type == "type":
        head = [] if a.point is None else [{"action": "click", "coordinate": list(w.xy(a.point))}]
        tail = [{"action": "system_button", "button": "enter"}] if a.enter else []
        return [*head, {"action": "type", "text": a.text}, *tail]
    if a.type == "scroll":
        args: dict[str, Any] = {"action": "swipe", "direction": _REVERSE[a.direction]}
        if a.point is not None:
            args["coordinate"] = list(w.xy(a.point))
        return [args]
    if a.type == "drag":
        start, end = list(w.xy(a.start)), list(w.xy(a.end))
        return [{"action": "drag", "start_coordinate": start, "end_coordinate": end}]
    if a.type in ("back", "home") or (a.type == "key" and a.keys in ("menu", "enter")):
        button = a.keys if a.type == "key" else a.type
        return [{"action": "system_button", "button": button}]
    if a.type == "open_app":
        return [{"action": "open", "text": a.name}]
    if a.type == "wait":
        return [{"action": "wait"}]
    if a.type == "finish" and a.answer is None:
        return [{"action": "terminate", "status": "success" if a.status == "success" else "fail"}]
    if a.type == "finish" and a.status == "success":
        return [{"action": "answer", "text": a.answer}]
    if a.type == "call_user":
        return [{"action": "ask_user", "text": a.question}]
    raise UnsupportedAction(f"mai-ui's mobile_use cannot express a {a.type} action like this")


# ---- grounding ------------------------------------------------------------------------------


def parse_maiui_grounding(text: str, ctx: Ctx) -> Parsed:
    thinks = tagged(text, "<grounding_think>", "</grounding_think>")
    thought = strip_or_none(thinks[0][0]) if thinks else None
    answers = tagged(text, "<answer>", "</answer>")
    if not answers:
        raise ctx.fail(text, 'no <answer>{"coordinate": [x, y]}</answer>')
    body = answers[0][0]
    if answers[0][2] == len(text) and not text.rstrip().endswith("</answer>"):
        raise ctx.fail(body, "truncated <answer> (no </answer>)")
    found = find_json(body)
    if found is None or not isinstance(found[0], dict) or "coordinate" not in found[0]:
        raise ctx.fail(body, 'the answer must be {"coordinate": [x, y]}')
    with guard(ctx, body):
        nums = json_coords(found[0]["coordinate"], ctx, "coordinate")
        if len(nums) != 2:
            raise ctx.fail(body, "the coordinate must be [x, y]")
        return Parsed(thought, [Click(point=ctx.point(nums[0], nums[1], body))])


def grounding_complete(text: str) -> bool:
    rest = after_thinking(text, ("<grounding_think>",), ("</grounding_think>",))
    return rest is not None and "</answer>" in rest


def render_grounding(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    """The grounding answer for one click (what the grounding prompt asks for)."""
    if len(actions) != 1 or actions[0].type != "click":
        raise UnsupportedAction("mai-ui grounding answers one click point")
    x, y = Writer(frame, opts.precise).xy(actions[0].point)
    thought = " ".join((opts.thought or "Locate the target.").split())
    return (
        f"<grounding_think>\n{thought}\n</grounding_think>\n<answer>\n"
        f'{{"coordinate":[{x},{y}]}}\n</answer>'
    )


_ALL_NAV = {"click", "long_press", "double_click", "type", "scroll", "open_app", "drag"}
_ALL_NAV |= {"back", "home", "key", "wait", "finish", "call_user"}
_NOT_NAV = {"right_click", "middle_click", "hover", "swipe", "navigate"}
_UNION = _ALL_NAV | _NOT_NAV
_GROUNDING_OFFERS = frozenset({"click"})

DIALECTS: tuple[Dialect, ...] = (
    Dialect(
        "mai-ui",
        CoordSpec(space="norm999", factor=_Q3, min_pixels=QWEN3_MIN, max_pixels=QWEN3_MAX),
        parse_maiui,
        render_maiui,
        maiui_complete,
        "MAI-UI navigation: <thinking> + mobile_use <tool_call>, 0-999 (/999)",
        stop=("</tool_call>",),
        lossy=frozenset({"amount", "box", "target", "duration", "seconds"}),
        offers=frozenset(_ALL_NAV),
        not_offered=frozenset(_NOT_NAV),
    ),
    Dialect(
        "mai-ui-grounding",
        CoordSpec(space="norm1000", factor=_Q3, min_pixels=1024, max_pixels=EVAL_MAX),
        parse_maiui_grounding,
        render_grounding,
        grounding_complete,
        'MAI-UI grounding: <answer>{"coordinate":[x,y]}</answer> /1000 (their eval)',
        offers=_GROUNDING_OFFERS,
        not_offered=frozenset(_UNION - _GROUNDING_OFFERS),
    ),
    Dialect(
        "mai-ui-grounding-agent",
        CoordSpec(space="norm999", factor=_Q3, min_pixels=QWEN3_MIN, max_pixels=QWEN3_MAX),
        parse_maiui_grounding,
        render_grounding,
        grounding_complete,
        "MAI-UI grounding read as their grounding agent class does: /999",
        offers=_GROUNDING_OFFERS,
        not_offered=frozenset(_UNION - _GROUNDING_OFFERS),
    ),
)
