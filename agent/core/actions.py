"""The action schema: frozen pydantic models, one discriminated union on ``type``.

Its JSON Schema (``agent schema``) is the contract with models and users. Every point is in
**screenshot pixels** (floats; rounding happens once, when an env converts to input units).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in screenshot pixels


def _finite(values: tuple[float, ...]) -> tuple[float, ...]:
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"coordinates must be finite numbers, got {values}")
    return values


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Pointer(_Action):
    """An action at one point; ``box`` is the element box it was grounded from, if any."""

    point: Point
    box: Box | None = None
    target: str | None = Field(default=None, description="What the model said it points at.")

    @field_validator("point", "box")
    @classmethod
    def _check(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is None:
            return v
        v = _finite(v)
        if len(v) == 4 and (v[2] < v[0] or v[3] < v[1]):
            v = (min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3]))
        return v


class Click(_Pointer):
    type: Literal["click"] = "click"


class DoubleClick(_Pointer):
    type: Literal["double_click"] = "double_click"


class RightClick(_Pointer):
    type: Literal["right_click"] = "right_click"


class MiddleClick(_Pointer):
    type: Literal["middle_click"] = "middle_click"


class Hover(_Pointer):
    type: Literal["hover"] = "hover"


class LongPress(_Pointer):
    type: Literal["long_press"] = "long_press"
    duration: float = Field(default=1.0, gt=0, le=60, description="Seconds.")


PointAction = _Pointer  # every action whose ``point`` is required (isinstance narrows to it)


class Drag(_Action):
    type: Literal["drag"] = "drag"
    start: Point
    end: Point

    _fin = field_validator("start", "end")(classmethod(lambda cls, v: _finite(v)))


class Swipe(_Action):
    type: Literal["swipe"] = "swipe"
    start: Point
    end: Point
    duration: float = Field(default=0.3, gt=0, le=10, description="Seconds.")

    _fin = field_validator("start", "end")(classmethod(lambda cls, v: _finite(v)))


class Type(_Action):
    """Type text; with ``point`` the env clicks there first (a grounded ``type into``)."""

    type: Literal["type"] = "type"
    text: str
    point: Point | None = None
    box: Box | None = None
    clear: bool = Field(default=False, description="Select all and delete before typing.")
    enter: bool = Field(default=False, description="Press Enter after typing.")

    _fin = field_validator("point", "box")(
        classmethod(lambda cls, v: v if v is None else _finite(v))
    )


KEY_ALIASES = {
    "control": "ctrl",
    "ctl": "ctrl",
    "return": "enter",
    "esc": "escape",
    "del": "delete",
    "cmd": "meta",
    "command": "meta",
    "win": "meta",
    "super": "meta",
    "option": "alt",
    "pgup": "pageup",
    "pgdn": "pagedown",
    "page_up": "pageup",
    "page_down": "pagedown",
    "arrowup": "up",
    "arrowdown": "down",
    "arrowleft": "left",
    "arrowright": "right",
    "spacebar": "space",
    " ": "space",
}


def normalize_keys(combo: str) -> str:
    """``"Control + C"`` → ``"ctrl+c"``: lower-case names joined by ``+``, aliases folded."""
    raw = combo.strip()
    if not raw:
        raise ValueError("empty key combination")
    if raw == "+":
        return "plus"
    parts = [p.strip().lower() for p in raw.replace(" ", "+").split("+") if p.strip()]
    if not parts:
        raise ValueError(f"bad key combination {combo!r}")
    return "+".join(KEY_ALIASES.get(p, p) for p in parts)


class Key(_Action):
    """A key or a combination, e.g. ``enter``, ``ctrl+c``, ``ctrl+shift+t``."""

    type: Literal["key"] = "key"
    keys: str

    @field_validator("keys")
    @classmethod
    def _norm(cls, v: str) -> str:
        return normalize_keys(v)


class Scroll(_Action):
    """Scroll ``amount`` wheel notches in ``direction``, at ``point`` (screen centre if None)."""

    type: Literal["scroll"] = "scroll"
    direction: Literal["up", "down", "left", "right"]
    amount: int = Field(default=5, ge=1, le=100)
    point: Point | None = None

    _fin = field_validator("point")(classmethod(lambda cls, v: v if v is None else _finite(v)))


class Wait(_Action):
    type: Literal["wait"] = "wait"
    seconds: float = Field(default=1.0, ge=0, le=60)


class Navigate(_Action):
    type: Literal["navigate"] = "navigate"
    url: str = Field(min_length=1)


class Back(_Action):
    type: Literal["back"] = "back"


class Home(_Action):
    type: Literal["home"] = "home"


class OpenApp(_Action):
    type: Literal["open_app"] = "open_app"
    name: str = Field(min_length=1)


class Finish(_Action):
    """The model declares the task done (``success``) or impossible (``failure``)."""

    type: Literal["finish"] = "finish"
    status: Literal["success", "failure"] = "success"
    answer: str | None = None


class CallUser(_Action):
    type: Literal["call_user"] = "call_user"
    question: str = ""


Action = Annotated[
    Click
    | DoubleClick
    | RightClick
    | MiddleClick
    | Hover
    | LongPress
    | Drag
    | Swipe
    | Type
    | Key
    | Scroll
    | Wait
    | Navigate
    | Back
    | Home
    | OpenApp
    | Finish
    | CallUser,
    Field(discriminator="type"),
]

ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)
ACTION_TYPES: tuple[str, ...] = (
    "click",
    "double_click",
    "right_click",
    "middle_click",
    "hover",
    "long_press",
    "drag",
    "swipe",
    "type",
    "key",
    "scroll",
    "wait",
    "navigate",
    "back",
    "home",
    "open_app",
    "finish",
    "call_user",
)
POINTER_TYPES = frozenset(
    {"click", "double_click", "right_click", "middle_click", "hover", "long_press"}
)
TERMINAL_TYPES = frozenset({"finish", "call_user"})


def parse_action(data: dict[str, Any] | str) -> Action:
    """Validate one action from a dict or a JSON string (raises pydantic.ValidationError)."""
    if isinstance(data, str):
        return ACTION_ADAPTER.validate_json(data)
    return ACTION_ADAPTER.validate_python(data)


def action_schema() -> dict[str, Any]:
    """JSON Schema of the action union: the contract with models and users."""
    schema = ACTION_ADAPTER.json_schema()
    schema["title"] = "native-agent action"
    return schema


def action_points(action: Action) -> list[Point]:
    """Every screenshot-pixel point an action touches (for checks and drawing)."""
    pts: list[Point] = []
    for name in ("point", "start", "end"):
        p = getattr(action, name, None)
        if p is not None:
            pts.append(p)
    return pts


def dump_action(action: Action) -> dict[str, Any]:
    return action.model_dump(mode="json", exclude_none=True)


def schema_json() -> str:
    return json.dumps(action_schema(), indent=2)
