"""Replay: a recorded bundled-site episode replays without divergence in a real headless
Chromium; the same episode on a deliberately changed app diverges at the right step; a
takeover model finishes the task from there. Plus the perceptual difference itself."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest

from agent.core.actions import Action
from agent.core.observation import StepResult
from agent.episode.loop import LoopConfig
from agent.episode.recording import Episode, load_episode
from agent.episode.runner import run_episode
from agent.replay.live import DEFAULT_THRESHOLD, SETTLE_WAITS, perceptual_diff, replay_live
from envs.browser import BrowserEnv
from envs.sites import get_task
from envs.sites.oracle import OracleModel

TASK = "account/change-display-name"


# ---- the perceptual difference ------------------------------------------------------------


def _page(h: int = 400, w: int = 640) -> np.ndarray:
    img = np.full((h, w, 3), 245, np.uint8)
    img[40:80, 40:300] = (30, 30, 30)  # a "heading"
    img[200:240, 100:220] = (37, 99, 235)  # a "button"
    return img


def test_diff_identical_and_size_mismatch() -> None:
    a = _page()
    assert perceptual_diff(a, a.copy()) == 0.0
    assert perceptual_diff(a, _page(401)) == 1.0


def test_diff_ignores_a_caret_but_not_a_changed_word() -> None:
    a = _page()
    caret = a.copy()
    caret[300:318, 400:401] = 0  # a 1-px caret, 18 px high
    assert perceptual_diff(a, caret) < DEFAULT_THRESHOLD
    word = a.copy()
    word[300:316, 400:460:3] = 0  # a word's worth of glyph strokes
    assert perceptual_diff(a, word) > DEFAULT_THRESHOLD
    dark = 255 - a
    assert perceptual_diff(a, dark) > 0.5


# ---- live replay --------------------------------------------------------------------------


class SettledBrowserEnv(BrowserEnv):
    """The browser env, plus a wait for network idle after each action. The stock settle
    can return between two chained requests (sign-in POST, then the settings page's GET),
    so under load a recorded frame may still show the previous page; a replay would then
    rightly report a divergence that is the recording's fault, not the live run's."""

    def step(self, action: Action) -> StepResult:
        res = super().step(action)
        if res.terminated or res.truncated:
            return res
        with contextlib.suppress(Exception):  # idle or not, take the frame now
            self.page.wait_for_load_state("networkidle", timeout=3000)
        res.observation = self.observe(last_action_error=res.observation.last_action_error)
        return res


@pytest.fixture(scope="module")
def env():
    e = SettledBrowserEnv(site="account", viewport=(900, 640))
    yield e
    e.close()


@pytest.fixture(scope="module")
def recorded(env: BrowserEnv, tmp_path_factory: pytest.TempPathFactory) -> Episode:
    task = get_task(TASK)
    out = tmp_path_factory.mktemp("rec") / "ep"
    result = run_episode(
        env, OracleModel(env, task), out, task=task, config=LoopConfig(max_steps=40)
    )  # fmt: skip
    assert result.status == "success", result
    return load_episode(out)


def _replayed(ep: Episode) -> list[dict]:
    """The replay's steps without the short waits that let a lagging page settle."""
    return [s for s in ep.steps if "letting the page settle" not in (s.get("thought") or "")]


def _first_settings_step(ep: Episode) -> int:
    return next(s["index"] for s in ep.steps if "#/settings" in (s["observation"]["url"] or ""))


def test_replay_reproduces_the_recording(env: BrowserEnv, recorded: Episode, tmp_path: Path):
    report = replay_live(recorded, env=env, out=tmp_path / "replay")
    assert not report.diverged, report.steps
    scores = [c.score for c in report.steps]
    assert len(scores) == len(recorded.steps) and all(s is not None for s in scores)
    assert max(scores) <= DEFAULT_THRESHOLD  # type: ignore[type-var]
    assert report.outcome["status"] == "success"  # the site's own check passes again
    new = load_episode(tmp_path / "replay")
    assert [s["actions"][0]["action"]["type"] for s in _replayed(new)] == [
        s["actions"][0]["action"]["type"] for s in recorded.steps
    ]
    meta = json.loads((tmp_path / "replay" / "episode.json").read_text())
    assert meta["replay"]["first_divergence"] is None
    assert meta["replay"]["source"] == str(recorded.dir)


def _dark_theme(env: BrowserEnv) -> None:
    """Change the app before the replay: the account now prefers the dark theme, which
    the settings page (after signing in) applies; the login page looks the same."""
    env.site_server.api("account", "POST", "reset", {"user": {"theme": "dark"}})


def test_replay_reports_divergence_at_the_changed_step(
    env: BrowserEnv, recorded: Episode, tmp_path: Path
) -> None:
    expected = _first_settings_step(recorded)
    report = replay_live(recorded, env=env, out=tmp_path / "replay", prepare=_dark_theme)
    assert report.first_divergence == expected
    by_index = {c.index: c for c in report.steps}
    assert all(not by_index[i].diverged for i in range(expected))
    assert by_index[expected].score > DEFAULT_THRESHOLD  # type: ignore[operator]
    assert report.outcome["status"] != "success"  # stopped at the divergence
    assert by_index[expected].settle_waits == SETTLE_WAITS  # it had time to catch up
    new = load_episode(tmp_path / "replay")
    assert len(_replayed(new)) == expected + 1
    assert new.steps[-1]["actions"][0]["action"]["type"] == "call_user"


def _renamed(env: BrowserEnv) -> None:
    """A subtler change: another display name, shown in the header and the form field."""
    env.site_server.api("account", "POST", "reset", {"user": {"display_name": "Grace Hopper"}})


def test_a_takeover_model_finishes_from_the_divergence(
    env: BrowserEnv, recorded: Episode, tmp_path: Path
) -> None:
    task = get_task(TASK)
    rest = task.solution[task.solution.index({"op": "expect", "selector": "#settings-form"}) :]
    takeover = OracleModel(env, task, steps=rest)
    report = replay_live(
        recorded, env=env, model=takeover, out=tmp_path / "replay", prepare=_renamed
    )
    expected = _first_settings_step(recorded)
    assert report.first_divergence == expected and report.taken_over_at == expected
    assert report.outcome["status"] == "success"  # the display name is Ada Lovelace again
    new = load_episode(tmp_path / "replay")
    assert new.meta["model"]["takeover"]["name"] == "oracle"


def test_cli_replay_builds_the_recorded_env(
    env: BrowserEnv, recorded: Episode, tmp_path: Path, capsys
) -> None:
    env_spec = env.spec()
    from agent.cli import main

    assert main(["replay", str(recorded.dir), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "no divergence" in out and out.count("difference ") == len(recorded.steps)
    meta = json.loads((tmp_path / "r" / "episode.json").read_text())
    assert meta["env"]["spec"] == recorded.meta["env"]["spec"] == env_spec.kwargs
    assert (
        meta["env"]["spec"]["viewport"] == [900, 640] and meta["env"]["spec"]["site"] == "account"
    )
    assert "kwargs" not in meta["env"]  # the settings are recorded once
    assert meta["outcome"]["status"] == "success"
