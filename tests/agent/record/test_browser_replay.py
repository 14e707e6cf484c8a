"""A recording on a real page (headless Chromium, a page on 127.0.0.1 that sends a beacon
with the field's text) replays: `agent replay` types and sends the same text again, and the
episode exports. The person is the named test fake ScriptedSource, which makes the env
react to each scripted event as to the real input (when it delivers the event: the events
are spaced so that the recorder takes its settled screenshot between two actions even on a
loaded machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.core.actions import Click, Type
from agent.core.inputs import RawEvent
from agent.episode.recording import load_episode
from agent.export.samples import ExportConfig, Exporter
from agent.record.recorder import record
from agent.record.scripted import ScriptedSource
from agent.replay.live import replay_live
from agent.safety.gate import AllowAll
from envs.browser import BrowserEnv
from tests.beacons import BeaconSite

PAGE = (
    "<html><body style='margin:0'>"
    "<input id=q style='position:absolute;left:20px;top:20px;width:200px;height:30px'>"
    "<button style='position:absolute;left:20px;top:80px;width:100px;height:30px' "
    "onclick=\"navigator.sendBeacon('/hit/' + document.getElementById('q').value, 'x')\">"
    "Send</button></body></html>"
)
FIELD, SEND = (100.0, 35.0), (70.0, 95.0)


def script() -> list[RawEvent]:
    ev = [RawEvent(0.3, "down", *FIELD, button="left"), RawEvent(0.35, "up", *FIELD)]
    ev += [RawEvent(1.0, "text", text="hello")]  # one event: one step of the fake's page
    ev += [RawEvent(2.0, "down", *SEND, button="left"), RawEvent(2.05, "up", *SEND)]
    return ev


@pytest.mark.browser
def test_recorded_page_replays_and_exports(tmp_path: Path) -> None:
    site = BeaconSite(PAGE)
    env = BrowserEnv(viewport=(320, 160))
    try:

        def perform(e: RawEvent) -> None:  # the page gets the person's input
            if e.kind == "up":
                env.step(Click(point=(e.x, e.y)))
            elif e.kind == "text" and e.text:
                env.step(Type(text=e.text))

        source = ScriptedSource(script(), perform=perform)
        out = tmp_path / "ep"
        record(
            env, source, out, task="send hello", url=site.url + "/", gate=AllowAll(),
            seconds=3.5, interval=0.3, settle=0.1,
        )  # fmt: skip
        site.wait_for("hello")
        ep = load_episode(out)
        acts = [a for r in ep.records for a in r.executed_actions()]
        assert [a["type"] for a in acts] == ["click", "type", "click", "finish"]
        assert acts[1]["text"] == "hello"
        samples = Exporter(ExportConfig(family="ui-tars-1.5"), tmp_path / "x").episode(ep)
        assert len(samples) == 4
        site.hits.clear()
        fresh = BrowserEnv(viewport=(320, 160))
        try:
            report = replay_live(out, env=fresh, out=tmp_path / "replay", gate=AllowAll())
        finally:
            fresh.close()
        assert not report.diverged, report.to_json()
        site.wait_for("hello")
    finally:
        env.close()
        site.close()
