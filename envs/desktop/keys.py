"""Our normalized key names (``agent.core.actions.normalize_keys``: ``ctrl+c``, ``enter``,
``pageup``, ``shift+tab``) → X keysym names as ``xdotool key`` takes them."""

from __future__ import annotations

from agent.core.errors import ActionFailedError

MODIFIERS = {
    "ctrl": "ctrl",
    "shift": "shift",
    "alt": "alt",
    "meta": "super",
    "altgr": "ISO_Level3_Shift",
}

KEYSYMS = {
    "enter": "Return",
    "escape": "Escape",
    "tab": "Tab",
    "backspace": "BackSpace",
    "delete": "Delete",
    "insert": "Insert",
    "space": "space",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "home": "Home",
    "end": "End",
    "pageup": "Prior",
    "pagedown": "Next",
    "capslock": "Caps_Lock",
    "printscreen": "Print",
    "menu": "Menu",
    "pause": "Pause",
    "plus": "plus",
    "minus": "minus",
    "-": "minus",
    "=": "equal",
    ",": "comma",
    ".": "period",
    "/": "slash",
    "\\": "backslash",
    ";": "semicolon",
    "'": "apostrophe",
    "`": "grave",
    "[": "bracketleft",
    "]": "bracketright",
    **{f"f{i}": f"F{i}" for i in range(1, 25)},
    # modifiers pressed alone
    "ctrl": "Control_L",
    "shift": "Shift_L",
    "alt": "Alt_L",
    "meta": "Super_L",
}


def keysym(name: str) -> str:
    """One normalized key name → an X keysym name."""
    if name in KEYSYMS:
        return KEYSYMS[name]
    if len(name) == 1 and name.isascii() and name.isalnum():
        return name
    raise ActionFailedError(f"unknown key {name!r} for the desktop env")


def xdotool_combo(keys: str) -> str:
    """``"ctrl+shift+t"`` → ``"ctrl+shift+t"``, ``"shift+tab"`` → ``"shift+Tab"``: modifiers
    keep xdotool's names, the last key becomes its keysym."""
    parts = keys.split("+")
    if len(parts) == 1:
        return keysym(parts[0])
    *mods, last = parts
    unknown = [m for m in mods if m not in MODIFIERS]
    if unknown:
        raise ActionFailedError(f"{unknown[0]!r} is not a modifier in {keys!r}")
    return "+".join([*(MODIFIERS[m] for m in mods), keysym(last)])
