"""Raw input events → our actions: the pure reducer every capture shares.

:func:`reduce_events` takes the time-ordered :class:`~agent.core.inputs.RawEvent` s of one
recording and returns :class:`Reduced` actions (:mod:`agent.core.actions` models), each with
the time it started and ended and the element the capture read under it (``target``: the
gold). The rules (docs/guides/recording.md, "How events become actions"):

* pointer moves are dropped (a move only shapes a drag);
* a button's down and up → ``click`` / ``right_click`` / ``middle_click`` at the down's
  point, unless the pointer went farther than ``drag_px`` from it while held: then ``drag``
  from the down to the up;
* two left clicks whose downs are within ``double_click_s`` and ``double_click_px`` →
  ``double_click`` (a third click starts afresh: it is a click of its own);
* printable key presses (a key_down whose ``text`` is a character, no ctrl/meta held) and
  ``text`` events are one ``type`` run; Backspace inside a run removes the run's last
  character (a run emptied so is dropped; a Backspace with no run open is a ``key``);
  Enter ends a run as ``type(..., enter=True)``;
* every other key — a chord with ctrl / alt / meta, a named key (Enter outside a run, Tab,
  Escape, arrows, F-keys, Delete), Shift with a named key — is one ``key`` in
  :func:`~agent.core.actions.normalize_keys` form; a modifier pressed alone is dropped;
* wheel events one after another (gaps under ``wheel_gap_s``, the same direction) → one
  ``scroll``: ``amount`` = the summed delta in notches of ``notch_px`` (the browser's
  100 px per notch), at least 1;
* a click on a field and the typing after it stay two actions (``click``, then ``type``
  without a point), as a model emits them in ``agent run``.

A ``text`` event that repeats the character of the key_down just before it (within
``echo_s``) is the same keystroke reported twice and is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.core.actions import (
    Action,
    Click,
    DoubleClick,
    Drag,
    Key,
    MiddleClick,
    RightClick,
    Scroll,
    Type,
    normalize_keys,
)
from agent.core.inputs import RawEvent

MODIFIER_KEYS = ("ctrl", "alt", "shift", "meta")  # the order a chord is written in
CHORD_MODIFIERS = frozenset({"ctrl", "alt", "meta"})
KEY_NAMES = {"+": "plus", " ": "space", "return": "enter", "esc": "escape"}


@dataclass(frozen=True)
class ReduceConfig:
    """The reducer's thresholds. Defaults: Windows' double-click time (500 ms,
    ``GetDoubleClickTime``) and rectangle (4 px, ``SM_CXDOUBLECLK``; GTK uses 400 ms and
    5 px), GTK's drag threshold (8 px, ``gtk-dnd-drag-threshold``: a hand's jitter on a
    HiDPI screen stays a click), 100 px per wheel notch (``envs/browser``'s
    ``WHEEL_NOTCH_CSS``)."""

    double_click_s: float = 0.5
    double_click_px: float = 4.0
    drag_px: float = 8.0
    wheel_gap_s: float = 0.5
    notch_px: float = 100.0
    echo_s: float = 0.1


@dataclass(frozen=True)
class Reduced:
    """One action a person did: the action, when its first and last event happened (the
    recorder's monotonic clock), what the capture read under it (``target``: tag, text, box
    in screenshot px — the gold), the raw events it folds and the modifiers held (a click
    has no field for them)."""

    action: Action
    start: float
    end: float
    target: dict[str, Any] | None = None
    events: int = 1
    modifiers: tuple[str, ...] = field(default=())


@dataclass
class _Run:
    """An open ``type`` run."""

    text: str
    start: float
    end: float
    target: dict[str, Any] | None
    events: int = 1


@dataclass
class _Press:
    """A button held down."""

    down: RawEvent
    far: float = 0.0  # farthest distance from the down point while held
    events: int = 1


def key_name(key: str) -> str:
    """A capture's key name in our form (``Return`` → ``enter``, ``+`` → ``plus``)."""
    raw = key if key in KEY_NAMES else key.strip().lower()
    return normalize_keys(KEY_NAMES.get(raw, raw)) if raw else ""


