"""Output dialects of pyautogui code (OpenCUA, Aguvis), parsed as data — never executed.

* ``opencua``: ``## Thought:`` / ``## Action:`` / ``## Code:``, the LAST fenced block holds the
  code (the authors' OSWorld agent); x, y are px of the authors' ``smart_resize(28, 3136,
  12845056)`` image (``abs``).
* ``aguvis``: bare lines after the ``<|recipient|>os`` prefill, 0–1 of the image (``norm1``).

The code goes through :func:`ast.parse`: every statement must be one call of a whitelisted
function (:data:`SIGNATURES`) whose arguments are literals (:func:`ast.literal_eval` of each
node). A name, attribute, subscript, f-string, lambda, nested call, import, loop or
assignment is a ParseError naming it. The authors' oddities and our choices (a float pair
≤ 1 is a fraction of the image; no triple click) are in docs/models/pyautogui.md.
"""

from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass
from typing import Any

from agent.core import actions as act
from agent.core.actions import Action, Point
from agent.core.coords import CoordSpec
from model.parsers.common import MAX_ACTIONS, Ctx, Dialect, Parsed, guard, strip_or_none
from model.parsers.complete import balanced_end
from model.parsers.pyautogui_render import render_aguvis, render_opencua

OPENCUA_MIN_PIXELS = 3136  # OSWorld opencua agent: smart_resize(min_pixels=3136)
OPENCUA_MAX_PIXELS = 12_845_056  # "We use this max_pixels setting in our training data"
AGUVIS_MIN_PIXELS = 256 * 28 * 28  # aguvis train.py
AGUVIS_MAX_PIXELS = 46 * 26 * 28 * 28  # aguvis train.py ("720p")
OPENCUA_WAIT_SECONDS = 20.0  # OpenCUA V2 prompt: computer.wait "wait for 20 seconds"
MAX_STATEMENT_LINES = 4 * MAX_ACTIONS  # a longer block is a runaway generation
_MODULES = ("pyautogui", "computer", "mobile")
_FENCE = "```"

# function → its parameters in pyautogui's order (positional arguments bind to these)
_XY = ("x", "y")
_P = "pyautogui."
_MOVE = ("duration", "tween")
_CLICK_ARGS = (*_XY, "interval", "button", "duration", "tween")
SIGNATURES: dict[str, tuple[str, ...]] = {
    _P + "click": (*_XY, "clicks", "interval", "button", "duration", "tween"),
    _P + "doubleClick": _CLICK_ARGS, _P + "tripleClick": _CLICK_ARGS,
    _P + "rightClick": _XY + _MOVE, _P + "middleClick": _XY + _MOVE, _P + "moveTo": _XY + _MOVE,
    _P + "dragTo": (*_XY, *_MOVE, "button"),
    _P + "scroll": ("clicks", *_XY, "page"), _P + "hscroll": ("clicks", *_XY),
    _P + "write": ("message", "interval"), _P + "typewrite": ("message", "interval"),
    _P + "press": ("keys", "presses", "interval"), _P + "hotkey": ("keys", "interval"),  # *keys
    _P + "keyDown": ("key",), _P + "keyUp": ("key",),
    "computer.wait": ("seconds",), "computer.terminate": ("status", "answer"),
    "computer.triple_click": _XY,
    "mobile.swipe": ("from_coord", "to_coord"), "mobile.home": (), "mobile.back": (),
    "mobile.wait": ("seconds",), "mobile.long_press": _XY, "mobile.open_app": ("app_name",),
    "mobile.terminate": ("status", "answer"),
}  # fmt: skip
_POINTERS = {
    _P + "doubleClick": act.DoubleClick, _P + "rightClick": act.RightClick,
    _P + "middleClick": act.MiddleClick, _P + "moveTo": act.Hover,
    "mobile.long_press": act.LongPress,
}  # fmt: skip
_BUTTONS = {"left": act.Click, "primary": act.Click, "right": act.RightClick,
            "secondary": act.RightClick, "middle": act.MiddleClick}  # fmt: skip


@dataclass(frozen=True)
class _Call:
    name: str
    args: dict[str, Any]
    star: tuple[Any, ...]  # hotkey's *keys
    fragment: str


# ---- the code: last fenced block, or bare code lines ------------------------------------


