"""Model settings from three sources, in order of precedence: flags > env vars > config file.

The config file is TOML (default ``~/.config/native-agent/config.toml``, or ``--config FILE``
/ ``NATIVE_AGENT_CONFIG``) of top-level keys::

    model = "ui-tars-1.5-7b"
    base_url = "http://127.0.0.1:8000/v1"   # or ["http://a:8000/v1", "http://b:8000/v1"]
    max_new_tokens = 256
    history_images = 2
    multi_action = false   # transformers: stop at the first complete action (default)

Every key is known and typed here, so a typo in a file or a non-number in an env var is a
:class:`~agent.core.errors.ConfigError` naming the source, not a silent default. Every key
but ``model`` and ``base_url`` belongs to the backends listed in :data:`BACKENDS`; a setting
the chosen backend does not take is a ConfigError too (:func:`check_backend`), never dropped.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.core.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("~/.config/native-agent/config.toml")

# key → type. ``model`` and ``base_url`` name the model; the rest are backend settings.
SETTINGS: dict[str, type] = {
    "model": str,
    "base_url": str,
    "api_key": str,
    "family": str,
    "format": str,
    "max_new_tokens": int,
    "device": str,
    "dtype": str,
    "attn_implementation": str,
    "history_images": int,
    "history_steps": int,
    "history_block": int,  # 1: sliding image window; odd B > 1: dropped in blocks (prefix cache)
    "max_image_tokens": int,
    "timeout": float,
    "retries": int,
    "backoff": float,
    "action_space": str,
    "temperature": float,
    "force_text": str,
    "language": str,
    "multi_action": bool,  # transformers: let one turn hold several actions
    "constrained": bool,  # openai: structured output that only admits parseable actions
    "action_schema": str,  # openai + constrained: a JSON Schema file replacing the default
    "check_resample": bool,  # openai: token counts must show the server kept each image size
    "trust_remote_code": bool,  # transformers: run a checkpoint's own Python (OpenCUA)
}

# a list of strings (several endpoints) is taken too, as ``"A,B"``; env and flags: ``A,B``
LIST_KEYS = frozenset({"base_url"})
NAME_KEYS = frozenset({"model", "base_url"})  # which model; the rest configure its backend
# hosted specs: ``base_url`` (when set) is their API's address, passed to the backend
HOSTED_PREFIXES = ("anthropic:", "openai-cua:", "gemini:")
_MODEL_WINDOW = {"family", "format", "max_new_tokens", "history_images", "history_steps",
                 "history_block", "max_image_tokens", "action_space", "language"}  # fmt: skip
# backend → the settings it takes (tests/model/test_settings.py: every key has one, and
# each shows its effect)
BACKENDS: dict[str, frozenset[str]] = {
    "openai": frozenset(
        _MODEL_WINDOW
        | {"api_key", "temperature", "timeout", "retries", "backoff", "constrained"}
        | {"action_schema", "check_resample"}
    ),
    "transformers": frozenset(
        _MODEL_WINDOW
        | {"device", "dtype", "attn_implementation", "force_text", "multi_action"}
        | {"trust_remote_code"}
    ),
    # hosted computer-use APIs (model/backends/hosted): their vendors' SDKs
    **dict.fromkeys(
        ("anthropic", "openai-cua", "gemini"),
        frozenset({"api_key", "timeout", "retries", "max_new_tokens", "history_images"})
        | {"history_steps"},
    ),
    "ocr": frozenset(),  # the CPU grounder: its own ocr:key=value settings only
    "scripted": frozenset(),  # replays a file
}

ENV_PREFIX = "NATIVE_AGENT_"
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True}
_BOOL_WORDS |= {"0": False, "false": False, "no": False, "off": False}
SECRET_KEYS = frozenset({"api_key"})


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def _coerce(key: str, value: Any, source: str) -> Any:
    """Check / convert one value to its declared type (env values arrive as strings)."""
    want = SETTINGS.get(key)
    if want is None:
        known = ", ".join(sorted(SETTINGS))
        raise ConfigError(f"unknown setting {key!r} in {source}; known settings: {known}")
    if key in LIST_KEYS and isinstance(value, list):
        return _joined(key, value, source)
    if want is bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _BOOL_WORDS:
            return _BOOL_WORDS[word]
        raise ConfigError(f"setting {key!r} in {source} must be true or false, got {value!r}")
    if isinstance(value, bool) or (want is not str and isinstance(value, str) and not value):
        raise ConfigError(f"setting {key!r} in {source} must be {want.__name__}, got {value!r}")
    try:
        if want is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if want is float:
            return float(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"setting {key!r} in {source} must be {want.__name__}, got {value!r}"
        ) from err
    if not isinstance(value, str):
        raise ConfigError(f"setting {key!r} in {source} must be a string, got {value!r}")
    return value


def _joined(key: str, value: list[Any], source: str) -> str:
    """A list setting (several servers of one model) as its comma-separated string."""
    if not value or not all(isinstance(v, str) and v.strip() and "," not in v for v in value):
        raise ConfigError(
            f"setting {key!r} in {source} must be a URL or a non-empty list of URLs "
            f'(e.g. ["http://a:8000/v1", "http://b:8000/v1"]), got {value!r}'
        )
    return ",".join(v.strip() for v in value)


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a TOML config file (top-level keys) into typed settings."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file not found: {path}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err
    source = f"config file {path}"
    return {k: _coerce(k, v, source) for k, v in data.items()}


def read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Typed settings from ``NATIVE_AGENT_*`` variables (empty values are ignored)."""
    out: dict[str, Any] = {}
    for key in SETTINGS:
        value = env.get(env_name(key))
        if value is not None and value.strip() != "":
            out[key] = _coerce(key, value.strip(), f"env var {env_name(key)}")
    return out


