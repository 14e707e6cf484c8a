"""Env conformance: does an env keep the contract of :class:`agent.core.env.Env`?

``check_env(factory)`` builds one env and runs a fixed list of checks, each recorded as
pass/fail with a message (never an exception out of the checker): reset gives a screenshot
of the declared size, observe is repeatable, every declared capability steps without
raising, unsupported and off-screen actions come back as ``last_action_error``, every
declared feature (:class:`agent.core.env.Feature`) answers in its documented shape and every
undeclared one refuses with FeatureNotOfferedError, ``spec()`` is JSON that builds an env
with an equal spec (``make_env(spec)``), finish terminates, close is idempotent
and a closed env raises EnvClosedError. ``agent check-env``
runs it from the command line; :func:`assert_conforms` is the pytest helper.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from PIL import Image

from agent.core.actions import (
    ACTION_TYPES,
    TERMINAL_TYPES,
    Action,
    Back,
    Click,
    DoubleClick,
    Drag,
    Finish,
    Home,
    Hover,
    Key,
    LongPress,
    MiddleClick,
    Navigate,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from agent.core.env import Env, EnvSpec, Feature
from agent.core.errors import EnvClosedError, FeatureNotOfferedError
from agent.core.observation import Observation, PrivacyRequest, PrivacySnapshot, StepResult
from agent.core.uitree import UINode

EnvFactory = Callable[[], Env]
OFF_SCREEN = (-10_000.0, -10_000.0)
PROBE_SECRET = "zq-conformance-probe-7731"  # a value no screen shows


@dataclass
class Check:
    name: str
    passed: bool
    message: str = ""


@dataclass
class ConformanceReport:
    env: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def table(self) -> str:
        width = max([len(c.name) for c in self.checks] + [5])
        lines = [f"{'check':<{width}}  result  message", f"{'-' * width}  ------  -------"]
        for c in self.checks:
            lines.append(f"{c.name:<{width}}  {'PASS' if c.passed else 'FAIL':<6}  {c.message}")
        n_ok = sum(c.passed for c in self.checks)
        lines.append(f"{self.env}: {n_ok}/{len(self.checks)} checks passed")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {"env": self.env, "passed": self.passed, "checks": [asdict(c) for c in self.checks]},
            indent=2,
        )


def harmless_actions(obs: Observation) -> dict[str, Action]:
    """One low-impact action per type for a screen of this size: a corner click, a
    one-notch scroll at the centre, Shift alone, a zero wait."""
    w, h = obs.size
    corner = (1.0, 1.0)
    centre = (w / 2.0, h / 2.0)
    acts: dict[str, Action] = {
        "click": Click(point=corner),
        "double_click": DoubleClick(point=corner),
        "right_click": RightClick(point=corner),
        "middle_click": MiddleClick(point=corner),
        "hover": Hover(point=centre),
        "long_press": LongPress(point=corner, duration=0.2),
        "drag": Drag(start=corner, end=(5.0, 5.0)),
        "swipe": Swipe(start=centre, end=(centre[0], centre[1] + 10), duration=0.2),
        "type": Type(text="a"),
        "key": Key(keys="shift"),
        "scroll": Scroll(direction="down", amount=1, point=centre),
        "wait": Wait(seconds=0),
        "back": Back(),
        "home": Home(),
    }
    if obs.url:
        acts["navigate"] = Navigate(url=obs.url)
    return acts


class _Checker:
    def __init__(self, report: ConformanceReport) -> None:
        self.report = report

    def run(self, name: str, fn: Callable[[], str | None]) -> bool:
        """Run one check; an AssertionError is a failure, any other exception too (the
        contract says steps never raise), recorded with its type."""
        try:
            msg = fn() or ""
        except AssertionError as err:
            self.report.checks.append(Check(name, False, str(err)))
            return False
        except Exception as err:
            self.report.checks.append(Check(name, False, f"raised {type(err).__name__}: {err}"))
            return False
        self.report.checks.append(Check(name, True, msg))
        return True


def _check_obs(obs: object, what: str) -> Observation:
    assert isinstance(obs, Observation), f"{what} returned {type(obs).__name__}, not Observation"
    w, h = obs.size
    assert w > 0 and h > 0, f"{what}: empty screenshot {w}x{h}"
    arr = obs.array
    assert arr.ndim == 3 and arr.shape[2] == 3, f"{what}: array shape {arr.shape} is not HxWx3"
    assert (arr.shape[1], arr.shape[0]) == (w, h), (
        f"{what}: declared size {w}x{h} but pixels are {arr.shape[1]}x{arr.shape[0]}"
    )
    if obs.has_png:
        with Image.open(io.BytesIO(obs.png)) as im:
            assert im.size == (w, h), f"{what}: PNG is {im.size}, declared {w}x{h}"
    return obs


def _check_step(res: object, before: float, what: str) -> StepResult:
    assert isinstance(res, StepResult), f"{what}: step returned {type(res).__name__}"
    _check_obs(res.observation, what)
    assert res.observation.captured_at >= before, f"{what}: the observation is not fresh"
    return res


def check_env(
    env_factory: EnvFactory, *, actions: Iterable[Action] | dict[str, Action] | None = None
) -> ConformanceReport:
    """Build an env with ``env_factory`` and check it against the Env contract.

    ``actions`` overrides the harmless action tried for a type (e.g. an ``open_app`` with a
    safe app name); types with no harmless default (open_app, navigate without a URL) are
    reported as not checked unless given here.
    """
    given: dict[str, Action] = {}
    if isinstance(actions, dict):
        given = dict(actions)
    elif actions is not None:
        given = {a.type: a for a in actions}
    report = ConformanceReport(env="?")
    c = _Checker(report)
    try:
        env = env_factory()
    except Exception as err:
        report.checks.append(Check("construct", False, f"raised {type(err).__name__}: {err}"))
        return report
    report.env = getattr(env, "name", type(env).__name__)
    try:
        _run_checks(env, c, given)
    finally:
        with contextlib.suppress(Exception):
            env.close()
    return report


def _run_checks(env: Env, c: _Checker, given: dict[str, Action]) -> None:
    caps = frozenset(getattr(env, "capabilities", frozenset()))

    def declared() -> str:
        assert isinstance(env.name, str) and env.name, "env.name must be a non-empty string"
        bad = sorted(set(caps) - set(ACTION_TYPES))
        assert not bad, f"capabilities that are not action types: {bad}"
        assert caps, "no capabilities declared"
        refused = frozenset(getattr(env, "unsupported", frozenset()))
        bad = sorted(refused - set(ACTION_TYPES))
        assert not bad, f"unsupported types that are not action types: {bad}"
        both = sorted(refused & caps)
        assert not both, f"types both in capabilities and declared unsupported: {both}"
        return f"{env.name}: {', '.join(sorted(caps))}"

    c.run("name/capabilities", declared)
    state: dict[str, Observation] = {}

    def reset() -> str:
        obs = _check_obs(env.reset(), "reset")
        state["obs"] = obs
        w, h = obs.size
        return f"{w}x{h} px, scale {obs.scale:g}, {'png' if obs.has_png else 'array'}"

    if not c.run("reset", reset):
        return
    obs0 = state["obs"]

    def observe() -> str:
        a = _check_obs(env.observe(), "observe")
        b = _check_obs(env.observe(), "observe (again)")
        assert a.size == b.size == obs0.size, f"sizes differ: {obs0.size} {a.size} {b.size}"
        assert (a.scale, a.offset, a.rotation) == (b.scale, b.offset, b.rotation), "geometry moved"
        return f"{a.size[0]}x{a.size[1]} twice"

    c.run("observe repeatable", observe)
    defaults = {**harmless_actions(obs0), **given}
    for t in sorted(caps - TERMINAL_TYPES):
        act = defaults.get(t)
        if act is None:
            c.run(f"step {t}", functools.partial(_not_checked, t))
            continue
        c.run(f"step {t}", functools.partial(_step_ok, env, act))
    for feature in Feature:
        c.run(f"feature {feature.value}", functools.partial(_feature, env, feature))
    c.run("unsupported action", lambda: _unsupported(env, caps, obs0))
    c.run("off-screen point", lambda: _off_screen(env, caps))
    c.run("spec round-trips", lambda: _spec(env))
    c.run("finish terminates", lambda: _finish(env))
    c.run("close idempotent", lambda: _close(env))


def _not_checked(action_type: str) -> str:
    return f"not checked: no harmless {action_type} (pass actions=)"


def _step_ok(env: Env, act: Action) -> str:
    before = time.time()
    res = _check_step(env.step(act), before, act.type)
    assert not res.truncated, f"{act.type}: truncated ({res.observation.last_action_error})"
    assert not res.terminated, f"{act.type}: terminated"
    err = res.observation.last_action_error
    return "ok" if err is None else f"ok (reported: {err[:80]})"


def _probe(env: Env, feature: Feature) -> object:
    """Call the feature's method once, harmlessly."""
    if feature is Feature.PRIVACY_SNAPSHOT:
        previous = env.privacy
        env.set_privacy(PrivacyRequest((PROBE_SECRET,)))
        try:
            return env.observe().privacy
        finally:
            env.set_privacy(previous)
    if feature is Feature.ELEMENT_AT:
        return env.element_at((1.0, 1.0))
    if feature is Feature.FOCUS_TARGET:
        return env.focus_target(None)
    if feature is Feature.UI_HIERARCHY:
        return env.ui_hierarchy()
    if feature is Feature.REQUEST_FILTER:
        env.filter_requests(lambda url: None)  # allow everything, then lift it
        env.filter_requests(None)
        return "installed and lifted"
    if feature is Feature.DISPATCH_GUARD:
        env.arm(Wait(seconds=0))  # the gate read nothing for it: nothing is held
        return "armed and idle"
    if feature is Feature.INPUT_RECORDING:
        source = env.input_source()
        source.start()
        try:
            return source.poll()
        finally:
            source.stop()
    return env.shell(["echo", "conformance"])


