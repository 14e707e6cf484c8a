"""``scripted:FILE`` — a FAKE grounder that replays recorded answers (tests and demos only).

FILE is JSON, either a list of answers consumed in order, one per ``ground`` call::

    [{"point": [640, 360]}, {"box": [10, 20, 110, 60]}, {"fail": "not on this page"}]

or a mapping description → answer (each description answers the same way every time)::

    {"the Search button": {"point": [640, 360]}, "From": {"box": [10, 20, 110, 60]}}

Points and boxes are screen px of the full screenshot; the screen is never looked at. When the
list runs out, or a description is not in the mapping, the answer is a
:class:`~model.grounders.base.GroundingFailure`, never a point.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError
from agent.core.observation import Observation
from model.grounders.base import Box, Grounded, GroundingFailure

_KEYS = ("point", "box", "fail")
_FORM = (
    'a list of answers [{"point": [x, y]} | {"box": [x1, y1, x2, y2]} | {"fail": "reason"}, '
    "...] or a mapping {description: answer}"
)


def _numbers(value: Any, n: int, where: str) -> tuple[float, ...]:
    ok = isinstance(value, list) and len(value) == n
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    if not ok or not all(math.isfinite(v) for v in value):
        raise ConfigError(f"{where}: expected {n} finite numbers, got {value!r}")
    return tuple(float(v) for v in value)


def _answer(value: Any, where: str) -> dict[str, Any]:
    """One answer, checked: exactly one of point / box / fail."""
    if not isinstance(value, dict) or len([k for k in _KEYS if k in value]) != 1:
        raise ConfigError(f"{where}: an answer is one of point, box or fail; got {value!r}")
    extra = sorted(set(value) - set(_KEYS))
    if extra:
        raise ConfigError(f"{where}: unknown keys {', '.join(extra)} (known: point, box, fail)")
    if "point" in value:
        return {"point": _numbers(value["point"], 2, f"{where}.point")}
    if "box" in value:
        x1, y1, x2, y2 = _numbers(value["box"], 4, f"{where}.box")
        if x2 < x1 or y2 < y1:
            raise ConfigError(f"{where}.box: x2 ≥ x1 and y2 ≥ y1 needed, got {value['box']!r}")
        return {"box": (x1, y1, x2, y2)}
    if not isinstance(value["fail"], str) or not value["fail"]:
        raise ConfigError(f"{where}.fail: a non-empty reason string is needed")
    return {"fail": value["fail"]}


class ScriptedGrounder:
    """A FAKE :class:`~model.grounders.base.DescriptionGrounder`: replays ``answers`` in
    order (a list) or by description (a mapping); ignores the screen."""

    def __init__(
        self,
        answers: list[dict[str, Any]] | dict[str, dict[str, Any]],
        *,
        source: str | None = None,
    ) -> None:
        self.source = source
        self.name = f"scripted:{source}" if source else "scripted"
        self.ordered: list[dict[str, Any]] | None = None
        self.mapping: dict[str, dict[str, Any]] | None = None
        if isinstance(answers, list):
            self.ordered = [_answer(a, f"answer {i}") for i, a in enumerate(answers)]
        elif isinstance(answers, dict):
            self.mapping = {str(k): _answer(v, f"answer {k!r}") for k, v in answers.items()}
        else:
            raise ConfigError(f"scripted grounder: expected {_FORM}")
        self._i = 0
        self.seen: list[tuple[str, Box | None]] = []  # (description, region) per call

    def _next(self, description: str) -> dict[str, Any] | str:
        if self.mapping is not None:
            return self.mapping.get(description) or f"no scripted answer for {description!r}"
        assert self.ordered is not None
        if self._i >= len(self.ordered):
            return f"script exhausted after {len(self.ordered)} answers"
        self._i += 1
        return self.ordered[self._i - 1]

    def ground(
        self, observation: Observation, description: str, region: Box | None = None
    ) -> Grounded | GroundingFailure:
        t0 = time.perf_counter()
        self.seen.append((description, region))
        ans = self._next(description)
        raw = json.dumps(ans) if isinstance(ans, dict) else None
        common: dict[str, Any] = {"grounder": self.name, "raw": raw, "crop": region}
        if isinstance(ans, str) or "fail" in ans:
            reason = ans if isinstance(ans, str) else ans["fail"]
            return GroundingFailure(
                description, reason, latency_s=time.perf_counter() - t0, **common
            )
        box: Box | None = ans.get("box")
        if box is not None:
            x1, y1, x2, y2 = box
            point = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
        else:
            point = ans["point"]
        w, h = observation.size
        if not (0 <= point[0] <= w and 0 <= point[1] <= h):
            return GroundingFailure(
                description,
                f"scripted point ({point[0]:g}, {point[1]:g}) is off the {w}x{h} screen",
                latency_s=time.perf_counter() - t0,
                **common,
            )
        return Grounded(point, description, box=box, latency_s=time.perf_counter() - t0, **common)

    def describe(self) -> dict[str, Any]:
        n = len(self.ordered) if self.ordered is not None else len(self.mapping or {})
        return {"name": self.name, "fake": True, "answers": n}


def load_scripted_grounder(path: str, **settings: Any) -> ScriptedGrounder:
    """The fake grounder of ``scripted:FILE`` (see the module doc for FILE)."""
    if settings:
        raise ConfigError(
            f"the scripted grounder takes no settings (got {', '.join(sorted(settings))})"
        )
    if not path:
        raise ConfigError("scripted grounder needs a file: --grounder scripted:FILE")
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"scripted grounder file not found: {p}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"scripted grounder file {p} cannot be read: {err}") from err
    except json.JSONDecodeError as err:
        raise ConfigError(f"scripted grounder file {p} is not valid JSON: {err}") from err
    if not isinstance(data, list | dict):
        raise ConfigError(f"scripted grounder file {p}: expected {_FORM}")
    try:
        return ScriptedGrounder(data, source=str(p))
    except ConfigError as err:
        raise ConfigError(f"scripted grounder file {p}: {err}") from err
