"""Playwright errors as the env reports them: pure functions over the exception.

Playwright has no typed "target closed" exception for every case, so a dead page or browser
is also recognised by the words of its message — here, in one place (our own hierarchy is
never matched by text).
"""

from __future__ import annotations

from agent.core.errors import ActionFailedError, EnvClosedError

DEAD_WORDS = ("target closed", "has been closed", "crashed", "disconnected", "connection closed")


def says_dead(err: BaseException) -> bool:
    """Whether a Playwright error says the page or browser is gone."""
    if type(err).__name__ == "TargetClosedError":
        return True
    msg = str(err).lower()
    return any(w in msg for w in DEAD_WORDS)


def first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


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
