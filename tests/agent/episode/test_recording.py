"""Episode files: layout, torn lines, and SIGKILL in the middle of an episode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agent.core.errors import RecordingError
from agent.core.observation import Observation
from agent.episode.recording import EpisodeWriter, load_episode


def _obs(v: int) -> Observation:
    return Observation(array=np.full((30, 40, 3), v, np.uint8))


def test_layout_and_torn_last_line(tmp_path: Path) -> None:
    w = EpisodeWriter(tmp_path / "e", {"task": {"goal": "x"}})
    for i in range(3):
        w.write_step({"index": i, "screenshot": w.save_screenshot(i, _obs(i * 50))})
    w.finish({"status": "success"})
    with open(tmp_path / "e" / "steps.jsonl", "a") as fh:
        fh.write('{"index": 3, "scre')  # a write cut by a crash
    with pytest.warns(UserWarning, match="torn last line"):
        ep = load_episode(tmp_path / "e")
    assert [s["index"] for s in ep.steps] == [0, 1, 2] and ep.torn_lines == 1
    assert np.asarray(Image.open(ep.screenshot_path(2)))[0, 0, 0] == 100
    assert ep.meta["versions"]["schema"] == "1" and ep.success


def test_corrupt_middle_line_is_an_error(tmp_path: Path) -> None:
    d = tmp_path / "e"
    w = EpisodeWriter(d, {})
    w.write_step({"index": 0})
    w.finish({"status": "failure"})
    text = (d / "steps.jsonl").read_text()
    (d / "steps.jsonl").write_text("garbage\n" + text)
    with pytest.raises(RecordingError):
        load_episode(d)
    with pytest.raises(RecordingError):
        load_episode(tmp_path / "nope")


SCRIPT = r"""
import json, sys, time
sys.path.insert(0, {examples!r})
from board_env import BoardEnv
from agent.episode.runner import run
from model.scripted import ScriptedModel

class Stalls(ScriptedModel):
    def act(self, request):
        if self._i >= 3:
            time.sleep(600)  # the process is killed here, mid-step
        return super().act(request)

click = json.dumps({{"type": "click", "point": [100, 65]}})
run("press OK", env=BoardEnv(), model=Stalls([click] * 5), out={out!r}, no_gate=True)
"""


def test_sigkill_mid_episode_leaves_completed_steps_readable(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    script = tmp_path / "run.py"
    examples = str(Path(__file__).resolve().parents[3] / "examples")
    script.write_text(SCRIPT.format(examples=examples, out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            steps = out / "steps.jsonl"
            if steps.exists() and steps.read_text().count("\n") >= 3:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the episode never reached 3 steps")
        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    ep = load_episode(out)
    assert [s["index"] for s in ep.steps] == [0, 1, 2]
    assert ep.outcome["status"] == "running"  # it never ended, and says so
    for i in range(3):
        assert Image.open(ep.screenshot_path(i)).size == (640, 360)
    assert json.loads((out / "episode.json").read_text())["task"]["goal"] == "press OK"
