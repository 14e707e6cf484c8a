"""``agent serve``'s two token checks, each observed on its own (issue 15), over real HTTP on
127.0.0.1 with the real tiny Qwen2-VL.

* The ASGI layer (``BodyLimit``) refuses a wrong token *before any body byte is read*, on
  every path but ``/health``: a body that never arrives, or one declared far over the size
  cap, or one that is not even JSON, gets 401 — not the 408 / 413 / 422 a reader of the
  body would give — and FastAPI's own ``/openapi.json`` and ``/docs``, which no route of
  ours guards, are closed too.
* The route layer (``_auth``) reads the token as the app does (the *first* Authorization
  header) while the ASGI layer reads the *last*: a request carrying a wrong and a right key
  is refused in either order only because both layers check. That is the one request the
  route layer alone refuses; for every other request it is defence in depth."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.serve import BackgroundServer, create_app
from model.backends.hf import TransformersModel, load_hf_model

QWEN2 = "click <|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>"
KEY = "s3cret-token"
RIGHT, WRONG = f"Bearer {KEY}", "Bearer nope"


@pytest.fixture(scope="module")
def model(tiny_qwen: dict[str, Path]) -> TransformersModel:
    return load_hf_model(str(tiny_qwen["qwen2-vl"]), device="cpu", force_text=QWEN2)


@pytest.fixture(scope="module")
def server(model: TransformersModel) -> Iterator[BackgroundServer]:
    app = create_app(model, served_name="tiny", api_key=KEY, body_timeout_s=1.0)
    with BackgroundServer(app) as srv:
        yield srv


def request(
    srv: BackgroundServer,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
) -> tuple[int, dict[str, Any]]:
    """One request with exactly these header lines (duplicates kept, Content-Length as
    given); returns the status and the JSON reply (``{}`` when not JSON)."""
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body or None)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(data)
    except ValueError:
        return resp.status, {}


def _auth_error(reply: dict[str, Any]) -> bool:
    return reply.get("error", {}).get("type") == "auth"


POST = "/v1/chat/completions"
JSON = ("Content-Type", "application/json")


def test_a_wrong_token_is_refused_though_its_body_never_arrives(server: BackgroundServer) -> None:
    """Declared 1000 bytes, sent 6: a reader of the body would time out (408)."""
    head = [JSON, ("Authorization", WRONG), ("Content-Length", "1000")]
    status, reply = request(server, "POST", POST, head, b'{"mess')
    assert status == 401 and _auth_error(reply), reply


def test_a_wrong_token_with_a_huge_declared_body_is_401_not_413(
    server: BackgroundServer,
) -> None:
    """10 GB declared, nothing sent: refused at once for the token, not the size (a client
    without the key learns nothing about the limits)."""
    head = [JSON, ("Authorization", WRONG), ("Content-Length", str(10**10))]
    status, reply = request(server, "POST", POST, head)
    assert status == 401 and _auth_error(reply), reply


@pytest.mark.parametrize("body", [b"not json{", b"[1, 2]"])
def test_an_unauthenticated_body_is_never_parsed(server: BackgroundServer, body: bytes) -> None:
    """Parsing it would answer 422 (not JSON; not an object) before any route runs."""
    head = [JSON, ("Authorization", WRONG), ("Content-Length", str(len(body)))]
    status, reply = request(server, "POST", POST, head, body)
    assert status == 401 and _auth_error(reply), reply


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/no-such-route"])
def test_every_path_but_health_needs_the_token(server: BackgroundServer, path: str) -> None:
    status, reply = request(server, "GET", path, [])
    assert status == 401 and _auth_error(reply), (path, status)
    status, _ = request(server, "GET", path, [("Authorization", WRONG)])
    assert status == 401
    assert request(server, "GET", "/health", [])[0] == 200  # liveness stays open
    if path != "/no-such-route":
        assert request(server, "GET", path, [("Authorization", RIGHT)])[0] == 200


@pytest.mark.parametrize("order", [(WRONG, RIGHT), (RIGHT, WRONG), (RIGHT, "Bearer"), ("", RIGHT)])
def test_conflicting_authorization_headers_are_refused_in_either_order(
    server: BackgroundServer, order: tuple[str, str]
) -> None:
    head = [("Authorization", value) for value in order]
    status, reply = request(server, "GET", "/v1/models", head)
    assert status == 401 and _auth_error(reply), (order, status, reply)


def test_the_right_token_alone_is_served(server: BackgroundServer) -> None:
    """The control: one right header passes both layers, on both routes."""
    status, reply = request(server, "GET", "/v1/models", [("Authorization", RIGHT)])
    assert status == 200 and reply["data"][0]["id"] == "tiny"
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "Click OK"}]}
    data = json.dumps(chat).encode()
    head = [JSON, ("Authorization", RIGHT), ("Content-Length", str(len(data)))]
    status, reply = request(server, "POST", POST, head, data)
    assert status == 200 and reply["choices"][0]["message"]["content"] == QWEN2
