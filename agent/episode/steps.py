"""One typed reader of step lines: ``steps.jsonl`` line → :class:`StepRecord`.

The viewer, offline eval, live replay and resume all ask the same questions of a recorded
step — which actions ran, where the env acted, what went wrong — so the answers are defined
once, here:

* an action **ran** (was executed) when its record has a ``result`` that did not truncate
  the episode. A gate-denied action, or one whose secret placeholder was unknown, never
  reached the env (it has an ``error`` and no ``result``); an action cut by a dying env (or
  in flight at a SIGKILL) was never recorded as done.
* the **executed actions** of a step are the actions that ran, in order; a terminal one
  (``finish`` / ``call_user``) ran too, but changes nothing on screen, so a state-restoring
  fast-forward (:meth:`StepRecord.state_actions`) leaves it out.
* the **executed point** of a step is where the env acted for its first executed action
  that acts at a point: the recorded input-unit point mapped back to screenshot px through
  :mod:`agent.core.coords` (so rounding and clamping show); when the line has no input
  point (a hand-written or converted episode), the action's own ``point`` / ``start``.
* a step is **complete** unless one of its actions truncated the episode (that step is
  asked again on resume).

The records keep the raw line (:attr:`StepRecord.line`) for fields this module does not type.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.core.actions import TERMINAL_TYPES
from agent.core.coords import Frame, input_to_screen
from agent.core.errors import RecordingError
from agent.episode.bounds import resolve

Point = tuple[float, float]

# Per-phase timings of a step line (seconds); they partition ``step_s`` up to the loop's
# own bookkeeping. capture/decode/settle are the env's (reported on the observation it
# captured during this step's action), the rest the loop's.
PHASES = (
    "capture_s",
    "decode_s",
    "mask_s",
    "model_s",
    "parse_s",
    "gate_s",
    "execute_s",
    "settle_s",
    "record_s",
)


def anchor(action: dict[str, Any] | None) -> Point | None:
    """The point an action acts at: ``point``, else ``start``, else its box centre."""
    if not action:
        return None
    for name in ("point", "start"):
        if action.get(name) is not None:
            return float(action[name][0]), float(action[name][1])
    if action.get("box") is not None:
        x1, y1, x2, y2 = action["box"]
        return (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return None


@dataclass(frozen=True)
class ActionRecord:
    """One action of a step line: what the model asked, what the gate said, what happened."""

    action: dict[str, Any]
    input: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None  # why it never ran (gate denial, unknown secret)
    zoom: dict[str, Any] | None = None  # a zoom's crop (the loop read it next; no env ran it)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActionRecord:
        if not isinstance(data, dict) or not isinstance(data.get("action"), dict):
            raise ValueError(f"an action record needs an 'action' object, got {data!r:.120}")
        return cls(
            action=data["action"],
            input=data.get("input") or {},
            gate=data.get("gate"),
            result=data.get("result"),
            error=data.get("error"),
            zoom=data.get("zoom") if isinstance(data.get("zoom"), dict) else None,
        )

    @property
    def type(self) -> str:
        return str(self.action.get("type", ""))

    @property
    def ran(self) -> bool:
        """Executed: it has a result that did not truncate the episode."""
        return self.result is not None and not self.result.get("truncated")

    @property
    def truncated(self) -> bool:
        return self.result is not None and bool(self.result.get("truncated"))

    @property
    def denied(self) -> bool:
        return (self.gate or {}).get("verdict") == "deny"

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_TYPES

    @property
    def failure(self) -> str | None:
        """What went wrong: why it never ran, or the error it ran into."""
        return self.error or (self.result or {}).get("error")

    def point(self, frame: Frame | None) -> Point | None:
        """Screenshot px where the env acted (see the module docstring), None when this
        action acts at no point or could not be mapped to one."""
        inp = self.input.get("point") or self.input.get("start")
        if inp is not None and frame is not None:
            try:
                return input_to_screen(frame, float(inp[0]), float(inp[1]))
            except (TypeError, ValueError, IndexError):
                return None
        if "error" in self.input:  # the point was refused on the way to input units
            return None
        return anchor({k: v for k, v in self.action.items() if k != "box"})


@dataclass(frozen=True)
class StepRecord:
    """One step line, typed."""

    index: int
    actions: tuple[ActionRecord, ...]
    frame: Frame | None
    observation: dict[str, Any]
    screenshot: str
    raw: str = ""
    thought: str | None = None
    attempts: tuple[dict[str, Any], ...] = ()
    error: str | None = None  # a step-level error (the output could not be parsed)
    timings: dict[str, float] = field(default_factory=dict)
    gold: dict[str, Any] | None = None
    check: dict[str, Any] | None = None  # the step check (agent.episode.checks)
    guard: dict[str, Any] | None = None  # the loop guard's counts and nudges
    checker: dict[str, Any] | None = None  # the optional model check (agent.episode.checker)
    zoomed: dict[str, Any] | None = None  # the crop this step's model read (a zoom before)
    endpoint: dict[str, Any] | None = None  # the server that answered (url, failed)
    line: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> StepRecord:
        """A step line as written by the loop (or a converter); RecordingError when it is
        not one."""
        try:
            index = int(line["index"])
            actions = tuple(ActionRecord.from_json(a) for a in line.get("actions") or [])
        except (KeyError, TypeError, ValueError) as err:
            raise RecordingError(f"not a step line ({err}): {str(line)[:160]}") from err
        frame = None
        if isinstance(line.get("frame"), dict):
            try:
                frame = Frame.model_validate(line["frame"])
            except ValueError:
                frame = None
        timings = {k: float(v) for k, v in (line.get("timings") or {}).items() if _is_number(v)}
        return cls(
            index=index,
            actions=actions,
            frame=frame,
            observation=line.get("observation") or {},
            screenshot=line.get("screenshot") or f"{index:04d}.png",
            raw=line.get("raw") or "",
            thought=line.get("thought"),
            attempts=tuple(line.get("attempts") or ()),
            error=line.get("error"),
            timings=timings,
            gold=line.get("gold") if isinstance(line.get("gold"), dict) else None,
            check=line.get("check") if isinstance(line.get("check"), dict) else None,
            guard=line.get("guard") if isinstance(line.get("guard"), dict) else None,
            checker=line.get("checker") if isinstance(line.get("checker"), dict) else None,
            zoomed=line.get("zoomed") if isinstance(line.get("zoomed"), dict) else None,
            endpoint=line.get("endpoint") if isinstance(line.get("endpoint"), dict) else None,
            line=line,
        )

    @property
    def executed(self) -> list[ActionRecord]:
        """The actions that ran, in order (terminal ones included)."""
        return [a for a in self.actions if a.ran]

    def executed_actions(self) -> list[dict[str, Any]]:
        return [a.action for a in self.executed]

    def state_actions(self) -> list[dict[str, Any]]:
        """The executed actions that changed the app (a resume re-executes these)."""
        return [a.action for a in self.executed if not a.terminal]

    @property
    def executed_point(self) -> Point | None:
        for rec in self.executed:
            p = rec.point(self.frame)
            if p is not None:
                return p
        return None

    @property
    def predicted_point(self) -> Point | None:
        """Where the model's first action of the turn points (executed or not)."""
        if not self.actions:
            return None
        return anchor({k: v for k, v in self.actions[0].action.items() if k != "box"})

    @property
    def complete(self) -> bool:
        """False when an action was cut by a dying env (a resume asks the model again)."""
        return not any(a.truncated for a in self.actions)

    @property
    def model_calls(self) -> int:
        """Model outputs this step used (retries included)."""
        return len(self.attempts) or 1

    @property
    def first_error(self) -> str | None:
        errors = [self.error, self.observation.get("last_action_error")]
        errors += [a.failure for a in self.actions]
        return next((e for e in errors if e), None)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.observation.get("width", 0)), int(self.observation.get("height", 0))

    def phases(self) -> dict[str, float]:
        """The per-phase timings (seconds) this line carries, in :data:`PHASES` order."""
        return {k: self.timings[k] for k in PHASES if k in self.timings}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def records(lines: Iterable[dict[str, Any]]) -> list[StepRecord]:
    """Step lines (dicts, as :func:`agent.episode.recording.load_episode` returns them)."""
    return [StepRecord.from_json(line) for line in lines]


