"""BrowserEnv: a real Chromium driven through Playwright's sync API at native resolution.

Screenshots are the viewport in physical px (viewport × DSF); actions arrive in screenshot
px and reach the page as CSS px through :meth:`Env.to_input` (the coordinate module).
Playwright errors become ActionFailedError; a dead page or browser becomes EnvClosedError,
which the shared ``step`` reports as ``truncated``.

A quiet step costs few round trips to the browser: the action, one settle read (a frame is
drawn, the load event is in, and the DOM snapshot masking needs is read — version, title,
fields, text when secrets are set), one fast CDP capture (:mod:`envs.browser.capture`). The
snapshot is tied to the screenshot by a tripwire; a page that changed in between is captured
again here, in the env, never by masking.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from agent.core.actions import Action
from agent.core.coords import Frame
from agent.core.env import POINTER_KEYBOARD, Env, EnvSpec, Feature, RequestVerdict
from agent.core.errors import ActionFailedError, ConfigError, EnvClosedError, NativeAgentError
from agent.core.observation import Observation
from envs.browser import dom
from envs.browser.accessibility import with_ax_at
from envs.browser.capture import PageCapture, decode_png
from envs.browser.discover import find_browser, launch
from envs.browser.driver import SharedPlaywright
from envs.browser.errors import says_dead, translated
from envs.browser.execute import UNSUPPORTED
from envs.browser.focus import read_focus
from envs.browser.guard import DispatchGuard
from envs.browser.privacy import raw_text, same_sensitive, snapshot_of
from envs.browser.proxy import WireProxy
from envs.browser.record import BrowserCapture, RecordScript
from envs.browser.routing import RequestGuard
from envs.browser.traffic import Inflight
from envs.browser.urls import normalize_url

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    from envs.sites.server import SiteServer

RECAPTURES = 3  # screenshots tried while the page keeps changing under the snapshot read
SETTLE_MAX_S = 2.0  # how long to wait for in-flight requests after an action
QUIET_S = 0.1  # after requests drain, how long no new one must start
POPUP_WAIT_S = 3.0  # how long a tab the action opened may take to reach us


class BrowserEnv(Env):
    """A Chromium page at a fixed viewport and device scale factor.

    With neither ``url`` nor ``site`` it opens the bundled flights site; ``site`` names a
    bundled site (served on 127.0.0.1 by a :class:`~envs.sites.server.SiteServer` that
    starts on first use and stops on close).
    """

    name = "browser"
    capabilities = POINTER_KEYBOARD | {"navigate", "back"}
    unsupported = UNSUPPORTED
    features = frozenset(
        {Feature.PRIVACY_SNAPSHOT, Feature.ELEMENT_AT, Feature.FOCUS_TARGET, Feature.REQUEST_FILTER}
        | {Feature.DISPATCH_GUARD, Feature.INPUT_RECORDING}
    )

    def __init__(
        self,
        url: str | None = None,
        *,
        viewport: tuple[int, int] = (1280, 800),
        dsf: float = 1.0,
        headless: bool = True,
        browser_path: str | None = None,
        site: str | None = None,
        action_timeout_s: float = 5.0,
        fast_capture: bool = True,
    ) -> None:
        super().__init__()
        w, h = int(viewport[0]), int(viewport[1])
        if w < 100 or h < 100 or dsf <= 0 or action_timeout_s <= 0:
            raise ConfigError(
                f"bad browser geometry/timeout: viewport {w}x{h} (each side ≥ 100), "
                f"dsf {dsf} (> 0), action_timeout_s {action_timeout_s} (> 0)"
            )
        self.viewport = (w, h)
        self.dsf = float(dsf)
        self.headless = headless
        self.action_timeout_s = float(action_timeout_s)
        if url:
            try:
                url = normalize_url(url)
            except ActionFailedError as err:
                raise ConfigError(f"bad start URL: {err}") from err
        elif site is not None:
            from envs.sites import SITES

            if site not in SITES:
                raise ConfigError(f"unknown site {site!r}; known: {', '.join(sorted(SITES))}")
        self.executable = find_browser(browser_path, headless=headless)
        self._server: SiteServer | None = None
        self._site = site
        self._url = url
        self._browser_path, self._fast_capture = browser_path, fast_capture
        self._context: BrowserContext | None = None
        self._guard: RequestGuard | None = None  # the URL policy on the wire, when set
        self._wire = WireProxy(lambda: self._guard)  # its proxy (envs.browser.proxy)
        self._page: Page | None = None
        self._inflight: Inflight | None = None
        self._crashed = False
        self._dialogs: list[str] = []
        self._shots = PageCapture(self.viewport, self.dsf, fast=fast_capture)
        self._pre: tuple[Page, dict[str, Any]] | None = None  # the settle's snapshot read
        self._settle_s: float | None = None
        self._opened = 0  # tabs the last settle's page said it opened
        self._dispatch = DispatchGuard()  # the gate's verdict where events land (guard.py)
        self._record = RecordScript()  # a person's input, when a capture asks (record.py)
        self._pw = SharedPlaywright.acquire()
        try:
            self._browser: Browser = launch(self._pw, self.executable, headless)
        except BaseException:
            SharedPlaywright.release()
            raise
        try:
            self._open(self.start_url)
        except BaseException:
            self._close()
            raise

    def spec(self) -> EnvSpec:
        return EnvSpec(self.name, {**self._settings(), "url": self._url, "site": self._site})

    def _settings(self) -> dict[str, Any]:  # the constructor settings MiniWobEnv shares
        return {"viewport": list(self.viewport), "dsf": self.dsf, "headless": self.headless,
                "browser_path": self._browser_path, "action_timeout_s": self.action_timeout_s,
                "fast_capture": self._fast_capture}  # fmt: skip

    # ---- public helpers ------------------------------------------------------------------
    @property
    def page(self) -> Page:
        """The active Playwright page (for tasks and the oracle). Whoever takes it may drive
        the page, so the next capture reads the DOM afresh instead of the settle's read."""
        self._pre = None
        return self._active_page()

    def _active_page(self) -> Page:
        self._ensure_open()
        if self._page is None or self._page.is_closed():
            raise EnvClosedError("the browser page is closed")
        return self._page

    @property
    def site_server(self) -> SiteServer:
        """The bundled-site server, started on first use."""
        self._ensure_open()
        if self._server is None:
            from envs.sites.server import SiteServer

            self._server = SiteServer()
            self._server.start()
        return self._server

    def site_url(self, site: str, path: str = "") -> str:
        return self.site_server.url_for(site, path)

    @property
    def start_url(self) -> str:
        """Where ``reset()`` goes: the given URL, else the given (or the flights) site."""
        if self._url:
            return self._url
        from envs.sites import SITES

        site = self._site or "flights"
        return self.site_url(site, SITES[site].start_path)

    @property
    def browser_pid(self) -> int | None:
        """The browser process id (diagnostics, tests), via the CDP SystemInfo domain."""
        try:
            session = self._browser.new_browser_cdp_session()
            info = session.send("SystemInfo.getProcessInfo")
            session.detach()
        except Exception:
            return None
        for proc in info.get("processInfo", []):
            if proc.get("type") == "browser":
                return int(proc["id"])
        return None

    def element_at(
        self, point: tuple[float, float], frame: Frame | None = None
    ) -> dict[str, Any] | None:
        """What is at a screenshot-px point: tag, role, text, label, box (screenshot px),
        whether it is a password field..., and the role and name Chromium computes for it
        (``ax_role``, ``ax_name``: :mod:`envs.browser.accessibility`); None where nothing is."""
        frame = frame or self.geometry()
        ux, uy = self.to_input(point, frame)
        page = self._active_page()
        try:
            info = self._dispatch.read(page, dom.ELEMENT_AT_JS, [ux, uy], (ux, uy))
        except Exception as err:
            raise self._translate(err, "element_at") from err
        return dom.describe(frame, with_ax_at(self._shots.session(page), info, ux, uy))

    def focus_target(
        self, point: tuple[float, float] | None, frame: Frame | None = None
    ) -> dict[str, Any] | None:
        """What keys would act on (:mod:`envs.browser.focus`): the focused element (``point``
        None) or the one at ``point``, its form's submit button, the options keys choose."""
        at = None if point is None else self.to_input(point, frame or self.geometry())
        page = self._active_page()
        try:
            self._dispatch.read(page, "() => null", None, at)  # the guard marks it first
            return read_focus(page, self._shots.session(page), at)
        except Exception as err:
            raise self._translate(err, "read target") from err

    def arm(self, action: Action) -> None:
        self._dispatch.arm(action, self.geometry(), self.to_input)

    def input_source(self) -> BrowserCapture:  # a person's input (envs.browser.record)
        return BrowserCapture(lambda: self._context, self.dsf, self._record)

    # ---- Env hooks -------------------------------------------------------------------------
    def filter_requests(self, verdict: RequestVerdict | None) -> None:
        """Every request of the context through ``verdict`` (:mod:`envs.browser.routing`)."""
        if self._guard is not None and self._context is not None:
            self._context.unroute("**/*")
        self._guard = RequestGuard(verdict) if verdict is not None else None
        if self._guard is not None and self._context is not None:
            if not self._wire.wires(self._context):  # a proxy is set per context: reopen
                with contextlib.suppress(ActionFailedError):  # the page itself may be denied
                    self._open(self._active_page().url)
                return
            self._guard.install(self._context)

    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        self._open(normalize_url(url) if url else self.start_url)

    def _capture(self) -> Observation:
        self._dispatch.forget()
        failures = switches = 0
        self._shots.take_fallbacks()  # count this capture's own
        while True:
            page = self._active_page()
            try:
                png, read, tied, recaptured, capture_s = self._shoot(page)
            except Exception as err:
                failures += 1  # a page mid-navigation can refuse one capture
                if failures == 3 or self._is_dead(err) or type(err).__name__ == "TimeoutError":
                    raise self._translate(err, "screenshot", dead_on_timeout=True) from err
                page.wait_for_timeout(150)
                continue
            if self._page is page or switches == 2:
                break
            switches += 1  # a new tab opened while capturing: show that one
        t0 = time.perf_counter()
        array = decode_png(png)
        timings = {"capture_s": capture_s, "decode_s": time.perf_counter() - t0}
        if fallbacks := self._shots.take_fallbacks():  # slow screenshots (capture.py)
            timings["capture_fallback"] = float(fallbacks)
        if self._settle_s is not None:
            timings["settle_s"], self._settle_s = self._settle_s, None
        extra: dict[str, Any] = {"viewport": list(self.viewport)}
        if self._dialogs:
            extra["dialogs"] = self._dialogs
            self._dialogs = []
        if recaptured:
            extra["recaptured"] = recaptured
        if self._guard is not None and (blocked := self._guard.drain()):
            extra["blocked_requests"] = blocked
        title = (read or {}).get("title")
        obs = Observation(
            png=png, array=array, scale=self.dsf, url=page.url, title=title, extra=extra
        )
        obs.privacy = snapshot_of(read, self.privacy, obs.frame(), tied=tied)
        obs.timings = timings
        return obs

    def _shoot(self, page: Page) -> tuple[bytes, dict[str, Any] | None, bool, int, float]:
        """(png, the DOM read it shows, tied, recaptures, capture seconds). The read comes
        from the settle when nothing moved since; a page that changed between read and
        screenshot is captured again, and one that never stops changing is accepted when
        the sensitive boxes read just before and just after the last screenshot agree."""
        texts = bool(self.privacy.secrets)
        wire = self._shots.tripwire(page)
        read = None
        if self._pre is not None and self._pre[0] is page:
            read = self._pre[1]
            if texts and read.get("texts") is None:
                read = None  # read before secrets were requested
        self._pre = None
        capture_s, before = 0.0, None
        for attempt in range(RECAPTURES + 1):
            if read is None:
                self._shots.changed = False
                read = self._read(page, dom.SNAPSHOT_JS, texts)
            if self._crashed:  # CDP's capture of a crashed page takes the browser down
                raise EnvClosedError("the page crashed")
            t0 = time.perf_counter()
            png = self._shots.grab(page, self.action_timeout_s * 2)
            capture_s += time.perf_counter() - t0
            if wire:
                changed = self._shots.changed
            else:  # Playwright's screenshot: compare the DOM version after it
                changed = read is not None and self._version(page) != read["version"]
            if read is not None and not changed:
                return png, read, True, attempt, capture_s
            before, read = read, None
            if before is None:
                page.wait_for_timeout(50)  # mid-navigation: give the next document a moment
        after = self._read(page, dom.SNAPSHOT_JS, texts)
        frame = Observation(png=png, scale=self.dsf).frame()
        tied = same_sensitive(before, after, self.privacy.secrets, frame)
        return png, after, tied, RECAPTURES, capture_s

    def _read(self, page: Page, script: str, texts: bool, *args: Any) -> dict[str, Any] | None:
        """One snapshot read (dom.SNAPSHOT_JS / dom.SETTLE_JS); None mid-navigation."""
        try:
            return page.evaluate(script, [texts, *args] if args else texts)
        except Exception as err:
            if self._is_dead(err):
                raise
            return None

    def _execute(self, action: Action, frame: Frame) -> None:
        page, t, since = self._active_page(), action.type, time.monotonic()
        if self._crashed:
            raise EnvClosedError("the page crashed")
        try:
            self._dispatch.perform(page, action, frame, self.to_input, self.viewport, self._is_dead)
        except Exception as err:
            failure = err if isinstance(err, NativeAgentError) else self._translate(err, t)
            if not isinstance(failure, EnvClosedError):
                self._settle_quietly(page, since)  # it may still be reacting (error page)
            if failure is err:
                raise
            raise failure from err
        settle_from = time.monotonic()
        try:
            self._settle(page, since)
            self._follow_popup(page, since)
        except Exception as err:
            raise self._translate(err, t) from err
        self._settle_s = time.monotonic() - settle_from

    def _follow_popup(self, page: Page, since: float) -> None:
        """The tab the action opened (the settle read counts them) is the one captured:
        Playwright's page event can reach us after the settle, on a busy machine."""
        if not self._opened or self._page is not page or self._context is None:
            return
        with contextlib.suppress(Exception):  # a timeout: no tab after all (blocked, named)
            self._context.wait_for_event("page", timeout=POPUP_WAIT_S * 1000)
        if self._page is not page and self._page is not None:
            self._settle(self._page, since)

    def _close(self) -> None:
        with contextlib.suppress(Exception):  # already dead: only the driver to release
            self._browser.close()
        SharedPlaywright.release()
        self._wire.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    # ---- internals -------------------------------------------------------------------------
    def _open(self, url: str) -> None:
        """A fresh context (no cookies or storage) and page at ``url``."""
        if self._context is not None:
            try:
                self._context.close()
            except Exception as err:
                raise self._translate(err, "reset") from err
        self._shots.reset()
        self._pre = None
        try:
            self._context = self._wire.new_context(
                self._browser,
                viewport={"width": self.viewport[0], "height": self.viewport[1]},
                device_scale_factor=self.dsf,
            )
            self._context.set_default_timeout(self.action_timeout_s * 1000)
            self._context.add_init_script(dom.VERSION_INIT_JS)
            self._dispatch.install(self._context)
            self._record.install(self._context)
            self._inflight = Inflight(self._context)
            self._context.on("page", lambda p: self._adopt(p))
            if self._guard is not None:
                self._guard.install(self._context)  # before the first request of the context
            self._adopt(self._context.new_page())
            assert self._page is not None
            self._page.goto(url, wait_until="load", timeout=self.action_timeout_s * 3000)
            self._settle(self._page)
        except Exception as err:
            raise self._translate(err, "open") from err

    def _adopt(self, page: Page) -> None:
        """Make a new page (first page, popup, target=_blank) the active one."""
        if page is self._page:
            return
        self._page, self._crashed = page, False
        page.on("crash", lambda p: self._on_crash(p))
        page.on("close", lambda p: self._on_page_close(p))
        page.on("dialog", lambda d: self._on_dialog(d))

    def _on_crash(self, page: Page) -> None:
        if page is self._page:
            self._crashed = True

    def _on_page_close(self, page: Page) -> None:
        self._shots.forget(page)
        if page is self._page and self._context is not None:
            alive = [p for p in self._context.pages if not p.is_closed()]
            if alive:
                self._page = alive[-1]

    def _on_dialog(self, dialog: Any) -> None:
        """Dialogs are invisible in screenshots: report their text, dismiss them (cancel a
        confirm), but let a navigation the agent asked for leave the page (beforeunload)."""
        self._dialogs.append(raw_text(f"{dialog.type}: {dialog.message}"))
        with contextlib.suppress(Exception):
            if dialog.type == "beforeunload":
                dialog.accept()
            else:
                dialog.dismiss()

    def _pending(self, since: float) -> bool:
        return self._inflight is not None and self._inflight.pending(since)

    def _settle(self, page: Page, since: float | None = None) -> None:
        """Let the page react: requests the action started finish, the load event fires,
        a frame renders; the same read takes the snapshot the capture needs. A quiet page
        costs one round trip; a busy one at most ~SETTLE_MAX_S per step."""
        start = time.monotonic()
        since = start - 0.5 if since is None else since
        deadline = start + SETTLE_MAX_S
        texts = bool(self.privacy.secrets)
        self._pre = None
        self._shots.tripwire(page)  # the binding exists before the read arms it
        self._shots.changed = False
        # handlers run, a frame is drawn; requests they started are reported by then
        read = self._read(page, dom.SETTLE_JS, texts, SETTLE_MAX_S * 1000, False)
        self._opened = (read or {}).get("popups") or 0  # each read takes the page's count
        if read is not None and not self._pending(since) and not self._crashed:
            self._pre = (page, read)
            return
        quiet_until = 0.0
        while time.monotonic() < deadline:
            if self._pending(since):
                # a response often starts the next request (sign-in POST, then the page's
                # fetch): once traffic drains, wait a short quiet period for a follow-up
                quiet_until = time.monotonic() + QUIET_S
            elif time.monotonic() >= quiet_until:
                break
            page.wait_for_timeout(20)
        if self._crashed:
            raise EnvClosedError("the page crashed")
        left = max(0.1, deadline - time.monotonic())
        try:
            page.wait_for_load_state("load", timeout=left * 1000)
        except Exception as err:
            if self._is_dead(err):
                raise
            # a navigation destroyed the context or the page is slow: the screenshot shows it
        self._shots.changed = False
        read = self._read(page, dom.SETTLE_JS, texts, left * 1000, True)
        self._opened += (read or {}).get("popups") or 0
        if read is not None:
            self._pre = (page, read)

    def _version(self, page: Page) -> list[Any] | None:
        """The page's DOM version (see dom.VERSION_INIT_JS); None mid-navigation."""
        try:
            return page.evaluate(dom.VERSION_JS)
        except Exception as err:
            if self._is_dead(err):
                raise
            return None

    def _settle_quietly(self, page: Page, since: float) -> None:
        with contextlib.suppress(Exception):  # best effort; the error is reported already
            self._settle(page, since)

    def _is_dead(self, err: BaseException | None = None) -> bool:
        gone = self._crashed or self._page is None or self._page.is_closed()
        if gone or not self._browser.is_connected():
            return True
        return err is not None and says_dead(err)

    def _translate(
        self, err: BaseException, what: str, *, dead_on_timeout: bool = False
    ) -> Exception:
        """A Playwright error → EnvClosedError (page/browser gone) or ActionFailedError."""
        dead = self._is_dead(err)
        return translated(
            err, what, dead=dead, crashed=self._crashed, dead_on_timeout=dead_on_timeout
        )
