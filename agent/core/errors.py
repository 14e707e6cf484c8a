"""The one exception hierarchy of native-agent.

Callers match on types, never on message text. Every error that wraps another is raised
with ``raise ... from err`` so the cause stays visible.
"""

from __future__ import annotations


class NativeAgentError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(NativeAgentError):
    """Bad settings or arguments: the message names the fix."""


class ParseError(NativeAgentError):
    """Model output that cannot be turned into an action.

    ``format`` names the parser, ``text`` is the offending fragment (shortened).
    """

    def __init__(self, format: str, text: str, reason: str) -> None:
        self.format = format
        self.text = text if len(text) <= 200 else text[:197] + "..."
        self.reason = reason
        super().__init__(f"[{format}] {reason}: {self.text!r}")


class CoordinateError(NativeAgentError):
    """A point that cannot be mapped safely (NaN, infinite, far outside the screen)."""


class VisionInputError(NativeAgentError):
    """An image that cannot be turned into model input (empty, too large, wrong mode)."""


class ModelError(NativeAgentError):
    """A model backend failed (load, generation, server)."""


class EnvError(NativeAgentError):
    """An environment failed at the I/O level."""


class EnvNotAvailableError(EnvError):
    """The env cannot start here (no browser, display or device); the message names the fix."""


class EnvClosedError(EnvError):
    """The environment (or the program it drives) is gone."""


class ActionNotSupportedError(EnvError):
    """The environment does not support this action type."""


class ActionFailedError(EnvError):
    """An action was attempted and failed; recorded as ``last_action_error``."""


class RecordingError(NativeAgentError):
    """An episode directory cannot be written or read."""


class FeatureNotOfferedError(EnvError):
    """The env does not offer this feature (see ``Env.features``); ask ``env.offers`` first."""
