"""``agent serve``: an OpenAI-compatible HTTP server around the transformers backend."""

from agent.serve.app import create_app
from agent.serve.runner import BackgroundServer, serve_forever

__all__ = ["BackgroundServer", "create_app", "serve_forever"]
