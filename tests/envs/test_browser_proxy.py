"""Every connection the browser opens goes through the URL policy (issue 22): a hostile page
on 127.0.0.1 reaches a deny-listed server by a WebSocket, speculation-rules prefetch and
prerender, a service worker, a shared worker, WebRTC (STUN over UDP, TURN over TCP), beacons
and keep-alive fetches while it unloads, and a 302 from its own allowed server. Real
Chromium, real servers and sinks counting what arrives: with the policy on nothing arrives;
with it off (the control: no policy, no WebRTC flag) each one does."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from agent.episode.runner import guard_requests
from agent.safety.gate import make_gate
from agent.safety.policy import Policy
from envs.browser import discover as discover_module
from envs.browser.env import BrowserEnv
from envs.browser.proxy import WireProxy
from envs.browser.routing import RequestGuard

ATTACK = """<!doctype html><title>attack</title><p>hello</p>
<script type="speculationrules">
{{"prefetch": [{{"source": "list", "urls": ["{deny}/prefetch"]}}],
 "prerender": [{{"source": "list", "urls": ["/prerender-secret"]}}]}}
</script>
<script>
new WebSocket("ws://0.0.0.0:{dport}/ws");
navigator.serviceWorker.register("/sw.js");
new SharedWorker("/shared.js");
new Image().src = "/hop";  // 302 → the denied server
const pc = new RTCPeerConnection({{iceServers: [
  {{urls: "stun:127.0.0.1:{uport}"}},
  {{urls: "turn:127.0.0.1:{tport}?transport=tcp", username: "u", credential: "p"}}]}});
pc.createDataChannel("x");
pc.createOffer().then((o) => pc.setLocalDescription(o));
addEventListener("pagehide", () => {{
  navigator.sendBeacon("{deny}/beacon", "x");
  fetch("{deny}/keepalive", {{method: "POST", body: "x", keepalive: true}});
  if (window.fetchLater) fetchLater("{deny}/later", {{activateAfter: 0}});
}});
</script>"""
SW = 'self.addEventListener("install", () => {{ fetch("{deny}/sw", {{mode: "no-cors"}}); }});'
SHARED = 'fetch("{deny}/shared", {{mode: "no-cors"}}).catch(() => {{}});'


class _Http:
    """A real HTTP server on 127.0.0.1 that logs every request path (query dropped) and
    serves ``routes`` (path → (status, headers, body))."""

    def __init__(self, routes: Callable[[str], tuple[int, dict[str, str], str]]) -> None:
        self.hits: Counter[str] = Counter()
        self.received: dict[str, int] = {}  # path → bytes of request body
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                path = self.path.split("?", 1)[0]
                outer.hits[path] += 1
                size = int(self.headers.get("Content-Length") or 0)
                outer.received[path] = len(self.rfile.read(size))
                status, headers, body = routes(path)
                data = body.encode()
                self.send_response(status)
                for k, v in {"Content-Length": str(len(data)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _any

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


class _Sinks:
    """A UDP socket counting datagrams (STUN) and a TCP listener counting connections (TURN
    over TCP), both on 127.0.0.1."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.datagrams = self.connections = 0
        threading.Thread(target=self._udp, daemon=True).start()
        threading.Thread(target=self._tcp, daemon=True).start()

    def _udp(self) -> None:
        while True:
            try:
                self.udp.recvfrom(4096)
            except OSError:
                return
            self.datagrams += 1

    def _tcp(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, object]]:
    sinks = _Sinks()
    denied = _Http(lambda path: (200, {"Content-Type": "text/plain"}, "denied"))
    deny = f"http://127.0.0.1:{denied.port}"
    page = ATTACK.format(
        deny=deny,
        dport=denied.port,
        uport=sinks.udp.getsockname()[1],
        tport=sinks.tcp.getsockname()[1],
    )

    def routes(path: str) -> tuple[int, dict[str, str], str]:
        if path == "/sw.js":
            return 200, {"Content-Type": "text/javascript"}, SW.format(deny=deny)
        if path == "/shared.js":
            return 200, {"Content-Type": "text/javascript"}, SHARED.format(deny=deny)
        if path == "/hop":
            return 302, {"Location": f"{deny}/redirected"}, ""
        return 200, {"Content-Type": "text/html"}, page

    site = _Http(routes)
    yield {"site": site, "denied": denied, "sinks": sinks}
    for server in (site, denied):
        server.httpd.shutdown()
    sinks.udp.close()
    sinks.tcp.close()


def _policy(world: dict[str, object]) -> Policy:
    denied, sinks = world["denied"], world["sinks"]
    assert isinstance(denied, _Http) and isinstance(sinks, _Sinks)
    return Policy().with_urls(
        deny=[
            f"http://[::1]:{denied.port}/*",  # a bracketed pattern, reached as 127.0.0.1/0.0.0.0
            f"127.0.0.1:{sinks.udp.getsockname()[1]}",
            f"127.0.0.1:{sinks.tcp.getsockname()[1]}",
            "*/prerender-secret*",
        ]
    )


