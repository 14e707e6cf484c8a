"""Pure translation for the Android env: actions → ``adb shell`` argv, and parsers for what
the device reports (``wm size``, ``wm density``, surface orientation, ``ime list``). No adb,
no sockets: :mod:`envs.android.env` only runs what this returns.

Points are converted by the ``to_input`` callable the env passes in (the coordinate module),
so device px, the override-size scale and rotation are all handled there.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import assert_never

from agent.core.actions import (
    Action,
    Back,
    CallUser,
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
    OpenApp,
    Point,
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
    Zoom,
)
from agent.core.env import OBSERVATION_ONLY
from agent.core.errors import ActionFailedError, ActionNotSupportedError

Argv = list[str]
ToInput = Callable[[Point], tuple[int, int]]

ADBKEYBOARD_IME = "com.android.adbkeyboard/.AdbIME"
CLEAR_DELETES = 80  # `clear`: go to the end of the field and delete this many characters
SCROLL_FRACTION = 0.1  # one scroll notch swipes a tenth of the screen
DRAG_MS = 1200
# Action types Android does not execute (Env.step refuses them); ``commands`` matches every
# type, so mypy names it when the union grows.
UNSUPPORTED = frozenset({"double_click", "right_click", "middle_click", "hover", "zoom"})

KEYCODES = {
    "enter": "KEYCODE_ENTER",
    "back": "KEYCODE_BACK",
    "home": "KEYCODE_HOME",
    "escape": "KEYCODE_ESCAPE",
    "backspace": "KEYCODE_DEL",
    "delete": "KEYCODE_FORWARD_DEL",
    "tab": "KEYCODE_TAB",
    "space": "KEYCODE_SPACE",
    "up": "KEYCODE_DPAD_UP",
    "down": "KEYCODE_DPAD_DOWN",
    "left": "KEYCODE_DPAD_LEFT",
    "right": "KEYCODE_DPAD_RIGHT",
    "pageup": "KEYCODE_PAGE_UP",
    "pagedown": "KEYCODE_PAGE_DOWN",
    "home_screen": "KEYCODE_HOME",
    "end": "KEYCODE_MOVE_END",
    "menu": "KEYCODE_MENU",
    "recents": "KEYCODE_APP_SWITCH",
    "app_switch": "KEYCODE_APP_SWITCH",
    "power": "KEYCODE_POWER",
    "volumeup": "KEYCODE_VOLUME_UP",
    "volume_up": "KEYCODE_VOLUME_UP",
    "volumedown": "KEYCODE_VOLUME_DOWN",
    "volume_down": "KEYCODE_VOLUME_DOWN",
    "search": "KEYCODE_SEARCH",
    "camera": "KEYCODE_CAMERA",
    "ctrl": "KEYCODE_CTRL_LEFT",
    "shift": "KEYCODE_SHIFT_LEFT",
    "alt": "KEYCODE_ALT_LEFT",
    "meta": "KEYCODE_META_LEFT",
    "plus": "KEYCODE_PLUS",
    "minus": "KEYCODE_MINUS",
    **{f"f{i}": f"KEYCODE_F{i}" for i in range(1, 13)},
}

# open_app names → packages (a package or component name is accepted as-is)
APPS = {
    "settings": "com.android.settings",
    "chrome": "com.android.chrome",
    "browser": "com.android.chrome",
    "camera": "com.android.camera2",
    "contacts": "com.android.contacts",
    "phone": "com.android.dialer",
    "dialer": "com.android.dialer",
    "messages": "com.google.android.apps.messaging",
    "clock": "com.google.android.deskclock",
    "calendar": "com.google.android.calendar",
    "files": "com.google.android.documentsui",
    "maps": "com.google.android.apps.maps",
    "gmail": "com.google.android.gm",
    "photos": "com.google.android.apps.photos",
    "youtube": "com.google.android.youtube",
    "play store": "com.android.vending",
}
_PACKAGE = re.compile(r"^[A-Za-z][\w]*(\.[A-Za-z_][\w]*)+$")
_COMPONENT = re.compile(r"^[A-Za-z][\w]*(\.[A-Za-z_][\w]*)+/\.?[\w.$]+$")


def keycode(name: str) -> str:
    """One normalized key name → an Android KEYCODE_ name."""
    if name in KEYCODES:
        return KEYCODES[name]
    if len(name) == 1 and name.isascii() and name.isalnum():
        return f"KEYCODE_{name.upper()}"
    raise ActionFailedError(f"unknown key {name!r} for the android env")


def key_argv(keys: str) -> Argv:
    """``enter`` → ``input keyevent KEYCODE_ENTER``; a combination (``ctrl+a``) uses
    ``input keycombination`` (Android 13+)."""
    parts = keys.split("+")
    if len(parts) == 1:
        return ["input", "keyevent", keycode(parts[0])]
    return ["input", "keycombination", *(keycode(p) for p in parts)]


def escape_input_text(text: str) -> str:
    """Text for ``input text``: a space must be ``%s`` (input splits on it). The shell quoting
    of everything else is done once, when the argv is joined (shlex)."""
    if not text.isascii():
        raise ValueError("input text only types ASCII")
    if "%s" in text:
        raise ActionFailedError("'input text' cannot type a literal '%s'; install ADBKeyBoard")
    return text.replace(" ", "%s")


def adbkeyboard_argv(text: str) -> Argv:
    """ADBKeyBoard's broadcast, base64 so any Unicode survives the shell."""
    b64 = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return ["am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg", b64]


