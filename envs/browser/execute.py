"""Carry one action out on a Playwright page: the browser env's I/O, kept apart from its
lifecycle. Points arrive in screenshot px and reach the page as CSS px only through
``to_input`` (the env's coordinate conversion, :mod:`agent.core.coords`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.core.actions import Action, PointAction
from agent.core.coords import Frame
from agent.core.errors import ActionFailedError
from envs.browser.keys import to_playwright
from envs.browser.urls import normalize_url

if TYPE_CHECKING:
    from playwright.sync_api import Page

WHEEL_NOTCH_CSS = 100  # CSS px per scroll notch
MAX_WAIT_S = 10.0  # a `wait` action sleeps at most this long

ToInput = Callable[[tuple[float, float], Frame], tuple[float, float]]


POINTER_PRESSES = ("click", "double_click", "right_click", "middle_click", "hover")


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
    t = action.type
    if isinstance(action, PointAction) and t in (
        "click",
        "double_click",
        "right_click",
        "middle_click",
        "hover",
    ):
        x, y = to_input(action.point, frame)
        if action.type == "click":
            mouse.click(x, y)
        elif action.type == "double_click":
            mouse.dblclick(x, y)
        elif action.type == "right_click":
            mouse.click(x, y, button="right")
        elif action.type == "middle_click":
            mouse.click(x, y, button="middle")
        else:
            mouse.move(x, y)  # one event: mouseover/enter fire from the last position
    elif action.type == "drag":
        (x1, y1), (x2, y2) = (
            to_input(action.start, frame),
            to_input(action.end, frame),
        )
        steps = max(5, min(25, int(max(abs(x2 - x1), abs(y2 - y1)) / 20)))
        mouse.move(x1, y1)
        mouse.down()
        mouse.move(x2, y2, steps=steps)
        mouse.up()
    elif action.type == "type":
        if action.point is not None:
            mouse.click(*to_input(action.point, frame))
        if action.clear:
            kb.press("ControlOrMeta+a")
            kb.press("Backspace")
        if action.text:
            try:
                kb.type(action.text)
            except Exception as err:
                if is_dead(err):
                    raise
                kb.insert_text(action.text)
        if action.enter:
            kb.press("Enter")
    elif action.type == "key":
        try:
            combo = to_playwright(action.keys)
        except ValueError as err:
            raise ActionFailedError(str(err)) from err
        kb.press(combo)
    elif action.type == "scroll":
        if action.point is not None:
            x, y = to_input(action.point, frame)
        else:
            x, y = viewport[0] // 2, viewport[1] // 2
        d = WHEEL_NOTCH_CSS * action.amount
        dx, dy = {"up": (0, -d), "down": (0, d), "left": (-d, 0), "right": (d, 0)}[action.direction]
        mouse.move(x, y)
        mouse.wheel(dx, dy)
    elif action.type == "wait":
        page.wait_for_timeout(min(action.seconds, MAX_WAIT_S) * 1000)
    elif action.type == "navigate":
        page.goto(normalize_url(action.url), wait_until="domcontentloaded")
    elif action.type == "back":
        page.go_back(wait_until="domcontentloaded")
    else:  # capabilities are checked by Env.step; this is a programming error
        raise ActionFailedError(f"browser env cannot execute {t!r}")
