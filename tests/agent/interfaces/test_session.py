"""ActionSession on the pure-Python example env: how an externally driven episode ends and
what its recording says (the Gymnasium and MCP interfaces both stand on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.core.errors import ConfigError
from agent.episode.recording import load_episode
from agent.interfaces.session import ActionSession, coerce_action, grounding_task, resolve_task
from board_env import BoardEnv


@pytest.mark.parametrize(
    ("last", "status"),
    [
        ({"type": "finish"}, "success"),
        ({"type": "finish", "status": "failure"}, "failure"),
        ({"type": "call_user", "question": "which one?"}, "call_user"),
    ],
)
def test_terminal_actions_end_the_recording(tmp_path: Path, last: dict, status: str) -> None:
    session = ActionSession(BoardEnv(), record_dir=tmp_path)
    with pytest.raises(ConfigError, match="no episode in progress"):
        session.act({"type": "wait", "seconds": 0})
    session.start(None, "press OK")
    res = session.act({"type": "move", "to": [1, 2]})  # not an action: recorded, not run
    assert res.error and "not a valid action" in res.error and not res.terminated
    assert session.act({"type": "wait", "seconds": 0}).error is None
    res = session.act(last)
    assert res.terminated and session.writer is None
    with pytest.raises(ConfigError, match="episode has ended"):
        session.act({"type": "wait", "seconds": 0})
    ep = load_episode(session.last_dir)
    session.close()
    assert ep.outcome["status"] == status and ep.outcome["steps"] == 3
    assert [s["index"] for s in ep.steps] == [0, 1, 2]
    assert "error" in ep.steps[0] and ep.steps[1]["actions"][0]["gate"]["verdict"] == "allow"


def test_budget_and_helpers(tmp_path: Path) -> None:
    session = ActionSession(BoardEnv(), record_dir=tmp_path, max_steps=1)
    session.start(None, "anything")
    res = session.act({"type": "wait", "seconds": 0})
    assert res.truncated and "max_steps=1" in res.info["budget"]
    assert load_episode(session.last_dir).outcome["status"] == "max_steps"
    session.close()
    with pytest.raises(ConfigError, match="max_steps"):
        ActionSession(BoardEnv(), max_steps=0)
    assert grounding_task('the "Save" button') == "click \"the 'Save' button\""
    assert resolve_task("book a flight", None) == (None, "book a flight")
    task, goal = resolve_task("flights/book-cheapest", None)
    assert task is not None and task.id == "flights/book-cheapest" and goal == task.goal
    assert coerce_action('{"type": "key", "keys": "Control+C"}').keys == "ctrl+c"


def test_errors_carry_their_stable_codes(tmp_path: Path) -> None:
    from agent.safety.gate import Decision

    class DenyWaits:
        def check(self, action: object, env: object, obs: object) -> Decision:
            kind = getattr(action, "type", "")
            return Decision("deny", "test", "no waiting") if kind == "wait" else Decision("allow")

    session = ActionSession(BoardEnv(), gate=DenyWaits(), record_dir=tmp_path, max_steps=3)  # type: ignore[arg-type]
    session.start(None, "press OK")
    assert session.act({"type": "move", "to": [1, 2]}).error_code == "config"
    denied = session.act({"type": "wait", "seconds": 0})
    assert denied.error_code == "denied" and not denied.executed
    res = session.act({"type": "navigate", "url": "http://example.com"})  # BoardEnv can't
    assert res.error_code == "action_not_supported" and res.executed  # it ran, and failed
    assert res.truncated  # the budget ends it
    outcome = load_episode(session.last_dir).outcome
    session.close()
    assert outcome["error_code"] == "action_not_supported" and outcome["status"] == "max_steps"
    steps = load_episode(session.last_dir).steps
    assert steps[0]["error_code"] == "config" and steps[1]["actions"][0]["error_code"] == "denied"


def test_a_zoom_action_reports_its_crop_and_runs_nothing(tmp_path: Path) -> None:
    session = ActionSession(BoardEnv(), record_dir=tmp_path)
    session.start(None, "look closer")
    res = session.act({"type": "zoom", "region": [10, 20.5, 110, 70], "scale": 2})
    assert not res.executed and res.error is None and not res.terminated
    assert res.info["zoom"]["crop"] == [10, 20, 110, 70] and res.info["zoom"]["size"] == [200, 100]
    assert res.observation.size == (640, 360)  # the screen as it is
    off = session.act({"type": "zoom", "region": [700, 0, 800, 50]})
    assert off.error_code == "coordinate" and "overlaps the 640x360" in (off.error or "")