def chord(key: str, modifiers: Sequence[str]) -> str:
    """``("t", ("shift", "ctrl"))`` → ``"ctrl+shift+t"``."""
    name = key_name(key)
    held = [m for m in MODIFIER_KEYS if m in modifiers and m != name]
    return normalize_keys("+".join([*held, name]))


def _printable(ev: RawEvent) -> str | None:
    """The character(s) a key_down typed, or None when it is a key (chord or named key)."""
    if any(m in CHORD_MODIFIERS for m in ev.modifiers):
        if "alt" in ev.modifiers and not ({"ctrl", "meta"} & set(ev.modifiers)) and ev.text:
            return ev.text if ev.text.isprintable() else None  # Option/AltGr characters
        return None
    if ev.text is not None:
        return ev.text if ev.text and ev.text.isprintable() else None
    key = ev.key or ""
    if len(key) == 1 and key.isprintable():
        return key.upper() if "shift" in ev.modifiers else key
    if key_name(key) == "space":
        return " "
    return None


def _distance(a: RawEvent, b: RawEvent) -> float:
    return math.hypot((a.x or 0.0) - (b.x or 0.0), (a.y or 0.0) - (b.y or 0.0))


def _point(ev: RawEvent) -> tuple[float, float]:
    return float(ev.x or 0.0), float(ev.y or 0.0)


