"""One model registry: ``--model`` spec → a :class:`~agent.core.model.Model`.

Specs: ``scripted:FILE`` (a fake that replays outputs), ``ocr`` (the CPU grounder),
``openai:MODEL@BASE_URL`` (any OpenAI-compatible server: vLLM, SGLang, ``agent serve``),
the hosted computer-use APIs ``anthropic:MODEL``, ``openai-cua:MODEL`` and ``gemini:MODEL``
(their vendors' SDKs: :mod:`model.backends.hosted`), and otherwise a hub id or a local
path loaded with transformers.
Backends are imported lazily so a missing optional dependency only matters when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from agent.core.errors import ConfigError
from agent.core.model import Model

DEFAULT_MODEL = "ocr"

Loader = Callable[[str, dict[str, Any]], Model]


def _lazy(module: str, attr: str, extra: str) -> Loader:
    def load(rest: str, settings: dict[str, Any]) -> Model:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            raise ConfigError(
                f"this model backend needs extra packages ({err.name} is missing): "
                f"pip install 'native-agent[{extra}]'"
            ) from err
        factory = getattr(mod, attr)
        return factory(rest, **settings)

    return load


def _scripted(rest: str, settings: dict[str, Any]) -> Model:
    from model.scripted import ScriptedModel

    if not rest:
        raise ConfigError("scripted model needs a file: --model scripted:FILE")
    return ScriptedModel.from_file(rest)


PREFIXES: dict[str, Loader] = {
    "scripted": _scripted,
    "ocr": _lazy("model.ocr", "load_ocr_model", "ocr"),
    "openai": _lazy("model.backends.openai_backend", "load_openai_model", "openai"),
    "hf": _lazy("model.backends.hf", "load_hf_model", "transformers"),
    "anthropic": _lazy("model.backends.hosted.anthropic", "load_anthropic_model", "hosted"),
    "openai-cua": _lazy("model.backends.hosted.openai_cua", "load_openai_cua_model", "hosted"),
    "gemini": _lazy("model.backends.hosted.gemini", "load_gemini_model", "hosted"),
}


BACKEND_OF = {"scripted": "scripted", "ocr": "ocr", "openai": "openai", "hf": "transformers"}
BACKEND_OF |= {"anthropic": "anthropic", "openai-cua": "openai-cua", "gemini": "gemini"}


def _route(spec: str) -> tuple[str, str]:
    """(registry prefix, the rest of the spec)."""
    prefix, sep, rest = spec.partition(":")
    if prefix in PREFIXES and (sep or prefix == "ocr"):
        return prefix, rest
    # a hub id ("Qwen/Qwen2-VL-7B-Instruct") or a local path → transformers
    return "hf", spec


def backend_of(spec: str | None) -> str:
    """The backend (a :data:`model.config.BACKENDS` key) that builds ``spec``."""
    return BACKEND_OF[_route((spec or DEFAULT_MODEL).strip())[0]]


def load_model(spec: str | None = None, **settings: Any) -> Model:
    """Build the model named by ``spec`` (None → the default CPU grounder). A setting of
    :mod:`model.config` that this backend does not take is a ConfigError."""
    from model.config import check_backend

    spec = (spec or DEFAULT_MODEL).strip()
    if not spec:
        raise ConfigError("empty --model")
    prefix, rest = _route(spec)
    check_backend(BACKEND_OF[prefix], settings)
    return PREFIXES[prefix](rest, settings)
