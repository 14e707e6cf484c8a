"""Which keys of an action can press or choose, and what they would (pure; the browser half is
tests/agent/safety/test_gate_keys.py)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.core.actions import Click, Key, Type
from agent.safety.keypress import action_keys, chosen, pressed

OPTIONS = ["Keep", "Export", "Delete", "Danger"]


def widget(kind: str = "select", current: int = 0, wrap: bool = False, **kw: Any) -> dict:
    return {"kind": kind, "items": OPTIONS, "disabled": [False] * 4, "current": current,
            "wrap": wrap, **kw}  # fmt: skip


@pytest.mark.parametrize(
    ("action", "keys"),
    [
        (Key(keys="enter"), ("enter",)),
        (Key(keys="ctrl+enter"), ("enter",)),
        (Key(keys="space"), ("space",)),
        (Key(keys="down"), ("down",)),
        (Key(keys="pagedown"), ("pagedown",)),
        (Key(keys="home"), ("home",)),
        (Key(keys="d"), ("d",)),
        (Key(keys="ctrl+d"), ()),
        (Key(keys="ctrl+c"), ()),
        (Key(keys="tab"), ()),
        (Type(text="ab"), ("a", "b")),
        (Type(text="a\nb"), ("a", "enter", "b")),
        (Type(text="x\ry"), ("x", "enter", "y")),
        (Type(text="a b", enter=True), ("a", "space", "b", "enter")),
        (Type(text="a\t "), ("a", "tab", "space")),
        (Click(point=(1, 1)), ()),
    ],
)
def test_the_keys_that_can_act(action: Any, keys: tuple[str, ...]) -> None:
    assert action_keys(action) == keys


def test_arrows_choose_the_next_enabled_option() -> None:
    assert chosen(widget(), "down") == [1]
    assert chosen(widget(), "right") == [1]
    assert chosen(widget(disabled=[False, True, False, False]), "down") == [2]  # skips
    assert chosen(widget(current=3), "down") == []  # a select stops at the end
    assert chosen(widget(kind="radio", current=3, wrap=True), "down") == [0]  # a group wraps
    assert chosen(widget(current=2), "up") == [1]
    assert chosen(widget(current=0), "up") == []
    assert chosen(widget(kind="radio", current=0, wrap=True), "left") == [3]
    assert chosen(widget(current=-1), "up") == [0]  # nothing selected yet


def test_home_end_and_page_keys() -> None:
    assert chosen(widget(current=2), "home") == [0]
    assert chosen(widget(current=0), "end") == [3]
    assert chosen(widget(disabled=[False, False, False, True]), "end") == [2]
    assert chosen(widget(current=1), "pagedown") == [2, 3]  # any one after it
    assert chosen(widget(current=2), "pageup") == [0, 1]


def test_type_ahead_picks_by_first_letter_on_selects_only() -> None:
    assert chosen(widget(), "d") == [2, 3]
    assert chosen(widget(), "D") == [2, 3]
    assert chosen(widget(kind="radio"), "d") == []
    assert chosen(widget(disabled=[True] * 4), "down") == []


def test_what_keys_press() -> None:
    button = {"tag": "button", "text": "Delete account", "editable": False}
    field = {"tag": "input", "text": "Search", "editable": True, "single_line": True,
             "submit": "Pay now"}  # fmt: skip
    area = {"tag": "textarea", "text": "Note", "editable": True, "single_line": False}
    select = {"tag": "select", "text": "Account", "editable": False, "widget": widget()}
    assert pressed(button, ("space",)) == (["Delete account"], None)
    assert pressed(button, ("enter",)) == (["Delete account"], None)
    assert pressed(button, ("a", "b")) == ([], None)  # letters on a button do nothing
    assert pressed(field, ("space", "a")) == ([], None)  # a space in a field is text
    assert pressed(field, ("a", "enter")) == (["Search (submits: Pay now)"], None)
    assert pressed(area, ("enter",)) == ([], None)  # a newline in a text area
    assert pressed(select, ("down",)) == (["Export"], None)
    assert pressed(select, ("end",)) == (["Danger"], None)
    assert pressed(select, ("enter",)) == ([], None)
    radio = {"tag": "input", "text": "Keep", "editable": False, "submit": "Delete account"}
    assert pressed(radio, ("enter",)) == (["Keep", "(submits: Delete account)"], None)
    combo = {**field, "submit": None, "active": "Delete account"}
    assert pressed(combo, ("enter",)) == (["Delete account"], None)  # its highlighted option
    _, unknown = pressed(field, ("a", "tab", "space"))
    assert unknown is not None and "Tab" in unknown
    assert pressed(None, ("enter",)) == ([], None)
