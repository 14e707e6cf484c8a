"""A person's real input, end to end (issue 24): input that goes through the real input
pipeline — Playwright's mouse and keyboard on a headed Chromium under Xvfb, xdotool on the Tk
app under Xvfb — captured by the env's own capture, reduced by the recorder into the golden
actions, written as an episode that replays (the page's beacon fires again; the Tk app's
own log shows the press and the text again) and exports.

The "person" acts from the recorder's progress callback, which runs on the recording thread
every half second: one action per call, so the recorder takes a settled screenshot between
two actions, as it would between a person's."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.episode.recording import load_episode
from agent.export.samples import ExportConfig, Exporter
from agent.record.recorder import Progress, record
from agent.replay.live import replay_live
from agent.safety.gate import AllowAll
from envs.browser import BrowserEnv
from envs.desktop import DesktopEnv, Xvfb
from tests.beacons import BeaconSite

TK_APP = Path(__file__).parents[2] / "envs" / "fixtures" / "tk_app.py"
PAGE = (
    "<html><body style='margin:0'>"
    "<input id=q style='position:absolute;left:20px;top:20px;width:200px;height:30px'>"
    "<button style='position:absolute;left:20px;top:80px;width:100px;height:30px' "
    "onclick=\"navigator.sendBeacon('/hit/' + document.getElementById('q').value, 'x')\">"
    "Send</button></body></html>"
)


class Person:
    """Does one of ``steps`` per progress call; stops the recording a second after the last."""

    def __init__(self, steps: list[Callable[[], None]]) -> None:
        self.steps = list(steps)
        self.done_at: float | None = None
        self.stop = threading.Event()

    def __call__(self, _: Progress) -> None:
        if self.steps:
            self.steps.pop(0)()
            if not self.steps:
                self.done_at = time.monotonic()
        elif self.done_at is not None and time.monotonic() - self.done_at > 1.0:
            self.stop.set()


def actions_of(out: Path) -> list[dict[str, Any]]:
    ep = load_episode(out)
    for r in ep.records:  # each action paired with a screenshot taken before it
        assert r.line["recorded"]["screenshot_t"] < r.line["recorded"]["start"]
    return [a for r in ep.records for a in r.executed_actions()]


@pytest.mark.browser
@pytest.mark.desktop
def test_real_browser_input_records_golden_actions_that_replay(tmp_path: Path) -> None:
    site = BeaconSite(PAGE)
    out = tmp_path / "ep"
    with Xvfb(1024, 768) as xvfb, pytest.MonkeyPatch.context() as mp:
        mp.setenv("DISPLAY", xvfb.display)
        env = BrowserEnv(viewport=(320, 160), headless=False)
        try:
            person = Person([  # (the page the recorder's reset opened)
                lambda: env.page.mouse.click(100, 35),  # the field
                lambda: env.page.keyboard.type("hello"),
                lambda: env.page.mouse.click(70, 95),  # Send
            ])  # fmt: skip
            record(env, env.input_source(), out, task="send hello", url=site.url + "/",
                   gate=AllowAll(), interval=0.3, settle=0.1, seconds=60, stop=person.stop,
                   on_progress=person)  # fmt: skip
        finally:
            env.close()
    acts = actions_of(out)
    site.wait_for("hello")  # the person's input reached the page
    assert acts == [
        {"type": "click", "point": [100.0, 35.0]},
        {"type": "type", "text": "hello", "clear": False, "enter": False},
        {"type": "click", "point": [70.0, 95.0]},
        {"type": "finish", "status": "success"},
    ], acts
    gold = [r.line.get("gold") for r in load_episode(out).records]
    assert gold[0] and gold[2]  # the element boxes the capture read
    ep = load_episode(out)
    assert len(Exporter(ExportConfig(family="qwen2.5-vl"), tmp_path / "x").episode(ep)) == 4
    site.hits.clear()
    fresh = BrowserEnv(viewport=(320, 160))
    try:
        report = replay_live(out, env=fresh, out=tmp_path / "replay", gate=AllowAll())
    finally:
        fresh.close()
        site.close()
    assert not report.diverged, report.to_json()
    assert "hello" in site.hits


@pytest.mark.desktop
def test_real_x_input_on_the_tk_app_records_golden_actions(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    out = tmp_path / "ep"
    with Xvfb(1024, 768) as xvfb:
        env = DesktopEnv(display=xvfb.display, app=[sys.executable, str(TK_APP), str(log)])
        try:
            env.reset()
            deadline = time.monotonic() + 15
            widgets: dict[str, Any] = {}
            while not widgets and time.monotonic() < deadline:
                lines = log.read_text().splitlines() if log.exists() else []
                widgets = next((json.loads(s)["widgets"] for s in lines if '"geometry"' in s), {})
                time.sleep(0.05)
            ok, entry = (
                (w["x"] + w["w"] // 2, w["y"] + w["h"] // 2)
                for w in (widgets["ok"], widgets["entry"])
            )

            def xdo(*args: object) -> Callable[[], None]:
                argv = ["xdotool", *map(str, args)]
                return lambda: subprocess.run(argv, env=env._env, check=True, timeout=30)

            person = Person([
                xdo("mousemove", *ok, "click", 1), xdo("mousemove", *entry, "click", 1),
                xdo("type", "hello"), xdo("key", "ctrl+a"),
            ])  # fmt: skip
            record(env, env.input_source(), out, task="press OK, type hello", reset=False,
                   gate=AllowAll(), interval=0.3, settle=0.1, seconds=60, stop=person.stop,
                   on_progress=person)  # fmt: skip
        finally:
            env.close()
        # the recording replays on a fresh app: its own log shows the press and the text
        log2 = tmp_path / "replayed.jsonl"
        fresh = DesktopEnv(display=xvfb.display, app=[sys.executable, str(TK_APP), str(log2)])
        try:
            report = replay_live(out, env=fresh, out=tmp_path / "replay", gate=AllowAll())
        finally:
            fresh.close()
        replayed = [json.loads(s) for s in log2.read_text().splitlines()]
        assert not report.diverged, report.to_json()
        assert any(e.get("event") == "command" and e.get("widget") == "ok" for e in replayed)
        assert any(e.get("event") == "entry" and e.get("value") == "hello" for e in replayed)
    acts = actions_of(out)
    assert acts == [
        {"type": "click", "point": [float(ok[0]), float(ok[1])]},
        {"type": "click", "point": [float(entry[0]), float(entry[1])]},
        {"type": "type", "text": "hello", "clear": False, "enter": False},
        {"type": "key", "keys": "ctrl+a"},
        {"type": "finish", "status": "success"},
    ], acts
    events = [json.loads(s) for s in log.read_text().splitlines()]
    assert any(e.get("event") == "command" and e.get("widget") == "ok" for e in events)
    ep = load_episode(out)
    assert len(Exporter(ExportConfig(family="ui-tars-1.5"), tmp_path / "x").episode(ep)) == 5
