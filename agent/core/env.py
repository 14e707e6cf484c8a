"""The env API: one small ABC every environment implements (browser, desktop, android, yours).

Gymnasium-style: ``reset`` → :class:`Observation`; ``step(action)`` → :class:`StepResult`
with ``terminated`` (the task ended: finish / call_user / the env says so) kept apart from
``truncated`` (the env died or a budget ran out). A failed action never raises out of
``step``: it becomes ``last_action_error`` in the next observation. Adapters implement the
small ``_execute`` / ``_capture`` I/O hooks; coordinates are converted only by
:mod:`agent.core.coords`.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np

from agent.core.actions import OBSERVE_TYPES, TERMINAL_TYPES, Action
from agent.core.coords import Frame, screen_to_input
from agent.core.errors import (
    ActionFailedError,
    ActionNotSupportedError,
    ConfigError,
    CoordinateError,
    EnvClosedError,
    EnvError,
    FeatureNotOfferedError,
    describe_error,
)
from agent.core.inputs import EventSource
from agent.core.observation import Observation, PrivacyRequest, StepResult
from agent.core.uitree import UINode

# why an env refuses an observation action (``zoom``): the agent loop serves it
OBSERVATION_ONLY = (
    "{!r} is an observation action: the agent loop reads its crop; no env executes it"
)

RequestVerdict = Callable[[str], str | None]  # a URL → why it is refused, or None

# What a mouse + keyboard can do: the shared core of the browser and desktop envs.
POINTER_KEYBOARD = frozenset(
    {"click", "double_click", "right_click", "middle_click", "hover", "drag", "type", "key"}
    | {"scroll", "wait"}
)


def pointer_after(action: Action) -> tuple[float, float] | None:
    """Where the pointer rests after ``action`` ran (screenshot px), None if it did not move:
    a pointer action's point, a drag's or swipe's end, a grounded type's or scroll's point.
    Qwen2.5-VL / Qwen3-VL click and drag from there when a call names no coordinate."""
    end = getattr(action, "end", None)
    point = end if end is not None else getattr(action, "point", None)
    return (float(point[0]), float(point[1])) if point is not None else None


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON data (tuples become lists), or a ConfigError naming ``where``."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"env setting {where} is {value}: not JSON; use a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"env setting {where} has a non-string key {k!r}")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    raise ConfigError(
        f"env setting {where} is a {type(value).__name__} ({value!r:.60}), not JSON data: "
        "an env spec holds only str, int, float, bool, None, lists and objects"
    )


@dataclass(frozen=True)
class EnvSpec:
    """What it takes to build an env again, as JSON: its registered ``name`` and the
    constructor ``kwargs`` (Gymnasium's EnvSpec, without the building: that is
    ``envs.registry.make_env(spec)``). ``kwargs`` are normalised to JSON data on
    construction (tuples become lists), so two specs of the same settings are equal and
    ``EnvSpec.from_json(spec.to_json()) == spec``; anything that is not JSON data is a
    ConfigError naming the setting."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"an env spec needs a non-empty env name, got {self.name!r}")
        if not isinstance(self.kwargs, Mapping):
            raise ConfigError(f"env spec kwargs must be an object, got {self.kwargs!r:.60}")
        plain = {str(k): _plain(v, str(k)) for k, v in self.kwargs.items()}
        object.__setattr__(self, "kwargs", plain)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": json.loads(json.dumps(self.kwargs))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EnvSpec:
        """The inverse of :meth:`to_json`."""
        if not isinstance(data, Mapping) or "name" not in data:
            raise ConfigError(f"an env spec is an object with a name, got {data!r:.80}")
        return cls(str(data["name"]), dict(data.get("kwargs") or {}))


class Feature(StrEnum):
    """What an env offers beyond executing actions. Callers ask ``env.offers(feature)``;
    the base class's method of a feature an env does not offer raises
    FeatureNotOfferedError, so nothing probes with ``hasattr`` or an env's name."""

    PRIVACY_SNAPSHOT = "privacy_snapshot"  # Observation.privacy filled with each capture
    ELEMENT_AT = "element_at"  # element_at(point): what a pointer would press
    FOCUS_TARGET = "focus_target"  # focus_target(point | None): what Enter/Space would act on
    UI_HIERARCHY = "ui_hierarchy"  # ui_hierarchy(frame): the view tree as neutral UINodes
    SHELL = "shell"  # shell(argv): a command on the device
    REQUEST_FILTER = "request_filter"  # filter_requests(verdict): every request judged first
    DISPATCH_GUARD = "dispatch_guard"  # arm(action): its events land only on what was read
    INPUT_RECORDING = "input_recording"  # input_source(): a person's input events, captured


