"""The loop on a real (pure-Python) env with the scripted fake model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.episode.loop import LoopConfig
from agent.episode.recording import load_episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.scripted import ScriptedModel

OK = (100.0, 65.0)  # centre of the OK button at scale 1


def click(x: float, y: float) -> str:
    return json.dumps({"type": "click", "point": [x, y]})


FINISH = '{"type": "finish", "status": "success", "answer": "done"}'


def _run(tmp_path: Path, outputs: list[str], env: BoardEnv | None = None, **cfg: int):
    env = env or BoardEnv()
    model = ScriptedModel(outputs)
    ep = run(
        "press OK",
        env=env,
        model=model,
        out=tmp_path / "ep",
        config=LoopConfig(**cfg) if cfg else None,
    )
    return ep, env, model


def test_clicks_are_executed_and_recorded(tmp_path: Path) -> None:
    ep, env, _ = _run(tmp_path, [click(*OK), click(*OK), FINISH])
    assert ep.success and ep.outcome["answer"] == "done"
    assert env.state.buttons[0].clicks == 2
    assert len(ep.steps) == 3
    first = ep.steps[0]
    assert first["actions"][0]["action"] == {"type": "click", "point": [100.0, 65.0]}
    assert first["actions"][0]["input"] == {"point": [100, 65]}
    assert first["actions"][0]["gate"]["verdict"] == "allow"
    assert first["frame"]["input_w"] == 644 and first["frame"]["mode"] == "pad"
    for i in range(3):
        assert ep.screenshot_path(i).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((ep.dir / "episode.json").read_text())
    assert meta["outcome"]["status"] == "success" and meta["ended_at"] >= meta["started_at"]


def test_dsf2_board_clicks_land(tmp_path: Path) -> None:
    env = BoardEnv(scale=2.0)
    ep, env, _ = _run(tmp_path, [click(OK[0] * 2, OK[1] * 2), FINISH], env=env)
    assert env.state.buttons[0].clicks == 1
    assert ep.steps[0]["actions"][0]["input"] == {"point": [100, 65]}
    assert ep.steps[0]["observation"]["width"] == 1280


def test_malformed_output_is_retried_with_feedback_then_executed(tmp_path: Path) -> None:
    ep, env, model = _run(tmp_path, ["I would click OK", "{bad json", click(*OK), FINISH])
    assert env.state.buttons[0].clicks == 1
    step0 = ep.steps[0]
    assert [("error" in a) for a in step0["attempts"]] == [True, True, False]
    assert model.seen[1].feedback and "could not be parsed" in model.seen[1].feedback
    assert ep.success


def test_malformed_output_exhausted_is_recorded_never_executed(tmp_path: Path) -> None:
    ep, env, _ = _run(tmp_path, ["click OK", "click OK please", "OK!!", click(*OK)])
    assert env.state.buttons[0].clicks == 0
    assert ep.outcome["status"] == "parse_error"
    assert ep.steps[0]["actions"] == [] and len(ep.steps[0]["attempts"]) == 3
    assert "json" in ep.steps[0]["error"]


def test_failed_and_unsupported_actions_become_last_action_error(tmp_path: Path) -> None:
    nav = '{"type": "navigate", "url": "http://example.com"}'
    ep, _, model = _run(tmp_path, [nav, click(600, 340), FINISH])
    assert "does not support 'navigate'" in ep.steps[0]["actions"][0]["result"]["error"]
    assert model.seen[1].observation.last_action_error
    assert "nothing to click" in ep.steps[1]["actions"][0]["result"]["error"]
    assert ep.steps[1]["observation"]["last_action_error"]
    assert ep.success


def test_out_of_screen_point_is_an_error_not_a_click(tmp_path: Path) -> None:
    ep, env, _ = _run(tmp_path, [click(5000, 65)] * 3 + [FINISH])
    assert all(b.clicks == 0 for b in env.state.buttons)
    assert ep.outcome["status"] == "parse_error"
    assert "outside" in ep.steps[0]["error"]
    # an action built in code (no parser) is stopped by the env's coordinate check
    from agent.core.actions import Click

    env2 = BoardEnv()
    env2.reset()
    res = env2.step(Click(point=(5000, 65)))
    assert "CoordinateError" in (res.observation.last_action_error or "")
    assert all(b.clicks == 0 for b in env2.state.buttons) and not res.truncated


def test_no_progress_reprompts_then_stops(tmp_path: Path) -> None:
    empty = click(600, 340)  # nothing there: the screen never changes
    ep, _, model = _run(tmp_path, [empty] * 10, no_progress_k=3, max_steps=10)
    assert ep.outcome["status"] == "no_progress"
    assert any(s.get("no_progress_reprompt") for s in ep.steps)
    assert any(r.feedback and "did not change" in r.feedback for r in model.seen)
    assert len(ep.steps) == 5  # 3 repeats → re-prompt, 2 more after it → stop


def test_step_budget_and_history_window(tmp_path: Path) -> None:
    outputs = [click(*OK)] * 6
    ep, _, model = _run(tmp_path, outputs, max_steps=5, history_images=2)
    assert ep.outcome["status"] == "max_steps" and len(ep.steps) == 5
    last = model.seen[-1]
    assert len(last.history) == 4
    with_images = [h.index for h in last.history if h.observation is not None]
    assert with_images == [2, 3]


def test_call_user_ends_the_episode(tmp_path: Path) -> None:
    ask = '{"type": "call_user", "question": "Which card?"}'
    ep, _, _ = _run(tmp_path, [ask, click(*OK)])
    assert ep.outcome["status"] == "call_user" and ep.outcome["answer"] == "Which card?"
    assert len(ep.steps) == 1


def test_refuses_to_overwrite_an_episode(tmp_path: Path) -> None:
    from agent.core.errors import RecordingError

    _run(tmp_path, [FINISH])
    with pytest.raises(RecordingError):
        _run(tmp_path, [FINISH])
    assert load_episode(tmp_path / "ep").success
