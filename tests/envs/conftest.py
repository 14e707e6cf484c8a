"""Shared helpers of the env tests: the fixture page, an oracle loop, process inspection."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agent.core.actions import dump_action, parse_action
from agent.core.model import ModelRequest
from agent.core.task import Task
from envs.browser import BrowserEnv

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def actions_url() -> str:
    return (FIXTURES / "actions.html").as_uri()


@pytest.fixture(scope="session")
def oracle_run():
    """The oracle loop, as a fixture (test modules do not import conftest)."""
    return run_oracle


@pytest.fixture(scope="session")
def procs() -> SimpleNamespace:
    """Process helpers: ``tree(browser_pid)``, ``alive(pids)``, ``assert_gone(pids)``."""
    return SimpleNamespace(tree=browser_processes, alive=alive, assert_gone=assert_gone)


def run_oracle(env: BrowserEnv, task: Task, max_steps: int = 60) -> list[dict[str, Any]]:
    """setup → (observe → oracle.act → parse_action → step)* until Finish; returns the
    actions taken. Fails on any action error or truncation."""
    from envs.sites.oracle import OracleModel

    task.setup(env)
    oracle = OracleModel(env, task)
    obs = env.observe()
    taken: list[dict[str, Any]] = []
    for _ in range(max_steps):
        frame = obs.frame(convention="screen")
        reply = oracle.act(ModelRequest(task=task.goal, observation=obs, frame=frame))
        action = parse_action(reply.text)
        taken.append(dump_action(action))
        res = env.step(action)
        assert not res.truncated, res.info
        assert res.observation.last_action_error is None, (taken[-1], res.observation.meta())
        obs = res.observation
        if res.terminated:
            return taken
    raise AssertionError(f"{task.id}: no finish after {max_steps} steps: {taken[-5:]}")


# ---- processes (Linux /proc) ---------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def browser_processes(browser_pid: int) -> set[int]:
    """The browser, its descendants and every process sharing its profile directory."""
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    parent = {p: s[1] for p in pids if (s := _stat(p)) is not None}
    found = {browser_pid}
    changed = True
    while changed:
        changed = False
        for p, pp in parent.items():
            if pp in found and p not in found:
                found.add(p)
                changed = True
    profile = next(
        (a for a in _cmdline(browser_pid).split() if a.startswith("--user-data-dir=")), None
    )
    if profile:
        found |= {p for p in pids if profile in _cmdline(p)}
    return found


def alive(pids: set[int]) -> set[int]:
    """Those still running, or left as zombies of this process (which must reap them)."""
    me = os.getpid()
    out = set()
    for p in pids:
        st = _stat(p)
        if st is not None and (st[0] != "Z" or st[1] == me):
            out.add(p)
    return out


def assert_gone(pids: set[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pids), f"browser processes left behind: {alive(pids)}"