def text_argv(text: str, *, adbkeyboard: bool) -> Argv:
    if text.isascii() and "%s" not in text:
        return ["input", "text", escape_input_text(text)]
    if not adbkeyboard:
        raise ActionFailedError(
            "non-ASCII text needs the ADBKeyBoard IME on the device "
            "(install ADBKeyboard.apk, then: adb shell ime enable " + ADBKEYBOARD_IME + ")"
        )
    return adbkeyboard_argv(text)


def resolve_app(name: str, apps: dict[str, str]) -> Argv:
    """open_app: an allow-map name, a package (launcher intent via monkey) or a component."""
    key = name.strip().lower()
    target = apps.get(key) or APPS.get(key) or name.strip()
    if _COMPONENT.match(target):
        return ["am", "start", "-n", target]
    if _PACKAGE.match(target):
        return ["monkey", "-p", target, "-c", "android.intent.category.LAUNCHER", "1"]
    known = ", ".join(sorted({**APPS, **apps}))
    raise ActionFailedError(f"unknown app {name!r}: give a package name or one of: {known}")


def commands(
    action: Action,
    to_input: ToInput,
    screen: tuple[float, float],
    *,
    adbkeyboard: bool = False,
    apps: dict[str, str] | None = None,
) -> list[Argv]:
    """The ``adb shell`` argv lists for one action. ``screen`` is the screenshot size in px
    (for a pointless scroll and the scroll distance)."""
    match action:
        case Click():
            return [["input", "tap", *_xy(to_input(action.point))]]
        case LongPress():
            x, y = _xy(to_input(action.point))
            return [["input", "swipe", x, y, x, y, _ms(action.duration)]]
        case Swipe():
            start, end = _xy(to_input(action.start)), _xy(to_input(action.end))
            return [["input", "swipe", *start, *end, _ms(action.duration)]]
        case Drag():
            start, end = _xy(to_input(action.start)), _xy(to_input(action.end))
            return [["input", "draganddrop", *start, *end, str(DRAG_MS)]]
        case Scroll():
            return [scroll_argv(action, to_input, screen)]
        case Type():
            out: list[Argv] = []
            if action.point is not None:
                out.append(["input", "tap", *_xy(to_input(action.point))])
            if action.clear:
                out.append(["input", "keyevent", "KEYCODE_MOVE_END"])
                out.append(["input", "keyevent", *["KEYCODE_DEL"] * CLEAR_DELETES])
            if action.text:
                out.append(text_argv(action.text, adbkeyboard=adbkeyboard))
            if action.enter:
                out.append(["input", "keyevent", "KEYCODE_ENTER"])
            return out
        case Key():
            return [key_argv(action.keys)]
        case Back():
            return [["input", "keyevent", "KEYCODE_BACK"]]
        case Home():
            return [["input", "keyevent", "KEYCODE_HOME"]]
        case OpenApp():
            return [resolve_app(action.name, apps or {})]
        case Navigate():
            return [["am", "start", "-a", "android.intent.action.VIEW", "-d", action.url]]
        case Wait():
            return []
        case DoubleClick() | RightClick() | MiddleClick() | Hover() | Finish() | CallUser():
            raise ActionNotSupportedError(f"android env cannot translate {action.type!r}")
        case Zoom():  # read by the agent loop (Env.step refuses it before this)
            raise ActionNotSupportedError(OBSERVATION_ONLY.format(action.type))
        case _:
            assert_never(action)


