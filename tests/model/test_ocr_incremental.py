"""Incremental OCR equals a full OCR of the new screen (real RapidOCR, no mocks).

Screens are PIL-rendered at 1280×740 (the detector resizes them to 1280×736, as it does
1080 → 1088), and the bundled shop site is read in a real headless Chromium. Each check
compares an incremental read (the previous screen as base) with a full read of the same
screen by an engine that keeps no base: texts, boxes, scores and word boxes must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from model.ocr import OcrEngine, OcrModel, OcrResult
from model.ocr.incremental import DET_TILE

W, H = 1280, 740


def draw(labels: dict[tuple[int, int], str], bg: str = "white", size: int = 18) -> np.ndarray:
    im = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(im)
    for xy, text in labels.items():
        d.text(xy, text, fill="#222", font=ImageFont.load_default(size=size))
    return np.asarray(im)


BASE = {
    (30, 20): "Northwind Console",
    (1120, 22): "Cart (0)",
    (250, 200): "Quarterly revenue report",  # crosses the core edge at x = 320
    (60, 420): "Full name",
    (700, 420): "Email address",
    (60, 640): "Showing 3 of 3 files",
    (900, 660): "Privacy and terms",
}


def lines(r: OcrResult) -> list[tuple]:
    return [(ln.text, ln.box, ln.score, ln.words) for ln in r.lines]


def same_map(a: OcrEngine, b: OcrEngine) -> bool:
    """The detector probability maps the two engines kept of their last screen are equal."""
    assert a.tiled is not None and a.tiled.screen is not None
    assert b.tiled is not None and b.tiled.screen is not None
    return bool(np.array_equal(a.tiled.screen.prob, b.tiled.screen.prob))


def texts(r: OcrResult) -> list[str]:
    return [ln.text for ln in r.lines]


@pytest.fixture(scope="module")
def full() -> OcrEngine:
    return OcrEngine(incremental=False, cache_size=0)


@pytest.fixture(scope="module")
def inc() -> Iterator[OcrEngine]:
    e = OcrEngine(cache_size=0)
    yield e


def test_changed_region_only_and_equal_to_full(inc: OcrEngine, full: OcrEngine) -> None:
    inc.clear_cache()
    a = inc.read(draw(BASE))
    assert a.work["det_tiles"] == a.work["tiles"] and a.work["reused"] == 0
    assert "Quarterly revenue report" in texts(a)  # read whole across the tile edge

    b_img = draw({**BASE, (1120, 22): "Cart (3)"})
    b = inc.read(b_img)
    assert lines(b) == lines(full.read(b_img))
    assert same_map(inc, full)
    assert "Cart (3)" in texts(b) and "Cart (0)" not in texts(b)
    assert b.work["det_tiles"] == 1 < b.work["tiles"]  # one corner tile re-detected
    assert b.work["det_px"] < a.work["det_px"] / 6
    assert b.work["crops"] == 1 and b.work["reused"] == len(b.lines) - 1
    # the lines away from the change are the previous screen's, unchanged
    assert [x for x in lines(a) if x[0] != "Cart (0)"] == [
        x for x in lines(b) if x[0] != "Cart (3)"
    ]

    # a change on the line that crosses the tile edge: re-read whole, still equal
    c_img = draw({**BASE, (1120, 22): "Cart (3)", (250, 200): "Monthly revenue report"})
    c = inc.read(c_img)
    assert lines(c) == lines(full.read(c_img))
    assert "Monthly revenue report" in texts(c) and c.work["det_tiles"] == 2
    assert same_map(inc, full)

    # new text just right of a core edge (x = 320) lies in the left tile's context: both
    # tiles are detected again, and the stitched map equals a full read's bit for bit
    d_img = draw({**BASE, (1120, 22): "Cart (3)", (250, 200): "Monthly revenue report",
                  (324, 520): "Paid"})  # fmt: skip
    d = inc.read(d_img)
    assert lines(d) == lines(full.read(d_img)) and "Paid" in texts(d)
    assert d.work["det_tiles"] == 2 and same_map(inc, full)


def test_size_scope_and_full_screen_changes_read_everything(
    inc: OcrEngine, full: OcrEngine
) -> None:
    inc.clear_cache()
    inc.read(draw(BASE), scope="env-1")
    same = draw(BASE)
    other_scope = inc.read(same, scope="env-2")  # another env: nothing is reused
    assert (
        other_scope.work["reused"] == 0
        and other_scope.work["det_tiles"] == other_scope.work["tiles"]
    )

    everywhere = draw({(x, y): "Settings" for x in (40, 700) for y in (60, 400)}, bg="#eef")
    r = inc.read(everywhere, scope="env-2")
    assert r.work["det_tiles"] == r.work["tiles"] and r.work["reused"] == 0
    assert lines(r) == lines(full.read(everywhere))

    im = Image.fromarray(draw(BASE)).resize((1400, 810))
    smaller = np.asarray(im)
    s = inc.read(smaller, scope="env-2")  # another size: a full read
    assert s.work["det_tiles"] == s.work["tiles"] and s.work["reused"] == 0
    assert lines(s) == lines(full.read(smaller))


def test_one_base_per_engine_and_forget(inc: OcrEngine) -> None:
    inc.clear_cache()
    a, b = draw(BASE), draw({**BASE, (60, 640): "Showing 4 of 4 files"})
    inc.read(a)
    inc.read(b)
    assert inc.tiled is not None and inc.tiled.screen is not None
    assert np.array_equal(inc.tiled.screen.image[:, :, ::-1], b)  # only the last screen
    inc.forget_screen()
    assert inc.tiled.screen is None
    assert inc.read(a).work["reused"] == 0


def test_model_warms_up_and_forgets_at_episode_start() -> None:
    from agent.core.model import ModelRequest
    from agent.core.observation import Observation

    model = OcrModel()
    engine = model.grounder.engine  # type: ignore[attr-defined]
    assert engine._warm is not None  # started in the background by the constructor
    engine._warm.join(timeout=120)
    assert engine._ocr.text_det is not None and engine._ocr.text_rec is not None
    engine.read(draw(BASE))
    assert engine.tiled.screen is not None
    obs = Observation(array=draw(BASE))
    model.act(ModelRequest("press tab", obs, obs.frame(convention="screen"), []))
    assert engine.tiled.screen is None  # a new episode starts from a full read


def test_small_images_keep_rapidocrs_pipeline(inc: OcrEngine) -> None:
    """A crop the detector enlarges (the gate's read around a point) is not cut in tiles."""
    from agent.core.errors import ConfigError

    crop = draw(BASE)[180:300, 200:840]
    r = inc.read(crop)
    assert r.work == {} and "Quarterly revenue report" in texts(r)
    with pytest.raises(ConfigError):
        OcrEngine(det_tile=DET_TILE + 1)


def test_shop_site_steps_equal_full_reads(full: OcrEngine) -> None:
    """Real steps in headless Chromium: a click that bumps the cart counter (and shows a
    toast), then typing into the search field; each incremental read equals a full one."""
    from envs.browser import BrowserEnv

    env = BrowserEnv(site="shop", viewport=(1280, 800))
    try:
        engine = OcrEngine(cache_size=0)
        base = engine.read(env.observe().array)
        env.page.locator("button:has-text('Add to cart')").first.click()
        env.page.wait_for_selector("#cart-link:has-text('Cart (1)')")
        steps = [env.observe().array]
        env.page.fill("#search", "desk lamp")
        steps.append(env.observe().array)
        for shot in steps:
            r = engine.read(shot)
            assert lines(r) == lines(full.read(shot))
            assert r.work["det_px"] < base.work["det_px"] / 2
            assert r.work["crops"] < len(r.lines) / 3 and r.work["reused"] > 0
        assert "Cart (1)" in texts(r) and "desk lamp" in texts(r)
    finally:
        env.close()
