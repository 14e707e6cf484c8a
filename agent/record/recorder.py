"""Recording a person: a live capture + screenshots → an episode in ``agent run``'s format.

:func:`record` starts the env's capture (an :class:`~agent.core.inputs.EventSource`), takes
a screenshot every ``interval`` seconds and once the input has been quiet for ``settle``
seconds after a burst, each stamped with :func:`time.monotonic` *after* the capture returned
(the pixels are no newer than the stamp). When the recording stops — ``seconds`` elapsed,
``stop`` set, SIGINT / SIGTERM (KeyboardInterrupt / Interrupted), or the capture failing —
the events are reduced to actions (:mod:`agent.record.reduce`) and each action is paired
with the LAST screenshot stamped strictly before the action's first event: the screen the
person saw, never one showing the action's effect.

Every action becomes one step line as ``agent run`` writes it (:mod:`agent.episode.steps`):
the action as executed (``result`` with no error), its ``input`` points, the gate's
``gate`` verdict, ``gold`` (the action and, where the capture read it, the element's box),
plus ``recorded`` (its times on the recording's clock, the screenshot's stamp, the events
folded). The screenshot is masked and every string scrubbed of ``secrets`` as in ``agent
run``; text typed into a password field is recorded as ``{{secret:password}}``. Nothing
passes a model, and the gate never stands in a person's way: its verdict is what it would
say to an unattended agent (``enforced: false``; ``asks: true`` where the policy would ask a
person). The episode ends with a ``finish`` step on the last screenshot (``finish=False``:
none) and the outcome ``recorded``; episode.json is written before the capture starts, so
even a killed recorder leaves a readable episode.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.core.actions import Action, Finish, Type, dump_action
from agent.core.env import Env, Feature
from agent.core.errors import EnvClosedError, EnvError, Interrupted, describe_error
from agent.core.inputs import EventSource, RawEvent
from agent.core.observation import Observation
from agent.episode.executor import input_points
from agent.episode.recording import Episode, EpisodeWriter, load_episode
from agent.episode.runner import env_record, gate_meta
from agent.evaluation.gold import gold_entry
from agent.record.reduce import ReduceConfig, Reduced, reduce_events
from agent.safety.gate import ConfirmRequest, Decision, Gate, PolicyGate
from agent.safety.masking import mask_and_scrub, privacy_request
from agent.safety.policy import Policy
from agent.safety.secrets import Secrets, placeholder
from agent.safety.targets import TargetReader

STATUS = "recorded"
POLL_S = 0.05  # how often the capture is polled
LATE_S = 2.0  # a capture may deliver an event this late: screenshots are kept that long
PASSWORD = "password"  # the placeholder name of text typed into a password field


@dataclass(frozen=True)
class Shot:
    """A screenshot and its stamp (monotonic seconds, taken after the capture returned)."""

    t: float
    obs: Observation


@dataclass(frozen=True)
class Progress:
    """What ``on_progress`` is told while recording."""

    seconds: float
    events: int
    actions: int
    screenshots: int


def pair(shots: list[Shot], start: float) -> Shot | None:
    """The last screenshot stamped strictly before ``start`` (None: none was)."""
    i = bisect.bisect_left([s.t for s in shots], start)
    return shots[i - 1] if i > 0 else None


class _AsSeen(Env):
    """The env as the capture read it when the person acted: ELEMENT_AT / FOCUS_TARGET
    answer with the element the event's ``target`` names (so the gate judges what was
    there then, not what the page shows when the recording ends); with no target nothing
    is offered and the gate's reader reads the paired screenshot's pixels."""

    def __init__(self, env: Env, target: dict[str, Any] | None) -> None:
        super().__init__()
        self.name = env.name  # type: ignore[misc]
        self.target = target
        self.features = (  # type: ignore[misc]
            frozenset({Feature.ELEMENT_AT, Feature.FOCUS_TARGET}) if target else frozenset()
        )

    def element_at(self, point: Any, frame: Any = None) -> dict[str, Any] | None:
        return self.target

    def focus_target(self, point: Any, frame: Any = None) -> dict[str, Any] | None:
        return self.target

    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        raise EnvError("a recorded view of the env cannot be reset")

    def _capture(self) -> Observation:
        raise EnvError("a recorded view of the env cannot capture")

    def _execute(self, action: Action, frame: Any) -> None:
        raise EnvError("a recorded view of the env executes nothing")


def recording_gate(policy: Policy | None = None) -> PolicyGate:
    """The gate whose verdicts a recording keeps: the policy's, with nobody asked (what
    the policy would ask about is denied, as for an unattended agent), no dispatch guard."""
    return PolicyGate(policy, confirm=_nobody, dispatch_guard=False)


def _nobody(request: ConfirmRequest) -> bool:
    return False


def _verdict(gate: Gate, action: Action, env: Env, obs: Observation, target: Any) -> dict:
    try:
        decision = gate.check(action, _AsSeen(env, target), obs)
    except Exception as err:  # recorded, never in the way
        decision = Decision("deny", "gate-error", describe_error(err)["error"][:300])
    out: dict[str, Any] = {**decision.to_json(), "enforced": False}
    if decision.confirmation is not None:
        out.pop("confirmation")
        out["asks"] = True
    return out


@contextlib.contextmanager
def _deferred_signals() -> Iterator[None]:
    """SIGINT / SIGTERM ignored while the episode is written (a second Ctrl-C must not cut
    the writing short); only possible in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class _Shots:
    """The screenshots taken, pruned to those an action can be paired with."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.kept: list[Shot] = []
        self.taken = 0

    def take(self) -> Shot:
        obs = self.env.observe()
        shot = Shot(time.monotonic(), obs)
        self.kept.append(shot)
        self.taken += 1
        return shot

    def prune(self, times: list[float], now: float) -> None:
        """Drop a screenshot no event falls after (before the next one): it can be the
        last one before no action. The first and the last are kept; those newer than
        ``LATE_S`` wait for events a capture may still deliver."""
        keep = [self.kept[0]] if self.kept else []
        for a, b in zip(self.kept[1:-1], self.kept[2:], strict=True):
            if b.t > now - LATE_S:
                keep.append(a)
                continue
            i = bisect.bisect_right(times, a.t)
            if i < len(times) and times[i] <= b.t:
                keep.append(a)
        if len(self.kept) > 1:
            keep.append(self.kept[-1])
        self.kept = keep


def record(
    env: Env,
    source: EventSource,
    out: str | Path,
    *,
    task: str,
    seconds: float | None = None,
    interval: float = 1.0,
    settle: float = 0.3,
    url: str | None = None,
    reset: bool = True,
    gate: Gate | None = None,
    secrets: Secrets | None = None,
    config: ReduceConfig | None = None,
    finish: bool = True,
    stop: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Episode:
    """Record a person using ``env`` through the capture ``source`` into the episode
    directory ``out``; returns the episode read back. See the module docstring."""
    sec = secrets if secrets is not None else Secrets()
    the_gate = gate if gate is not None else recording_gate()
    env.set_privacy(privacy_request(sec))
    obs = env.reset(url=url) if reset else env.observe()
    meta = {
        "task": {"goal": task, "id": None},
        "env": {**env_record(env), "url": url or obs.url},
        "model": {"name": "person", "recorded": True},
        "gate": {**gate_meta(the_gate), "enforced": False},
        "secrets": sec.describe(),
        "gold": {"source": "person"},
        "record": {"interval": interval, "settle": settle, "seconds": seconds},
    }
    writer = EpisodeWriter(out, meta, scrub=sec.scrub)
    shots = _Shots(env)
    events: list[RawEvent] = []
    stopped_by, error = "seconds" if seconds is not None else "stop", None
    t0 = time.monotonic()
    try:
        shots.take()
        source.start()
        stopped_by, error = _capture(source, shots, events, t0, seconds, interval, settle, stop,
                                     config, on_progress)  # fmt: skip
    except (KeyboardInterrupt, Interrupted):
        stopped_by = "interrupt"
    except EnvClosedError:  # the person closed the program: the recording ends there
        stopped_by = "env_closed"
    except Exception as err:
        stopped_by, error = "error", err
    with _deferred_signals():
        with contextlib.suppress(Exception):
            events += source.poll()
        with contextlib.suppress(Exception):
            source.stop()
        try:
            shots.take()  # the screen when the recording stopped (the finish step's)
        except EnvClosedError:
            pass  # the last screenshot taken stands for the end
        except Exception as err:
            error = error or err
        _write(writer, env, the_gate, sec, shots.kept, events, t0, config, finish, stopped_by,
               error, shots.taken)  # fmt: skip
    return load_episode(out)


def _capture(
    source: EventSource,
    shots: _Shots,
    events: list[RawEvent],
    t0: float,
    seconds: float | None,
    interval: float,
    settle: float,
    stop: threading.Event | None,
    config: ReduceConfig | None,
    on_progress: Callable[[Progress], None] | None,
) -> tuple[str, BaseException | None]:
    """The recording loop; returns why it stopped."""
    quiet_since: float | None = None  # input arrived and no screenshot since
    told = 0.0
    while True:
        got = source.poll()
        now = time.monotonic()
        if got:
            events.extend(got)
            quiet_since = now
        if quiet_since is not None and now - quiet_since >= settle:
            shots.take()
            quiet_since = None
        elif now - shots.kept[-1].t >= interval:
            shots.take()
            shots.prune(sorted(e.t for e in events), time.monotonic())
        if on_progress is not None and now - told >= 0.5:
            told = now
            n = len(reduce_events(events, config))
            on_progress(Progress(now - t0, len(events), n, shots.taken))
        if stop is not None and stop.is_set():
            return "stop", None
        if seconds is not None and now - t0 >= seconds:
            return "seconds", None
        time.sleep(POLL_S)


def _write(
    writer: EpisodeWriter,
    env: Env,
    gate: Gate,
    sec: Secrets,
    shots: list[Shot],
    events: list[RawEvent],
    t0: float,
    config: ReduceConfig | None,
    finish: bool,
    stopped_by: str,
    error: BaseException | None,
    taken: int,
) -> None:
    """Reduce, pair, judge and write every step; always ends with an outcome."""
    reader = getattr(gate, "reader", None) or TargetReader()
    n_actions = unpaired = 0
    try:
        reduced = reduce_events(events, config)
        n_actions = len(reduced)
        wall0 = time.time() - (time.monotonic() - t0)
        for r in reduced:
            shot = pair(shots, r.start)
            if shot is None:  # before the first screenshot (cannot happen: one is taken first)
                unpaired += 1
                continue
            _step(writer, env, gate, sec, reader, shot, r, t0, wall0)
        if finish and shots:  # the last screenshot was taken after every event
            last = Reduced(Finish(status="success"), shots[-1].t + 1e-6, shots[-1].t + 1e-6)
            _step(writer, env, gate, sec, reader, shots[-1], last, t0, wall0, synthetic=True)
    except Exception as err:
        error = error or err
    outcome: dict[str, Any] = {
        "status": STATUS,
        "steps": writer.n_steps,
        "stopped_by": stopped_by,
        "events": len(events),
        "actions": n_actions,
        "screenshots": taken,
        "seconds": round(time.monotonic() - t0, 3),
    }
    if unpaired:
        outcome["unpaired"] = unpaired
    if error is not None:
        outcome.update(describe_error(error), error_type=type(error).__name__)
    writer.finish(outcome)


def _step(
    writer: EpisodeWriter,
    env: Env,
    gate: Gate,
    sec: Secrets,
    reader: TargetReader,
    shot: Shot,
    r: Reduced,
    t0: float,
    wall0: float,
    *,
    synthetic: bool = False,
) -> None:
    i = writer.n_steps
    obs = mask_and_scrub(shot.obs, sec, reader)
    action = r.action
    target = r.target
    # nothing of a password field's content is kept (``password``: an element read;
    # ``secret``: the browser capture's mark on a password field's keys, typed as "•")
    if target and (target.get("password") or target.get("secret")):
        target = {k: v for k, v in target.items() if k not in ("text", "value")}
        if isinstance(action, Type):
            action = action.model_copy(update={"text": placeholder(PASSWORD)})
            names = writer.meta["secrets"].setdefault("names", [])
            if PASSWORD not in names:
                names.append(PASSWORD)
    rec: dict[str, Any] = {
        "action": dump_action(action),
        "input": input_points(action, env, obs),
        "gate": _verdict(gate, action, env, obs, target),
        "result": {"terminated": isinstance(action, Finish), "truncated": False},
    }
    box = target.get("box") if isinstance(target, dict) else None
    boxes = [list(map(float, box))] if isinstance(box, (list, tuple)) and len(box) == 4 else []
    line: dict[str, Any] = {
        "index": i,
        "started_at": wall0 + (r.start - t0),
        "ended_at": wall0 + (r.end - t0),
        "observation": obs.meta(),
        "screenshot": writer.save_screenshot(i, obs),
        "frame": obs.frame(convention="screen").model_dump(),
        "raw": json.dumps(rec["action"]),
        "actions": [rec],
        "gold": gold_entry(rec["action"], boxes=boxes, source="person"),
        "recorded": {
            "start": round(r.start - t0, 6),
            "end": round(r.end - t0, 6),
            "screenshot_t": round(shot.t - t0, 6),
            "events": r.events,
            **({"modifiers": list(r.modifiers)} if r.modifiers else {}),
            **({"target": target} if target else {}),
            **({"synthetic": True} if synthetic else {}),
        },
    }
    writer.write_step(line)
