"""Several endpoints of one model (model/backends/endpoints.py): least-outstanding balancing
per episode, stickiness, cooldown, failover and the all-down error, against real HTTP
servers on 127.0.0.1 (tests/model/chat_server.py) and closed ports."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.errors import ConfigError, ModelError
from agent.core.model import ModelRequest
from agent.core.observation import Observation
from agent.episode.loop import LoopConfig
from agent.episode.runner import run
from model.backends.endpoints import EndpointPool, Session, shared_pool
from model.backends.openai_backend import OpenAIModel, split_spec
from model.config import model_spec, resolve_settings
from model.registry import load_model
from tests.model.chat_server import ChatServer

OK = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Action: wait()"}}]}


class Clock:
    """A clock the test moves (the pool's cooldowns read it)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def dead_url() -> str:
    """A port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class Dropping:
    """A real server that reads each request and closes the connection without an answer
    (a replica that dies mid-request)."""

    def __init__(self) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.requests += 1
                self.close_connection = True  # no status line: the client sees a drop

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[Any]:
    made: list[Any] = []

    def make(status: int = 200, body: Any = OK) -> ChatServer:
        made.append(ChatServer(lambda _: (status, body, {})))
        return made[-1]

    yield make
    for s in made:
        s.close()


def request(model: OpenAIModel) -> ModelRequest:
    obs = Observation(array=np.zeros((56, 84, 3), dtype=np.uint8))
    return ModelRequest("do it", obs, obs.frame(mode=model.input_mode, convention=model.convention))


def client(
    urls: list[str], clock: Clock | None = None, pool: EndpointPool | None = None, **kw: Any
) -> OpenAIModel:
    pool = pool or EndpointPool(urls, start=0, cooldown=30.0, clock=clock or Clock())
    kw.setdefault("retries", 0)
    return OpenAIModel("UI-TARS-7B", ",".join(urls), endpoints=pool, backoff=0.01, **kw)


# ---- the balancer -------------------------------------------------------------------------
def test_a_new_episode_goes_to_the_endpoint_with_fewest_outstanding_requests() -> None:
    pool = EndpointPool(["http://a/v1", "http://b/v1", "http://c/v1"], start=0)
    a, b, c = pool.endpoints
    with pool.request(a), pool.request(a), pool.request(b):
        assert Session(pool).order()[0] is c  # 2, 1, 0 outstanding
        assert [e.url for e in pool.ranked()] == ["http://c/v1", "http://b/v1", "http://a/v1"]
    assert (a.outstanding, b.outstanding, c.outstanding) == (0, 0, 0)


def test_ties_go_to_the_fewest_episodes_then_turn_by_turn() -> None:
    pool = EndpointPool(["http://a/v1", "http://b/v1"], start=0)
    first, second, third = Session(pool), Session(pool), Session(pool)
    assert first.order()[0].url == "http://a/v1"
    assert second.order()[0].url == "http://b/v1"  # a holds an episode
    assert third.order()[0].url == "http://a/v1"  # one each: turn by turn
    assert [e.sessions for e in pool.endpoints] == [2, 1]
    first.end()
    second.end()
    assert [e.sessions for e in pool.endpoints] == [1, 0]


def test_an_episode_stays_on_its_endpoint_while_it_is_healthy() -> None:
    clock = Clock()
    pool = EndpointPool(["http://a/v1", "http://b/v1"], start=0, cooldown=30.0, clock=clock)
    a, b = pool.endpoints
    episode = Session(pool)
    assert episode.order()[0] is a
    with pool.request(a), pool.request(a):  # busier now, but the episode's prefix is there
        assert episode.order()[0] is a
    pool.mark_down(a, "ConnectError")
    assert episode.order() == [b, a]  # moved; the down one is tried last
    assert (a.sessions, b.sessions) == (0, 1)
    clock.now += 31  # a is back, but the episode stays where its cache is
    assert episode.order()[0] is b
    assert Session(pool).order()[0] is a  # a new episode may go to a again


def test_shared_pool_is_one_per_endpoint_list() -> None:
    one = shared_pool(["http://x:1/v1", "http://y:1/v1/"])
    assert shared_pool(["http://x:1/v1/", "http://y:1/v1"]) is one
    assert shared_pool(["http://y:1/v1", "http://x:1/v1"]) is not one


# ---- on the wire --------------------------------------------------------------------------
def test_every_request_of_an_episode_goes_to_one_endpoint(servers: Any) -> None:
    a, b = servers(), servers()
    model = client([a.url, b.url])
    replies = [model.act(request(model)) for _ in range(4)]
    assert (len(a.requests), len(b.requests)) == (4, 0)
    assert [r.endpoint for r in replies] == [{"url": a.url}] * 4
    other = client([a.url, b.url], pool=model.pool)  # a second episode at the same time
    other.act(request(other))
    assert (len(a.requests), len(b.requests)) == (4, 1)
    model.new_episode()  # the next episode of the first model object: balanced afresh
    model.act(request(model))
    assert (len(a.requests), len(b.requests)) == (5, 1)  # b holds the other episode
    assert model.describe()["endpoints"] == [a.url, b.url]


@pytest.mark.parametrize("failure", ["refused", "dropped", "503"])
def test_failover_moves_the_request_and_the_episode_to_the_next_endpoint(
    servers: Any, failure: str
) -> None:
    b = servers()
    dropping = Dropping() if failure == "dropped" else None
    if failure == "refused":
        a_url = dead_url()
    elif dropping is not None:
        a_url = dropping.url
    else:
        a_url = servers(503, {"error": {"message": "engine is dead"}}).url
    clock = Clock()
    model = client([a_url, b.url], clock)
    try:
        reply = model.act(request(model))
        assert reply.text == "Action: wait()"
        assert reply.endpoint is not None and reply.endpoint["url"] == b.url
        (failed,) = reply.endpoint["failed"]
        assert failed["url"] == a_url
        want = {"refused": "ConnectError", "dropped": "RemoteProtocolError", "503": "HTTP 503"}
        assert failed["error"].startswith(want[failure]) or (
            failure == "dropped" and failed["error"].startswith("ReadError")  # a reset
        ), failed
        assert failure != "503" or "engine is dead" in failed["error"]
        assert model.act(request(model)).endpoint == {"url": b.url}  # no retry of a
        assert model.pool.endpoints[0].down_until == clock.now + 30.0
        assert len(b.requests) == 2
        if dropping is not None:
            assert dropping.requests == 1
    finally:
        if dropping is not None:
            dropping.close()


def test_a_4xx_is_the_requests_fault_and_is_not_failed_over(servers: Any) -> None:
    a = servers(400, {"error": {"message": "bad max_tokens"}})
    b = servers()
    model = client([a.url, b.url], retries=3)
    with pytest.raises(ModelError, match="HTTP 400: bad max_tokens"):
        model.act(request(model))
    assert (len(a.requests), len(b.requests)) == (1, 0)
    assert model.pool.healthy(model.pool.endpoints[0])


def test_when_every_endpoint_fails_the_error_names_each(servers: Any) -> None:
    x, y = dead_url(), servers(502, {"error": {"message": "bad gateway"}})
    model = client([x, y.url], retries=1)
    with pytest.raises(ModelError) as err:
        model.act(request(model))
    msg = str(err.value)
    assert "no endpoint of 'UI-TARS-7B' answered after 2 round(s)" in msg, msg
    assert f"{x} (ConnectError" in msg and f"{y.url} (HTTP 502: bad gateway)" in msg, msg
    assert len(y.requests) == 2  # each round tried every endpoint
    assert not any(model.pool.healthy(e) for e in model.pool.endpoints)


def test_a_down_endpoint_is_tried_again_after_its_cooldown(servers: Any) -> None:
    b = servers()
    clock = Clock()
    model = client([dead_url(), b.url], clock)
    assert model.act(request(model)).endpoint["failed"]  # type: ignore[index]
    model.new_episode()
    assert model.act(request(model)).endpoint == {"url": b.url}  # a still cooling down
    clock.now += 31
    model.new_episode()
    assert "failed" in model.act(request(model)).endpoint  # type: ignore[operator]


def test_step_lines_name_the_endpoint_and_each_episode_is_balanced_afresh(
    tmp_path: Path,
) -> None:
    """Three episodes of one model object (as a bench worker runs them): the runner's
    new_episode balances each afresh; A fails (503) in the third, which goes on at B."""
    from board_env import BoardEnv

    wait = {"choices": [{"message": {"content": '{"type": "wait", "seconds": 0}'}}]}
    a = ChatServer(lambda _: (200, wait, {}) if len(a.requests) <= 3 else (503, {}, {}))
    b = ChatServer(lambda _: (200, wait, {}))
    try:
        model = client([a.url, b.url], format="json")
        urls = []
        for n in range(3):
            ep = run("press OK", env=BoardEnv(), model=model, out=tmp_path / f"ep{n}",
                     config=LoopConfig(max_steps=2), no_gate=True)  # fmt: skip
            assert [s["index"] for s in ep.steps] == [0, 1]
            urls.append([s["endpoint"]["url"] for s in ep.steps])
        model.close()
    finally:
        a.close()
        b.close()
    assert urls == [[a.url, a.url], [b.url, b.url], [a.url, b.url]]
    assert ep.steps[1]["endpoint"]["failed"] == [{"url": a.url, "error": "HTTP 503: {}"}]
    assert (len(a.requests), len(b.requests)) == (4, 3)


def test_the_resample_check_asks_the_endpoint_that_answered(servers: Any) -> None:
    """vLLM's /tokenize measures the image tokens at the server that answered (here B: A
    is down), not at the first URL of the list."""
    import base64
    import io

    from PIL import Image

    def answer(req: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        if not req["path"].endswith("/tokenize"):
            return 200, {**OK, "usage": {"prompt_tokens": 1000}}, {}
        url = req["json"]["messages"][0]["content"][0]["image_url"]["url"]
        w, h = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size
        return 200, {"count": 7 + (w // 28) * (h // 28), "max_model_len": 4096}, {}

    b = ChatServer(answer)
    try:
        model = client([dead_url(), b.url], family="qwen2.5-vl", check_resample=True)
        model.act(request(model))
        assert model.resample.status == "probe" and model.resample.base_url == b.url
        assert [r["path"] for r in b.requests] == [
            "/v1/chat/completions", "/tokenize", "/tokenize"
        ]  # fmt: skip
    finally:
        b.close()


def test_a_planned_model_starts_the_episode_of_its_planner(servers: Any) -> None:
    from model.grounders.scripted import ScriptedGrounder
    from model.planner import PlannedModel

    a, b = servers(), servers()
    planner = client([a.url, b.url])
    planner.act(request(planner))
    assert planner.session.endpoint is not None and planner.session.endpoint.sessions == 1
    PlannedModel(planner, ScriptedGrounder([])).new_episode()
    assert planner.session.endpoint is None  # the next request is placed afresh
    assert [e.sessions for e in planner.pool.endpoints] == [0, 0]


# ---- the spec and the settings ------------------------------------------------------------
def test_spec_and_settings_name_several_endpoints(tmp_path: Path) -> None:
    assert split_spec("m@http://a:8000,http://b:8000/v1/") == (
        "m",
        "http://a:8000/v1,http://b:8000/v1",
    )
    with pytest.raises(ConfigError, match=r"not a valid URL.*separate endpoints with commas"):
        split_spec("m@http://a:8000 http://b:8000,http://c")
    with pytest.raises(ConfigError, match="http:// or https://"):
        split_spec("m@http://a:8000,")
    cfg = tmp_path / "config.toml"
    cfg.write_text('model = "m"\nbase_url = ["http://a:8000/v1", "http://b:8000/v1"]\n')
    settings = resolve_settings({}, {}, cfg)
    assert model_spec(settings) == "openai:m@http://a:8000/v1,http://b:8000/v1"
    model = load_model(model_spec(settings), family="ui-tars-1.5")
    assert isinstance(model, OpenAIModel)
    assert model.pool.urls == ["http://a:8000/v1", "http://b:8000/v1"]
    for bad in ("[]", "[1, 2]", '["http://a:8000/v1", ""]'):
        cfg.write_text(f'model = "m"\nbase_url = {bad}\n')
        with pytest.raises(ConfigError, match="non-empty list of URLs"):
            resolve_settings({}, {}, cfg)
