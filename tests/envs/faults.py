"""Fault injection for the browser tests: the one moment the env cannot see."""

from __future__ import annotations

from typing import Any

from envs.browser import BrowserEnv


class WritesBeforeGrab(BrowserEnv):
    """A real page that writes into itself once between the next snapshot read and the
    screenshot (``before_grab``, page JS)."""

    before_grab: str | None = None

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        grab = self._shots.grab

        def hooked(page: Any, timeout_s: float) -> bytes:
            if self.before_grab:
                script, self.before_grab = self.before_grab, None
                page.evaluate(script)
            return grab(page, timeout_s)

        self._shots.grab = hooked  # type: ignore[method-assign]
