"""``adb shell`` output as the android env reads it: pure functions over the text.

``input`` and ``am`` report some failures on stdout with exit status 0, so a failed
command is recognised by the words of its output — here, in one place (our own
hierarchy is never matched by text).
"""

from __future__ import annotations

FAILED_WORDS = ("Error:", "Exception", "No activities found", "monkey aborted", "Unknown command")


def says_failed(output: str) -> bool:
    """Whether a shell command's output says it failed (whatever its exit status)."""
    return any(w in output for w in FAILED_WORDS)
