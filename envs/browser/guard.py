"""The gate's verdict enforced where the event lands (time of check vs time of use).

The gate reads a target (:mod:`agent.safety.targets` via ``element_at`` / ``focus_target``)
and then, some milliseconds later, the env presses. A page can use that gap: swap the element
under the pointer on the click's own mousemove or on a timer, reveal "Delete" with the first
click of a double-click, show a drop zone once a drag starts, or let a click on harmless
text press something else (``<label for=delete>``, a link around a button). The dispatch
guard closes the gap in the page itself:

* :data:`~envs.browser.guard_js.GUARD_INIT_JS` runs in every document before any page
  script (``add_init_script``), keeps every shadow root script makes (closed ones too) and
  listens first, in the capture phase on ``window``, to every pressing pointer event
  (pointer/mouse down and up, click, auxclick, dblclick, contextmenu, drop), every key event
  and ``submit``.
* The gate's reads are *marked*: the same ``evaluate`` that reads the element also records,
  inside the guard's closure, the element it judged (the closest pressable ancestor of the
  deepest element at the point, through open and closed shadow roots, or the focused one)
  with a signature of its text and attributes and its form's default button. The token is
  secret: the API answers only calls with the env's key, which no page script can read.
* :meth:`DispatchGuard.arm` (the executor, through ``Env.arm``, after the gate allowed an
  action it read a target for) says which marks the next action may touch and how (a
  click's every event on its mark; a drag's press on its start and release on its end; keys
  on the focused element, Enter's click on the default button read with it). At dispatch
  an event whose deepest target is not inside the judged element (the element itself when
  nothing pressable was there), a press whose judged element changed since the read, a click
  inside a pressable or a ``<label>`` that presses a button the gate did not read, or a
  form submitted by another button is cancelled (``preventDefault`` and
  ``stopImmediatePropagation``, so no page handler and no default action runs).
* After the action the guard is disarmed; a cancelled event becomes a
  :class:`~agent.core.errors.TargetChangedError` (code ``target_changed``), the step's
  ``last_action_error``.

A mark inside a same-origin frame is made (and armed) by that frame's own guard; while an
action is under way, a same-origin frame the gate did not judge takes no press. Out of
reach: cross-origin frames slid under the pointer, shadow roots the parser makes closed
(declarative ``shadowrootmode=closed``), and what the page's own script does with a press
it was allowed to receive.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from agent.core.actions import Action, Drag, Key, Type
from agent.core.coords import Frame
from agent.core.errors import TargetChangedError
from envs.browser.execute import ToInput, perform
from envs.browser.guard_js import GUARD_INIT_JS

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

GUARD = "window.__nativeAgentGuard"
# One round trip: mark (the point or the focus), then the reader's own script, so both see
# the same element at the same instant.
_READ = (
    "([key, args, at]) => { const g = GUARD;"
    " const mark = !g ? null : at ? g.mark(key, at[0], at[1]) : g.markFocus(key);"
    " const info = (SCRIPT)(args); return {info, mark}; }"
).replace("GUARD", GUARD)
_ARM = f"([key, spec]) => {GUARD} ? {GUARD}.arm(key, spec) : 'no guard'"
_DISARM = f"(key) => {GUARD} ? {GUARD}.disarm(key) : null"
# A mark's key: the CSS point read (None: the focused element)
Point = tuple[float, float] | None


class DispatchGuard:
    """The env's side of the guard: installs the script, marks the gate's reads, arms the
    next action and turns what the page cancelled into an error. One per env."""

    def __init__(self) -> None:
        self._key = secrets.token_hex(16)
        self._script = GUARD_INIT_JS.replace("__KEY__", self._key)
        self._marks: dict[Point, str] = {}
        self._pending: tuple[Action, list[list[str]]] | None = None
        self._armed = False

    def install(self, context: BrowserContext) -> None:
        """Into every document of ``context`` (call before its first page)."""
        context.add_init_script(self._script)

    def read(self, page: Page, script: str, args: Any, at: Point) -> Any:
        """Evaluate a reader's ``script`` on ``args`` and mark what it reads: the element at
        CSS point ``at``, or the focused one (``at`` None). Returns the script's answer."""
        out = page.evaluate(_READ.replace("SCRIPT", script), [self._key, args, at])
        if isinstance(out, dict) and isinstance(out.get("mark"), str):
            self._marks[_key(at)] = out["mark"]
        return out.get("info") if isinstance(out, dict) else None

    def forget(self) -> None:
        """A new screen: the marks of the reads of the last one are stale."""
        self._marks.clear()

    def arm(self, action: Action, frame: Frame, to_input: ToInput) -> None:
        """The next ``_execute`` of ``action`` lands only on what the gate read for it (its
        marks, by point; nothing to arm when the gate marked nothing)."""
        spec: list[list[str]] = []

        def add(point: Point, role: str) -> None:
            css = None if point is None else tuple(map(float, to_input(point, frame)))
            token = self._marks.get(_key(css))
            if token is not None:
                spec.append([token, role])

        if isinstance(action, Drag):
            add(action.start, "start")
            add(action.end, "end")
        elif isinstance(action, Key):
            add(None, "keys")
        elif isinstance(action, Type):
            if action.point is not None:
                add(action.point, "press")
                add(action.point, "keys")
            add(None, "keys")
        elif (point := getattr(action, "point", None)) is not None:
            add(point, "press")  # a double click's second click too: on the same mark
        self._pending = (action, spec) if spec else None

    def perform(self, page: Page, action: Action, *args: Any) -> None:
        """:func:`envs.browser.execute.perform` (``args``: the rest of its arguments), armed:
        before it the guard is armed, after it disarmed, and what it cancelled raises."""
        self.before(page, action)
        try:
            perform(page, action, *args)
        finally:
            self.after(page, action)

    def before(self, page: Page, action: Action) -> None:
        """Right before the action's first event: arm the page's guard (a mark the document
        no longer knows — it navigated since the read — refuses the action)."""
        pending, self._pending = self._pending, None
        if pending is None or pending[0] is not action:
            return
        answer = page.evaluate(_ARM, [self._key, pending[1]])
        if answer != "ok":
            raise TargetChangedError(
                f"the page changed between the gate's read and the {action.type} "
                f"({answer}): nothing was pressed; observe again"
            )
        self._armed = True

    def after(self, page: Page, action: Action) -> None:
        """Disarm; events the guard cancelled become a TargetChangedError."""
        if not self._armed:
            return
        self._armed = False
        try:
            blocked = page.evaluate(_DISARM, self._key)
        except Exception:  # the action navigated away: the guard went with its document
            return
        if blocked:
            first = blocked[0]
            raise TargetChangedError(
                f"the {action.type} did not land on what the gate judged: "
                f"{first.get('why')} (its {first.get('event')} was cancelled"
                f"{f', and {len(blocked) - 1} more event(s)' if len(blocked) > 1 else ''}); "
                "observe again and retry"
            )


def _key(at: Any) -> Point:
    return None if at is None else (round(float(at[0]), 2), round(float(at[1]), 2))
