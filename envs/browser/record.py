"""A person's input on the browser, captured as :class:`~agent.core.inputs.RawEvent` s.

:meth:`BrowserEnv.input_source` returns a :class:`BrowserCapture`. The env installs
:data:`~envs.browser.record_js.RECORD_INIT_JS` (its :class:`RecordScript`) in every document
of every context it makes, before any page script, dormant; ``start`` exposes the script's
binding to the context (:meth:`BrowserContext.expose_binding`: every page, popup and frame,
cross-origin ones included, now and after each navigation). The page script reports trusted
pointer, wheel, key, composition and keyless text input (listening first, in the capture phase on
``window``); this side turns each report into a RawEvent:

* **Coordinates** are screenshot px of the top frame's viewport: the event's CSS px, plus the
  origin of its frame in the top viewport (each ``<iframe>`` 's content box, summed up the
  same-origin chain in the page, at the event; across a cross-origin frame, read here through
  Playwright's ``frame_element`` when the report arrives, remembered per frame for moves),
  times ``devicePixelRatio``. Wheel deltas are px the same way (CSS px × ``devicePixelRatio``;
  ``deltaMode`` lines count :data:`LINE_PX` CSS px, pages a viewport), positive right / down;
  one notch of Chromium's wheel is ``WHEEL_NOTCH_CSS`` (100) CSS px, so the reducer divides
  by ``100 × target["dpr"]``.
* **Time** is the page's own event time (``performance.timeOrigin + event.timeStamp``: when
  the platform made the event, on the wall clock) mapped onto :func:`time.monotonic` by the
  offset between :func:`time.time` and :func:`time.monotonic` (read at ``start`` and at
  each ``poll``: one reading for many reports, so equal page times stay equal); a mapped
  time later than the arrival is the arrival. Stamping on arrival instead would be
  wrong by as long as Python was busy elsewhere (Playwright's sync API delivers the reports
  only while it is called: a recorder that sleeps receives them all at its next call), while
  the mapping errs by the clocks' read error (≈ 0.1 ms: the page's clocks are coarsened to
  100 µs) plus any step of the wall clock between the event and its arrival (NTP slews it by
  < 0.5 ms/s) since the last reading. The reports of one frame keep their order of arrival
  (a time is never earlier than the frame's last); :meth:`BrowserCapture.poll` returns
  everything sorted by time (a stable sort: ties keep the order of arrival).
* **Targets** (``down`` and ``wheel``): the closest pressable around the deepest element
  under the pointer, through open shadow roots and the closed ones script made (``tag``,
  ``role``, ``type``, ``id``, ``name``, ``label`` (aria-label), ``text`` (visible text,
  whitespace folded, ≤ 200 characters; none for inputs), ``shadow`` (it lives in a shadow
  root), ``box`` (screenshot px ``[x0, y0, x1, y1]``), ``secret`` (a password field)), plus
  ``frame`` (the frame's URL when not the top one) and ``dpr``. Key events carry the
  focused element (no box) and the key's ``code`` (``KeyA``), except in a password field.
* **Password fields**: a character typed into ``<input type=password>`` is never reported —
  not its key, code or text. It becomes one ``text`` event whose text is ``•`` (U+2022) with
  ``target["secret"] = True``; Shift pressed there is not reported either (it would tell the
  letters' case). Named keys (Enter, Tab, Backspace, arrows) and chords (Ctrl+A) in the field
  are reported as usual. The recorder puts the secret's placeholder in their place. Out of
  reach: a password field in a shadow root the HTML parser made closed (declarative
  ``shadowrootmode="closed"``): its events are on the host, its characters reported.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from agent.core.errors import EnvClosedError
from agent.core.inputs import Button, EventKind, RawEvent
from envs.browser.keys import MODIFIERS, NAMED
from envs.browser.record_js import RECORD_INIT_JS

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Frame

LINE_PX = 40  # CSS px of a wheel "line" (deltaMode 1), as Chromium scrolls one
SECRET_TEXT = "\u2022"  # what one character typed into a password field becomes
_KINDS: frozenset[str] = frozenset({"down", "up", "move", "wheel", "key_down", "key_up", "text"})
_BUTTONS: frozenset[str] = frozenset({"left", "right", "middle"})
_MODS = ("ctrl", "shift", "alt", "meta")


def key_names() -> dict[str, str]:
    """``KeyboardEvent.key`` → our key name: :data:`envs.browser.keys.NAMED` reversed (the
    first of two names for one key wins: ``=`` is ``equal``), ``" "`` → ``space``."""
    out: dict[str, str] = {}
    for ours, theirs in [*NAMED.items(), *((m, p) for m, p in MODIFIERS.items())]:
        out.setdefault(theirs, ours)
    out[" "] = "space"
    out["OS"] = "meta"  # older Chromium's name for the Windows / Super key
    return out


class RecordScript:
    """The page script of one env, with its secret key and binding name: installed in every
    context the env makes, before its first page (so its listeners come before any page
    script's), dormant until a capture exposes the binding (one check per event)."""

    def __init__(self) -> None:
        self.key = secrets.token_hex(16)
        self.binding = f"__naRecord_{secrets.token_hex(6)}"
        self.script = (
            RECORD_INIT_JS.replace("__KEY__", self.key)
            .replace("__BINDING__", self.binding)
            .replace("__FLAG__", f"__naRecordOn_{secrets.token_hex(6)}")
            .replace("__KEYMAP__", json.dumps(key_names()))
            .replace("__LINE_PX__", str(LINE_PX))
        )
        self.sink: BrowserCapture | None = None  # the capture the reports go to
        self._exposed: BrowserContext | None = None

    def install(self, context: BrowserContext) -> None:
        context.add_init_script(self.script)

    def attach(self, context: BrowserContext, capture: BrowserCapture) -> None:
        """Reports from ``context`` go to ``capture`` (the binding is exposed once per
        context: Playwright cannot take one back)."""
        if self._exposed is not context:
            context.expose_binding(self.binding, self._on_report)
            self._exposed = context
        self.sink = capture

    def _on_report(self, source: dict[str, Any], report: Any) -> None:
        arrived = time.monotonic()
        if self.sink is not None:
            self.sink.take(source, report, arrived)


class BrowserCapture:
    """The :class:`~agent.core.inputs.EventSource` of a :class:`BrowserEnv`: the input a
    person gives its context (every page, popup, frame). A reset of the env (a new context)
    ends it: ``poll`` then raises EnvClosedError; take a new source after a reset. One
    capture of an env runs at a time: starting one stops the one before."""

    def __init__(
        self, context_of: Callable[[], BrowserContext | None], dsf: float, script: RecordScript
    ) -> None:
        self._context_of, self._dsf, self._script = context_of, dsf, script
        self._context: BrowserContext | None = None
        self._reports: list[tuple[Frame | None, dict[str, Any], float]] = []
        self._offsets: dict[Frame, tuple[float, float]] = {}  # cross-origin frames' last
        self._lock = threading.Lock()
        self._on = False
        self._at: tuple[float, float] | None = None  # the pointer's last point
        self._wall = time.time() - time.monotonic()  # read again at each poll
        self._last: dict[Frame | None, float] = {}  # each frame's last report time
        self.dropped = 0  # reports refused (no key, bad shape): a page's own calls, bugs

    def start(self) -> None:
        context = self._context_of()
        if context is None or (self._context is not None and context is not self._context):
            raise EnvClosedError("the browser was reset or closed: take a new input_source()")
        self._script.attach(context, self)
        self._context, self._on = context, True
        self._wall = time.time() - time.monotonic()

    def poll(self) -> list[RawEvent]:
        """The events reported since the last poll, in time order. One cheap round trip to
        the browser's driver first, so that the reports already sent are delivered."""
        context = self._context
        if context is None:
            return []
        if self._context_of() is not context:
            raise EnvClosedError("the browser was reset: this capture ended; take a new one")
        pages = [p for p in context.pages if not p.is_closed()]
        if pages:
            with contextlib.suppress(Exception):  # closing: what arrived is still returned
                pages[-1].wait_for_timeout(1)
        with self._lock:
            reports, self._reports = self._reports, []
            self._wall = time.time() - time.monotonic()  # (one reading for many reports:
            # equal page times stay equal, so a sort keeps their order of arrival)
        out: list[RawEvent] = []
        offsets: dict[tuple[Frame | None, int], tuple[float, float]] = {}
        for frame, report, t in reports:
            try:
                out.append(self._event(frame, report, t, offsets))
            except (KeyError, TypeError, ValueError):
                self.dropped += 1
        out.sort(key=lambda e: e.t)
        return self._moved_first(out)

    def _moved_first(self, events: list[RawEvent]) -> list[RawEvent]:
        """Each press preceded by a move to its point: where the browser coalesced the last
        move away (or it went to another frame's report), one is inserted at the press's
        time, so the pointer's last position before a press is the press's."""
        out: list[RawEvent] = []
        for e in events:
            if e.kind == "move" and e.x is not None and e.y is not None:
                self._at = (e.x, e.y)
            elif e.kind in ("down", "up", "wheel") and e.x is not None and e.y is not None:
                at = self._at
                if at is None or abs(at[0] - e.x) > 0.5 or abs(at[1] - e.y) > 0.5:
                    out.append(RawEvent(t=e.t, kind="move", x=e.x, y=e.y, modifiers=e.modifiers))
                self._at = (e.x, e.y)
            out.append(e)
        return out

    def stop(self) -> None:
        """Reports that arrive later are dropped."""
        self._on = False
        if self._script.sink is self:
            self._script.sink = None

    # ---- reports -------------------------------------------------------------------------
    def take(self, source: dict[str, Any], report: Any, arrived: float) -> None:
        """One report of the page script, received at monotonic time ``arrived``."""
        if not self._on:
            return
        if not isinstance(report, dict) or report.get("auth") != self._script.key:
            self.dropped += 1
            return
        frame = source.get("frame")
        try:  # the page's event time on our clock (the module's docstring)
            t = min(arrived, float(report["t"]) / 1000.0 - self._wall)
        except (KeyError, TypeError, ValueError):
            self.dropped += 1
            return
        with self._lock:  # converted in poll: a cross-origin frame's offset takes a round trip
            t = max(t, self._last.get(frame, t))  # one document's reports keep their order
            self._last[frame] = t
            self._reports.append((frame, report, t))

    def _event(
        self,
        frame: Frame | None,
        r: dict[str, Any],
        t: float,
        offsets: dict[tuple[Frame | None, int], tuple[float, float]],
    ) -> RawEvent:
        kind = str(r["kind"])
        if kind not in _KINDS:
            raise ValueError(kind)
        mods = tuple(m for m in _MODS if m in (r.get("mods") or ()))
        target = dict(r["target"]) if isinstance(r.get("target"), dict) else None
        if frame is not None and target is not None and frame.parent_frame is not None:
            target["frame"] = frame.url
        if kind in ("key_down", "key_up", "text"):
            text = r.get("text")
            return RawEvent(
                t=t,
                kind=cast(EventKind, kind),
                key=str(r["key"]) if r.get("key") is not None else None,
                text=str(text) if text is not None else None,
                modifiers=mods,
                target=target,
            )
        dpr = self._dsf  # the screenshot's scale (a cross-origin frame's own ratio is 1)
        ox, oy = 0.0, 0.0
        if not r.get("top"):  # a cross-origin frame between this one and the top
            hops = int(r["hops"])
            if (frame, hops) not in offsets:
                offsets[frame, hops] = self._frame_offset(frame, hops)
            ox, oy = offsets[frame, hops]
        x, y = (float(r["cx"]) + ox) * dpr, (float(r["cy"]) + oy) * dpr
        if target is not None:
            target["dpr"] = dpr
            box = target.get("box")
            if isinstance(box, list) and len(box) == 4:
                fx, fy = float(r["ox"]) + ox, float(r["oy"]) + oy
                x0, y0, x1, y1 = (float(v) for v in box)
                target["box"] = [(x0 + fx) * dpr, (y0 + fy) * dpr, (x1 + fx) * dpr, (y1 + fy) * dpr]
        button = r.get("button")
        return RawEvent(
            t=t,
            kind=cast(EventKind, kind),
            x=x,
            y=y,
            button=cast(Button, button) if button in _BUTTONS else None,
            dx=float(r.get("dx") or 0.0) * dpr,
            dy=float(r.get("dy") or 0.0) * dpr,
            modifiers=mods,
            target=target,
        )

    def _frame_offset(self, frame: Frame | None, hops: int) -> tuple[float, float]:
        """Where the highest window the page script reached (``hops`` up from ``frame``) has
        its origin in the top viewport, CSS px now: each cross-origin ``<iframe>`` 's content
        box, read through its parent frame (a frame gone meanwhile: its last reading)."""
        for _ in range(hops):
            if frame is None:
                break
            frame = frame.parent_frame
        if frame is None or frame.parent_frame is None:
            return 0.0, 0.0
        ox = oy = 0.0
        f: Frame | None = frame
        try:
            while f is not None and f.parent_frame is not None:
                box = f.frame_element().evaluate(_CONTENT_BOX)
                ox, oy = ox + float(box[0]), oy + float(box[1])
                f = f.parent_frame
        except Exception:  # detached, navigating
            return self._offsets.get(frame, (0.0, 0.0))
        self._offsets[frame] = (ox, oy)
        return ox, oy


_CONTENT_BOX = """e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return [r.left + e.clientLeft + (parseFloat(s.paddingLeft) || 0),
          r.top + e.clientTop + (parseFloat(s.paddingTop) || 0)]; }"""
