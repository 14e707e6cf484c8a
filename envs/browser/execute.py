"""Carry one action out on a Playwright page: the browser env's I/O, kept apart from its
lifecycle. Points arrive in screenshot px and reach the page as CSS px only through
``to_input`` (the env's coordinate conversion, :mod:`agent.core.coords`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, assert_never

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
    RightClick,
    Scroll,
    Swipe,
    Type,
    Wait,
    Zoom,
)
from agent.core.coords import Frame
from agent.core.env import OBSERVATION_ONLY
from agent.core.errors import ActionFailedError, ActionNotSupportedError
from envs.browser.keys import to_playwright
from envs.browser.typing import type_text
from envs.browser.urls import normalize_url

if TYPE_CHECKING:
    from playwright.sync_api import Page

WHEEL_NOTCH_CSS = 100  # CSS px per scroll notch
MAX_WAIT_S = 10.0  # a `wait` action sleeps at most this long

ToInput = Callable[[tuple[float, float], Frame], tuple[float, float]]


# Action types the browser does not execute (Env.step refuses them before ``perform``);
# terminal types never reach an env. ``perform`` matches every type, so mypy names it when
# the union grows.
UNSUPPORTED = frozenset({"long_press", "swipe", "home", "open_app", "zoom"})


def perform(
    page: Page,
    action: Action,
    frame: Frame,
    to_input: ToInput,
    viewport: tuple[int, int],
    is_dead: Callable[[BaseException], bool],
) -> None:
    """Execute ``action`` (its type is one the env declared); Playwright errors propagate
    for the env to translate, a bad key combination is an ActionFailedError."""
    mouse, kb = page.mouse, page.keyboard
    match action:
        case Click():
            mouse.click(*to_input(action.point, frame))
        case DoubleClick():
            mouse.dblclick(*to_input(action.point, frame))
        case RightClick():
            mouse.click(*to_input(action.point, frame), button="right")
        case MiddleClick():
            mouse.click(*to_input(action.point, frame), button="middle")
        case Hover():
            x, y = to_input(action.point, frame)
            mouse.move(x, y)  # one event: mouseover/enter fire from the last position
        case Drag():
            (x1, y1), (x2, y2) = to_input(action.start, frame), to_input(action.end, frame)
            steps = max(5, min(25, int(max(abs(x2 - x1), abs(y2 - y1)) / 20)))
            mouse.move(x1, y1)
            mouse.down()
            mouse.move(x2, y2, steps=steps)
            mouse.up()
        case Type():
            if action.point is not None:
                mouse.click(*to_input(action.point, frame))
            if action.clear:
                kb.press("ControlOrMeta+a")
                kb.press("Backspace")
            text = action.text + ("\n" if action.enter else "")  # Enter checked like a newline
            if text:
                type_text(page, text, is_dead)  # split where a key can press
        case Key():
            try:
                combo = to_playwright(action.keys)
            except ValueError as err:
                raise ActionFailedError(str(err)) from err
            kb.press(combo)
        case Scroll():
            if action.point is not None:
                x, y = to_input(action.point, frame)
            else:
                x, y = viewport[0] // 2, viewport[1] // 2
            d = WHEEL_NOTCH_CSS * action.amount
            dx, dy = {"up": (0, -d), "down": (0, d), "left": (-d, 0), "right": (d, 0)}[
                action.direction
            ]
            mouse.move(x, y)
            mouse.wheel(dx, dy)
        case Wait():
            page.wait_for_timeout(min(action.seconds, MAX_WAIT_S) * 1000)
        case Navigate():
            page.goto(normalize_url(action.url), wait_until="domcontentloaded")
        case Back():
            page.go_back(wait_until="domcontentloaded")
        case LongPress() | Swipe() | Home() | OpenApp() | Finish() | CallUser():
            # not capabilities (Env.step checks them first): a programming error here
            raise ActionNotSupportedError(f"browser env cannot execute {action.type!r}")
        case Zoom():  # read by the agent loop (Env.step refuses it before this)
            raise ActionNotSupportedError(OBSERVATION_ONLY.format(action.type))
        case _:
            assert_never(action)
