"""The requests a browser context has in flight, with when each started: the settle waits for
those an action started (streams and old long-polls of the page never hold a step)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Request

STREAMING = frozenset({"eventsource", "websocket", "media"})  # never "finish"


class Inflight:
    """Attached to one context: every page's requests (popups included)."""

    def __init__(self, context: BrowserContext) -> None:
        self._started: dict[Request, float] = {}

        # Playwright wants plain functions as handlers (it tags them).
        def started(r: Request) -> None:
            self._started[r] = time.monotonic()

        def ended(r: Request) -> None:
            self._started.pop(r, None)

        context.on("request", started)
        context.on("requestfinished", ended)
        context.on("requestfailed", ended)

    def pending(self, since: float) -> bool:
        """Requests started since ``since`` still running (streams excluded)."""
        return any(
            t >= since and r.resource_type not in STREAMING for r, t in self._started.items()
        )