def default_config_path(env: Mapping[str, str]) -> Path | None:
    """``NATIVE_AGENT_CONFIG`` if set, else the default path when that file exists."""
    explicit = env.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    path = DEFAULT_CONFIG_PATH.expanduser()
    return path if path.is_file() else None


def resolve_settings(
    cli: Mapping[str, Any],
    env: Mapping[str, str],
    file: Path | None,
    sources: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Merge settings: ``cli`` (flags; ``None`` = not given) > ``env`` (``NATIVE_AGENT_*``)
    > ``file`` (TOML; ``None`` = no file). Returns only the keys that some source set,
    typed; unknown keys and bad values raise :class:`ConfigError` naming their source.
    ``sources``, when given, is filled with where each returned key came from.
    """
    merged: dict[str, Any] = {}
    where: dict[str, str] = {}
    if file is not None:
        merged.update(read_config_file(Path(file).expanduser()))
        where.update(dict.fromkeys(merged, f"config file {file}"))
    from_env = read_env(env)
    merged.update(from_env)
    where.update({k: f"env var {env_name(k)}" for k in from_env})
    for key, value in cli.items():
        if value is not None:
            merged[key] = _coerce(key, value, f"flag --{key.replace('_', '-')}")
            where[key] = f"flag --{key.replace('_', '-')}"
    if sources is not None:
        sources.update(where)
    return merged


def load_settings(
    cli: Mapping[str, Any], config: Path | None = None, sources: dict[str, str] | None = None
) -> dict[str, Any]:
    """:func:`resolve_settings` with the process environment and the default config path."""
    env = os.environ
    path = config if config is not None else default_config_path(env)
    return resolve_settings(cli, env, path, sources)


def check_backend(
    backend: str, settings: Mapping[str, Any], sources: Mapping[str, str] | None = None
) -> None:
    """A ConfigError for the first setting (a :data:`SETTINGS` key) that ``backend`` does
    not take, naming where it came from and which backends take it. Keys outside SETTINGS
    (a backend's own keyword arguments) are left to the backend."""
    takes = BACKENDS[backend]
    for key in sorted(settings):
        if key in SETTINGS and key not in NAME_KEYS and key not in takes:
            owners = [b for b, keys in BACKENDS.items() if key in keys]
            source = f" (from {sources[key]})" if sources and key in sources else ""
            raise ConfigError(
                f"setting {key!r}{source} is not taken by the {backend} model backend; "
                f"it is a setting of the {' and '.join(owners)} backend: remove it, or "
                f"choose such a model"
            )


def model_spec(settings: Mapping[str, Any]) -> str | None:
    """The ``--model`` spec: with a ``base_url`` a bare model name becomes
    ``openai:MODEL@BASE_URL`` (the server serves it); otherwise the model as given."""
    model = settings.get("model")
    base = settings.get("base_url")
    if model and str(model).startswith(HOSTED_PREFIXES):
        return str(model)
    if base and model and not str(model).startswith(("openai:", "scripted:", "ocr")):
        return f"openai:{model}@{base}"
    if base and not model:
        raise ConfigError(f"base_url {base} is set but no model name: set --model NAME")
    return model


def backend_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword settings for :func:`model.registry.load_model` (the spec keys removed;
    a hosted model keeps ``base_url``: its API's address)."""
    hosted = str(settings.get("model") or "").startswith(HOSTED_PREFIXES)
    drop = ("model",) if hosted else ("model", "base_url")
    return {k: v for k, v in settings.items() if k not in drop}


def redacted(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings safe to print or record (secrets masked)."""
    return {k: ("***" if k in SECRET_KEYS and v else v) for k, v in settings.items()}
