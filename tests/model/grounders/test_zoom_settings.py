"""The zoom settings reaching users: ``agent run --zoom …`` flags → ``load_grounder(spec,
zoom=…)`` → a ZoomGrounder whose crop size, upscale and sampling show in the recorded step's
grounding ``zoom`` record (the real run parser, the planner pipeline, a real pure-Python env
at DSF 2, scripted planner and grounder); every bad value is a ConfigError naming the fix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.cli import build_parser
from agent.commands.flags import zoom_settings
from agent.commands.run import _load_model, _plan_meta
from agent.core.errors import ConfigError
from agent.core.observation import Observation
from agent.episode.runner import run
from board_env import BoardEnv
from model.grounders.registry import load_grounder
from model.grounders.zoom import ZoomGrounder

PAY = [860, 130]  # "Pay now" on BoardEnv(scale=2), screenshot px


def _files(tmp: Path, answers: list[dict[str, Any]]) -> tuple[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    plan, found = tmp / "plan.json", tmp / "ground.json"
    plan.write_text(json.dumps({"format": "instructions", "outputs": ['click "Pay now"']}))
    found.write_text(json.dumps(answers))
    return str(plan), str(found)


def _args(tmp: Path, *flags: str, answers: list[dict[str, Any]] | None = None) -> Any:
    plan, found = _files(tmp, answers or [{"point": PAY}, {"point": PAY}])
    argv = ["run", "--task", "pay", "--planner", f"scripted:{plan}"]
    return build_parser().parse_args([*argv, "--grounder", f"scripted:{found}", *flags])


def _zoom_record(tmp: Path, *flags: str, answers: list[dict[str, Any]] | None = None) -> Any:
    args = _args(tmp, *flags, answers=answers)
    model, _ = _load_model(args)
    env = BoardEnv(scale=2.0)
    ep = run("pay", env=env, model=model, out=tmp / "ep", no_gate=True, max_steps=1)
    assert env.state.buttons[2].clicks == 1  # the grounded point was clicked
    return ep.steps[0]["trace"]["grounding"]["zoom"], args


def test_zoom_size_and_upscale_show_in_the_recorded_grounding(tmp_path: Path) -> None:
    small, _ = _zoom_record(tmp_path / "a", "--zoom", "always", "--zoom-size", "200x100")
    assert small["zoomed"] and small["crop"] == [760, 80, 960, 180] and small["upscale"] == 1
    big, args = _zoom_record(
        tmp_path / "b", "--zoom", "always", "--zoom-size", "400x200", "--zoom-upscale"
    )
    assert big["crop"] == [660, 30, 1060, 230] and big["upscale"] == 2
    assert big["resampling"] == "bicubic x2"
    assert _plan_meta(args)["zoom"]["zoom_size"] == (400, 200)  # recorded in episode.json
    half, _ = _zoom_record(tmp_path / "c", "--zoom", "always", "--zoom-fraction", "0.5")
    assert half["crop"] == [540, 0, 1180, 360]  # 640x360, shifted down at the top edge


def test_uncertain_zoom_compares_the_samples_against_the_threshold(tmp_path: Path) -> None:
    near = [{"point": PAY}, {"point": [862, 130]}, {"point": PAY}]
    calm, _ = _zoom_record(tmp_path / "a", "--zoom", "uncertain", "--zoom-samples", "2",
                           answers=near)  # fmt: skip
    assert calm["zoomed"] is False and len(calm["samples"]) == 2 and calm["threshold_px"] == 32
    tight, _ = _zoom_record(tmp_path / "b", "--zoom", "uncertain", "--zoom-samples", "2",
                            "--zoom-threshold", "0.25", answers=near)  # fmt: skip
    assert tight["zoomed"] is True and tight["threshold_px"] == 0.5


def test_zoom_off_leaves_the_grounder_as_it_is(tmp_path: Path) -> None:
    _, found = _files(tmp_path, [{"point": PAY}])
    assert not isinstance(load_grounder(f"scripted:{found}"), ZoomGrounder)
    assert not isinstance(load_grounder(f"scripted:{found}", zoom="off"), ZoomGrounder)
    g = load_grounder(f"scripted:{found}", zoom="always", zoom_size=(64, 32), zoom_upscale=True)
    assert isinstance(g, ZoomGrounder) and g.size == (64, 32) and g.upscale == 2
    shot = Observation(array=np.zeros((720, 1280, 3), np.uint8))
    assert g.crop_for(shot, (5, 5)).box == (0, 0, 64, 32)


@pytest.mark.parametrize(
    ("flags", "fix"),
    [
        (["--zoom-size", "200x100"], "add --zoom always"),
        (["--zoom", "off", "--zoom-upscale"], "add --zoom always"),
        (["--zoom", "always", "--zoom-fraction", "2"], "in (0, 1], got 2.0: e.g. 0.25"),
        (["--zoom", "always", "--zoom-size", "0x100"], "must be positive px"),
        (["--zoom", "always", "--zoom-size", "9x9", "--zoom-fraction", ".5"], "not both"),
        (["--zoom", "always", "--zoom-samples", "4"], "goes with --zoom uncertain"),
        (["--zoom", "uncertain", "--zoom-samples", "1"], "at least 2"),
        (["--zoom", "uncertain", "--zoom-threshold", "-1"], "≥ 0 CSS px"),
    ],
)
def test_bad_zoom_settings_name_the_fix(tmp_path: Path, flags: list[str], fix: str) -> None:
    with pytest.raises(ConfigError, match=fix.replace("(", r"\(").replace("]", r"\]")):
        zoom_settings(_args(tmp_path, *flags))


def test_zoom_without_a_planner_names_the_fix() -> None:
    args = build_parser().parse_args(["run", "--task", "x", "--model", "ocr", "--zoom", "always"])
    with pytest.raises(ConfigError, match="add --planner"):
        _load_model(args)
    assert zoom_settings(argparse.Namespace()) == {}