def read_steps(path: str | Path) -> list[StepRecord]:
    """``steps.jsonl`` (or an episode directory) → records, each cut string restored from
    its attachment (:mod:`agent.episode.bounds`); a torn last line (a crash mid write) is
    skipped with a warning, a corrupt line elsewhere is a RecordingError."""
    p = Path(path)
    if p.is_dir():
        p = p / "steps.jsonl"
    if not p.exists():
        return []
    lines = parse_step_lines(p.read_bytes(), p)[0]
    return records(resolve(line, p.parent, f" ({p.name}:{n + 1})") for n, line in enumerate(lines))


MAX_JSON_DEPTH = 64  # a real step line nests about 6 deep; deeper is a hostile recording


def json_depth(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep ``raw``'s arrays and objects nest (counted up to ``limit`` + 1): a linear
    scan outside strings, so a line nested 200,000 deep costs no recursion."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = top = 0
    in_str = escaped = False
    for c in text:
        if in_str:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
            if depth > top:
                top = depth
                if top > limit:
                    return top
        elif c in "]}":
            depth -= 1
    return top


def loads_bounded(raw: bytes | str, source: Path | str) -> Any:
    """``json.loads`` for a recording: nesting deeper than :data:`MAX_JSON_DEPTH` is a
    RecordingError, not a RecursionError (JSON is data: a reader never crashes on it); bytes
    that are not UTF-8 inside a string are read as U+FFFD (the rest of the line still
    counts)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if json_depth(text) > MAX_JSON_DEPTH:
        raise RecordingError(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(text)


def parse_step_lines(
    data: bytes, source: Path | str = "steps.jsonl"
) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of a steps.jsonl body and how many torn last lines were skipped."""
    lines = data.split(b"\n")
    out: list[dict[str, Any]] = []
    torn = 0
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            out.append(loads_bounded(raw, f"{source}:{n}"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecordingError) as err:
            if n >= len(lines) - 1:
                torn += 1
                warnings.warn(
                    f"{source}: skipped a torn last line ({len(raw)} bytes)", stacklevel=3
                )
            else:
                raise RecordingError(f"{source}:{n} is corrupt: {err}") from err
    return out, torn
