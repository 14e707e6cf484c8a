"""The MCP server, driven by the official ``mcp`` SDK's own client: ``agent mcp`` as a real
subprocess (stdio, and streamable HTTP with a token) on a real headless Chromium showing the
bundled account site; the OCR grounder is the configured model."""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from agent.episode.recording import load_episode

AGENT = [sys.executable, "-m", "agent.cli", "mcp"]
SITE = ["--env", "browser", "--site", "account", "--viewport", "800x500"]
LOGIN = 'type "demo" into "Username"; type "demo123" into "Password"; click "Sign in"'


def _png(result: Any) -> Image.Image:
    (img,) = [c for c in result.content if c.type == "image"]
    assert img.mime_type == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(img.data)))


def _meta(result: Any) -> dict[str, Any]:
    return json.loads(next(c.text for c in result.content if c.type == "text"))


def _params(tmp: Path, *extra: str) -> StdioServerParameters:
    args = ["-m", "agent.cli", "mcp", *SITE, "--record-dir", str(tmp), *extra]
    return StdioServerParameters(command=sys.executable, args=args, cwd=str(Path.cwd()))


@pytest.mark.slow
def test_stdio_screenshot_click_denial_ground_and_run(tmp_path: Path) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append((p, total, message))

    async def session() -> dict[str, Any]:
        out: dict[str, Any] = {}
        params = _params(tmp_path, "--model", "ocr", "--deny-url", "*/admin*")
        async with Client(params, read_timeout_seconds=120) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"screenshot", "zoom", "act", "reset", "ground", "run_task"}
            shot = await client.call_tool("screenshot", {})
            assert not shot.is_error
            out["shot"], out["shot_meta"] = _png(shot), _meta(shot)
            for key, args in (
                ("zoom", {"region": [150.5, 100, 650, 400]}),  # the login form
                ("zoom_edge", {"region": [0, 360.4, 120, 500]}),  # the bottom-left corner
                ("zoom2", {"region": [700, 0, 800, 40], "scale": 2}),
                ("zoom_off", {"region": [900, 0, 990, 50]}),
            ):
                out[key] = await client.call_tool("zoom", args)
            out["zoom_act"] = await client.call_tool(
                "act", {"action": {"type": "zoom", "region": [0, 0, 10, 10]}}
            )
            g = await client.call_tool("ground", {"phrase": "Northwind ID"})
            assert not g.is_error, g.content
            out["ground"] = g.structured_content or json.loads(g.content[0].text)
            x, y = out["ground"]["point"]
            clicked = await client.call_tool("act", {"action": {"type": "click", "point": [x, y]}})
            assert not clicked.is_error, clicked.content
            out["after"], out["after_meta"] = _png(clicked), _meta(clicked)
            denied = await client.call_tool(
                "act", {"action": {"type": "navigate", "url": "http://127.0.0.1:9/admin/users"}}
            )
            out["denied"] = denied
            bad = await client.call_tool("act", {"action": {"type": "clik", "point": [1, 2]}})
            out["bad"] = bad
            ran = await client.call_tool(
                "run_task", {"task": LOGIN, "max_steps": 8}, progress_callback=on_progress
            )
            assert not ran.is_error, ran.content
            out["ran"] = ran.structured_content or json.loads(ran.content[0].text)
            out["after_run"] = _meta(await client.call_tool("screenshot", {}))
        return out

    out = anyio.run(session)
    assert out["shot"].size == (800, 500) and out["shot_meta"]["url"].endswith("#/login")
    # zoom: the screenshot's own pixels at native resolution (the region widened to whole px)
    assert not out["zoom"].is_error, out["zoom"].content
    for key, box in (("zoom", (150, 100, 650, 400)), ("zoom_edge", (0, 360, 120, 500))):
        native = out["shot"].convert("RGB").crop(box)
        assert _png(out[key]).convert("RGB").tobytes() == native.tobytes()
        assert _meta(out[key])["crop"] == list(box) and _meta(out[key])["scale"] == 1
    assert _meta(out["zoom"])["width"] == 500 and _meta(out["zoom"])["height"] == 300
    assert _png(out["zoom2"]).size == (200, 80)
    assert _meta(out["zoom2"])["resampling"] == "bicubic x2"
    assert out["zoom_off"].is_error and "overlaps the 800x500" in out["zoom_off"].content[0].text
    assert out["zoom_act"].is_error and "call the `zoom` tool" in out["zoom_act"].content[0].text
    gx, gy = out["ground"]["point"]
    x1, y1, x2, y2 = out["ground"]["box"]
    assert x1 <= gx <= x2 and y1 <= gy <= y2
    # the click ran: a new screenshot, step 1 recorded below
    assert out["after_meta"]["step"] == 1 and out["after"].size == (800, 500)
    # a gate denial is a tool error with the policy's reason; a bad action too
    assert out["denied"].is_error and "denied" in out["denied"].content[0].text
    assert "admin" in out["denied"].content[0].text
    assert out["bad"].is_error and "clik" in out["bad"].content[0].text
    # run_task: the model ran the login with progress notifications
    assert out["ran"]["outcome"]["status"] == "success", out["ran"]
    assert progress and progress[0][0] == 1 and progress[0][1] == 8
    assert "step 1: type" in (progress[0][2] or "")
    assert not out["after_run"]["url"].endswith("#/login")  # signed in, the env not reset
    # everything is recorded: the session's episode holds the click and the denial
    episodes = [load_episode(d) for d in tmp_path.iterdir() if d.is_dir()]
    external = [e for e in episodes if e.meta["model"]["name"] == "external"]
    assert all(e.meta.get("interface") == "mcp" for e in external)
    # the first holds the session's actions; after run_task a new one records the screen
    # the run left, without resetting the env
    session_ep, after_run = sorted(external, key=lambda e: e.meta["started_at"])
    assert after_run.steps == [] and after_run.outcome["status"] == "closed"
    acts = [a for s in session_ep.steps for a in s["actions"]]
    assert acts[0]["action"] == {"type": "click", "point": [gx, gy]}
    assert acts[0]["gate"]["verdict"] == "allow" and "error" not in acts[0]
    assert acts[1]["action"]["type"] == "navigate" and acts[1]["gate"]["verdict"] == "deny"
    assert (session_ep.dir / "0000.png").exists()
    run_ep = load_episode(out["ran"]["episode"])
    assert run_ep.success and run_ep.meta["interface"] == "mcp"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_http_needs_the_token(tmp_path: Path) -> None:
    port = _free_port()
    cmd = [*AGENT, *SITE, "--record-dir", str(tmp_path), "--http", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--token", "s3cret-token"], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                r = httpx.post(url, json={}, timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.2)
        else:
            pytest.fail("agent mcp --http never listened")
        assert r.status_code == 401
        wrong = httpx.post(url, json={}, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401

        async def session() -> Any:
            headers = {"Authorization": "Bearer s3cret-token"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=60) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                return await client.call_tool("screenshot", {})

        shot = anyio.run(session)
        assert not shot.is_error and _png(shot).size == (800, 500)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_http_refuses_other_hosts_without_a_token(tmp_path: Path) -> None:
    r = subprocess.run(
        [*AGENT, *SITE, "--record-dir", str(tmp_path), "--http", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--token" in r.stderr


def test_env_errors_reach_the_client_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process (the SDK's own client on the server object): a desktop env with no X
    display fails with its typed error, whose message names the fix, as a tool error."""
    from agent.interfaces.mcp import AgentTools, build_server
    from agent.safety.gate import make_gate
    from envs.desktop import DesktopEnv

    monkeypatch.delenv("DISPLAY", raising=False)
    tools = AgentTools(lambda: DesktopEnv(), gate=make_gate(confirm="no"))

    async def session() -> Any:
        async with Client(build_server(tools)) as client:
            return await client.call_tool("screenshot", {}), await client.call_tool(
                "ground", {"phrase": "OK"}
            )

    try:
        shot, ground = anyio.run(session)
    finally:
        tools.pool.shutdown(wait=True)
    assert shot.is_error and "EnvNotAvailableError" in shot.content[0].text
    assert "Xvfb" in shot.content[0].text  # the fix
    assert ground.is_error
