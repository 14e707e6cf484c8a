"""Shared fixtures for the end-to-end agent tests: the flight task as a scripted-model file
(the DOM oracle's outputs, made once per session) and a run that is SIGKILLed mid-episode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.episode.runner import run
from envs.browser import BrowserEnv
from envs.sites import get_task
from envs.sites.oracle import OracleModel

AGENT = [sys.executable, "-m", "agent.cli"]


@pytest.fixture(scope="session")
def flight_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Outputs of the DOM oracle on the flight task, saved as a scripted-model file."""
    tmp = tmp_path_factory.mktemp("oracle")
    task = get_task("flights/book-cheapest")
    env = BrowserEnv(site="flights")
    try:
        ep = run(
            task,
            env=env,
            model=OracleModel(env, task),
            out=tmp / "gold",
            max_steps=80,
            no_gate=True,
        )
    finally:
        env.close()
    assert ep.success, ep.outcome
    outputs = [s["raw"] for s in ep.steps if "wait" not in s["raw"]]
    path = tmp / "flight.json"
    path.write_text(json.dumps({"format": "json", "outputs": outputs}))
    return path


@pytest.fixture
def killed_flight_run(flight_script: Path) -> Callable[..., None]:
    """``kill(out, steps, *flags)``: run the scripted flight booking with ``agent run`` and
    SIGKILL the agent and its browser once ``steps`` step lines are on disk."""

    def kill(out: Path, steps: int, *flags: str) -> None:
        proc = subprocess.Popen(
            [*AGENT, "run", "--task", "flights/book-cheapest", "--model",
             f"scripted:{flight_script}", "--out", str(out), "--max-steps", "80", "--quiet",
             *flags],
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                lines = out / "steps.jsonl"
                if lines.exists() and lines.read_bytes().count(b"\n") >= steps:
                    break
                time.sleep(0.02)
            else:
                pytest.fail(f"the run never reached {steps} steps")
            os.killpg(proc.pid, signal.SIGKILL)  # the agent and its browser, mid-episode
        finally:
            proc.wait(timeout=30)

    return kill
