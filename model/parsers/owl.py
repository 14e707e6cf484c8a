"""Output dialects of GUI-Owl-1.5 (mPLUG, X-PLUG/MobileAgent "Mobile-Agent-v3.5") and EvoCUA
(meituan/EvoCUA, the S2 prompt style).

Both write one step as ``Action: <one sentence>`` then a Qwen3-VL cookbook ``<tool_call>``
block (``computer_use`` or, GUI-Owl only, ``mobile_use``), coordinates 0–1000 as their
prompts say ("The screen's resolution is 1000x1000"). Their code paths disagree on the
divisor (docs/models/owl.md):

* ``gui-owl-1.5`` / ``gui-owl-1.5-mobile`` (default): ``int(v / 999 * W)`` of the original
  screenshot — both authors' benchmark evaluations (OSWorld-MCP ``gui_owl_1_5_agent.py``,
  AndroidWorld ``mobile_agent_utils_new.py``), whose published scores these are;
* ``gui-owl-1.5-deploy`` / ``gui-owl-1.5-mobile-deploy``: ``int(v / 1000 * resized)`` with
  ``resized`` the factor-16 smart resize of the screenshot (``run_gui_owl_1_5_for_*.py``),
  which the deploy scripts never map back to the screen: for a side that is not a multiple
  of 16 they miss by up to 8 px. Here the point maps through the model input as every
  relative dialect does, so the deploy divisor is kept and the miss is not;
* ``evocua``: ``int(v * W / 999)`` of the original screenshot (``_parse_response_s2``,
  ``coordinate_type=relative``, the README's run); ``evocua-absolute``: px of the
  authors' factor-32 resize (``coordinate_type=absolute``). The S1 (pyautogui code) style is
  not supported.

The tool-call JSON is read with the Qwen2.5-VL / Qwen3-VL mapping (``model.parsers.qwen25``)
except where these families differ: ``interact`` (GUI-Owl: "resolve the blocking window by
interacting with the user") is ``call_user``; ``scroll`` / ``hscroll`` pass ``pixels`` to
``pyautogui.scroll`` in the authors' code, i.e. wheel notches, so ``|pixels|`` is the amount;
``triple_click`` (``pyautogui.tripleClick``, selects a line) and EvoCUA's ``key_down`` /
``key_up`` (held keys) have no action type here and are a ParseError naming them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent.core.actions import Action, CallUser, Scroll
from agent.core.coords import CoordSpec, Frame
from model.parsers import qwen25
from model.parsers.common import (
    Ctx,
    Dialect,
    Parsed,
    find_json,
    guard,
    loads,
    number,
    strip_or_none,
    tagged,
)
from model.parsers.render import RenderOpts, UnsupportedAction, Writer, tool_call_renderer

_Q3 = 32  # Qwen3-VL grid: 16-px patches merged 2×2
OWL_EVAL_MAX_PIXELS = 16 * 16 * 4 * 12800  # OSWorld-MCP process_image: 13,107,200
OWL_DEPLOY_MAX_PIXELS = 10_035_200  # computer_use/utils.py image_to_base64
EVOCUA_MAX_PIXELS = 16 * 16 * 4 * 12800  # mm_agents/evocua/utils.py process_image
MIN_PIXELS = 56 * 56  # smart_resize min_pixels in all three repos
MAX_NOTCHES = 100
_THINK_ENDS = ("</think>", "</thinking>")


@dataclass(frozen=True)
class _Tools:
    """What one dialect's tool calls may say."""

    tool: str  # "computer_use" or "mobile_use"
    interact: bool  # GUI-Owl's ``interact`` → call_user
    refused: tuple[str, ...]  # named actions with no type here
    scroll_at: bool = True  # scroll at ``coordinate`` (EvoCUA's agent scrolls at the pointer)


_OWL_COMPUTER = _Tools("computer_use", True, ("triple_click",))
_OWL_MOBILE = _Tools("mobile_use", True, ())
_EVOCUA = _Tools("computer_use", False, ("triple_click", "key_down", "key_up"), False)
_WHY = {
    "triple_click": "triple_click (pyautogui.tripleClick: selects a line) has no action type "
    "here; a double_click would select a word instead",
    "key_down": "key_down (hold a key down without releasing it) has no action type here",
    "key_up": "key_up (release a held key) has no action type here",
}


def _split_think(text: str) -> tuple[str, str]:
    """(reasoning, reply): tool calls drafted inside ``<think>`` / ``<thinking>`` do not act."""
    end = max((text.rfind(t) + len(t) if t in text else -1) for t in _THINK_ENDS)
    return (text[:end], text[end:]) if end >= 0 else ("", text)