def _feature(env: Env, feature: Feature) -> str:
    declared = frozenset(env.features)
    stray = [f for f in declared if not isinstance(f, Feature)]
    assert not stray, f"features that are not agent.core.env.Feature members: {stray}"
    if feature not in declared:
        if feature is Feature.PRIVACY_SNAPSHOT:
            snap = _probe(env, feature)
            assert snap is None, "privacy snapshots handed over but the feature is not declared"
            return "not offered: observations carry no privacy snapshot"
        try:
            got = _probe(env, feature)
        except FeatureNotOfferedError:
            return "not offered: refuses with FeatureNotOfferedError"
        raise AssertionError(f"{feature.value} is not declared but answered {got!r:.80}")
    assert env.offers(feature), "offers() disagrees with features"
    got = _probe(env, feature)
    if feature is Feature.PRIVACY_SNAPSHOT:
        assert isinstance(got, PrivacySnapshot), f"obs.privacy is {type(got).__name__}"
        assert got.covers([PROBE_SECRET]), "the snapshot ignores the requested secrets"
        return f"{len(got.boxes)} box(es), tied={got.tied}"
    if feature in (Feature.ELEMENT_AT, Feature.FOCUS_TARGET):
        assert got is None or isinstance(got, dict), f"answered {type(got).__name__}"
        if feature is Feature.ELEMENT_AT and got is not None:
            box = got.get("box")
            assert isinstance(box, list) and len(box) == 4, f"no screenshot-px box: {box!r}"
        return "nothing there" if got is None else f"{got.get('tag')!r}"
    if feature is Feature.UI_HIERARCHY:
        assert isinstance(got, UINode), f"answered {type(got).__name__}, not a UINode"
        return f"<{got.role}> with {sum(1 for _ in got.walk()) - 1} node(s)"
    if feature in (Feature.REQUEST_FILTER, Feature.DISPATCH_GUARD):
        return str(got)
    if feature is Feature.INPUT_RECORDING:
        assert isinstance(got, list), f"poll() answered {type(got).__name__}, not a list"
        return f"started, {len(got)} event(s) polled, stopped"
    assert isinstance(got, tuple) and len(got) == 2, f"shell answered {got!r:.80}"
    assert isinstance(got[0], int) and isinstance(got[1], str), f"shell answered {got!r:.80}"
    return f"exit {got[0]}"