def _fenced_blocks(text: str) -> tuple[list[tuple[int, int]], bool]:
    """(start, end) of each closed ``` block's body, left to right, and whether a fence was
    left open (a truncated generation). Linear: str.find only."""
    spans: list[tuple[int, int]] = []
    i = 0
    while True:
        s = text.find(_FENCE, i)
        if s < 0:
            return spans, False
        body = s + len(_FENCE)
        nl = text.find("\n", body)
        if nl >= 0 and text[body:nl].strip().isalnum():  # the language tag (python, code)
            body = nl + 1
        e = text.find(_FENCE, body)
        if e < 0:
            return spans, True
        spans.append((body, e))
        i = e + len(_FENCE)


def _is_code_line(line: str) -> bool:
    """A call line of bare code: it starts at column 0 (an indented one is a loop's body)."""
    return any(line.startswith(m + ".") for m in _MODULES)


def code_of(text: str, ctx: Ctx) -> tuple[str, int]:
    """The code the model wrote and where it starts: the LAST closed fenced block (as
    OpenCUA's agent reads it), else the code lines from the first line that starts with
    ``pyautogui.`` / ``computer.`` / ``mobile.`` (Aguvis writes no fence)."""
    spans, open_fence = _fenced_blocks(text)
    if spans:
        s, e = spans[-1]
        return text[s:e], s
    if open_fence:
        raise ctx.fail(text[-200:], "the code block is not closed by ``` (truncated output?)")
    lines = text.splitlines(keepends=True)
    pos = 0
    for k, line in enumerate(lines):
        if _is_code_line(line):
            body = [ln for ln in lines[k:]]
            end = next((j for j, ln in enumerate(body) if ln.strip() and not _code_ok(ln)), None)
            return "".join(body if end is None else body[:end]), pos
        pos += len(line)
    raise ctx.fail(text, "no pyautogui code (no ``` block and no line starting pyautogui.)")


def _code_ok(line: str) -> bool:
    """A line that continues bare code: a call line, or one inside an open bracket."""
    return _is_code_line(line) or line[:1] in " \t)]"


# ---- code → calls (AST, literals only) ---------------------------------------------------


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _literal(node: ast.expr, code: str, ctx: Ctx, what: str) -> Any:
    """``ast.literal_eval`` of one argument node; anything that is not a literal (a name,
    a call, an attribute, a subscript, an f-string, a lambda…) is a ParseError naming it."""
    for sub in ast.walk(node):
        if not isinstance(
            sub,
            ast.Constant | ast.List | ast.Tuple | ast.UnaryOp | ast.USub | ast.UAdd | ast.Load,
        ):
            frag = ast.get_source_segment(code, node) or ""
            raise ctx.fail(frag[:200], f"{what} must be a literal, not {type(sub).__name__}")
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as err:
        frag = ast.get_source_segment(code, node) or ""
        raise ctx.fail(frag[:200], f"{what} is not a literal ({err})") from err


