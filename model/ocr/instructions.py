"""The step-level instruction language of the OCR model.

Steps are separated by ``;`` or newlines (not inside double quotes). Verbs are
case-insensitive; quotes around a target are optional when the step is unambiguous::

    click "Sign in"            click Sign in           tap "OK"
    double-click "report.txt"  right-click "Item 3"    hover "Menu"
    click "Edit" #2            (the 2nd match in reading order, when "Edit" is ambiguous)
    type "alice@example.com" into "Email"             (clears the field first)
    type "hello" into Search and press enter
    type "hello"               (into the focused field, nothing cleared)
    press enter                press ctrl+a
    scroll down                scroll up 3
    wait                       wait 2
    go to http://127.0.0.1:8000/login
    finish                     done                    finish "the answer"

Text outside the quotes of a quoted target is ignored (``click the "Save" button``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agent.core.actions import normalize_keys
from agent.core.errors import ConfigError

Verb = Literal[
    "click", "double_click", "right_click", "hover", "type", "key", "scroll", "wait",
    "navigate", "finish",
]  # fmt: skip
POINTER_VERBS = frozenset({"click", "double_click", "right_click", "hover"})
GROUNDED_VERBS = POINTER_VERBS | {"type"}

_QUOTES = {'"': '"', "“": "”", "”": "”"}
_SEP = re.compile(r"[;\n]")
_POINTER = [
    (re.compile(r"^(?:double[- ]?click|dbl-?click)\s+(?:on\s+)?(.+)$", re.I), "double_click"),
    (re.compile(r"^right[- ]?click\s+(?:on\s+)?(.+)$", re.I), "right_click"),
    (re.compile(r"^(?:click|tap)\s+(?:on\s+)?(.+)$", re.I), "click"),
    (re.compile(r"^hover\s+(?:over\s+|on\s+)?(.+)$", re.I), "hover"),
]
_TYPE = re.compile(r"^type\s+(.+)$", re.I | re.S)
_ENTER = re.compile(r"\s+(?:and|then)\s+(?:press\s+)?(?:enter|return)\s*$", re.I)
_PRESS = re.compile(r"^press\s+(.+)$", re.I)
_SCROLL = re.compile(r"^scroll(?:\s+(up|down|left|right))?(?:\s+(\d+))?$", re.I)
_WAIT = re.compile(r"^wait(?:\s+(\d+(?:\.\d+)?)\s*(?:s|secs?|seconds?)?)?$", re.I)
_NAV = re.compile(r"^(?:go\s+to|navigate(?:\s+to)?|open\s+url)\s+(\S+)$", re.I)
_FINISH = re.compile(r"^(?:finish|done|stop)(?:\s+(.+))?$", re.I)
_NTH = re.compile(r"\s*#\s*(\d+)\s*$")


@dataclass(frozen=True)
class Step:
    """One parsed instruction; ``source`` is the text it came from."""

    verb: Verb
    source: str
    target: str | None = None
    nth: int | None = None
    text: str | None = None
    enter: bool = False
    keys: str | None = None
    direction: Literal["up", "down", "left", "right"] = "down"
    amount: int | None = None
    seconds: float | None = None
    url: str | None = None
    answer: str | None = None

    @property
    def grounded(self) -> bool:
        """Does this step need a target on the screen?"""
        return self.verb in POINTER_VERBS or (self.verb == "type" and self.target is not None)


def split_steps(task: str) -> list[str]:
    """Split on ``;`` and newlines outside double quotes; blank pieces are dropped."""
    parts: list[str] = []
    buf: list[str] = []
    close: str | None = None
    for ch in task:
        if close is None and ch in _QUOTES:
            close = _QUOTES[ch]
        elif close is not None and ch == close:
            close = None
        elif close is None and _SEP.match(ch):
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _leading_quoted(s: str) -> tuple[str, str] | None:
    """``'"a b" rest'`` → ``("a b", "rest")``; None when ``s`` does not start with a quote."""
    s = s.lstrip()
    if not s:
        return None
    if s[0] in _QUOTES:
        end = s.find(_QUOTES[s[0]], 1)
    elif s[0] == "'":
        end = s.find("'", 1)
    else:
        return None
    if end < 0:
        raise ConfigError(f"unclosed quote in {s!r}")
    return s[1:end], s[end + 1 :].strip()


def parse_target(s: str) -> tuple[str, int | None]:
    """A step's target: the first quoted string if any (words around it ignored), else the
    whole text; an optional trailing ``#N`` picks the N-th match."""
    nth = None
    m = _NTH.search(s)
    if m:
        nth, s = int(m.group(1)), s[: m.start()]
        if nth < 1:
            raise ConfigError(f"#{nth}: matches are numbered from 1")
    s = s.strip()
    for i, ch in enumerate(s):
        if ch in _QUOTES or (ch == "'" and (i == 0 or s[i - 1] == " ")):
            q = _leading_quoted(s[i:])
            if q is not None and q[0].strip():
                return q[0].strip(), nth
            break
    if not s:
        raise ConfigError("missing target")
    return s, nth


