"""Android env: pure translation, then the env end to end over the adb protocol.

Without ANDROID_SERIAL the device is FakeAdbServer (a fake adb server replaying
tests/envs/adb_transcripts/*.json and recording every command), so each test asserts exactly
what the env sent. With ANDROID_SERIAL set, the ``device`` tests run against that real
device/emulator instead (command-exact assertions need the fake and are then left out; the
behaviour assertions remain). Transcript-specific tests (rotation, override size, ADBKeyBoard)
always use the fake: they test how the env reads what a device says.
"""

from __future__ import annotations

import base64
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from agent.core.actions import (
    Back,
    Click,
    Drag,
    Home,
    Key,
    LongPress,
    Navigate,
    OpenApp,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
)
from agent.core.coords import Frame, input_to_screen, screen_to_input
from agent.core.errors import ActionFailedError, EnvNotAvailableError
from envs.android import translate
from envs.android.env import AndroidEnv, screen_geometry
from envs.android.fake_adb import FakeAdbServer

TRANSCRIPTS = Path(__file__).parent / "adb_transcripts"
REAL_SERIAL = os.environ.get("ANDROID_SERIAL")


def ident(p: tuple[float, float]) -> tuple[int, int]:
    return round(p[0]), round(p[1])


# ---- pure translation ----------------------------------------------------------------------


def test_tap_swipe_long_press_drag_argv() -> None:
    s = (1080.0, 2400.0)
    assert translate.commands(Click(point=(540, 1200)), ident, s) == [
        ["input", "tap", "540", "1200"]
    ]
    assert translate.commands(LongPress(point=(10, 20), duration=1.5), ident, s) == [
        ["input", "swipe", "10", "20", "10", "20", "1500"]
    ]
    assert translate.commands(Swipe(start=(1, 2), end=(3, 4), duration=0.3), ident, s) == [
        ["input", "swipe", "1", "2", "3", "4", "300"]
    ]
    assert translate.commands(Drag(start=(1, 2), end=(3, 4)), ident, s) == [
        ["input", "draganddrop", "1", "2", "3", "4", "1200"]
    ]


def test_scroll_is_an_opposite_swipe() -> None:
    s = (1000.0, 2000.0)
    down = translate.commands(Scroll(direction="down", amount=5, point=(500, 1000)), ident, s)
    assert down == [["input", "swipe", "500", "1500", "500", "500", "300"]]  # finger goes up
    left = translate.commands(Scroll(direction="left", amount=2), ident, s)
    assert left == [["input", "swipe", "400", "1000", "600", "1000", "300"]]


def test_keys_back_home() -> None:
    s = (1.0, 1.0)
    assert translate.commands(Key(keys="enter"), ident, s) == [
        ["input", "keyevent", "KEYCODE_ENTER"]
    ]
    assert translate.commands(Key(keys="ctrl+a"), ident, s) == [
        ["input", "keycombination", "KEYCODE_CTRL_LEFT", "KEYCODE_A"]
    ]
    assert translate.key_argv("pageup") == ["input", "keyevent", "KEYCODE_PAGE_UP"]
    assert translate.commands(Back(), ident, s) == [["input", "keyevent", "KEYCODE_BACK"]]
    assert translate.commands(Home(), ident, s) == [["input", "keyevent", "KEYCODE_HOME"]]
    with pytest.raises(ActionFailedError):
        translate.key_argv("nosuchkey")


def test_text_escaping_and_adbkeyboard() -> None:
    assert translate.text_argv("hello world", adbkeyboard=False) == [
        "input",
        "text",
        "hello%sworld",
    ]
    assert translate.text_argv("a'b\"c&d", adbkeyboard=False) == ["input", "text", "a'b\"c&d"]
    with pytest.raises(ActionFailedError, match="ADBKeyBoard"):
        translate.text_argv("naïve café", adbkeyboard=False)
    argv = translate.text_argv("naïve café", adbkeyboard=True)
    assert argv[:6] == ["am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg"]
    assert base64.b64decode(argv[6]).decode() == "naïve café"


def test_type_with_point_clear_enter() -> None:
    argv = translate.commands(
        Type(text="hi", point=(5, 6), clear=True, enter=True), ident, (10.0, 10.0)
    )
    assert argv[0] == ["input", "tap", "5", "6"]
    assert argv[1] == ["input", "keyevent", "KEYCODE_MOVE_END"]
    assert argv[2][:3] == ["input", "keyevent", "KEYCODE_DEL"]
    assert argv[3:] == [["input", "text", "hi"], ["input", "keyevent", "KEYCODE_ENTER"]]


