"""Fault injection for the browser tests: the one moment the env cannot see."""

from __future__ import annotations

from typing import Any, ClassVar

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


class FlakyCapture(BrowserEnv):
    """A real page whose next fast (CDP) capture fails once, the way Chromium fails it:
    ``fail_next = "transient"`` (a capture the compositor could not serve) or
    ``"unsupported"`` (a protocol without the method). ``fast_calls`` counts the fast
    captures tried."""

    FAILURES: ClassVar[dict[str, str]] = {
        "transient": "Protocol error (Page.captureScreenshot): Unable to capture screenshot",
        "unsupported": (
            "Protocol error (Page.captureScreenshot): 'Page.captureScreenshot' wasn't found"
        ),
    }

    fail_next: str | None = None

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.fast_calls = 0
        fast = self._shots._fast

        def hooked(session: Any, timeout_s: float) -> bytes:
            self.fast_calls += 1
            if self.fail_next:
                kind, self.fail_next = self.fail_next, None
                from playwright.sync_api import Error

                raise Error(self.FAILURES[kind])
            return fast(session, timeout_s)

        self._shots._fast = hooked  # type: ignore[method-assign]
