"""Shared pieces of the output parsers: the result type, coordinate conversion with the
on-screen check, number/point/box extraction, tag scanning and JSON extraction.

Every helper here is linear in the input (no nested regex quantifiers, bounded retries), so a
hostile model output cannot stall the agent loop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from agent.core.actions import Action, Box, Point
from agent.core.coords import (
    Convention,
    CoordSpec,
    Frame,
    Mode,
    box_center,
    check_on_screen,
    model_box_to_screen,
    model_to_screen,
)
from agent.core.errors import CoordinateError, ParseError

MAX_TEXT_CHARS = 100_000  # longer outputs are runaway generations, not actions
MAX_ACTIONS = 50  # one model turn never legitimately holds more
MAX_JSON_TRIES = 25  # candidate '{' / '[' positions tried when JSON sits inside prose
_REASON_CHARS = 300

# end-of-turn tokens some backends leave in the decoded text
END_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "</s>",
    "<|diff_marker|>",
)  # Aguvis ends with it


@dataclass
class Parsed:
    """One model turn: the free-text reasoning (if any) and the actions, in order."""

    thought: str | None
    actions: list[Action] = field(default_factory=list)


@dataclass(frozen=True)
class Dialect:
    """One output grammar, everything about it in one object: how its text is parsed and
    rendered back (export, calibration), when a reply holds its first complete action
    (early stop), the stop strings a server is sent, the constrained-decoding grammar (or
    ``None``: it has none, and asking for one is a ConfigError), and its coordinate spec
    (:class:`~agent.core.coords.CoordSpec`: space, divisor, stated range, reference size).
    The registry is :data:`model.parsers.FORMATS`; the docs list the files a new one needs."""

    name: str
    coords: CoordSpec
    parse: Callable[[str, Ctx], Parsed]
    render: Callable[..., str]  # (actions, frame, RenderOpts) -> text: model.parsers.render
    complete: Callable[[str], bool]  # the first complete action is written
    description: str = ""
    stop: tuple[str, ...] = ()  # stop strings sent to a server (kept in the output)
    grammar: Callable[[Frame, bool], dict[str, Any]] | None = None  # (frame, mobile) → schema
    # the schema of its answer to a grounding request (action space ``grounding``), if any
    grounding_grammar: Callable[[Frame], dict[str, Any]] | None = None
    lossy: frozenset[str] = frozenset()  # action fields it cannot carry (not round-tripped)
    whole_type: bool = False  # writes a point-typed `type` as one action, not click + type
    # The action types its prompts offer (in some action space) and those they declare they
    # do not: together the whole action union (tests/agent/core/test_action_union.py).
    offers: frozenset[str] = frozenset()
    not_offered: frozenset[str] = frozenset()

    @property
    def convention(self) -> Convention:
        return self.coords.space

    @property
    def mode(self) -> Mode:
        return self.coords.mode

    @property
    def factor(self) -> int:
        """Vision grid (patch × merge) of the models that speak it: 28 or 32."""
        return self.coords.factor

    @property
    def min_pixels(self) -> int | None:
        """smart_resize floor in resize mode (None: 2×2 grid cells)."""
        return self.coords.min_pixels


FormatSpec = Dialect  # the older name


def one_line(msg: object, limit: int = _REASON_CHARS) -> str:
    """Collapse whitespace so CLI error messages stay on one line."""
    s = " ".join(str(msg).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


class Ctx:
    """What a format parser needs besides the text: its name (for errors) and the Frame in
    the format's convention (for coordinates). All coordinate math goes through coords."""

    def __init__(self, fmt: str, frame: Frame) -> None:
        self.fmt = fmt
        self.frame = frame

    def fail(self, fragment: str, reason: str) -> ParseError:
        return ParseError(self.fmt, fragment, one_line(reason))

    def point(self, x: float, y: float, fragment: str) -> Point:
        """Model-frame point → screenshot px, refusing non-finite or far-off-screen points."""
        try:
            sx, sy = model_to_screen(self.frame, x, y)
            check_on_screen(self.frame, sx, sy)
        except CoordinateError as err:
            raise self.fail(fragment, f"bad coordinates: {err}") from err
        return sx, sy

    def box(self, x1: float, y1: float, x2: float, y2: float, fragment: str) -> Box:
        """Model-frame box → screenshot px (corners ordered), both corners on screen."""
        try:
            b = model_box_to_screen(self.frame, x1, y1, x2, y2)
            check_on_screen(self.frame, b[0], b[1])
            check_on_screen(self.frame, b[2], b[3])
        except CoordinateError as err:
            raise self.fail(fragment, f"bad box: {err}") from err
        return b

    def locate(self, nums: list[float], fragment: str) -> tuple[Point, Box | None]:
        """Two numbers are a point; four are a box whose centre is the point."""
        if len(nums) == 2:
            return self.point(nums[0], nums[1], fragment), None
        if len(nums) == 4:
            b = self.box(nums[0], nums[1], nums[2], nums[3], fragment)
            return box_center(*b), b
        raise self.fail(fragment, f"expected 2 (point) or 4 (box) numbers, got {len(nums)}")

    def coords(self, raw: str) -> tuple[Point, Box | None]:
        """Parse a coordinate string like ``(x,y)``, ``(x1,y1),(x2,y2)``, ``<point>x y</point>``
        or ``<|box_start|>(x1,y1)<|box_end|>`` into screenshot px."""
        return self.locate(numbers(raw, self), raw)


# Errors from deep inside (schema validation, bad types, overflow, runaway recursion) that
# must reach the caller as one ParseError, never raw.
INTERNAL_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # includes pydantic.ValidationError and json.JSONDecodeError
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,  # OverflowError, ZeroDivisionError
    RecursionError,
)