def test_open_app_resolution() -> None:
    launcher = ["-c", "android.intent.category.LAUNCHER", "1"]
    assert translate.resolve_app("Settings", {}) == [
        "monkey",
        "-p",
        "com.android.settings",
        *launcher,
    ]
    assert translate.resolve_app("org.example.app", {})[2] == "org.example.app"
    assert translate.resolve_app("notes", {"notes": "org.notes"})[2] == "org.notes"
    assert translate.resolve_app("com.android.settings/.Settings", {}) == [
        "am",
        "start",
        "-n",
        "com.android.settings/.Settings",
    ]
    with pytest.raises(ActionFailedError, match="package name"):
        translate.resolve_app("rm -rf /", {})


def test_parsers() -> None:
    phys, over = translate.parse_wm_size("Physical size: 1440x3120\nOverride size: 1080x2340")
    assert (phys, over) == ((1440, 3120), (1080, 2340))
    assert translate.parse_wm_size("Physical size: 1080x2400")[1] is None
    assert translate.parse_wm_density("Physical density: 420\nOverride density: 320") == (420, 320)
    assert translate.parse_surface_rotation("  SurfaceOrientation: 3\n") == 3
    assert translate.parse_surface_rotation("", "mCurrentRotation=ROTATION_90") == 1
    assert translate.parse_surface_rotation("", "mRotation=2") == 2
    assert [translate.frame_rotation(r) for r in range(4)] == [0, 270, 180, 90]
    assert translate.has_adbkeyboard("a/.B\ncom.android.adbkeyboard/.AdbIME\n")


def test_screen_geometry() -> None:
    portrait = (1080, 2400)
    assert screen_geometry((1080, 2400), portrait, portrait, 0, "auto") == (0, 1.0)
    assert screen_geometry((2400, 1080), portrait, portrait, 1, "auto") == (0, 1.0)
    assert screen_geometry((1080, 2400), portrait, portrait, 1, "auto") == (270, 1.0)
    assert screen_geometry((1080, 2400), portrait, portrait, 3, "auto") == (90, 1.0)
    assert screen_geometry((1440, 3120), (1440, 3120), (1080, 2340), 0, "auto") == (0, 1440 / 1080)


def test_natural_capture_rotation_maps_to_the_upright_display() -> None:
    """ROTATION_90, portrait screencap: the panel's top-right is the user's top-left."""
    f = Frame.for_screen(1080, 2400, rotation=270)
    assert f.input_size_units == (2400, 1080)
    assert screen_to_input(f, 1079, 0) == (0, 0)
    assert screen_to_input(f, 1079, 2399) == (2399, 0)
    assert screen_to_input(f, 0, 0) == (0, 1079)
    assert input_to_screen(f, 0, 0) == (1079, 0)


# ---- over the adb protocol -----------------------------------------------------------------


class Device:
    """The env under test plus what it sent (None on a real device)."""

    def __init__(self, env: AndroidEnv, fake: FakeAdbServer | None) -> None:
        self.env, self.fake = env, fake

    def sent(self) -> list[str] | None:
        return None if self.fake is None else self.fake.commands

    def clear(self) -> None:
        if self.fake is not None:
            self.fake.clear()


def fake_env(name: str, **kw: object) -> tuple[FakeAdbServer, AndroidEnv]:
    fake = FakeAdbServer(TRANSCRIPTS / name).start()
    env = AndroidEnv(fake.transcript.serial, adb_port=fake.port, settle=0, **kw)  # type: ignore[arg-type]
    return fake, env


@contextmanager
def _fake_device() -> Iterator[Device]:
    fake, env = fake_env("pixel_portrait.json")
    try:
        yield Device(env, fake)
    finally:
        env.close()
        fake.stop()


@pytest.fixture
def fake_device() -> Iterator[Device]:
    """Always the fake: for behaviour whose outcome only a transcript can fix (which IME
    is installed, what an app launch answers)."""
    with _fake_device() as d:
        yield d


@pytest.fixture
def device() -> Iterator[Device]:
    """The real device when ANDROID_SERIAL is set, else the fake."""
    if REAL_SERIAL:
        env = AndroidEnv(REAL_SERIAL)
        yield Device(env, None)
        env.close()
        return
    with _fake_device() as d:
        yield d


