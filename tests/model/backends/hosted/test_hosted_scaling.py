"""Each hosted backend through its official SDK against a local stand-in of its API: the
declared display and the image sent, and a scripted vendor click at a known point of the
advertised space landing on the expected screenshot pixel (parsed by the normal parser)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agent.core.coords import screen_to_input
from agent.core.errors import ConfigError, ModelError, ParseError
from agent.core.model import ModelRequest
from model.parsers import parse
from tests.model.backends.hosted.fakes import (
    Fake,
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    red_centre,
    screenshot,
    size_of,
)

# (screenshot w, h, DSF) → the size each vendor is sent, worked out by hand from the docs'
# limits: Anthropic ≤1568 px long edge and ≤1.15 MP; OpenAI 2048 box then 768 short side;
# Gemini fitted into 1440×900. None: sent as it is.
SCREENS = [(1920, 1080, 1.0), (2560, 1440, 1.0), (3840, 2160, 1.0), (2560, 1440, 2.0)]
SCREENS += [(1280, 800, 1.0)]
SENT = {
    "anthropic": {1920: (1429, 804), 2560: (1429, 804), 3840: (1429, 804), 1280: None},
    "openai-cua": {1920: (1365, 768), 2560: (1365, 768), 3840: (1365, 768), 1280: (1228, 768)},
    "gemini": {1920: (1440, 810), 2560: (1440, 810), 3840: (1440, 810), 1280: None},
}
FAKES: dict[str, type[Fake]] = {
    "anthropic": FakeAnthropic,
    "openai-cua": FakeOpenAI,
    "gemini": FakeGemini,
}


@pytest.fixture(params=list(FAKES))
def vendor(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def _script(vendor: str, x: int, y: int) -> list[dict[str, Any]]:
    if vendor == "anthropic":
        return [FakeAnthropic.click(1, x, y)]
    if vendor == "openai-cua":
        return [FakeOpenAI.click(1, x, y)]
    return [FakeGemini.click(1, x, y)]


@pytest.mark.parametrize(("w", "h", "dsf"), SCREENS)
def test_a_vendor_click_lands_on_the_screenshot_pixel(
    vendor: str, w: int, h: int, dsf: float
) -> None:
    target = (0.37 * w, 0.61 * h)  # the red square's centre, screenshot px
    obs = screenshot(w, h, target, scale=dsf)
    sent = SENT[vendor][w] or (w, h)
    # the point the vendor answers: the target in its advertised space
    if vendor == "gemini":
        vx, vy = round(target[0] / w * 1000), round(target[1] / h * 1000)
        expected = (vx / 1000 * w, vy / 1000 * h)  # x / 1000 × width (Gemini's docs)
    else:
        vx, vy = round(target[0] * sent[0] / w), round(target[1] * sent[1] / h)
        expected = (vx * w / sent[0], vy * h / sent[1])
    fake = FAKES[vendor](_script(vendor, vx, vy))
    try:
        model = fake.model()
        frame = model.plan_frame(obs, obs.frame())
        assert (frame.input_w, frame.input_h) == sent
        assert frame.resampled == (sent != (w, h)) and frame.scale == dsf
        reply = model.act(ModelRequest("press the red square", obs, frame))
        body = fake.requests[0]
    finally:
        fake.close()
    # what the API received: the declared display and an image of that size
    assert fake.display(body) == (None if vendor == "gemini" else sent)
    (png,) = fake.images(body)
    assert size_of(png) == sent
    cx, cy = red_centre(png)  # the target where the model saw it
    assert abs(cx - target[0] * sent[0] / w) <= 1.0 and abs(cy - target[1] * sent[1] / h) <= 1.0
    # the normal parser maps the vendor's point back to screenshot px
    (action,) = parse("json", reply.text, frame, convention=model.convention).actions
    assert action.type == "click"
    px, py = action.point  # type: ignore[union-attr]
    assert abs(px - expected[0]) <= 1.0 and abs(py - expected[1]) <= 1.0
    assert abs(px - target[0]) <= w / sent[0] and abs(py - target[1]) <= h / sent[1]
    # and the env's input units (CSS px at DSF 2)
    ux, uy = screen_to_input(obs.frame(), px, py)
    assert abs(ux - target[0] / dsf) <= 1 + 0.5 * w / sent[0] / dsf
    assert abs(uy - target[1] / dsf) <= 1 + 0.5 * h / sent[1] / dsf
    assert reply.usage.get("input_tokens") == 1000


def test_a_point_outside_the_declared_display_is_a_parse_error(vendor: str) -> None:
    obs = screenshot(1920, 1080, (100, 100))
    edge = {"anthropic": (1429, 804), "openai-cua": (1365, 768), "gemini": (1000, 1000)}[vendor]
    for x, y, ok in [(edge[0] - 1, edge[1] - 1, True), (edge[0], 10, False), (10, -1, False)]:
        fake = FAKES[vendor](_script(vendor, x, y))
        try:
            model = fake.model()
            frame = model.plan_frame(obs, obs.frame())
            reply = model.act(ModelRequest("t", obs, frame))
        finally:
            fake.close()
        if ok:
            (a,) = parse("json", reply.text, frame, convention=model.convention).actions
            assert a.point[0] <= 1919 and a.point[1] <= 1079  # type: ignore[union-attr]
        else:
            with pytest.raises(ParseError, match="outside the 1920x1080"):
                parse("json", reply.text, frame, convention=model.convention)


def test_a_frame_the_backend_did_not_plan_is_refused(vendor: str) -> None:
    obs = screenshot(1920, 1080, (100, 100))
    fake = FAKES[vendor](_script(vendor, 1, 1))
    try:
        with pytest.raises(ModelError, match="plan_frame"):
            fake.model().act(ModelRequest("t", obs, obs.frame(mode="resize")))
    finally:
        fake.close()


def test_missing_api_key_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from model.registry import load_model

    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    for spec, var in [("anthropic:claude-x", "ANTHROPIC_API_KEY"),
                      ("openai-cua:computer-use-preview", "OPENAI_API_KEY"),
                      ("gemini:gemini-2.5-computer-use", "GEMINI_API_KEY")]:  # fmt: skip
        with pytest.raises(ConfigError, match=var):
            load_model(spec)
    monkeypatch.setenv("GOOGLE_API_KEY", "k")
    assert load_model("gemini:g").name == "gemini:g"
    with pytest.raises(ConfigError, match="not taken by the anthropic"):
        load_model("anthropic:claude-x", api_key="k", temperature=0.5)
