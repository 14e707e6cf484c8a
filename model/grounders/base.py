"""The described-target grounder protocol: a description in words → one point, or an
explicit failure that never becomes a point.

Planners write *what* to press ("the Search button", ``"Search"``); a grounder finds *where*
in the observation the loop acts on. ``ground`` answers a :class:`Grounded` (screen px, with
everything the step records: the grounder's prompt and raw answer, its model-space point,
the crop it read) or a :class:`GroundingFailure` — never a guessed point such as (0, 0).
``region`` (screen px ``x1, y1, x2, y2``) asks the grounder to read only that part of the
screen (zoom); coordinates in the answer are always full-screen px.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from agent.core.observation import Observation

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in screen px
Point = tuple[float, float]


@dataclass(frozen=True)
class Grounded:
    """Where ``description`` is: ``point`` (and ``box`` when known) in screen px."""

    point: Point
    description: str
    box: Box | None = None
    grounder: str = ""  # which grounder answered (its describe()["name"] or spec)
    prompt: str | None = None  # what it was asked (model grounders)
    raw: str | None = None  # its raw answer
    model_point: tuple[float, ...] | None = None  # the answer in the model's own space
    crop: Box | None = None  # the region it read, screen px (None: the whole screen)
    latency_s: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    # how zoom got here (model/grounders/zoom.py): mode, the first pass, samples, spread,
    # fallback; None when no zoom grounder was involved
    zoom: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, **{k: v for k, v in asdict(self).items() if v not in (None, {})}}


@dataclass(frozen=True)
class GroundingFailure:
    """``description`` was not found (or the answer did not parse): nothing is pressed."""

    description: str
    reason: str
    grounder: str = ""
    prompt: str | None = None
    raw: str | None = None
    crop: Box | None = None
    latency_s: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    zoom: dict[str, Any] | None = None  # as Grounded.zoom

    def to_json(self) -> dict[str, Any]:
        return {"ok": False, **{k: v for k, v in asdict(self).items() if v not in (None, {})}}


@runtime_checkable
class DescriptionGrounder(Protocol):
    """Anything that turns a description into a point on an observation."""

    name: str

    def ground(
        self, observation: Observation, description: str, region: Box | None = None
    ) -> Grounded | GroundingFailure: ...
