"""Playwright errors as the env reports them: pure functions over the exception.

Playwright has no typed "target closed" exception for every case, so a dead page or browser
is also recognised by the words of its message — here, in one place (our own hierarchy is
never matched by text).
"""

from __future__ import annotations

from typing import Literal

from agent.core.errors import ActionFailedError, EnvClosedError, cut

DEAD_WORDS = ("target closed", "has been closed", "crashed", "disconnected", "connection closed")
# a browser without CDP (Playwright: "CDP session is only available in Chromium") or a
# protocol without the method (CDP: "'Page.captureScreenshot' wasn't found")
UNSUPPORTED_WORDS = ("only available in chromium", "wasn't found", "not supported")
NO_NODE_WORDS = ("no node found",)

CaptureFailure = Literal["dead", "timeout", "unsupported", "transient"]


def says_dead(err: BaseException) -> bool:
    """Whether a Playwright error says the page or browser is gone."""
    if type(err).__name__ == "TargetClosedError":
        return True
    return _says(err, DEAD_WORDS)


def _says(err: BaseException, words: tuple[str, ...]) -> bool:
    msg = str(err).lower()
    return any(w in msg for w in words)


def capture_failure(err: BaseException) -> CaptureFailure:
    """What a failed fast (CDP) capture means: the page is gone (``dead``), it did not
    answer in time (``timeout``), this browser cannot do it (``unsupported``: remember it)
    or it failed this once (``transient``: try the fast path again next capture)."""
    if says_dead(err):
        return "dead"
    if type(err).__name__ == "TimeoutError":
        return "timeout"
    if _says(err, UNSUPPORTED_WORDS):
        return "unsupported"
    return "transient"


def no_node(err: BaseException) -> bool:
    """Whether a CDP ``DOM.getNodeForLocation`` error says nothing is at that point."""
    return _says(err, NO_NODE_WORDS)


def first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return cut(text.splitlines()[0], 300)  # a cut mark: scrubbing sees a cut secret


def translated(
    err: BaseException, what: str, *, dead: bool, crashed: bool, dead_on_timeout: bool = False
) -> Exception:
    """A Playwright error → EnvClosedError (page/browser gone) or ActionFailedError."""
    if isinstance(err, (ActionFailedError, EnvClosedError)):
        return err
    if dead:
        why = "the page crashed" if crashed else "the browser or page is gone"
        return EnvClosedError(f"{why} ({what}: {first_line(err)})")
    if dead_on_timeout and type(err).__name__ == "TimeoutError":
        return EnvClosedError(f"the page is not responding ({what}: {first_line(err)})")
    return ActionFailedError(f"{what} failed: {first_line(err)}")
