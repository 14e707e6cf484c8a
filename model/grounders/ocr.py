"""``--grounder ocr``: the described-target protocol on the CPU OCR grounder.

A description is read in one of two ways: a quoted label (``the "Search" button``,
``"Edit" #2``) is matched exactly (whole line or whole-word span; an optional trailing ``#N``
picks the N-th match in reading order); else the description's words, less a few role words
("the", "button", "link", ...), are matched like an OCR instruction's target (fuzzy allowed).
A description naming a "field" or "input" grounds the input that label names
(``role='field'``, as ``type "X" into "Y"`` does). Nothing found, or several equally good
matches, is a :class:`~model.grounders.base.GroundingFailure` — never a point.
"""

from __future__ import annotations

import re
import time
from typing import Any

from agent.core.crops import (
    Crop,
    crop_box_to_screen,
    crop_pixels,
    crop_to_screen,
    region_crop,
    screen_to_crop,
)
from agent.core.errors import ConfigError, CoordinateError
from agent.core.observation import Observation
from model.grounders.base import Box, Grounded, GroundingFailure, Point
from model.grounding import Candidate, GroundingError, Role, choose
from model.ocr.grounder import OcrGrounder
from model.ocr.instructions import parse_target

_QUOTED = re.compile(r"[\"“”]")
_FIELD_WORDS = frozenset({"field", "input", "textbox"})
_FILLER = frozenset(
    {"the", "a", "an", "button", "link", "tab", "icon", "field", "input", "textbox", "labelled",
     "labeled", "named", "called", "with", "text", "option", "on"}
)  # fmt: skip


def read_description(description: str) -> tuple[str, bool, int | None, Role]:
    """(query, exact, nth, role) for ``description`` (ConfigError when it names nothing)."""
    words = re.findall(r"[\w']+", description.lower())
    role: Role = "field" if _FIELD_WORDS & set(words) else "any"
    if _QUOTED.search(description):
        query, nth = parse_target(description)
        return query, True, nth, role
    kept = [w for w in description.split() if w.lower().strip(".,:;!?") not in _FILLER]
    query = " ".join(kept).strip()
    if not query:
        raise ConfigError(f"the description {description!r} names nothing to look for")
    return query, False, None, role


class OcrDescriptionGrounder:
    """Described targets → screen px with RapidOCR on the native screenshot (CPU).

    ``near`` (screen px, optional) is the previous action's point: it breaks ties between
    equally good matches the way the OCR model does; the caller sets it."""

    name = "ocr"

    def __init__(self, ocr: OcrGrounder | None = None, **settings: Any) -> None:
        self.ocr = ocr or OcrGrounder(**settings)
        self.near: Point | None = None

    def ground(
        self, observation: Observation, description: str, region: Box | None = None
    ) -> Grounded | GroundingFailure:
        t0 = time.perf_counter()
        image = observation.array
        window: Crop | None = None
        crop: Box | None = None
        if region is not None:
            try:
                window = region_crop(image.shape[1], image.shape[0], region, min_side=2)
            except CoordinateError as err:
                return self._fail(description, str(err), None, t0)
            image, crop = crop_pixels(image, window), window.box
        try:
            query, exact, nth, role = read_description(description)
        except ConfigError as err:
            return self._fail(description, str(err), crop, t0)
        near = self.near
        if near is not None and window is not None:
            near = screen_to_crop(window, *near)
        cands = self.ocr.ground(image, query, near=near, role=role)
        if exact:
            cands = [c for c in cands if c.exact]
        try:
            best = self._pick(query, cands, near, nth)
        except GroundingError as err:
            return self._fail(description, str(err), crop, t0)
        box, (cx, cy) = best.box, best.center
        x, y = cx, cy
        if window is not None:  # crop px → screen px
            box, (x, y) = crop_box_to_screen(window, *box), crop_to_screen(window, cx, cy)
        return Grounded(
            point=(round(x, 1), round(y, 1)),
            description=description,
            box=tuple(round(v, 1) for v in box),  # type: ignore[arg-type]
            grounder=self.name,
            prompt=f"{role}:{query}" + (f" #{nth}" if nth else ""),
            raw=best.describe(),
            model_point=(round(cx, 1), round(cy, 1)),  # in the image it read (the crop)
            crop=crop,
            latency_s=round(time.perf_counter() - t0, 6),
        )

    def _pick(
        self, query: str, cands: list[Candidate], near: Point | None, nth: int | None
    ) -> Candidate:
        if nth is None:
            return choose(query, cands, near=near, margin=self.ocr.margin)
        top = [c for c in cands if c.tier == cands[0].tier] if cands else []
        top.sort(key=lambda c: (round(c.center[1] / 8), c.center[0]))  # reading order
        if nth > len(top):
            raise GroundingError(query, f'could not find "{query}" #{nth} ({len(top)} found)')
        return top[nth - 1]

    def _fail(self, description: str, reason: str, crop: Box | None, t0: float) -> GroundingFailure:
        return GroundingFailure(
            description, reason, grounder=self.name, crop=crop,
            latency_s=round(time.perf_counter() - t0, 6),
        )  # fmt: skip


def load_ocr_grounder(rest: str = "", **settings: Any) -> OcrDescriptionGrounder:
    """``ocr`` or ``ocr:key=value,...`` (the OCR engine's settings, e.g. ``fuzzy=0.85``)."""
    merged: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"ocr grounder settings are key=value, got {part!r}")
        merged[key.strip()] = value.strip()
    merged.update(settings)
    from model.ocr.model import _SETTING_TYPES, _coerce

    allowed = set(_SETTING_TYPES) - {"max_scrolls", "scroll_amount", "settle_waits",
                                     "settle_seconds", "near_ratio"}  # fmt: skip
    unknown = sorted(set(merged) - allowed)
    if unknown:
        raise ConfigError(f"unknown ocr grounder settings {unknown}; known: {sorted(allowed)}")
    return OcrDescriptionGrounder(**{k: _coerce(k, v) for k, v in merged.items()})
