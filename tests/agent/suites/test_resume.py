"""A real ``agent bench`` (oracle on the bundled sites, headless Chromium) killed with
SIGKILL once two of its four results are in results.jsonl, then ``agent bench --resume``:
only the missing jobs run (the finished episodes are untouched, their lines come first),
a line the kill cut short is ignored, and results.json holds every job once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.suites.bench import make_jobs

TASKS = ["account/change-display-name", "account/enable-newsletter"]
ARGS = ["--suite", "sites", "--model", "oracle", "--tasks", *TASKS, "--seeds", "2",
        "--viewport", "900x640", "--no-progress"]  # fmt: skip
ROOT = Path(__file__).resolve().parents[3]


def _rows(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(ValueError):
            rows.append(json.loads(line))
    return rows


@pytest.mark.browser
def test_a_killed_bench_resumes_with_only_the_missing_jobs(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench"
    keys = [j.key for j in make_jobs("sites", TASKS, 2)]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'examples'}"}
    cmd = [sys.executable, "-m", "agent.cli", "bench", *ARGS, "--out", str(out)]
    log = tmp_path / "first.log"
    with log.open("wb") as f:
        first = subprocess.Popen(cmd, env=env, stdout=f, stderr=f, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(_rows(out / "results.jsonl")) < 2:
            assert first.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "no two results in 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the bench, its browser, everything it started
        first.wait(timeout=30)
    before = _rows(out / "results.jsonl")
    assert 2 <= len(before) < len(keys) and not (out / "results.json").exists()
    done = [r["episode"] for r in before]
    stamps = {k: (out / k / "episode.json").stat().st_mtime_ns for k in done}
    with (out / "results.jsonl").open("a") as f:  # as if killed while writing a line
        f.write('{"suite": "sites", "task": "account/enable-newsletter", "se')

    assert main(["bench", *ARGS, "--resume", str(out)]) == 0
    assert f"resumed: ran {len(keys) - len(done)} of {len(keys)} jobs" in capsys.readouterr().err
    rows = _rows(out / "results.jsonl")
    assert [r["episode"] for r in rows[: len(done)]] == done  # the first run's lines, as they were
    ran = [r["episode"] for r in rows[len(done) :]]
    assert sorted(ran) == sorted(set(keys) - set(done))  # only the missing jobs ran
    assert {k: (out / k / "episode.json").stat().st_mtime_ns for k in done} == stamps
    data = json.loads((out / "results.json").read_text())
    assert [r["episode"] for r in data["results"]] == keys  # each job once, in job order
    assert all(r["success"] for r in data["results"]), data["results"]
    assert data["summary"]["episodes"] == len(keys)
    steps = sum(r["steps"] for r in data["results"])
    assert data["phases"]["step_s"]["n"] == steps  # phases over every episode, old and new

    # the settings must be the first run's: a different --max-steps is refused, naming it
    assert main(["bench", *ARGS, "--max-steps", "7", "--resume", str(out)]) == 2
    assert "max_steps: recorded 20, now 7" in capsys.readouterr().err
