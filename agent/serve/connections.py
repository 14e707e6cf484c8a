"""Connection guard for ``agent serve``: no client can hold the server without sending a
request.

uvicorn's own ``limit_concurrency`` counts every open TCP connection, idle ones included,
so 70 silent sockets (no token, no bytes) made every real client get 503. Here instead:

* a **header deadline** — a connection that has not delivered a complete request head
  within ``header_timeout_s`` of opening (or of its last response) is closed; a slow-loris
  head dribbled a byte at a time is closed the same way;
* a cap on **open connections per client address** and in all; a connection over a cap is
  closed at once, before it can send anything;
* no connection-count 503 at all: load is bounded where it costs something, by the app's
  queue of requests for the model, which is entered only after the token was checked.

The body deadline and size cap are the app's (:class:`agent.serve.app.BodyLimit`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from agent.serve.limits import HEADER_TIMEOUT_S, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT

HEAD_BYTES = 64 * 1024  # request line + headers


def guarded_protocol(
    header_timeout_s: float = HEADER_TIMEOUT_S,
    per_client: int = MAX_CONNECTIONS_PER_CLIENT,
    total: int = MAX_CONNECTIONS,
) -> type[H11Protocol]:
    """An h11 protocol class with its own connection counts (one class per server)."""
    open_by_client: Counter[str] = Counter()

    class GuardedH11Protocol(H11Protocol):
        _guard_key: str | None = None
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            key = self.client[0] if self.client else "?"
            if open_by_client[key] >= per_client or sum(open_by_client.values()) >= total:
                transport.abort()  # over a cap: closed before it can send anything
                return
            open_by_client[key] += 1
            self._guard_key = key
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._guard_key is not None:
                open_by_client[self._guard_key] -= 1
                if open_by_client[self._guard_key] <= 0:
                    del open_by_client[self._guard_key]
                self._guard_key = None
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None:  # a whole request head arrived
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's head has the same deadline

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(header_timeout_s, self._head_late)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self) -> None:
            self._head_timer = None
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol


def server_config(app: Any, **kw: Any) -> uvicorn.Config:
    """The uvicorn settings every ``agent serve`` uses (the CLI and the background server
    of tests and benchmarks alike): the guarded protocol, a bounded request head, a short
    keep-alive, and no connection-count 503."""
    guard = {k: kw.pop(k) for k in ("header_timeout_s", "per_client", "total") if k in kw}
    return uvicorn.Config(
        app,
        http=guarded_protocol(**guard),
        h11_max_incomplete_event_size=HEAD_BYTES,
        timeout_keep_alive=5,
        limit_concurrency=None,
        **kw,
    )
