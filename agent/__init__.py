"""native-agent: a vision-language model operates real software at native resolution.

The Python API is :func:`agent.run` (and :func:`agent.resume`); the vocabulary — actions,
the coordinate contract, errors, the Env / Model / Task interfaces — is :mod:`agent.core`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["resume", "run"]


def run(*args: Any, **kwargs: Any) -> Any:
    """Run a task; see :func:`agent.episode.runner.run`. Imported lazily to keep
    ``import agent`` (and so ``import agent.core``) light."""
    from agent.episode.runner import run as _run

    return _run(*args, **kwargs)


def resume(*args: Any, **kwargs: Any) -> Any:
    """Continue a stopped episode in place; see :func:`agent.episode.resume.resume_episode`."""
    from agent.episode.resume import resume_episode

    return resume_episode(*args, **kwargs)
