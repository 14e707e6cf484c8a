"""Several endpoints of one model against the real vLLM (the session's qwen2-vl server of
vllm_servers.py; no extra vLLM is started): an episode goes on at the second endpoint when
the first dies in the middle of it, and every request of an episode goes to one endpoint.

The first endpoint is a real HTTP proxy on 127.0.0.1 in front of the server: it forwards
what it gets until it has answered ``die_after`` chat completions, then drops the next one
without an answer and stops listening (a replica that died mid-request)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

from agent.core.model import ModelRequest
from agent.core.observation import Observation
from agent.episode.runner import run
from agent.safety.gate import make_gate
from envs.browser.env import BrowserEnv
from envs.sites import get_task
from model.backends.constrain import region_click_schema
from model.backends.endpoints import EndpointPool
from model.backends.openai_backend import OpenAIModel
from model.registry import load_model
from tests.model.vllm_servers import VLLM_FAMILIES, Servers

pytestmark = pytest.mark.timeout(900)


class Proxy:
    """Forwards every request to ``upstream`` (the server's root); counts the chat
    completions it answered; the one after ``die_after`` is dropped and the port closed."""

    def __init__(self, upstream: str, die_after: int | None = None) -> None:
        self.upstream = upstream
        self.die_after = die_after
        self.answered = 0
        self.dead = threading.Event()
        self.client = httpx.Client(timeout=300)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.forward(self, None)

            def do_POST(self) -> None:
                outer.forward(self, self.rfile.read(int(self.headers.get("content-length", 0))))

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, handler: BaseHTTPRequestHandler, body: bytes | None) -> None:
        chat = handler.path.endswith("/chat/completions")
        if chat and self.die_after is not None and self.answered >= self.die_after:
            handler.close_connection = True  # dropped mid-request: no status line
            if not self.dead.is_set():
                self.dead.set()
                threading.Thread(target=self.close, daemon=True).start()
            return
        resp = self.client.request(
            handler.command,
            self.upstream + handler.path,
            content=body,
            headers={"content-type": handler.headers.get("content-type", "application/json")},
        )
        handler.send_response(resp.status_code)
        handler.send_header("content-type", resp.headers.get("content-type", "text/plain"))
        handler.send_header("content-length", str(len(resp.content)))
        handler.end_headers()
        handler.wfile.write(resp.content)
        self.answered += chat

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()  # the port refuses connections from now on


def root(base_url: str) -> str:
    return base_url.removesuffix("/v1")


def test_an_episode_goes_on_at_the_second_endpoint_when_the_first_dies(
    vllm_servers: Servers, tmp_path: Path
) -> None:
    """Done when (issue 25): four steps of shop/add-to-cart (real Chromium, the tiny model
    constrained to a click on the first "Add to cart"), ``openai:NAME@A,B``: A answers
    steps 0-1 and dies in step 2; B (the vLLM itself) answers steps 2-3; no step lost."""
    server = vllm_servers.get(VLLM_FAMILIES[0])
    proxy = Proxy(root(server.base_url), die_after=2)
    env = BrowserEnv(site="shop", viewport=(960, 640))
    try:
        task = get_task("shop/add-to-cart")
        task.setup(env)
        box = env.page.locator(".add-btn").first.bounding_box()
        assert box is not None
        x0, y0 = int(box["x"]) + 3, int(box["y"]) + 3
        x1, y1 = int(box["x"] + box["width"]) - 3, int(box["y"] + box["height"]) - 3
        a, b = proxy.url, server.base_url
        model = load_model(
            f"openai:{server.name}@{a},{b}",
            endpoints=EndpointPool([a, b], start=0),  # the first episode goes to A
            format="json", constrained=True, action_schema=region_click_schema(x0, y0, x1, y1),
            history_images=2, max_new_tokens=40, retries=0,
        )  # fmt: skip
        try:
            episode = run(task, env=env, model=model, max_steps=4, out=tmp_path / "ep",
                          gate=make_gate(confirm="deny"))  # fmt: skip
        finally:
            model.close()
        cart = env.site_server.api("shop", "GET", "state")["cart"]
    finally:
        env.close()
        proxy.close()
    assert proxy.dead.is_set() and proxy.answered == 2
    steps = episode.steps
    assert [s["index"] for s in steps] == [0, 1, 2, 3]  # the episode finished its steps
    assert [s["endpoint"]["url"] for s in steps] == [a, a, b, b]
    failed = steps[2]["endpoint"]["failed"]
    assert [f["url"] for f in failed] == [a]  # dropped without an answer (a FIN or a reset)
    assert failed[0]["error"].split(":")[0] in ("RemoteProtocolError", "ReadError"), failed
    assert all("failed" not in s["endpoint"] for s in (steps[0], steps[1], steps[3]))
    for step in steps:  # every step's click ran on the page
        (rec,) = step["actions"]
        assert rec["action"]["type"] == "click" and "error" not in rec["result"], rec
    assert sum(c["qty"] for c in cart) == 4  # the site's own state: no step lost
    lines = (tmp_path / "ep" / "steps.jsonl").read_text().splitlines()
    assert [json.loads(line)["endpoint"]["url"] for line in lines] == [a, a, b, b]


def test_every_request_of_an_episode_goes_to_one_live_endpoint(vllm_servers: Servers) -> None:
    """Two live endpoints (proxies in front of the one server): each episode's requests all
    go to its own endpoint; two episodes at once are spread over both."""
    server = vllm_servers.get(VLLM_FAMILIES[0])
    p, q = Proxy(root(server.base_url)), Proxy(root(server.base_url))
    try:
        pool = EndpointPool([p.url, q.url], start=0)
        kw = {"endpoints": pool, "max_new_tokens": 2, "retries": 0, "check_resample": False}
        one, two = (OpenAIModel(server.name, f"{p.url},{q.url}", **kw) for _ in range(2))
        obs = Observation(array=np.random.default_rng(0).integers(0, 256, (84, 112, 3), np.uint8))
        urls: dict[str, list[str]] = {"one": [], "two": []}
        for _ in range(3):
            for name, m in (("one", one), ("two", two)):
                frame = obs.frame(mode=m.input_mode, max_tokens=m.max_tokens)
                reply = m.act(ModelRequest("Open the settings", obs, frame))
                assert reply.endpoint is not None
                urls[name].append(reply.endpoint["url"])
        one.close()
        two.close()
    finally:
        p.close()
        q.close()
    assert urls == {"one": [p.url] * 3, "two": [q.url] * 3}
    assert (p.answered, q.answered) == (3, 3)  # counted on the wire, by each proxy


def test_the_proxy_forwards_until_it_dies(vllm_servers: Servers) -> None:
    """The test's own proxy: real answers from vLLM, then a drop, then a closed port."""
    server = vllm_servers.get(VLLM_FAMILIES[0])
    proxy = Proxy(root(server.base_url), die_after=0)
    try:
        assert httpx.get(f"{proxy.url}/models").json()["data"][0]["id"] == server.name
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{proxy.url}/chat/completions", json={})
        assert proxy.dead.wait(10)
        proxy.thread.join(10)
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{proxy.url}/chat/completions", json={})
    finally:
        proxy.close()
