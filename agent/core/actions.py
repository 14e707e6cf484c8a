"""The action schema: frozen pydantic models, one discriminated union on ``type``.

Its JSON Schema (``agent schema``) is the contract with models and users. Every point is in
**screenshot pixels** (floats; rounding happens once, when an env converts to input units).
Each class declares its :class:`Trait` set; ``ACTION_TYPES``, ``POINTER_TYPES``,
``PRESS_TYPES``, ``ESCAPE_TYPES``, ``TERMINAL_TYPES`` and ``OBSERVE_TYPES`` are derived from
the union and the traits (:func:`types_with`, :func:`action_class`, :func:`traits_of`),
never kept by hand.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in screenshot pixels


def _finite(values: tuple[float, ...]) -> tuple[float, ...]:
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"coordinates must be finite numbers, got {values}")
    return values


class Trait(StrEnum):
    """What an action type is, declared on its class (``traits``); every table of action
    types elsewhere (the gate's default rule, env capabilities, prompt offerings, metrics) is
    derived from these or checked against them (``tests/agent/core/test_action_union.py``).

    For the gate every type declares exactly one of PRESSES, INERT, NAVIGATES, TERMINAL:
    PRESSES is covered by the default "irreversible" rule; the other three are the declared
    exemptions (a type declaring none of them is a gap, never a silent allow).
    """

    POINTER = "pointer"  # acts at one required screenshot point (``point``)
    TWO_POINTS = "two_points"  # from ``start`` to ``end`` (drag, swipe)
    KEYBOARD = "keyboard"  # sends keys to the focus
    TYPES_TEXT = "types_text"  # enters free text (``text``)
    # May activate what it lands on: a click of any button, a long press, a drag or swipe
    # (a short one is a tap; "slide to pay" is a swipe), a ``type`` (its point is clicked
    # first; with Enter it submits the form), a ``key`` (Enter/Space activate the focus).
    PRESSES = "presses"
    # The target reader can read what it acts on: under its point(s), or the focus its keys
    # reach. Every PRESSES type must have it, or the default rule could never match.
    READS_TARGET = "reads_target"
    INERT = "inert"  # presses nothing: moves the pointer, scrolls or waits
    NAVIGATES = "navigates"  # goes somewhere by name (URL, app, back, home): URL/app lists
    ESCAPES = "escapes"  # a way out of a page the URL lists do not allow
    TERMINAL = "terminal"  # ends the episode; no env executes it (Env.step stops there)
    # changes only what the model reads next (a crop of the screen); no env executes it:
    # the agent loop does (agent.episode.executor), and every env declares it unsupported
    OBSERVES = "observes"


GATE_TRAITS = frozenset({Trait.PRESSES, Trait.INERT, Trait.NAVIGATES, Trait.TERMINAL})


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    traits: ClassVar[frozenset[Trait]] = frozenset()


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
    traits = frozenset({Trait.POINTER, Trait.PRESSES, Trait.READS_TARGET})


class DoubleClick(_Pointer):
    type: Literal["double_click"] = "double_click"
    traits = frozenset({Trait.POINTER, Trait.PRESSES, Trait.READS_TARGET})


class RightClick(_Pointer):
    type: Literal["right_click"] = "right_click"
    traits = frozenset({Trait.POINTER, Trait.PRESSES, Trait.READS_TARGET})


class MiddleClick(_Pointer):
    type: Literal["middle_click"] = "middle_click"
    traits = frozenset({Trait.POINTER, Trait.PRESSES, Trait.READS_TARGET})


class Hover(_Pointer):
    type: Literal["hover"] = "hover"
    traits = frozenset({Trait.POINTER, Trait.INERT, Trait.READS_TARGET})


class LongPress(_Pointer):
    type: Literal["long_press"] = "long_press"
    traits = frozenset({Trait.POINTER, Trait.PRESSES, Trait.READS_TARGET})
    duration: float = Field(default=1.0, gt=0, le=60, description="Seconds.")


PointAction = _Pointer  # every action whose ``point`` is required (isinstance narrows to it)


class Drag(_Action):
    type: Literal["drag"] = "drag"
    traits = frozenset({Trait.TWO_POINTS, Trait.PRESSES, Trait.READS_TARGET})
    start: Point
    end: Point

    _fin = field_validator("start", "end")(classmethod(lambda cls, v: _finite(v)))


class Swipe(_Action):
    type: Literal["swipe"] = "swipe"
    traits = frozenset({Trait.TWO_POINTS, Trait.PRESSES, Trait.READS_TARGET})
    start: Point
    end: Point
    duration: float = Field(default=0.3, gt=0, le=10, description="Seconds.")

    _fin = field_validator("start", "end")(classmethod(lambda cls, v: _finite(v)))


class Type(_Action):
    """Type text; with ``point`` the env clicks there first (a grounded ``type into``)."""

    type: Literal["type"] = "type"
    traits = frozenset({Trait.TYPES_TEXT, Trait.KEYBOARD, Trait.PRESSES, Trait.READS_TARGET})
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
    traits = frozenset({Trait.KEYBOARD, Trait.PRESSES, Trait.READS_TARGET})
    keys: str

    @field_validator("keys")
    @classmethod
    def _norm(cls, v: str) -> str:
        return normalize_keys(v)


class Scroll(_Action):
    """Scroll ``amount`` wheel notches in ``direction``, at ``point`` (screen centre if None)."""

    type: Literal["scroll"] = "scroll"
    traits = frozenset({Trait.INERT, Trait.READS_TARGET})
    direction: Literal["up", "down", "left", "right"]
    amount: int = Field(default=5, ge=1, le=100)
    point: Point | None = None

    _fin = field_validator("point")(classmethod(lambda cls, v: v if v is None else _finite(v)))


class Wait(_Action):
    type: Literal["wait"] = "wait"
    traits = frozenset({Trait.INERT, Trait.ESCAPES})
    seconds: float = Field(default=1.0, ge=0, le=60)


class Navigate(_Action):
    type: Literal["navigate"] = "navigate"
    traits = frozenset({Trait.NAVIGATES, Trait.ESCAPES})
    url: str = Field(min_length=1)


class Back(_Action):
    type: Literal["back"] = "back"
    traits = frozenset({Trait.NAVIGATES, Trait.ESCAPES})


class Home(_Action):
    type: Literal["home"] = "home"
    traits = frozenset({Trait.NAVIGATES})


class OpenApp(_Action):
    type: Literal["open_app"] = "open_app"
    traits = frozenset({Trait.NAVIGATES})
    name: str = Field(min_length=1)


ZOOM_SCALES = (1, 2)  # agent.core.crops.UPSCALES: 2 = the recorded bicubic x2 upscale


class Zoom(_Action):
    """Look closer: the next model request reads ``region`` (screenshot px ``x1, y1, x2,
    y2``) at native resolution instead of the whole screen (``scale`` 2: its bicubic ×2
    upscale, the only resampling); the points of that answer are mapped back to the screen,
    and the step after sees the whole screen again. It touches no env."""

    type: Literal["zoom"] = "zoom"
    traits = frozenset({Trait.OBSERVES, Trait.INERT})
    region: Box
    scale: Literal[1, 2] = Field(default=1, description="2: read the crop upscaled x2.")

    @field_validator("region")
    @classmethod
    def _check(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        v = _finite(v)
        return (min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3]))


class Finish(_Action):
    """The model declares the task done (``success``) or impossible (``failure``)."""

    type: Literal["finish"] = "finish"
    traits = frozenset({Trait.TERMINAL, Trait.ESCAPES})
    status: Literal["success", "failure"] = "success"
    answer: str | None = None


class CallUser(_Action):
    type: Literal["call_user"] = "call_user"
    traits = frozenset({Trait.TERMINAL, Trait.ESCAPES})
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
    | Zoom
    | Finish
    | CallUser,
    Field(discriminator="type"),
]

ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


def union_classes(union: Any = Action) -> tuple[type[_Action], ...]:
    """The action classes of a discriminated union (``Action`` by default), in order."""
    members = get_args(union)[0] if get_args(union) else union
    return tuple(get_args(members) or (members,))


def type_of(cls: type[_Action]) -> str:
    """The ``type`` literal an action class is discriminated by."""
    return str(cls.model_fields["type"].default)


ACTION_CLASSES: dict[str, type[_Action]] = {type_of(c): c for c in union_classes()}
ACTION_TYPES: tuple[str, ...] = tuple(ACTION_CLASSES)


def action_class(action_type: str) -> type[_Action]:
    """The class of an action type; an unknown type is a KeyError naming the known ones."""
    try:
        return ACTION_CLASSES[action_type]
    except KeyError:
        raise KeyError(f"unknown action type {action_type!r}; known: {ACTION_TYPES}") from None


def traits_of(action_type: str) -> frozenset[Trait]:
    """The declared traits of an action type (empty for an unknown type)."""
    cls = ACTION_CLASSES.get(action_type)
    return cls.traits if cls is not None else frozenset()


def types_with(trait: Trait, classes: tuple[type[_Action], ...] | None = None) -> tuple[str, ...]:
    """The action types declaring ``trait``, in union order."""
    pool = classes if classes is not None else tuple(ACTION_CLASSES.values())
    return tuple(type_of(c) for c in pool if trait in c.traits)


POINTER_TYPES = frozenset(types_with(Trait.POINTER))
TWO_POINT_TYPES = frozenset(types_with(Trait.TWO_POINTS))
PRESS_TYPES: tuple[str, ...] = types_with(Trait.PRESSES)
ESCAPE_TYPES = frozenset(types_with(Trait.ESCAPES))
TERMINAL_TYPES = frozenset(types_with(Trait.TERMINAL))
OBSERVE_TYPES = frozenset(types_with(Trait.OBSERVES))


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
