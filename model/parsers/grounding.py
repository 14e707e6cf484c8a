"""Grounding-tag formats: Qwen-VL ``<ref>…</ref><box>(x1,y1),(x2,y2)</box>`` and Qwen2-VL
``<|object_ref_start|>…<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`` (0–1000).

These models ground, they do not name an action, so the verb comes from the words just before
the reference ("double click", "right-click", 'type "x" into', "hover", "drag … to …");
without one it is a click. Each box is one action (a drag takes two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.core.actions import (
    Action,
    Box,
    Click,
    DoubleClick,
    Drag,
    Hover,
    LongPress,
    MiddleClick,
    Point,
    RightClick,
    Scroll,
    Type,
)
from model.parsers.common import Ctx, Parsed, guard, strip_or_none, tags

_VERB_WINDOW = 400  # only the words close to a reference can be its verb
_Q = r"(?:\"(?P<dq>[^\"\n]{0,4000})\"|'(?P<sq>[^'\n]{0,4000})'|“(?P<cq>[^”\n]{0,4000})”)"
_SUFFIX = r"(?:s|es|d|ed|ing|ped|ping|ged|ging)?\b"  # "clicks", "tapped", not "dragon"
_VERBS = re.compile(
    r"\b(?:"
    rf"(?P<type>(?:type|enter|input|write|fill\s+in)\s+{_Q})"
    rf"|(?P<double_click>double[\s-]?(?:click|tap){_SUFFIX})"
    rf"|(?P<right_click>(?:right|context)[\s-]?click{_SUFFIX})"
    rf"|(?P<middle_click>middle[\s-]?click{_SUFFIX})"
    rf"|(?P<long_press>(?:long[\s-]?press|press\s+and\s+hold){_SUFFIX})"
    rf"|(?P<hover>(?:hover|mouse[\s-]?over){_SUFFIX}"
    r"|move\s+(?:the\s+)?(?:mouse|cursor|pointer)\s+(?:to|over)\b)"
    rf"|(?P<drag>drag{_SUFFIX})"
    r"|(?P<scroll>scroll(?:s|ed|ing)?\s+(?P<dir>up|down|left|right)\b)"
    rf"|(?P<click>(?:click|tap|press|select|choose|open){_SUFFIX})"
    r")",
    re.IGNORECASE,
)
POINTER_ACTIONS = {
    "click": Click,
    "double_click": DoubleClick,
    "right_click": RightClick,
    "middle_click": MiddleClick,
    "hover": Hover,
    "long_press": LongPress,
}


@dataclass
class Verb:
    kind: str = "click"
    text: str | None = None  # for type
    direction: str | None = None  # for scroll


@dataclass
class _Grounded:
    verb: Verb
    point: Point
    box: Box | None
    target: str | None
    fragment: str


def verb_before(segment: str) -> Verb:
    """The last action verb in the words before a reference; click when there is none."""
    last = None
    for m in _VERBS.finditer(segment[-_VERB_WINDOW:]):
        last = m
    if last is None:
        return Verb()
    if last.group("type") is not None:
        quoted = (last.group("dq"), last.group("sq"), last.group("cq"))
        return Verb("type", text=next(t for t in quoted if t is not None))
    if last.group("scroll") is not None:
        return Verb("scroll", direction=last.group("dir").lower())
    for name in ("double_click", "right_click", "middle_click", "long_press", "hover", "drag"):
        if last.group(name) is not None:
            return Verb(name)
    return Verb()


def _ground(text: str, ctx: Ctx, ref: tuple[str, str], box: tuple[str, str]) -> Parsed:
    """Walk the tags left to right; a box takes the reference just before it (if any) and
    the verb from the words before that reference."""
    ref_open, ref_close = ref
    box_open, box_close = box
    toks = list(tags(text, (ref_open, ref_close, box_open, box_close)))
    items: list[_Grounded] = []
    first_tag = toks[0][1] if toks else len(text)
    seg_start = 0  # where the words for the next verb start
    pending: tuple[str, int] | None = None  # (ref text, ref start)
    i = 0
    while i < len(toks):
        name, start, end = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if name in (ref_close, box_close):
            raise ctx.fail(text[start : start + 120], f"{name} without its opening tag")
        closing = ref_close if name == ref_open else box_close
        if nxt is None or nxt[0] != closing:
            raise ctx.fail(text[start : start + 120], f"{name} is not closed by {closing}")
        body = text[end : nxt[1]]
        if name == ref_open:
            pending = (body.strip(), start)
        else:
            verb_end = pending[1] if pending else start
            fragment = text[(pending[1] if pending else start) : nxt[2]]
            point, bx = ctx.coords(body)
            items.append(
                _Grounded(
                    verb_before(text[seg_start:verb_end]),
                    point,
                    bx,
                    pending[0] if pending and pending[0] else None,
                    fragment,
                )
            )
            pending = None
            seg_start = nxt[2]
        i += 2
    if not items:
        if pending is not None:
            raise ctx.fail(text[pending[1] : pending[1] + 120], "reference without a box")
        raise ctx.fail(text, f"no {box_open}…{box_close} found")
    return Parsed(strip_or_none(text[:first_tag]), _assemble(items, ctx))


def _assemble(items: list[_Grounded], ctx: Ctx) -> list[Action]:
    actions: list[Action] = []
    i = 0
    while i < len(items):
        it = items[i]
        v = it.verb
        with guard(ctx, it.fragment):
            if v.kind == "drag":
                if i + 1 >= len(items):
                    raise ctx.fail(it.fragment, "drag needs a second box to drag to")
                actions.append(Drag(start=it.point, end=items[i + 1].point))
                i += 2
                continue
            if v.kind == "type":
                actions.append(Type(text=v.text or "", point=it.point, box=it.box))
            elif v.kind == "scroll":
                actions.append(Scroll(direction=v.direction, point=it.point))  # type: ignore[arg-type]
            else:
                cls = POINTER_ACTIONS[v.kind]
                actions.append(cls(point=it.point, box=it.box, target=it.target))
        i += 1
    return actions


def parse_qwen_vl(text: str, ctx: Ctx) -> Parsed:
    return _ground(text, ctx, ("<ref>", "</ref>"), ("<box>", "</box>"))


def parse_qwen2_vl(text: str, ctx: Ctx) -> Parsed:
    return _ground(
        text,
        ctx,
        ("<|object_ref_start|>", "<|object_ref_end|>"),
        ("<|box_start|>", "<|box_end|>"),
    )
