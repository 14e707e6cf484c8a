"""UI-TARS (v1: 0–1000 of the model input) and UI-TARS-1.5 (absolute pixels of the
smart-resized input) — same text, different coordinate conventions.

Output shape::

    Thought: …            (or Reflection: … / Action_Summary: …)
    Action: click(start_box='<|box_start|>(x1,y1)<|box_end|>')

Coordinates come as ``'(x,y)'``, ``'(x1,y1,x2,y2)'`` (a box: its centre),
``'<|box_start|>(x,y)<|box_end|>'``, ``'<point>x y</point>'`` or ``'<bbox>x1 y1 x2 y2</bbox>'``.

Agreement with the official parser (PyPI ``ui-tars``, ``parse_action_to_structure_output``,
tested differentially): when ``Action:`` appears more than once, the last one holds the
actions, as ``text.split("Action: ")[-1]`` does; several calls after it (newline- or
blank-line-separated) are several actions; an empty argument (``time=''``) is absent; the
v1 mobile ``scroll(start_box=…, end_box=…)`` is a swipe from start to end. Typed text
(``type(content='…')``) ends only at a quote followed by the ``)`` that ends the call, so
``'a', b'`` types ``a', b``. A typed text ending in a newline (``\\n`` in the output) or in
a written backslash-n (``\\\\n``) is typed, then Enter is pressed, as the official pyautogui
code does (a final newline is dropped from the text: the Enter stands for it; a written
backslash-n is typed as written). Beyond the official parser we accept floats in
``<point>``/``<bbox>``, ``Action:`` without a space, calls separated by one newline,
double-quoted or multi-line typed text, and unescaped apostrophes inside strings.
"""

from __future__ import annotations

import re

