"""``agent run`` end to end in real headless Chromium: a scripted model books a flight, a
SIGKILL mid-episode leaves a readable episode, malformed output is never executed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.episode.recording import load_episode

pytestmark = pytest.mark.browser  # every test runs `agent run` in Chromium

AGENT = [sys.executable, "-m", "agent.cli"]


def test_scripted_model_books_the_flight(flight_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "ep"
    proc = subprocess.run(
        [
            *AGENT,
            "run",
            "--task",
            "flights/book-cheapest",
            "--model",
            f"scripted:{flight_script}",
            "--out",
            str(out),
            "--max-steps",
            "80",
            "--yes",  # the default gate asks before "Pay now"; the test says yes
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "step   1" in proc.stderr and "success" in proc.stderr
    ep = load_episode(out)
    assert ep.success and ep.outcome["evaluation"]["success"] is True
    assert ep.meta["task"]["id"] == "flights/book-cheapest"
    clicks = [a for a in ep.actions() if a["action"]["type"] == "click"]
    assert clicks and all(a["input"]["point"] for a in clicks)
    assert all(ep.screenshot_path(s["index"]).exists() for s in ep.steps)


def test_a_wrong_script_fails_the_task_check(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(
        json.dumps(
            {
                "format": "json",
                "outputs": ['{"type": "finish", "status": "success", "answer": "booked!"}'],
            }
        )
    )
    proc = subprocess.run(
        [
            *AGENT,
            "run",
            "--task",
            "flights/book-cheapest",
            "--model",
            f"scripted:{script}",
            "--out",
            str(tmp_path / "ep"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1  # the model claimed success; the app state says otherwise
    ep = load_episode(tmp_path / "ep")
    assert ep.outcome["status"] == "failure" and ep.outcome["model_status"] == "success"


def test_malformed_output_is_retried_recorded_never_executed(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(
        json.dumps(
            {
                "format": "qwen2-vl",
                "outputs": ["I will click the search button", "<|box_start|>(12,", "click it"],
            }
        )
    )
    proc = subprocess.run(
        [
            *AGENT,
            "run",
            "--task",
            "search",
            "--site",
            "flights",
            "--model",
            f"scripted:{script}",
            "--out",
            str(tmp_path / "ep"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    ep = load_episode(tmp_path / "ep")
    assert ep.outcome["status"] == "parse_error"
    (step,) = ep.steps
    assert step["actions"] == [] and [a["raw"] for a in step["attempts"]] == [
        "I will click the search button",
        "<|box_start|>(12,",
        "click it",
    ]
    assert all("qwen2-vl" in a["error"] for a in step["attempts"])


def test_sigkill_mid_episode_keeps_completed_steps(
    killed_flight_run: Callable[..., None], tmp_path: Path
) -> None:
    out = tmp_path / "ep"
    killed_flight_run(out, 4)
    ep = load_episode(out)
    assert len(ep.steps) >= 4
    assert [s["index"] for s in ep.steps] == list(range(len(ep.steps)))
    assert ep.outcome["status"] == "running"
    for s in ep.steps[:-1]:  # the PNG of the step in flight may be lost, no other
        assert ep.screenshot_path(s["index"]).stat().st_size > 1000
