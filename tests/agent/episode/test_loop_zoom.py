"""The ``zoom`` observation action in the real loop on a real (pure-Python) env at DSF 2: the
next request reads the crop, its click is mapped back to the screen, the step after sees the
whole screen; a region off the screen is a typed error the model reads, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from agent.episode.checker import ModelChecker
from agent.episode.runner import run
from agent.episode.steps import read_steps
from board_env import BoardEnv
from model.scripted import ScriptedModel

# BoardEnv(scale=2): a 1280x720 screenshot; "Pay now" spans (720, 80)-(1000, 180) px
PAY, OK = (860.0, 130.0), (200.0, 130.0)
FINISH = '{"type": "finish", "status": "success", "answer": "done"}'


def _zoom(region: list[float], scale: int = 1) -> str:
    return json.dumps({"type": "zoom", "region": region, "scale": scale})


def _click(x: float, y: float) -> str:
    return json.dumps({"type": "click", "point": [x, y]})


def _run(tmp_path: Path, outputs: list[str]) -> tuple[Any, BoardEnv, ScriptedModel]:
    env, model = BoardEnv(scale=2.0), ScriptedModel(outputs)
    ep = run("pay", env=env, model=model, out=tmp_path / "ep", no_gate=True)
    return ep, env, model


def test_a_zoom_shows_the_crop_next_and_its_click_lands_on_the_screen(tmp_path: Path) -> None:
    # crop px (140, 50) is screen px (640 + 140, 80 + 50) = (780, 130): inside "Pay now"
    outputs = [_zoom([640, 80, 1280, 400]), _click(140, 50), _click(*OK), FINISH]
    ep, env, model = _run(tmp_path, outputs)
    assert [b.clicks for b in env.state.buttons] == [1, 0, 1]
    full, crop, after = (r.observation for r in model.seen[:3])
    assert full.size == after.size == (1280, 720)
    assert crop.size == (640, 320) and crop.scale == 2.0  # native px: no resize
    assert np.array_equal(crop.array, full.array[80:400, 640:1280])
    zoom = ep.steps[0]["actions"][0]
    assert zoom["zoom"] == {
        "region": [640.0, 80.0, 1280.0, 400.0],
        "crop": [640, 80, 1280, 400],
        "size": [640, 320],
        "scale": 1,
        "resampling": None,
    }
    assert "result" not in zoom and "error" not in zoom  # no env ran it
    read = ep.steps[1]
    assert read["zoomed"]["step"] == 0 and read["zoomed"]["crop"] == [640, 80, 1280, 400]
    assert read["zoomed"]["frame"]["screen_w"] == 640  # the request's frame is the crop's
    assert read["frame"]["screen_w"] == 1280  # the env's input is read back through this
    clicked = read["actions"][0]
    assert clicked["action"]["point"] == [780.0, 130.0]  # mapped before the gate and env
    assert clicked["input"] == {"point": [390, 65]}  # CSS px at DSF 2
    assert "zoomed" not in ep.steps[2] and ep.steps[2]["actions"][0]["input"]["point"] == [100, 65]
    typed = read_steps(ep.dir)  # the one reader of step lines types both records
    assert typed[0].actions[0].zoom == zoom["zoom"] and not typed[0].actions[0].ran
    assert typed[1].zoomed == read["zoomed"] and typed[2].zoomed is None
    assert typed[1].executed_point == (780.0, 130.0)


def test_a_scale_2_zoom_reads_the_recorded_upscale(tmp_path: Path) -> None:
    # ×2: crop image px (440, 100) is screen px (640 + 220, 80 + 50) = PAY
    ep, env, model = _run(tmp_path, [_zoom([640, 80, 1280, 400], 2), _click(440, 100), FINISH])
    assert env.state.buttons[2].clicks == 1
    crop = model.seen[1].observation
    assert crop.size == (1280, 640) and crop.scale == 4.0
    assert ep.steps[0]["actions"][0]["zoom"]["resampling"] == "bicubic x2"
    assert ep.steps[1]["zoomed"]["size"] == [1280, 640]
    assert ep.steps[1]["actions"][0]["action"]["point"] == list(PAY)


def test_a_region_off_the_screen_is_a_typed_error_the_model_reads(tmp_path: Path) -> None:
    ep, env, model = _run(tmp_path, [_zoom([1300, 0, 1400, 50]), _click(*PAY), FINISH])
    assert env.state.buttons[2].clicks == 1  # the click after, on the whole screen
    bad = ep.steps[0]["actions"][0]
    assert bad["error_code"] == "coordinate" and "overlaps the 1280x720" in bad["error"]
    second = model.seen[1]
    assert second.observation.size == (1280, 720)
    assert "overlaps the 1280x720" in (second.observation.last_action_error or "")
    assert "zoomed" not in ep.steps[1]


def test_the_model_checker_is_not_asked_about_a_zoom(tmp_path: Path) -> None:
    env, judge = BoardEnv(scale=2.0), ScriptedModel(["A", "A"])
    outputs = [_zoom([640, 80, 1280, 400]), _click(140, 50), FINISH]
    ep = run("pay", env=env, model=ScriptedModel(outputs), out=tmp_path / "ep", no_gate=True,
             checker=ModelChecker(judge))  # fmt: skip
    assert env.state.buttons[2].clicks == 1 and len(judge.seen) == 1
    assert "checker" not in ep.steps[0] and ep.steps[1]["checker"]["outcome"] == "success"
