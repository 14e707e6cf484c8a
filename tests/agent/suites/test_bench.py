"""``agent bench`` on the bundled sites with the oracle (real headless Chromium): results
per task and overall, every episode recorded, a failing job reported without stopping the
others; plus the summary and table helpers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.cli import main
from agent.core.errors import ConfigError
from agent.episode.recording import load_episode
from agent.episode.steps import PHASES
from agent.suites.bench import (
    BenchConfig,
    Job,
    default_tasks,
    format_table,
    make_jobs,
    percentile,
    summarize,
)


def test_jobs_and_summary() -> None:
    jobs = make_jobs("miniwob", ["a", "b"], 2)
    assert jobs == [Job("miniwob", "a", 0), Job("miniwob", "a", 1), Job("miniwob", "b", 0),
                    Job("miniwob", "b", 1)]  # fmt: skip
    assert Job("sites", "shop/add-to-cart", 3).key == "shop__add-to-cart-s003"
    results = [
        {"task": "a", "seed": 0, "success": True, "status": "success"},
        {"task": "a", "seed": 1, "success": False, "status": "call_user"},
        {"task": "b", "seed": 0, "success": True, "status": "success"},
        {"task": "b", "seed": 1, "success": True, "status": "success"},
    ]
    s = summarize(results)
    assert s["tasks"]["a"] == {"n": 2, "successes": 1, "errors": 0, "rate": 0.5}
    assert s["success_rate"] == 0.75 and s["task_mean_rate"] == 0.75
    table = format_table(s)
    assert "| a | 2 | 1 | 50.0% |" in table and "| **overall** | 4 | 3 | 75.0% |" in table
    with pytest.raises(ConfigError):
        make_jobs("sites", ["a"], 0)
    with pytest.raises(ConfigError):
        BenchConfig(suite="nope", model="ocr", out="x")
    with pytest.raises(ConfigError):
        BenchConfig(suite="miniwob", model="oracle", out="x")
    assert "account/change-display-name" in default_tasks("sites", "oracle")


@pytest.mark.browser
def test_cli_bench_sites_with_oracle(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench"
    tasks = ["account/change-display-name", "account/no-such-task"]
    args = ["--viewport", "900x640", "--out", str(out), "--no-progress"]
    code = main(["bench", "--suite", "sites", "--model", "oracle", "--tasks", *tasks, *args])
    assert code == 0
    printed = capsys.readouterr()
    assert "| account/change-display-name | 1 | 1 | 100.0% |" in printed.out
    assert "| **overall** | 2 | 1 | 50.0% |" in printed.out
    assert "account/no-such-task" in printed.err  # the failing job is reported
    data = json.loads((out / "results.json").read_text())
    ok, bad = data["results"]
    assert ok["success"] and ok["status"] == "success" and ok["steps"] >= 5
    assert bad["status"] == "error" and "unknown task" in bad["error"]
    ep = load_episode(out / ok["episode"])
    assert ep.success and ep.meta["model"]["name"] == "oracle"
    assert (out / "results.md").read_text().startswith("| task |")
    # p50 / p90 of every phase over every recorded step, printed and in results.json
    phases = data["phases"]
    assert list(phases) == [*PHASES, "step_s"]
    steps = ep.records
    for name, stats in phases.items():
        values = [s.timings[name] for s in steps]
        assert stats["n"] == len(steps)
        assert stats["p50"] == pytest.approx(float(np.percentile(values, 50)))
        assert stats["p90"] == pytest.approx(float(np.percentile(values, 90)))
        row = f"| {name[:-2]} | {1000 * stats['p50']:.1f} | {1000 * stats['p90']:.1f} | "
        assert row in printed.out, (row, printed.out)
    assert phases["model_s"]["p50"] > 0 and phases["execute_s"]["p90"] > 0
    assert "| phase | p50 (ms) | p90 (ms) | steps |" in (out / "results.md").read_text()


@given(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=1, max_size=60), st.floats(0, 100))
def test_percentile_equals_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), abs=1e-9)


# ---- secrets: nothing of a bench or a replay episode holds the value ----------------------

SECRET = "Zq7Kx93LmwQ"  # alphanumeric: raw, URL- and JSON-escaped forms are the same bytes
SEARCH = (420, 30)  # the shop's search field at 900x640


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in sorted(root.rglob("*")) if p.is_file() and needle in p.read_bytes()]


@pytest.mark.browser
def test_a_secret_never_reaches_a_bench_or_replay_file(tmp_path: Path, capsys) -> None:
    """The scripted model types the secret into the shop's search (so the final URL is
    ``#/?q=<secret>``) and finishes with an answer quoting it; then a replay of the first
    step lets a takeover model finish with the same answer, on the same URL."""
    typed = {"type": "type", "text": "{{secret:token}}", "point": list(SEARCH), "enter": True}
    leaky = {"type": "finish", "status": "success", "answer": f"the token is {SECRET}"}
    script = tmp_path / "bench.json"
    script.write_text(json.dumps({"format": "json", "outputs": [json.dumps(typed),
                                                                json.dumps(leaky)]}))  # fmt: skip
    out = tmp_path / "bench"
    args = ["bench", "--suite", "sites", "--model", f"scripted:{script}", "--tasks",
            "shop/add-to-cart", "--viewport", "900x640", "--out", str(out), "--no-progress",
            "--max-steps", "2", "--secret", f"token={SECRET}"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr()
    (result,) = json.loads((out / "results.json").read_text())["results"]
    ep = load_episode(out / result["episode"])
    final = ep.outcome["final_observation"]["url"]
    assert final.endswith("#/?q={{secret:token}}"), final  # the URL held it: scrubbed
    assert ep.outcome["answer"] == "the token is {{secret:token}}"
    assert ep.meta["secrets"] == {"names": ["token"]}
    assert json.loads((out / "results.json").read_text())["config"]["secrets"] == {
        "names": ["token"]
    }
    assert _files_holding(out, SECRET.encode()) == []  # PNGs, steps, episode, results
    assert SECRET not in printed.out + printed.err

    # a recording that stopped after its first step, replayed: the takeover model finishes
    source = tmp_path / "source"
    shutil.copytree(out / result["episode"], source)
    first = (source / "steps.jsonl").read_bytes().split(b"\n")[0]
    (source / "steps.jsonl").write_bytes(first + b"\n")
    takeover = tmp_path / "takeover.json"
    takeover.write_text(json.dumps({"format": "json", "outputs": [json.dumps(leaky)]}))
    replayed = tmp_path / "replay"
    code = main(["replay", str(source), "--model", f"scripted:{takeover}", "--out",
                 str(replayed), "--secret", f"token={SECRET}"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    meta = json.loads((replayed / "episode.json").read_text())
    assert meta["replay"]["taken_over_at"] == 1
    assert meta["outcome"]["answer"] == "the token is {{secret:token}}"
    assert meta["outcome"]["final_observation"]["url"].endswith("#/?q={{secret:token}}")
    assert meta["replay"]["outcome"]["answer"] == "the token is {{secret:token}}"
    assert _files_holding(replayed, SECRET.encode()) == []
    assert SECRET not in printed.out + printed.err