def calls_of(code: str, ctx: Ctx) -> list[_Call]:
    """Each statement of ``code`` as a whitelisted call with literal arguments."""
    if sum(1 for ln in code.splitlines() if ln.strip()) > MAX_STATEMENT_LINES:
        raise ctx.fail(code[:200], f"code block over {MAX_STATEMENT_LINES} lines")
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" and such: not ours
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(code.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise ctx.fail(code[:200], f"not valid Python call syntax ({err})") from err
    if len(tree.body) > MAX_ACTIONS:
        raise ctx.fail(code[:200], f"{len(tree.body)} statements, over {MAX_ACTIONS}")
    src = code.strip()
    out: list[_Call] = []
    for stmt in tree.body:
        frag = (ast.get_source_segment(src, stmt) or "")[:200]
        if not isinstance(stmt, ast.Expr) or not isinstance(stmt.value, ast.Call):
            raise ctx.fail(frag, f"only function calls are read, not {type(stmt).__name__}")
        call = stmt.value
        name = _dotted(call.func)
        if name not in SIGNATURES:
            kind = name or (ast.get_source_segment(src, call.func) or "")[:80]
            raise ctx.fail(frag, f"{kind} is not a whitelisted pyautogui/computer/mobile call")
        params = SIGNATURES[name]
        args: dict[str, Any] = {}
        star: list[Any] = []
        for k, node in enumerate(call.args):
            if isinstance(node, ast.Starred):
                raise ctx.fail(frag, "*args are not read")
            value = _literal(node, src, ctx, f"argument {k + 1} of {name}")
            if name == "pyautogui.hotkey":
                star.append(value)
            elif k < len(params):
                args[params[k]] = value
            else:
                raise ctx.fail(frag, f"{name} takes at most {len(params)} arguments")
        for kw in call.keywords:
            if kw.arg is None:
                raise ctx.fail(frag, "**kwargs are not read")
            if kw.arg not in params:
                raise ctx.fail(frag, f"{name} has no argument {kw.arg!r}")
            if kw.arg in args:
                raise ctx.fail(frag, f"{name} got {kw.arg!r} twice")
            args[kw.arg] = _literal(kw.value, src, ctx, f"{kw.arg}= of {name}")
        out.append(_Call(name, args, tuple(star), frag))
    return out


# ---- calls → actions -----------------------------------------------------------------------


def _num(v: Any, ctx: Ctx, frag: str, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ctx.fail(frag, f"{what} must be a number, got {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise ctx.fail(frag, f"{what} is not finite")
    return f


def _text(v: Any, ctx: Ctx, frag: str, what: str) -> str:
    if not isinstance(v, str):
        raise ctx.fail(frag, f"{what} must be a string, got {type(v).__name__}")
    return v


@dataclass
class _Reader:
    ctx: Ctx
    relative_floats: bool  # OpenCUA: both ≤ 1 with a decimal point → fraction of the input
    wait_seconds: float

    def point(self, x: Any, y: Any, frag: str) -> Point:
        if isinstance(x, list | tuple) and y is None and len(x) == 2:
            x, y = x
        fx, fy = _num(x, self.ctx, frag, "x"), _num(y, self.ctx, frag, "y")
        floats = isinstance(x, float) or isinstance(y, float)
        if self.relative_floats and floats and 0 <= fx <= 1 and 0 <= fy <= 1:
            rel = Ctx(self.ctx.fmt, self.ctx.frame.with_convention("norm1"))
            return rel.point(fx, fy, frag)
        return self.ctx.point(fx, fy, frag)

    def at(self, c: _Call, pointer: Point | None) -> Point:
        """The call's (x, y); pyautogui without them acts where the pointer is."""
        if c.args.get("x") is None and c.args.get("y") is None:
            if pointer is None:
                raise self.ctx.fail(c.fragment, f"{c.name} without x, y and no known pointer")
            return pointer
        return self.point(c.args.get("x"), c.args.get("y"), c.fragment)

    def actions(self, calls: list[_Call]) -> list[Action]:
        out: list[Action] = []
        pointer = self.ctx.frame.pointer
        held: list[str] = []  # keyDown … keyUp with nothing between: one key combination
        released = 0
        for c in calls:
            if c.name in ("pyautogui.keyDown", "pyautogui.keyUp"):
                key = _text(c.args.get("key"), self.ctx, c.fragment, "key")
                if c.name.endswith("keyDown") and not released:
                    held.append(key)
                elif c.name.endswith("keyUp") and key in held:
                    released += 1
                else:
                    raise self.ctx.fail(c.fragment, "a key held across other actions")
                if held and released == len(held):
                    out.append(act.Key(keys="+".join(held)))
                    held, released = [], 0
                continue
            if held:
                raise self.ctx.fail(c.fragment, f"{c.name} while holding {'+'.join(held)}")
            with guard(self.ctx, c.fragment):
                action = self.one(c, pointer, out)
            if action is None:
                continue
            out.append(action) if not isinstance(action, list) else out.extend(action)
            last = out[-1]
            pointer = getattr(last, "point", None) or getattr(last, "end", None) or pointer
        if held:
            raise self.ctx.fail(calls[-1].fragment, f"keyDown {'+'.join(held)} never released")
        return out

    def one(self, c: _Call, pointer: Point | None, done: list[Action]) -> Any:
        ctx, a, n = self.ctx, c.args, c.name
        if n in ("pyautogui.tripleClick", "computer.triple_click"):
            raise ctx.fail(c.fragment, f"{n}: a triple click has no action here")
        if n == "pyautogui.click":
            clicks = a.get("clicks", 1)
            button = str(a.get("button", "left")).lower()
            if button not in _BUTTONS or clicks not in (1, 2) or isinstance(clicks, bool):
                raise ctx.fail(c.fragment, f"click with clicks={clicks!r} button={button!r}")
            if clicks == 2 and button in ("left", "primary"):
                return act.DoubleClick(point=self.at(c, pointer))
            if clicks == 2:
                raise ctx.fail(c.fragment, f"a double {button} click has no action")
            return _BUTTONS[button](point=self.at(c, pointer))
        if n in _POINTERS:
            return _POINTERS[n](point=self.at(c, pointer))
        if n == "pyautogui.dragTo":
            if pointer is None:
                raise ctx.fail(c.fragment, "dragTo without a start (moveTo first)")
            if done and isinstance(done[-1], act.Hover):  # moveTo + dragTo: one drag
                done.pop()
            return act.Drag(start=pointer, end=self.at(c, None))  # duration: not an action field
        if n in ("pyautogui.scroll", "pyautogui.hscroll"):
            raw = a.get("clicks", a.get("page"))
            amount = _num(raw, ctx, c.fragment, "clicks")
            if amount == 0:
                raise ctx.fail(c.fragment, "scroll by 0")
            pos, neg = ("right", "left") if n.endswith("hscroll") else ("up", "down")
            where = None if a.get("x") is None else self.point(a["x"], a.get("y"), c.fragment)
            notches = 5 if "clicks" not in a else max(1, round(abs(amount)))
            way = pos if amount > 0 else neg
            return act.Scroll(direction=way, amount=notches, point=where)  # type: ignore[arg-type]
        if n in ("pyautogui.write", "pyautogui.typewrite"):
            text = _text(a.get("message"), ctx, c.fragment, "message")
            if not text:
                raise ctx.fail(c.fragment, "write of empty text")
            if text.endswith("\n"):  # pyautogui types the newline: Enter
                return act.Type(text=text[:-1], enter=True)
            return act.Type(text=text)
        if n == "pyautogui.press":
            keys = a.get("keys")
            names = list(keys) if isinstance(keys, list | tuple) else [keys]
            times = a.get("presses", 1)
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                raise ctx.fail(c.fragment, f"presses={times!r}")
            if times * len(names) > MAX_ACTIONS:
                raise ctx.fail(c.fragment, f"{times * len(names)} key presses, over {MAX_ACTIONS}")
            return [
                act.Key(keys=_text(k, ctx, c.fragment, "key")) for _ in range(times) for k in names
            ]
        if n == "pyautogui.hotkey":
            keys = list(c.star) or list(a.get("keys") or [])
            if not keys:
                raise ctx.fail(c.fragment, "hotkey without keys")
            return act.Key(keys="+".join(_text(k, ctx, c.fragment, "key") for k in keys))
        if n in ("computer.wait", "mobile.wait"):
            s = a.get("seconds")
            return act.Wait(
                seconds=self.wait_seconds if s is None else _num(s, ctx, c.fragment, "s")
            )
        if n in ("computer.terminate", "mobile.terminate"):
            status = _text(a.get("status"), ctx, c.fragment, "status").strip().lower()
            answer = a.get("answer")
            ans = None if answer is None else _text(answer, ctx, c.fragment, "answer")
            if status == "success":
                return act.Finish(status="success", answer=strip_or_none(ans))
            if status in ("fail", "failure"):
                return act.Finish(status="failure", answer=strip_or_none(ans))
            raise ctx.fail(c.fragment, f"terminate status {status!r} (success or failure)")
        if n == "mobile.swipe":
            start = self.point(a.get("from_coord"), None, c.fragment)
            return act.Swipe(start=start, end=self.point(a.get("to_coord"), None, c.fragment))
        if n == "mobile.home":
            return act.Home()
        if n == "mobile.back":
            return act.Back()
        if n == "mobile.open_app":
            name = _text(a.get("app_name"), ctx, c.fragment, "app_name").strip()
            return act.OpenApp(name=name)
        raise ctx.fail(c.fragment, f"{n} is not read")  # pragma: no cover (SIGNATURES)


def _thought(text: str, code_start: int) -> str | None:
    """OpenCUA's ``## Thought:`` section (else ``## Action:``, else the words before the
    code, less Aguvis' recipient tags)."""
    head = text[:code_start]
    fence = head.rfind(_FENCE)
    head = head[:fence] if fence >= 0 else head
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in head.splitlines():
        s = line.strip()
        if s.startswith("##"):
            title = s.lstrip("#").split(":")[0].strip().lower()
            current = sections.setdefault(title, [])
            rest = s.split(":", 1)[1] if ":" in s else ""
            current.append(rest)
        elif current is not None:
            current.append(line)
    for title in ("thought", "action"):
        if title in sections and "".join(sections[title]).strip():
            return "\n".join(sections[title]).strip()
    for tag in ("<|recipient|>", "<|im_start|>", "<|diff_marker|>"):
        head = head.replace(tag, " ")
    lines = [ln for ln in head.splitlines() if ln.strip() not in ("os", "all", "assistant")]
    return strip_or_none("\n".join(lines))


def _parser(relative_floats: bool, wait_seconds: float) -> Any:
    def parse(text: str, ctx: Ctx) -> Parsed:
        code, start = code_of(text, ctx)
        actions = _Reader(ctx, relative_floats, wait_seconds).actions(calls_of(code, ctx))
        return Parsed(_thought(text, start), actions)

    return parse


parse_opencua = _parser(True, OPENCUA_WAIT_SECONDS)
parse_aguvis = _parser(False, OPENCUA_WAIT_SECONDS)


# ---- early stop ------------------------------------------------------------------------------


def opencua_complete(text: str) -> bool:
    """The fenced code block is closed (a bare call line, as Aguvis, without a fence)."""
    if _FENCE in text:
        spans, _ = _fenced_blocks(text)
        return bool(spans)
    return aguvis_complete(text)


def aguvis_complete(text: str) -> bool:
    """A whole call line is written (a ``moveTo`` waits for a following ``dragTo``)."""
    pos = 0
    for line in text.splitlines(keepends=True):
        if _is_code_line(line):
            break
        pos += len(line)
    else:
        return False
    p = text.find("(", pos)
    end = None if p < 0 else balanced_end(text, p, "'\"")
    if end is None:
        return False
    if not text[pos:p].strip().endswith("moveTo"):
        return True
    rest = text[end:].lstrip()
    drag = "pyautogui.dragTo("
    if not rest or drag.startswith(rest):
        return False
    if not rest.startswith(drag):
        return True
    return balanced_end(rest, len(drag) - 1, "'\"") is not None


# ---- the dialects ----------------------------------------------------------------------------

_CLICKS = frozenset({"click", "double_click", "right_click", "middle_click"})
_PYAUTOGUI = _CLICKS | {"hover", "drag", "scroll", "type", "key"}
_MOBILE = frozenset({"swipe", "home", "back", "wait", "long_press", "open_app"})

DIALECTS: tuple[Dialect, ...] = (
    Dialect(
        "opencua",
        CoordSpec(
            space="abs", min_pixels=OPENCUA_MIN_PIXELS, max_pixels=OPENCUA_MAX_PIXELS
        ),
        parse_opencua, render_opencua, opencua_complete,
        "OpenCUA: ## Thought/## Action/## Code + fenced pyautogui (last block), px of "
        "smart_resize(28, 3136, 12845056)",
        lossy=frozenset({"clear", "seconds"}),
        offers=frozenset(_PYAUTOGUI | {"finish"}),
        not_offered=frozenset(_MOBILE | {"navigate", "call_user"}),
    ),
    Dialect(
        "aguvis",
        CoordSpec(space="norm1", min_pixels=AGUVIS_MIN_PIXELS, max_pixels=AGUVIS_MAX_PIXELS),
        parse_aguvis, render_aguvis, aguvis_complete,
        "Aguvis: pyautogui / mobile.* lines after <|recipient|>os, 0-1 of the screenshot",
        stop=("<|diff_marker|>",),
        lossy=frozenset({"clear", "duration"}),
        offers=frozenset(_PYAUTOGUI | _MOBILE),
        not_offered=frozenset({"finish", "navigate", "call_user"}),
    ),
)  # fmt: skip
