"""Stopping generation: at a dialect's first complete action, or at a stop string.

Generation stops there (the agent executes one action per screenshot), which saves decode
time and keeps a rambling model from running to ``max_new_tokens``. The checks are linear
scans; the end-of-turn token still stops everything else.
"""

from __future__ import annotations

from model.parsers import FORMATS


def action_complete(format: str, text: str) -> bool:
    """True once ``text`` holds the first complete action of ``format`` (the dialect's own
    check: :attr:`model.parsers.Dialect.complete`)."""
    dialect = FORMATS.get(format)
    return dialect is not None and dialect.complete(text)


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