def _unsupported(env: Env, caps: frozenset[str], obs: Observation) -> str:
    candidates = harmless_actions(obs)
    candidates.setdefault("navigate", Navigate(url="about:blank"))
    missing = [a for t, a in candidates.items() if t not in caps]
    if not missing:
        return "not checked: every sample action type is supported"
    act = missing[0]
    before = time.time()
    res = _check_step(env.step(act), before, f"unsupported {act.type}")
    err = res.observation.last_action_error
    assert err, f"{act.type} is not a capability but no last_action_error was reported"
    assert not res.truncated and not res.terminated, "an unsupported action ended the episode"
    return f"{act.type} refused: {err[:60]}"


def _off_screen(env: Env, caps: frozenset[str]) -> str:
    pointer: dict[str, Action] = {
        "click": Click(point=OFF_SCREEN),
        "hover": Hover(point=OFF_SCREEN),
        "long_press": LongPress(point=OFF_SCREEN),
        "double_click": DoubleClick(point=OFF_SCREEN),
        "scroll": Scroll(direction="down", point=OFF_SCREEN),
        "drag": Drag(start=OFF_SCREEN, end=OFF_SCREEN),
        "swipe": Swipe(start=OFF_SCREEN, end=OFF_SCREEN),
    }
    act = next((a for t, a in pointer.items() if t in caps), None)
    if act is None:
        return "not checked: no pointer capability"
    before = time.time()
    res = _check_step(env.step(act), before, f"off-screen {act.type}")
    err = res.observation.last_action_error
    assert err, f"{act.type} at {OFF_SCREEN} reported no last_action_error"
    assert not res.truncated, "an off-screen point ended the episode"
    return f"{act.type} refused: {err[:60]}"


