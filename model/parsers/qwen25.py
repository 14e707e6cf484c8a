"""Qwen2.5-VL (absolute pixels of the model input) and Qwen3-VL / Qwen3.5 (0–1000, mobile
0–999): the same shapes, the coordinate space comes from the format's convention.

* grounding JSON — ``{"bbox_2d": [x1, y1, x2, y2], "label": …}`` or ``{"point_2d": [x, y]}``,
  one object or a list, often in a ```json fence → one click (or the verb said before it)
  per object;
* function calls — ``<tool_call>{"name": "computer_use" | "mobile_use", "arguments":
  {"action": …}}</tool_call>`` with the action names of the Qwen2.5-VL cookbook tools
  (``computer_use``: key, type, mouse_move, left_click, left_click_drag, right_click,
  middle_click, double_click, scroll, wait, terminate; ``mobile_use``: key, click,
  long_press, swipe, type, system_button, open, wait, terminate); Qwen3-VL adds
  ``triple_click`` (the cookbook: "simulated as double-click"), ``hscroll`` and ``answer``
  (a successful finish with that answer);
* Qwen3.5's XML calls — ``<tool_call><function=computer_use><parameter=action>left_click
  </parameter><parameter=coordinate>[500, 500]</parameter></function></tool_call>`` (each
  value JSON when it parses as JSON, else text).

A click or drag without ``coordinate`` acts from the current pointer, as the cookbook's tool
does (``left_click`` after ``mouse_move``; ``left_click_drag`` to ``coordinate``): the pointer
comes from the Frame (the env tracks it), and an unknown pointer is a ParseError.
``<think>…</think>`` and ``Thought:`` / ``Action:`` text before the call become the thought.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.core.actions import (
    Action,
    Back,
    Click,
    DoubleClick,
    Drag,
    Finish,
    Home,
    Hover,
    Key,
    LongPress,
    MiddleClick,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from model.parsers.common import (
    Ctx,
    Parsed,
    find_json,
    guard,
    json_coords,
    loads,
    number,
    strip_or_none,
    tagged,
)
from model.parsers.grounding import POINTER_ACTIONS, Verb, verb_before

COMPUTER_TOOLS = frozenset({"computer_use", "computer"})
MOBILE_TOOLS = frozenset({"mobile_use", "mobile"})
SCROLL_PIXELS_PER_NOTCH = 100
MAX_NOTCHES = 100
_NOISE = ("<think>", "</think>", "<thinking>", "</thinking>", "```json", "```")
_XML_FUNCTION = re.compile(r"<function=([^>\n]{1,100})>")


def _thought(prefix: str) -> str | None:
    for tag in _NOISE:
        prefix = prefix.replace(tag, " ")
    return strip_or_none(prefix)


def parse_qwen25(text: str, ctx: Ctx) -> Parsed:
    # a thinking model may draft calls inside <think>…</think>: only what follows it acts
    end = text.rfind("</think>")
    thinking, text = (text[: end + 8], text[end + 8 :]) if end >= 0 else ("", text)
    calls = tagged(text, "<tool_call>", "</tool_call>")
    if calls:
        actions: list[Action] = []
        for body, _s, _e in calls:
            with guard(ctx, body):
                call = _xml_call(body, ctx) if "<function=" in body else loads(body.strip(), ctx)
                actions.extend(_tool_call(call, body, ctx))
        return Parsed(_thought(thinking + text[: calls[0][1]]), actions)
    text = thinking + text
    found = find_json(text)
    if found is None:
        raise ctx.fail(text, "no <tool_call> and no bbox_2d/point_2d JSON found")
    value, start, end = found
    fragment = text[start:end]
    if isinstance(value, dict) and "arguments" in value:
        with guard(ctx, fragment):
            return Parsed(_thought(text[:start]), _tool_call(value, fragment, ctx))
    objs = value if isinstance(value, list) else [value]
    verb = verb_before(text[:start])
    actions = []
    for obj in objs:
        with guard(ctx, repr(obj)):
            actions.append(_grounded(obj, verb, ctx))
    return Parsed(_thought(text[:start]), actions)


def _xml_value(raw: str) -> Any:
    raw = raw.strip("\n")
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _xml_call(body: str, ctx: Ctx) -> dict[str, Any]:
    """Qwen3.5's ``<function=NAME><parameter=KEY>VALUE</parameter>…</function>`` → the JSON
    call shape (linear scan: each tag is found once, left to right)."""
    m = _XML_FUNCTION.search(body)
    if m is None:
        raise ctx.fail(body, "malformed <function=…> call")
    end = body.find("</function>", m.end())
    inner = body[m.end() : end if end >= 0 else len(body)]
    args: dict[str, Any] = {}
    for content, start, _end in tagged(inner, "<parameter=", "</parameter>"):
        key, sep, raw = content.partition(">")
        key = key.strip()
        if not sep or not key or "\n" in key or len(key) > 100:
            raise ctx.fail(inner[start : start + 80], "malformed <parameter=…>")
        if key in args:
            raise ctx.fail(inner[start : start + 80], f"parameter {key!r} given twice")
        args[key] = _xml_value(raw)
    return {"name": m.group(1).strip(), "arguments": args}


def _grounded(obj: dict[str, Any], verb: Verb, ctx: Ctx) -> Action:
    """One grounding object → an action at its centre (click unless a verb said otherwise)."""
    frag = repr(obj)[:200]
    if "bbox_2d" in obj:
        nums = json_coords(obj["bbox_2d"], ctx, "bbox_2d")
        if len(nums) != 4:
            raise ctx.fail(frag, "bbox_2d needs 4 numbers")
    elif "point_2d" in obj:
        nums = json_coords(obj["point_2d"], ctx, "point_2d")
        if len(nums) != 2:
            raise ctx.fail(frag, "point_2d needs 2 numbers")
    else:
        raise ctx.fail(frag, "object has neither bbox_2d nor point_2d")
    point, box = ctx.locate(nums, frag)
    label = obj.get("label")
    target = label.strip() or None if isinstance(label, str) else None
    if verb.kind == "type":
        return Type(text=verb.text or "", point=point, box=box)
    if verb.kind == "scroll":
        return Scroll.model_validate({"direction": verb.direction, "point": point})
    if verb.kind == "drag":
        raise ctx.fail(frag, "a drag needs a tool call with both ends")
    return POINTER_ACTIONS[verb.kind](point=point, box=box, target=target)


def _tool_call(call: Any, fragment: str, ctx: Ctx) -> list[Action]:
    if not isinstance(call, dict):
        raise ctx.fail(fragment, "a tool call must be a JSON object")
    name = call.get("name")
    args = call.get("arguments")
    if isinstance(args, str):  # OpenAI-style: arguments as a JSON string
        args = loads(args, ctx)
    if not isinstance(args, dict):
        raise ctx.fail(fragment, "tool call 'arguments' must be an object")
    action = args.get("action")
    if not isinstance(action, str):
        raise ctx.fail(fragment, "tool call has no 'action' name")
    if name in MOBILE_TOOLS:
        return [_mobile(action, args, fragment, ctx)]
    if name in COMPUTER_TOOLS:
        return [_computer(action, args, fragment, ctx)]
    raise ctx.fail(fragment, f"unknown tool {name!r}; expected computer_use or mobile_use")


def _pointer(action: str, fragment: str, ctx: Ctx) -> tuple[float, float]:
    """The env's pointer (screenshot px), for calls that act where the cursor is."""
    if ctx.frame.pointer is None:
        raise ctx.fail(
            fragment,
            f"{action} without 'coordinate' acts at the pointer, whose position is unknown "
            "(no earlier mouse_move or click in this env)",
        )
    return ctx.frame.pointer