def scroll_argv(action: Scroll, to_input: ToInput, screen: tuple[float, float]) -> Argv:
    """Scroll = a finger swipe the other way: content moves ``down`` when the finger goes up.
    Each notch is ``SCROLL_FRACTION`` of the screen, measured and clamped in screenshot px."""
    w, h = screen
    px, py = action.point if action.point is not None else (w / 2.0, h / 2.0)
    n = min(action.amount, int(1 / SCROLL_FRACTION))
    dx = {"left": 1, "right": -1}.get(action.direction, 0) * w * SCROLL_FRACTION * n / 2
    dy = {"up": 1, "down": -1}.get(action.direction, 0) * h * SCROLL_FRACTION * n / 2

    def clamp(x: float, y: float) -> Point:
        return min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)

    start = to_input(clamp(px - dx, py - dy))
    end = to_input(clamp(px + dx, py + dy))
    return ["input", "swipe", *_xy(start), *_xy(end), "300"]


def _xy(p: tuple[int, int]) -> list[str]:
    return [str(p[0]), str(p[1])]


def _ms(seconds: float) -> str:
    return str(max(1, round(seconds * 1000)))


# ---- what the device reports -------------------------------------------------------------

_SIZE = re.compile(r"(Physical|Override) size:\s*(\d+)\s*x\s*(\d+)")
_DENSITY = re.compile(r"(Physical|Override) density:\s*(\d+)")
_SURFACE = re.compile(r"SurfaceOrientation:\s*(\d)")
_WINDOW_ROT = re.compile(r"mCurrentRotation=(?:ROTATION_)?(\d+)|\bmRotation=(\d+)")


def parse_wm_size(out: str) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """``wm size`` → (physical, override or None), in the natural orientation."""
    found = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in _SIZE.finditer(out)}
    if "Physical" not in found:
        raise ActionFailedError(f"cannot read 'wm size' output: {out.strip()[:200]!r}")
    return found["Physical"], found.get("Override")


def parse_wm_density(out: str) -> tuple[int | None, int | None]:
    """``wm density`` → (physical dpi, override dpi)."""
    found = {m.group(1): int(m.group(2)) for m in _DENSITY.finditer(out)}
    return found.get("Physical"), found.get("Override")


def parse_surface_rotation(dumpsys_input: str, dumpsys_window: str = "") -> int:
    """Surface rotation in quarter turns (0..3): ``SurfaceOrientation`` from
    ``dumpsys input``, else ``mCurrentRotation`` from ``dumpsys window``; 0 if neither."""
    m = _SURFACE.search(dumpsys_input)
    if m:
        return int(m.group(1)) % 4
    m = _WINDOW_ROT.search(dumpsys_window)
    if m:
        v = int(m.group(1) or m.group(2))
        return v // 90 % 4 if v >= 4 else v % 4
    return 0


def frame_rotation(surface_rotation: int) -> int:
    """Frame rotation for a screencap in the panel's *natural* orientation.

    Android's ROTATION_90 means the graphics are drawn rotated 90° clockwise on the panel
    (the device was turned counter-clockwise). ``input tap`` takes coordinates of the
    upright (logical) display, so a natural-orientation screenshot must be turned 90°
    *counter*-clockwise = 270° clockwise to match: ROTATION_90 → 270, ROTATION_270 → 90.
    """
    return (360 - 90 * (surface_rotation % 4)) % 360


def has_adbkeyboard(ime_list: str) -> bool:
    return ADBKEYBOARD_IME in ime_list or "com.android.adbkeyboard/" in ime_list
