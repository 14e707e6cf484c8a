"""Best-of-N over runs: N episodes from the same start on the board env (examples/), a judge
over their narrations, the verdict recorded beside — never instead of — each run's own task
check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.core.env import Env
from agent.core.task import Task, TaskResult
from agent.episode.bestof import RECORD, best_of_runs, narrate
from agent.episode.loop import LoopConfig
from agent.episode.recording import Episode
from agent.episode.runner import run
from board_env import BoardEnv
from model.judge import Judge
from model.scripted import ScriptedModel

OK, PAY = [100, 65], [430, 65]


def _click(point: list[int]) -> str:
    return json.dumps({"type": "click", "point": point})


FINISH = json.dumps({"type": "finish", "status": "success", "answer": "paid"})


class PressPay(Task):
    """Success: ``Pay now`` pressed exactly once (the board's own state)."""

    id, goal, env_name = "board/pay", "press Pay now once", "board"

    def setup(self, env: Env) -> None:
        env.reset()

    def evaluate(self, env: Env) -> TaskResult:
        pay = next(b for b in env.state.buttons if b.label == "Pay now")  # type: ignore[attr-defined]
        return TaskResult(pay.clicks == 1, details={"pay_clicks": pay.clicks})


def _best_of(tmp_path: Path, verdict: str) -> tuple:
    # one model for every run: run 1 presses OK and claims success (the task check fails),
    # run 2 presses Pay now (it passes), run 3 presses Pay now twice (it fails)
    model = ScriptedModel([_click(OK), FINISH, _click(PAY), FINISH, _click(PAY), _click(PAY),
                           FINISH])  # fmt: skip
    judge_model = ScriptedModel([verdict])
    recorded: list[bytes] = []  # each run's outcome as written before the judge ran

    def one(i: int, out: Path) -> Episode:
        env = BoardEnv()  # a fresh env from the same spec, the task's own setup
        ep = run(PressPay(), env=env, model=model, out=out, no_gate=True,
                 config=LoopConfig(max_steps=5))  # fmt: skip
        recorded.append(_outcome_bytes(out))
        return ep

    best = best_of_runs(one, 3, Judge(judge_model), tmp_path / "best")
    return best, judge_model, recorded


def _outcome_bytes(run_dir: Path) -> bytes:
    """The ``"outcome": {...}`` text of a run's episode.json, byte for byte."""
    text = (run_dir / "episode.json").read_bytes()
    start = text.index(b'\n  "outcome": {')
    return text[start : text.index(b"\n  }", start) + 4]


def test_a_judge_picking_a_failed_run_leaves_its_failure_recorded(tmp_path: Path) -> None:
    best, judge_model, recorded = _best_of(tmp_path, "0")
    before = {i: json.loads(b"{" + recorded[i].strip().rstrip(b",") + b"}")["outcome"]
              for i in range(3)}  # fmt: skip
    for i, ep in enumerate(best.runs):
        assert ep.dir == tmp_path / "best" / f"run-{i + 1}"
        assert _outcome_bytes(ep.dir) == recorded[i]  # byte for byte after the judge
    # every run's recorded outcome is the task's own check, the pick changes none of them
    assert [ep.outcome["status"] for ep in best.runs] == ["failure", "success", "failure"]
    assert [ep.outcome["evaluation"]["pay_clicks"] for ep in best.runs] == [0, 1, 2]
    assert best.runs[0].outcome["model_status"] == "success"  # the model claimed success
    rec = json.loads((tmp_path / "best" / RECORD).read_text())
    assert rec["picked"] == 0 and rec["picked_dir"] == "run-1"
    assert rec["picked_success"] is False  # picked, not successful
    assert [r["success"] for r in rec["runs"]] == [False, True, False]
    assert [r["picked"] for r in rec["runs"]] == [True, False, False]
    assert [r["outcome"] for r in rec["runs"]] == [before[i] for i in range(3)]
    assert rec["judge"]["raw"] == "0" and rec["judge"]["kind"] == "run"
    assert rec["judge"]["candidates"] == [r["narration"] for r in rec["runs"]]
    for i in range(3):  # episode.json: the judge section beside the untouched outcome
        meta = json.loads((tmp_path / "best" / f"run-{i + 1}" / "episode.json").read_text())
        assert meta["outcome"] == before[i]
        assert meta["judge"] == {"best_of": f"../{RECORD}", "run": i, "runs": 3, "picked": i == 0,
                                 "judge_index": 0, "fell_back": False}  # fmt: skip
    # the judge asked once, over the narrations, on the common start screen, constrained
    asked = judge_model.seen[0]
    assert asked.constraint == {"choice": ["0", "1", "2"]}
    assert "[1] 1. click at (430, 65)" in asked.task and "press Pay now once" in asked.task
    assert "evaluation" not in asked.task and "pay_clicks" not in asked.task
    assert asked.observation.size == (640, 360)
    assert best.picked is best.runs[0] and best.picked.success is False


def test_an_unreadable_verdict_falls_back_to_the_first_run(tmp_path: Path) -> None:
    best, _, _ = _best_of(tmp_path, "run two, clearly")
    rec = json.loads((tmp_path / "best" / RECORD).read_text())
    assert rec["picked"] == 0 and rec["judge"]["fell_back"] is True
    assert "not one number" in rec["judge"]["fallback"]
    assert [ep.outcome["status"] for ep in best.runs] == ["failure", "success", "failure"]


def test_narration_tells_the_steps_and_how_the_agent_ended() -> None:
    steps = [
        {"actions": [{"action": {"type": "click", "point": [10, 20], "target": 'the "Go" button'},
                      "result": {"terminated": False}}], "check": {"result": "changed"}},
        {"actions": [{"action": {"type": "type", "text": "BOS", "point": [1, 2]},
                      "result": {"error": "no field"}}], "check": {"result": "no_change"}},
        {"actions": [{"action": {"type": "wait", "seconds": 0}}],
         "trace": {"feedback_out": 'could not find "X"; nothing was pressed'}},
        {"actions": [], "error": "the answer does not parse"},
        {"actions": [{"action": {"type": "key", "keys": "enter"}, "error": "denied by gate"}]},
        {"actions": [{"action": {"type": "finish", "status": "success", "answer": "booked"}}]},
    ]  # fmt: skip
    outcome = {"status": "failure", "model_status": "success", "steps": 6, "answer": "booked",
               "evaluation": {"success": False, "bookings": 0}}  # fmt: skip
    assert narrate(steps, outcome) == "\n".join([
        '1. click the "Go" button',
        '2. type at (1, 2) "BOS" (failed: no field) [screen unchanged]',
        '3. nothing done: could not find "X"; nothing was pressed',
        "4. answer not understood: the answer does not parse",
        "5. key enter (failed: denied by gate)",
        '6. finish (success): "booked"',
        'Ended: success after 6 step(s); answer: "booked"',
    ])  # fmt: skip
    # no task check: the status is the agent's own; an error is told
    assert narrate([], {"status": "max_steps", "steps": 30, "error": "budget"}) == (
        "Ended: max_steps after 30 step(s); error: budget"
    )


def test_agent_run_runs_exits_with_the_picked_runs_own_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import envs.registry

    monkeypatch.setitem(envs.registry.BUILTIN, "board", "board_env:BoardEnv")
    script = tmp_path / "model.json"  # run 1 gives up, run 2 says it succeeded
    fail = json.dumps({"type": "finish", "status": "failure", "answer": "gave up"})
    script.write_text(json.dumps({"format": "json", "outputs": [_click(OK), fail, FINISH]}))
    for verdict, code in (("0", 1), ("1", 0)):
        judge = tmp_path / f"judge{verdict}.json"
        judge.write_text(json.dumps({"format": "json", "outputs": [verdict]}))
        out = tmp_path / f"out{verdict}"
        argv = ["run", "--task", "press OK", "--env", "board", "--model", f"scripted:{script}",
                "--runs", "2", "--judge", f"scripted:{judge}", "--out", str(out), "--no-gate",
                "--quiet"]  # fmt: skip
        assert main(argv) == code
        rec = json.loads((out / RECORD).read_text())
        assert [r["status"] for r in rec["runs"]] == ["failure", "success"]
        assert rec["picked"] == int(verdict) and rec["picked_success"] is bool(code == 0)
        err = capsys.readouterr().err
        assert f"run {int(verdict) + 1}: {rec['runs'][int(verdict)]['status']}  <- picked" in err
