"""Best-of-N per step: K planner samples read, the unreadable dropped, the identical merged,
the judge asked only between distinct answers, its pick grounded and executed (the board's
own state shows which button was pressed), all of it in the step line's ``trace.best_of``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.core.errors import ConfigError
from agent.episode.recording import Episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.grounders.scripted import ScriptedGrounder
from model.judge import Judge
from model.planner import PlannedModel
from model.scripted import ScriptedModel

# the board's buttons (screen px); the planner never writes these, the grounder does
POINTS = {'"OK"': [100, 65], '"Cancel"': [260, 65], '"Pay now"': [430, 65]}


def _run(
    tmp_path: Path, outputs: list[str | list[str]], verdicts: list[str], k: int = 4
) -> tuple[Episode, BoardEnv, ScriptedModel, ScriptedModel]:
    planner, judge = ScriptedModel(outputs, "instructions"), ScriptedModel(verdicts)
    grounder = ScriptedGrounder({d: {"point": p} for d, p in POINTS.items()})
    model = PlannedModel(planner, grounder, samples=k, judge=Judge(judge))
    env = BoardEnv()
    ep = run("press the right button", env=env, model=model, out=tmp_path / "ep", no_gate=True)
    return ep, env, planner, judge


def _clicks(env: BoardEnv) -> dict[str, int]:
    return {b.label: b.clicks for b in env.state.buttons}


def test_the_judge_picks_among_distinct_readable_samples(tmp_path: Path) -> None:
    samples = ['click "OK"', 'click "Cancel"', 'click "OK"', "fly to the moon"]
    ep, env, _, judge = _run(tmp_path, [samples, 'finish "done"'], ["1"])
    assert _clicks(env) == {"OK": 0, "Cancel": 1, "Pay now": 0}  # the judge's pick ran
    best = ep.steps[0]["trace"]["best_of"]
    assert best["samples"] == 4 and [c["raw"] for c in best["candidates"]] == samples
    assert best["candidates"][2]["same_as"] == 0  # merged with the first
    assert "error" in best["candidates"][3] and "action" not in best["candidates"][3]
    assert best["candidates"][1]["description"] == '"Cancel"'
    assert best["distinct"] == [0, 1] and best["chosen"] == 1
    verdict = best["judge"]
    assert verdict["index"] == 1 and verdict["raw"] == "1" and verdict["fell_back"] is False
    assert verdict["candidates"] == [
        '{"type": "click", "target": "\\"OK\\""}',
        '{"type": "click", "target": "\\"Cancel\\""}',
    ]
    asked = judge.seen[0]
    assert asked.constraint == {"choice": ["0", "1"]} and verdict["prompt"] == asked.task
    assert "press the right button" in asked.task
    # the chosen answer is the one grounded and recorded as the planner's
    assert ep.steps[0]["trace"]["planner"]["raw"] == 'click "Cancel"'
    assert ep.steps[0]["actions"][0]["action"]["point"] == POINTS['"Cancel"']
    # a plain string entry is K equal samples: merged, no judge asked
    last = ep.steps[1]["trace"]["best_of"]
    assert last["distinct"] == [0] and last["judge"] is None and len(judge.seen) == 1
    assert ep.outcome["status"] == "success" and ep.meta["model"]["samples"] == 4
    assert "Which candidate" in ep.meta["model"]["judge"]["prompts"]["step"]
    # the step's timings split the planner's time from the judge's
    assert {"model.judge_s", "model.planner_s"} <= set(ep.steps[0]["timings"])
    assert "model.judge_s" not in ep.steps[1]["timings"]


def test_a_bad_verdict_falls_back_to_the_first_distinct_sample(tmp_path: Path) -> None:
    ep, env, _, _ = _run(tmp_path, [['click "Pay now"', 'click "OK"'], "finish"], ["7"], k=2)
    assert _clicks(env) == {"OK": 0, "Cancel": 0, "Pay now": 1}
    verdict = ep.steps[0]["trace"]["best_of"]["judge"]
    assert verdict["fell_back"] is True and verdict["index"] == 0 and verdict["raw"] == "7"
    assert "not one number" in verdict["fallback"]


def test_no_readable_sample_presses_nothing(tmp_path: Path) -> None:
    ep, env, planner, judge = _run(tmp_path, [["nonsense", "more nonsense"], "finish"], [], k=2)
    assert _clicks(env) == {"OK": 0, "Cancel": 0, "Pay now": 0} and not judge.seen
    step = ep.steps[0]
    assert step["actions"][0]["action"] == {"type": "wait", "seconds": 0.0}
    best = step["trace"]["best_of"]
    assert best["distinct"] == [] and best["judge"] is None
    assert all("error" in c for c in best["candidates"])
    assert "could not be read" in str(planner.seen[1].feedback)


def test_samples_need_a_judge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grounder = ScriptedGrounder({})
    with pytest.raises(ConfigError, match="--judge MODEL"):
        PlannedModel(ScriptedModel([]), grounder, samples=3)
    with pytest.raises(ConfigError, match="≥ 1"):
        PlannedModel(ScriptedModel([]), grounder, samples=0)
    plan = tmp_path / "p.json"
    plan.write_text(json.dumps({"format": "instructions", "outputs": [["wait", "wait"]]}))
    for argv, says in [
        (["--planner", f"scripted:{plan}", "--samples", "2"], "needs --judge MODEL"),
        (["--samples", "2", "--judge", f"scripted:{plan}"], "give --planner"),
        (["--judge", f"scripted:{plan}"], "--samples K (K ≥ 2) or --runs N"),
        (["--runs", "2"], "--runs 2 needs --judge MODEL"),
    ]:
        assert main(["run", "--task", "x", *argv]) == 2
        assert says in capsys.readouterr().err
