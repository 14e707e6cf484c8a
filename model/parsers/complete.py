"""When has a model written its first complete action? One check per grammar, on decoded
text, held by each :class:`~model.parsers.common.Dialect` as its ``complete``.

Generation stops there (the agent executes one action per screenshot), which saves decode time
and keeps a rambling model from running to ``max_new_tokens``. The checks are linear scans.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_ACTION = re.compile(r"\bAction\s*:")
_DRAG = re.compile(r"\bdrag\b", re.IGNORECASE)
_OPEN = "([{"
_CLOSE = {")": "(", "]": "[", "}": "{"}


def balanced_end(text: str, start: int, quotes: str) -> int | None:
    """Index just past the bracket group that opens at/after ``start`` (strings quoted with
    any of ``quotes`` and backslash escapes skipped), or None while it is still open."""
    depth = 0
    quote: str | None = None
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if quote is not None:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in quotes:
            quote = c
        elif c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth == 0:
                return i + 1
            if depth < 0:
                return i + 1  # stray closer: the structure is over (the parser will judge)
        i += 1
    return None


def json_complete(text: str) -> bool:
    starts = [p for p in (text.find("{"), text.find("[")) if p >= 0]
    return bool(starts) and balanced_end(text, min(starts), '"') is not None


def uitars_complete(text: str) -> bool:
    m = _ACTION.search(text)
    if m is None:
        return False
    p = text.find("(", m.end())
    return p >= 0 and balanced_end(text, p, "'\"") is not None


def grounding_complete(text: str, box_end: str) -> bool:
    first = text.find(box_end)
    if first < 0:
        return False
    if _DRAG.search(text[:first]):  # a drag names two boxes
        return text.find(box_end, first + len(box_end)) >= 0
    return True


def grounding_completer(box_end: str) -> Callable[[str], bool]:
    """A grounding line ends with its box (a drag: its second box)."""
    return lambda text: grounding_complete(text, box_end)


def tool_call_complete(text: str) -> bool:
    """A ``</tool_call>`` after any ``<think>`` block (not one quoted inside a thought)."""
    return "</tool_call>" in text[text.rfind("</think>") + 1 :]


def closing_tag(tag: str) -> Callable[[str], bool]:
    """Complete once ``tag`` appears after any ``<think>`` block (e.g. ``</action>``)."""
    return lambda text: tag in text[text.rfind("</think>") + 1 :]