def _attack(
    env: BrowserEnv, world: dict[str, object], ready: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Open the attack page until ``ready(blocked so far)`` (or 12 s), leave it (the unload
    beacons go then); the blocked requests."""
    site = world["site"]
    assert isinstance(site, _Http)
    base = f"http://127.0.0.1:{site.port}"
    blocked = list(env.reset(url=f"{base}/").extra.get("blocked_requests", []))
    page = env.page
    deadline = time.monotonic() + 12
    while not ready(blocked) and time.monotonic() < deadline:
        page.wait_for_timeout(250)  # ICE gathering, worker start-up
        blocked += env.observe().extra.get("blocked_requests", [])
    page.goto(f"{base}/after")
    page.wait_for_timeout(800)
    return blocked + list(env.observe().extra.get("blocked_requests", []))


def _all_tried(blocked: list[dict[str, Any]]) -> bool:
    """Every attack was tried (and refused): the proof the page did its part."""
    paths = {urlsplit(str(b.get("url"))).path for b in blocked}
    kinds = {b.get("resource") for b in blocked}
    return paths >= TRIED and "proxy:tunnel" in kinds


TRIED = {"/ws", "/sw", "/shared", "/redirected", "/prefetch", "/prerender-secret"}


def _arrived(world: dict[str, object]) -> dict[str, int]:
    """What reached the denied server, the sinks, and the denied path, by kind."""
    denied, sinks, site = world["denied"], world["sinks"], world["site"]
    assert isinstance(denied, _Http) and isinstance(sinks, _Sinks) and isinstance(site, _Http)
    kinds = {kind: sum(denied.hits[f"/{p}"] for p in paths) for kind, paths in PATHS.items()}
    kinds["webrtc-udp"], kinds["webrtc-tcp"] = sinks.datagrams, sinks.connections
    kinds["prerender"] = site.hits["/prerender-secret"]
    return kinds


PATHS = {  # what reaches the denied server, by kind
    "websocket": ["ws"],
    "service-worker": ["sw"],
    "shared-worker": ["shared"],
    "redirect": ["redirected"],
    "unload": ["beacon", "keepalive", "later"],
    "prefetch": ["prefetch"],
}


@pytest.fixture(scope="module")
def guarded(world: dict[str, object]) -> Iterator[BrowserEnv]:
    env = BrowserEnv(url="about:blank", fast_capture=False)
    guard_requests(env, make_gate(_policy(world), confirm="no"))
    yield env
    env.close()


def test_every_connection_to_a_denied_host_is_refused(
    world: dict[str, object], guarded: BrowserEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = _attack(guarded, world, _all_tried)
    time.sleep(0.5)  # anything late
    reached = _arrived(world)
    assert set(reached.values()) == {0}, reached
    assert _all_tried(blocked), blocked
    recorded = {b.get("resource") for b in blocked}
    assert {"proxy:websocket", "proxy:tunnel", "proxy:http"} <= recorded, blocked
    # the control: the same browser without the policy or the WebRTC flag reaches each one
    flagless = tuple(a for a in discover_module.LAUNCH_ARGS if "webrtc-ip" not in a)
    monkeypatch.setattr(discover_module, "LAUNCH_ARGS", flagless)
    control = BrowserEnv(url="about:blank", fast_capture=False)
    try:
        _attack(
            control, world, lambda _: all(n for k, n in _arrived(world).items() if k != "unload")
        )
    finally:
        control.close()
    time.sleep(0.5)
    reached = _arrived(world)
    assert 0 not in reached.values(), reached


# ---- the proxy alone, driven by a plain client (no browser) -------------------------------


def _through(proxy_port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_the_proxy_judges_requests_and_tunnels(world: dict[str, object]) -> None:
    denied, site = world["denied"], world["site"]
    assert isinstance(denied, _Http) and isinstance(site, _Http)
    guard = RequestGuard(_policy(world).url_verdict)
    proxy = WireProxy(lambda: guard)
    try:
        port, before = proxy.start(), denied.hits.copy()
        ok = _through(port, f"GET http://localhost:{site.port}/x HTTP/1.1\r\n\r\n".encode())
        assert ok.startswith(b"HTTP/1.0 200") and b"Connection: close" in ok
        post = f"POST http://[::1]:{denied.port}/p HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"
        assert _through(port, post.encode()).startswith(b"HTTP/1.1 403")
        tunnel = f"CONNECT 127.0.0.1:{denied.port} HTTP/1.1\r\n\r\n".encode()
        inner = b"GET /t HTTP/1.1\r\nHost: x\r\n\r\n"
        answer = _through(port, tunnel + inner)
        assert answer == b"HTTP/1.1 200 Connection established\r\n\r\n"  # then closed
        assert _through(port, tunnel + b"\x00\x01opaque") == answer
        sink = world["sinks"]
        assert isinstance(sink, _Sinks)
        sunk = sink.connections
        tls = f"CONNECT localhost:{sink.tcp.getsockname()[1]} HTTP/1.1\r\n\r\n".encode()
        assert _through(port, tls + b"\x16\x03\x01\x02\x00\x01\x00\x01") == answer
        assert sink.connections == sunk
        assert denied.hits == before  # nothing reached the denied server
        kinds = [b["resource"] for b in guard.drain()]
        assert kinds == ["proxy:http", "proxy:http", "proxy:tunnel", "proxy:tls"], kinds
        inner = b"GET /fine HTTP/1.1\r\nHost: x\r\n\r\n"
        allowed = f"CONNECT 127.0.0.1:{site.port} HTTP/1.1\r\n\r\n".encode() + inner
        assert b"200 OK" in _through(port, allowed) and site.hits["/fine"] == 1
        big = b"x" * 3_000_000  # more than one read: sent on while the server reads it
        post = f"POST http://127.0.0.1:{site.port}/big HTTP/1.1\r\nContent-Length: {len(big)}"
        assert _through(port, post.encode() + b"\r\n\r\n" + big).startswith(b"HTTP/1.0 200")
        assert site.received["/big"] == len(big)
    finally:
        proxy.stop()
