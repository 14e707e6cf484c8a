"""The grounder API: text query → boxes in screenshot px, usable by any backend.

A :class:`Grounder` answers every plausible match, best first; :func:`choose` turns that
list into one target or a typed outcome (:class:`TargetNotFoundError`,
:class:`AmbiguousTargetError`), so a caller never clicks a guess. Boxes are in screenshot
pixels (the ``screen`` convention of :mod:`agent.core.coords`): a grounder reads the native
screenshot and never resizes, so no coordinate conversion happens here.

The text matching below works on any list of :class:`TextLine` (OCR output, an
accessibility tree's names, ...). Tiers, strongest first:

1. ``line``: the whole line equals the query (case-, space- and edge-punctuation-insensitive:
   ``"Email:"`` matches ``email``, ``"Signin"`` matches ``sign in``);
2. ``span``: the query is a whole-word span inside a longer line (its box is estimated from
   the OCR word boxes, else proportionally from character positions);
3. ``fuzzy``: difflib ratio ≥ threshold against the best word window of a line (OCR slips).

Within the best tier, candidates whose scores are within ``margin`` are a tie; nearness to
``near`` (the previous action's point) breaks it, and an unbroken tie is an ambiguity.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from agent.core.errors import NativeAgentError

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in screenshot px
Point = tuple[float, float]
Role = Literal["any", "field"]
Kind = Literal["line", "span", "fuzzy", "placeholder", "field", "label"]

TIER = {"line": 2, "span": 1, "fuzzy": 0}
DEFAULT_FUZZY = 0.8
DEFAULT_MARGIN = 0.05
DEFAULT_NEAR_RATIO = 0.6


@dataclass(frozen=True)
class Candidate:
    """One place the query may refer to. ``score`` is in 0..1; ``exact`` says the text
    matched exactly (``line`` or ``span``), ``kind`` how; ``text`` is what was read there.
    For ``role='field'`` the box is the input field and ``source`` the label's text box."""

    box: Box
    text: str
    score: float
    exact: bool
    kind: Kind = "line"
    tier: int = 2
    source: Box | None = None

    @property
    def center(self) -> Point:
        x1, y1, x2, y2 = self.box
        return (x1 + x2) / 2.0, (y1 + y2) / 2.0

    def distance(self, point: Point | None) -> float:
        if point is None:
            return 0.0
        cx, cy = self.center
        return math.hypot(cx - point[0], cy - point[1])

    def describe(self) -> str:
        cx, cy = self.center
        return f'"{self.text}" at ({cx:.0f}, {cy:.0f})'


@runtime_checkable
class Grounder(Protocol):
    """Anything that finds on-screen targets by text in a native-resolution screenshot."""

    def ground(
        self,
        image: np.ndarray,
        query: str,
        *,
        near: Point | None = None,
        role: Role = "any",
    ) -> list[Candidate]:
        """Every plausible match, best first (empty when nothing matches)."""
        ...


class GroundingError(NativeAgentError):
    """A query could not be turned into exactly one target."""

    code = "grounding"

    def __init__(self, query: str, message: str) -> None:
        self.query = query
        super().__init__(message)


class TargetNotFoundError(GroundingError):
    """Nothing on the screen matches the query."""

    code = "target_not_found"

    def __init__(self, query: str) -> None:
        super().__init__(query, f'could not find "{query}"')


