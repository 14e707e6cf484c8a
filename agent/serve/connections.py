"""Connection guard for ``agent serve``: no client without the token can take the capacity of
the clients that have it.

Every connection starts **unauthenticated** and stays so until a request head of it has
passed the token check (:class:`agent.serve.app.BodyLimit` reports that through
``scope["extensions"]["native_agent.connection"]``). The two kinds are counted apart:

* **Unauthenticated pool** — at most ``max_unauthenticated`` connections in all, and each has
  ``header_timeout_s`` to deliver a request head (from opening, or from its last response): a
  silent socket or a slow-loris head is closed at its deadline. A new connection is always
  accepted: when the pool is full, the oldest unauthenticated connection is closed to make
  room. A client can only be told apart by its head, so refusing newcomers would lock the
  real clients out; evicting the oldest means an attacker must open ``max_unauthenticated``
  connections in the moment between a real client's connect and its head to push it out.
* **Authenticated pool** — at most ``per_client`` connections per address and ``total`` in
  all. A connection whose token passes while this pool is full is answered 503 and closed.

A head that fails the token check is answered 401 and the connection closed at once,
whatever it still sends (its body is never read). With no token configured, every complete
head counts as authenticated. There is no connection-count 503 for new sockets: load is
bounded where it costs something, by the app's queue of requests for the model.

The body deadline and size cap are the app's (:class:`agent.serve.app.BodyLimit`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from agent.serve.limits import (
    HEADER_TIMEOUT_S,
    MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_CLIENT,
    MAX_UNAUTHENTICATED,
)

HEAD_BYTES = 64 * 1024  # request line + headers
EXTENSION = "native_agent.connection"  # the scope extension BodyLimit reports through


class Pools:
    """The connection counts of one server (touched on its event loop only)."""

    def __init__(self, per_client: int, total: int, max_unauthenticated: int) -> None:
        self.per_client, self.total = per_client, total
        self.max_unauthenticated = max(1, max_unauthenticated)
        self.waiting: dict[Any, None] = {}  # unauthenticated connections, oldest first
        self.trusted: Counter[str] = Counter()
        self.evicted = 0  # unauthenticated connections closed to make room (for tests, logs)

    @property
    def n_waiting(self) -> int:
        return len(self.waiting)

    def admit(self, conn: Any) -> None:
        """A new connection joins the unauthenticated pool, evicting when it is full."""
        while len(self.waiting) >= self.max_unauthenticated:
            self.evict_one()
        self.waiting[conn] = None

    def evict_one(self) -> None:
        """Close the oldest unauthenticated connection."""
        victim = next(iter(self.waiting))
        self.leave(victim)
        self.evicted += 1
        victim.evict()

    def leave(self, conn: Any) -> None:
        self.waiting.pop(conn, None)

    def trust(self, conn: Any, key: str) -> bool:
        """Move ``conn`` to the authenticated pool; False when that pool is full for it."""
        if self.trusted[key] >= self.per_client or sum(self.trusted.values()) >= self.total:
            return False
        self.leave(conn)
        self.trusted[key] += 1
        return True

    def release(self, key: str) -> None:
        self.trusted[key] -= 1
        if self.trusted[key] <= 0:
            del self.trusted[key]


def guarded_protocol(
    header_timeout_s: float = HEADER_TIMEOUT_S,
    per_client: int = MAX_CONNECTIONS_PER_CLIENT,
    total: int = MAX_CONNECTIONS,
    max_unauthenticated: int = MAX_UNAUTHENTICATED,
) -> type[H11Protocol]:
    """An h11 protocol class with its own connection pools (one class per server)."""
    pools = Pools(per_client, total, max_unauthenticated)

    class GuardedH11Protocol(H11Protocol):
        _guard_key: str | None = None
        _trusted = False
        _head_timer: asyncio.TimerHandle | None = None
        _tagged: Any = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._guard_key = self.client[0] if self.client else "?"
            pools.admit(self)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._guard_key is not None:
                if self._trusted:
                    pools.release(self._guard_key)
                else:
                    pools.leave(self)
                self._guard_key = None
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and self.cycle is not self._tagged:
                self._tagged = self.cycle  # a whole request head arrived
                self._disarm()
                scope = cast(dict[str, Any], self.cycle.scope)
                scope.setdefault("extensions", {})[EXTENSION] = self

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's head has the same deadline

        # -- called by BodyLimit, on the event loop, once per request head
        def authenticated(self) -> bool:
            """The head passed the token check: join the authenticated pool (False: full)."""
            if self._guard_key is None:  # evicted (or lost) before its head was judged
                return False
            if self._trusted:
                return True
            self._trusted = pools.trust(self, self._guard_key)
            return self._trusted

        def refused(self) -> None:
            """The head failed the token check: read nothing more from this connection
            (the 401 being sent still goes out; the transport closes after it)."""
            self.transport.pause_reading()

        # -- the pools' side
        def evict(self) -> None:
            self._disarm()
            self._guard_key = None  # already out of the pool
            self.transport.abort()

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

    GuardedH11Protocol.pools = pools  # type: ignore[attr-defined]
    return GuardedH11Protocol


GUARD_SETTINGS = ("header_timeout_s", "per_client", "total", "max_unauthenticated")


def server_config(app: Any, **kw: Any) -> uvicorn.Config:
    """The uvicorn settings every ``agent serve`` uses (the CLI and the background server
    of tests and benchmarks alike): the guarded protocol, a bounded request head, a short
    keep-alive, and no connection-count 503."""
    guard = {k: kw.pop(k) for k in GUARD_SETTINGS if k in kw}
    return uvicorn.Config(
        app,
        http=guarded_protocol(**guard),
        h11_max_incomplete_event_size=HEAD_BYTES,
        timeout_keep_alive=5,
        limit_concurrency=None,
        **kw,
    )