@contextmanager
def guard(ctx: Ctx, fragment: str) -> Iterator[None]:
    """Turn any internal error raised while building one action into a ParseError that
    names the fragment it came from (chained with ``from``)."""
    try:
        yield
    except INTERNAL_ERRORS as err:
        raise ctx.fail(fragment, f"invalid action ({type(err).__name__}: {err})") from err


# ---- numbers ------------------------------------------------------------------------------

NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_SEPARATORS = re.compile(r"[\s,()\[\]]+")
COORD_TAGS = (
    "<|box_start|>",
    "<|box_end|>",
    "<point>",
    "</point>",
    "<bbox>",
    "</bbox>",
    "<box>",
    "</box>",
)


def numbers(raw: str, ctx: Ctx) -> list[float]:
    """Every number of a coordinate string; anything else in it is an error, not noise."""
    inner = raw
    for tag in COORD_TAGS:
        inner = inner.replace(tag, " ")
    out: list[float] = []
    for tok in _SEPARATORS.split(inner):
        if not tok:
            continue
        if not NUMBER.fullmatch(tok):
            raise ctx.fail(raw, f"{tok[:40]!r} is not a number")
        out.append(float(tok))
        if len(out) > 4:
            raise ctx.fail(raw, "too many numbers for a point or a box")
    return out


def number(value: Any, ctx: Ctx, what: str) -> float:
    """A JSON scalar that must be a real number (numeric strings accepted, bools not)."""
    if isinstance(value, bool) or value is None:
        raise ctx.fail(repr(value), f"{what} must be a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        return float(value.strip())
    raise ctx.fail(repr(value)[:200], f"{what} must be a number")


def json_coords(value: Any, ctx: Ctx, what: str) -> list[float]:
    """A JSON coordinate: ``[x, y]`` / ``[x1, y1, x2, y2]`` or a string like ``"(x, y)"``."""
    if isinstance(value, str):
        return numbers(value, ctx)
    if isinstance(value, list | tuple) and len(value) in (2, 4):
        return [number(v, ctx, what) for v in value]
    raise ctx.fail(repr(value)[:200], f"{what} must be [x, y] or [x1, y1, x2, y2]")


# ---- text scanning -----------------------------------------------------------------------


def clean(text: str) -> str:
    """Drop end-of-turn tokens backends sometimes leave in decoded text."""
    for tok in END_TOKENS:
        if tok in text:
            text = text.replace(tok, "")
    return text


@lru_cache(maxsize=16)
def _literal_alternation(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


def tags(text: str, names: tuple[str, ...]) -> Iterator[tuple[str, int, int]]:
    """Yield (tag, start, end) for every literal tag occurrence, left to right (linear)."""
    for m in _literal_alternation(names).finditer(text):
        yield m.group(0), m.start(), m.end()


def tagged(text: str, open_tag: str, close_tag: str) -> list[tuple[str, int, int]]:
    """Contents of ``open…close`` blocks as (content, start, end); an unclosed last block
    runs to the end of the text (truncated generations)."""
    out: list[tuple[str, int, int]] = []
    i = 0
    while True:
        s = text.find(open_tag, i)
        if s < 0:
            return out
        body = s + len(open_tag)
        e = text.find(close_tag, body)
        if e < 0:  # pragma: no mutate (e >= body > 0: "<= 0", "< 1" are the same test)
            out.append((text[body:], s, len(text)))
            return out
        out.append((text[body:e], s, e + len(close_tag)))
        i = e + len(close_tag)


def strip_or_none(s: str | None) -> str | None:
    if s is None:
        return None
    s = s.strip()
    return s or None


# ---- JSON --------------------------------------------------------------------------------

_DECODER = json.JSONDecoder()


def _fenced(text: str) -> tuple[str, int] | None:
    """Body of the first ```json (or bare ```) fence and its offset in ``text``."""
    s = text.find("```")
    if s < 0:  # pragma: no mutate (s == 0: the fence is the first JSON anyway)
        return None
    body = s + 3
    nl = text.find("\n", body)
    if nl >= 0 and (not text[body:nl].strip() or text[body:nl].strip().isalnum()):
        body = nl + 1  # skip the language tag line
    e = text.find("```", body)
    return (text[body:e] if e >= 0 else text[body:]), body


def find_json(text: str) -> tuple[Any, int, int] | None:
    """The first JSON object, or list of objects, in ``text`` (a fence is preferred), with
    its span; None if there is none. Bounded: at most MAX_JSON_TRIES decode attempts."""
    fenced = _fenced(text)
    sources = [fenced] if fenced is not None else []
    sources.append((text, 0))
    for src, offset in sources:
        tries = 0
        i = 0
        while tries < MAX_JSON_TRIES:
            a, b = src.find("{", i), src.find("[", i)
            cands = [p for p in (a, b) if p >= 0]
            if not cands:
                break
            pos = min(cands)
            tries += 1
            try:
                value, end = _DECODER.raw_decode(src, pos)
            except json.JSONDecodeError as err:
                # resume after the broken part: a fragment inside a broken list or wrapper
                # must not pass for the whole answer
                i = max(err.pos, pos + 1)
                continue
            except (ValueError, RecursionError):
                i = pos + 1
                continue
            if isinstance(value, dict) or (
                isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
            ):
                return value, offset + pos, offset + end
            i = end  # valid JSON but not actions (e.g. "[1]" in prose): skip all of it
    return None


def loads(raw: str, ctx: Ctx) -> Any:
    """``json.loads`` whose every failure is a ParseError naming the fragment."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise ctx.fail(raw, f"invalid JSON: {err}") from err
