"""The pixel reading (agent.safety.seen): which region is read for a press, what OCR gives
there, a missing OCR engine, and the policy setting that turns it off."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.core.errors import ConfigError
from agent.core.observation import Observation
from agent.safety.policy import DEFAULT_RULES, Policy, load_policy
from agent.safety.seen import NEAR, WINDOW, PixelReader, region, with_pixels
from agent.safety.targets import Target
from model.ocr import OcrEngine

SIZE = (640, 200)


def test_a_box_that_holds_the_point_is_read_within_the_window() -> None:
    (r, kind) = region((100.0, 50.0), [20, 30, 220, 70], SIZE) or ((0, 0, 0, 0), "")
    assert kind == "box" and r == (20.0, 30.0, 220.0, 70.0)
    big = region((300.0, 100.0), [0, 0, 640, 200], SIZE)  # a whole-page element
    assert big == ((300 - WINDOW[0], 100 - WINDOW[1], 300 + WINDOW[0], 100 + WINDOW[1]), "box")
    tiny = region((100.0, 50.0), [99, 49, 101, 51], SIZE)  # a box the page shrank
    assert tiny == ((100 - NEAR[0], 50 - NEAR[1], 100 + NEAR[0], 50 + NEAR[1]), "box")


@pytest.mark.parametrize("box", [None, [400, 30, 600, 70], [1, 2], [math.nan, 0, 9, 9], "x"])
def test_no_box_or_one_elsewhere_reads_the_pointers_neighbourhood(box: object) -> None:
    r = region((100.0, 50.0), box, SIZE)
    assert r == ((0.0, 10.0, 300.0, 90.0), "pointer")  # the window, clipped to the image


def test_a_point_off_the_image_reads_nothing() -> None:
    assert region((-500.0, 50.0), None, SIZE) is None


def _obs() -> Observation:
    img = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(20)
    draw.rectangle((20, 30, 120, 66), outline="gray")
    draw.text((40, 36), "Keep", fill="black", font=font)  # a button
    draw.text((132, 36), "Delete", fill="black", font=font)  # its neighbour, 12 px away
    draw.text((40, 140), "Pay now", fill="black", font=font)  # text with no element
    return Observation(array=np.asarray(img))


@pytest.mark.ocr
def test_ocr_reads_the_box_alone_and_the_line_under_the_pointer() -> None:
    px = PixelReader()
    assert not px.loaded  # nothing is loaded before the first read
    named = Target("Cancel", "dom")
    keep = px.add(named, _obs(), (70.0, 48.0), {"box": [20, 30, 120, 66]}, 40)
    assert keep.seen == "Keep" and keep.text == "Cancel Keep"  # not its neighbour's "Delete"
    same = px.add(Target("keep", "dom"), _obs(), (70.0, 48.0), {"box": [20, 30, 120, 66]}, 40)
    assert same.seen == "Keep" and same.text == "keep"  # the pixels agree: nothing added
    assert isinstance(px.engine(), OcrEngine) and px.loaded
    free = px.add(Target("", "dom"), _obs(), (80.0, 150.0), None, 40)
    assert free.seen == "Pay now" and free.text == "Pay now"
    far = px.add(Target("", "dom"), _obs(), (600.0, 100.0), None, 40)
    assert far.seen == "" and far.text == ""  # nothing within the radius
    long = Target("x" * 300, "dom")  # a page that fills the DOM text cannot push it out
    cut = px.add(long, _obs(), (80.0, 150.0), None, 40)
    assert len(cut.text) == 300 and cut.text.endswith(" Pay now")
    inside = px.add(Target("xPay nowx", "dom"), _obs(), (80.0, 150.0), None, 40)
    assert DEFAULT_RULES[0].match_target(inside.text) is not None  # a word of its own


def test_without_an_ocr_engine_the_dom_decides_and_the_target_says_so() -> None:
    def missing() -> OcrEngine:
        raise ConfigError("the OCR grounder needs rapidocr")

    t = with_pixels(Target("Keep", "dom", error="x"), missing, _obs(), (70.0, 48.0), None, 40)
    assert t.text == "Keep" and t.seen is None
    assert t.error == "x; pixel reading unavailable: the OCR grounder needs rapidocr"


def test_the_policy_setting_turns_the_reading_off(tmp_path: Path) -> None:
    assert Policy().pixel_target is True
    f = tmp_path / "p.toml"
    f.write_text('pixel_target = false\n[urls]\ndeny = ["*/admin*"]\n')
    p = load_policy(f)
    assert p.pixel_target is False and p.to_json()["pixel_target"] is False
    assert p.with_urls(["127.0.0.1"]).pixel_target is False
    assert Policy.from_json(p.to_json()).pixel_target is False
    with pytest.raises(ConfigError, match="pixel_target must be true or false"):
        Policy.from_json({"pixel_target": "no"}, source="p")
