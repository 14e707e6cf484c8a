"""``agent serve``: an OpenAI-compatible HTTP server around the transformers backend.

Imports are lazy so that ``agent --help`` and ``agent run`` do not load FastAPI/uvicorn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BackgroundServer", "create_app", "serve_forever"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from agent.serve.app import create_app

        return create_app
    if name in ("BackgroundServer", "serve_forever"):
        from agent.serve import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'agent.serve' has no attribute {name!r}")
