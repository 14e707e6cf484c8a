"""A bounded load test of ``agent serve`` on loopback: N concurrent clients, a fixed number
of requests and a time limit; it stops by itself and reports status codes, errors and
latency percentiles.

    python tools/load_test_serve.py                      # builds a tiny Qwen2-VL, serves it
    python tools/load_test_serve.py --model DIR --clients 8 --requests 200 --max-seconds 120
    python tools/load_test_serve.py --url http://127.0.0.1:8000 --api-key KEY

Without ``--url`` it serves a checkpoint in-process (``--model DIR``, else a tiny random
Qwen2-VL built by tools/make_tiny_qwen.py) with ``force_text``, so the numbers measure the
server path (HTTP, limits, image decoding, preprocessing, a short forced generation), not a
real model's decoding. ``--bad-every K`` makes every K-th request hostile (a 30,000×30,000
PNG header, or a request without the token when a key is set) to show they are refused fast.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import json
import math
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FORCED = "click <|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>"
# 503 = the bounded queue was full (the request was not looked at); clients then honour
# Retry-After before their next request, as a well-behaved client does.
CLOSED = 0  # a tokenless request whose connection the server closed at once (agent serve does,
# whatever the client still sends: the client may see a reset before it reads the 401)
EXPECTED = {"ok": {200, 503}, "bomb": {413, 503}, "no-token": {401, CLOSED}}


def _png(w: int, h: int) -> bytes:
    import numpy as np
    from PIL import Image

    arr = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _bomb() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096, 9))
        + chunk(b"IEND", b"")
    )


def _body(image: bytes) -> dict[str, Any]:
    data_url = "data:image/png;base64," + base64.b64encode(image).decode()
    return {
        "model": "tiny",
        "max_tokens": 64,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Click OK"},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ],
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p90/p99, max and mean (ms); empty → {}."""
    if not values:
        return {}
    v = sorted(values)

    def rank(p: float) -> float:
        return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]

    return {
        "p50": round(rank(50), 1),
        "p90": round(rank(90), 1),
        "p99": round(rank(99), 1),
        "max": round(v[-1], 1),
        "mean": round(sum(v) / len(v), 1),
    }


def _serve(model_dir: str | None, api_key: str | None) -> tuple[Any, Any]:
    """Start the app in-process on 127.0.0.1 (a free port); returns (server, tempdir)."""
    from agent.serve import BackgroundServer, create_app
    from model.backends.hf import load_hf_model

    tmp = None
    if model_dir is None:
        spec = importlib.util.spec_from_file_location(
            "make_tiny_qwen", ROOT / "tools" / "make_tiny_qwen.py"
        )
        assert spec is not None and spec.loader is not None
        builder = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(builder)
        tmp = tempfile.TemporaryDirectory(prefix="tiny-qwen-")
        model_dir = str(builder.build_tiny(Path(tmp.name) / "qwen2-vl", "qwen2-vl"))
    model = load_hf_model(model_dir, device="cpu", force_text=FORCED)
    app = create_app(model, served_name="tiny", api_key=api_key)
    return BackgroundServer(app).start(), tmp


