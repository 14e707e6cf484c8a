"""The URL policy on the wire: every request the browser context makes passes a verdict
before it leaves.

Judging only the model's actions missed every request a page makes by itself — a form
post, a ``<a ping>``, a ``sendBeacon``, a redirect, a popup, a meta refresh, a script's
``location = …`` — which were noticed, if at all, on the next action, after the request had
gone out. Playwright's context routing sees each of them (every frame, every popup) before
it is sent: a request the verdict refuses is aborted (``blockedbyclient``) and recorded, and
the env reports it with the next observation. What routing is not shown (WebSockets, redirect
hops, prefetch, worker and unload traffic, WebRTC relays) the context's proxy judges
(:mod:`envs.browser.proxy`), recording into the same list.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from agent.core.errors import cut

Verdict = Callable[[str], str | None]  # URL → why it is refused, or None
MAX_RECORDED = 50  # blocked requests kept between two observations
RAW_TEXT = 2000  # characters of a blocked URL / reason kept for masking to scrub, then cut


class RequestGuard:
    """Routes every request of a Playwright context through ``verdict``."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self._blocked: list[dict[str, Any]] = []
        self._dropped = 0
        self._lock = threading.Lock()

    def install(self, context: Any) -> None:
        context.route("**/*", self._handle)

    def _handle(self, route: Any, request: Any) -> None:
        url = request.url
        try:
            why = self.verdict(url)
        except Exception as err:  # a verdict that fails refuses (fail closed)
            why = f"the URL policy failed: {type(err).__name__}"
        if why is None:
            route.fallback()
            return
        with self._lock:
            if len(self._blocked) < MAX_RECORDED:
                self._blocked.append(
                    {
                        "url": cut(url, RAW_TEXT),
                        "method": request.method,
                        "resource": request.resource_type,
                        "navigation": bool(request.is_navigation_request()),
                        "reason": cut(why, RAW_TEXT),
                    }
                )
            else:
                self._dropped += 1
        route.abort("blockedbyclient")

    def refused(self, url: str, method: str, resource: str, why: str) -> None:
        """Record a request refused elsewhere (the proxy: :mod:`envs.browser.proxy`)."""
        entry = {"url": url[:300], "method": method, "resource": resource, "reason": why[:300]}
        with self._lock:
            if len(self._blocked) < MAX_RECORDED:
                self._blocked.append({**entry, "navigation": False})
            else:
                self._dropped += 1

    def drain(self) -> list[dict[str, Any]]:
        """The requests blocked since the last call (for the next observation)."""
        with self._lock:
            out, self._blocked = self._blocked, []
            if self._dropped:
                out.append({"dropped": self._dropped})
                self._dropped = 0
        return out
