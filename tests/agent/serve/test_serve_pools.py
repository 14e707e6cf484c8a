"""``agent serve``'s two connection pools (issue 22), over real TCP on loopback with the real
tiny Qwen2-VL: tokenless connections dribbling from many loopback addresses cannot take the
capacity of the clients that have the token; a head that fails the token check closes its
connection at once, unread; each pool's cap and the head deadline, one at a time."""

from __future__ import annotations

import errno
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_serve_hardening import KEY, QWEN2, body, png
from test_serve_limits import closed_by_server

from agent.serve import BackgroundServer, create_app
from model.backends.hf import TransformersModel, load_hf_model

GOOD = {"Authorization": f"Bearer {KEY}"}
ATTACKERS = 2048
SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]  # Linux routes all of 127/8 to lo


@pytest.fixture(scope="module")
def model(tiny_qwen: dict[str, Path]) -> TransformersModel:
    return load_hf_model(str(tiny_qwen["qwen2-vl"]), device="cpu", force_text=QWEN2)


@pytest.fixture
def serve(model: TransformersModel) -> Iterator[Any]:
    started: list[BackgroundServer] = []

    def start(guard: dict[str, Any] | None = None, **kw: Any) -> BackgroundServer:
        app = create_app(model, served_name="tiny", **kw)
        started.append(BackgroundServer(app, **(guard or {})).start())
        return started[-1]

    yield start
    for s in started:
        s.stop()


def pools(srv: BackgroundServer) -> Any:
    return srv.server.config.http.pools  # type: ignore[union-attr]


@pytest.fixture
def many_fds() -> Iterator[None]:
    """Room for 2,048 client sockets and their server ends in this one process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 3 * ATTACKERS + 1024
    if hard != resource.RLIM_INFINITY and hard < want:
        raise RuntimeError(f"this test needs {want} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_attackers(srv: BackgroundServer, n: int) -> list[socket.socket]:
    """``n`` non-blocking connections without a token, spread over ``SOURCES``."""
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((SOURCES[i % len(SOURCES)], 0))
        err = s.connect_ex((srv.host, srv.port))
        assert err in (0, errno.EINPROGRESS), errno.errorcode.get(err)
        socks.append(s)
    return socks


HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"


def dribble(socks: list[socket.socket], at: int) -> int:
    """One more byte of a tokenless head on every socket; the number still open."""
    alive = 0
    for s in socks:
        try:
            s.send(HEAD[at % len(HEAD) : at % len(HEAD) + 1])
            alive += 1
        except OSError:  # closed by the server (or not connected yet)
            pass
    return alive


def test_2048_dribbling_tokenless_connections_do_not_lock_out_16_clients(
    serve: Any, many_fds: None
) -> None:
    srv = serve(api_key=KEY)  # the guard's defaults, as `agent serve` runs
    attackers = open_attackers(srv, ATTACKERS)
    codes: list[int] = []
    try:
        dribble(attackers, 0)
        deadline = time.monotonic() + 60
        while pools(srv).evicted < ATTACKERS - pools(srv).max_unauthenticated:
            assert time.monotonic() < deadline, pools(srv).evicted  # every one was accepted
            time.sleep(0.05)

        def client() -> None:
            with httpx.Client(base_url=srv.url, timeout=60) as c:
                r = c.post("/v1/chat/completions", json=body(png()), headers=GOOD)
                ok = r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
                codes.append(200 if ok == QWEN2 else r.status_code)

        threads = [threading.Thread(target=client) for _ in range(16)]
        for i, t in enumerate(threads):
            dribble(attackers, 1 + i)  # the attack goes on between the clients' connects
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for s in attackers:
            s.close()
    assert codes == [200] * 16, codes
    # the unauthenticated pool never grew over its cap: the rest were closed for room
    assert pools(srv).evicted >= ATTACKERS - pools(srv).max_unauthenticated


def test_a_wrong_token_closes_the_connection_and_its_body_is_never_read(serve: Any) -> None:
    """Declared 8 MB and dribbled: a reader of the body (even one that drops it) would keep
    the connection for the body deadline (60 s here) before any answer."""
    srv = serve(api_key=KEY, body_timeout_s=60)
    with socket.create_connection((srv.host, srv.port), timeout=20) as s:
        s.sendall(HEAD.replace(b"100000", b"8000000") + b"Authorization: Bearer nope\r\n\r\n{")
        reply = b""
        while chunk := s.recv(65536):  # the answer, then the server's close (EOF)
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 401"), reply[:100]
        assert b"connection: close" in reply.lower()
        with pytest.raises(OSError):  # the rest of the body meets a closed connection
            for _ in range(200):
                s.sendall(b"x" * 65536)
                time.sleep(0.001)


def test_only_a_bodiless_health_probe_passes_without_the_token(serve: Any) -> None:
    """The liveness probe is no back door: with a body (or another method) it needs the
    token like every other request, so it too is refused before its body is read."""
    srv = serve(api_key=KEY, body_timeout_s=60)
    for head in (
        b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{",
        b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
    ):
        with socket.create_connection((srv.host, srv.port), timeout=20) as s:
            s.sendall(head)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 401"), (head, reply[:100])
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        assert c.get("/health").status_code == 200


def test_the_unauthenticated_pool_evicts_its_oldest_for_a_newcomer(serve: Any) -> None:
    srv = serve(api_key=KEY, guard={"max_unauthenticated": 3})
    old = [socket.create_connection((srv.host, srv.port), timeout=10) for _ in range(3)]
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:  # the newcomer is served
            r = c.post("/v1/chat/completions", json=body(png()), headers=GOOD)
            assert r.status_code == 200, r.text
        assert closed_by_server(old[0])  # the oldest made room
        for s in old[1:]:  # the others stay open until their head deadline
            s.settimeout(0.2)
            with pytest.raises(TimeoutError):
                s.recv(1)
        assert pools(srv).evicted == 1
    finally:
        for s in old:
            s.close()


def test_the_authenticated_pool_is_capped_per_client(serve: Any) -> None:
    """Three authenticated keep-alive connections fill a per-client cap of 3: a fourth
    with the token is 503 and closed; tokenless idle sockets never count against it."""
    srv = serve(api_key=KEY, guard={"per_client": 3})
    idle = [socket.create_connection((srv.host, srv.port), timeout=10) for _ in range(5)]
    held = [httpx.Client(base_url=srv.url, timeout=30, headers=GOOD) for _ in range(3)]
    try:
        for c in held:
            assert c.get("/v1/models").status_code == 200  # kept alive: still counted
        with httpx.Client(base_url=srv.url, timeout=30, headers=GOOD) as extra:
            r = extra.get("/v1/models")
            assert r.status_code == 503 and r.headers["connection"] == "close", r.text
    finally:
        for c in held:
            c.close()
        for s in idle:
            s.close()
    time.sleep(0.2)
    with httpx.Client(base_url=srv.url, timeout=30, headers=GOOD) as c:  # freed: served
        assert c.get("/v1/models").status_code == 200
