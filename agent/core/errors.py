"""The one exception hierarchy of native-agent.

Callers match on types, never on message text. Every error that wraps another is raised
with ``raise ... from err`` so the cause stays visible. Each class carries a stable
``code`` (as android_env's errors do): it is what step lines, episode outcomes and bench
results record, so a consumer of recordings never parses class names or messages. Codes
never change once released; a new class gets a new code. :func:`error_code` maps any
exception to one (``internal`` for one that is not ours: a bug, not a user error).
"""

from __future__ import annotations

from typing import ClassVar

INTERNAL = "internal"


class NativeAgentError(Exception):
    """Base class of every error this project raises on purpose."""

    code: ClassVar[str] = "error"


class ConfigError(NativeAgentError):
    """Bad settings or arguments: the message names the fix."""

    code = "config"


class ParseError(NativeAgentError):
    """Model output that cannot be turned into an action.

    ``format`` names the parser, ``text`` is the offending fragment (shortened).
    """

    code = "parse"

    def __init__(self, format: str, text: str, reason: str) -> None:
        self.format = format
        self.text = text if len(text) <= 200 else text[:197] + "..."
        self.reason = reason
        super().__init__(f"[{format}] {reason}: {self.text!r}")


class CoordinateError(NativeAgentError):
    """A point that cannot be mapped safely (NaN, infinite, far outside the screen)."""

    code = "coordinate"


class VisionInputError(NativeAgentError):
    """An image that cannot be turned into model input (empty, too large, wrong mode)."""

    code = "vision_input"


class ModelError(NativeAgentError):
    """A model backend failed (load, generation, server)."""

    code = "model"


class ResampledInputError(ModelError):
    """The server did not feed the model the image size its Frame planned (it resampled
    the screenshot), so absolute-pixel points would land off target; the message names the
    fix. ``expected`` / ``reported``: image tokens per the Frame and per the server;
    ``server_size``: the (w, h) the server's count implies, when a max_pixels cap explains it."""

    code = "resampled_input"

    def __init__(
        self,
        message: str,
        *,
        expected: int,
        reported: int,
        server_size: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.expected = expected
        self.reported = reported
        self.server_size = server_size


class EnvError(NativeAgentError):
    """An environment failed at the I/O level."""

    code = "env"


class EnvNotAvailableError(EnvError):
    """The env cannot start here (no browser, display or device); the message names the fix."""

    code = "env_not_available"


class EnvClosedError(EnvError):
    """The environment (or the program it drives) is gone."""

    code = "env_closed"


class ActionNotSupportedError(EnvError):
    """The environment does not support this action type."""

    code = "action_not_supported"


class ActionFailedError(EnvError):
    """An action was attempted and failed; recorded as ``last_action_error``."""

    code = "action_failed"


class TargetChangedError(ActionFailedError):
    """What the action would press changed between the gate's read and the input (the
    browser's dispatch guard cancelled the event, or a re-read right before the input on
    desktop / Android differs): nothing was pressed; recorded as ``last_action_error``."""

    code = "target_changed"


class ActionDeniedError(NativeAgentError):
    """The safety gate refused an action (recorded with the gate's decision; never run).

    Built from the decision's ``policy`` and ``reason`` so every denial reads the same."""

    code = "denied"

    def __init__(self, policy: str, reason: str | None = None) -> None:
        self.policy = policy
        self.reason = reason
        super().__init__(f"denied by {policy}: {reason}" if reason else f"denied by {policy}")


class RecordingError(NativeAgentError):
    """An episode directory cannot be written or read."""

    code = "recording"


class Interrupted(BaseException):
    """SIGTERM (or SIGINT) arrived: the episode is finalised as ``interrupted``, then the
    process ends. A BaseException, so no ``except Exception`` swallows it."""

    code: ClassVar[str] = "interrupted"

    def __init__(self, signal_name: str = "SIGTERM") -> None:
        super().__init__(f"stopped by {signal_name}")
        self.signal_name = signal_name


_SIGNALLED: list[str] = []  # stop signals that arrived in this process (note_signal)


def note_signal(name: str) -> None:
    """Record that the stop signal ``name`` arrived. The handler raises
    :class:`Interrupted` wherever the process happens to be — inside a browser driver's
    I/O, say — and what then propagates may be the driver's own error (its connection torn
    down mid-call): :func:`signalled` lets the runner and the CLI still treat that as the
    interruption it is, not as a crash."""
    _SIGNALLED.append(name)


def signalled() -> str | None:
    """The last stop signal noted in this process, if any (see :func:`note_signal`)."""
    return _SIGNALLED[-1] if _SIGNALLED else None


def clear_signals() -> None:
    """Forget noted signals (the CLI does at exit: an in-process caller runs again)."""
    _SIGNALLED.clear()


def error_code(err: BaseException) -> str:
    """The stable code of ``err``: its class's ``code``, or ``internal`` for a foreign one."""
    if isinstance(err, (NativeAgentError, Interrupted)):
        return err.code
    return Interrupted.code if isinstance(err, KeyboardInterrupt) else INTERNAL


def describe_error(err: BaseException) -> dict[str, str]:
    """What a recording says about an error: its code, its type and its message."""
    return {"error": f"{type(err).__name__}: {err}", "error_code": error_code(err)}


CUT_MARK = "…"


def cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters, a cut marked with ``…``: scrubbing
    (agent.safety.secrets) removes a secret's prefix left before the mark, so code that
    cannot scrub (an env, the gate) cuts with this and never with a bare slice."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + CUT_MARK


class FeatureNotOfferedError(EnvError):
    """The env does not offer this feature (see ``Env.features``); ask ``env.offers`` first."""

    code = "feature_not_offered"
