"""Crash safety: SIGKILL mid-run and a killed browser leave readable episodes that
``agent run --resume`` finishes; a full disk (a real small tmpfs, and RLIMIT_FSIZE) ends the
run with a RecordingError outcome and a readable episode, never a lost one."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from agent.episode.loop import StepEvent
from agent.episode.recording import load_episode
from agent.episode.runner import run
from agent.safety.gate import PolicyGate
from envs.browser import BrowserEnv

AGENT = [sys.executable, "-m", "agent.cli"]
EXAMPLES = str(Path(__file__).resolve().parents[3] / "examples")


def _resume(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AGENT, "run", "--resume", str(out), "--yes", *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _assert_resumed(out: Path, before: int) -> None:
    ep = load_episode(out)
    assert ep.success and ep.outcome["evaluation"]["success"] is True, ep.outcome
    assert [s["index"] for s in ep.steps] == list(range(len(ep.steps)))  # continuing indices
    assert len(ep.steps) > before and ep.torn_lines == 0
    (resumed,) = ep.meta["resumes"]
    assert resumed["from_step"] == before
    assert not (out / ".reserve").exists()
    for s in ep.steps[before:]:
        assert ep.screenshot_path(s["index"]).stat().st_size > 1000


def test_sigkill_mid_run_then_resume_books_the_flight(
    killed_flight_run: Callable[..., None], tmp_path: Path
) -> None:
    out = tmp_path / "ep"
    killed_flight_run(out, 6, "--yes")
    with pytest.warns(UserWarning) if _torn(out) else _nothing():
        killed = load_episode(out)
    assert killed.outcome["status"] == "running" and len(killed.steps) >= 6
    res = _resume(out)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "success" in res.stderr
    _assert_resumed(out, len(killed.steps))


def test_killed_browser_truncates_then_resume_books_the_flight(
    flight_script: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ep"
    env = BrowserEnv(site="flights")
    killed: list[int] = []

    def kill_browser(ev: StepEvent) -> None:
        if ev.index == 4 and not killed:
            pid = env.browser_pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    try:
        ep = run(
            "flights/book-cheapest",
            env=env,
            model=f"scripted:{flight_script}",
            out=out,
            max_steps=80,
            gate=PolicyGate(confirm="yes"),
            on_step=kill_browser,
        )
    finally:
        env.close()
    assert killed
    assert ep.outcome["status"] == "truncated" and "EnvClosedError" in ep.outcome["error"]
    last = ep.steps[-1]["actions"][-1]
    assert last["result"]["truncated"] is True and "EnvClosedError" in last["result"]["error"]
    assert json.loads((out / "episode.json").read_text())["outcome"]["status"] == "truncated"
    res = _resume(out)
    assert res.returncode == 0, res.stderr[-3000:]
    _assert_resumed(out, len(ep.steps))


def test_resume_refuses_a_finished_success(tmp_path: Path) -> None:
    out = tmp_path / "ep"
    out.mkdir()
    (out / "episode.json").write_text(
        json.dumps({"task": {"goal": "x"}, "outcome": {"status": "success"}})
    )
    res = _resume(out)
    assert res.returncode == 2 and "nothing to resume" in res.stderr
    # asked before any model loads: a model that cannot load is never tried
    res = _resume(out, "--model", str(tmp_path / "no-such-checkpoint"))
    assert res.returncode == 2 and "nothing to resume" in res.stderr, res.stderr


# ---- a full disk ------------------------------------------------------------------------------

FILL = r"""
import json, signal, sys
sys.path.insert(0, {examples!r})
{limit}
from board_env import BoardEnv
from agent.episode.runner import run
from agent.core.errors import RecordingError
from model.scripted import ScriptedModel
ok = json.dumps({{"type": "click", "point": [100, 65]}})
try:
    run("press OK", env=BoardEnv(), model=ScriptedModel([ok] * 3000), out={out!r},
        max_steps=3000, no_gate=True)
except RecordingError as err:
    print("RecordingError:", err, flush=True)
    sys.exit(3)
print("no error", flush=True)
"""
RLIMIT = (
    "import resource; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))"
)


def _fill(out: Path, limit: str = "") -> subprocess.CompletedProcess[str]:
    script = out.parent / f"fill-{out.name}.py"
    script.write_text(FILL.format(examples=EXAMPLES, out=str(out), limit=limit))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240
    )


def _assert_full_disk_outcome(out: Path, res: subprocess.CompletedProcess[str]) -> None:
    assert res.returncode == 3, res.stdout + res.stderr[-2000:]
    assert "RecordingError" in res.stdout
    ep = load_episode(out)  # readable, and no torn line: a cut line was taken back
    assert ep.torn_lines == 0 and len(ep.steps) >= 5
    assert [s["index"] for s in ep.steps] == list(range(len(ep.steps)))
    o = ep.outcome
    assert o["status"] == "error" and o["error_type"] == "RecordingError", o
    assert "No space left" in o["error"] or "too large" in o["error"], o
    assert ep.meta["n_steps"] == len(ep.steps) and ep.meta["ended_at"]
    assert not list(out.glob("*.tmp"))  # no half-written debris
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= len(ep.steps) - 2
    for p in pngs:
        with Image.open(p) as im:
            im.verify()


def test_full_disk_on_a_real_small_filesystem(tmp_path: Path) -> None:
    """A 400 KB tmpfs when this machine lets us mount one (root); else the same run under
    RLIMIT_FSIZE (the kernel's per-file size limit), which is just as real a write error."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = (
        shutil.which("mount") is not None
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        == 0
    )
    try:
        res = _fill(mnt / "ep", "" if mounted else RLIMIT)
        _assert_full_disk_outcome(mnt / "ep", res)
        if mounted:
            assert "No space left" in load_episode(mnt / "ep").outcome["error"]
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)], check=False)


def test_full_disk_by_file_size_limit(tmp_path: Path) -> None:
    res = _fill(tmp_path / "ep", RLIMIT)
    _assert_full_disk_outcome(tmp_path / "ep", res)


def _torn(out: Path) -> bool:
    data = (out / "steps.jsonl").read_bytes()
    return bool(data) and not data.endswith(b"\n")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
