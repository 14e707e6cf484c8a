"""The worked example env (examples/board_env.py): it conforms, and it behaves."""

from __future__ import annotations

import pytest

from agent.core.actions import Click, Key, Type
from agent.core.coords import input_to_screen
from board_env import BoardEnv
from envs.conformance import assert_conforms


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_board_conforms(scale: float) -> None:
    report = assert_conforms(lambda: BoardEnv(scale=scale))
    assert report.env == "board"


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_clicking_ok_increments_its_counter(scale: float) -> None:
    env = BoardEnv(scale=scale)
    obs = env.reset()
    assert obs.size == (int(640 * scale), int(360 * scale))
    ok = env.state.buttons[0]
    ux, uy = (ok.box[0] + ok.box[2]) / 2, (ok.box[1] + ok.box[3]) / 2
    point = input_to_screen(obs.frame(), ux, uy)  # logical units → screenshot px
    assert point == (100 * scale, 65 * scale)
    for n in (1, 2):
        res = env.step(Click(point=point))
        assert res.observation.last_action_error is None
        assert ok.clicks == n
    assert [b.clicks for b in env.state.buttons[1:]] == [0, 0]


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_type_into_the_name_field(scale: float) -> None:
    env = BoardEnv(scale=scale)
    env.reset()
    res = env.step(Type(text="Ada"))
    assert "click the field first" in (res.observation.last_action_error or "")
    field_centre = (240 * scale, 220 * scale)
    env.step(Type(text="Ada", point=field_centre))
    env.step(Key(keys="backspace"))
    assert env.state.text == "Ad" and env.state.focused
