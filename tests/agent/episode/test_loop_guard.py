"""The loop guard and the step check inside real episodes: the board env (examples/), a
scripted model that loops on purpose, and ``agent run``'s flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import build_parser, main
from agent.commands.run import loop_config
from agent.episode.loop import LoopConfig
from agent.episode.recording import Episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.scripted import ScriptedModel

EMPTY = (600.0, 280.0)  # nothing there: a click changes nothing on the board
OK = (100.0, 65.0)  # the OK button: its counter redraws
FINISH = json.dumps({"type": "finish", "status": "success"})


def _click(p: tuple[float, float]) -> str:
    return json.dumps({"type": "click", "point": list(p)})


def _run(tmp_path: Path, outputs: list[str], cfg: LoopConfig) -> tuple[Episode, ScriptedModel]:
    model = ScriptedModel(outputs)
    ep = run("loop", env=BoardEnv(), model=model, out=tmp_path / "ep", config=cfg, no_gate=True)
    return ep, model


def _nudged(model: ScriptedModel) -> list[int]:
    return [i for i, r in enumerate(model.seen) if r.feedback]


def test_a_looping_model_meets_the_nudges_at_exactly_5_8_12(tmp_path: Path) -> None:
    cfg = LoopConfig(max_steps=20, no_progress_k=100, stagnation=0)  # default nudges 5, 8, 12
    ep, model = _run(tmp_path, [_click(EMPTY)] * 14 + [FINISH], cfg)
    assert ep.outcome["status"] == "success"
    # the step that reached the count records it; the next request carries the nudge
    assert [(s["index"], s["guard"]["nudges"]) for s in ep.steps if "nudges" in s["guard"]] == [
        (4, ["repeat_5"]),
        (7, ["repeat_8"]),
        (11, ["repeat_12"]),
    ]
    assert _nudged(model) == [5, 8, 12]
    assert "click (600, 280) 8 times" in str(model.seen[8].feedback)
    assert [s["guard"]["repeats"] for s in ep.steps[:14]] == list(range(1, 15))
    assert all(s["check"]["result"] == "no_change" for s in ep.steps[:14])


def test_the_hard_stop_ends_the_episode_with_status_loop(tmp_path: Path) -> None:
    cfg = LoopConfig(max_steps=20, no_progress_k=100, stagnation=0, loop_stop=6)
    ep, _ = _run(tmp_path, [_click(EMPTY)] * 14, cfg)
    assert ep.outcome["status"] == "loop" and ep.outcome["steps"] == 6
    assert "click (600, 280) repeated 6 times" in ep.outcome["error"]
    assert len(ep.steps) == 6


def test_the_check_records_the_changed_region_of_a_click(tmp_path: Path) -> None:
    ep, _ = _run(tmp_path, [_click(OK), _click(EMPTY), FINISH], LoopConfig(max_steps=5))
    changed, still = ep.steps[0]["check"], ep.steps[1]["check"]
    assert changed["result"] == "changed" and changed["pixels"] > 16
    x0, y0, x1, y1 = changed["region"]
    assert 40 <= x0 < x1 <= 161 and 40 <= y0 < y1 <= 91  # inside the OK button
    assert still == {"result": "no_change", "pixels": 0, "fraction": 0.0}


def test_stagnation_nudges_after_n_unchanged_steps(tmp_path: Path) -> None:
    points = [(520.0 + 20 * n, 280.0) for n in range(7)]  # all different, all empty
    cfg = LoopConfig(max_steps=10, loop_nudges=(), stagnation=3)
    ep, model = _run(tmp_path, [_click(p) for p in points] + [FINISH], cfg)
    nudges = [(s["index"], s["guard"].get("nudges")) for s in ep.steps if s["guard"].get("nudges")]
    assert nudges == [(2, ["stagnation_3"]), (5, ["stagnation_6"])]
    assert _nudged(model) == [3, 6]


def test_run_flags_set_the_guard(tmp_path: Path) -> None:
    argv = ["run", "--task", "x", "--loop-nudges", "3", "--loop-stop", "4", "--stagnation", "0"]
    cfg = loop_config(build_parser().parse_args(argv))
    assert (cfg.loop_nudges, cfg.loop_stop, cfg.stagnation) == ((3,), 4, 0)
    cfg.no_progress_k = 100
    ep, model = _run(tmp_path, [_click(OK)] * 10, cfg)  # the screen changes every time
    assert ep.outcome["status"] == "loop" and ep.outcome["steps"] == 4
    assert _nudged(model) == [3]
    defaults = loop_config(build_parser().parse_args(["run", "--task", "x"]))
    assert (defaults.loop_nudges, defaults.loop_stop, defaults.stagnation) == ((5, 8, 12), 0, 5)


@pytest.mark.parametrize(
    ("flag", "named"),
    [(["--loop-nudges", "5,x"], "--loop-nudges"), (["--loop-stop", "1"], "--loop-stop")],
)
def test_bad_flags_fail_before_anything_starts(
    flag: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--task", "x", "--model", "scripted:/nonexistent.json", *flag]) == 2
    assert named in capsys.readouterr().err


def test_an_externally_driven_session_records_the_check_and_hands_back_the_nudge(
    tmp_path: Path,
) -> None:
    from agent.episode.recording import load_episode
    from agent.interfaces.session import ActionSession

    session = ActionSession(BoardEnv(), record_dir=tmp_path, no_gate=True)
    session.start(goal="loop", out=tmp_path / "ep")
    got = [session.act({"type": "click", "point": list(OK)}).info.get("feedback") for _ in range(5)]
    assert [f is not None for f in got] == [False] * 4 + [True]
    assert "click (100, 65) 5 times" in str(got[4])
    session.end("closed")
    steps = load_episode(tmp_path / "ep").steps
    assert [s["guard"]["repeats"] for s in steps] == [1, 2, 3, 4, 5]
    assert steps[0]["check"]["result"] == "changed"
