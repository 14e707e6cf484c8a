"""The conformance checker: it catches broken envs, and the real envs pass it — browser
(headless Chromium), MiniWoB++ (its task page in Chromium), desktop (Xvfb + the Tk fixture),
android (FakeAdbServer), the worked example board."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.cli import main
from agent.core.actions import Action
from agent.core.coords import Frame
from agent.core.env import Env, EnvSpec, Feature
from agent.core.errors import ActionFailedError
from agent.core.observation import Observation, PrivacySnapshot
from envs.conformance import assert_conforms, check_env

HERE = Path(__file__).parent


class GoodEnv(Env):
    name = "good"
    capabilities = frozenset({"click", "key", "wait"})

    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        pass

    def _capture(self) -> Observation:
        return Observation(array=np.zeros((60, 80, 3), np.uint8))

    def _execute(self, action: Action, frame: Frame) -> None:
        if action.type == "click":
            self.to_input(action.point, frame)

    def spec(self) -> EnvSpec:
        return EnvSpec(self.name)


class RaisingEnv(GoodEnv):
    name = "raising"

    def step(self, action: Action):  # type: ignore[override]
        if action.type == "click":
            raise RuntimeError("boom")
        return super().step(action)


class LyingSizeEnv(GoodEnv):
    name = "lying"

    def _capture(self) -> Observation:
        return Observation(array=np.zeros((60, 80, 3), np.uint8), size=(100, 100))


class NoClampEnv(GoodEnv):
    """Swallows the coordinate error: an off-screen click silently 'succeeds'."""

    name = "noclamp"

    def _execute(self, action: Action, frame: Frame) -> None:
        pass


class BadCapsEnv(GoodEnv):
    name = "badcaps"
    capabilities = frozenset({"click", "teleport"})


class RefusesWhatItDoesEnv(GoodEnv):
    name = "refuses"
    unsupported = frozenset({"click"})  # and executes it


class ClaimsFeaturesEnv(GoodEnv):
    """Declares an element reader and privacy snapshots but implements neither."""

    name = "claims"
    features = frozenset({Feature.ELEMENT_AT, Feature.PRIVACY_SNAPSHOT})


class HiddenFeatureEnv(GoodEnv):
    """Answers element_at without declaring it: callers asking ``offers`` would never know."""

    name = "hidden"

    def element_at(self, point: Any, frame: Any = None) -> dict[str, Any] | None:
        return None


class StaleSnapshotEnv(GoodEnv):
    """Hands over privacy snapshots that ignore the secrets it was asked to look for."""

    name = "stale"
    features = frozenset({Feature.PRIVACY_SNAPSHOT})

    def _capture(self) -> Observation:
        obs = super()._capture()
        obs.privacy = PrivacySnapshot()
        return obs


class NoSpecEnv(GoodEnv):
    """Does not say how to build it again (the base class's spec())."""

    name = "nospec"
    spec = Env.spec


class DriftingSpecEnv(GoodEnv):
    """Its spec does not rebuild it: the setting it reports is not the one it was given."""

    name = "drifting"

    def __init__(self, level: int = 0) -> None:
        super().__init__()
        self.level = level

    def spec(self) -> EnvSpec:
        return EnvSpec(self.name, {"level": self.level + 1})


class OpaqueSpecEnv(GoodEnv):
    name = "opaque"

    def spec(self) -> EnvSpec:
        return EnvSpec(self.name, {"when": object()})


def failed(env_cls: type[Env]) -> set[str]:
    return {c.name for c in check_env(env_cls).failures}


def test_checker_passes_a_good_env_and_catches_bad_ones() -> None:
    report = assert_conforms(GoodEnv)
    names = [c.name for c in report.checks]
    assert names[:3] == ["name/capabilities", "reset", "observe repeatable"]
    assert {"step click", "step key", "step wait", "unsupported action"} <= set(names)
    assert failed(RaisingEnv) == {"step click", "off-screen point"}
    assert "reset" in failed(LyingSizeEnv)
    assert failed(NoClampEnv) == {"off-screen point"}
    assert failed(BadCapsEnv) == {"name/capabilities"}
    assert failed(RefusesWhatItDoesEnv) == {"name/capabilities"}
    assert failed(ClaimsFeaturesEnv) == {"feature element_at", "feature privacy_snapshot"}
    assert failed(HiddenFeatureEnv) == {"feature element_at"}
    assert failed(StaleSnapshotEnv) == {"feature privacy_snapshot"}
    assert failed(NoSpecEnv) == {"spec round-trips"}
    assert failed(DriftingSpecEnv) == {"spec round-trips"}
    assert failed(OpaqueSpecEnv) == {"spec round-trips"}
    spec_checks = {c.name: c.message for c in check_env(NoSpecEnv).checks}
    assert "implement spec()" in spec_checks["spec round-trips"]
    refusals = {c.name: c.message for c in report.checks if c.name.startswith("feature ")}
    assert len(refusals) == len(Feature)
    assert refusals["feature shell"] == "not offered: refuses with FeatureNotOfferedError"
    broken = check_env(lambda: (_ for _ in ()).throw(ActionFailedError("no")))
    assert not broken.passed and broken.checks[0].name == "construct"
    with pytest.raises(AssertionError, match="off-screen point"):
        assert_conforms(NoClampEnv)


def test_report_table_and_json() -> None:
    report = check_env(GoodEnv)
    assert "PASS" in report.table() and "good:" in report.table()
    data = json.loads(report.to_json())
    assert data["passed"] is True and data["env"] == "good"


def test_check_env_command_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-env", "android", "--kwargs", '{"adb_port": 1}']) == 2  # no server
    assert "adb start-server" in capsys.readouterr().err
    assert main(["check-env", "nosuchenv"]) == 2
    assert "unknown env" in capsys.readouterr().err


def test_check_env_command_on_the_fake_device(capsys: pytest.CaptureFixture[str]) -> None:
    from envs.android.fake_adb import FakeAdbServer

    with FakeAdbServer(HERE / "adb_transcripts" / "pixel_portrait.json") as fake:
        kwargs = json.dumps({"serial": "emulator-5554", "adb_port": fake.port, "settle": 0})
        acts = json.dumps([{"type": "open_app", "name": "settings"}])
        rc = main(["check-env", "android", "--kwargs", kwargs, "--actions", acts])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "step open_app" in out and "FAIL" not in out


def test_check_env_command_module_class(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-env", "board_env:BoardEnv", "--kwargs", '{"scale": 2}']) == 0
    assert "board: 22/22 checks passed" in capsys.readouterr().out
    assert main(["check-env", "board_env:Nope"]) == 2
    assert main(["check-env", "board_env:BoardEnv", "--env-kwargs", '{"zoom": 2}']) == 2
    assert "bad settings for the board_env:BoardEnv env" in capsys.readouterr().err


def test_android_fake_device_conforms() -> None:
    from envs.android import AndroidEnv
    from envs.android.fake_adb import FakeAdbServer

    with FakeAdbServer(HERE / "adb_transcripts" / "pixel_portrait.json") as fake:
        report = assert_conforms(lambda: AndroidEnv("emulator-5554", adb_port=fake.port, settle=0))
        assert fake.commands.count("screencap") >= 10  # raw capture
    checks = {c.name: c.message for c in report.checks}
    assert "step swipe" in checks
    assert checks["feature ui_hierarchy"] == "<hierarchy> with 2 node(s)"
    assert checks["feature shell"] == "exit 127"  # the fake answers like sh
    assert checks["feature element_at"].startswith("not offered")


@pytest.fixture(scope="module")
def xvfb() -> Iterator[Any]:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.fail("Xvfb and xdotool are needed: apt-get install xvfb xdotool (make install does)")
    from envs.desktop import Xvfb

    with Xvfb(1366, 768) as x:
        yield x


def test_desktop_with_a_real_app_conforms(xvfb: Any, tmp_path: Path) -> None:
    from envs.desktop import DesktopEnv

    app = [sys.executable, str(HERE / "fixtures" / "tk_app.py"), str(tmp_path / "log.jsonl")]
    report = assert_conforms(lambda: DesktopEnv(display=xvfb.display, app=app, settle=0.02))
    assert report.checks[1].message.startswith("1366x768")
    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert any(e["event"] == "geometry" for e in events)  # the app really ran


@pytest.mark.parametrize("dsf", [1.0, 2.0])
def test_browser_conforms(dsf: float, tmp_path: Path) -> None:
    from envs.browser import BrowserEnv

    page = tmp_path / "page.html"
    page.write_text("<title>t</title><body style='height:3000px'><button>OK</button><input>")
    url = page.as_uri()
    report = assert_conforms(lambda: BrowserEnv(url, viewport=(1366, 768), dsf=dsf))
    checks = {c.name: c.message for c in report.checks}
    assert {"step navigate", "step back", "step drag"} <= set(checks)
    assert report.checks[1].message.startswith(f"{int(1366 * dsf)}x{int(768 * dsf)}")
    assert checks["feature privacy_snapshot"] == "0 box(es), tied=True"
    assert checks["feature ui_hierarchy"].startswith("not offered")


@pytest.mark.browser
def test_miniwob_conforms() -> None:
    from envs.miniwob import MiniWobEnv

    report = assert_conforms(lambda: MiniWobEnv("click-test"))
    assert report.checks[1].message.startswith("320x420")  # 160x210 CSS px at DSF 2