def _at(args: dict[str, Any], key: str, fragment: str, ctx: Ctx) -> tuple[float, float]:
    if key not in args:
        raise ctx.fail(fragment, f"missing {key!r}")
    nums = json_coords(args[key], ctx, key)
    if len(nums) != 2:
        raise ctx.fail(fragment, f"{key!r} must be [x, y]")
    return ctx.point(nums[0], nums[1], fragment)


def _text(args: dict[str, Any], key: str, fragment: str, ctx: Ctx) -> str:
    v = args.get(key)
    if not isinstance(v, str):
        raise ctx.fail(fragment, f"missing text argument {key!r}")
    return v


def _finish(args: dict[str, Any], fragment: str, ctx: Ctx) -> Finish:
    status = args.get("status", "success")
    if status not in ("success", "failure"):
        raise ctx.fail(fragment, f"terminate status must be success or failure, got {status!r}")
    return Finish(status=status)


def _wait(args: dict[str, Any], fragment: str, ctx: Ctx) -> Wait:
    if "time" not in args:
        return Wait()
    return Wait(seconds=number(args["time"], ctx, "time"))


def _computer(action: str, args: dict[str, Any], fragment: str, ctx: Ctx) -> Action:
    clicks = {
        "left_click": Click,
        "right_click": RightClick,
        "middle_click": MiddleClick,
        "double_click": DoubleClick,
        "triple_click": DoubleClick,  # Qwen3-VL cookbook: "simulated as double-click"
        "mouse_move": Hover,
    }
    if action in clicks:
        if "coordinate" not in args and action != "mouse_move":
            return clicks[action](point=_pointer(action, fragment, ctx))
        return clicks[action](point=_at(args, "coordinate", fragment, ctx))
    if action == "key":
        keys = args.get("keys", args.get("text"))
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise ctx.fail(fragment, "key needs 'keys': a list of key names")
        return Key(keys="+".join(k.strip() for k in keys))
    if action == "type":
        return Type(text=_text(args, "text", fragment, ctx))
    if action == "left_click_drag":
        end = _at(args, "coordinate", fragment, ctx)
        for key in ("startCoordinate", "start_coordinate"):
            if key in args:
                return Drag(start=_at(args, key, fragment, ctx), end=end)
        # cookbook: "Click and drag the cursor to a specified (x, y)": from the pointer
        return Drag(start=_pointer(action, fragment, ctx), end=end)
    if action in ("scroll", "hscroll"):
        pixels = number(args.get("pixels"), ctx, "pixels")
        if pixels == 0:
            raise ctx.fail(fragment, "scroll of 0 pixels")
        notches = min(MAX_NOTCHES, max(1, round(abs(pixels) / SCROLL_PIXELS_PER_NOTCH)))
        point = _at(args, "coordinate", fragment, ctx) if "coordinate" in args else None
        point = point or ctx.frame.pointer  # the wheel turns where the cursor is
        # cookbook: "Positive values scroll up, negative values scroll down"; hscroll: right
        ways = ("up", "down") if action == "scroll" else ("right", "left")
        way = ways[0] if pixels > 0 else ways[1]
        return Scroll.model_validate({"direction": way, "amount": notches, "point": point})
    if action == "wait":
        return _wait(args, fragment, ctx)
    if action == "terminate":
        return _finish(args, fragment, ctx)
    if action == "answer":
        return Finish(status="success", answer=_text(args, "text", fragment, ctx))
    raise ctx.fail(fragment, f"unsupported computer_use action {action!r}")


