"""Output dialects of UI-Venus (inclusionAI/UI-Venus): docs/models/maiui_venus.md.

Navigation replies are ``<think>…</think><action>Func(args)</action><conclusion>…
</conclusion>`` with the mobile prompt's functions: Click(box=(x,y)), LongPress(box=(x,y)),
Drag(start=(x1,y1), end=(x2,y2)), Scroll(start=…, end=…) (a finger swipe from start to end),
Type(content=''), Launch(app='') (or url=''), Wait(), Finished(content=''),
CallUser(content=''), PressBack(), PressHome(), PressEnter(), PressRecent(). The web prompt's
Hover / DoubleClick / Hotkey are rejected by both released parsers (unknown action): they
are a ParseError here too.

* ``ui-venus-1.5`` — the deploy framework (``Venus_framework/policy/ui_venus_policy.py``):
  0–1000 of the screenshot, ``int(v * W / 1000)``, while its Chinese prompt states 0–999;
* ``ui-venus-1.5-eval`` — the released navigation eval agent, a UI-Venus-1.0 leftover: px of
  ``smart_resize(factor=28, min 3136, max 12845056)``;
* ``ui-venus-1.5-grounding`` — the grounding eval: ``[x,y]`` / 1000; ``[-1,-1]`` is the
  model's refusal ("the task is infeasible"): a ``finish(failure)``, never a click;
* ``ui-venus`` — UI-Venus-1.0 (Qwen2.5-VL) navigation, px of its resized input
  (``run_navi_7b.sh``: min 830000, max 937664 px).
"""

from __future__ import annotations

import re

