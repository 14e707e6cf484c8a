"""``agent serve`` against the attacks that stayed inside the old limits (issue 15), over
real HTTP on 127.0.0.1 with a real tiny Qwen2-VL: idle and slow-head connections, the
``min_pixels`` amplification, an over-long prompt, formats PIL would decode slowly, and a
request whose images are each small enough but too many pixels together."""

from __future__ import annotations

import inspect
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from test_serve_hardening import KEY, QWEN2, body, png

from agent.cli import build_parser
from agent.commands.serve import api_key_for, app_settings, guard_settings
from agent.core.errors import ConfigError
from agent.serve import BackgroundServer, create_app
from agent.serve.connections import guarded_protocol
from agent.serve.images import BadRequest, Budget, image_size
from model.backends.hf import TransformersModel, load_hf_model

GOOD = {"Authorization": f"Bearer {KEY}"}


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


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closed (FIN or reset) without answering."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def _generations(model: TransformersModel, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count calls of the model's generate (to show a refusal came before any)."""
    calls: list[int] = []
    real = model.generate

    def counted(*a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(model, "generate", counted)
    return calls


def test_a_valid_client_is_served_while_100_idle_connections_are_open(serve: Any) -> None:
    srv = serve(api_key=KEY)  # the guard's defaults, as `agent serve` runs
    idle = [socket.create_connection((srv.host, srv.port), timeout=10) for _ in range(100)]
    half = [socket.create_connection((srv.host, srv.port), timeout=10) for _ in range(20)]
    try:
        for s in half:  # a head that never ends, without a token
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            r = c.post("/v1/chat/completions", json=body(png()), headers=GOOD)
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == QWEN2
            assert c.post("/v1/chat/completions", json=body(png())).status_code == 401
    finally:
        for s in idle + half:
            s.close()


def test_a_connection_that_sends_no_request_head_in_time_is_closed(serve: Any) -> None:
    srv = serve(guard={"header_timeout_s": 0.5})
    with socket.create_connection((srv.host, srv.port), timeout=10) as silent:
        with socket.create_connection((srv.host, srv.port), timeout=10) as slow:
            for part in (b"GET /v1/mo", b"dels HTTP/1.1\r\n", b"Host: x\r\n"):
                slow.sendall(part)  # a slow-loris head, a piece at a time
                time.sleep(0.3)
            assert closed_by_server(slow)  # no answer
        assert closed_by_server(silent)
    with httpx.Client(base_url=srv.url, timeout=30) as c:  # a prompt head is still served
        assert c.get("/health").status_code == 200


def test_min_pixels_may_only_lower_the_budget(
    serve: Any, model: TransformersModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = serve()
    calls = _generations(model, monkeypatch)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        for extra in ({"min_pixels": 40_000_000}, {"mm_processor_kwargs": {"min_pixels": 10**8}}):
            r = c.post("/v1/chat/completions", json=body(png(), **extra))
            assert r.status_code == 400, r.text
            assert "may only lower" in r.json()["error"]["message"]
        assert calls == []
        # max_pixels above the server's cap is clamped to it: the image is not enlarged
        r = c.post("/v1/chat/completions", json=body(png(56, 56), max_pixels=10**9))
        assert r.status_code == 200 and r.json()["usage"]["image_tokens"] == 4
        # and a lower max_pixels is honoured (resampled to fit 16 tokens)
        r = c.post("/v1/chat/completions", json=body(png(560, 560), max_pixels=16 * 28 * 28))
        assert r.status_code == 200 and r.json()["usage"]["image_tokens"] <= 16


def test_budget_rules_are_pure() -> None:
    server = Budget(3136, 16384)
    assert server.narrowed(None, None) == server
    assert server.narrowed(1000, 28 * 28 * 100) == Budget(1000, 100)
    assert server.narrowed(None, 10**12).max_tokens == 16384
    with pytest.raises(BadRequest, match="may only lower"):
        server.narrowed(3137, None)
    with pytest.raises(BadRequest, match="positive integer"):
        server.narrowed(True, None)


def test_an_over_long_prompt_is_refused_before_generation(
    serve: Any, model: TransformersModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = serve(max_prompt_tokens=2000)
    calls = _generations(model, monkeypatch)
    many = [{"role": "user", "content": "hi"} for _ in range(10_000)]
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        r = c.post("/v1/chat/completions", json={"model": "tiny", "messages": many})
        assert r.status_code == 400, r.text
        assert "cap of" in r.json()["error"]["message"]
        # a 2000-token cap refuses an image of more tokens than that, too
        r = c.post("/v1/chat/completions", json=body(png(1400, 1400)))
        assert r.status_code == 400 and "tokens" in r.json()["error"]["message"]
        assert calls == []
        r = c.post("/v1/chat/completions", json=body(png()))
        assert r.status_code == 200 and calls == [1]
    with pytest.raises(Exception, match="context"):
        create_app(model, max_prompt_tokens=10**9)  # above the model's context


def _encoded(fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_only_png_jpeg_and_webp_are_decoded(serve: Any) -> None:
    assert image_size(_encoded("WEBP", lossless=True)) == (64, 64)
    assert image_size(_encoded("JPEG")) == (64, 64)
    srv = serve()
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        for fmt in ("TIFF", "BMP", "GIF", "ICO"):
            r = c.post("/v1/chat/completions", json=body(_encoded(fmt), kind=fmt.lower()))
            assert r.status_code == 400, (fmt, r.text)
            assert "PNG, JPEG or WebP" in r.json()["error"]["message"]
        webp = _encoded("WEBP", lossless=True)
        r = c.post("/v1/chat/completions", json=body(webp, kind="webp"))
        assert r.status_code == 200, r.text


def test_all_images_of_a_request_share_one_pixel_budget(serve: Any) -> None:
    srv = serve(max_request_pixels=300 * 300)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        assert c.post("/v1/chat/completions", json=body(png(200, 200))).status_code == 200
        r = c.post("/v1/chat/completions", json=body(png(200, 200), png(200, 200), png(200, 200)))
        assert r.status_code == 413, r.text
        assert "in all" in r.json()["error"]["message"]


def test_max_image_pixels_refuses_a_larger_image_before_decoding(serve: Any) -> None:
    srv = serve(max_image_pixels=100 * 100)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/v1/chat/completions", json=body(png(120, 100)))
        assert r.status_code == 413 and "120x100" in r.json()["error"]["message"], r.text
        assert c.post("/v1/chat/completions", json=body(png(100, 100))).status_code == 200


def test_queue_timeout_answers_503_while_the_model_stays_busy(
    serve: Any, model: TransformersModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = serve(queue_timeout_s=0.3)
    entered, release = threading.Event(), threading.Event()
    real = model.generate

    def held(*a: Any, **k: Any) -> Any:  # the first generation holds the model
        entered.set()
        release.wait(60)
        return real(*a, **k)

    monkeypatch.setattr(model, "generate", held)
    first: list[int] = []
    url = f"{srv.url}/v1/chat/completions"
    t = threading.Thread(target=lambda: first.append(httpx.post(url, json=body(png())).status_code))
    t.start()
    try:
        assert entered.wait(60)
        r = httpx.post(url, json=body(png()), timeout=60)
        assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
        assert "stayed busy for 0.3 s" in r.json()["error"]["message"]
    finally:
        release.set()
        t.join(60)
    assert first == [200]


def test_every_flag_reaches_its_setting() -> None:
    """Each limit flag of `agent serve` arrives, under its own value, at the keyword whose
    effect the tests above and in test_serve_pools.py show."""
    flags = [
        "serve", "m", "--limit-images", "3", "--max-body-mb", "2", "--max-image-pixels", "5",
        "--max-request-pixels", "7", "--max-prompt-tokens", "11", "--max-pending", "13",
        "--queue-timeout", "17", "--header-timeout", "19",
        "--max-connections-per-client", "23", "--max-unauthenticated", "29",
    ]  # fmt: skip
    args = build_parser().parse_args(flags)
    assert app_settings(args) == {
        "limit_images": 3,
        "max_body_bytes": 2 * 2**20,
        "max_image_pixels": 5,
        "max_request_pixels": 7,
        "max_prompt_tokens": 11,
        "max_pending": 13,
        "queue_timeout_s": 17.0,
    }
    assert guard_settings(args) == {
        "header_timeout_s": 19.0,
        "per_client": 23,
        "max_unauthenticated": 29,
    }
    assert set(app_settings(args)) <= set(inspect.signature(create_app).parameters)
    assert set(guard_settings(args)) <= set(inspect.signature(guarded_protocol).parameters)
    for bad in (["--max-unauthenticated", "0"], ["--header-timeout", "0"]):
        with pytest.raises(ConfigError):
            api_key_for(build_parser().parse_args(["serve", "m", *bad]))
