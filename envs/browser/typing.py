"""Typing a ``type`` action's text so that what the gate judged still holds: the text is
typed in pieces split at the characters that can press (Enter, Space) or move the focus
(Tab) (:func:`envs.browser.keys.split_typed`), and before each pressing character the focus
must still be on the element that had it when the typing began (after the action's click);
a page that moves the focus mid-typing (onto a button a space would press) stops the
action with an ActionFailedError, before that key. After a typed Tab the focus moves by
design: the element it reaches becomes the one held (the gate judged that case unknown)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from agent.core.errors import ActionFailedError
from envs.browser.dom import DEEP_JS
from envs.browser.keys import split_typed

if TYPE_CHECKING:
    from playwright.sync_api import JSHandle, Page

FOCUSED_JS = f"() => {{ {DEEP_JS} return deepFocus().el; }}"
SAME_JS = f"(held) => {{ {DEEP_JS} return deepFocus().el === held; }}"
KEY_NAMES = {"\n": "Enter", "\r": "Enter", " ": "Space", "\t": "Tab"}


def type_text(page: Page, text: str, is_dead: Callable[[BaseException], bool]) -> None:
    """Type ``text`` on ``page``'s focus, split and checked as the module says."""
    kb = page.keyboard
    pieces = split_typed(text)
    keyed = any(key for _, key in pieces)
    held: JSHandle | None = page.evaluate_handle(FOCUSED_JS) if keyed else None
    try:
        for run, key in pieces:
            if run:
                try:
                    kb.type(run)
                except Exception as err:
                    if is_dead(err):
                        raise
                    kb.insert_text(run)  # characters the keyboard cannot type
            if not key:
                continue
            if key != "\t" and held is not None and not page.evaluate(SAME_JS, held):
                raise ActionFailedError(
                    f"the focus moved while typing; stopped before the {KEY_NAMES[key]} key "
                    "(the gate judged the element that had the focus)"
                )
            kb.press(KEY_NAMES[key])
            if key == "\t" and held is not None:
                held.dispose()
                held = page.evaluate_handle(FOCUSED_JS)
    finally:
        if held is not None:
            with contextlib.suppress(Exception):  # the page is gone: nothing to free
                held.dispose()
