"""Many OpenAI-compatible endpoints serving one model (vLLM replicas), without a router.

``--model openai:NAME@URL1,URL2,...`` (or a list as the settings' ``base_url``) gives an
:class:`EndpointPool`. Each episode (a :class:`Session`: one per model object, renewed by
:meth:`~agent.core.model.Model.new_episode`) is pinned at its first request to the healthy
endpoint with the fewest outstanding requests (ties: the fewest episodes pinned there, then
turn by turn), and every request of the episode goes there while it stays healthy, so the
server's prefix cache keeps the episode's history warm.

An endpoint that refuses the connection, drops it, or answers 5xx is marked down for
``cooldown`` seconds: the request goes on to the next endpoint at once and the episode stays
there. A down endpoint is only tried after every healthy one. The pool is shared by every
model object of the process that names the same endpoints (:func:`shared_pool`), so the
counts are the process's.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from agent.core.errors import ConfigError

DEFAULT_COOLDOWN_S = 30.0


@dataclass
class Endpoint:
    """One server: its base URL and what the pool knows of it."""

    url: str
    outstanding: int = 0  # requests sent and not yet answered
    sessions: int = 0  # episodes pinned to it now
    down_until: float = 0.0  # clock time its cooldown ends (0: healthy)
    error: str | None = None  # why it was last marked down


class EndpointPool:
    """The endpoints of one model with their counts and health (thread-safe)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        cooldown: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
        start: int | None = None,
    ) -> None:
        unique = list(dict.fromkeys(u.rstrip("/") for u in urls))
        if not unique:
            raise ConfigError("no model endpoint: give openai:MODEL@URL or URL1,URL2,...")
        self.endpoints = [Endpoint(u) for u in unique]
        self.cooldown = cooldown
        self.clock = clock
        self._lock = threading.Lock()
        # where ties start: another process's pool starts elsewhere, so the episodes of
        # several bench workers spread over the endpoints too
        self._turn = random.randrange(len(unique)) if start is None else start % len(unique)

    @property
    def urls(self) -> list[str]:
        return [e.url for e in self.endpoints]

    def __len__(self) -> int:
        return len(self.endpoints)

    def healthy(self, ep: Endpoint) -> bool:
        return self.clock() >= ep.down_until

    def ranked(self, first: Endpoint | None = None) -> list[Endpoint]:
        """Every endpoint in the order to try: ``first`` (when healthy), then the healthy
        ones by fewest outstanding requests, fewest episodes, turn; then the down ones by
        the end of their cooldown."""
        with self._lock:
            return self._ranked(first)

    def _ranked(self, first: Endpoint | None) -> list[Endpoint]:
        n = len(self.endpoints)
        order = {id(e): (i - self._turn) % n for i, e in enumerate(self.endpoints)}
        up = [e for e in self.endpoints if self.healthy(e)]
        up.sort(key=lambda e: (e is not first, e.outstanding, e.sessions, order[id(e)]))
        down = sorted((e for e in self.endpoints if not self.healthy(e)), key=_cooldown_end)
        return up + down

    def pin(self, current: Endpoint | None) -> Endpoint:
        """The endpoint an episode pinned to ``current`` uses next: ``current`` while it
        is healthy, else the best one (the episode moves there)."""
        with self._lock:
            if current is not None and self.healthy(current):
                return current
            best = self._ranked(None)[0]
            self._move(current, best)
            return best

    def move(self, current: Endpoint | None, to: Endpoint) -> None:
        """An episode pinned to ``current`` goes on at ``to`` (``current`` None: a new one)."""
        with self._lock:
            self._move(current, to)

    def _move(self, current: Endpoint | None, to: Endpoint) -> None:
        if current is to:
            return
        if current is not None:
            current.sessions = max(0, current.sessions - 1)
        to.sessions += 1
        if current is None:  # a new episode: the next tie starts after this one
            self._turn = (self.endpoints.index(to) + 1) % len(self.endpoints)

    def release(self, ep: Endpoint | None) -> None:
        """An episode pinned to ``ep`` ended."""
        if ep is not None:
            with self._lock:
                ep.sessions = max(0, ep.sessions - 1)

    @contextmanager
    def request(self, ep: Endpoint) -> Iterator[None]:
        """Count one request outstanding at ``ep`` while it is in flight."""
        with self._lock:
            ep.outstanding += 1
        try:
            yield
        finally:
            with self._lock:
                ep.outstanding -= 1

    def mark_down(self, ep: Endpoint, error: str) -> None:
        with self._lock:
            ep.down_until = self.clock() + self.cooldown
            ep.error = error

    def mark_up(self, ep: Endpoint) -> None:
        with self._lock:
            ep.down_until = 0.0
            ep.error = None


def _cooldown_end(ep: Endpoint) -> float:
    return ep.down_until


class Session:
    """One episode's view of a pool: the endpoint it is pinned to."""

    def __init__(self, pool: EndpointPool) -> None:
        self.pool = pool
        self.endpoint: Endpoint | None = None  # pinned at the first request

    def order(self) -> list[Endpoint]:
        """The endpoints to try for the next request: the pinned one first (pinned now
        when the episode has none, or moved when its endpoint is down)."""
        self.endpoint = self.pool.pin(self.endpoint)
        return self.pool.ranked(self.endpoint)

    def answered(self, ep: Endpoint) -> None:
        """``ep`` answered: it is healthy, and the episode stays there from now on."""
        self.pool.mark_up(ep)
        if ep is not self.endpoint:
            self.pool.move(self.endpoint, ep)
            self.endpoint = ep

    def end(self) -> None:
        """The episode ended: the next request starts a new one (balanced afresh)."""
        self.pool.release(self.endpoint)
        self.endpoint = None


_POOLS: dict[tuple[str, ...], EndpointPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(urls: Sequence[str], cooldown: float = DEFAULT_COOLDOWN_S) -> EndpointPool:
    """The process's one pool for these endpoints (model objects naming the same servers
    see each other's requests)."""
    key = tuple(dict.fromkeys(u.rstrip("/") for u in urls))
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = EndpointPool(key, cooldown=cooldown)
        return pool