def test_reset_reads_geometry_and_screencaps(device: Device) -> None:
    obs = device.env.reset()
    w, h = obs.size
    assert obs.array.shape == (h, w, 3) and w > 0 and h > 0
    assert not obs.has_png and obs.png.startswith(b"\x89PNG")  # encoded only to record it
    assert obs.extra["serial"] == device.env.serial
    assert set(obs.timings) >= {"capture_s", "decode_s"}
    if device.fake is not None:
        assert (w, h) == (1080, 2400) and obs.scale == 1.0 and obs.rotation == 0
        assert tuple(obs.array[10, 10]) == (255, 0, 0)  # the fake screen's marker
        assert obs.extra["density"] == 420
        assert device.sent()[:3] == ["wm size", "wm density", "screencap"]  # raw, no -p
        assert ("exec", "screencap") in device.fake.received


@pytest.mark.parametrize("name", sorted(p.name for p in TRANSCRIPTS.glob("*.json")))
def test_raw_capture_decodes_to_the_png_pixels(name: str) -> None:
    """The same screen through ``screencap`` (raw RGBA, decoded with numpy) and through
    ``screencap -p`` (PNG, decoded by Pillow): identical pixels and geometry."""
    shots = {}
    for raw in (True, False):
        fake, env = fake_env(name, raw_capture=raw)
        try:
            obs = env.reset()
            shots[raw] = (obs.array, obs.size, obs.scale, obs.rotation)
            caps = [c for c in fake.commands if c.startswith("screencap")]
            assert caps == (["screencap"] if raw else ["screencap -p"])
        finally:
            env.close()
            fake.stop()
    (a, *geo_a), (b, *geo_b) = shots[True], shots[False]
    assert geo_a == geo_b and a.dtype == b.dtype == np.uint8
    assert np.array_equal(a, b)


def test_unreadable_raw_capture_falls_back_to_png() -> None:
    fake, env = fake_env("pixel_portrait.json")
    fake.respond(match="screencap", stdout="screencap: unknown option\n")
    try:
        obs = env.reset()
        env.observe()
        assert obs.size == (1080, 2400) and tuple(obs.array[10, 10]) == (255, 0, 0)
        caps = [c for c in fake.commands if c.startswith("screencap")]
        assert caps == ["screencap", "screencap -p", "screencap -p"]  # raw tried once
    finally:
        env.close()
        fake.stop()


def test_tap_sends_exact_device_px(device: Device) -> None:
    obs = device.env.reset()
    w, h = obs.size
    device.clear()
    res = device.env.step(Click(point=(w / 2, h / 2)))
    assert res.observation.last_action_error is None and not res.truncated
    if device.fake is not None:
        assert device.sent()[0] == "input tap 540 1200"


def test_swipe_long_press_keys(device: Device) -> None:
    device.env.reset()
    device.clear()
    for act in (
        Swipe(start=(540, 1800), end=(540, 600), duration=0.3),
        LongPress(point=(100, 200), duration=0.8),
        Key(keys="enter"),
        Back(),
        Home(),
        Wait(seconds=0.01),
    ):
        res = device.env.step(act)
        assert res.observation.last_action_error is None, act
    if device.fake is not None:
        sent = [c for c in device.sent() if c.startswith("input")]
        assert sent == [
            "input swipe 540 1800 540 600 300",
            "input swipe 100 200 100 200 800",
            "input keyevent KEYCODE_ENTER",
            "input keyevent KEYCODE_BACK",
            "input keyevent KEYCODE_HOME",
        ]


def test_text_is_shell_quoted_once(device: Device) -> None:
    device.env.reset()
    device.clear()
    res = device.env.step(Type(text="it's a b&c"))
    assert res.observation.last_action_error is None
    if device.fake is not None:
        assert device.sent()[0] == "input text 'it'\"'\"'s%sa%sb&c'"


def test_off_screen_and_unsupported_are_action_errors(device: Device) -> None:
    device.env.reset()
    device.clear()
    res = device.env.step(Click(point=(-500, 99999)))
    assert "CoordinateError" in (res.observation.last_action_error or "")
    res = device.env.step(RightClick(point=(1, 1)))
    assert "ActionNotSupportedError" in (res.observation.last_action_error or "")
    if device.fake is not None:
        assert not [c for c in device.sent() if c.startswith("input")]


def test_non_ascii_without_adbkeyboard_names_it(fake_device: Device) -> None:
    device = fake_device
    device.env.reset()
    res = device.env.step(Type(text="naïve café"))
    assert "ADBKeyBoard" in (res.observation.last_action_error or "")
    assert "ime list -s" in device.sent()


