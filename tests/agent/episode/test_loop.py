"""The loop on a real (pure-Python) env with the scripted fake model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agent.core.actions import Action
from agent.core.coords import Frame
from agent.core.env import Env
from agent.core.observation import Observation
from agent.episode.loop import LoopConfig
from agent.episode.recording import load_episode
from agent.episode.runner import run
from agent.episode.steps import PHASES
from agent.safety.gate import Decision
from board_env import BoardEnv
from model.scripted import ScriptedModel

OK = (100.0, 65.0)  # centre of the OK button at scale 1


def click(x: float, y: float) -> str:
    return json.dumps({"type": "click", "point": [x, y]})


FINISH = '{"type": "finish", "status": "success", "answer": "done"}'


def _run(
    tmp_path: Path,
    outputs: list[str],
    env: BoardEnv | None = None,
    history_images: int | None = None,
    **cfg: int,
):
    env = env or BoardEnv()
    model = ScriptedModel(outputs)
    if history_images is not None:
        model.history_images = history_images
    ep = run(
        "press OK",
        env=env,
        model=model,
        out=tmp_path / "ep",
        config=LoopConfig(**cfg) if cfg else None,
        no_gate=True,
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


class Snapshots(ScriptedModel):
    """Records, at each request, which history steps carry a screenshot and which."""

    def act(self, request):  # type: ignore[no-untyped-def]
        self.shots = getattr(self, "shots", [])
        self.currents = getattr(self, "currents", [])
        self.shots.append([(h.index, h.observation) for h in request.history if h.observation])
        self.currents.append(request.observation)
        return super().act(request)


def test_the_loop_keeps_screenshots_in_blocks(tmp_path: Path) -> None:
    """history_block=3 (2 images on average): the loop sends steps ≥ ⌊(n − 1) / 3⌋ · 3 with
    their screenshots — each the very one its own step's request had as current."""
    model = Snapshots([click(*OK)] * 8)
    model.history_block = 3
    ep = run("press OK", env=BoardEnv(), model=model, out=tmp_path / "ep", no_gate=True,
             config=LoopConfig(max_steps=8))  # fmt: skip
    assert len(ep.steps) == 8
    shown = [[i for i, _ in shots] for shots in model.shots]
    assert shown == [[], [0], [0, 1], [0, 1, 2], [3], [3, 4], [3, 4, 5], [6]]
    for shots in model.shots:
        assert all(o is model.currents[i] for i, o in shots)


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


# ---- per-phase timings ----------------------------------------------------------------------


REPORTED = {"capture_s": 0.004, "decode_s": 0.002, "settle_s": 0.003}


class TimedBoard(BoardEnv):
    """The board, with an action that takes 60 ms and a capture that reports its own phases
    (as envs that time their capture do, on ``Observation.timings``)."""

    def _execute(self, action: Action, frame: Frame) -> None:
        time.sleep(0.06)
        super()._execute(action, frame)

    def _capture(self) -> Observation:
        obs = super()._capture()
        time.sleep(sum(REPORTED.values()))  # the time the figures account for
        obs.timings = dict(REPORTED)  # type: ignore[attr-defined]  # until Observation has it
        return obs


class SlowGate:
    """Allows everything after 30 ms (a policy that reads a target takes a while)."""

    def check(self, action: Action, env: Env, obs: Observation) -> Decision:
        time.sleep(0.03)
        return Decision("allow")


def test_every_step_line_carries_the_phase_timings(tmp_path: Path) -> None:
    bad = "not an action"
    ep = run(
        "press OK",
        env=TimedBoard(),
        model=ScriptedModel([click(*OK), bad, bad, bad, click(*OK), FINISH]),
        out=tmp_path / "ep",
        gate=SlowGate(),
    )
    assert [s.actions[0].type if s.actions else None for s in ep.records] == [
        "click", None,
    ]  # fmt: skip
    assert ep.outcome["status"] == "parse_error"
    for step in ep.records:
        t = step.timings
        assert set(PHASES) | {"step_s"} <= set(t), t
        assert all(t[k] >= 0 for k in PHASES)
        assert sum(t[k] for k in PHASES) <= t["step_s"] + 1e-6  # the phases partition it
    click_step, parse_step = ep.records
    t = click_step.timings
    assert t["gate_s"] >= 0.03 and t["model_s"] > 0 and t["parse_s"] > 0
    assert t["execute_s"] >= 0.06  # the action itself, without the env's capture figures
    # the env's own figures for the screen it captured after the click, taken as reported
    assert (t["capture_s"], t["decode_s"], t["settle_s"]) == (0.004, 0.002, 0.003)
    assert t["mask_s"] > 0 and t["record_s"] > 0
    assert sum(t[k] for k in PHASES) >= 0.8 * t["step_s"]  # little left unaccounted
    p = parse_step.timings
    assert p["execute_s"] == p["gate_s"] == p["capture_s"] == 0.0  # nothing ran
    assert p["parse_s"] > 0 and p["model_s"] > 0  # three attempts, each parsed


def test_a_denied_action_reuses_the_observation(tmp_path: Path) -> None:
    class Deny:
        def check(self, action: Action, env: Env, obs: Observation) -> Decision:
            return Decision("deny", "test", "no")

    ep = run("press OK", env=TimedBoard(), model=ScriptedModel([click(*OK), FINISH]),
             out=tmp_path / "ep", gate=Deny())  # fmt: skip
    t = ep.records[0].timings
    # nothing ran, so nothing is captured again (issue 14): the same screen, with the error
    assert t["execute_s"] == t["capture_s"] == t["decode_s"] == t["settle_s"] == 0.0
    error = ep.steps[1]["observation"]["last_action_error"]
    assert error.startswith("ActionDeniedError: denied by test")


class _DenyClicks:
    def check(self, action: Action, env: Env, obs: Observation) -> Decision:
        return (
            Decision("deny", "test", "no clicks") if action.type == "click" else Decision("allow")
        )


def test_step_lines_and_outcomes_carry_stable_error_codes(tmp_path: Path) -> None:
    typed = json.dumps({"type": "type", "text": "{{secret:missing}}", "point": [100, 65]})
    outputs = [click(*OK), typed, "not an action", "still not", "nor this"]
    ep = run(
        "press OK",
        env=BoardEnv(),
        model=ScriptedModel(outputs),
        out=tmp_path / "ep",
        gate=_DenyClicks(),  # type: ignore[arg-type]
    )
    denied, unknown, broken = ep.steps
    assert denied["actions"][0]["error_code"] == "denied"
    assert unknown["actions"][0]["error_code"] == "action_failed"  # no such secret: never typed
    assert broken["error_code"] == "parse"
    assert all(a["error_code"] == "parse" for a in broken["attempts"])
    assert ep.outcome["status"] == "parse_error" and ep.outcome["error_code"] == "parse"
