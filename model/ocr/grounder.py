"""``OcrGrounder``: the :class:`~model.grounding.Grounder` protocol on RapidOCR text.

``role='any'`` returns the matched text's box (a word span's sub-box when the query is part
of a line). ``role='field'`` turns each text match into the input it names (see
:mod:`model.ocr.fields`): the text itself when it is a placeholder or value inside a field,
else the field right of / below the label, else the label (lower score: on the web a click
on a ``<label>`` focuses its input).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from model.grounding import (
    DEFAULT_FUZZY,
    DEFAULT_MARGIN,
    Candidate,
    Point,
    Role,
    match_lines,
    rank,
)
from model.ocr.engine import OcrEngine, OcrResult
from model.ocr.fields import enclosing_field, field_near_label

LABEL_FALLBACK_PENALTY = 0.9


class OcrGrounder:
    """Finds text targets in a native-resolution screenshot with RapidOCR (CPU)."""

    def __init__(
        self,
        engine: OcrEngine | None = None,
        *,
        fuzzy: float = DEFAULT_FUZZY,
        margin: float = DEFAULT_MARGIN,
        **engine_settings: Any,
    ) -> None:
        self.engine = engine or OcrEngine(**engine_settings)
        self.fuzzy = fuzzy
        self.margin = margin

    def read(self, image: np.ndarray) -> OcrResult:
        """All text lines of the screenshot (cached per image content)."""
        return self.engine.read(image)

    def ground(
        self,
        image: np.ndarray,
        query: str,
        *,
        near: Point | None = None,
        role: Role = "any",
    ) -> list[Candidate]:
        result = self.read(image)
        cands = match_lines(result.lines, query, fuzzy=self.fuzzy)
        if role == "field":
            cands = [self._to_field(image, c) for c in cands]
        return rank(cands, near=near, margin=self.margin)

    def _to_field(self, image: np.ndarray, text: Candidate) -> Candidate:
        if enclosing_field(image, text.box) is not None:
            return Candidate(
                text.box, text.text, text.score, text.exact, "placeholder", text.tier, text.box
            )
        field = field_near_label(image, text.box)
        if field is not None:
            return Candidate(field, text.text, text.score, text.exact, "field", text.tier, text.box)
        return Candidate(
            text.box,
            text.text,
            round(text.score * LABEL_FALLBACK_PENALTY, 4),
            text.exact,
            "label",
            text.tier,
            text.box,
        )
