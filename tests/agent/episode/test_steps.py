"""The one step reader: what "executed" means, on hand-made lines; and on a real recording
(headless Chromium, the bundled shop, a scripted model) with a gate-denied click, an action
that fails, an unknown secret and multi-action turns, the viewer, offline eval, live replay
and resume all agree on the executed point of every step."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.core.coords import screen_to_input
from agent.core.observation import Observation
from agent.episode.recording import Episode, load_episode
from agent.episode.resume import resume_episode
from agent.episode.runner import run
from agent.episode.steps import ActionRecord, StepRecord, read_steps
from agent.evaluation import evaluate
from agent.evaluation.viewer import write_view
from agent.replay.live import replay_live
from agent.safety.gate import PolicyGate
from agent.safety.policy import load_policy
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel

# ---- the definitions, on hand-made lines ------------------------------------------------------


def _line(actions: list[dict], scale: float = 2.0, **extra: object) -> dict:
    obs = Observation(png=b"\x89PNG\r\n\x1a\n" + b"\0" * 8 + (640).to_bytes(4, "big")
                      + (400).to_bytes(4, "big"), scale=scale)  # fmt: skip
    return {"index": 3, "frame": obs.frame().model_dump(), "observation": obs.meta(),
            "actions": actions, **extra}  # fmt: skip


def _click(x: float, y: float, **rec: object) -> dict:
    return {"action": {"type": "click", "point": [x, y]}, **rec}


def test_executed_means_a_result_that_did_not_truncate() -> None:
    ok = {"terminated": False, "truncated": False}
    step = StepRecord.from_json(
        _line(
            [
                _click(10, 10, gate={"verdict": "deny"}, error="denied by default: pay"),
                {"action": {"type": "key", "keys": "tab"}, "input": {}, "result": ok},
                _click(201.3, 99.6, input={"point": [101, 50]}, result=ok),
                _click(300, 300, input={"point": [150, 150]}, result=ok),
            ]
        )
    )
    first, key, click, _ = step.actions
    assert first.denied and not first.ran and first.failure == "denied by default: pay"
    assert key.ran and not key.terminal and click.ran
    assert [a.type for a in step.executed] == ["key", "click", "click"]
    # the first executed action that acts at a point, where the env acted: the input-unit
    # point (101, 50) at DSF 2 is screenshot px (202, 100), not the model's (201.3, 99.6)
    assert step.executed_point == (202.0, 100.0)
    assert step.predicted_point == (10.0, 10.0)  # the model's first action, denied or not
    assert step.complete and step.state_actions() == [a.action for a in step.executed]

    cut = StepRecord.from_json(
        _line([_click(5, 5, input={"point": [2, 2]}, result={"truncated": True, "error": "x"})])
    )
    assert not cut.complete and cut.executed == [] and cut.executed_point is None
    finish = {"type": "finish", "status": "success"}
    end = StepRecord.from_json(_line([{"action": finish, "result": {"terminated": True}}]))
    assert end.executed_actions() == [finish] and end.state_actions() == []
    # a point refused on its way to input units was never acted at
    refused = ActionRecord.from_json(
        {
            "action": {"type": "click", "point": [1, 1]},
            "input": {"point": None, "error": "off"},
            "result": {"error": "CoordinateError: off"},
        }
    )
    assert refused.ran and refused.point(None) is None and refused.failure
    # a converted episode without input points: the action's own point
    plain = StepRecord.from_json({"index": 0, "actions": [_click(7, 8, result={})]})
    assert plain.executed_point == (7.0, 8.0) and plain.frame is None


def test_read_steps_skips_a_torn_last_line_and_refuses_a_corrupt_one(tmp_path: Path) -> None:
    good = json.dumps(_line([_click(1, 1, result={})]))
    (tmp_path / "steps.jsonl").write_text(good + "\n" + good[:40])
    with pytest.warns(UserWarning, match="torn last line"):
        assert [s.index for s in read_steps(tmp_path)] == [3]
    (tmp_path / "steps.jsonl").write_text(good[:40] + "\n" + good + "\n")
    from agent.core.errors import RecordingError

    with pytest.raises(RecordingError, match="corrupt"):
        read_steps(tmp_path)
    with pytest.raises(RecordingError, match="not a step line"):
        StepRecord.from_json({"actions": []})


# ---- four readers, one answer, on a real recording ------------------------------------------

VIEWPORT = (900, 640)
HEADING_A, HEADING_B, HEADING_C = (60, 193), (150, 193), (100, 193)  # "All products"
ADD_TO_CART = (160, 535)  # the first product card's button: denied by the policy below
SEARCH_FIELD = (420, 30)
POLICY = """
name = "no-cart"
non_interactive = "deny"
[[rules]]
name = "no-cart"
verdict = "deny"
actions = ["click"]
target = ["add to cart"]
"""


def _turn(*actions: dict) -> str:
    return json.dumps({"actions": list(actions)})


def _c(p: tuple[int, int]) -> dict:
    return {"type": "click", "point": list(p)}


SCRIPT = [
    _turn(_c(HEADING_A), _c(HEADING_B)),  # multi-action turn: both run
    _turn(_c(ADD_TO_CART)),  # denied by the gate: never runs
    _turn(_c(SEARCH_FIELD), {"type": "key", "keys": "ctrl+nosuchkey"}, _c(HEADING_A)),
    _turn({"type": "type", "text": "{{secret:nope}}", "point": list(SEARCH_FIELD)}),
    _turn({"type": "key", "keys": "tab"}, _c(HEADING_C)),  # the point comes second
    _turn({"type": "finish", "status": "failure", "answer": "done looking"}),
]
EXPECTED = {0: HEADING_A, 1: None, 2: SEARCH_FIELD, 3: None, 4: HEADING_C, 5: None}


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    e = BrowserEnv(site="shop", viewport=VIEWPORT)
    yield e
    e.close()


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> PolicyGate:
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    path.write_text(POLICY)
    return PolicyGate(load_policy(path), confirm="no")


@pytest.fixture(scope="module")
def recorded(
    env: BrowserEnv, gate: PolicyGate, tmp_path_factory: pytest.TempPathFactory
) -> Episode:
    out = tmp_path_factory.mktemp("agree") / "ep"
    ep = run("look around the shop", env=env, model=ScriptedModel(SCRIPT), out=out, gate=gate)
    kinds = [[(a.type, a.ran, a.denied, bool(a.failure)) for a in s.actions] for s in ep.records]
    assert kinds[1] == [("click", False, True, True)], kinds  # the gate denied it
    assert kinds[2] == [("click", True, False, False), ("key", True, False, True)], kinds
    assert kinds[3] == [("type", False, False, True)], kinds  # unknown secret: never typed
    assert ep.outcome["status"] == "failure"
    return ep


def _viewer_points(ep: Episode, tmp_path: Path) -> dict[int, tuple[float, float] | None]:
    page = write_view(ep.dir, tmp_path / "view.html").read_text()
    out: dict[int, tuple[float, float] | None] = {}
    for sec in re.findall(r'<section class="step".*?</section>', page, re.S):
        index = int(re.search(r'data-index="(\d+)"', sec).group(1))  # type: ignore[union-attr]
        m = re.search(r'class="exec-point" data-x="([\d.]+)" data-y="([\d.]+)"', sec)
        out[index] = (float(m.group(1)), float(m.group(2))) if m else None
    return out


def _first_point(actions: list[dict]) -> tuple[float, float] | None:
    for a in actions:
        p = a.get("point") or a.get("start")
        if p is not None:
            return float(p[0]), float(p[1])
    return None


def test_viewer_eval_replay_and_resume_agree_on_the_executed_point(
    recorded: Episode, env: BrowserEnv, gate: PolicyGate, tmp_path: Path
) -> None:
    frame = recorded.records[0].frame
    assert frame is not None
    reader = {s.index: s.executed_point for s in recorded.records}
    expected = {i: None if p is None else (float(p[0]), float(p[1])) for i, p in EXPECTED.items()}
    assert reader == expected
    for p in EXPECTED.values():  # integer points at DSF 1: the input units are the same
        if p is not None:
            assert list(screen_to_input(frame, *p)) == list(p)

    # the viewer draws the executed point where the reader says
    assert _viewer_points(recorded, tmp_path) == expected

    # offline eval scores the steps that executed something, and reports the same point
    scored = [i for i, s in enumerate(recorded.records) if s.executed]
    preds = [json.dumps({"type": "wait", "seconds": 0})] * len(scored)
    report = evaluate([recorded.dir], ScriptedModel(preds))
    got = {s["index"]: s["extra"]["executed"] for e in report["episodes"] for s in e["steps"]}
    assert sorted(got) == scored == [0, 2, 4, 5]
    assert {i: None if p is None else tuple(p) for i, p in got.items()} == {
        i: expected[i] for i in scored
    }

    # a live replay re-executes exactly those actions: its own recording acts at the points
    rep = replay_live(recorded, env=env, out=tmp_path / "replay", stop_on_divergence=False)
    replayed = {s.index: s for s in load_episode(tmp_path / "replay").records}
    for c in rep.steps:
        assert c.step is not None
        assert replayed[c.step].executed_point == expected[c.index], c

    # a resume fast-forwards exactly those actions (through the gate) before continuing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ep = resume_episode(
            recorded.dir, model=ScriptedModel(SCRIPT), gate=gate, env=env, max_steps=len(SCRIPT)
        )
    log = ep.meta["resumes"][-1]["fast_forward"]
    by_step: dict[int, list[dict]] = {}
    for entry in log:
        assert entry["gate"]["verdict"] == "allow"
        by_step.setdefault(entry["step"], []).append(entry["action"])
    assert sorted(by_step) == [0, 2, 4]  # 5 is the finish: nothing to restore
    for i, actions in by_step.items():
        assert _first_point(actions) == expected[i]
        assert actions == recorded.records[i].state_actions()
