"""Desktop env: the pure xdotool translation (no X) and the real thing — Xvfb started here,
a real Tk application (fixtures/tk_app.py) whose event log proves each effect."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.actions import (
    Click,
    DoubleClick,
    Drag,
    Hover,
    Key,
    MiddleClick,
    OpenApp,
    RightClick,
    Scroll,
    Type,
    Wait,
)
from agent.core.coords import Frame, screen_to_input
from agent.core.errors import ActionFailedError, ActionNotSupportedError, EnvNotAvailableError
from envs.desktop import translate
from envs.desktop.env import DesktopEnv, bgra_to_rgb, monitor_geometry
from envs.desktop.keys import xdotool_combo

TK_APP = Path(__file__).parent / "fixtures" / "tk_app.py"


def ident(p: tuple[float, float]) -> tuple[int, int]:
    return round(p[0]), round(p[1])


# ---- pure translation ----------------------------------------------------------------------


def test_click_family_argv() -> None:
    assert translate.commands(Click(point=(10.4, 20.6)), ident, (0, 0)) == [
        ["xdotool", "mousemove", "10", "21"],
        ["xdotool", "click", "1"],
    ]
    assert translate.commands(RightClick(point=(1, 2)), ident, (0, 0))[1] == [
        "xdotool",
        "click",
        "3",
    ]
    assert translate.commands(MiddleClick(point=(1, 2)), ident, (0, 0))[1][-1] == "2"
    dbl = translate.commands(DoubleClick(point=(1, 2)), ident, (0, 0))[1]
    assert dbl == ["xdotool", "click", "--repeat", "2", "--delay", "60", "1"]
    assert translate.commands(Hover(point=(5, 6)), ident, (0, 0)) == [
        ["xdotool", "mousemove", "5", "6"]
    ]


def test_drag_argv_presses_moves_releases() -> None:
    argv = translate.commands(Drag(start=(0, 0), end=(80, 40)), ident, (0, 0))
    assert argv[0] == ["xdotool", "mousemove", "0", "0"]
    assert argv[1] == ["xdotool", "mousedown", "1"]
    moves = [a for a in argv[2:] if a[1] == "mousemove"]
    assert len(moves) == translate.DRAG_STEPS and moves[-1] == ["xdotool", "mousemove", "80", "40"]
    assert argv[-1] == ["xdotool", "mouseup", "1"]


def test_type_argv_click_clear_text_enter() -> None:
    act = Type(text="naïve café", point=(3, 4), clear=True, enter=True)
    assert translate.commands(act, ident, (0, 0)) == [
        ["xdotool", "mousemove", "3", "4"],
        ["xdotool", "click", "1"],
        ["xdotool", "key", "--clearmodifiers", "ctrl+a"],
        ["xdotool", "key", "--clearmodifiers", "BackSpace"],
        ["xdotool", "type", "--delay", "12", "--", "naïve café"],
        ["xdotool", "key", "--clearmodifiers", "Return"],
    ]
    assert translate.commands(Type(text="-x"), ident, (0, 0)) == [
        ["xdotool", "type", "--delay", "12", "--", "-x"]
    ]


@pytest.mark.parametrize(
    ("ours", "xdo"),
    [
        ("ctrl+c", "ctrl+c"),
        ("enter", "Return"),
        ("pageup", "Prior"),
        ("pagedown", "Next"),
        ("up", "Up"),
        ("shift+tab", "shift+Tab"),
        ("ctrl+shift+t", "ctrl+shift+t"),
        ("meta+l", "super+l"),
        ("escape", "Escape"),
        ("f5", "F5"),
        ("alt+f4", "alt+F4"),
        ("backspace", "BackSpace"),
        ("ctrl", "Control_L"),
    ],
)
def test_key_names(ours: str, xdo: str) -> None:
    assert xdotool_combo(Key(keys=ours).keys) == xdo


def test_unknown_key_is_an_action_error() -> None:
    with pytest.raises(ActionFailedError):
        xdotool_combo("ctrl+nosuchkey")
    with pytest.raises(ActionFailedError):
        xdotool_combo("a+b")


def test_scroll_argv_buttons_times_amount() -> None:
    for direction, button in (("up", "4"), ("down", "5"), ("left", "6"), ("right", "7")):
        argv = translate.commands(
            Scroll(direction=direction, amount=3, point=(7, 8)), ident, (0, 0)
        )
        assert argv == [
            ["xdotool", "mousemove", "7", "8"],
            ["xdotool", "click", "--repeat", "3", "--delay", "20", button],
        ]
    centre = translate.commands(Scroll(direction="down"), ident, (50, 60))
    assert centre[0] == ["xdotool", "mousemove", "50", "60"]


def test_wait_and_open_app_allow_list() -> None:
    assert translate.commands(Wait(seconds=0.5), ident, (0, 0)) == [["xdotool", "sleep", "0.5"]]
    allow = {"Editor": ["mousepad"]}
    assert translate.resolve_app("editor", allow) == ["mousepad"]
    with pytest.raises(ActionFailedError, match="not allowed"):
        translate.resolve_app("rm", allow)
    with pytest.raises(ActionNotSupportedError):  # open_app is the I/O layer's, not xdotool's
        translate.commands(OpenApp(name="x"), ident, (0, 0))


def test_multi_monitor_offset_and_scale_go_through_coords() -> None:
    monitors = [
        {"left": 0, "top": 0, "width": 4480, "height": 1440},
        {"left": 0, "top": 0, "width": 1920, "height": 1080},
        {"left": 1920, "top": 0, "width": 2560, "height": 1440},
    ]
    mon, offset = monitor_geometry(monitors, 2, 1.0)
    assert mon["width"] == 2560 and offset == (1920.0, 0.0)
    frame = Frame.for_screen(2560, 1440, offset=offset)
    assert screen_to_input(frame, 100, 200) == (2020, 200)
    _, offset2 = monitor_geometry(monitors, 2, 2.0)  # HiDPI backend in logical points
    frame2 = Frame.for_screen(2560, 1440, scale=2.0, offset=offset2)
    assert screen_to_input(frame2, 100, 200) == (1010, 100)
    with pytest.raises(EnvNotAvailableError, match="monitor 3"):
        monitor_geometry(monitors, 3, 1.0)


def test_no_display_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(EnvNotAvailableError, match="Xvfb :99"):
        DesktopEnv()


def test_unreachable_display_names_the_fix() -> None:
    assert shutil.which("xdotool"), "xdotool is needed: apt-get install xdotool"
    with pytest.raises(EnvNotAvailableError, match="export DISPLAY"):
        DesktopEnv(display=":4711")


# ---- real X: Xvfb + Tk ---------------------------------------------------------------------


class TkLog:
    """Reads the Tk fixture's JSON-lines event log."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mark = 0

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    def since_mark(self) -> list[dict[str, Any]]:
        return self.events()[self.mark :]

    def set_mark(self) -> None:
        self.mark = len(self.events())

    def wait(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.since_mark():
                if pred(e):
                    return e
            time.sleep(0.05)
        raise AssertionError(f"no matching event; got {self.since_mark()[-10:]}")

    def geometry(self) -> dict[str, Any]:
        saved, self.mark = self.mark, 0
        try:
            return self.wait(lambda e: e["event"] == "geometry", timeout=15)
        finally:
            self.mark = saved


@pytest.fixture(scope="module")
def xvfb() -> Iterator[Any]:
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.fail("Xvfb and xdotool are needed: apt-get install xvfb xdotool (make install does)")
    from envs.desktop import Xvfb

    with Xvfb(1366, 768) as x:  # an odd size on purpose: no accidental multiples of 28
        yield x


@pytest.fixture(scope="module")
def tk(xvfb: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DesktopEnv, TkLog]]:
    log_path = tmp_path_factory.mktemp("tk") / "events.jsonl"
    env = DesktopEnv(display=xvfb.display, app=[sys.executable, str(TK_APP), str(log_path)])
    env.reset()
    log = TkLog(log_path)
    log.geometry()
    yield env, log
    env.close()


