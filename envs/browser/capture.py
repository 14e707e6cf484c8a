"""Fast lossless screenshots of a Playwright page, and the tripwire that ties a DOM read to
the screenshot taken after it.

CDP ``Page.captureScreenshot`` with ``optimizeForSpeed: true`` and ``format: png`` returns
the same pixels as Playwright's ``page.screenshot(scale="device")`` at a fraction of the cost
(the PNG is compressed less); at a device scale factor ≠ 1 it needs ``clip`` = the CSS
viewport with ``scale`` = DSF, else Chromium answers with a CSS-pixel-sized image. One CDP
session per page, opened on its first capture; a browser without CDP falls back to
Playwright's screenshot.

The same session carries the tripwire: a Runtime binding (``CHANGED_BINDING``) that the
page's init script calls on the first DOM change after a snapshot read and at the start of
every new document. Its event is dispatched before the reply of the capture that follows, so
``changed`` says whether the page moved between the read and the screenshot.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from envs.browser.dom import CHANGED_BINDING

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Page


def decode_png(png: bytes) -> np.ndarray:
    """PNG bytes → H×W×3 uint8 RGB (OpenCV's decoder when installed: about twice as fast
    as Pillow's on the lightly compressed PNGs of a fast capture)."""
    try:
        import cv2
    except ImportError:  # opencv is optional: Pillow decodes too, at half the speed
        cv2 = None  # type: ignore[assignment]
    if cv2 is not None:
        bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        if bgr is not None:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


def capture_params(viewport: tuple[int, int], dsf: float) -> dict[str, Any]:
    """The ``Page.captureScreenshot`` parameters of a lossless device-pixel screenshot."""
    params: dict[str, Any] = {"format": "png", "optimizeForSpeed": True}
    if dsf != 1.0:
        w, h = viewport
        params["clip"] = {"x": 0, "y": 0, "width": w, "height": h, "scale": dsf}
    return params


class PageCapture:
    """Screenshots of the pages of one browser context (``fast=False``: Playwright's)."""

    def __init__(self, viewport: tuple[int, int], dsf: float, *, fast: bool = True) -> None:
        self.params = capture_params(viewport, dsf)
        self.fast = fast
        self.changed = False  # set by the tripwire; the env clears it before a read
        self._sessions: dict[Page, CDPSession | None] = {}
        self._reads: dict[Page, CDPSession | None] = {}  # without fast capture

    def tripwire(self, page: Page) -> bool:
        """Whether ``page`` reports changes through the binding (else: compare versions)."""
        return self._session(page) is not None

    def grab(self, page: Page, timeout_s: float) -> bytes:
        """One PNG screenshot of the viewport in device px (one round trip)."""
        session = self._session(page)
        if session is None:
            return page.screenshot(type="png", scale="device", timeout=timeout_s * 1000)
        reply = session.send("Page.captureScreenshot", self.params, timeout=timeout_s * 1000)
        return base64.b64decode(reply["data"])

    def session(self, page: Page) -> CDPSession | None:
        """A CDP session for reads (:mod:`envs.browser.accessibility`): the capture's own,
        or without fast capture one opened for reads only; None where CDP is refused."""
        session = self._session(page)
        if session is None and page not in self._reads:
            try:
                self._reads[page] = page.context.new_cdp_session(page)
            except Exception:  # not Chromium
                self._reads[page] = None
        return session or self._reads.get(page)

    def forget(self, page: Page) -> None:
        self._sessions.pop(page, None)
        self._reads.pop(page, None)

    def reset(self) -> None:
        """A new context: the old sessions are gone with it."""
        self._sessions.clear()
        self._reads.clear()

    def _session(self, page: Page) -> CDPSession | None:
        if page in self._sessions:
            return self._sessions[page]
        session: CDPSession | None = None
        if self.fast:
            try:
                session = page.context.new_cdp_session(page)
                session.on("Runtime.bindingCalled", self._on_binding)
                session.send("Runtime.enable")  # bindings survive cross-process navigations
                session.send("Runtime.addBinding", {"name": CHANGED_BINDING})
            except Exception:  # not Chromium, or CDP refused: Playwright's screenshot
                session = None
        self._sessions[page] = session
        return session

    def _on_binding(self, event: dict[str, Any]) -> None:
        if event.get("name") == CHANGED_BINDING:
            self.changed = True
