"""When has a model written its first complete action? Per output format, on decoded text.

Generation stops there (the agent executes one action per screenshot), which saves decode
time and keeps a rambling model from running to ``max_new_tokens``. The checks are linear
scans; the end-of-turn token still stops everything else.
"""

from __future__ import annotations

import re

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


def _json_complete(text: str) -> bool:
    starts = [p for p in (text.find("{"), text.find("[")) if p >= 0]
    return bool(starts) and balanced_end(text, min(starts), '"') is not None


def _uitars_complete(text: str) -> bool:
    m = _ACTION.search(text)
    if m is None:
        return False
    p = text.find("(", m.end())
    return p >= 0 and balanced_end(text, p, "'\"") is not None


def _grounding_complete(text: str, box_end: str) -> bool:
    first = text.find(box_end)
    if first < 0:
        return False
    if _DRAG.search(text[:first]):  # a drag names two boxes
        return text.find(box_end, first + len(box_end)) >= 0
    return True


def action_complete(format: str, text: str) -> bool:
    """True once ``text`` holds the first complete action of ``format``."""
    if format in ("qwen2.5-vl", "qwen3-vl", "qwen3-vl-mobile"):
        return "</tool_call>" in text[text.rfind("</think>") + 1 :]  # not inside a thought
    if format in ("ui-tars", "ui-tars-1.5"):
        return _uitars_complete(text)
    if format == "qwen2-vl":
        return _grounding_complete(text, "<|box_end|>")
    if format == "qwen-vl":
        return _grounding_complete(text, "</box>")
    if format == "json":
        return _json_complete(text)
    return False


def cut_at_stop(text: str, stops: list[str], include: bool) -> tuple[str, bool]:
    """OpenAI ``stop`` semantics: cut at the earliest stop string (kept when ``include``)."""
    best: tuple[int, str] | None = None
    for s in stops:
        if s and (p := text.find(s)) >= 0 and (best is None or p < best[0]):
            best = (p, s)
    if best is None:
        return text, False
    p, s = best
    return text[: p + len(s)] if include else text[:p], True
