"""One Playwright driver per thread, shared by the BrowserEnvs of that thread."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from agent.core.errors import EnvNotAvailableError

if TYPE_CHECKING:
    from playwright.sync_api import Playwright


class SharedPlaywright:
    """One Playwright driver per thread: the sync API refuses a second live instance in a
    thread, so several BrowserEnvs share it (each with its own browser) and the last
    one to close stops it."""

    _local = threading.local()

    @classmethod
    def acquire(cls) -> Playwright:
        state = getattr(cls._local, "state", None)
        if state is None:
            try:
                from playwright.sync_api import sync_playwright
            except ImportError as err:
                raise EnvNotAvailableError(
                    "the browser env needs Playwright: pip install 'native-agent[browser]'"
                ) from err
            try:
                driver = sync_playwright().start()
            except Exception as err:  # e.g. called inside a running asyncio loop
                raise EnvNotAvailableError(f"could not start Playwright: {err}") from err
            state = cls._local.state = [driver, 0]
        state[1] += 1
        return state[0]

    @classmethod
    def release(cls) -> None:
        state = getattr(cls._local, "state", None)
        if state is None:
            return
        state[1] -= 1
        if state[1] <= 0:
            cls._local.state = None
            with contextlib.suppress(Exception):  # the driver may be gone already
                state[0].stop()