_SYSTEM_BUTTONS = {"back": Back, "home": Home}


def _mobile(action: str, args: dict[str, Any], fragment: str, ctx: Ctx) -> Action:
    if action == "click":
        return Click(point=_at(args, "coordinate", fragment, ctx))
    if action == "long_press":
        point = _at(args, "coordinate", fragment, ctx)
        if "time" in args:
            return LongPress(point=point, duration=number(args["time"], ctx, "time"))
        return LongPress(point=point)
    if action == "swipe":
        return Swipe(
            start=_at(args, "coordinate", fragment, ctx),
            end=_at(args, "coordinate2", fragment, ctx),
        )
    if action == "type":
        return Type(text=_text(args, "text", fragment, ctx))
    if action == "key":
        return Key(keys=_text(args, "text", fragment, ctx))
    if action == "system_button":
        button = _text(args, "button", fragment, ctx).strip().lower()
        if button in _SYSTEM_BUTTONS:
            return _SYSTEM_BUTTONS[button]()
        if button in ("menu", "enter"):
            return Key(keys=button)
        raise ctx.fail(fragment, f"unknown system_button {button!r}")
    if action == "open":
        return OpenApp(name=_text(args, "text", fragment, ctx))
    if action == "wait":
        return _wait(args, fragment, ctx)
    if action == "terminate":
        return _finish(args, fragment, ctx)
    if action == "answer":
        return Finish(status="success", answer=_text(args, "text", fragment, ctx))
    raise ctx.fail(fragment, f"unsupported mobile_use action {action!r}")
