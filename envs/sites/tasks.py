"""SiteTask: a task on a bundled site, judged from the site's server state.

``setup`` resets the site's state through its API and opens the start page in a fresh
browser context; ``evaluate`` reads ``/api/<site>/state`` and calls ``judge``. Each task
also carries a declarative ``solution`` (steps for :class:`~envs.sites.oracle.OracleModel`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from agent.core.env import Env
from agent.core.errors import ConfigError
from agent.core.task import Task, TaskResult


class SiteServer(Protocol):
    """What a task needs of the bundled-site server (:class:`envs.sites.server.SiteServer`);
    a protocol, so the tasks do not import the server that hosts their apps."""

    def api(self, site: str, method: str, path: str, body: Any = None) -> Any:
        """Call ``/api/<site>/<path>`` and return the decoded JSON."""

    def url_for(self, site: str, path: str = "") -> str:
        """The URL of a page of ``site``."""


# A solution step: {"op": "click", "selector": "#search-btn"}, {"op": "type", "selector":
# "#from", "text": "BOS", "clear": true}, {"op": "key", "keys": "enter"}, {"op": "scroll",
# "direction": "down", "amount": 3}, {"op": "expect", "selector": "#ref"}, ... (see oracle).
Step = dict[str, Any]


def server_of(env: Env) -> SiteServer:
    """The env's bundled-site server; only the browser env has one."""
    server = getattr(env, "site_server", None)
    if server is None:
        raise ConfigError(
            f"bundled-site tasks need the browser env (got the {env.name!r} env); "
            "run them with --env browser"
        )
    return server


def norm(text: Any) -> str:
    """Case- and whitespace-insensitive form for comparing what a user typed."""
    return " ".join(str(text or "").split()).casefold()


class SiteTask(Task):
    """Base of the bundled-site tasks; subclasses set the class attributes and ``judge``."""

    site: ClassVar[str] = ""
    start_path: ClassVar[str] = ""
    reset_options: ClassVar[dict[str, Any]] = {}
    solution: ClassVar[list[Step]] = []

    def setup(self, env: Env) -> None:
        server = server_of(env)
        server.api(self.site, "POST", "reset", dict(self.reset_options))
        env.reset(url=server.url_for(self.site, self.start_path))

    def evaluate(self, env: Env) -> TaskResult:
        server = server_of(env)
        state = server.api(self.site, "GET", "state")
        ok, details = self.judge(state, server)
        return TaskResult(success=ok, reward=1.0 if ok else 0.0, details=details)

    def judge(self, state: dict[str, Any], server: SiteServer) -> tuple[bool, dict[str, Any]]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "site": self.site, "goal": self.goal, "env": self.env_name}
