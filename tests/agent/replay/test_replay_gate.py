"""Every runner behind the gate: ``agent bench`` and ``agent replay`` judge each action with the
same policy, confirm mode and URL lists as ``agent run`` (policy on by default, no TTY: a rule
that asks is denied). The effect is read from the flight site's own state (its bookings), in
real headless Chromium, with the control (``--yes``) showing the booking does happen.

The recording: ``agent bench --yes`` with the DOM-reading oracle books the cheapest flight,
pressing "Pay now" (confirmed by ``--yes``). Then:

* ``agent bench`` without ``--yes`` (stdin not a TTY): "Pay now" is denied, nothing is booked;
* ``agent replay`` of the recording without ``--yes``: the recorded, confirmed "Pay now" is
  asked again and denied — nothing booked; with ``--yes`` it is booked (the control);
* ``--deny-url`` naming the site's host: with ``--yes`` the site is never reached (its first
  page load is blocked) and nothing is booked;
* ``--no-gate`` (the documented opt-out) replays the booking.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from agent.cli import build_parser, main
from agent.commands.flags import gate_from_args
from agent.core.errors import NativeAgentError
from agent.episode.recording import load_episode
from agent.replay.live import replay_live
from envs.browser import BrowserEnv

pytestmark = pytest.mark.browser
TASK = "flights/book-cheapest"
AGENT = [sys.executable, "-m", "agent.cli"]


def _bench(out: Path, *flags: str) -> dict[str, Any]:
    args = ["bench", "--suite", "sites", "--model", "oracle", "--tasks", TASK]
    args += ["--viewport", "900x640", "--out", str(out), "--no-progress", *flags]
    assert main(args) == 0
    (result,) = json.loads((out / "results.json").read_text())["results"]
    return result


def _gates(episode: Path) -> list[dict[str, Any]]:
    """The gate decision of every action the model asked for (run or not), in order."""
    return [a["gate"] for s in load_episode(episode).steps for a in s["actions"] if "gate" in a]


def _pay_decisions(episode: Path) -> list[dict[str, Any]]:
    return [g for g in _gates(episode) if "Pay now" in ((g.get("target") or {}).get("text") or "")]


def _bookings(env: BrowserEnv) -> int:
    return len(env.site_server.api("flights", "GET", "state")["bookings"])


def _replay(recorded: Path, env: BrowserEnv, out: Path, *flags: str) -> int:
    """Replay in-process with the gate ``agent replay FLAGS`` builds; the site's bookings."""
    args = build_parser().parse_args(["replay", str(recorded), *flags])
    replay_live(recorded, env=env, out=out, gate=gate_from_args(args), stop_on_divergence=False)
    return _bookings(env)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-yes")
    result = _bench(out, "--yes")
    assert result["success"], result  # the control: with --yes the oracle books
    episode = out / result["episode"]
    (pay,) = _pay_decisions(episode)
    assert pay["verdict"] == "allow" and pay["confirmation"] == {"by": "--yes", "ok": True}
    return episode


def test_bench_denies_pay_now_without_a_tty(recorded: Path, tmp_path: Path) -> None:
    result = _bench(tmp_path / "bench")
    assert not result["success"]  # the site's evaluation: no booking was made
    decisions = _pay_decisions(tmp_path / "bench" / result["episode"])
    assert decisions and all(d["verdict"] == "deny" for d in decisions)
    assert "non-interactive" in decisions[0]["reason"]


def test_bench_honours_the_url_lists(recorded: Path, tmp_path: Path) -> None:
    host = urlsplit(load_episode(recorded).meta["env"]["url"]).hostname
    result = _bench(tmp_path / "bench", "--yes", "--deny-url", str(host))
    # the browser never reaches the denied site: the task's first page load is blocked
    assert not result["success"] and result["status"] == "error"
    assert "ERR_BLOCKED_BY_CLIENT" in result["error"]


def test_replay_asks_again_and_honours_the_url_lists(recorded: Path, tmp_path: Path) -> None:
    host = urlsplit(load_episode(recorded).meta["env"]["url"]).hostname
    env = BrowserEnv(site="flights", viewport=(900, 640))
    try:
        assert _replay(recorded, env, tmp_path / "r1") == 0  # no TTY: denied, nothing booked
        (pay,) = _pay_decisions(tmp_path / "r1")
        assert pay["verdict"] == "deny" and pay["confirmation"]["ok"] is False
        with pytest.raises(NativeAgentError, match="ERR_BLOCKED_BY_CLIENT"):
            _replay(recorded, env, tmp_path / "r2", "--yes", "--deny-url", str(host))
        assert _bookings(env) == 0
        assert _replay(recorded, env, tmp_path / "r3", "--yes") == 1  # the control
        assert _replay(recorded, env, tmp_path / "r4", "--no-gate") == 1  # the opt-out
    finally:
        env.close()


def _cli_replay(recorded: Path, out: Path, *flags: str) -> dict[str, Any]:
    res = subprocess.run(
        [*AGENT, "replay", str(recorded), "--continue", "--out", str(out), *flags],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode in (0, 1), res.stderr[-2000:]
    (pay,) = _pay_decisions(out)
    return pay


def test_the_replay_command_takes_the_gate_flags(recorded: Path, tmp_path: Path) -> None:
    pay = _cli_replay(recorded, tmp_path / "no-tty")
    assert pay["verdict"] == "deny" and "non-interactive" in pay["reason"]
    assert load_episode(tmp_path / "no-tty").meta["gate"]["policy"]["name"] == "default"
    pay = _cli_replay(recorded, tmp_path / "yes", "--yes")
    assert pay["verdict"] == "allow" and pay["confirmation"] == {"by": "--yes", "ok": True}
