"""The pointer: envs track where it rests (recorded with each step in the Frame), so the
cookbook's ``mouse_move`` then a bare ``left_click`` — or a coordinate-only
``left_click_drag`` — act where the pointer is (real headless Chromium, the real loop)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.calibration import make_surface
from agent.core.actions import Drag, Hover, Key, Type
from agent.core.coords import input_to_screen
from agent.core.env import pointer_after
from agent.episode.runner import run
from model.scripted import ScriptedModel


def call(**arguments: object) -> str:
    return (
        "<tool_call>\n"
        + json.dumps({"name": "computer_use", "arguments": arguments})
        + ("\n</tool_call>")
    )


def test_pointer_after_each_action_kind() -> None:
    assert pointer_after(Hover(point=(3, 4))) == (3, 4)
    assert pointer_after(Drag(start=(1, 1), end=(7, 8))) == (7, 8)
    assert pointer_after(Type(text="x", point=(5, 6))) == (5, 6)
    assert pointer_after(Type(text="x")) is None and pointer_after(Key(keys="enter")) is None


@pytest.mark.browser
@pytest.mark.parametrize("dsf", [1.0, 2.0])
def test_mouse_move_then_left_click_clicks_where_the_pointer_is(dsf: float, tmp_path: Path):
    surface = make_surface("browser", viewport=(640, 400), dsf=dsf)
    try:
        target = surface.targets[7]
        geo = surface.env.observe().frame()
        x, y = input_to_screen(geo, target.x, target.y)  # screenshot px = Qwen2.5-VL pad px
        script = [
            call(action="mouse_move", coordinate=[x, y]),
            call(action="left_click"),  # no coordinate: at the pointer
            call(action="left_click_drag", coordinate=[x + 40 * dsf, y]),  # from the pointer
            call(action="terminate", status="success"),
        ]
        surface.mark()
        episode = run(
            "click the target",
            env=surface.env,
            model=ScriptedModel(script, format="qwen2.5-vl"),
            out=tmp_path / "ep",
            max_steps=4,
            no_gate=True,
        )
        steps = episode.steps
        assert steps[0]["frame"]["pointer"] is None  # nothing moved it yet
        assert steps[1]["frame"]["pointer"] == [x, y]  # recorded with the step
        assert steps[1]["actions"][0]["action"] == {"type": "click", "point": [x, y]}
        clicks = surface.env.page.evaluate("() => window.__clicks")  # type: ignore[attr-defined]
        assert clicks[0] == [target.x, target.y]  # the click landed on the target, CSS px
        drag = steps[2]["actions"][0]["action"]
        assert drag["type"] == "drag" and drag["start"] == [x, y]
        assert clicks[1] == [target.x, target.y]  # the drag pressed where the pointer was
        assert steps[3]["frame"]["pointer"] == [x + 40 * dsf, y]
    finally:
        surface.close()


def test_a_bare_click_with_no_known_pointer_is_a_parse_error(tmp_path: Path) -> None:
    from board_env import BoardEnv

    episode = run(
        "click",
        env=BoardEnv(),
        model=ScriptedModel([call(action="left_click")] * 3, format="qwen2.5-vl"),
        out=tmp_path / "ep",
        max_steps=1,
        no_gate=True,
    )
    attempts = episode.steps[0]["attempts"]
    assert attempts and "pointer" in attempts[0]["error"]
    assert episode.steps[0]["actions"] == []
