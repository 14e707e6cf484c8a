"""Bundled sites (flights, account, shop) served locally by the browser env, and their tasks.

``SITES`` describes each site, ``TASKS`` maps task ids to :class:`~agent.core.task.Task`
objects, ``get_task`` looks one up. Importing this package needs no browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.errors import ConfigError
from agent.core.task import Task
from envs.sites import account, flights, shop
from envs.sites.server import SiteServer
from envs.sites.tasks import SiteTask


@dataclass(frozen=True)
class SiteInfo:
    name: str
    description: str
    start_path: str


SITES: dict[str, SiteInfo] = {
    "flights": SiteInfo(
        "flights",
        "SkyFinder: flight search with airport autocomplete, a date picker, filters and sort, "
        "passenger details, card payment and a booking reference.",
        "#/",
    ),
    "account": SiteInfo(
        "account",
        "Northwind ID: sign in with a demo account, edit profile and preferences, log out, "
        "delete the account.",
        "#/login",
    ),
    "shop": SiteInfo(
        "shop",
        "Parcel & Pine: a 72-product catalog with categories and search, product pages, "
        "a cart with quantities and order placement.",
        "#/",
    ),
}

TASKS: dict[str, Task] = {t.id: t for t in (*flights.TASKS, *account.TASKS, *shop.TASKS)}


def get_task(task_id: str) -> Task:
    """The bundled task with this id, or a ConfigError listing the ids."""
    try:
        return TASKS[task_id]
    except KeyError:
        raise ConfigError(
            f"unknown task {task_id!r}; bundled tasks: {', '.join(sorted(TASKS))}"
        ) from None


__all__ = ["SITES", "TASKS", "SiteInfo", "SiteServer", "SiteTask", "get_task"]
