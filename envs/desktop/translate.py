"""Pure translation: one action (screenshot px) → the ``xdotool`` command lines that carry it
out. No X, no subprocess: the I/O layer (:mod:`envs.desktop.env`) only runs what this returns,
so every mapping is unit-tested without a display.

Points are converted by the ``to_input`` callable the env passes in (the coordinate module:
rounding, clamping, monitor offset, HiDPI scale) — nothing here divides by a scale.
"""

from __future__ import annotations

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
from envs.desktop.keys import xdotool_combo

Argv = list[str]
ToInput = Callable[[Point], tuple[int, int]]

# Action types the desktop does not execute (Env.step refuses them); ``commands`` matches
# every type, so mypy names it when the union grows.
UNSUPPORTED = frozenset({"long_press", "swipe", "navigate", "back", "home", "zoom"})
BUTTONS = {"click": 1, "middle_click": 2, "right_click": 3, "double_click": 1}
SCROLL_BUTTONS = {"up": 4, "down": 5, "left": 6, "right": 7}
DOUBLE_CLICK_DELAY_MS = 60  # well inside X toolkits' double-click time (Tk: 300 ms)
SCROLL_DELAY_MS = 20
TYPE_DELAY_MS = 12  # xdotool's default; lower drops characters in some toolkits
DRAG_STEPS = 8  # intermediate motion events, so toolkits see a real drag
DRAG_PAUSE_S = 0.05


def _xy(p: tuple[int, int]) -> list[str]:
    return [str(p[0]), str(p[1])]


def move(xdotool: str, p: tuple[int, int]) -> Argv:
    return [xdotool, "mousemove", *_xy(p)]


def key(xdotool: str, keys: str) -> Argv:
    return [xdotool, "key", "--clearmodifiers", xdotool_combo(keys)]


def commands(
    action: Action,
    to_input: ToInput,
    screen_centre: Point,
    *,
    xdotool: str = "xdotool",
    type_delay_ms: int = TYPE_DELAY_MS,
) -> list[Argv]:
    """The xdotool command lines for ``action`` (``wait`` becomes ``xdotool sleep``).

    ``screen_centre`` (screenshot px) is where a pointless scroll happens.
    """
    match action:
        case Click() | DoubleClick() | RightClick() | MiddleClick():
            p = to_input(action.point)
            click = [xdotool, "click"]
            if action.type == "double_click":
                click += ["--repeat", "2", "--delay", str(DOUBLE_CLICK_DELAY_MS)]
            return [move(xdotool, p), [*click, str(BUTTONS[action.type])]]
        case Hover():
            return [move(xdotool, to_input(action.point))]
        case Drag():
            return drag(to_input(action.start), to_input(action.end), xdotool=xdotool)
        case Type():
            out: list[Argv] = []
            if action.point is not None:
                p = to_input(action.point)
                out += [move(xdotool, p), [xdotool, "click", "1"]]
            if action.clear:
                out += [key(xdotool, "ctrl+a"), key(xdotool, "backspace")]
            if action.text:
                # "--" so text starting with "-" is not read as an option; xdotool types UTF-8
                # (it remaps a spare keycode for characters the keymap lacks).
                out.append([xdotool, "type", "--delay", str(type_delay_ms), "--", action.text])
            if action.enter:
                out.append(key(xdotool, "enter"))
            return out
        case Key():
            return [key(xdotool, action.keys)]
        case Scroll():
            p = to_input(action.point if action.point is not None else screen_centre)
            button = SCROLL_BUTTONS[action.direction]
            repeat = ["--repeat", str(action.amount), "--delay", str(SCROLL_DELAY_MS)]
            return [move(xdotool, p), [xdotool, "click", *repeat, str(button)]]
        case Wait():
            return [[xdotool, "sleep", f"{action.seconds:g}"]]
        case OpenApp():  # started by the env from its allow-list (resolve_app), not xdotool
            raise ActionNotSupportedError("desktop open_app is run by DesktopEnv, not xdotool")
        case LongPress() | Swipe() | Navigate() | Back() | Home() | Finish() | CallUser():
            raise ActionNotSupportedError(f"desktop env cannot translate {action.type!r}")
        case Zoom():  # read by the agent loop (Env.step refuses it before this)
            raise ActionNotSupportedError(OBSERVATION_ONLY.format(action.type))
        case _:
            assert_never(action)


def drag(start: tuple[int, int], end: tuple[int, int], *, xdotool: str = "xdotool") -> list[Argv]:
    """Press at ``start``, move in ``DRAG_STEPS`` steps, release at ``end``."""
    out = [move(xdotool, start), [xdotool, "mousedown", "1"]]
    (sx, sy), (ex, ey) = start, end
    for i in range(1, DRAG_STEPS):
        f = i / DRAG_STEPS
        out.append(move(xdotool, (round(sx + (ex - sx) * f), round(sy + (ey - sy) * f))))
    out += [
        move(xdotool, end),
        [xdotool, "sleep", f"{DRAG_PAUSE_S:g}"],
        [xdotool, "mouseup", "1"],
    ]
    return out


def resolve_app(name: str, allow: dict[str, list[str]]) -> list[str]:
    """``open_app`` is limited to an allow-list of name → argv; anything else is refused."""
    key_ = name.strip().lower()
    for k, argv in allow.items():
        if k.lower() == key_:
            return list(argv)
    allowed = ", ".join(sorted(allow)) or "none configured (DesktopEnv(apps={...}))"
    raise ActionFailedError(f"open_app {name!r} is not allowed; allowed: {allowed}")
