"""The raw input events a recorder captures, before they are reduced to actions.

Every capture (the browser's listeners in ``envs/browser/record.py``, the X server's input
events in ``envs/desktop/record.py``) produces :class:`RawEvent` s in one shape, so one
reducer (:mod:`agent.record.reduce`) turns any of them into our actions. Coordinates are
screenshot px of the env's screen (for the browser: CSS px × the device scale factor, as a
screenshot is); times are seconds on the recorder's monotonic clock (:func:`time.monotonic`),
so an action can be paired with the last screenshot taken before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

EventKind = Literal["down", "up", "move", "wheel", "key_down", "key_up", "text"]
Button = Literal["left", "right", "middle"]


@dataclass(frozen=True)
class RawEvent:
    """One input event as captured. ``key`` is our key name (``enter``, ``shift``, ``a``;
    :mod:`agent.core.actions` key names) for key events; ``text`` is the character(s) a key
    produced (``kind="text"``: committed text, e.g. from an input method); ``dx``/``dy`` the
    wheel delta in px (positive: right / down); ``modifiers`` those held (``ctrl``, ``shift``,
    ``alt``, ``meta``); ``target`` what the env could read about the element under the event
    (browser: tag, text, box in screenshot px), recorded as gold where present."""

    t: float
    kind: EventKind
    x: float | None = None
    y: float | None = None
    button: Button | None = None
    key: str | None = None
    text: str | None = None
    dx: float = 0.0
    dy: float = 0.0
    modifiers: tuple[str, ...] = ()
    target: dict[str, Any] | None = field(default=None, compare=False)


class EventSource(Protocol):
    """A live capture: ``start`` before the person acts, ``poll`` returns the events that
    arrived since the last poll (in time order), ``stop`` releases the capture."""

    def start(self) -> None: ...

    def poll(self) -> list[RawEvent]: ...

    def stop(self) -> None: ...
