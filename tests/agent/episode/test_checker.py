"""The optional model step check: a scripted checker model on the board env (examples/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent.cli import build_parser, main
from agent.commands.run import load_checker
from agent.episode.checker import ModelChecker, read_outcome
from agent.episode.loop import LoopConfig
from agent.episode.recording import Episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.scripted import ScriptedModel

OK = (100.0, 65.0)  # the OK button: every click redraws its counter (no loop-guard nudges)
CLICK = json.dumps({"type": "click", "point": list(OK)})
FINISH = json.dumps({"type": "finish", "status": "success"})


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("B", "wrong_page"),
        ("(c).", "no_change"),
        ("success", "success"),
        ("This is a success.", "success"),
        ("No change happened", "no_change"),
        ("wrong-page", "wrong_page"),
        ("success or wrong page", "unknown"),
        ("", "unknown"),
        ("D", "unknown"),
    ],
)
def test_the_answer_must_name_exactly_one_outcome(text: str, outcome: str) -> None:
    assert read_outcome(text) == outcome


def _run(
    tmp_path: Path, verdicts: list[str], steps: int, replan_after: int = 2
) -> tuple[Episode, ScriptedModel, ScriptedModel]:
    model, judge = ScriptedModel([CLICK] * steps + [FINISH]), ScriptedModel(verdicts)
    checker = ModelChecker(judge, replan_after=replan_after)
    ep = run(
        "press OK",
        env=BoardEnv(),
        model=model,
        out=tmp_path / "ep",
        config=LoopConfig(max_steps=10, loop_nudges=()),  # only the checker speaks
        no_gate=True,
        checker=checker,
    )
    return ep, model, judge


def test_two_bad_checks_in_a_row_make_the_model_replan(tmp_path: Path) -> None:
    verdicts = ["C", "no_change", "B", "A", "B", "wrong page"]
    ep, model, judge = _run(tmp_path, verdicts, steps=6)
    assert [s["checker"]["outcome"] for s in ep.steps[:6]] == [
        "no_change", "no_change", "wrong_page", "success", "wrong_page", "wrong_page"
    ]  # fmt: skip
    # the count restarts after a re-plan and after a success
    assert [s["checker"].get("replan", False) for s in ep.steps[:6]] == [
        False, True, False, False, False, True
    ]  # fmt: skip
    assert [i for i, r in enumerate(model.seen) if r.feedback] == [2, 6]
    assert "re-plan" in str(model.seen[2].feedback)
    # the checker saw the goal, the action and the screen after it
    asked = judge.seen[0]
    assert "press OK" in asked.task and "click (100, 65)" in asked.task
    assert "changed, region" in asked.task
    assert np.array_equal(asked.observation.array, model.seen[1].observation.array)  # after
    assert not np.array_equal(asked.observation.array, model.seen[0].observation.array)
    assert ep.steps[0]["checker"]["prompt"] == asked.task and ep.steps[0]["checker"]["raw"] == "C"
    assert "finish" not in "".join(r.task for r in judge.seen)  # a final step is not checked
    assert len(judge.seen) == 6
    assert ep.meta["checker"]["replan_after"] == 2


def test_the_checker_never_changes_the_outcome(tmp_path: Path) -> None:
    ep, _, _ = _run(tmp_path, ["B"] * 3, steps=3, replan_after=5)
    assert ep.outcome["status"] == "success"
    assert all(s["checker"]["outcome"] == "wrong_page" for s in ep.steps[:3])
    assert not any(s["checker"].get("replan") for s in ep.steps[:3])


def test_run_flags_load_the_checker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "judge.json"
    script.write_text(json.dumps({"format": "json", "outputs": ["B", "B"]}))
    argv = ["run", "--task", "x", "--checker", f"scripted:{script}", "--replan-after", "1"]
    checker = load_checker(build_parser().parse_args(argv))
    assert isinstance(checker, ModelChecker) and checker.replan_after == 1
    model = ScriptedModel([CLICK, CLICK, FINISH])
    ep = run("x", env=BoardEnv(), model=model, out=tmp_path / "ep", no_gate=True, checker=checker)
    assert [i for i, r in enumerate(model.seen) if r.feedback] == [1, 2]  # after each bad one
    assert load_checker(build_parser().parse_args(["run", "--task", "x"])) is None
    assert ep.outcome["status"] == "success"
    assert main(["run", "--task", "x", "--replan-after", "0"]) == 2
    assert "--replan-after" in capsys.readouterr().err
