"""xdotool's failures as the desktop env reports them: pure functions over its output.

xdotool has no exit codes per cause, so a dead X display is recognised by the words of its
stderr — here, in one place (our own hierarchy is never matched by text).
"""

from __future__ import annotations

DEAD_DISPLAY_WORDS = ("Can't open display", "Failed creating new xdo instance")


def says_dead_display(output: str) -> bool:
    """Whether xdotool's output says the X display is gone."""
    return any(w in output for w in DEAD_DISPLAY_WORDS)
