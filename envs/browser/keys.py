"""Our normalized key names (``ctrl+shift+t``, ``pageup``) → Playwright key strings.

Pure and table-driven so it can be unit-tested without a browser. Input is expected in
:func:`agent.core.actions.normalize_keys` form, but it is normalized again here to be safe.
"""

from __future__ import annotations

from agent.core.actions import normalize_keys

MODIFIERS = {"ctrl": "Control", "shift": "Shift", "alt": "Alt", "meta": "Meta"}

NAMED = {
    "enter": "Enter",
    "tab": "Tab",
    "escape": "Escape",
    "backspace": "Backspace",
    "delete": "Delete",
    "insert": "Insert",
    "home": "Home",
    "end": "End",
    "pageup": "PageUp",
    "pagedown": "PageDown",
    "up": "ArrowUp",
    "down": "ArrowDown",
    "left": "ArrowLeft",
    "right": "ArrowRight",
    "space": "Space",
    "capslock": "CapsLock",
    "contextmenu": "ContextMenu",
    "menu": "ContextMenu",
    "plus": "+",
    "minus": "-",
    "equal": "=",
    "equals": "=",
    "comma": ",",
    "period": ".",
    "dot": ".",
    "slash": "/",
    "backslash": "\\",
    "semicolon": ";",
    "quote": "'",
    "backquote": "`",
    "bracketleft": "[",
    "bracketright": "]",
}
NAMED.update({f"f{i}": f"F{i}" for i in range(1, 13)})
NAMED.update(MODIFIERS)  # a modifier pressed alone, e.g. "shift"


def to_playwright(keys: str) -> str:
    """``"ctrl+shift+t"`` → ``"Control+Shift+T"``; ``"up"`` → ``"ArrowUp"``.

    Letters are upper-cased when Shift is held (what the key produces), lower-cased
    otherwise. Raises ValueError for a name Playwright would not know.
    """
    parts = normalize_keys(keys).split("+")
    mods, main = parts[:-1], parts[-1]
    out: list[str] = []
    for m in mods:
        if m not in MODIFIERS:
            raise ValueError(f"{m!r} is not a modifier (ctrl, shift, alt, meta) in {keys!r}")
        name = MODIFIERS[m]
        if name not in out:
            out.append(name)
    if main in NAMED:
        key = NAMED[main]
    elif len(main) == 1:
        key = main.upper() if "Shift" in out and main.isalpha() else main
    else:
        raise ValueError(
            f"unknown key {main!r} in {keys!r}; use a single character or one of: "
            + ", ".join(sorted(NAMED))
        )
    return "+".join([*out, key])


# Typed characters that are keys which can press something (Enter, Space) or move the focus
# (Tab): the text is typed in pieces split before each, so that the focus can be checked
# before every one (:mod:`envs.browser.typing`).
SPLIT_CHARS = frozenset("\n\r \t")


def split_typed(text: str) -> list[tuple[str, str]]:
    """``text`` as (plain run, the key character after it, or "") pieces, in order:
    ``"ab c\\n"`` → ``[("ab", " "), ("c", "\\n")]``; joined back they are ``text``."""
    out: list[tuple[str, str]] = []
    run = ""
    for ch in text:
        if ch in SPLIT_CHARS:
            out.append((run, ch))
            run = ""
        else:
            run += ch
    if run:
        out.append((run, ""))
    return out
