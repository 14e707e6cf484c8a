"""Output dialect of GELab-Zero (StepFun, GELab-Zero-4B-preview on Qwen3-VL-4B):

``<THINK> … </THINK>\\nexplain:…\\taction:CLICK\\tpoint:x,y\\tsummary:…`` — one action as
TAB-separated ``key:value`` fields after the think block, points ``x,y`` (or ``x y``) in
0–1000 of the screenshot. The nine actions of its prompt map to our union:

=========  ==================================================================
CLICK      click(point)
TYPE       type(value, point) — the point is optional, as in the authors' code
COMPLETE   finish(success, answer=return)
WAIT       wait(seconds=value)
AWAKE      open_app(name=value) — "wake the named app"
INFO       call_user(question=value) — "ask the user a question"
ABORT      finish(failure, answer=value) — "end the task: it cannot go on"
SLIDE      swipe(point1 → point2)
LONGPRESS  long_press(point, duration=value or 1.5 s, the deploy code's default)
=========  ==================================================================

Anything else (an unknown action, a missing point, a point that is not two numbers, a
non-numeric wait) is a ParseError. The field split, the think-tag normalisation and the point
syntax follow ``Parser0920Summary.str2action`` and the mapping follows the deploy path
(``copilot_agent_client/pu_client.py`` → ``uiTars_to_frontend_action`` →
``_convert_point_to_realworld_point``: ``x / 1000 * width`` as a float) of
stepfun-ai/gelab-zero@19465cf337effc20db25830688aeec5a72855c0a; docs/models/holo_gelab.md
describes the other client path (``mobile_action_helper.model_act2front_act``).
"""

from __future__ import annotations

import re

from agent.core.actions import (
    ACTION_TYPES,
    Action,
    CallUser,
    Click,
    Finish,
    LongPress,
    OpenApp,
    Point,
    Swipe,
    Type,
    Wait,
)
from agent.core.coords import CoordSpec, Frame
from model.parsers.common import NUMBER, Ctx, Dialect, Parsed, guard, strip_or_none
from model.parsers.render import RenderOpts, UnsupportedAction, Writer

LONGPRESS_SECONDS = 1.5  # pu_frontend_executor.uiTars_to_frontend_action's default duration
_THINK_TAG = re.compile(r"<\s*/?\s*T(?:H)?INK\s*>", re.IGNORECASE)  # <THINK>, <think>, <TINK>
_Q3 = 32  # Qwen3-VL grid


def split_think(text: str) -> tuple[str, str]:
    """(think text, key-value part); without think tags the whole text is key-values."""
    norm = _THINK_TAG.sub(lambda m: "</THINK>" if "/" in m.group() else "<THINK>", text.strip())
    if "<THINK>" in norm and "</THINK>" in norm.split("<THINK>", 1)[1]:
        body = norm.split("<THINK>", 1)[1]
        cot, kv = body.split("</THINK>", 1)
        return cot.strip(), kv.strip()
    return "", norm


def fields(kv: str) -> dict[str, str]:
    """``key:value`` fields split on TABs (a later key wins, as in the authors' dict)."""
    out: dict[str, str] = {}
    for part in kv.split("\t"):
        part = part.strip()
        if ":" not in part:
            continue
        key, value = part.split(":", 1)
        out[key.strip()] = value.strip()
    return out


def _point(ctx: Ctx, f: dict[str, str], key: str, action: str) -> Point:
    raw = f.get(key)
    if raw is None:
        raise ctx.fail(f"action:{action}", f"{action} needs {key}:x,y")
    coords = raw.replace(",", " ").split()
    if len(coords) < 2 or not all(NUMBER.fullmatch(c) for c in coords[:2]):
        raise ctx.fail(f"{key}:{raw}", f"{key} must be two numbers x,y (0-1000)")
    return ctx.point(float(coords[0]), float(coords[1]), f"{key}:{raw}")


def _value(ctx: Ctx, f: dict[str, str], key: str, action: str) -> str:
    if key not in f:
        raise ctx.fail(f"action:{action}", f"{action} needs {key}:…")
    return f[key]


