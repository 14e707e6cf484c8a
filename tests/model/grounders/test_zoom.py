"""ZoomGrounder around a fake grounder (tools/bench_zoom.py's BlurryGrounder: it finds the
target's pixels in what it reads and adds noise that grows with that image's size): off /
always / uncertain, the region sent equals the crop, ×2 upscale mapped back, DSF-aware
offsets, the fallback when the second pass fails, and bad settings refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agent.core.coords import screen_to_input
from agent.core.crops import crop_size
from agent.core.errors import ConfigError
from agent.core.observation import Observation
from model.grounders.base import Box, DescriptionGrounder, Grounded, GroundingFailure
from model.grounders.zoom import ZoomGrounder
from tests.conftest import load_tool

bench = load_tool("bench_zoom")
Fake = bench.BlurryGrounder
TARGET = bench.TARGET


def screen(w: int, h: int, box: tuple[int, int, int, int], dsf: float = 1.0) -> Observation:
    img = np.zeros((h, w, 3), dtype=np.uint8)
    x1, y1, x2, y2 = box
    img[y1:y2, x1:x2] = TARGET
    return Observation(array=img, scale=dsf)


def centre(box: tuple[int, int, int, int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def ground(inner: Any, obs: Observation, **kw: Any) -> Grounded | GroundingFailure:
    return ZoomGrounder(inner, **kw).ground(obs, "the magenta button")


def test_the_fake_is_a_description_grounder_and_blurs_more_on_bigger_images() -> None:
    assert isinstance(Fake(), DescriptionGrounder)
    errors = {}
    for w, h in [(320, 200), (2560, 1440)]:
        box = (w // 2 - 10, h // 2 - 10, w // 2 + 10, h // 2 + 10)
        fake, obs = Fake(seed=3), screen(w, h, box)
        pts = [fake.ground(obs, "x").point for _ in range(12)]  # type: ignore[union-attr]
        errors[w] = float(np.mean([np.hypot(x - w / 2, y - h / 2) for x, y in pts]))
    assert errors[2560] > 3 * errors[320]


def test_off_is_the_inner_grounder_as_is() -> None:
    obs = screen(1920, 1080, (100, 100, 140, 120))
    fake, twin = Fake(seed=1), Fake(seed=1)
    out = ground(fake, obs, mode="off")
    assert out == twin.ground(obs, "the magenta button")
    assert fake.calls == [(None, (1920, 1080))] and out.zoom is None
    assert ZoomGrounder(fake, "off").name == "fake-blurry"


def test_always_grounds_again_on_the_crop_and_the_region_sent_is_the_crop() -> None:
    obs = screen(3840, 2160, (1900, 1000, 1960, 1030))
    fake = Fake(seed=5)
    zoom = ZoomGrounder(fake, "always", factor=28)
    out = zoom.ground(obs, "the magenta button")
    assert isinstance(out, Grounded) and out.zoom is not None
    first = out.zoom["first"]
    assert fake.calls[0][0] is None and len(fake.calls) == 2
    region, size = fake.calls[1]
    assert region == out.crop == zoom.crop_for(obs, tuple(first["point"])).box
    assert size == (952, 532)  # 25 % of each side, snapped to 28 px cells
    assert out.zoom["zoomed"] is True and out.zoom["crop"] == list(region)
    assert out.prompt is not None and "(952x532 image)" in out.prompt  # the final pass's
    assert out.usage["image_tokens"] == first["usage"]["image_tokens"] + 34 * 19
    assert out.grounder == "fake-blurry" and zoom.name == "fake-blurry+zoom"
    line = out.to_json()  # what the step records
    assert line["crop"] == region and line["zoom"]["first"]["ok"] is True


EDGES = ["left", "right", "top", "bottom", "top-left", "top-right", "bottom-left", "bottom-right"]


@pytest.mark.parametrize("upscale", [False, True])
@pytest.mark.parametrize("dsf", [1, 2])
@pytest.mark.parametrize("where", EDGES)
def test_a_target_at_any_edge_or_corner_is_found_exactly_through_the_crop(
    where: str, dsf: int, upscale: bool
) -> None:
    w, h, bw, bh = 1280 * dsf, 800 * dsf, 40 * dsf, 20 * dsf
    x1 = 0 if "left" in where else w - bw if "right" in where else w // 2
    y1 = 0 if "top" in where else h - bh if "bottom" in where else h // 2
    box = (x1, y1, x1 + bw, y1 + bh)
    fake = Fake(rel=0.0)
    out = ground(fake, screen(w, h, box, dsf), mode="always", upscale=upscale, factor=28)
    assert isinstance(out, Grounded) and out.zoom is not None and "fallback" not in out.zoom
    # exact when read pixel for pixel; bicubic blurs the block's rim (and differently at the
    # screen's edge, where the crop's border repeats): half a screen px
    assert out.point == (pytest.approx(centre(box), abs=0.5) if upscale else centre(box))
    assert out.crop is not None
    cx1, cy1, cx2, cy2 = out.crop
    assert cx1 >= 0 and cx2 <= w and cy1 >= 0 and cy2 <= h
    assert (cx2 - cx1, cy2 - cy1) == crop_size(w, h, fraction=0.25, factor=28)  # full size
    read = fake.calls[1][1]
    assert read == ((cx2 - cx1) * (1 + upscale), (cy2 - cy1) * (1 + upscale))


def test_the_upscaled_crop_is_an_observation_in_the_same_input_units() -> None:
    seen: list[Observation] = []

    class Watching(Fake):
        def ground(
            self, observation: Observation, description: str, region: Box | None = None
        ) -> Grounded | GroundingFailure:
            seen.append(observation)
            return super().ground(observation, description, region)

    obs = screen(2560, 1600, (2400, 60, 2480, 100), dsf=2)
    out = ground(Watching(rel=0.0), obs, mode="always", upscale=True)
    assert isinstance(out, Grounded) and out.zoom is not None
    view = seen[1]
    assert view.scale == 4 and out.zoom["resampling"] == "bicubic x2"
    assert out.model_point is not None
    u, v = out.model_point  # the fake's answer in the upscaled crop's px
    assert screen_to_input(view.frame(), u, v) == screen_to_input(obs.frame(), *out.point)


def test_a_failed_second_pass_falls_back_to_the_first_and_says_why() -> None:
    obs = screen(3840, 2160, (300, 300, 360, 330))
    out = ground(Fake(seed=2, refuse_regions=True), obs, mode="always")
    twin = Fake(seed=2).ground(obs, "the magenta button")
    assert isinstance(out, Grounded) and isinstance(twin, Grounded) and out.zoom is not None
    assert out.point == twin.point and out.crop is None
    assert out.zoom["fallback"] == "second pass failed: refused (fake)"
    assert out.zoom["second"]["ok"] is False and out.zoom["zoomed"] is True


def test_a_second_pass_outside_the_crop_falls_back_too() -> None:
    class Astray(Fake):
        def ground(
            self, observation: Observation, description: str, region: Box | None = None
        ) -> Grounded | GroundingFailure:
            out = super().ground(observation, description, region)
            return out if region is None else Grounded(point=(5.0, 5.0), description=description)

    obs = screen(3840, 2160, (2000, 1500, 2060, 1530))
    out = ground(Astray(rel=0.0), obs, mode="always")
    assert isinstance(out, Grounded) and out.zoom is not None
    assert out.point == (2030.0, 1515.0)
    assert "outside the crop" in out.zoom["fallback"]


def test_a_first_pass_failure_stays_a_failure_without_a_second_call() -> None:
    obs = Observation(array=np.zeros((800, 1280, 3), dtype=np.uint8))
    fake = Fake()
    out = ground(fake, obs, mode="always")
    assert isinstance(out, GroundingFailure) and out.zoom == {"mode": "always", "zoomed": False}
    assert len(fake.calls) == 1


def test_uncertain_zooms_when_the_samples_disagree() -> None:
    obs = screen(3840, 2160, (1000, 700, 1060, 730))
    fake = Fake(seed=4)  # σ ≈ 53 px on a 4K screen
    out = ground(fake, obs, mode="uncertain", k=3, threshold=16)
    assert isinstance(out, Grounded) and out.zoom is not None
    assert len(out.zoom["samples"]) == 3 and out.zoom["spread_px"] > 16
    assert out.zoom["uncertain"] is True and out.zoom["zoomed"] is True
    assert [c[0] is None for c in fake.calls] == [True, True, True, False]
    assert fake.calls[3][0] == out.crop


@pytest.mark.parametrize("dsf", [1, 2])
def test_uncertain_does_not_zoom_when_the_samples_agree(dsf: int) -> None:
    obs = screen(1280 * dsf, 800 * dsf, (100, 100, 140, 120), dsf=dsf)
    fake = Fake(rel=0.0)
    out = ground(fake, obs, mode="uncertain", k=4, threshold=16)
    assert isinstance(out, Grounded) and out.zoom is not None
    assert out.zoom["zoomed"] is False and out.zoom["spread_px"] == 0
    assert out.zoom["threshold_px"] == 16 * dsf  # CSS px at this DSF
    assert len(fake.calls) == 4 and out.point == (120.0, 110.0) and out.crop is None


def test_uncertain_zooms_when_some_samples_fail() -> None:
    class Flaky(Fake):
        def ground(
            self, observation: Observation, description: str, region: Box | None = None
        ) -> Grounded | GroundingFailure:
            if len(self.calls) == 1:
                self.calls.append((region, observation.size))
                return GroundingFailure(description, "unparsed (fake)")
            return super().ground(observation, description, region)

    obs = screen(1280, 800, (100, 100, 140, 120))
    out = ground(Flaky(rel=0.0), obs, mode="uncertain", k=3)
    assert isinstance(out, Grounded) and out.zoom is not None
    assert out.zoom["failed_samples"] == 1 and out.zoom["zoomed"] is True


def test_uncertain_uses_the_inner_grounders_own_samples() -> None:
    asked: list[int] = []

    class Sampler(Fake):
        def samples(
            self, observation: Observation, description: str, k: int, region: Box | None = None
        ) -> list[Grounded | GroundingFailure]:
            asked.append(k)
            return [self.ground(observation, description) for _ in range(k)]

    obs = screen(1280, 800, (100, 100, 140, 120))
    out = ground(Sampler(rel=0.0), obs, mode="uncertain", k=5)
    assert asked == [5] and out.zoom is not None and len(out.zoom["samples"]) == 5


def test_a_callers_region_passes_through_unzoomed() -> None:
    obs = screen(1280, 800, (100, 100, 140, 120))
    fake = Fake(rel=0.0)
    out = ZoomGrounder(fake, "always").ground(obs, "x", region=(0, 0, 640, 400))
    assert len(fake.calls) == 1 and fake.calls[0][0] == (0, 0, 640, 400)
    assert isinstance(out, Grounded) and out.zoom is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"mode": "sometimes"}, "zoom mode must be one of off, always, uncertain"),
        ({"mode": "always", "fraction": 0}, r"fraction must be in \(0, 1\]"),
        ({"mode": "always", "fraction": None}, "a crop fraction or a crop size"),
        ({"mode": "uncertain", "k": 1}, "k ≥ 2 samples"),
        ({"mode": "uncertain", "threshold": -1}, "threshold must be ≥ 0"),
        ({"mode": "always", "size": (0, 100)}, "crop size must be two positive numbers"),
        ({"mode": "always", "factor": 27}, "grid factor must be an even"),
    ],
)
def test_bad_zoom_settings_are_refused_with_the_fix(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ZoomGrounder(Fake(), **kw)


def test_the_bench_shows_zoom_helping_on_a_big_screen() -> None:
    rows = bench.run([(2560, 1440, 1.0)], trials=8, seed=1)
    hit = {r["mode"]: r["hit"] for r in rows}
    assert hit["always"] > hit["off"]
    assert {r["mode"]: r["calls"] for r in rows}["always"] == 2.0
