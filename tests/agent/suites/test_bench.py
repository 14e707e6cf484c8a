"""``agent bench`` on the bundled sites with the oracle (real headless Chromium): results
per task and overall, every episode recorded, a failing job reported without stopping the
others; plus the summary and table helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.core.errors import ConfigError
from agent.episode.recording import load_episode
from agent.suites.bench import BenchConfig, Job, default_tasks, format_table, make_jobs, summarize


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