def centre(g: dict[str, Any], name: str) -> tuple[float, float]:
    w = g["widgets"][name]
    return w["x"] + w["w"] // 2, w["y"] + w["h"] // 2


def test_screenshot_is_the_native_screen(tk: tuple[DesktopEnv, TkLog]) -> None:
    env, log = tk
    obs = env.observe()
    assert obs.size == (1366, 768) and obs.scale == 1.0 and obs.offset == (0.0, 0.0)
    g = log.geometry()
    cv = g["widgets"]["canvas"]
    x1, y1, _, _ = g["square"]
    # the orange square drawn by Tk is exactly where Tk says it is
    r, gg, b = obs.array[int(cv["y"] + y1 + 10), int(cv["x"] + x1 + 10)]
    assert (r, gg, b) == (255, 165, 0)


def test_raw_bgra_capture_equals_mss_own_rgb(tk: tuple[DesktopEnv, TkLog]) -> None:
    """The BGRA buffer goes straight to an array; mss's own ``.rgb`` conversion of the same
    grab is the oracle, and the env's observation is that array."""
    import mss

    env, _ = tk
    left, top, w, h = env.monitor_rect
    with mss.MSS(display=env.display) as m:
        shot = m.grab({"left": left, "top": top, "width": w, "height": h})
    ours = bgra_to_rgb(shot.raw, shot.width, shot.height)
    oracle = np.frombuffer(shot.rgb, np.uint8).reshape(shot.height, shot.width, 3)
    assert ours.flags.c_contiguous and np.array_equal(ours, oracle)
    obs = env.observe()
    assert np.array_equal(obs.array, ours)  # a static Tk window: the same pixels
    assert set(obs.timings) >= {"capture_s", "decode_s"}


