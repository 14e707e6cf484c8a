"""``agent run --resume`` of an ``agent bench`` episode rebuilds the same env: the bench
records the env's spec (viewport, device scale factor, site) once in episode.json, and the
resume builds its env from that record, not from the defaults. Real headless Chromium, a
bundled site, the scripted model, both commands through the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from agent.cli import main
from agent.core.env import EnvSpec
from agent.episode.recording import Episode, load_episode
from agent.episode.runner import recorded_spec

SCROLL = {"thought": "look", "actions": [{"type": "scroll", "direction": "down", "amount": 1}]}
FINISH = {"thought": "done", "actions": [{"type": "finish", "status": "failure", "answer": "x"}]}


def _load(d: Path) -> Episode:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_episode(d)


@pytest.mark.browser
def test_resume_of_a_bench_episode_rebuilds_its_env(tmp_path: Path, capsys) -> None:
    script = tmp_path / "script.json"
    outputs = [json.dumps(SCROLL), json.dumps(SCROLL), json.dumps(FINISH)]
    script.write_text(json.dumps({"format": "json", "outputs": outputs}))
    out = tmp_path / "bench"
    bench = ["bench", "--suite", "sites", "--model", f"scripted:{script}"]
    bench += ["--tasks", "account/change-display-name", "--viewport", "700x500", "--dsf", "1.5"]
    assert main([*bench, "--max-steps", "2", "--out", str(out), "--no-progress"]) == 0
    (result,) = json.loads((out / "results.json").read_text())["results"]
    ep_dir = out / result["episode"]
    before = _load(ep_dir)
    assert before.outcome["status"] == "max_steps" and len(before.steps) == 2, before.outcome
    env = before.meta["env"]
    assert "kwargs" not in env  # recorded once
    spec = recorded_spec(before.meta)
    assert spec.name == "browser"
    assert (spec.kwargs["viewport"], spec.kwargs["dsf"], spec.kwargs["site"]) == (
        [700, 500],
        1.5,
        "flights",
    )

    resume = ["run", "--resume", str(ep_dir), "--model", f"scripted:{script}", "--quiet"]
    assert main([*resume, "--env", "desktop"]) == 2  # a resume rebuilds the recorded env
    assert main([*resume, "--serial", "emu"]) == 2  # a setting of another env
    err = capsys.readouterr().err
    assert "drop --env desktop" in err and "--serial is a setting of the android env" in err
    assert len(_load(ep_dir).steps) == 2  # neither touched the episode
    rc = main([*resume, "--max-steps", "3"])
    assert rc == 1  # the script finishes with status failure
    after = _load(ep_dir)
    assert after.outcome["status"] == "failure" and len(after.steps) == 3, after.outcome
    (again,) = after.meta["resumes"]
    assert EnvSpec(again["env"]["name"], again["env"]["spec"]) == spec  # the same env
    assert len(again["fast_forward"]) == 2  # both scrolls again
    new = after.steps[-1]["observation"]
    assert (new["width"], new["height"], new["scale"]) == (1050, 750, 1.5)  # 700x500 at DSF 1.5
