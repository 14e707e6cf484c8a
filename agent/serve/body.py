"""The ASGI gate in front of ``agent serve``'s routes: the token, then the body's size and
deadline.

* **Token**: checked on the request head, before any body byte is read, on every path but a
  bodiless ``GET``/``HEAD /health``. A head that fails is answered 401 with
  ``Connection: close`` and the connection is closed at once, whatever it still sends —
  its body is never read (a client streaming a large body without the token may see the
  connection reset instead of the 401). A head that passes is reported to the connection
  guard (:mod:`agent.serve.connections`), which moves the connection to the authenticated
  pool; when that pool is full the answer is 503.
* **Body**: over ``max_bytes`` is 413 (by Content-Length before reading, else while
  streaming); not received within ``timeout_s`` is 408. The app sees a cut-off body as a
  client disconnect; its reply is dropped for ours.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from typing import Any

from agent.serve.connections import EXTENSION

DRAIN_BYTES = 16 * 1024 * 1024  # read and drop up to this much of an authenticated 413 body


def _open_path(scope: dict, headers: dict[bytes, bytes]) -> bool:
    """The one request answered without the token: a bodiless liveness probe."""
    bodiless = headers.get(b"content-length", b"0") == b"0" and b"transfer-encoding" not in headers
    return scope.get("path") == "/health" and scope.get("method") in ("GET", "HEAD") and bodiless


class BodyLimit:
    """ASGI middleware: the token check, the body cap (413) and the body deadline (408)."""

    def __init__(
        self, app: Any, max_bytes: int, timeout_s: float, token: bytes | None = None
    ) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s
        self.token = token  # checked before any body byte is read

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        deadline = time.monotonic() + self.timeout_s
        guard = (scope.get("extensions") or {}).get(EXTENSION)
        if self.token is None or hmac.compare_digest(
            headers.get(b"authorization", b""), self.token
        ):
            if guard is not None and not guard.authenticated():
                await _send_error(
                    send, "too many open connections; retry later", 503, kind="server_busy"
                )
                return
        elif not _open_path(scope, headers):
            if guard is not None:
                guard.refused()  # nothing more is read from this connection
            msg = "missing or wrong API key (Authorization: Bearer ...)"
            await _send_error(send, msg, 401, kind="auth")
            return
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            if length.isdigit() and int(length) <= DRAIN_BYTES:
                await _drain(receive, deadline)
            await _send_error(send, "request body too large", 413, self.max_bytes)
            return
        await self._limited(scope, receive, send, deadline)

    async def _limited(self, scope: dict, receive: Any, send: Any, deadline: float) -> None:
        state = {"seen": 0, "cut": 0, "started": False, "done": False}

        async def limited() -> dict:
            if state["cut"]:
                return {"type": "http.disconnect"}
            if state["done"]:
                return await receive()  # after the body: only a disconnect can come
            try:
                msg = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 1e-3))
            except TimeoutError:
                state["cut"] = 408
                return {"type": "http.disconnect"}
            if msg["type"] == "http.request":
                state["seen"] += len(msg.get("body", b""))
                if state["seen"] > self.max_bytes:
                    state["cut"] = 413
                    return {"type": "http.disconnect"}
                state["done"] = not msg.get("more_body")
            return msg

        async def guarded_send(msg: dict) -> None:
            if state["cut"] and not state["started"]:
                return  # the app's answer to a body we cut off: ours goes out instead
            state["started"] = state["started"] or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not state["cut"] or state["started"]:
                raise
        if state["cut"] and not state["started"]:
            if state["cut"] == 413:
                await _drain(receive, deadline)
                await _send_error(send, "request body too large", 413, self.max_bytes)
            else:
                await _send_error(send, "request body not received in time", 408)


async def _drain(receive: Any, deadline: float) -> None:
    """Read and drop the rest of an authenticated client's refused body (bounded in bytes
    and time) so it can finish sending and read the error, instead of meeting a reset."""
    seen = 0
    while seen <= DRAIN_BYTES:
        try:
            msg = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 1e-3))
        except TimeoutError:
            return
        if msg["type"] != "http.request":
            return
        seen += len(msg.get("body", b""))
        if not msg.get("more_body"):
            return


async def _send_error(
    send: Any,
    message: str,
    status: int,
    limit: int | None = None,
    kind: str = "invalid_request_error",
) -> None:
    if limit is not None:
        message += f" (limit {limit} bytes)"
    body = json.dumps({"error": {"message": message, "type": kind, "code": status}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),  # complete even if the socket closes
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