def _spec(env: Env) -> str:
    """``spec()`` is JSON, and building from it gives an env with an equal spec: through
    the registry when the name is registered, else the env's own class."""
    from envs.registry import available_envs, make_env

    spec = env.spec()
    assert isinstance(spec, EnvSpec), f"spec() returned {type(spec).__name__}, not an EnvSpec"
    assert spec.name == env.name, f"spec().name {spec.name!r} is not env.name {env.name!r}"
    text = json.dumps(spec.to_json())
    assert EnvSpec.from_json(json.loads(text)) == spec, "spec() does not survive JSON"
    registered = spec.name in available_envs()
    again = make_env(spec) if registered else type(env)(**spec.kwargs)
    try:
        assert again.spec() == spec, f"rebuilt from {spec.kwargs}, it says {again.spec().kwargs}"
    finally:
        again.close()
    how = "make_env(spec)" if registered else f"{type(env).__name__}(**spec.kwargs)"
    return f"{len(spec.kwargs)} setting(s) as JSON; {how} has an equal spec"


def _finish(env: Env) -> str:
    before = time.time()
    res = _check_step(env.step(Finish(status="success")), before, "finish")
    assert res.terminated and not res.truncated, "finish did not terminate"
    return "terminated"


def _close(env: Env) -> str:
    env.close()
    env.close()
    for what, call in (
        ("step", lambda: env.step(Wait(seconds=0))),
        ("observe", env.observe),
    ):
        try:
            call()
        except EnvClosedError:
            continue
        raise AssertionError(f"{what} after close did not raise EnvClosedError")
    return "closed twice; step/observe after close raise EnvClosedError"


def assert_conforms(
    env_factory: EnvFactory, *, actions: Iterable[Action] | dict[str, Action] | None = None
) -> ConformanceReport:
    """pytest helper: fail with the whole table if any check fails."""
    report = check_env(env_factory, actions=actions)
    if not report.passed:
        raise AssertionError("env does not conform:\n" + report.table())
    return report