def action_text(text: str) -> str | None:
    """The step's ``Action:`` sentence (what the authors keep as the step's history line):
    the text after the last ``Action:`` before the first ``<tool_call>``."""
    head = text.split("<tool_call>", 1)[0]
    if "Action:" not in head:
        return None
    return strip_or_none(head.rsplit("Action:", 1)[1])


def _thought(prefix: str) -> str | None:
    for tag in ("<think>", "</think>", "<thinking>", "</thinking>"):
        prefix = prefix.replace(tag, " ")
    return strip_or_none(prefix)


def _parser(tools: _Tools) -> Any:
    def parse(text: str, ctx: Ctx) -> Parsed:
        thinking, reply = _split_think(text)
        calls = tagged(reply, "<tool_call>", "</tool_call>")
        if calls:
            actions: list[Action] = []
            for body, _s, _e in calls:
                with guard(ctx, body):
                    actions.append(_call(loads(body.strip(), ctx), body, tools, ctx))
            return Parsed(_thought(thinking + reply[: calls[0][1]]), actions)
        found = find_json(reply)  # OSWorld-MCP and EvoCUA also read a bare call line
        if found is None or not isinstance(found[0], dict) or "arguments" not in found[0]:
            raise ctx.fail(
                reply, f"no <tool_call> block with a {tools.tool} call after the Action: line"
            )
        value, start, end = found
        with guard(ctx, reply[start:end]):
            action = _call(value, reply[start:end], tools, ctx)
        return Parsed(_thought(thinking + reply[:start]), [action])

    return parse


def _call(call: Any, fragment: str, tools: _Tools, ctx: Ctx) -> Action:
    if not isinstance(call, dict):
        raise ctx.fail(fragment, "a tool call must be a JSON object")
    name, args = call.get("name"), call.get("arguments")
    if isinstance(args, str):
        args = loads(args, ctx)
    if name != tools.tool:
        raise ctx.fail(fragment, f"unknown tool {name!r}; this dialect calls {tools.tool}")
    if not isinstance(args, dict) or not isinstance(args.get("action"), str):
        raise ctx.fail(fragment, "tool call needs 'arguments' with an 'action' name")
    action = args["action"]
    if action in tools.refused:
        raise ctx.fail(fragment, _WHY[action])
    if action == "interact" and tools.interact:
        return CallUser(question=qwen25._text(args, "text", fragment, ctx))
    if action in ("scroll", "hscroll") and tools.tool == "computer_use":
        return _scroll(action, args, fragment, ctx, tools.scroll_at)
    if tools.tool == "mobile_use":
        return qwen25._mobile(action, args, fragment, ctx)
    return qwen25._computer(action, args, fragment, ctx)


def _scroll(action: str, args: dict[str, Any], fragment: str, ctx: Ctx, at: bool) -> Scroll:
    """``pyautogui.scroll(pixels)`` (hscroll: sideways): ``pixels`` are wheel notches,
    positive up (right); at ``coordinate`` when given and ``at``, else where the pointer is
    (EvoCUA's agent ignores the coordinate)."""
    pixels = number(args.get("pixels"), ctx, "pixels")
    if pixels == 0:
        raise ctx.fail(fragment, "scroll of 0 pixels")
    notches = min(MAX_NOTCHES, max(1, round(abs(pixels))))
    point = qwen25._at(args, "coordinate", fragment, ctx) if at and "coordinate" in args else None
    ways = ("up", "down") if action == "scroll" else ("right", "left")
    way = ways[0] if pixels > 0 else ways[1]
    return Scroll.model_validate(
        {"direction": way, "amount": notches, "point": point or ctx.frame.pointer}
    )


# ---- rendering ----------------------------------------------------------------------------


def _summary(a: Action) -> str:
    return a.type.replace("_", " ").capitalize() + "."


