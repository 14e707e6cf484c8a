"""Account site: sign in with the demo account, edit settings, sign out, delete — and its
tasks. Sessions are bearer tokens held in memory; ``reset`` signs everyone out."""

from __future__ import annotations

import re
import secrets
from typing import Any, ClassVar

from envs.sites.app import HttpError, SiteApp, need
from envs.sites.tasks import SiteTask, Step, norm

USERNAME = "demo"
PASSWORD = "demo123"
THEMES = ("system", "light", "dark")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _default_user() -> dict[str, Any]:
    return {
        "username": USERNAME,
        "display_name": "Demo User",
        "email": "demo@example.com",
        "newsletter": False,
        "theme": "system",
    }


class AccountApp(SiteApp):
    name = "account"

    def _reset(self, options: dict[str, Any]) -> None:
        self.user = {**_default_user(), **options.get("user", {})}
        self.deleted = False
        self.sessions: set[str] = set()
        self.log: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        return {
            "user": dict(self.user),
            "deleted": self.deleted,
            "signed_in": bool(self.sessions),
            "log": list(self.log),
        }

    def _auth(self, headers: Any) -> None:
        token = (headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if self.deleted or token not in self.sessions:
            raise HttpError(401, "please sign in")

    def route(
        self, method: str, parts: list[str], query: dict[str, str], body: Any, headers: Any
    ) -> tuple[int, Any]:
        if (method, parts) == ("POST", ["login"]):
            user, pwd = need(body, "username").strip(), need(body, "password")
            ok = not self.deleted and user.lower() == USERNAME and pwd == PASSWORD
            self.log.append({"event": "login", "ok": ok})
            if not ok:
                raise HttpError(401, "Incorrect username or password.")
            token = secrets.token_hex(16)
            self.sessions.add(token)
            return 200, {"token": token}
        if (method, parts) == ("POST", ["logout"]):
            token = (headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            self.sessions.discard(token)
            self.log.append({"event": "logout"})
            return 200, {"ok": True}
        if parts == ["me"]:
            self._auth(headers)
            if method == "GET":
                return 200, dict(self.user)
            if method == "PUT":
                return 200, self._save(body)
            if method == "DELETE":
                self.deleted = True
                self.sessions.clear()
                self.log.append({"event": "delete"})
                return 200, {"ok": True}
        return super().route(method, parts, query, body, headers)

    def _save(self, body: Any) -> dict[str, Any]:
        name = " ".join(need(body, "display_name").split())
        email = need(body, "email").strip()
        newsletter = need(body, "newsletter", bool)
        theme = need(body, "theme")
        if not 1 <= len(name) <= 60:
            raise HttpError(400, "The display name must be 1 to 60 characters.")
        if not EMAIL.match(email):
            raise HttpError(400, "Enter a valid email address.")
        if theme not in THEMES:
            raise HttpError(400, f"The theme must be one of {', '.join(THEMES)}.")
        self.user.update(display_name=name, email=email, newsletter=newsletter, theme=theme)
        self.log.append({"event": "save", **self.user})
        return dict(self.user)


# ---- tasks -----------------------------------------------------------------------------

SIGN_IN: list[Step] = [
    {"op": "type", "selector": "#username", "text": USERNAME, "clear": True},
    {"op": "type", "selector": "#password", "text": PASSWORD, "clear": True},
    {"op": "click", "selector": "#login-btn"},
    {"op": "expect", "selector": "#settings-form"},
]


def _unchanged(user: dict[str, Any], *fields: str) -> list[str]:
    base = _default_user()
    return [f"{f} changed" for f in fields if user.get(f) != base[f]]


class ChangeDisplayName(SiteTask):
    id = "account/change-display-name"
    site = "account"
    start_path = "#/login"
    target = "Ada Lovelace"
    goal = (
        "Sign in to the account site with the demo account shown on the login page and "
        f"change the display name to '{target}'. Save the change."
    )
    solution: ClassVar[list[Step]] = [
        *SIGN_IN,
        {"op": "type", "selector": "#display-name", "text": target, "clear": True},
        {"op": "click", "selector": "#save-btn"},
        {"op": "expect", "selector": "#toast"},
    ]

    def judge(self, state: dict[str, Any], server: Any) -> tuple[bool, dict[str, Any]]:
        user = state["user"]
        problems = _unchanged(user, "email", "newsletter", "theme")
        if norm(user["display_name"]) != norm(self.target):
            problems.append(f"display name is {user['display_name']!r}")
        if state["deleted"]:
            problems.append("the account was deleted")
        return not problems, {"user": user, "reason": ", ".join(problems) or None}


class EnableNewsletterDark(SiteTask):
    id = "account/enable-newsletter"
    site = "account"
    start_path = "#/login"
    goal = (
        "Sign in to the account site with the demo account shown on the login page, "
        "subscribe to the monthly newsletter and switch the theme to Dark. Save the settings."
    )
    solution: ClassVar[list[Step]] = [
        *SIGN_IN,
        {"op": "click", "selector": "label[for=newsletter]"},
        {"op": "click", "selector": "#theme-btn"},
        {"op": "click", "selector": "#theme-menu [data-value=dark]"},
        {"op": "click", "selector": "#save-btn"},
        {"op": "expect", "selector": "#toast"},
    ]

    def judge(self, state: dict[str, Any], server: Any) -> tuple[bool, dict[str, Any]]:
        user = state["user"]
        problems = _unchanged(user, "display_name", "email")
        if user["newsletter"] is not True:
            problems.append("newsletter is off")
        if user["theme"] != "dark":
            problems.append(f"theme is {user['theme']!r}")
        if state["deleted"]:
            problems.append("the account was deleted")
        return not problems, {"user": user, "reason": ", ".join(problems) or None}


TASKS = [ChangeDisplayName(), EnableNewsletterDark()]
