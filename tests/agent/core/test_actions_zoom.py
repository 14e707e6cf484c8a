"""The ``zoom`` action: its model (region ordered, scale 1 or 2), its traits (observes, inert:
no env executes it), the json schema and prompt offering it, and the mapping of an answer read
on a crop back to the screen."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from agent.core.actions import (
    OBSERVE_TYPES,
    Click,
    Drag,
    Trait,
    Type,
    Zoom,
    action_schema,
    parse_action,
)
from agent.core.coords import Frame
from agent.core.crops import action_to_screen, crop_record, region_crop
from agent.core.errors import CoordinateError, ParseError
from model.parsers import FORMATS, parse
from model.parsers.grammar import screen_action_schema
from model.prompts.templates import json_system


def test_a_zoom_orders_its_region_and_reads_at_scale_1_or_2() -> None:
    z = parse_action({"type": "zoom", "region": [300, 200, 100, 50]})
    assert isinstance(z, Zoom) and z.region == (100, 50, 300, 200) and z.scale == 1
    assert parse_action({"type": "zoom", "region": [0, 0, 9, 9], "scale": 2}).scale == 2  # type: ignore[union-attr]
    for bad in ({"region": [0, 0, 9, 9], "scale": 3}, {"region": [0, 0, math.inf, 9]}):
        with pytest.raises(ValidationError):
            parse_action({"type": "zoom", **bad})
    assert {"zoom"} == OBSERVE_TYPES and Zoom.traits == {Trait.OBSERVES, Trait.INERT}


def test_the_json_schema_and_prompt_offer_zoom_and_no_other_dialect_does() -> None:
    assert "zoom" in {d["properties"]["type"]["const"] for d in action_schema()["$defs"].values()}
    frame = Frame(screen_w=800, screen_h=600, input_w=800, input_h=600)
    region = screen_action_schema(frame)["$defs"]["Zoom"]["properties"]["region"]
    assert [a["maximum"] for a in region["prefixItems"]] == [799, 599, 799, 599]
    assert '"type": "zoom", "region"' in json_system(frame)
    assert "zoom" in FORMATS["json"].offers
    assert all("zoom" in d.not_offered for n, d in FORMATS.items() if n != "json")


def test_the_json_parser_maps_a_region_and_leaves_an_off_screen_one_to_the_loop() -> None:
    frame = Frame(screen_w=800, screen_h=600, input_w=800, input_h=600, convention="norm1000")
    text = '{"type": "zoom", "region": [500, 500, 1000, 1000]}'
    got = parse("json", text, frame, convention="norm1000")
    assert got.actions[0].region == (400.0, 300.0, 800.0, 600.0)  # type: ignore[union-attr]
    screen = Frame(screen_w=800, screen_h=600, input_w=800, input_h=600)
    off = parse("json", '{"type": "zoom", "region": [900, 0, 990, 50]}', screen)
    assert off.actions[0].region == (900, 0, 990, 50)  # type: ignore[union-attr]
    with pytest.raises(ParseError):
        parse("json", '{"type": "zoom", "region": [1, 2, 3]}', screen)


def test_an_answer_on_a_crop_maps_every_coordinate_back_to_the_screen() -> None:
    crop = region_crop(1000, 800, (100.4, 200, 500, 600.2), upscale=2)
    assert (crop.x1, crop.y1, crop.x2, crop.y2) == (100, 200, 500, 601)
    assert crop_record(crop) == {
        "crop": [100, 200, 500, 601],
        "size": [800, 802],
        "scale": 2,
        "resampling": "bicubic x2",
    }
    click = action_to_screen(crop, Click(point=(40, 60), box=(0, 0, 80, 100), target="OK"))
    assert click == Click(point=(120, 230), box=(100, 200, 140, 250), target="OK")
    drag = action_to_screen(crop, Drag(start=(0, 0), end=(800, 802)))
    assert drag == Drag(start=(100, 200), end=(500, 601))
    zoom = action_to_screen(crop, Zoom(region=(0, 0, 200, 100), scale=2))
    assert zoom == Zoom(region=(100, 200, 200, 250), scale=2)
    assert action_to_screen(crop, Type(text="x")) == Type(text="x")  # nothing to map


def test_a_region_with_no_pixel_on_screen_is_a_coordinate_error() -> None:
    for region in ((1000, 0, 1100, 50), (10, 10, 10, 90), (-50, -50, -1, -1)):
        with pytest.raises(CoordinateError):
            region_crop(1000, 800, region)


def test_an_env_handed_a_zoom_refuses_it_as_an_observation_action() -> None:
    from board_env import BoardEnv

    env = BoardEnv()
    env.reset()
    res = env.step(Zoom(region=(0, 0, 10, 10)))
    assert not res.terminated and not res.truncated
    assert res.info["error_code"] == "action_not_supported"
    assert "observation action: the agent loop reads its crop" in (
        res.observation.last_action_error or ""
    )