class Env(ABC):
    """Base class of every environment.

    Subclasses declare ``name``, ``capabilities`` (the action types they execute) and
    ``unsupported`` (the types they declare they do not; with the terminal types, which
    ``step`` handles, the three cover the action union — tests/agent/core/test_action_union)
    and implement ``_reset``, ``_capture`` and ``_execute``. ``step`` is shared: it refuses
    unsupported actions, ends on ``finish`` / ``call_user``, turns failures into
    ``last_action_error`` and a dead backend into ``truncated``.
    """

    name: ClassVar[str] = "env"
    capabilities: ClassVar[frozenset[str]] = frozenset()
    unsupported: ClassVar[frozenset[str]] = frozenset()
    features: ClassVar[frozenset[Feature]] = frozenset()

    def __init__(self) -> None:
        self._last_obs: Observation | None = None
        self._closed = False
        self._pointer: tuple[float, float] | None = None  # screenshot px; None: unknown
        self.privacy = PrivacyRequest()

    # ---- how to build this env again --------------------------------------------------
    def spec(self) -> EnvSpec:
        """This env's name and JSON-safe constructor settings: ``make_env(env.spec())``
        builds an env with the same settings (episode.json records it; ``--resume``,
        ``agent replay`` and ``agent bench`` rebuild from it). Every env overrides it."""
        raise ConfigError(
            f"{type(self).__name__} does not describe its settings: implement "
            f"spec() -> EnvSpec({self.name!r}, {{<its constructor keyword arguments>}}) "
            "so its episodes can be resumed and replayed"
        )

    # ---- declared features (override the ones listed in ``features``) -----------------
    def offers(self, feature: Feature) -> bool:
        return feature in self.features

    def set_privacy(self, request: PrivacyRequest) -> None:
        """What privacy snapshots must look for from the next capture on (every env accepts
        it; only envs offering PRIVACY_SNAPSHOT attach one to their observations)."""
        self.privacy = request

    def element_at(
        self, point: tuple[float, float], frame: Frame | None = None
    ) -> dict[str, Any] | None:
        """The element under a screenshot-px point: tag, role, text, label, href, box,
        editable, password — or None where nothing is."""
        raise self._not_offered(Feature.ELEMENT_AT)

    def focus_target(
        self, point: tuple[float, float] | None, frame: Frame | None = None
    ) -> dict[str, Any] | None:
        """What Enter/Space would act on (the focused element, or the one at ``point``):
        tag, type, text, submit (a form's submit button text), href, editable."""
        raise self._not_offered(Feature.FOCUS_TARGET)

    def ui_hierarchy(self, frame: Frame | None = None) -> UINode:
        """The view hierarchy of the current screen as a neutral tree
        (:class:`~agent.core.uitree.UINode`, bounds in screenshot px of ``frame``, default the
        current geometry); an env converts its platform's own tree into it."""
        raise self._not_offered(Feature.UI_HIERARCHY)

    def shell(self, argv: list[str]) -> tuple[int, str]:
        """Run one command on the device → (exit code, output)."""
        raise self._not_offered(Feature.SHELL)

    def filter_requests(self, verdict: RequestVerdict | None) -> None:
        """Judge every request the program makes before it leaves: ``verdict(url)`` returns
        why a URL is refused (the request is aborted, and reported in the next
        observation's ``extra["blocked_requests"]``) or None; None lifts the filter."""
        raise self._not_offered(Feature.REQUEST_FILTER)

    def arm(self, action: Action) -> None:
        """The next ``step(action)`` may press only what the gate's reads of this screen
        judged; an event that lands elsewhere is cancelled and ``step`` reports a
        TargetChangedError (code ``target_changed``)."""
        raise self._not_offered(Feature.DISPATCH_GUARD)

    def input_source(self) -> EventSource:
        """A capture of the input a person gives this env (``agent record``): raw events in
        screenshot px on the monotonic clock (:mod:`agent.core.inputs`)."""
        raise self._not_offered(Feature.INPUT_RECORDING)

    def _not_offered(self, feature: Feature) -> FeatureNotOfferedError:
        offered = ", ".join(sorted(self.features)) or "none"
        return FeatureNotOfferedError(
            f"the {self.name} env does not offer {feature.value!r} (it offers: {offered}); "
            "check env.offers(Feature...) first"
        )

    # ---- hooks for adapters ----------------------------------------------------------
    @abstractmethod
    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        """Bring the program to its start state."""

    @abstractmethod
    def _capture(self) -> Observation:
        """Capture the screen at native resolution (last_action_error is filled in here)."""

    @abstractmethod
    def _execute(self, action: Action, frame: Frame) -> None:
        """Carry out one action; convert points with :func:`to_input` only. Raise
        ActionFailedError / CoordinateError on failure, EnvClosedError if the program died."""

    def _close(self) -> None:  # noqa: B027 — optional hook
        """Release resources."""

    # ---- public API ----------------------------------------------------------------------
    def reset(self, *, url: str | None = None, seed: int | None = None) -> Observation:
        self._ensure_open()
        self._reset(url=url, seed=seed)
        return self.observe()

    def observe(self, last_action_error: str | None = None) -> Observation:
        self._ensure_open()
        obs = self._capture()
        if last_action_error is not None:
            obs.last_action_error = last_action_error
        obs.pointer = getattr(self, "_pointer", None)
        self._last_obs = obs
        return obs

    def geometry(self) -> Frame:
        """The current screen geometry (size, scale, offset, rotation) as a Frame."""
        if self._last_obs is None:
            self.observe()
        assert self._last_obs is not None
        return self._last_obs.frame()

    def to_input(self, point: tuple[float, float], frame: Frame | None = None) -> tuple[int, int]:
        """Screenshot px → this env's input units, via the coordinate module."""
        return screen_to_input(frame or self.geometry(), point[0], point[1])

    def step(self, action: Action) -> StepResult:
        self._ensure_open()
        info: dict[str, Any] = {"action_type": action.type}
        if action.type in TERMINAL_TYPES:
            obs = self.observe()
            return StepResult(obs, 0.0, terminated=True, truncated=False, info=info)
        error: str | None = None
        try:
            if action.type in OBSERVE_TYPES:
                raise ActionNotSupportedError(OBSERVATION_ONLY.format(action.type))
            if action.type not in self.capabilities:
                raise ActionNotSupportedError(
                    f"{self.name} env does not support {action.type!r}; "
                    f"supported: {', '.join(sorted(self.capabilities))}"
                )
            self._execute(action, self.geometry())
            self._pointer = pointer_after(action) or getattr(self, "_pointer", None)
        except EnvClosedError as err:
            info.update(describe_error(err), error_type=type(err).__name__)
            return StepResult(self._dead_observation(str(err)), truncated=True, info=info)
        except (ActionFailedError, ActionNotSupportedError, CoordinateError, EnvError) as err:
            info.update(describe_error(err), error_type=type(err).__name__)
            error = info["error"]
        try:
            obs = self.observe(last_action_error=error)
        except EnvClosedError as err:
            info.update(describe_error(err), error_type=type(err).__name__)
            return StepResult(self._dead_observation(str(err)), truncated=True, info=info)
        return StepResult(obs, 0.0, terminated=False, truncated=False, info=info)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def _ensure_open(self) -> None:
        if self._closed:
            raise EnvClosedError(f"{self.name} env is closed")

    def _dead_observation(self, error: str) -> Observation:
        """The last screen seen, flagged with the error, when the program is gone."""
        if self._last_obs is not None:
            last = self._last_obs
            return Observation(
                png=last._png,
                array=last._array,
                scale=last.scale,
                offset=last.offset,
                rotation=last.rotation,
                url=last.url,
                title=last.title,
                app=last.app,
                last_action_error=error,
                privacy=last.privacy,  # the same pixels: the same boxes to paint
            )
        return Observation(array=np.zeros((28, 28, 3), np.uint8), last_action_error=error)

    def __enter__(self) -> Env:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
