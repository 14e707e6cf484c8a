"""Which keys of an action can press or choose something, and what they would press: the
pure half of the gate's key reading (:mod:`agent.safety.targets` does the I/O).

A key can act in three ways, and each is judged like a click on what it acts on:

* **activating** — Enter (``\\n`` / ``\\r`` in typed text, ``enter: true``) and Space: on a
  button, link, checkbox or menu item they press it; Enter in a single-line field submits its
  form (the form's default button is the target); in a multi-line field or a text field they
  are just text. An ``aria-activedescendant`` (a combobox's highlighted option) is what
  Enter/Space picks, so it is part of the target.
* **choosing** — arrows, Home/End, PageUp/PageDown on a ``<select>``, a radio group or an
  ARIA listbox, menu, radio group, tab list, tree or grid: the option/item the key would
  select (next/previous enabled one, first/last; a page key: any enabled one before/after).
  A printable character on a select or listbox selects by type-ahead: every enabled item
  starting with that letter.
* **moving** — Tab (``\\t`` in typed text): after it the focus is somewhere the reading did
  not look, so a later activating key is UNKNOWN (the policy's ``unknown_target`` decides).

The env's focus reading (``Env.focus_target``) gives the focused element once, before the
action; typing text into a field or characters onto a button does not move the focus, so
every activating position of the text is judged against that element (the browser executes
the text split at those positions and stops if the focus moved: :mod:`envs.browser.typing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.core.actions import Action

ENTER_KEYS = frozenset({"enter", "kp_enter"})
ACTIVATING_KEYS = ENTER_KEYS | {"space"}
CHOOSING_KEYS = frozenset({"up", "down", "left", "right", "home", "end", "pageup", "pagedown"})
TYPED = {"\n": "enter", "\r": "enter", " ": "space", "\t": "tab"}  # typed chars that are keys
TYPE_AHEAD = ("select", "listbox")  # widget kinds that select by a typed letter
MAX_KEYS = 64  # distinct keys judged per action (a long text repeats the same few)


def action_keys(action: Action) -> tuple[str, ...]:
    """The keys of ``action`` that may press or choose, in order, each once: ``enter``,
    ``space``, ``tab``, a choosing key, or a single printable character (type-ahead); empty
    when none (a ``key`` like ``ctrl+c``)."""
    if action.type == "key":
        parts = action.keys.split("+")
        main, mods = parts[-1], set(parts[:-1])
        if main in ACTIVATING_KEYS or main in CHOOSING_KEYS:
            return (main,)
        if len(main) == 1 and main.isprintable() and not mods & {"ctrl", "alt", "meta"}:
            return (main,)  # a typed letter: type-ahead on a select
        return ()
    if action.type == "type":
        keys = [TYPED.get(ch, ch) for ch in action.text if ch in TYPED or ch.isprintable()]
        if action.enter:
            keys.append("enter")
        return tuple(dict.fromkeys(keys))[:MAX_KEYS]
    return ()


def chosen(widget: dict[str, Any], key: str) -> list[int]:
    """The indices of ``widget["items"]`` that ``key`` would select. ``widget``: ``kind``
    (select, radio, listbox or another ARIA container), ``items`` (names), ``disabled``
    (flags, same length), ``current`` (index, -1 for none), ``wrap`` (arrows go round)."""
    items: list[str] = list(widget.get("items") or [])
    off = list(widget.get("disabled") or [])
    enabled = [i for i in range(len(items)) if not (i < len(off) and off[i])]
    if not enabled:
        return []
    cur = widget.get("current", -1)
    cur = cur if isinstance(cur, int) and 0 <= cur < len(items) else -1
    wrap = bool(widget.get("wrap"))
    after = [i for i in enabled if i > cur]
    before = [i for i in enabled if i < cur] if cur >= 0 else []
    if key in ("down", "right"):
        return after[:1] or (enabled[:1] if wrap else [])
    if key in ("up", "left"):
        if cur < 0:
            return enabled[:1]  # nothing chosen yet: the first one is
        return before[-1:] or (enabled[-1:] if wrap else [])
    if key == "home":
        return enabled[:1]
    if key == "end":
        return enabled[-1:]
    if key == "pagedown":
        return after
    if key == "pageup":
        return before if cur >= 0 else enabled
    if len(key) == 1 and widget.get("kind") in TYPE_AHEAD:
        c = key.casefold()
        return [i for i in enabled if items[i].strip().casefold().startswith(c)]
    return []


def pressed(info: dict[str, Any] | None, keys: Sequence[str]) -> tuple[list[str], str | None]:
    """What ``keys`` would press or choose, given the env's focus reading ``info``
    (``Env.focus_target``): (the texts to match, each once; why the target is unknown, or
    None). ``info`` None: nothing focused, nothing pressed."""
    texts: list[str] = []
    if info is None:
        return texts, None
    moved = False
    for key in keys:
        if key == "tab":
            moved = True
            continue
        if moved and (key in ACTIVATING_KEYS or key in CHOOSING_KEYS):
            return texts, f"{key!r} after a typed Tab acts on an element the gate cannot read"
        for text in _texts(info, key):
            if text and text not in texts:
                texts.append(text)
    return texts, None


def _texts(info: dict[str, Any], key: str) -> list[str]:
    editable = bool(info.get("editable"))
    own = str(info.get("text") or "")
    active = str(info.get("active") or "")
    widget = info.get("widget")
    if key in ENTER_KEYS:
        if editable:
            submit = info.get("submit")
            if info.get("single_line") and submit is not None:
                return [f"{own} (submits: {submit})".strip(), active]
            return [active]  # a newline in a text area (or a field with no form)
        submit = info.get("submit")  # Enter on a checkbox or radio in a form submits it
        submits = [f"(submits: {submit})"] if submit else []
        if isinstance(widget, dict) and widget.get("kind") == "select":
            return submits  # Enter on a closed select changes nothing
        return [own, active, *submits]
    if key == "space":
        if editable:
            return []  # a space typed into a field is text
        return [own, active]
    if isinstance(widget, dict) and not (editable and len(key) == 1):  # typed text is text
        items = list(widget.get("items") or [])
        return [str(items[i]) for i in chosen(widget, key)]
    return []