from agent.core.actions import (
    Action,
    Back,
    CallUser,
    Click,
    Drag,
    Finish,
    Home,
    Key,
    LongPress,
    Navigate,
    OpenApp,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from agent.core.coords import CoordSpec, Frame, box_center
from model.parsers.calls import Call, parse_calls
from model.parsers.common import Ctx, Dialect, Parsed, guard, numbers, strip_or_none, tagged
from model.parsers.maiui import after_thinking
from model.parsers.render import RenderOpts, UnsupportedAction, Writer

_Q3 = 32  # Qwen3-VL grid
EVAL_MIN = 3136  # qwen-vl-utils defaults the eval scripts keep (factor 28)
EVAL_MAX = 12845056
V10_MIN = 830000  # UI-Venus-1.0 scripts/run_navi_7b.sh
V10_MAX = 937664
V10_GROUND_MIN = 2000000  # UI-Venus-1.0 models/grounding/ui_venus_ground_7b.py
V10_GROUND_MAX = 4800000
INFEASIBLE = "UI-Venus answered [-1,-1]: the target is not on this screen (infeasible)"
_KEYS = {"PressEnter": "enter", "PressRecent": "app_switch"}
_REJECTED = ("Hover", "DoubleClick", "Hotkey")
_CLOSED = re.compile(r"\d\s*\]")  # a bracketed answer has closed


# ---- navigation -----------------------------------------------------------------------------


def parse_venus(text: str, ctx: Ctx) -> Parsed:
    thinks = tagged(text, "<think>", "</think>")
    thought = strip_or_none(thinks[0][0]) if thinks else None
    rest = text[thinks[0][2] :] if thinks else text
    found = tagged(rest, "<action>", "</action>")
    if not found:
        raise ctx.fail(rest, "no <action>Func(...)</action> block")
    body, _s, end = found[0]
    if end == len(rest) and not rest.endswith("</action>"):
        raise ctx.fail(body, "truncated <action> (no </action>)")
    calls = parse_calls(body.strip(), ctx.fail)
    if len(calls) != 1:
        raise ctx.fail(body, f"expected one action call, got {len(calls)}")
    with guard(ctx, calls[0].fragment):
        return Parsed(thought, [_action(calls[0], ctx)])


def _xy(call: Call, key: str, ctx: Ctx) -> tuple[float, float]:
    raw = call.args.get(key)
    if raw is None:
        raise ctx.fail(call.fragment, f"{call.name} needs {key}=(x,y)")
    nums = numbers(raw, ctx)
    if len(nums) != 2:
        raise ctx.fail(call.fragment, f"{key} must be (x,y)")
    return ctx.point(nums[0], nums[1], call.fragment)


def _action(call: Call, ctx: Ctx) -> Action:
    name, args = call.name, call.args
    if name == "Click":
        return Click(point=_xy(call, "box", ctx))
    if name == "LongPress":
        return LongPress(point=_xy(call, "box", ctx))
    if name == "Drag":
        return Drag(start=_xy(call, "start", ctx), end=_xy(call, "end", ctx))
    if name == "Scroll" and "start" in args:
        return Swipe(start=_xy(call, "start", ctx), end=_xy(call, "end", ctx))
    if name == "Scroll":  # the web prompt's Scroll(direction='down or up')
        way = args.get("direction", "").strip().lower()
        if way not in ("up", "down", "left", "right"):
            raise ctx.fail(call.fragment, "Scroll needs start=/end= or direction='up|down'")
        return Scroll.model_validate({"direction": way})
    if name == "Type":
        return Type(text=args.get("content", ""))
    if name == "Launch":
        if args.get("app"):
            return OpenApp(name=args["app"])
        if args.get("url"):
            return Navigate(url=args["url"])
        raise ctx.fail(call.fragment, "Launch needs app='…' or url='…'")
    if name == "Wait":
        return Wait()
    if name == "Finished":
        return Finish(status="success", answer=args.get("content") or None)
    if name == "CallUser":
        return CallUser(question=args.get("content", ""))
    if name == "PressBack":
        return Back()
    if name == "PressHome":
        return Home()
    if name in _KEYS:
        return Key(keys=_KEYS[name])
    if name in _REJECTED:
        raise ctx.fail(call.fragment, f"{name} is not an action the released parsers accept")
    raise ctx.fail(call.fragment, f"unknown UI-Venus action {name!r}")


def venus_complete(text: str) -> bool:
    rest = after_thinking(text, ("<think>",), ("</think>",))
    return rest is not None and "</action>" in rest


def _q(text: str) -> str:
    if "\n" in text:
        raise UnsupportedAction("UI-Venus cannot quote text over several lines")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_venus(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    """One turn as UI-Venus writes it (one action per turn)."""
    if len(actions) != 1:
        raise UnsupportedAction("UI-Venus writes one action per turn")
    a = actions[0]
    w = Writer(frame, opts.precise)

    def pt(p: tuple[float, float]) -> str:
        x, y = w.xy(p)
        return f"({x},{y})"

    if a.type in ("click", "long_press"):
        call = f"{'Click' if a.type == 'click' else 'LongPress'}(box={pt(a.point)})"
    elif a.type in ("drag", "swipe"):
        call = f"{'Drag' if a.type == 'drag' else 'Scroll'}(start={pt(a.start)}, end={pt(a.end)})"
    elif a.type == "type" and a.point is None and not a.enter:
        call = f"Type(content={_q(a.text)})"
    elif a.type == "open_app":
        call = f"Launch(app={_q(a.name)})"
    elif a.type == "navigate":
        call = f"Launch(url={_q(a.url)})"
    elif a.type == "wait":
        call = "Wait()"
    elif a.type == "finish" and a.status == "success":
        call = f"Finished(content={_q(a.answer or '')})"
    elif a.type == "call_user":
        call = f"CallUser(content={_q(a.question)})"
    elif a.type in ("back", "home"):
        call = f"Press{a.type.capitalize()}()"
    elif a.type == "key" and a.keys in ("enter", "app_switch"):
        call = "PressEnter()" if a.keys == "enter" else "PressRecent()"
    else:
        raise UnsupportedAction(f"UI-Venus's mobile prompt cannot express a {a.type} like this")
    thought = " ".join((opts.thought or f"I will {a.type.replace('_', ' ')}.").split())
    return f"<think>{thought}</think>\n<action>{call}</action>\n<conclusion>{thought}</conclusion>"


# ---- grounding ------------------------------------------------------------------------------


def parse_venus_grounding(text: str, ctx: Ctx) -> Parsed:
    """The grounding eval's reading: the first ``[x,y]``; ``[x1,y1,x2,y2]`` or two points
    ``[x1,y1],[x2,y2]`` → their centre; ``[-1,-1]`` → finish(failure) (the refusal)."""
    box = re.search(r"\[([^\[\]]{0,200})\]\s*,?\s*(\[[^\[\]]{0,200}\])?", text)
    if box is None:
        raise ctx.fail(text, "no [x,y] point")
    nums = numbers(box.group(1), ctx)
    if box.group(2) and len(nums) == 2:
        nums += numbers(box.group(2), ctx)
    if nums == [-1.0, -1.0]:
        return Parsed(None, [Finish(status="failure", answer=INFEASIBLE)])
    if any(v < 0 for v in nums):
        raise ctx.fail(box.group(0), "negative coordinate (only [-1,-1] means infeasible)")
    if len(nums) == 4:
        cx, cy = box_center(*nums)
        return Parsed(None, [Click(point=ctx.point(cx, cy, box.group(0)))])
    if len(nums) != 2:
        raise ctx.fail(box.group(0), "expected [x,y], [x1,y1,x2,y2] or [-1,-1]")
    return Parsed(None, [Click(point=ctx.point(nums[0], nums[1], box.group(0)))])


def grounding_complete(text: str) -> bool:
    return _CLOSED.search(text) is not None


def render_venus_grounding(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    a = actions[0]
    if len(actions) != 1 or a.type not in ("click", "finish"):
        raise UnsupportedAction("UI-Venus grounding answers one point or [-1,-1]")
    if a.type == "finish":
        if a.status != "failure":
            raise UnsupportedAction("UI-Venus grounding has no successful finish")
        return "[-1,-1]"
    x, y = Writer(frame, opts.precise).xy(a.point)
    return f"[{x},{y}]"


_NAV = {"click", "long_press", "drag", "swipe", "type", "open_app", "wait", "finish"}
_NAV |= {"call_user", "back", "home", "key"}
_UNION = _NAV | {"double_click", "right_click", "middle_click", "hover", "scroll", "navigate"}
_GROUNDING = frozenset({"click", "finish"})
_LOSSY = frozenset({"duration", "seconds", "box", "target"})


def _nav(name: str, coords: CoordSpec, description: str) -> Dialect:
    return Dialect(
        name,
        coords,
        parse_venus,
        render_venus,
        venus_complete,
        description,
        stop=("</action>",),
        lossy=_LOSSY,
        offers=frozenset(_NAV),
        not_offered=frozenset(_UNION - _NAV),
    )


DIALECTS: tuple[Dialect, ...] = (
    _nav(
        "ui-venus-1.5",
        CoordSpec(space="norm1000", stated=999, factor=_Q3, min_pixels=EVAL_MIN),
        "UI-Venus-1.5: <think>/<action>Click(box=(x,y))</action>, /1000 (deploy framework)",
    ),
    _nav(
        "ui-venus-1.5-eval",
        CoordSpec(space="abs", mode="resize", min_pixels=EVAL_MIN, max_pixels=EVAL_MAX),
        "UI-Venus-1.5 as its released nav eval reads it: px of smart_resize(factor 28)",
    ),
    Dialect(
        "ui-venus-1.5-grounding",
        CoordSpec(space="norm1000", factor=_Q3, min_pixels=EVAL_MIN, max_pixels=EVAL_MAX),
        parse_venus_grounding,
        render_venus_grounding,
        grounding_complete,
        "UI-Venus-1.5 grounding: [x,y] /1000, [-1,-1] = infeasible (finish failure)",
        offers=_GROUNDING,
        not_offered=frozenset(_UNION - _GROUNDING),
    ),
    _nav(
        "ui-venus",
        CoordSpec(space="abs", mode="resize", min_pixels=V10_MIN, max_pixels=V10_MAX),
        "UI-Venus-1.0 navigation: <think>/<action>, px of its resized input",
    ),
    Dialect(
        "ui-venus-grounding",
        CoordSpec(space="abs", mode="resize", min_pixels=V10_GROUND_MIN, max_pixels=V10_GROUND_MAX),
        parse_venus_grounding,
        render_venus_grounding,
        grounding_complete,
        "UI-Venus-1.0 grounding (7B): [x1,y1,x2,y2] px of its resized input, centre clicked",
        offers=_GROUNDING,
        not_offered=frozenset(_UNION - _GROUNDING),
    ),
)
