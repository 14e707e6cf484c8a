"""A TEST FAKE of a capture: :class:`ScriptedSource` replays a scripted list of raw events.

It stands in for a real capture (``envs/browser/record.py``, ``envs/desktop/record.py``)
where a test must drive the recorder without a person: each event is delivered by
``poll`` once its time (seconds after ``start``) has come, re-stamped on the monotonic
clock. ``perform`` (optional) is called with each event as it is delivered, so a test can
make the env react as it would to the real input. ``agent record`` uses it only when the
test-only variable ``NATIVE_AGENT_RECORD_SCRIPT`` names a script file (a JSON list of
RawEvent fields); it is never a way to record a person.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.core.inputs import RawEvent

SCRIPT_ENV = "NATIVE_AGENT_RECORD_SCRIPT"  # test only: a scripted event file for agent record


class ScriptedSource:
    """A fake EventSource (test only): ``events`` with ``t`` = seconds after ``start()``."""

    def __init__(
        self,
        events: Sequence[RawEvent],
        *,
        perform: Callable[[RawEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.script = sorted(events, key=lambda e: e.t)
        self.perform = perform
        self.clock = clock
        self.t0: float | None = None
        self.sent = 0
        self.stopped = False

    def start(self) -> None:
        self.t0 = self.clock()

    def poll(self) -> list[RawEvent]:
        if self.t0 is None or self.stopped:
            return []
        now = self.clock() - self.t0
        out: list[RawEvent] = []
        while self.sent < len(self.script) and self.script[self.sent].t <= now:
            ev = self.script[self.sent]
            self.sent += 1
            if self.perform is not None:
                self.perform(ev)
            out.append(replace(ev, t=self.t0 + ev.t))
        return out

    @property
    def done(self) -> bool:
        """Every scripted event has been delivered."""
        return self.sent >= len(self.script)

    def stop(self) -> None:
        self.stopped = True


def event_to_json(ev: RawEvent) -> dict[str, Any]:
    data = asdict(ev)
    data["modifiers"] = list(ev.modifiers)
    return {k: v for k, v in data.items() if v not in (None, 0.0, [])}


def event_from_json(data: dict[str, Any]) -> RawEvent:
    try:
        fields = dict(data)
        fields["modifiers"] = tuple(fields.get("modifiers") or ())
        return RawEvent(**fields)
    except TypeError as err:
        raise ConfigError(f"not a raw event ({err}): {data!r:.120}") from err


def load_script(path: str | Path) -> list[RawEvent]:
    """A script file: a JSON list of RawEvent fields (``t`` seconds after the start)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{SCRIPT_ENV}={p}: cannot read the event script: {err}") from err
    if not isinstance(data, list):
        raise ConfigError(f"{SCRIPT_ENV}={p}: the event script must be a JSON list")
    return [event_from_json(d) for d in data]
