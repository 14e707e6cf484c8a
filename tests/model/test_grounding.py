"""The grounder API and the RapidOCR grounder on PIL-rendered UI screens (no mocks).

OCR costs about a second per new image on a small CPU, so the screens are built once per
module and every query after the first hits the per-image cache.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from model.grounding import (
    AmbiguousTargetError,
    Candidate,
    Grounder,
    TargetNotFoundError,
    TextLine,
    Word,
    choose,
    match_lines,
    normalize,
    rank,
    span_box,
)
from model.ocr import OcrGrounder
from model.ocr.engine import merge_lines, tiles

Box = tuple[float, float, float, float]


def font(size: int = 18) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def center(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def contains(box: Box, p: tuple[float, float]) -> bool:
    return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


class Screen:
    """A tiny UI painter that remembers where each element really is."""

    def __init__(self, w: int = 1024, h: int = 768) -> None:
        self.im = Image.new("RGB", (w, h), "white")
        self.d = ImageDraw.Draw(self.im)
        self.truth: dict[str, Box] = {}

    def text(self, name: str, xy: tuple[int, int], s: str, size: int = 18, fill="#222") -> Box:
        self.d.text(xy, s, fill=fill, font=font(size))
        box = self.d.textbbox(xy, s, font=font(size))
        self.truth[name] = tuple(float(v) for v in box)  # type: ignore[assignment]
        return self.truth[name]

    def button(self, name: str, box: tuple[int, int, int, int], s: str, fill="#1a73e8") -> None:
        self.d.rounded_rectangle(box, radius=6, fill=fill)
        tw = self.d.textlength(s, font=font(18))
        x = (box[0] + box[2] - tw) / 2
        self.d.text((x, (box[1] + box[3]) / 2 - 11), s, fill="white", font=font(18))
        self.truth[name] = tuple(float(v) for v in box)  # type: ignore[assignment]

    def field(self, name: str, box: tuple[int, int, int, int], placeholder: str = "") -> None:
        self.d.rounded_rectangle(box, radius=4, outline="#b0b0b0", width=1, fill="white")
        if placeholder:
            self.text(name + ".placeholder", (box[0] + 10, box[1] + 8), placeholder, fill="#999")
        self.truth[name] = tuple(float(v) for v in box)  # type: ignore[assignment]

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.im)


def form_screen() -> Screen:
    s = Screen()
    s.text("title", (40, 30), "Account settings", size=28)
    s.text("name.label", (40, 110), "Full name")  # label left, field right (same row)
    s.field("name", (200, 100, 520, 140))
    s.text("email.label", (40, 170), "Email")  # label above, field below (stacked)
    s.field("email", (40, 196, 520, 236))
    s.field("search", (600, 100, 980, 140), placeholder="Search products")
    s.button("save", (40, 270, 160, 310), "Save")
    s.button("cancel", (180, 270, 300, 310), "Cancel", fill="#777777")
    s.text("hint", (40, 340), "Remember to Save your changes before leaving")
    s.text("edit1", (600, 200), "Edit")
    s.text("edit2", (600, 420), "Edit")
    s.text("removed", (40, 420), "Removed")
    s.text("remove", (40, 500), "Remove")
    s.text("profile", (600, 600), "Profile picture and banner")
    return s


@pytest.fixture(scope="module")
def grounder() -> OcrGrounder:
    g = OcrGrounder()
    assert isinstance(g, Grounder)  # the protocol any backend implements
    return g


@pytest.fixture(scope="module")
def form() -> Screen:
    return form_screen()


# ---- pure matching (no OCR) --------------------------------------------------------------


def test_normalize_is_case_space_and_edge_punctuation_insensitive() -> None:
    assert normalize("  Email:  ") == "email"
    assert normalize("SIGN   in") == "sign in"
    assert normalize("“Save”") == "save"


def test_exact_line_beats_span_and_fuzzy() -> None:
    lines = [
        TextLine("Save your work", (0, 0, 140, 20)),
        TextLine("Sav", (0, 100, 30, 120)),
        TextLine("Sane", (0, 150, 40, 170)),
        TextLine("Save", (0, 200, 40, 220)),
    ]
    ranked = rank(match_lines(lines, "save"))
    assert [c.kind for c in ranked] == ["line", "span", "fuzzy"]  # "Sane": ratio 0.75 < 0.8
    assert ranked[2].text == "Sav" and ranked[2].score < ranked[1].score
    assert choose("save", ranked).box == (0, 200, 40, 220)
    fuzzy_only = rank(match_lines([TextLine("Subm1t", (0, 0, 70, 20))], "Submit"))
    assert len(fuzzy_only) == 1 and not fuzzy_only[0].exact and fuzzy_only[0].kind == "fuzzy"


def test_spaces_dropped_by_ocr_still_match_exactly() -> None:
    c = match_lines([TextLine("Signin", (0, 0, 60, 20))], "Sign in")
    assert len(c) == 1 and c[0].exact and c[0].kind == "line"


def test_span_box_uses_word_boxes_or_proportions() -> None:
    words = (
        Word("Add", (0, 0, 30, 20)),
        Word("to", (40, 0, 55, 20)),
        Word("cart", (90, 0, 130, 20)),
    )
    line = TextLine("Add to cart", (0, 0, 130, 20), words=words)
    (c,) = match_lines([line], "cart")
    assert c.kind == "span" and c.box == (90, 0, 130, 20)
    bare = TextLine("Add to cart", (0, 0, 110, 20))
    (c,) = match_lines([bare], "cart")
    assert c.box == pytest.approx((70, 0, 110, 20))  # characters 7..11 of 11
    assert span_box(bare, 0, 11) == bare.box


def test_word_span_must_align_with_words() -> None:
    assert match_lines([TextLine("Cartography", (0, 0, 100, 20))], "cart", fuzzy=1.0) == []


def test_nearness_breaks_ties_and_unbroken_tie_is_ambiguous() -> None:
    a = Candidate((0, 0, 40, 20), "Edit", 1.0, True)
    b = Candidate((0, 400, 40, 420), "Edit", 1.0, True)
    with pytest.raises(AmbiguousTargetError) as err:
        choose("Edit", rank([a, b]))
    assert err.value.candidates == [a, b] and "(20, 10)" in str(err.value)
    assert choose("Edit", rank([a, b], near=(30, 390)), near=(30, 390)) == b
    with pytest.raises(AmbiguousTargetError):  # equidistant: nearness does not decide
        choose("Edit", rank([a, b], near=(20, 210)), near=(20, 210))


def test_tiles_cover_the_screen_and_merge_drops_rereads() -> None:
    ts = tiles(1920, 1080)
    assert all(x1 - x0 <= 960 and y1 - y0 <= 960 for x0, y0, x1, y1 in ts)
    covered = np.zeros((1080, 1920), bool)
    for x0, y0, x1, y1 in ts:
        covered[int(y0) : int(y1), int(x0) : int(x1)] = True
    assert covered.all() and tiles(800, 600) == [(0, 0, 800, 600)]
    full = TextLine("Continue to checkout", (900, 500, 1100, 520))
    part = TextLine("Continue to", (900, 500, 1010, 520))  # cut at a tile edge
    other = TextLine("Terms", (1700, 1040, 1760, 1055))
    assert merge_lines([part, full, other, full]) == [full, other]


def test_missing_is_target_not_found() -> None:
    with pytest.raises(TargetNotFoundError, match='could not find "Delete"'):
        choose("Delete", [])


# ---- RapidOCR on rendered screens --------------------------------------------------------


def test_button_box_contains_true_center(grounder: OcrGrounder, form: Screen) -> None:
    for query, name in [("Save", "save"), ("cancel", "cancel"), ("REMOVE", "remove")]:
        cands = grounder.ground(form.array, query)
        best = choose(query, cands)
        assert best.exact and best.kind == "line"
        true = form.truth[name]
        assert contains(best.box, center(true)) or contains(true, best.center), (query, best)


def test_exact_beats_fuzzy_and_span(grounder: OcrGrounder, form: Screen) -> None:
    cands = grounder.ground(form.array, "Save")
    kinds = [c.kind for c in cands]
    assert kinds[0] == "line" and "span" in kinds  # the sentence "Remember to Save ..."
    remove = grounder.ground(form.array, "Remove")
    assert remove[0].exact and any(not c.exact for c in remove)  # "Removed" is fuzzy only
    assert contains(form.truth["remove"], choose("Remove", remove).center)


def test_word_span_inside_a_line(grounder: OcrGrounder, form: Screen) -> None:
    best = choose("banner", grounder.ground(form.array, "banner"))
    assert best.kind == "span"
    line = form.truth["profile"]
    assert best.box[0] > line[0] + (line[2] - line[0]) * 0.6  # the last word, not the line
    assert best.box[2] - best.box[0] < (line[2] - line[0]) * 0.4


def test_fuzzy_when_no_exact(grounder: OcrGrounder, form: Screen) -> None:
    best = choose("Acount setings", grounder.ground(form.array, "Acount setings"))
    assert not best.exact and contains(form.truth["title"], best.center)


def test_duplicates_are_ambiguous_unless_near(grounder: OcrGrounder, form: Screen) -> None:
    with pytest.raises(AmbiguousTargetError) as err:
        choose("Edit", grounder.ground(form.array, "Edit"))
    assert len(err.value.candidates) == 2
    near = center(form.truth["edit2"])
    best = choose("Edit", grounder.ground(form.array, "Edit", near=near), near=near)
    assert contains(form.truth["edit2"], best.center)


def test_missing_returns_nothing(grounder: OcrGrounder, form: Screen) -> None:
    assert grounder.ground(form.array, "Delete account") == []


def test_field_right_of_label(grounder: OcrGrounder, form: Screen) -> None:
    best = choose("Full name", grounder.ground(form.array, "Full name", role="field"))
    assert best.kind == "field" and best.source is not None
    assert contains(best.box, center(form.truth["name"]))
    assert contains(form.truth["name"], best.center)


def test_field_below_label(grounder: OcrGrounder, form: Screen) -> None:
    best = choose("Email", grounder.ground(form.array, "Email", role="field"))
    assert best.kind == "field"
    assert contains(form.truth["email"], best.center)


def test_placeholder_is_clicked_itself(grounder: OcrGrounder, form: Screen) -> None:
    best = choose("Search products", grounder.ground(form.array, "search products", role="field"))
    assert best.kind == "placeholder"
    assert contains(form.truth["search"], best.center)
    assert contains(best.box, center(form.truth["search.placeholder"]))


def test_ocr_is_cached_per_image(grounder: OcrGrounder, form: Screen) -> None:
    first = grounder.read(form.array)
    hits = grounder.engine.hits
    again = grounder.read(form.array.copy())  # same content, another buffer
    assert again is first and grounder.engine.hits == hits + 1
    assert first.size == (1024, 768) and len(first.lines) >= 10


def test_native_resolution_boxes_on_a_wide_screen(grounder: OcrGrounder) -> None:
    """1920×1080 with small text far right/bottom: boxes come back in screenshot px."""
    s = Screen(1920, 1080)
    s.text("small", (1700, 1040), "Terms of service", size=13)
    s.button("ok", (1760, 960, 1880, 1000), "Continue")
    for query, name in [("Terms of service", "small"), ("Continue", "ok")]:
        best = choose(query, grounder.ground(s.array, query))
        assert contains(s.truth[name], best.center) or contains(best.box, center(s.truth[name]))
