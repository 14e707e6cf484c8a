"""Fast lossless screenshots of a Playwright page, and the tripwire that ties a DOM read to
the screenshot taken after it.

CDP ``Page.captureScreenshot`` with ``optimizeForSpeed: true`` and ``format: png`` returns
the same pixels as Playwright's ``page.screenshot(scale="device")`` at a fraction of the cost
(the PNG is compressed less); at a device scale factor ≠ 1 it needs ``clip`` = the CSS
viewport with ``scale`` = DSF, else Chromium answers with a CSS-pixel-sized image. One CDP
session per page, opened on its first capture. A failed fast capture falls back to
Playwright's screenshot by kind of failure (:func:`envs.browser.errors.capture_failure`): a
browser without CDP, or a protocol without the method, is remembered for the page's
lifetime; any other failure is tried fast again on the next capture. Every screenshot that
took the slow path although the fast one was asked for is counted (:attr:`PageCapture.
fallbacks`; the env reports it as ``Observation.timings["capture_fallback"]``).

The same session carries the tripwire: a Runtime binding (``CHANGED_BINDING``) that the
page's init script calls on the first DOM change after a snapshot read and at the start of
every new document. Its event is dispatched before the reply of the capture that follows, so
``changed`` says whether the page moved between the read and the screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import io
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from envs.browser.dom import CHANGED_BINDING
from envs.browser.errors import capture_failure

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
        self.fallbacks = 0  # slow screenshots taken although fast ones were asked for
        self._sessions: dict[Page, CDPSession | None] = {}  # None: no CDP (remembered)
        self._reads: dict[Page, CDPSession | None] = {}  # without fast capture

    def tripwire(self, page: Page) -> bool:
        """Whether ``page`` reports changes through the binding (else: compare versions)."""
        return self._session(page) is not None

    def grab(self, page: Page, timeout_s: float) -> bytes:
        """One PNG screenshot of the viewport in device px (one round trip). A fast capture
        that fails on a live page falls back to Playwright's screenshot (see the module
        doc); a dead page or a timeout raises for the env to translate."""
        session = self._session(page)
        if session is not None:
            try:
                return self._fast(session, timeout_s)
            except Exception as err:
                kind = capture_failure(err)
                if kind in ("dead", "timeout"):
                    raise
                if kind == "unsupported":
                    self._drop(page)
                    self._sessions[page] = None  # for the page's lifetime
        if self.fast:
            self.fallbacks += 1
        return page.screenshot(type="png", scale="device", timeout=timeout_s * 1000)

    def _fast(self, session: CDPSession, timeout_s: float) -> bytes:
        reply = session.send("Page.captureScreenshot", self.params, timeout=timeout_s * 1000)
        return base64.b64decode(reply["data"])

    def take_fallbacks(self) -> int:
        """The slow-path screenshots since the last call."""
        n, self.fallbacks = self.fallbacks, 0
        return n

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
        """The page's capture session; None where there is none (not asked for, CDP not
        supported — remembered — or opening it failed this time: tried again next call)."""
        if page in self._sessions:
            return self._sessions[page]
        if not self.fast:
            self._sessions[page] = None
            return None
        session: CDPSession | None = None
        try:
            session = page.context.new_cdp_session(page)
            session.on("Runtime.bindingCalled", self._on_binding)
            session.send("Runtime.enable")  # bindings survive cross-process navigations
            session.send("Runtime.addBinding", {"name": CHANGED_BINDING})
        except Exception as err:  # not Chromium, or CDP refused: Playwright's screenshot
            if session is not None:
                self._detach(session)
            if capture_failure(err) == "unsupported":
                self._sessions[page] = None
            return None
        self._sessions[page] = session
        return session

    def _drop(self, page: Page) -> None:
        session = self._sessions.pop(page, None)
        if session is not None:
            self._detach(session)

    @staticmethod
    def _detach(session: CDPSession) -> None:
        with contextlib.suppress(Exception):  # the page (and its session) may be gone
            session.detach()

    def _on_binding(self, event: dict[str, Any]) -> None:
        if event.get("name") == CHANGED_BINDING:
            self.changed = True
