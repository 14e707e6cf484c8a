"""The no-progress guard compares the whole point (issue 15): clicks that move down a
column (same x, another y) or along a row (same y, another x) are different actions, even
on a screen that never changes — only the same point again and again trips the guard.
Real board env (empty board area: a click there changes nothing), scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from agent.episode.loop import LoopConfig
from agent.episode.recording import Episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.scripted import ScriptedModel

FINISH = json.dumps({"type": "finish", "status": "success"})


def _clicks(points: list[tuple[float, float]], tmp_path: Path) -> Episode:
    outputs = [json.dumps({"type": "click", "point": list(p)}) for p in points] + [FINISH]
    return run(
        "look around",
        env=BoardEnv(),
        model=ScriptedModel(outputs),
        out=tmp_path / "ep",
        config=LoopConfig(no_progress_k=3, max_steps=20),
        no_gate=True,
    )


def test_same_x_different_y_is_progress(tmp_path: Path) -> None:
    ep = _clicks([(600.0, y) for y in (250.0, 280.0, 310.0, 340.0)], tmp_path)
    assert ep.outcome["status"] == "success"
    assert not any(s.get("no_progress_reprompt") for s in ep.steps)
    assert [s["actions"][0]["action"]["point"][1] for s in ep.steps[:4]] == [250, 280, 310, 340]


def test_same_y_different_x_is_progress(tmp_path: Path) -> None:
    ep = _clicks([(x, 340.0) for x in (540.0, 570.0, 600.0, 630.0)], tmp_path)
    assert ep.outcome["status"] == "success"
    assert not any(s.get("no_progress_reprompt") for s in ep.steps)


def test_the_same_point_three_times_trips_the_guard(tmp_path: Path) -> None:
    """The control: the same empty spot thrice re-prompts (then, repeated, stops)."""
    ep = _clicks([(600.0, 280.0)] * 6, tmp_path)
    assert ep.steps[2].get("no_progress_reprompt") is True
    assert ep.outcome["status"] == "no_progress"
