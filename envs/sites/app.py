"""The in-memory backend every bundled site implements: its state lives here, on the
server, so tasks judge outcomes from the app's own records rather than from the screen."""

from __future__ import annotations

import threading
from typing import Any


class HttpError(Exception):
    """An API error answered as ``{"error": message}`` with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SiteApp:
    """One site's JSON API under ``/api/<name>/``; ``reset`` and ``state`` are common to all.

    Subclasses implement ``_reset`` (fresh state from options), ``state`` (JSON for tasks)
    and ``route``; calls are serialized by one lock, as requests come from server threads.
    """

    name = "site"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._reset({})

    def _reset(self, options: dict[str, Any]) -> None:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def route(
        self, method: str, parts: list[str], query: dict[str, str], body: Any, headers: Any
    ) -> tuple[int, Any]:
        raise HttpError(404, f"no such endpoint: {method} /api/{self.name}/{'/'.join(parts)}")

    def handle(
        self, method: str, parts: list[str], query: dict[str, str], body: Any, headers: Any
    ) -> tuple[int, Any]:
        with self.lock:
            if parts == ["reset"] and method == "POST":
                self._reset(body if isinstance(body, dict) else {})
                return 200, {"ok": True}
            if parts == ["state"] and method == "GET":
                return 200, self.state()
            return self.route(method, parts, query, body, headers)


def need(body: Any, key: str, kind: type = str) -> Any:
    """A required field of a JSON body, or a 400 naming it."""
    if not isinstance(body, dict) or key not in body:
        raise HttpError(400, f"missing field {key!r}")
    value = body[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise HttpError(400, f"field {key!r} must be {kind.__name__}")
    return value