def run_load(
    base_url: str,
    *,
    clients: int,
    requests: int,
    max_seconds: float,
    image: tuple[int, int],
    api_key: str | None,
    bad_every: int,
) -> dict[str, Any]:
    import httpx

    cut = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)  # a closed connection

    ok_body = json.dumps(_body(_png(*image))).encode()
    bomb_body = json.dumps(_body(_bomb())).encode()
    lock = threading.Lock()
    issued = 0
    results: list[tuple[str, int | None, float, str | None]] = []
    t0 = time.monotonic()
    deadline = t0 + max_seconds

    def kind_of(i: int) -> str:
        if bad_every and i % bad_every == bad_every - 1:
            return "no-token" if api_key and (i // bad_every) % 2 else "bomb"
        return "ok"

    def worker() -> None:
        nonlocal issued
        with httpx.Client(base_url=base_url) as c:
            while True:
                with lock:
                    if issued >= requests or time.monotonic() >= deadline:
                        return
                    i, issued = issued, issued + 1
                kind = kind_of(i)
                headers = {"content-type": "application/json"}
                if api_key and kind != "no-token":
                    headers["authorization"] = f"Bearer {api_key}"
                left = max(1.0, deadline - time.monotonic())
                start = time.perf_counter()
                try:
                    r = c.post(
                        "/v1/chat/completions",
                        content=bomb_body if kind == "bomb" else ok_body,
                        headers=headers,
                        timeout=min(120.0, left),
                    )
                    status, err = r.status_code, None
                except httpx.HTTPError as e:
                    status, err = None, f"{type(e).__name__}: {e}"
                    if kind == "no-token" and isinstance(e, cut):
                        status, err = CLOSED, f"closed: {type(e).__name__}"
                ms = (time.perf_counter() - start) * 1000
                with lock:
                    results.append((kind, status, ms, err))
                if status == 503:
                    wait = float(r.headers.get("retry-after") or 1)
                    time.sleep(min(wait, max(0.0, deadline - time.monotonic())))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 130)
    wall = time.monotonic() - t0
    status: dict[str, int] = {}
    for _, s, _, _ in results:
        key = "transport_error" if s is None else "closed" if s == CLOSED else str(s)
        status[key] = status.get(key, 0) + 1
    by_kind: dict[str, list[float]] = {}
    for kind, s, ms, _ in results:
        if s is not None:  # a 503 is timed apart: it says nothing about serving time
            by_kind.setdefault("busy-503" if s == 503 else kind, []).append(ms)
    return {
        "base_url": base_url,
        "clients": clients,
        "requests": len(results),
        "planned": requests,
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(results) / wall, 2) if wall else 0.0,
        "status": status,
        "transport_errors": sum(1 for r in results if r[1] is None),
        "unexpected": sum(1 for k, s, _, _ in results if s is not None and s not in EXPECTED[k]),
        "errors": sorted({e for *_, e in results if e})[:5],
        "latency_ms": {k: percentiles(v) for k, v in sorted(by_kind.items())},
        "image": f"{image[0]}x{image[1]}",
    }


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running server (default: serve one in-process)")
    p.add_argument("--model", help="checkpoint to serve in-process (default: a tiny one)")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--requests", type=int, default=40, help="total requests (bounded)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="stop issuing after this")
    p.add_argument("--image", type=_size, default=(560, 336), help="screenshot WxH")
    p.add_argument("--api-key")
    p.add_argument("--bad-every", type=int, default=0, help="every K-th request is hostile")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = p.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.max_seconds <= 0:
        p.error("--clients, --requests and --max-seconds must be positive")
    server = tmp = None
    try:
        if args.url:
            base = args.url.rstrip("/").removesuffix("/v1")
        else:
            server, tmp = _serve(args.model, args.api_key)
            base = server.url
        report = run_load(
            base,
            clients=args.clients,
            requests=args.requests,
            max_seconds=args.max_seconds,
            image=args.image,
            api_key=args.api_key,
            bad_every=args.bad_every,
        )
    finally:
        if server is not None:
            server.stop()
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['requests']} requests ({report['clients']} clients, image "
            f"{report['image']}) in {report['wall_s']} s = {report['throughput_rps']} req/s"
        )
        print(
            f"status: {report['status']}  unexpected: {report['unexpected']}  "
            f"transport errors: {report['transport_errors']}"
        )
        for kind, lat in report["latency_ms"].items():
            print(f"latency {kind:<8} " + "  ".join(f"{k} {v} ms" for k, v in lat.items()))
    return report


if __name__ == "__main__":
    r = main()
    sys.exit(0 if r["transport_errors"] == 0 and r["unexpected"] == 0 else 1)
