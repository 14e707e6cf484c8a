"""``agent serve`` hardening, over real HTTP on 127.0.0.1 with a real tiny Qwen2-VL: the
token, body size (by length, streamed, and too slow), image count, decompression bombs
(a crafted 30,000×30,000 PNG and JPEG header — nothing of that size is ever allocated),
corrupt images, token limits, the bounded queue, and the refusal to listen off loopback
without a key. Plus the bounded load test tool, run small."""

from __future__ import annotations

import base64
import importlib.util
import io
import resource
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from agent.cli import build_parser
from agent.commands.serve import api_key_for
from agent.core.errors import ConfigError
from agent.serve import BackgroundServer, create_app
from model.backends.hf import TransformersModel, load_hf_model

QWEN2 = "click <|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>"
KEY = "s3cret-token"


def png(w: int = 56, h: int = 56) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(w: int = 30_000, h: int = 30_000) -> bytes:
    """A valid PNG header for w×h RGB with a tiny compressed IDAT: ~100 bytes that would
    decode to 2.7 GB."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_bomb() -> bytes:
    """A real 8×8 JPEG whose SOF0 header is patched to claim 30,000×30,000."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    i = data.index(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", 30_000, 30_000)
    return bytes(data)


def url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def body(*images: bytes, kind: str = "png", **extra: Any) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "Click OK"}]
    parts += [{"type": "image_url", "image_url": {"url": url(i, kind)}} for i in images]
    return {"model": "tiny", "messages": [{"role": "user", "content": parts}], **extra}


@pytest.fixture(scope="module")
def model(tiny_qwen: dict[str, Path]) -> TransformersModel:
    return load_hf_model(str(tiny_qwen["qwen2-vl"]), device="cpu", force_text=QWEN2)


@pytest.fixture
def serve(model: TransformersModel) -> Iterator[Any]:
    started: list[BackgroundServer] = []

    def start(**kw: Any) -> BackgroundServer:
        started.append(BackgroundServer(create_app(model, served_name="tiny", **kw)).start())
        return started[-1]

    yield start
    for s in started:
        s.stop()


def test_a_missing_or_wrong_token_is_401(serve: Any) -> None:
    srv = serve(api_key=KEY)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        assert c.post("/v1/chat/completions", json=body(png())).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert c.post("/v1/chat/completions", json=body(png()), headers=wrong).status_code == 401
        assert c.get("/v1/models").status_code == 401
        big = body(png(1200, 900), pad="x" * 3_000_000)  # refused unread, yet answered cleanly
        assert c.post("/v1/chat/completions", json=big).status_code == 401
        assert c.get("/health").status_code == 200  # liveness stays open
        good = {"Authorization": f"Bearer {KEY}"}
        r = c.post("/v1/chat/completions", json=body(png()), headers=good)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == QWEN2


def test_oversized_bodies_are_413_by_length_and_by_stream(serve: Any) -> None:
    srv = serve(max_body_bytes=256 * 1024)
    big = body(png(), pad="x" * 400_000)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/v1/chat/completions", json=big)
        assert r.status_code == 413 and "too large" in r.json()["error"]["message"]

        def stream() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            for _ in range(40):
                yield b"x" * 16_384

        r = c.post(
            "/v1/chat/completions", content=stream(), headers={"content-type": "application/json"}
        )
        assert r.status_code == 413
        assert c.post("/v1/chat/completions", json=body(png())).status_code == 200


def test_a_slow_body_is_408(serve: Any) -> None:
    srv = serve(body_timeout_s=0.5)
    with socket.create_connection((srv.host, srv.port), timeout=10) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"mess'
        )
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


def test_decompression_bombs_are_refused_before_decoding(serve: Any) -> None:
    srv = serve()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        bomb = png_bomb()
        assert len(bomb) < 200
        r = c.post("/v1/chat/completions", json=body(bomb))
        assert r.status_code == 413, r.text
        assert "30000x30000" in r.json()["error"]["message"]
        r = c.post("/v1/chat/completions", json=body(jpeg_bomb(), kind="jpeg"))
        assert r.status_code == 413, r.text
        # a valid header over corrupt data is a 400 too, never a 500
        broken = png()[:60]
        r = c.post("/v1/chat/completions", json=body(broken))
        assert r.status_code == 400, r.text
        r = c.post("/v1/chat/completions", json=body(b"GIF89a\x01"))
        assert r.status_code == 400
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 500  # 30,000² RGB would be 2,700 MB


def test_image_count_and_token_limits(serve: Any) -> None:
    srv = serve(limit_images=2, max_new_tokens_limit=64)
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/v1/chat/completions", json=body(png(), png(), png()))
        assert r.status_code == 400 and "At most 2 image" in r.json()["error"]["message"]
        r = c.post("/v1/chat/completions", json=body(png(), max_tokens=100_000))
        assert r.status_code == 400 and "max_tokens" in r.json()["error"]["message"]
        r = c.post("/v1/chat/completions", json={"messages": ["not an object"]})
        assert r.status_code == 400


def test_a_full_queue_answers_503_with_retry_after(serve: Any) -> None:
    srv = serve(max_pending=1)
    codes: list[int] = []
    retry: list[str | None] = []

    def client() -> None:
        with httpx.Client(base_url=srv.url, timeout=120) as c:
            r = c.post("/v1/chat/completions", json=body(png(280, 280)))
            codes.append(r.status_code)
            retry.append(r.headers.get("retry-after"))

    threads = [threading.Thread(target=client) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 200 in codes and 503 in codes, codes
    assert all(r == "1" for c, r in zip(codes, retry, strict=True) if c == 503)


def test_refuses_to_listen_off_loopback_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATIVE_AGENT_API_KEY", raising=False)
    parse = build_parser().parse_args
    args = parse(["serve", "some/model", "--host", "0.0.0.0"])
    with pytest.raises(ConfigError, match="without an API key"):
        args.func(args)  # refused before any model is loaded
    assert api_key_for(parse(["serve", "m", "--host", "0.0.0.0", "--insecure"])) is None
    assert api_key_for(parse(["serve", "m", "--host", "0.0.0.0", "--api-key", "k"])) == "k"
    assert api_key_for(parse(["serve", "m"])) is None  # loopback: a key is optional
    monkeypatch.setenv("NATIVE_AGENT_API_KEY", "from-env")
    assert api_key_for(parse(["serve", "m", "--host", "10.1.2.3"])) == "from-env"


def test_load_test_tool_is_bounded_and_reports(tiny_qwen: dict[str, Path]) -> None:
    path = Path(__file__).resolve().parents[3] / "tools" / "load_test_serve.py"
    spec = importlib.util.spec_from_file_location("load_test_serve", path)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    t0 = time.monotonic()
    report = tool.main(
        [
            "--model",
            str(tiny_qwen["qwen2-vl"]),
            "--clients",
            "3",
            "--requests",
            "12",
            "--max-seconds",
            "120",
            "--bad-every",
            "4",
            "--api-key",
            "k",
            "--json",
        ]
    )
    assert time.monotonic() - t0 < 180
    assert report["requests"] == 12 and report["transport_errors"] == 0
    assert report["status"].get("200", 0) >= 6 and report["unexpected"] == 0
    assert report["status"].get("413", 0) >= 1  # the bombs were refused
    refused = report["status"].get("401", 0) + report["status"].get("closed", 0)
    assert refused >= 1  # and the requests without the token (401, or closed before it is read)
    lat = report["latency_ms"]["ok"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