def _action(ctx: Ctx, f: dict[str, str]) -> Action:
    name = f.get("action")
    if name is None:
        raise ctx.fail("\t".join(f"{k}:{v}" for k, v in f.items())[:200], "no action: field")
    frag = f"action:{name}"
    with guard(ctx, frag):
        if name == "CLICK":
            return Click(point=_point(ctx, f, "point", name))
        if name == "TYPE":
            where = _point(ctx, f, "point", name) if "point" in f else None
            return Type(text=_value(ctx, f, "value", name), point=where)
        if name == "COMPLETE":
            return Finish(status="success", answer=strip_or_none(_value(ctx, f, "return", name)))
        if name == "WAIT":
            return Wait(seconds=float(_value(ctx, f, "value", name)))
        if name == "AWAKE":
            return OpenApp(name=_value(ctx, f, "value", name))
        if name == "INFO":
            return CallUser(question=_value(ctx, f, "value", name))
        if name == "ABORT":
            return Finish(status="failure", answer=strip_or_none(f.get("value")))
        if name == "SLIDE":
            start = _point(ctx, f, "point1", name)
            return Swipe(start=start, end=_point(ctx, f, "point2", name))
        if name == "LONGPRESS":
            seconds = float(f.get("value") or LONGPRESS_SECONDS)
            return LongPress(point=_point(ctx, f, "point", name), duration=seconds)
    raise ctx.fail(frag, f"unknown GELab action {name!r}; known: {', '.join(ACTIONS)}")


ACTIONS = ("CLICK", "TYPE", "COMPLETE", "WAIT", "AWAKE", "INFO", "ABORT", "SLIDE", "LONGPRESS")


def parse_gelab(text: str, ctx: Ctx) -> Parsed:
    cot, kv = split_think(text)
    f = fields(kv)
    action = _action(ctx, f)
    return Parsed(strip_or_none(cot) or strip_or_none(f.get("explain")), [action])


def gelab_complete(text: str) -> bool:
    """The action is written once its ``summary:`` field (the last one) ends with a newline,
    after a closed think block (or with no think block at all)."""
    tags = list(_THINK_TAG.finditer(text))
    if tags and "/" not in tags[-1].group():
        return False  # still thinking
    kv = text[tags[-1].end() :] if tags else text
    at = kv.find("summary:")
    return at >= 0 and "action:" in kv[:at] and "\n" in kv[at:]


# ---- rendering ------------------------------------------------------------------------------


def _clean(value: str, what: str) -> str:
    if "\t" in value or "\n" in value:
        raise UnsupportedAction(f"GELab-Zero cannot write a {what} with a tab or newline")
    return value.strip()


def render_gelab(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    """One action as the authors' ``action2str`` writes it: think block, then TAB fields."""
    if len(actions) != 1:
        raise UnsupportedAction(f"GELab-Zero writes one action per turn, not {len(actions)}")
    a = actions[0]
    w = Writer(frame, opts.precise)

    def pt(p: Point) -> str:
        x, y = w.xy(p)
        return f"{x},{y}"

    if a.type == "click":
        kv = f"action:CLICK\tpoint:{pt(a.point)}"
    elif a.type == "type" and not a.enter:
        where = f"\tpoint:{pt(a.point)}" if a.point is not None else ""
        kv = f"action:TYPE\tvalue:{_clean(a.text, 'text')}{where}"
    elif a.type == "finish" and a.status == "success":
        kv = f"action:COMPLETE\treturn:{_clean(a.answer or '', 'answer')}"
    elif a.type == "finish":
        kv = f"action:ABORT\tvalue:{_clean(a.answer or '', 'reason')}"
    elif a.type == "wait":
        kv = f"action:WAIT\tvalue:{a.seconds:g}"
    elif a.type == "open_app":
        kv = f"action:AWAKE\tvalue:{_clean(a.name, 'app name')}"
    elif a.type == "call_user":
        kv = f"action:INFO\tvalue:{_clean(a.question, 'question')}"
    elif a.type == "swipe":
        kv = f"action:SLIDE\tpoint1:{pt(a.start)}\tpoint2:{pt(a.end)}"
    elif a.type == "long_press":
        kv = f"action:LONGPRESS\tpoint:{pt(a.point)}"
    else:
        raise UnsupportedAction(f"GELab-Zero has no action for {a.type}")
    words = " ".join((opts.thought or f"I will {a.type.replace('_', ' ')}.").split())
    return f"<THINK> {words} </THINK>\nexplain:{words}\t{kv}\tsummary:{words}\n"


_OFFERS = frozenset(
    {"click", "type", "finish", "wait", "open_app", "call_user", "swipe", "long_press"}
)

DIALECTS: tuple[Dialect, ...] = (
    Dialect(
        "gelab-zero",
        CoordSpec(space="norm1000", factor=_Q3),
        parse_gelab,
        render_gelab,
        gelab_complete,
        "GELab-Zero: <THINK>…</THINK> then TAB-separated explain/action/point/summary, 0-1000",
        lossy=frozenset({"box", "target", "clear", "duration"}),
        whole_type=True,
        offers=_OFFERS,
        not_offered=frozenset(ACTION_TYPES) - _OFFERS,
    ),
)
