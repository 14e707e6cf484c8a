"""Desktop input capture (envs/desktop/record.py): real input from xdotool on the Tk fixture
under one Xvfb, captured through the X RECORD extension as RawEvents; plus the pure parts
(keymap levels, key names, the server clock) without X."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.coords import Frame
from agent.core.env import Feature
from agent.core.errors import EnvClosedError
from agent.core.inputs import RawEvent
from envs.desktop.env import DesktopEnv
from envs.desktop.record import (
    WHEEL_NOTCH_PX,
    KeyMap,
    ServerClock,
    XInputSource,
    key_name,
    keysym_text,
    modifier_names,
)

TK_APP = Path(__file__).parent / "fixtures" / "tk_app.py"
SENTINEL = (1365, 767)  # the last pixel: a move there ends each capture

# ---- pure: keymap levels, names, the clock -------------------------------------------------


def test_keymap_levels_shift_caps_lock_altgr_numlock() -> None:
    # keycode 10: 1 !; 38: a A (group 2: a A) level 3: æ Æ; 87: KP_End KP_1
    rows = [[0x31, 0x21]] + [[0]] * 27 + [[0x61, 0x41, 0x61, 0x41, 0xE6, 0xC6]]
    rows += [[0]] * 48 + [[0xFF9C, 0xFFB1]]
    mods = {1: "shift", 4: "ctrl", 8: "alt", 16: "numlock", 64: "meta", 128: "altgr"}
    km = KeyMap(10, rows, mods)
    assert (km.text(38, 0), km.text(38, 1), km.text(38, 2), km.text(38, 3)) == ("a", "A", "A", "a")
    assert (km.text(10, 0), km.text(10, 1), km.text(10, 2)) == ("1", "!", "1")  # Lock: letters
    assert (km.text(38, 0x80), km.text(38, 0x81)) == ("æ", "Æ")
    assert (km.text(87, 0), km.text(87, 16), km.text(87, 17)) == (None, "1", None)
    assert km.text(38, 4) is None and km.text(38, 8) is None and km.text(38, 64) is None
    assert km.modifiers(1 | 4 | 8 | 16 | 64 | 128 | 256) == ("ctrl", "shift", "alt", "meta")
    km.change(38, [[0x01000439]])  # remapped to one keysym (what xdotool type does): й Й
    assert (km.text(38, 0), km.text(38, 1)) == ("й", "Й")


def test_key_names_reverse_the_desktop_keys() -> None:
    names = {0xFF0D: "enter", 0xFFE2: "shift", 0xFFE3: "ctrl", 0xFF55: "pageup", 0x61: "a"}
    names |= {0x31: "1", 0xFFBE: "f1", 0xFE03: "altgr", 0xFF8D: "enter", 0xFFEB: "meta"}
    assert {k: key_name(k) for k in names} == names
    assert key_name(0x2D) == "minus" and key_name(0xE9) == "eacute"
    assert keysym_text(0x20) == " " and keysym_text(0xFF0D) is None
    assert keysym_text(0x010020AC) == "€" and keysym_text(0xFFB7) == "7"


def test_server_clock_maps_wraps_and_never_goes_back() -> None:
    clock = ServerClock(ref_ms=(1 << 32) - 10, ref_t=100.0, error=0.001)
    assert clock.to_monotonic((1 << 32) - 10) == 100.0
    assert clock.to_monotonic(5) == pytest.approx(100.015)  # across the 32-bit wrap
    assert clock.to_monotonic((1 << 32) - 20) == pytest.approx(100.015)  # never earlier


# ---- real X: Xvfb + Tk + xdotool -----------------------------------------------------------


@pytest.fixture(scope="module")
def xvfb() -> Iterator[Any]:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.fail("Xvfb and xdotool are needed: apt-get install xvfb xdotool (make install does)")
    from envs.desktop import Xvfb

    with Xvfb(1366, 768) as x:
        yield x


@pytest.fixture(scope="module")
def tk(xvfb: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DesktopEnv, dict]]:
    log_path = tmp_path_factory.mktemp("tk") / "events.jsonl"
    env = DesktopEnv(display=xvfb.display, app=[sys.executable, str(TK_APP), str(log_path)])
    env.reset()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lines = log_path.read_text(encoding="utf-8").splitlines() if log_path.exists() else []
        geo = [json.loads(s) for s in lines if '"geometry"' in s]
        if geo:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the Tk fixture reported no geometry")
    yield env, geo[0]["widgets"]
    env.close()


def xdo(env: DesktopEnv, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=env._env, check=True, timeout=30)


def capture(
    env: DesktopEnv, *commands: list[str]
) -> tuple[list[RawEvent], list[tuple[float, float]], float]:
    """Start a capture, run the xdotool command lines, end with a move to SENTINEL and
    collect up to it → (events, each command's (t before, t after), the clock's error bound).
    xdotool syncs before it exits, so the server stamps its events inside its bracket."""
    source = env.input_source()
    source.start()
    try:
        windows = []
        for argv in commands:
            t0 = time.monotonic()
            xdo(env, *argv)
            windows.append((t0, time.monotonic()))
        xdo(env, "mousemove", *map(str, SENTINEL))
        got: list[RawEvent] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got += source.poll()
            if any(e.kind == "move" and (e.x, e.y) == SENTINEL for e in got):
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"the sentinel move never arrived: {got[-5:]}")
        error = source.clock_error  # type: ignore[attr-defined]
    finally:
        source.stop()
    end = next(i for i, e in enumerate(got) if e.kind == "move" and (e.x, e.y) == SENTINEL)
    return got[:end], windows, error


def centre(widgets: dict, name: str) -> tuple[int, int]:
    w = widgets[name]
    return w["x"] + w["w"] // 2, w["y"] + w["h"] // 2


def kinds(events: list[RawEvent]) -> list[str]:
    return [e.kind for e in events if e.kind != "move"]


def test_click_exact_point_target_and_times(tk: tuple[DesktopEnv, dict]) -> None:
    env, widgets = tk
    assert env.offers(Feature.INPUT_RECORDING)
    x, y = centre(widgets, "ok")
    events, (move, click), err = capture(env, ["mousemove", str(x), str(y)], ["click", "1"])
    assert kinds(events) == ["down", "up"]
    down, up = (e for e in events if e.kind != "move")
    last_move = [e for e in events if e.kind == "move"][-1]
    assert (last_move.x, last_move.y) == (down.x, down.y) == (up.x, up.y) == (x, y)
    assert down.button == up.button == "left" and down.modifiers == ()
    ok = widgets["ok"]
    assert down.target is not None and down.target["class"] == "Tkfixture"
    assert down.target["name"] == "native-agent tk fixture"
    assert down.target["box"] == [ok["x"], ok["y"], ok["x"] + ok["w"], ok["y"] + ok["h"]]
    assert err < 0.05  # a local round trip
    times = [e.t for e in events]
    assert times == sorted(times)
    assert all(move[0] - err <= e.t <= move[1] + err for e in events if e.kind == "move")
    assert all(click[0] - err <= e.t <= click[1] + err for e in (down, up)), (click, times)


def test_double_right_and_middle_clicks(tk: tuple[DesktopEnv, dict]) -> None:
    env, widgets = tk
    x, y = centre(widgets, "canvas")
    events, *_ = capture(
        env,
        ["mousemove", str(x), str(y)],
        ["click", "--repeat", "2", "--delay", "60", "1"],
        ["click", "3"],
        ["click", "2"],
    )
    presses = [(e.kind, e.button, e.x, e.y) for e in events if e.kind != "move"]
    left = [("down", "left", x, y), ("up", "left", x, y)]
    right, middle = (
        [(k, "right", x, y) for k in ("down", "up")],
        [(k, "middle", x, y) for k in ("down", "up")],
    )
    assert presses == left + left + right + middle


def test_typed_word_with_shift_and_punctuation(tk: tuple[DesktopEnv, dict]) -> None:
    env, widgets = tk
    xdo(env, "mousemove", *map(str, centre(widgets, "entry")), "click", "1")
    events, *_ = capture(env, ["type", "--delay", "20", "Hi a-b!é"])  # é: xdotool remaps
    downs = [e for e in events if e.kind == "key_down"]
    typed = [e.text for e in downs if e.text is not None]
    assert "".join(typed) == "Hi a-b!é"
    keys = ["h", "i", "space", "a", "minus", "b", "1", "eacute"]
    assert [e.key for e in downs if e.text is not None] == keys
    shifted = [e for e in downs if e.text in ("H", "!")]
    assert all(e.modifiers == ("shift",) for e in shifted)
    assert all(e.modifiers == () for e in downs if e.text in ("i", "a", "-"))
    assert sum(e.key == "shift" for e in downs) == 2 and all(e.x is None for e in downs)
    ups = [e.key for e in events if e.kind == "key_up"]
    assert sorted(ups) == sorted(e.key for e in downs)  # every press released, by name


def test_chords_list_their_modifiers_and_type_nothing(tk: tuple[DesktopEnv, dict]) -> None:
    env, widgets = tk
    xdo(env, "mousemove", *map(str, centre(widgets, "entry")), "click", "1")
    events, *_ = capture(env, ["key", "ctrl+a"], ["key", "ctrl+shift+Home"], ["key", "Return"])
    downs = [(e.key, e.modifiers, e.text) for e in events if e.kind == "key_down"]
    assert downs == [
        ("ctrl", (), None),
        ("a", ("ctrl",), None),
        ("ctrl", (), None),
        ("shift", ("ctrl",), None),
        ("home", ("ctrl", "shift"), None),
        ("enter", (), None),
    ]


def test_wheel_notches_become_px(tk: tuple[DesktopEnv, dict]) -> None:
    env, widgets = tk
    x, y = centre(widgets, "text")
    events, *_ = capture(env, ["mousemove", str(x), str(y)], ["click", "--repeat", "2", "5"],
                         ["click", "4"], ["click", "6"], ["click", "7"])  # fmt: skip
    wheel = [(e.dx, e.dy, e.x, e.y) for e in events if e.kind != "move"]
    n = WHEEL_NOTCH_PX
    assert wheel == [(0, n, x, y), (0, n, x, y), (0, -n, x, y), (-n, 0, x, y), (n, 0, x, y)]
    assert all(e.kind == "wheel" for e in events if e.kind != "move")


def test_drag_press_moves_release(tk: tuple[DesktopEnv, dict]) -> None:
    env, widgets = tk
    c = widgets["canvas"]
    a, b = (c["x"] + 40, c["y"] + 40), (c["x"] + 160, c["y"] + 90)
    events, *_ = capture(
        env,
        ["mousemove", *map(str, a)],
        ["mousedown", "1"],
        ["mousemove", str(a[0] + 60), str(a[1] + 20)],
        ["mousemove", *map(str, b)],
        ["mouseup", "1"],
    )
    down = next(i for i, e in enumerate(events) if e.kind == "down")
    up = next(i for i, e in enumerate(events) if e.kind == "up")
    assert (events[down].x, events[down].y) == a and (events[up].x, events[up].y) == b
    between = [(e.x, e.y) for e in events[down + 1 : up] if e.kind == "move"]
    assert between == [(a[0] + 60, a[1] + 20), b]


def test_offset_monitor_coordinates_go_through_the_frame(tk: tuple[DesktopEnv, dict]) -> None:
    env, _ = tk
    frame = Frame(screen_w=683, screen_h=768, input_w=700, input_h=784, offset_x=683.0)
    source = XInputSource(env.display, frame, targets=False)
    source.start()
    try:
        xdo(env, "mousemove", "700", "300")
        deadline, got = time.monotonic() + 10, []
        while not got and time.monotonic() < deadline:
            got = [e for e in source.poll() if e.kind == "move"]
            time.sleep(0.01)
    finally:
        source.stop()
    assert (got[-1].x, got[-1].y) == (17.0, 300.0)  # 700 − the monitor's left edge


def test_modifier_map_names_the_servers_mod_bits(tk: tuple[DesktopEnv, dict]) -> None:
    from Xlib.display import Display

    conn = Display(tk[0].display)
    try:
        names = modifier_names(conn)
    finally:
        conn.close()
    assert names == {1: "shift", 4: "ctrl", 8: "alt", 16: "numlock", 64: "meta", 128: "altgr"}


def _x_sockets() -> int:
    """Open sockets of this process (the X connections among them)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own fd, closed already
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def test_stop_releases_thread_and_connections(tk: tuple[DesktopEnv, dict]) -> None:
    env, widgets = tk
    sockets = _x_sockets()
    source = env.input_source()
    source.start()
    assert _x_sockets() == sockets + 3 and source.alive  # type: ignore[attr-defined]
    source.stop()
    source.stop()  # twice is fine
    assert _x_sockets() == sockets
    assert not any(t.name == "x-input-record" for t in threading.enumerate())
    events, *_ = capture(env, ["mousemove", *map(str, centre(widgets, "ok"))])  # a second one
    assert events and events[-1].kind == "move"


@pytest.mark.timeout(60)
def test_display_gone_is_a_typed_error_and_stop_returns() -> None:
    from envs.desktop import Xvfb

    xv = Xvfb(320, 240).start()
    try:
        source = XInputSource(
            xv.display, Frame(screen_w=320, screen_h=240, input_w=336, input_h=252)
        )
        source.start()
        xv.stop()
        deadline = time.monotonic() + 10
        with pytest.raises(EnvClosedError, match="ended"):
            while time.monotonic() < deadline:
                source.poll()
                time.sleep(0.01)
        source.stop()
        assert not source.alive
    finally:
        xv.stop()