class _Reducer:
    def __init__(self, cfg: ReduceConfig) -> None:
        self.cfg = cfg
        self.out: list[Reduced] = []
        self.run: _Run | None = None
        self.presses: dict[str, _Press] = {}
        self.wheel: list[RawEvent] = []
        self.echo: RawEvent | None = None  # the last key_down that typed a character

    # ---- closing what is open ---------------------------------------------------------
    def close_run(self, *, enter: RawEvent | None = None) -> None:
        run, self.run = self.run, None
        if run is None:
            return
        if not run.text:  # typed and erased again: nothing left to type
            if enter is not None:
                self.emit(Key(keys="enter"), enter.t, enter.t, enter.target)
            return
        end = enter.t if enter is not None else run.end
        events = run.events + (enter is not None)
        action = Type(text=run.text, enter=enter is not None)
        self.out.append(Reduced(action, run.start, end, run.target, events))

    def close_wheel(self) -> None:
        evs, self.wheel = self.wheel, []
        if not evs:
            return
        dx, dy = sum(e.dx for e in evs), sum(e.dy for e in evs)
        vertical = abs(dy) >= abs(dx)
        total = dy if vertical else dx
        if total == 0:
            return
        direction: Literal["up", "down", "left", "right"]
        if vertical:
            direction = "down" if total > 0 else "up"
        else:
            direction = "right" if total > 0 else "left"
        amount = min(100, max(1, round(abs(total) / self.cfg.notch_px)))
        first = evs[0]
        point = _point(first) if first.x is not None and first.y is not None else None
        action = Scroll(direction=direction, amount=amount, point=point)
        self.out.append(Reduced(action, first.t, evs[-1].t, first.target, len(evs)))

    def emit(
        self,
        action: Action,
        start: float,
        end: float,
        target: dict[str, Any] | None,
        events: int = 1,
        modifiers: tuple[str, ...] = (),
    ) -> None:
        self.out.append(Reduced(action, start, end, target, events, modifiers))

    # ---- events -------------------------------------------------------------------------
    def feed(self, ev: RawEvent) -> None:
        if ev.kind != "wheel" and ev.kind != "move":
            self.close_wheel()
        handler = getattr(self, f"on_{ev.kind}", None)
        if handler is not None:
            handler(ev)

    def on_move(self, ev: RawEvent) -> None:
        if ev.x is None or ev.y is None:
            return
        for press in self.presses.values():
            press.far = max(press.far, _distance(press.down, ev))
            press.events += 1

    def on_wheel(self, ev: RawEvent) -> None:
        self.close_run()
        if self.wheel:
            last = self.wheel[-1]
            same = _direction(ev) == _direction(last) or _direction(ev) is None
            if ev.t - last.t > self.cfg.wheel_gap_s or not same:
                self.close_wheel()
        if ev.dx or ev.dy:
            self.wheel.append(ev)

    def on_down(self, ev: RawEvent) -> None:
        self.close_run()
        if ev.x is None or ev.y is None:
            return  # a press the capture could not place: nothing to point at
        self.presses[ev.button or "left"] = _Press(ev)

    def on_up(self, ev: RawEvent) -> None:
        button = ev.button or "left"
        press = self.presses.pop(button, None)
        if press is None:
            return  # released a button pressed before the recording began
        down = press.down
        if ev.x is not None and ev.y is not None:
            press.far = max(press.far, _distance(down, ev))
        events = press.events + 1
        if press.far > self.cfg.drag_px and ev.x is not None and ev.y is not None:
            drag = Drag(start=_point(down), end=_point(ev))
            self.emit(drag, down.t, ev.t, down.target, events, down.modifiers)
            return
        if button == "right":
            self.emit(RightClick(point=_point(down)), down.t, ev.t, down.target, events)
        elif button == "middle":
            self.emit(MiddleClick(point=_point(down)), down.t, ev.t, down.target, events)
        else:
            self.left_click(down, ev, events)

    def left_click(self, down: RawEvent, up: RawEvent, events: int) -> None:
        prev = self.out[-1] if self.out else None
        if (
            prev is not None
            and isinstance(prev.action, Click)
            and prev.modifiers == down.modifiers
            and down.t - prev.start <= self.cfg.double_click_s
            and math.dist(prev.action.point, _point(down)) <= self.cfg.double_click_px
        ):
            self.out[-1] = Reduced(
                DoubleClick(point=prev.action.point),
                prev.start,
                up.t,
                prev.target,
                prev.events + events,
                prev.modifiers,
            )
            return
        self.emit(Click(point=_point(down)), down.t, up.t, down.target, events, down.modifiers)

    def on_key_down(self, ev: RawEvent) -> None:
        name = key_name(ev.key or "")
        if name in MODIFIER_KEYS:
            return  # a modifier alone presses nothing; it shows in the next key's modifiers
        chars = _printable(ev)
        if chars is not None:
            self.echo = ev
            self.type(chars, ev)
            return
        self.echo = None
        plain = not (set(ev.modifiers) & set(MODIFIER_KEYS))
        if plain and name == "backspace" and self.run is not None and self.run.text:
            self.run.text = self.run.text[:-1]
            self.run.end, self.run.events = ev.t, self.run.events + 1
            return
        if plain and name == "enter" and self.run is not None:
            self.close_run(enter=ev)
            return
        self.close_run()
        if not name:
            return  # a key the capture could not name
        keys = chord(ev.key or "", ev.modifiers)
        self.emit(Key(keys=keys), ev.t, ev.t, ev.target, 1, ev.modifiers)

    def on_text(self, ev: RawEvent) -> None:
        text = ev.text or ""
        echo, self.echo = self.echo, None
        if echo is not None and echo.text == text and ev.t - echo.t <= self.cfg.echo_s:
            return  # the keystroke just typed, reported again as committed text
        if text and text.isprintable():
            self.type(text, ev)

    def type(self, chars: str, ev: RawEvent) -> None:
        if self.run is None:
            self.run = _Run(chars, ev.t, ev.t, ev.target)
        else:
            self.run.text += chars
            self.run.end, self.run.events = ev.t, self.run.events + 1
            if self.run.target is None:
                self.run.target = ev.target

    def finish(self) -> list[Reduced]:
        self.close_wheel()
        self.close_run()
        self.presses.clear()  # a button still held when recording stopped: never released
        return sorted(self.out, key=lambda r: r.start)


def _direction(ev: RawEvent) -> str | None:
    if not (ev.dx or ev.dy):
        return None
    if abs(ev.dy) >= abs(ev.dx):
        return "down" if ev.dy > 0 else "up"
    return "right" if ev.dx > 0 else "left"


def reduce_events(events: Sequence[RawEvent], config: ReduceConfig | None = None) -> list[Reduced]:
    """The actions a person did, from their raw events (sorted by time first; the sort is
    stable, so events of one instant keep their capture order). Pure: the same events
    always give the same actions. See the module docstring for the rules."""
    reducer = _Reducer(config or ReduceConfig())
    for ev in sorted(events, key=lambda e: e.t):
        reducer.feed(ev)
    return reducer.finish()
