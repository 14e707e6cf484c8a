"""Env names → classes: the built-ins plus third-party envs registered under the entry-point
group ``native_agent.envs`` (so ``agent run --env NAME`` finds them once installed)."""

from __future__ import annotations

import importlib
import inspect
from importlib import metadata
from typing import Any

from agent.core.env import Env, EnvSpec
from agent.core.errors import ConfigError

GROUP = "native_agent.envs"
BUILTIN: dict[str, str] = {
    "browser": "envs.browser:BrowserEnv",
    "desktop": "envs.desktop:DesktopEnv",
    "android": "envs.android:AndroidEnv",
    "miniwob": "envs.miniwob:MiniWobEnv",
}


def available_envs() -> dict[str, str]:
    """name → "module:Class" for built-ins and installed entry points."""
    found = dict(BUILTIN)
    for ep in metadata.entry_points(group=GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def env_class(name: str) -> type[Env]:
    envs = available_envs()
    if name not in envs:
        raise ConfigError(
            f"unknown env {name!r}; available: {', '.join(sorted(envs))} "
            f"(third-party envs register under the entry-point group {GROUP!r})"
        )
    target = envs[name]
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"env {name!r} needs a package that is not installed ({err.name}): "
            f"pip install 'native-agent[{name}]'"
        ) from err
    if not (isinstance(cls, type) and issubclass(cls, Env)):
        raise ConfigError(f"{target} is not an agent.core.env.Env subclass")
    return cls


def make_env(spec: EnvSpec | str, **kwargs: Any) -> Env:
    """Build the env a spec describes (``env.spec()``, or the one episode.json records);
    ``kwargs`` override the spec's settings. A name is the spec of that env's defaults.
    A setting the env's constructor does not take is a ConfigError naming the env."""
    if isinstance(spec, str):
        spec = EnvSpec(spec)
    return construct(env_class(spec.name), {**spec.kwargs, **kwargs}, spec.name)


def construct(cls: type[Env], settings: dict[str, Any], name: str | None = None) -> Env:
    """``cls(**settings)``, a setting its constructor does not take being a ConfigError
    naming the env (checked before anything starts)."""
    try:
        inspect.signature(cls).bind(**settings)
    except TypeError as err:
        raise ConfigError(
            f"bad settings for the {name or cls.__name__} env "
            f"({', '.join(sorted(settings)) or 'none'}): {err}; "
            f"see help({cls.__module__}.{cls.__name__})"
        ) from err
    return cls(**settings)
