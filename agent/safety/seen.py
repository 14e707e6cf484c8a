"""The gate's third reading: the target as a person sees it, read from the pixels of the
screenshot the model acted on (OCR), beside the page-JS and Chromium readings.

The DOM can say one thing while the screen shows another: a right-to-left override or
``<bdo dir=rtl>`` draws ``eteleD`` as "Delete", CSS ``order`` puts spans back in another
order, small-capital or look-alike letters the normal form does not map, a word drawn in an
image, an SVG file or on a ``<canvas>``, an ``aria-label`` that names a visible "Delete"
"Cancel". The pixels are what the model (and a person) read, so they are read too:

* the region: the element's box (``info["box"]``, screenshot px, from the env's
  ``element_at``) within :data:`WINDOW` of the point and never less than :data:`NEAR` around
  it (a box the page shrinks still shows what is at the point); with no element, or a box
  that does not hold the point (a page can patch what the JS reading measures), the
  pointer's neighbourhood;
* the reading: OCR of that region (padded by :data:`PAD`) — in a box, every line centred
  inside it; around the pointer, the lines under it, else the nearest within ``radius``;
* its own OCR engine (RapidOCR's whole-image pipeline, ``det_tile = 0``): the screen engine's
  settings enlarge any image whose short side is under 736 px for detection (a 48-px-high
  crop would be detected at 15× its pixels), and its tiled detector loses lines on a crop
  padded to that size; :data:`DET_SIDE` keeps the crop near its own size.

The text read joins the target's text (matched in the same normal form,
:mod:`agent.safety.names`) and is recorded as ``Target.seen``. A missing OCR engine (the
``ocr`` extra) is recorded as the target's ``error`` and the DOM readings decide; an OCR
failure raises (the reader makes the target unreadable: fail closed).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import numpy as np

from agent.core.errors import ConfigError
from agent.core.observation import Observation
from agent.safety.names import normalise_name

if TYPE_CHECKING:
    from model.ocr import OcrEngine


class _Reading(Protocol):
    """What is added to (agent.safety.targets.Target, a frozen dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def text(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def seen(self) -> str | None: ...


Target = TypeVar("Target", bound=_Reading)

PAD = 6  # screenshot px of context read around the region
WINDOW = (200.0, 40.0)  # half-width, half-height of the largest region read around the point
NEAR = (60.0, 16.0)  # half-size of the smallest
MAX_SEEN = 120  # characters of the pixel reading kept
MAX_TEXT = 300  # as Target.text
DET_SIDE = 64  # the detector enlarges a crop whose short side is under this (px)
Region = tuple[float, float, float, float]


def region(
    point: tuple[float, float], box: Any, size: tuple[int, int]
) -> tuple[Region, str] | None:
    """(region in screenshot px, "box" or "pointer") read for a press at ``point`` on a
    ``size`` (w, h) screenshot; None when it lies outside the image."""
    x, y = point
    win = (x - WINDOW[0], y - WINDOW[1], x + WINDOW[0], y + WINDOW[1])
    kind, r = "pointer", win
    b = _box(box)
    if b is not None and b[0] <= x <= b[2] and b[1] <= y <= b[3]:
        near = (x - NEAR[0], y - NEAR[1], x + NEAR[0], y + NEAR[1])
        inner = (max(b[0], win[0]), max(b[1], win[1]), min(b[2], win[2]), min(b[3], win[3]))
        r = (
            min(inner[0], near[0]),
            min(inner[1], near[1]),
            max(inner[2], near[2]),
            max(inner[3], near[3]),
        )
        kind = "box"
    w, h = size
    r = (max(r[0], 0.0), max(r[1], 0.0), min(r[2], float(w)), min(r[3], float(h)))
    if r[2] - r[0] < 1 or r[3] - r[1] < 1:
        return None
    return r, kind


def seen_text(
    ocr: OcrEngine, obs: Observation, point: tuple[float, float], box: Any, radius: float
) -> str:
    """What the pixels show at ``point`` (inside ``box`` when it holds the point)."""
    arr = obs.array
    h, w = arr.shape[:2]
    found = region(point, box, (w, h))
    if found is None:
        return ""
    (rx0, ry0, rx1, ry1), kind = found
    x0, y0 = max(0, math.floor(rx0) - PAD), max(0, math.floor(ry0) - PAD)
    x1, y1 = min(w, math.ceil(rx1) + PAD), min(h, math.ceil(ry1) + PAD)
    crop = arr[y0:y1, x0:x1, :3]
    lines = ocr.read(np.ascontiguousarray(crop)).lines
    read: list[tuple[float, str]] = []
    for ln in lines:
        bx0, by0, bx1, by1 = ln.box[0] + x0, ln.box[1] + y0, ln.box[2] + x0, ln.box[3] + y0
        if kind == "box":
            cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
            if rx0 <= cx <= rx1 and ry0 <= cy <= ry1:
                read.append((0.0, ln.text))
            continue
        d = math.hypot(
            max(bx0 - point[0], 0.0, point[0] - bx1), max(by0 - point[1], 0.0, point[1] - by1)
        )
        if d <= radius:
            read.append((d, ln.text))
    if kind == "pointer" and read:
        nearest = min(d for d, _ in read)  # the lines under the pointer, else the nearest
        read = [(d, t) for d, t in read if d == nearest]
    return " ".join(t.strip() for _, t in read if t.strip())[:MAX_SEEN]


class PixelReader:
    """The pixel reading of one :class:`~agent.safety.targets.TargetReader`: its OCR engine
    (by default the process's shared one) is loaded on the first read, so a run whose rules
    never need a target never loads it."""

    def __init__(self, ocr: OcrEngine | None = None) -> None:
        self._ocr = ocr

    @property
    def loaded(self) -> bool:
        return self._ocr is not None

    def engine(self) -> OcrEngine:
        if self._ocr is None:
            self._ocr = _shared_engine()
        return self._ocr

    def add(
        self,
        target: Target,
        obs: Observation,
        point: tuple[float, float],
        info: dict[str, Any] | None,
        radius: float,
    ) -> Target:
        """``target`` with what the pixels show joined to its text and recorded as ``seen``."""
        return with_pixels(target, self.engine, obs, point, info, radius)


def with_pixels(
    target: Target,
    ocr: Callable[[], OcrEngine],
    obs: Observation,
    point: tuple[float, float],
    info: dict[str, Any] | None,
    radius: float,
) -> Target:
    """``target`` with the pixel reading joined to its text and recorded as ``seen``."""
    try:
        engine = ocr()
    except ConfigError as err:  # no OCR installed: the DOM readings decide, and it says so
        why = f"pixel reading unavailable: {err}"[:MAX_TEXT]
        return replace(target, error=f"{target.error}; {why}" if target.error else why)
    seen = seen_text(engine, obs, point, info.get("box") if info else None, radius)
    text = target.text
    if seen and not _has_words(text, seen):  # a word of its own ("Pay" inside "xPay nowx" is
        text = f"{text[: MAX_TEXT - len(seen) - 1]} {seen}".strip()  # no word); DOM text cut
    return replace(target, text=text, seen=seen)


def _has_words(text: str, seen: str) -> bool:
    """Whether ``text`` already holds ``seen`` as whole words (in the names' normal form):
    then the pixels agree with the DOM and nothing is added."""
    have, want = normalise_name(text).split(), normalise_name(seen).split()
    n = len(want)
    return n > 0 and any(have[i : i + n] == want for i in range(len(have) - n + 1))


@functools.cache
def _shared_engine() -> OcrEngine:
    """One engine per process for every reader (a gate per check in a test, bench workers):
    loading one takes seconds; reads are serialised by the engine's own lock."""
    from model.ocr import OcrEngine

    return OcrEngine(det_limit_side_len=DET_SIDE, det_tile=0)


def _box(box: Any) -> Region | None:
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    ok = all(math.isfinite(v) for v in (x0, y0, x1, y1)) and x1 > x0 and y1 > y0
    return (x0, y0, x1, y1) if ok else None
