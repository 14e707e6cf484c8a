"""``--resume`` re-executes the recorded actions through the gate: the command line's, never
the (editable) recording's. A "Pay now" click that was confirmed with ``--yes`` in the
recorded run is asked again, even after the recording's policy was edited to allow
everything. With no TTY it is denied (not pressed: the bundled flight site has no booking),
the resume stops with a recorded ``resume_denied`` outcome, and the CLI says why; with
``--yes`` it is pressed once and the booking completes. Real headless Chromium, the bundled
flights site, the scripted model."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from agent.cli import build_parser
from agent.commands.flags import gate_from_args
from agent.episode.recording import Episode, load_episode
from agent.episode.resume import resume_episode
from agent.episode.runner import run
from envs.browser import BrowserEnv

AGENT = [sys.executable, "-m", "agent.cli"]


class Stopped(Exception):
    """Ends the recorded run right after the confirmed step (as a crash would)."""


def _bookings(env: BrowserEnv) -> int:
    return len(env.site_server.api("flights", "GET", "state")["bookings"])


def _load(out: Path) -> Episode:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_episode(out)


def _gate(*argv: str) -> Any:
    return gate_from_args(build_parser().parse_args(["run", *argv]))


def test_resume_asks_again_before_pay_now(flight_script: Path, tmp_path: Path) -> None:
    out = tmp_path / "ep"
    env = BrowserEnv(site="flights")
    try:

        def stop_after_confirmation(_: Any) -> None:
            last = json.loads((out / "steps.jsonl").read_bytes().splitlines()[-1])
            if any("confirmation" in a.get("gate", {}) for a in last["actions"]):
                raise Stopped

        with pytest.raises(Stopped):  # recorded with --yes: "Pay now" confirmed and pressed
            run(
                "flights/book-cheapest",
                env=env,
                model=f"scripted:{flight_script}",
                out=out,
                max_steps=80,
                gate=_gate("--task", "x", "--yes"),
                on_step=stop_after_confirmation,
            )
        assert _bookings(env) == 1
        recorded = _load(out)
        assert recorded.outcome["status"] == "error" and "Stopped" in recorded.outcome["error"]
        (pay,) = [a for s in recorded.records for a in s.executed if _confirmed(a.gate)]
        assert pay.gate["confirmation"] == {"by": "--yes", "ok": True}
        assert "Pay now" in pay.gate["target"]["text"]
        n = len(recorded.steps)

        # an attacker edits the recording's policy to allow everything: the resume judges
        # with the command line's policy all the same
        meta_path = out / "episode.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["gate"]["policy"].update(name="tampered", rules=[], non_interactive="allow")
        meta_path.write_text(json.dumps(meta), encoding="utf-8")

        # the CLI, no TTY (stdin is /dev/null): the fast-forward is denied at "Pay now"
        res = subprocess.run(
            [*AGENT, "run", "--resume", str(out), "--quiet"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 1, res.stderr[-3000:]
        assert "resume_denied" in res.stderr and "Pay now" in res.stderr
        assert "--yes" in res.stderr  # the message names the fix
        assert "the recording ran with policy 'tampered'" in res.stderr
        ep = _load(out)
        assert ep.outcome["status"] == "resume_denied" and len(ep.steps) == n
        last = ep.meta["resumes"][-1]["fast_forward"][-1]
        assert last["gate"]["verdict"] == "deny" and "Pay now" in last["gate"]["target"]["text"]
        assert last["gate"]["confirmation"]["ok"] is False

        # the same in-process, where the site's state can be read: nothing was paid
        no_tty = _gate("--resume", str(out))
        ep = resume_episode(out, gate=no_tty, env=env)
        assert ep.outcome["status"] == "resume_denied" and len(ep.steps) == n
        assert "non-interactive" in ep.meta["resumes"][-1]["fast_forward"][-1]["gate"]["reason"]
        assert _bookings(env) == 0  # the task's setup reset the site; Pay now was not pressed
        assert len(ep.meta["resumes"]) == 2

        # --yes: asked again, confirmed, pressed once; the episode then completes
        ep = resume_episode(out, gate=_gate("--resume", str(out), "--yes"), env=env)
        assert _bookings(env) == 1
        assert ep.success and ep.outcome["evaluation"]["success"] is True, ep.outcome
        ff = ep.meta["resumes"][-1]["fast_forward"]
        confirmed = [e for e in ff if "confirmation" in e["gate"]]
        assert [e["gate"]["confirmation"] for e in confirmed] == [{"by": "--yes", "ok": True}]
        assert confirmed[0]["step"] == pay_step(recorded)
        assert [s["index"] for s in ep.steps] == list(range(len(ep.steps))) and len(ep.steps) > n
    finally:
        env.close()


def pay_step(ep: Episode) -> int:
    return next(s.index for s in ep.records for a in s.executed if _confirmed(a.gate))


def _confirmed(gate: dict[str, Any] | None) -> bool:
    return bool((gate or {}).get("confirmation"))
