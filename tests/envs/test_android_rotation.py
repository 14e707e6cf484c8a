"""An upside-down phone (surface rotation 180°) whose screencap stays in the panel's natural
orientation (issue 15): a tap on the screenshot reaches ``input tap`` with *both* axes
flipped, so the user's top-left is the panel's bottom-right. Fake adb server (a recorded
transcript, every command captured), the real AndroidEnv."""

from __future__ import annotations

from pathlib import Path

from agent.core.actions import Click
from envs.android import AndroidEnv
from envs.android.fake_adb import FakeAdbServer

TRANSCRIPT = Path(__file__).parent / "adb_transcripts" / "pixel_portrait.json"
UPSIDE_DOWN = (
    "Input Manager State:\n  Interactive: true\nInput Reader State:\n"
    "    Touch Input Mapper (mode - DIRECT):\n      SurfaceOrientation: 2\n"
    "      SurfaceWidth: 1080px\n      SurfaceHeight: 2400px\n"
)


def test_a_tap_on_an_upside_down_natural_capture_flips_both_axes() -> None:
    with FakeAdbServer(TRANSCRIPT) as fake:
        fake.respond(match="dumpsys input", stdout=UPSIDE_DOWN)
        env = AndroidEnv(adb_port=fake.port, settle=0, screencap_orientation="natural")
        try:
            obs = env.reset()
            assert obs.size == (1080, 2400) and obs.rotation == 180
            fake.clear()
            env.step(Click(point=(100, 300)))
            env.step(Click(point=(1079, 0)))
        finally:
            env.close()
    sent = [c for c in fake.commands if c.startswith("input")]
    assert sent == ["input tap 979 2099", "input tap 0 2399"]