def test_open_app(fake_device: Device) -> None:
    device = fake_device
    device.env.reset()
    device.clear()
    assert device.env.step(OpenApp(name="Settings")).observation.last_action_error is None
    assert (
        device.sent()[0] == "monkey -p com.android.settings -c android.intent.category.LAUNCHER 1"
    )
    assert device.env.observe().app == "com.android.settings"
    res = device.env.step(OpenApp(name="org.missing.app"))
    assert "No activities found" in (res.observation.last_action_error or "")
    device.env.step(Navigate(url="https://example.com/"))
    assert "am start -a android.intent.action.VIEW -d https://example.com/" in device.sent()


@pytest.mark.skipif(not REAL_SERIAL, reason="needs a real device/emulator (set ANDROID_SERIAL)")
def test_real_app_launch_changes_the_screen() -> None:
    env = AndroidEnv(REAL_SERIAL)
    try:
        before = env.reset()
        env.step(Home())
        res = env.step(OpenApp(name="Settings"))
        assert res.observation.last_action_error is None
        assert res.observation.png != before.png
    finally:
        env.close()


def test_non_ascii_with_adbkeyboard() -> None:
    fake, env = fake_env("adbkeyboard.json")
    try:
        env.reset()
        fake.clear()
        res = env.step(Type(text="naïve café", point=(540, 1200)))
        assert res.observation.last_action_error is None
        b64 = base64.b64encode("naïve café".encode()).decode()
        assert fake.commands[:5] == [
            "ime list -s",
            "settings get secure default_input_method",
            "ime set com.android.adbkeyboard/.AdbIME",
            "input tap 540 1200",
            f"am broadcast -a ADB_INPUT_B64 --es msg {b64}",
        ]
        env.close()  # restores the user's keyboard
        assert fake.commands[-1].startswith("ime set com.google.android.inputmethod.latin/")
    finally:
        env.close()
        fake.stop()


def test_landscape_screencap_is_used_as_is() -> None:
    fake, env = fake_env("pixel_landscape.json")
    try:
        obs = env.reset()
        assert (
            obs.size == (2400, 1080) and obs.rotation == 0 and obs.extra["surface_rotation"] == 90
        )
        fake.clear()
        env.step(Click(point=(2000, 100)))
        assert fake.commands[0] == "input tap 2000 100"
    finally:
        env.close()
        fake.stop()


def test_natural_orientation_screencap_gets_a_frame_rotation() -> None:
    fake, env = fake_env("natural_capture_landscape.json")
    try:
        obs = env.reset()
        assert obs.size == (1080, 2400) and obs.rotation == 270
        fake.clear()
        # the panel's top-right corner is the user's top-left in landscape
        env.step(Click(point=(1079, 0)))
        env.step(Click(point=(1000, 300)))
        taps = [c for c in fake.commands if c.startswith("input")]
        assert taps == ["input tap 0 0", "input tap 300 79"]
    finally:
        env.close()
        fake.stop()


def test_override_size_gives_a_scale() -> None:
    fake, env = fake_env("override_size.json")
    try:
        obs = env.reset()
        assert obs.size == (1440, 3120) and obs.scale == pytest.approx(4 / 3)
        assert obs.extra["physical_size"] == [1440, 3120] and obs.extra["logical_size"] == [
            1080,
            2340,
        ]
        fake.clear()
        env.step(Click(point=(720, 1560)))
        assert fake.commands[0] == "input tap 540 1170"
    finally:
        env.close()
        fake.stop()


def test_device_gone_truncates() -> None:
    fake, env = fake_env("pixel_portrait.json")
    try:
        env.reset()
        fake.online = False
        res = env.step(Click(point=(10, 10)))
        assert res.truncated and "gone" in (res.observation.last_action_error or "")
    finally:
        env.close()
        fake.stop()


def test_no_server_or_no_device_names_the_fix() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(EnvNotAvailableError, match="adb start-server"):
        AndroidEnv(adb_port=free)
    with FakeAdbServer(TRANSCRIPTS / "pixel_portrait.json") as fake:
        with pytest.raises(EnvNotAvailableError, match="emulator -avd"):
            AndroidEnv("emulator-9999", adb_port=fake.port)
        fake.online = False
        with pytest.raises(EnvNotAvailableError, match="no Android device"):
            AndroidEnv(adb_port=fake.port)


def test_a_vanished_server_is_not_restarted() -> None:
    """adbutils would run `adb start-server` on a failed connect; the env must not."""
    fake, env = fake_env("pixel_portrait.json")
    try:
        env.reset()
        fake.stop()
        res = env.step(Click(point=(10, 10)))
        assert res.truncated
    finally:
        env.close()
        fake.stop()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", 5037)) != 0  # no real adb server was started