from agent.core.actions import (
    Action,
    Back,
    Box,
    CallUser,
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
    Point,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from model.parsers.calls import Call, parse_calls
from model.parsers.common import Ctx, Parsed, guard, number, strip_or_none

_ACTION_LINE = re.compile(r"^[ \t]*Action[ \t]*:", re.MULTILINE)
_ACTION_ANY = re.compile(r"\bAction\s*:")
_SECTIONS = re.compile(r"\b(Thought|Reflection|Action_Summary)\s*:")
UITARS_WAIT_SECONDS = 5.0  # UI-TARS prompt: "wait() #Sleep for 5s"

_POINTERS = {
    "click": Click,
    "left_single": Click,
    "left_click": Click,
    "tap": Click,
    "left_double": DoubleClick,
    "double_click": DoubleClick,
    "right_single": RightClick,
    "right_click": RightClick,
    "middle_single": MiddleClick,
    "hover": Hover,
    "mouse_move": Hover,
    "long_press": LongPress,
}
_START_KEYS = ("start_box", "point", "start_point", "box", "coordinate")
_END_KEYS = ("end_box", "end_point")
_DIRECTIONS = frozenset({"up", "down", "left", "right"})
_TYPE_TEXT = re.compile(r"\btype\(\s*(?:content|text)\s*=\s*(['\"])")
# after typed text's closing quote: ")" ending the line, or followed by ";" or the next call
_TEXT_END = re.compile(r"[ \t]*\)[ \t]*(?:[\r\n;]|$|[A-Za-z_]\w*\()")


def _thought(preamble: str) -> str | None:
    """The ``Thought:`` section if there is one, else ``Action_Summary:``, else all of it."""
    sections: dict[str, str] = {}
    marks = list(_SECTIONS.finditer(preamble))
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(preamble)
        sections.setdefault(m.group(1), preamble[m.end() : end])
    for name in ("Thought", "Action_Summary"):
        if name in sections and sections[name].strip():
            return sections[name].strip()
    return strip_or_none(_SECTIONS.sub(" ", preamble))


def parse_uitars(text: str, ctx: Ctx) -> Parsed:
    # "Action:" at a line start marks actions (a thought may mention "Action:" mid-line);
    # failing that, the last "Action:" anywhere, as UI-TARS's own parser does
    marks = list(_ACTION_LINE.finditer(text)) or list(_ACTION_ANY.finditer(text))
    if marks:
        thought = _thought(text[: marks[0].start()])
        chunks = [text[marks[-1].end() :]]  # official: the last "Action:" holds the actions
    else:  # a bare call, as grounding prompts get
        thought, chunks = None, [text]
    actions: list[Action] = []
    for chunk in chunks:
        for call in parse_calls(_escape_typed_quotes(chunk), ctx.fail):
            with guard(ctx, call.fragment):
                actions.append(_action(call, ctx))
    if not actions:
        raise ctx.fail(text, "no action after 'Action:'")
    return Parsed(thought, actions)


def _escape_typed_quotes(chunk: str) -> str:
    """Escape the quotes inside typed text that do not end it, as the official parser reads
    ``type(content='…')``: only a quote followed by ``)`` closes the text (``'a', b'`` is
    ``a', b``), and only where that ``)`` ends the line or another call follows
    (``'print('a')'`` is ``print('a')``, as the official parser reads it too). Text that runs
    onto another line, or never closes, is left to the call scanner as written (its errors
    name the problem)."""
    out: list[str] = []
    done = 0
    for m in _TYPE_TEXT.finditer(chunk):
        if m.start() < done:  # inside typed text already handled
            continue
        quote, i, inner = m.group(1), m.end(), []
        while i < len(chunk) and chunk[i] != "\n":
            if chunk[i] == "\\":
                i += 2  # an escape: \' stays escaped, \\ is one backslash
                continue
            if chunk[i] == quote:
                if _TEXT_END.match(chunk, i + 1):
                    break
                inner.append(i)
            i += 1
        else:
            continue  # not closed on this line
        for q in inner:
            out.append(chunk[done:q] + "\\")
            done = q
        out.append(chunk[done:i])
        done = i
    return "".join(out) + chunk[done:]


def _where(call: Call, keys: tuple[str, ...], ctx: Ctx) -> tuple[Point, Box | None] | None:
    for key in keys:
        if call.args.get(key, "") != "":
            return ctx.coords(call.args[key])
    return None


def _need(call: Call, keys: tuple[str, ...], ctx: Ctx) -> tuple[Point, Box | None]:
    found = _where(call, keys, ctx)
    if found is None:
        raise ctx.fail(call.fragment, f"{call.name} needs {keys[0]}")
    return found


def _arg(call: Call, *keys: str) -> str | None:
    """The first of ``keys`` given with a non-empty value (official: ``''`` means absent)."""
    for key in keys:
        if call.args.get(key, "") != "":
            return call.args[key]
    return None


def _action(call: Call, ctx: Ctx) -> Action:
    name = call.name.lower()
    if name in _POINTERS:
        point, box = _need(call, _START_KEYS, ctx)
        if name == "long_press" and (t := _arg(call, "time", "duration")) is not None:
            return LongPress(point=point, box=box, duration=number(t, ctx, "time"))
        return _POINTERS[name](point=point, box=box)
    if name in ("drag", "select", "swipe"):
        start, _ = _need(call, _START_KEYS, ctx)
        end, _ = _need(call, _END_KEYS, ctx)
        return Drag(start=start, end=end)
    if name in ("hotkey", "press", "key"):
        keys = _arg(call, "key", "hotkey", "keys")
        if keys is None:
            raise ctx.fail(call.fragment, f"{name} needs key='…'")
        return Key(keys=keys)
    if name == "type":
        content = _arg(call, "content", "text")
        if content is None:
            raise ctx.fail(call.fragment, "type needs content='…'")
        if content.endswith("\n"):  # UI-TARS: a trailing \n submits; Enter stands for it
            return Type(text=content[:-1], enter=True)
        # official pyautogui code: a written backslash-n at the end also presses Enter, after
        # pasting the text unchanged (its strip of the two characters is commented out)
        return Type(text=content, enter=content.endswith("\\n"))
    if name == "scroll" and _where(call, _END_KEYS, ctx) and not _arg(call, "direction"):
        start, _ = _need(call, _START_KEYS, ctx)  # v1 mobile: scroll(start_box, end_box)
        end, _ = _need(call, _END_KEYS, ctx)
        return Swipe(start=start, end=end)
    if name == "scroll":
        direction = (_arg(call, "direction") or "").strip().lower()
        if direction not in _DIRECTIONS:
            raise ctx.fail(call.fragment, "scroll needs direction='up|down|left|right'")
        where = _where(call, _START_KEYS, ctx)
        return Scroll(direction=direction, point=where[0] if where else None)  # type: ignore[arg-type]
    if name == "wait":
        return Wait(seconds=UITARS_WAIT_SECONDS)
    if name in ("finished", "finish"):
        # as the official parser: leading blanks dropped, '' is no answer
        answer = (_arg(call, "content", "answer") or "").lstrip()
        return Finish(status="success", answer=answer or None)
    if name in ("open_app", "open"):
        app = _arg(call, "app_name", "name", "text")
        if not app or not app.strip():
            raise ctx.fail(call.fragment, "open_app needs app_name='…'")
        return OpenApp(name=app.strip())
    if name in ("press_home", "navigate_home"):
        return Home()
    if name in ("press_back", "navigate_back"):
        return Back()
    if name == "call_user":
        return CallUser(question=_arg(call, "content", "question") or "")
    raise ctx.fail(call.fragment, f"unknown UI-TARS action {call.name!r}")
