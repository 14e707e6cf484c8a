"""One gate for every documented way in (issue 22, item 6): the Python API (``run``,
``resume``), an externally driven ``ActionSession``, Gymnasium and the MCP tools all build
``agent run``'s gate by default — the built-in policy, nobody to ask (no TTY), so a press on
"Delete" is denied — and run without one only when told (``no_gate=True``, ``--no-gate``).

Attacker-style, in real headless Chromium: the page's "Delete" button sends a beacon to the
page's own server. Through each path the scripted (or externally sent) click on it leaves the
server's log empty; with the opt-out (the control) the beacon arrives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from agent.core.errors import ConfigError
from agent.episode.recording import load_episode
from agent.episode.resume import resume_episode
from agent.episode.runner import resolve_gate, run
from agent.interfaces.gym import NativeAgentEnv
from agent.interfaces.mcp import AgentTools, build_server
from agent.interfaces.session import ActionSession
from agent.safety.gate import AllowAll, PolicyGate
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel
from tests.beacons import BeaconSite

pytestmark = pytest.mark.browser
PAGE = (
    "<body style='margin:0'><button style='width:200px;height:40px' "
    "onclick=\"navigator.sendBeacon('/hit/delete', 'x')\">Delete</button></body>"
)
VIEWPORT = (400, 300)
DELETE = {"type": "click", "point": [100, 20]}
GIVE_UP = {"type": "finish", "status": "failure"}


class Site(BeaconSite):
    """The page and its own server, which logs every beacon it receives."""

    def __init__(self) -> None:
        super().__init__(PAGE)
        self.url += "/"

    def count(self, browser: BrowserEnv | None = None) -> int:
        """Beacons received so far (a beacon is sent asynchronously: let it land first)."""
        if browser is not None:
            browser.page.wait_for_timeout(300)
        return len(self.hits)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.httpd.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserEnv]:
    env = BrowserEnv(viewport=VIEWPORT)
    try:
        yield env
    finally:
        env.close()


def _script() -> ScriptedModel:
    return ScriptedModel([json.dumps(DELETE), json.dumps(GIVE_UP)])


def _denied(rec: dict[str, Any]) -> bool:
    return rec.get("error_code") == "denied" and rec["gate"]["verdict"] == "deny"


def test_run_and_resume_deny_delete_by_default(
    site: Site, browser: BrowserEnv, tmp_path: Path
) -> None:
    site.hits.clear()
    ep = run("press delete", env=browser, model=_script(), url=site.url, out=tmp_path / "a")
    assert site.count(browser) == 0  # the page's server never saw the press
    rec = ep.steps[0]["actions"][0]
    assert _denied(rec) and "non-interactive" in rec["gate"]["reason"]
    assert ep.meta["gate"]["policy"]["name"] == "default"
    # the control: the explicit opt-out presses for real
    ep = run("press delete", env=browser, model=_script(), url=site.url, out=tmp_path / "b",
             no_gate=True)  # fmt: skip
    assert site.count(browser) == 1 and ep.meta["gate"] == {"policy": "none"}
    # a resume re-executes the recorded (unguarded) Delete through the default gate: denied
    resumed = resume_episode(tmp_path / "b", env=browser, model=ScriptedModel([]))
    assert site.count(browser) == 1
    assert resumed.outcome["status"] == "resume_denied"
    resumed = resume_episode(tmp_path / "b", env=browser, model=ScriptedModel([]), no_gate=True)
    assert site.count(browser) == 2  # the control: resumed without a gate, it presses again


def test_an_action_session_and_gymnasium_deny_delete_by_default(
    site: Site, browser: BrowserEnv, tmp_path: Path
) -> None:
    site.hits.clear()
    session = ActionSession(browser, record_dir=tmp_path / "s")
    session.start(None, "press delete", url=site.url)
    res = session.act(DELETE)
    session.end("done")
    assert site.count(browser) == 0 and not res.executed and res.error_code == "denied"
    session = ActionSession(browser, record_dir=tmp_path / "s2", no_gate=True)
    session.start(None, "press delete", url=site.url)
    assert session.act(DELETE).executed
    session.end("done")
    assert site.count(browser) == 1  # the control

    gym = NativeAgentEnv(browser, "press delete", url=site.url, record_dir=tmp_path / "g")
    gym.reset()
    _, _, _, _, info = gym.step(json.dumps(DELETE))
    gym.session.end("done")  # not close(): the module's browser stays open
    assert site.count(browser) == 1 and info["gate"]["verdict"] == "deny"
    gym = NativeAgentEnv(browser, "press delete", url=site.url, record_dir=tmp_path / "g2",
                         no_gate=True)  # fmt: skip
    gym.reset()
    gym.step(json.dumps(DELETE))
    gym.session.end("done")
    assert site.count(browser) == 2  # the control


def _mcp_click(site: Site, tmp_path: Path, **gate: Any) -> tuple[Any, Path | None]:
    """One ``act`` through the MCP tools (in-process, the SDK's own client) on a browser of
    their own (the tools' env lives on their worker thread; the client runs on a thread of
    its own, away from this thread's Playwright loop)."""
    tools = AgentTools(lambda: BrowserEnv(viewport=VIEWPORT), record_dir=tmp_path, **gate)

    async def session() -> Any:
        async with Client(build_server(tools)) as client:
            await client.call_tool("reset", {"task": "press delete", "url": site.url})
            return await client.call_tool("act", {"action": DELETE})

    try:
        with ThreadPoolExecutor(1) as pool:
            result = pool.submit(anyio.run, session).result(timeout=120)
        episode = tools.session.episode_dir if tools.session else None
        if tools.session is not None:
            tools.pool.submit(tools.session.env.page.wait_for_timeout, 300).result()
    finally:
        tools.close()
    return result, episode


def test_the_mcp_tools_deny_delete_by_default(site: Site, tmp_path: Path) -> None:
    site.hits.clear()
    result, episode = _mcp_click(site, tmp_path / "m")
    assert result.is_error and "denied" in result.content[0].text
    assert site.count() == 0
    assert episode is not None
    (rec,) = load_episode(episode).steps[0]["actions"]
    assert _denied(rec)
    result, _ = _mcp_click(site, tmp_path / "m2", no_gate=True)
    assert not result.is_error and site.count() == 1  # the control


def test_one_function_builds_every_gate_and_refuses_contradictions(tmp_path: Path) -> None:
    gate = resolve_gate(deny_url=["*/admin*"], confirm="yes")
    assert isinstance(gate, PolicyGate) and gate.confirm == "yes"
    assert gate.policy.name == "default" and "*/admin*" in gate.policy.deny_urls
    assert isinstance(resolve_gate(no_gate=True), AllowAll)
    mine = AllowAll()
    assert resolve_gate(mine) is mine
    with pytest.raises(ConfigError, match="either gate= or policy"):
        resolve_gate(mine, policy=tmp_path / "p.toml")
    with pytest.raises(ConfigError, match="drop deny_url or no_gate"):
        resolve_gate(no_gate=True, deny_url=["x"])
    with pytest.raises(ConfigError, match="drop deny_url"):
        NativeAgentEnv("browser", no_gate=True, deny_url=["x"])  # before any browser starts
