"""Stable error codes: what recordings and bench results carry instead of class names."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import agent
import envs
import model
from agent.core import errors
from agent.core.errors import (
    ConfigError,
    EnvClosedError,
    NativeAgentError,
    ParseError,
    describe_error,
    error_code,
)

# Released codes: consumers of recordings match on these, so they never change.
RELEASED = {
    "NativeAgentError": "error",
    "ConfigError": "config",
    "ParseError": "parse",
    "CoordinateError": "coordinate",
    "VisionInputError": "vision_input",
    "ModelError": "model",
    "EnvError": "env",
    "EnvNotAvailableError": "env_not_available",
    "EnvClosedError": "env_closed",
    "ActionNotSupportedError": "action_not_supported",
    "ActionFailedError": "action_failed",
    "RecordingError": "recording",
    "ActionDeniedError": "denied",
    "ResampledInputError": "resampled_input",
}


def _project_errors() -> list[type[NativeAgentError]]:
    """Every NativeAgentError subclass defined anywhere in the three packages."""
    found: dict[str, type[NativeAgentError]] = {}
    for pkg in (agent, envs, model):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            try:
                mod = importlib.import_module(info.name)
            except ImportError:  # an optional backend whose library is absent here
                continue
            for _, cls in inspect.getmembers(mod, inspect.isclass):
                if issubclass(cls, NativeAgentError) and cls.__module__ == mod.__name__:
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def test_released_codes_are_unchanged() -> None:
    for name, code in RELEASED.items():
        assert getattr(errors, name).code == code, name


def test_every_error_class_has_its_own_unique_code() -> None:
    classes = _project_errors()
    assert len(classes) >= len(RELEASED)
    for cls in classes:
        assert "code" in vars(cls), f"{cls.__qualname__} inherits its code; give it its own"
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(codes)


@pytest.mark.parametrize(
    ("err", "code"),
    [
        (ConfigError("x"), "config"),
        (EnvClosedError("gone"), "env_closed"),
        (ParseError("json", "{", "no JSON object"), "parse"),
        (ValueError("a bug"), errors.INTERNAL),
        (KeyboardInterrupt(), "interrupted"),
        (errors.Interrupted("SIGTERM"), "interrupted"),
    ],
)
def test_error_code_of_any_exception(err: BaseException, code: str) -> None:
    assert error_code(err) == code
    assert describe_error(err)["error_code"] == code
    assert describe_error(err)["error"].startswith(type(err).__name__ + ": ")
