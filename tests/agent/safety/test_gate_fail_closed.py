"""The gate fails closed when it cannot see what an action presses (issue 15): a device whose
view dump is broken, or a reader that raises, makes the target *unknown* — the policy's
``unknown_target`` decides (default: confirm, and with nobody to ask, deny). An empty
target text must never read as "nothing dangerous here": the tap is not sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.actions import Action
from agent.core.env import Env
from agent.core.observation import Observation
from agent.episode.runner import run
from agent.safety.gate import ConfirmRequest, PolicyGate
from agent.safety.policy import Policy
from agent.safety.targets import Target, TargetReader
from model.scripted import ScriptedModel

ROOT = Path(__file__).resolve().parents[3]
TAP = '{"type": "click", "point": [540, 1100]}'
FINISH = '{"type": "finish", "status": "success"}'
BROKEN_DUMP = "<?xml version='1.0' ?><hierarchy rotation=\"0\"><node bounds=</hierarchy>\n"


@pytest.fixture
def broken_android() -> Iterator[tuple[Any, Any]]:
    """A (fake-adb) device whose uiautomator dump is not valid XML: the reader raises."""
    from envs.android import AndroidEnv
    from envs.android.fake_adb import FakeAdbServer

    transcript = ROOT / "tests" / "envs" / "adb_transcripts" / "pixel_portrait.json"
    with FakeAdbServer(transcript) as fake:
        fake.respond(prefix="uiautomator dump", stdout=BROKEN_DUMP)
        fake.respond(match="cat /sdcard/window_dump.xml", stdout=BROKEN_DUMP)
        env = AndroidEnv(adb_port=fake.port, settle=0)
        try:
            yield env, fake
        finally:
            env.close()


def _taps(fake: Any) -> list[str]:
    return [c for c in fake.commands if c.startswith("input tap")]


def test_an_unreadable_view_dump_is_unknown_and_asks(
    broken_android: tuple[Any, Any], tmp_path: Path
) -> None:
    env, fake = broken_android
    asked: list[ConfirmRequest] = []

    def refuse(request: ConfirmRequest) -> bool:
        asked.append(request)
        return False

    model = ScriptedModel([TAP, FINISH])
    ep = run("tap", env=env, model=model, out=tmp_path / "ep", gate=PolicyGate(confirm=refuse))
    step = ep.steps[0]["actions"][0]
    assert step["gate"]["verdict"] == "deny", step["gate"]
    assert step["gate"]["rule"] == "unknown-target"
    assert [r.rule for r in asked] == ["unknown-target"]  # the policy asked a person
    assert "result" not in step and _taps(fake) == []  # the tap was never sent


def test_with_nobody_to_ask_an_unreadable_target_is_denied(
    broken_android: tuple[Any, Any], tmp_path: Path
) -> None:
    env, fake = broken_android
    model = ScriptedModel([TAP, FINISH])
    ep = run("tap", env=env, model=model, out=tmp_path / "ep", gate=PolicyGate(confirm="no"))
    assert ep.steps[0]["actions"][0]["gate"]["verdict"] == "deny"
    assert _taps(fake) == []


def test_a_policy_that_allows_unknown_targets_lets_the_tap_through(
    broken_android: tuple[Any, Any], tmp_path: Path
) -> None:
    """The verdict is the policy's: the same broken dump with ``unknown_target = allow``."""
    env, fake = broken_android
    gate = PolicyGate(Policy(unknown_target="allow"), confirm="no")
    ep = run("tap", env=env, model=ScriptedModel([TAP, FINISH]), out=tmp_path / "ep", gate=gate)
    assert ep.steps[0]["actions"][0]["gate"]["verdict"] == "allow"
    assert _taps(fake) == ["input tap 540 1100"]


class _CrashingReader(TargetReader):
    """A reader with a bug (not an env error): the gate must not let the press through."""

    def read(self, action: Action, env: Env, obs: Observation) -> Target | None:
        raise RuntimeError("reader bug")


def test_a_reader_that_raises_never_allows(broken_android: tuple[Any, Any], tmp_path: Path) -> None:
    env, fake = broken_android
    gate = PolicyGate(confirm="yes", reader=_CrashingReader())
    ep = run("tap", env=env, model=ScriptedModel([TAP, FINISH]), out=tmp_path / "ep", gate=gate)
    decision = ep.steps[0]["actions"][0]["gate"]
    assert decision["verdict"] == "deny" and "reader bug" in decision["reason"]
    assert _taps(fake) == []