class AmbiguousTargetError(GroundingError):
    """Several equally good matches that nearness does not separate; never guess."""

    code = "ambiguous_target"

    def __init__(self, query: str, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        listed = "; ".join(c.describe() for c in candidates[:8])
        more = f" and {len(candidates) - 8} more" if len(candidates) > 8 else ""
        super().__init__(
            query, f'"{query}" is ambiguous: {len(candidates)} matches: {listed}{more}'
        )


# ---- the recognised text a matcher works on ---------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    box: Box


@dataclass(frozen=True)
class TextLine:
    """One recognised line (axis-aligned box) and, when the reader gives them, its words."""

    text: str
    box: Box
    score: float = 1.0
    words: tuple[Word, ...] = field(default=())

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


_EDGE_PUNCT = ".,:;*!?()[]{}<>\"'`«»“”‘’…|•·"
_TOKEN = re.compile(r"\S+")


def normalize(text: str) -> str:
    """Case- and space-normalised form used for exact comparison (tokens joined by one space)."""
    return " ".join(t for t, _, _ in _tokens(text))


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """(normalised token, start, end) in ``text``; edge punctuation is dropped so that
    ``"Email:"`` reads as ``email``; a token of punctuation only is kept as it is."""
    out: list[tuple[str, int, int]] = []
    for m in _TOKEN.finditer(text):
        raw = m.group()
        lead = len(raw) - len(raw.lstrip(_EDGE_PUNCT))
        core = raw.strip(_EDGE_PUNCT)
        start = m.start() + lead if core else m.start()
        core = core or raw
        out.append((unicodedata.normalize("NFKC", core).casefold(), start, start + len(core)))
    return out


@dataclass
class _Joined:
    """A line's tokens joined without spaces, with a map back to the original characters."""

    s: str
    orig: list[int]  # joined index → original character index
    starts: set[int]
    ends: set[int]
    bounds: list[tuple[int, int]]  # token (start, end) in joined indices


def _join(text: str) -> _Joined:
    s: list[Any] = []
    orig: list[Any] = []
    starts: set[Any] = set()
    ends: set[Any] = set()
    bounds: list[Any] = []
    for tok, start, end in _tokens(text):
        j0 = len(s)
        starts.add(j0)
        # NFKC/casefold may change a token's length; map proportionally inside the token
        for k, ch in enumerate(tok):
            s.append(ch)
            orig.append(start + min(int(k * (end - start) / max(len(tok), 1)), end - start - 1))
        ends.add(len(s))
        bounds.append((j0, len(s)))
    return _Joined("".join(s), orig, starts, ends, bounds)


def span_box(line: TextLine, start: int, end: int) -> Box:
    """Box of characters ``[start, end)`` of ``line.text``: from the reader's word boxes
    when they align with the text, else proportional to character positions."""
    n = len(line.text)
    if n == 0 or (start <= 0 and end >= n):
        return line.box
    x1, y1, x2, y2 = line.box
    pos = _char_positions(line)
    if pos is not None:
        left = pos[start][0]
        right = pos[end - 1][1]
    else:
        width = x2 - x1
        left, right = x1 + width * start / n, x1 + width * end / n
    return (max(x1, left), y1, min(x2, max(right, left + 1.0)), y2)


def _char_positions(line: TextLine) -> list[tuple[float, float]] | None:
    """x-extent of every character, from word boxes (spaces get the gap around them)."""
    if not line.words:
        return None
    chars = [i for i, ch in enumerate(line.text) if not ch.isspace()]
    word_chars = "".join(w.text for w in line.words).replace(" ", "")
    if word_chars != "".join(line.text[i] for i in chars):
        return None  # words do not align with the line text: fall back to proportions
    pos: list[tuple[float, float] | None] = [None] * len(line.text)
    k = 0
    for w in line.words:
        wtext = w.text.replace(" ", "")
        wx1, _, wx2, _ = w.box
        step = (wx2 - wx1) / max(len(wtext), 1)
        for j in range(len(wtext)):
            pos[chars[k]] = (wx1 + j * step, wx1 + (j + 1) * step)
            k += 1
    last = line.box[0]
    for i in range(len(pos)):  # spaces: from the previous character's end
        p = pos[i]
        if p is None:
            pos[i] = (last, last)
        else:
            last = p[1]
    return [p for p in pos if p is not None]


def match_lines(
    lines: list[TextLine] | tuple[TextLine, ...],
    query: str,
    *,
    fuzzy: float = DEFAULT_FUZZY,
) -> list[Candidate]:
    """All matches of ``query`` in ``lines`` (unsorted): exact line, exact word span, or
    the best fuzzy window per line when the line has no exact match."""
    q = "".join(t for t, _, _ in _tokens(query))
    if not q:
        return []
    out: list[Candidate] = []
    for line in lines:
        j = _join(line.text)
        if not j.s:
            continue
        exact_found = False
        pos = j.s.find(q)
        while pos >= 0:
            end = pos + len(q)
            if pos in j.starts and end in j.ends:
                exact_found = True
                o_start, o_end = j.orig[pos], j.orig[end - 1] + 1
                if pos == 0 and end == len(j.s):
                    out.append(Candidate(line.box, line.text, 1.0, True, "line", TIER["line"]))
                else:
                    score = 0.9 + 0.1 * len(q) / len(j.s)
                    box = span_box(line, o_start, o_end)
                    out.append(
                        Candidate(box, line.text[o_start:o_end], score, True, "span", TIER["span"])
                    )
            pos = j.s.find(q, pos + 1)
        if exact_found or fuzzy >= 1.0:
            continue
        best = _best_window(j, q)
        if best is not None and best[0] >= fuzzy:
            ratio, a, b = best
            o_start, o_end = j.orig[a], j.orig[b - 1] + 1
            out.append(
                Candidate(
                    span_box(line, o_start, o_end),
                    line.text[o_start:o_end],
                    round(0.9 * ratio, 4),
                    False,
                    "fuzzy",
                    TIER["fuzzy"],
                )
            )
    return out


def _best_window(j: _Joined, q: str) -> tuple[float, int, int] | None:
    """Best difflib ratio of ``q`` against contiguous token windows of similar length."""
    best: tuple[float, int, int] | None = None
    n = len(j.bounds)
    lo, hi = 0.5 * len(q), 1.6 * len(q) + 2
    sm = difflib.SequenceMatcher(autojunk=False)
    sm.set_seq2(q)
    for a in range(n):
        for b in range(a, n):
            s0, s1 = j.bounds[a][0], j.bounds[b][1]
            length = s1 - s0
            if length > hi:
                break
            if length < lo:
                continue
            sm.set_seq1(j.s[s0:s1])
            if sm.real_quick_ratio() < (best[0] if best else 0.0):
                continue
            r = sm.ratio()
            if best is None or r > best[0]:
                best = (r, s0, s1)
    return best


# ---- ranking and the single-target decision ---------------------------------------------


def rank(
    candidates: list[Candidate],
    *,
    near: Point | None = None,
    margin: float = DEFAULT_MARGIN,
) -> list[Candidate]:
    """Best first: tier, then score; candidates tied with the best (same tier, score within
    ``margin``) are ordered by distance to ``near``, then in reading order."""
    if not candidates:
        return []
    ordered = sorted(candidates, key=lambda c: (-c.tier, -c.score, c.box[1], c.box[0]))
    top = ordered[0]
    tied = [c for c in ordered if _tied(c, top, margin)]
    rest = [c for c in ordered if not _tied(c, top, margin)]
    if near is not None:
        tied.sort(key=lambda c: c.distance(near))
    return tied + rest


def _tied(c: Candidate, top: Candidate, margin: float) -> bool:
    return c.tier == top.tier and c.score >= top.score - margin


def choose(
    query: str,
    candidates: list[Candidate],
    *,
    near: Point | None = None,
    margin: float = DEFAULT_MARGIN,
    near_ratio: float = DEFAULT_NEAR_RATIO,
) -> Candidate:
    """The one target ``candidates`` (best first, as :func:`rank` orders them) point at.

    Raises TargetNotFoundError when empty and AmbiguousTargetError when the best ones tie
    and ``near`` does not make one clearly closer (closest ≤ ``near_ratio`` × runner-up).
    """
    if not candidates:
        raise TargetNotFoundError(query)
    top = candidates[0]
    tied = [c for c in candidates if _tied(c, top, margin)]
    tied = _dedupe(tied)
    if len(tied) == 1:
        return tied[0]
    if near is not None:
        by_dist = sorted(tied, key=lambda c: c.distance(near))
        if by_dist[0].distance(near) <= near_ratio * by_dist[1].distance(near):
            return by_dist[0]
    tied.sort(key=lambda c: (c.box[1], c.box[0]))
    raise AmbiguousTargetError(query, tied)


def _dedupe(cands: list[Candidate]) -> list[Candidate]:
    """Drop candidates that point at the same thing as an earlier one: nearly the same box,
    or one box holding the other's centre (a field found from its label and from its
    placeholder)."""
    out: list[Candidate] = []
    for c in cands:
        if not any(same_target(c, o) for o in out):
            out.append(c)
    return out


def same_target(a: Candidate, b: Candidate) -> bool:
    return iou(a.box, b.box) > 0.7 or _inside(a.center, b.box) or _inside(b.center, a.box)


def _inside(p: Point, box: Box) -> bool:
    return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
