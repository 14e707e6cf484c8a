"""native-agent: a vision-language model operates real software at native resolution.

The Python API is :func:`agent.run`; actions live in :mod:`agent.actions`, coordinate maths
in :mod:`agent.coords`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run"]


def run(*args: Any, **kwargs: Any) -> Any:
    """Run a task; see :func:`agent.api.run`. Imported lazily to keep ``import agent`` light."""
    from agent.api import run as _run

    return _run(*args, **kwargs)