def _renderer(name: str, tools: _Tools) -> Any:
    """``Action: <thought>`` and one ``<tool_call>`` per action, as the prompts ask."""
    space = "mobile" if tools.tool == "mobile_use" else "computer"
    base = tool_call_renderer(name, space)

    def block(args: dict[str, Any]) -> str:
        call = {"name": tools.tool, "arguments": args}
        return "<tool_call>\n" + json.dumps(call, ensure_ascii=False) + "\n</tool_call>"

    def render(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
        blocks: list[str] = []
        for a in actions:
            if a.type == "call_user" and tools.interact:
                blocks.append(block({"action": "interact", "text": a.question}))
            elif a.type == "scroll" and a.point is not None and not tools.scroll_at:
                raise UnsupportedAction(f"{name} scrolls where the pointer is, not at a point")
            elif a.type == "scroll" and space == "computer":
                way = {"up": ("scroll", 1), "down": ("scroll", -1)}
                verb, sign = way.get(a.direction) or (
                    "hscroll",
                    1 if a.direction == "right" else -1,
                )
                args: dict[str, Any] = {"action": verb, "pixels": sign * a.amount}
                if a.point is not None:
                    args["coordinate"] = list(_xy(frame, opts, a.point))
                blocks.append(block(args))
            elif a.type == "finish" and a.answer and tools is _EVOCUA:
                raise UnsupportedAction(f"{name} has no answer action (its enum lacks it)")
            elif a.type == "scroll" or a.type == "call_user":
                raise UnsupportedAction(f"{name} {tools.tool} cannot express {a.type}")
            else:
                blocks.append(base([a], frame, opts))
        thought = opts.thought or (_summary(actions[0]) if actions else "")
        return f"Action: {' '.join(thought.split())}\n" + "\n".join(blocks)

    return render


def _xy(frame: Frame, opts: RenderOpts, p: tuple[float, float]) -> tuple[int | float, ...]:
    return Writer(frame, opts.precise).xy(p)


# ---- early stop ---------------------------------------------------------------------------


def complete(text: str) -> bool:
    """The first ``</tool_call>`` after any ``<think>`` / ``<thinking>`` block."""
    return "</tool_call>" in _split_think(text)[1]


# ---- the dialects -------------------------------------------------------------------------

_CLICKS = frozenset({"click", "double_click", "right_click", "middle_click", "hover"})
_COMPUTER = _CLICKS | {"drag", "key", "type", "scroll", "wait", "finish"}
_NOT_COMPUTER = frozenset({"long_press", "swipe", "navigate", "back", "home", "open_app"})
_MOBILE = frozenset({"click", "long_press", "swipe", "type", "key", "back", "home", "open_app"})
_MOBILE |= {"wait", "finish", "call_user"}
_NOT_MOBILE = (_CLICKS - {"click"}) | {"drag", "scroll", "navigate"}
_LOSSY = frozenset({"box", "target", "clear", "duration"})

OWL_EVAL = CoordSpec(
    space="norm1000", divisor=999, stated=1000, factor=_Q3, min_pixels=MIN_PIXELS,
    max_pixels=OWL_EVAL_MAX_PIXELS,
)  # fmt: skip
OWL_EVAL_MOBILE = CoordSpec(space="norm1000", divisor=999, stated=1000, factor=_Q3)
OWL_DEPLOY = CoordSpec(
    space="norm1000", factor=16, min_pixels=MIN_PIXELS, max_pixels=OWL_DEPLOY_MAX_PIXELS
)
EVOCUA = CoordSpec(
    space="norm1000", divisor=999, stated=1000, factor=_Q3, min_pixels=MIN_PIXELS,
    max_pixels=EVOCUA_MAX_PIXELS,
)  # fmt: skip
EVOCUA_ABSOLUTE = CoordSpec(
    space="abs", mode="resize", factor=_Q3, min_pixels=MIN_PIXELS, max_pixels=EVOCUA_MAX_PIXELS
)


def _dialect(
    name: str, coords: CoordSpec, tools: _Tools, description: str, computer: bool
) -> Dialect:
    return Dialect(
        name, coords, _parser(tools), _renderer(name, tools), complete, description,
        stop=("</tool_call>",), lossy=_LOSSY,
        offers=(_COMPUTER | ({"call_user"} if tools.interact else set())) if computer
        else _MOBILE,
        not_offered=(_NOT_COMPUTER | (set() if tools.interact else {"call_user"})) if computer
        else _NOT_MOBILE,
    )  # fmt: skip


DIALECTS: tuple[Dialect, ...] = (
    _dialect(
        "gui-owl-1.5", OWL_EVAL, _OWL_COMPUTER,
        "GUI-Owl-1.5: Action: line + computer_use call, 0-1000 read as v/999 (their evals)",
        True,
    ),
    _dialect(
        "gui-owl-1.5-mobile", OWL_EVAL_MOBILE, _OWL_MOBILE,
        "GUI-Owl-1.5: Action: line + mobile_use call, 0-1000 read as v/999 (AndroidWorld eval)",
        False,
    ),
    _dialect(
        "gui-owl-1.5-deploy", OWL_DEPLOY, _OWL_COMPUTER,
        "GUI-Owl-1.5 deploy script: computer_use call, v/1000 of the factor-16 resize",
        True,
    ),
    _dialect(
        "gui-owl-1.5-mobile-deploy", OWL_DEPLOY, _OWL_MOBILE,
        "GUI-Owl-1.5 deploy script: mobile_use call, v/1000 of the factor-16 resize",
        False,
    ),
    _dialect(
        "evocua", EVOCUA, _EVOCUA,
        "EvoCUA S2: Action: line + computer_use call, 0-1000 read as v/999", True,
    ),
    _dialect(
        "evocua-absolute", EVOCUA_ABSOLUTE, _EVOCUA,
        "EvoCUA S2 coordinate_type=absolute: px of the factor-32 resize", True,
    ),
)  # fmt: skip