def test_click_lands_on_the_exact_pixel(tk: tuple[DesktopEnv, TkLog]) -> None:
    env, log = tk
    g = log.geometry()
    x, y = centre(g, "ok")
    log.set_mark()
    res = env.step(Click(point=(x, y)))
    assert res.observation.last_action_error is None
    press = log.wait(lambda e: e["event"] == "ButtonPress")
    assert (press["widget"], press["num"], press["x_root"], press["y_root"]) == ("ok", 1, x, y)
    log.wait(lambda e: e["event"] == "command" and e["widget"] == "ok")


def test_double_right_middle_click(tk: tuple[DesktopEnv, TkLog]) -> None:
    env, log = tk
    x, y = centre(log.geometry(), "canvas")
    log.set_mark()
    env.step(DoubleClick(point=(x, y)))
    log.wait(lambda e: e["event"] == "Double" and e["x_root"] == x and e["y_root"] == y)
    log.set_mark()
    env.step(RightClick(point=(x, y)))
    log.wait(lambda e: e["event"] == "ButtonPress" and e["num"] == 3 and e["x_root"] == x)
    log.set_mark()
    env.step(MiddleClick(point=(x, y)))
    log.wait(lambda e: e["event"] == "ButtonPress" and e["num"] == 2 and e["y_root"] == y)


def test_drag_moves_the_square(tk: tuple[DesktopEnv, TkLog]) -> None:
    env, log = tk
    g = log.geometry()
    cv = g["widgets"]["canvas"]
    log.set_mark()
    env.step(Click(point=(cv["x"] + 5, cv["y"] + 5)))  # report the square's position now
    before = log.wait(lambda e: e["event"] == "square")
    sx = cv["x"] + (before["x1"] + before["x2"]) / 2
    sy = cv["y"] + (before["y1"] + before["y2"]) / 2
    log.set_mark()
    env.step(Drag(start=(sx, sy), end=(sx + 150, sy + 40)))
    after = log.wait(lambda e: e["event"] == "square")
    assert (after["x1"] - before["x1"], after["y1"] - before["y1"]) == (150, 40)


def test_type_non_ascii_and_key_combinations(tk: tuple[DesktopEnv, TkLog]) -> None:
    env, log = tk
    g = log.geometry()
    entry = centre(g, "entry")
    log.set_mark()
    env.step(Type(text="naïve café", point=entry, clear=True))
    log.wait(lambda e: e["event"] == "entry" and e["value"] == "naïve café")
    log.set_mark()
    env.step(Key(keys="ctrl+a"))
    press = log.wait(lambda e: e["event"] == "select_all")
    assert press["state"] & 0x4  # Control held
    env.step(Type(text="x€"))  # replaces the selection
    log.wait(lambda e: e["event"] == "entry" and e["value"] == "x€")
    log.set_mark()
    env.step(Key(keys="shift+tab"))
    named = ("ok", "cancel", "canvas", "text")  # ancestors get FocusIn too: skip them
    focus = log.wait(lambda e: e["event"] == "FocusIn" and e["widget"] in named)
    assert focus["widget"] == "cancel"  # focus went backwards from the entry
    log.set_mark()
    for ours, keysym in (("enter", "Return"), ("pageup", "Prior"), ("up", "Up")):
        env.step(Key(keys=ours))
        log.wait(lambda e, k=keysym: e["event"] == "KeyPress" and e["keysym"] == k)


def test_scroll_at_a_point(tk: tuple[DesktopEnv, TkLog]) -> None:
    env, log = tk
    x, y = centre(log.geometry(), "text")
    log.set_mark()
    env.step(Scroll(direction="down", amount=3, point=(x, y)))
    view = log.wait(lambda e: e["event"] == "text_view" and e["yview"][0] > 0)
    presses = [e for e in log.since_mark() if e["event"] == "ButtonPress"]
    assert [p["num"] for p in presses] == [5, 5, 5]
    assert all((p["x_root"], p["y_root"]) == (x, y) for p in presses)
    log.set_mark()
    env.step(Scroll(direction="right", amount=2, point=(x, y)))
    log.wait(lambda e: e["event"] == "text_view" and e["xview"][0] > 0)
    log.set_mark()
    env.step(Scroll(direction="up", amount=3, point=(x, y)))
    log.wait(lambda e: e["event"] == "text_view" and e["yview"][0] < view["yview"][0])


def test_open_app_refuses_unlisted_names(tk: tuple[DesktopEnv, TkLog]) -> None:
    env, _ = tk
    res = env.step(OpenApp(name="xterm"))
    assert res.observation.last_action_error is not None
    assert "not allowed" in res.observation.last_action_error