def parse_step(source: str) -> Step:
    """One instruction → :class:`Step` (ConfigError names what is wrong)."""
    s = source.strip()
    for rx, verb in _POINTER:
        m = rx.match(s)
        if m:
            target, nth = parse_target(m.group(1))
            return Step(verb, source, target=target, nth=nth)  # type: ignore[arg-type]
    m = _TYPE.match(s)
    if m:
        return _parse_type(source, m.group(1))
    m = _PRESS.match(s)
    if m:
        try:
            keys = normalize_keys(m.group(1).strip().strip("\"'"))
        except ValueError as err:
            raise ConfigError(f"bad key in {source!r}: {err}") from err
        return Step("key", source, keys=keys)
    m = _SCROLL.match(s)
    if m:
        direction = (m.group(1) or "down").lower()
        amount = int(m.group(2)) if m.group(2) else None
        if amount is not None and not 1 <= amount <= 100:
            raise ConfigError(f"scroll amount must be 1..100 in {source!r}")
        return Step("scroll", source, direction=direction, amount=amount)  # type: ignore[arg-type]
    m = _WAIT.match(s)
    if m:
        seconds = float(m.group(1)) if m.group(1) else 1.0
        if seconds > 60:
            raise ConfigError(f"wait at most 60 s in {source!r}")
        return Step("wait", source, seconds=seconds)
    m = _NAV.match(s)
    if m:
        return Step("navigate", source, url=m.group(1))
    m = _FINISH.match(s)
    if m:
        answer = m.group(1)
        if answer:
            q = _leading_quoted(answer)
            answer = q[0] if q else answer.strip()
        return Step("finish", source, answer=answer or None)
    raise ConfigError(
        f"cannot read the instruction {source!r}: expected click/double-click/right-click/"
        f'hover "X", type "Y" [into "X"] [and press enter], press KEY, scroll up|down [N], '
        f"wait [N], go to URL or finish"
    )


def _parse_type(source: str, rest: str) -> Step:
    rest = rest.strip()
    enter = False
    m = _ENTER.search(rest)
    if m and _outside_quotes(rest, m.start()):
        enter, rest = True, rest[: m.start()].strip()
    q = _leading_quoted(rest)
    if q is not None:
        text, after = q
        if not after:
            return Step("type", source, text=text, enter=enter)
        m2 = re.match(r"^(?:into|in)\s+(.+)$", after, re.I | re.S)
        if not m2:
            raise ConfigError(f"expected 'into \"X\"' after the text in {source!r}")
        target, nth = parse_target(m2.group(1))
        return Step("type", source, target=target, nth=nth, text=text, enter=enter)
    pieces = re.split(r"\s+into\s+", rest, flags=re.I)
    if len(pieces) == 1:
        return Step("type", source, text=rest, enter=enter)
    if len(pieces) > 2:
        raise ConfigError(f'"into" appears more than once in {source!r}: quote the text')
    target, nth = parse_target(pieces[1])
    return Step("type", source, target=target, nth=nth, text=pieces[0], enter=enter)


def _outside_quotes(s: str, pos: int) -> bool:
    close = None
    for ch in s[:pos]:
        if close is None and ch in _QUOTES:
            close = _QUOTES[ch]
        elif close is not None and ch == close:
            close = None
    return close is None


def parse_instructions(task: str) -> list[Step]:
    """The whole task text → steps (ConfigError on the first unreadable one)."""
    steps = [parse_step(p) for p in split_steps(task)]
    if not steps:
        raise ConfigError("the OCR model needs instructions, e.g. 'click \"Sign in\"'")
    return steps
