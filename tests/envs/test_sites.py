"""Bundled sites: the server and its APIs, the task registry, and every task solved by the
oracle in a real headless Chromium (and not solved by doing nothing)."""

from __future__ import annotations

import http.client
import json
from typing import Any

import pytest

from agent.core.actions import Click
from agent.core.coords import Frame
from agent.core.env import Env
from agent.core.errors import ConfigError, EnvError, ModelError
from agent.core.model import ModelRequest
from agent.core.observation import Observation
from envs.browser import BrowserEnv
from envs.sites import SITES, TASKS, SiteServer, get_task
from envs.sites.flights import search
from envs.sites.oracle import OracleModel

# ---- registry ---------------------------------------------------------------------------------


def test_registry() -> None:
    assert set(SITES) == {"flights", "account", "shop"}
    for site in SITES:
        tasks = [t for t in TASKS.values() if t.site == site]
        assert len(tasks) >= 2, site
    for tid, task in TASKS.items():
        assert task.id == tid and tid.startswith(task.site + "/")
        assert task.goal and task.solution and task.env_name == "browser"
    assert get_task("shop/add-to-cart") is TASKS["shop/add-to-cart"]


def test_unknown_task_lists_ids() -> None:
    with pytest.raises(ConfigError) as err:
        get_task("shop/nope")
    for tid in TASKS:
        assert tid in str(err.value)


# ---- server and APIs (no browser) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with SiteServer() as srv:
        yield srv


def _get(server: SiteServer, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("site", "title"),
    [("flights", "SkyFinder"), ("account", "Northwind ID"), ("shop", "Parcel &amp; Pine")],
)
def test_server_serves_each_site(server: SiteServer, site: str, title: str) -> None:
    status, headers, body = _get(server, f"/{site}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert title in body.decode()
    for asset, ctype in (("app.js", "javascript"), ("style.css", "text/css")):
        status, headers, _ = _get(server, f"/{site}/{asset}")
        assert status == 200 and ctype in headers["Content-Type"]
    assert server.url_for(site, "#/x") == f"{server.base_url}/{site}/#/x"


def test_server_paths(server: SiteServer) -> None:
    assert _get(server, "/")[0] == 200
    status, headers, _ = _get(server, "/shop")
    assert status == 301 and headers["Location"] == "/shop/"
    assert _get(server, "/common/base.css")[0] == 200
    assert _get(server, "/shop/missing.js")[0] == 404
    assert _get(server, "/common/../../server.py")[0] == 404  # no escaping static/
    assert _get(server, "/api/nosuch/state")[0] == 404
    with pytest.raises(ConfigError):
        server.url_for("nosuch")


def test_servers_are_isolated_and_restartable() -> None:
    a, b = SiteServer(), SiteServer()
    a.start(), b.start()
    try:
        a.start()  # idempotent
        a.api("shop", "POST", "cart", {"product_id": 101, "qty": 2})
        assert a.api("shop", "GET", "state")["cart"][0]["qty"] == 2
        assert b.api("shop", "GET", "state")["cart"] == []
    finally:
        a.stop(), b.stop()
        a.stop()
    with pytest.raises(EnvError):
        a.url_for("shop")


def test_flights_api(server: SiteServer) -> None:
    server.api("flights", "POST", "reset", {})
    assert server.api("flights", "GET", "config") == {"today": "2026-03-02"}
    assert len(server.api("flights", "GET", "airports")) >= 20
    flights = server.api("flights", "GET", "search?from=BOS&to=SFO&date=2026-03-14")["flights"]
    assert flights == search("BOS", "SFO", "2026-03-14") and len(flights) == 12
    assert len({f["price"] for f in flights}) == 12  # no ties: "the cheapest" is unique
    cheapest = min(flights, key=lambda f: f["price"])
    assert cheapest["stops"] > 0  # so the nonstop filter matters
    for query in (
        "from=BOS&to=BOS&date=2026-03-14",
        "from=XXX&to=SFO&date=2026-03-14",
        "from=BOS&to=SFO&date=2026-03-01",
        "from=BOS&to=SFO&date=tomorrow",
    ):
        with pytest.raises(EnvError, match="400"):
            server.api("flights", "GET", f"search?{query}")
    booking: dict[str, Any] = {
        "flight_id": cheapest["id"],
        "passengers": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
        "card": {"number": "4242 4242 4242 4241", "expiry": "12/30", "cvc": "123"},
    }
    with pytest.raises(EnvError, match="card number"):
        server.api("flights", "POST", "bookings", booking)
    booking["card"]["number"] = "4242424242424242"
    booking["card"]["expiry"] = "01/26"
    with pytest.raises(EnvError, match="expired"):
        server.api("flights", "POST", "bookings", booking)
    booking["card"]["expiry"] = "12/30"
    made = server.api("flights", "POST", "bookings", booking)
    assert len(made["reference"]) == 6 and made["card_last4"] == "4242"
    state = server.api("flights", "GET", "state")
    assert [b["reference"] for b in state["bookings"]] == [made["reference"]]
    assert "4242424242424242" not in json.dumps(state)  # only the last four digits are kept


def test_account_api(server: SiteServer) -> None:
    server.api("account", "POST", "reset", {})
    with pytest.raises(EnvError, match="401"):
        server.api("account", "POST", "login", {"username": "demo", "password": "nope"})
    with pytest.raises(EnvError, match="401"):
        server.api("account", "GET", "me")
    token = server.api("account", "POST", "login", {"username": "demo", "password": "demo123"})
    auth = {"Authorization": f"Bearer {token['token']}"}
    me = server.api("account", "GET", "me", headers=auth)
    settings = {**me, "display_name": "  Ada   L. ", "newsletter": True, "theme": "dark"}
    with pytest.raises(EnvError, match="400"):
        server.api("account", "PUT", "me", {**settings, "theme": "neon"}, headers=auth)
    saved = server.api("account", "PUT", "me", settings, headers=auth)
    assert saved["display_name"] == "Ada L." and saved["theme"] == "dark"
    server.api("account", "DELETE", "me", headers=auth)
    assert server.api("account", "GET", "state")["deleted"] is True
    server.api("account", "POST", "reset", {})
    assert server.api("account", "GET", "state")["user"]["display_name"] == "Demo User"


def test_shop_api(server: SiteServer) -> None:
    server.api("shop", "POST", "reset", {})
    data = server.api("shop", "GET", "products")
    assert len(data["products"]) >= 60 and len(data["categories"]) == 6
    assert [p["name"] for p in server.api("shop", "GET", "products?q=socks")["products"]] == [
        "Trail Running Socks"
    ]
    books = server.api("shop", "GET", "products?category=books")["products"]
    assert len(books) == 12 and {p["category"] for p in books} == {"Books"}
    with pytest.raises(EnvError, match="empty"):
        server.api("shop", "POST", "orders", {})
    server.api("shop", "POST", "cart", {"product_id": 101, "qty": 2})
    server.api("shop", "POST", "cart", {"product_id": 102})
    cart = server.api("shop", "PUT", "cart/101", {"qty": 3})
    assert cart["count"] == 4
    server.api("shop", "DELETE", "cart/102")
    order = server.api("shop", "POST", "orders", {})
    assert order["id"] == 1001 and [i["qty"] for i in order["items"]] == [3]
    assert server.api("shop", "GET", "state")["cart"] == []


# ---- tasks with the oracle in a real browser ----------------------------------------------


@pytest.fixture(scope="module")
def env():
    env = BrowserEnv(site="flights")
    yield env
    env.close()


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_oracle_solves_task(env: BrowserEnv, task_id: str, oracle_run) -> None:
    task = TASKS[task_id]
    task.setup(env)
    fresh = task.evaluate(env)
    assert not fresh.success and fresh.reward == 0.0
    assert env.observe().url.startswith(env.site_url(task.site))
    actions = oracle_run(env, task)
    result = task.evaluate(env)
    assert result.success, result.details
    assert result.reward == 1.0
    assert actions[-1]["type"] == "finish"
    for a in actions:
        if "box" in a:  # every grounded action points inside its gold box
            x1, y1, x2, y2 = a["box"]
            assert x1 <= a["point"][0] <= x2 and y1 <= a["point"][1] <= y2
    if task_id == "shop/add-to-cart":  # the product is below the fold: a real scroll
        assert any(a["type"] == "scroll" for a in actions)


def test_wrong_outcomes_fail(env: BrowserEnv) -> None:
    srv = env.site_server
    task = TASKS["flights/book-cheapest"]
    task.setup(env)
    wrong = min(search("BOS", "SFO", "2026-03-14"), key=lambda f: f["price"])  # has stops
    srv.api(
        "flights",
        "POST",
        "bookings",
        {
            "flight_id": wrong["id"],
            "passengers": [{"name": "Ada Lovelace", "email": "ada@example.com"}],
            "card": {"number": "4242424242424242", "expiry": "12/30", "cvc": "123"},
        },
    )
    result = task.evaluate(env)
    assert not result.success and result.details["reason"] == "wrong flight"

    task = TASKS["shop/add-to-cart"]
    task.setup(env)
    product = next(
        p for p in srv.api("shop", "GET", "products")["products"] if p["name"] == task.product
    )
    srv.api("shop", "POST", "cart", {"product_id": product["id"], "qty": 3})
    assert not task.evaluate(env).success

    task = TASKS["account/change-display-name"]
    task.setup(env)
    token = srv.api("account", "POST", "login", {"username": "demo", "password": "demo123"})
    auth = {"Authorization": f"Bearer {token['token']}"}
    me = srv.api("account", "GET", "me", headers=auth)
    srv.api("account", "PUT", "me", {**me, "display_name": "Ada Lovelace"}, headers=auth)
    assert task.evaluate(env).success
    srv.api("account", "DELETE", "me", headers=auth)
    assert not task.evaluate(env).success


@pytest.mark.parametrize(
    ("task_id", "viewport", "dsf"),
    [
        ("flights/book-cheapest", (1280, 800), 2.0),
        ("shop/add-to-cart", (1366, 768), 1.0),
        ("account/enable-newsletter", (1920, 1080), 1.0),
    ],
)
def test_oracle_other_geometries(task_id: str, viewport, dsf: float, oracle_run) -> None:
    with BrowserEnv(site=TASKS[task_id].site, viewport=viewport, dsf=dsf) as env:
        task = TASKS[task_id]
        actions = oracle_run(env, task)
        assert task.evaluate(env).success
        size = env.observe().size
        assert size == (int(viewport[0] * dsf), int(viewport[1] * dsf))
        if dsf == 2.0:  # points are physical px: some must lie beyond the CSS viewport
            assert any(a.get("point", (0, 0))[0] > viewport[0] for a in actions)


def test_oracle_reply_and_errors(env: BrowserEnv) -> None:
    task = TASKS["account/change-display-name"]
    task.setup(env)
    oracle = OracleModel(env, task)
    assert (oracle.format, oracle.convention) == ("json", "screen")
    obs = env.observe()
    reply = oracle.act(ModelRequest(task=task.goal, observation=obs, frame=obs.frame()))
    action = json.loads(reply.text)
    assert action["type"] == "type" and action["text"] == "demo"
    info = env.element_at(tuple(action["point"]))
    assert info is not None and info["id"] == "username"

    stuck = OracleModel(env, steps=[{"op": "click", "selector": "#never"}], max_waits=2)
    assert stuck.next_action()["type"] == "wait"
    assert stuck.next_action()["type"] == "wait"
    with pytest.raises(ModelError, match="never became ready"):
        stuck.next_action()
    with pytest.raises(ConfigError):
        OracleModel(env)  # neither a task with a solution nor steps


class _NoBrowser(Env):
    name = "dummy"

    def _reset(self, *, url: str | None = None, seed: int | None = None) -> None:
        pass

    def _capture(self) -> Observation:
        import numpy as np

        return Observation(array=np.zeros((28, 28, 3), np.uint8))

    def _execute(self, action: Any, frame: Frame) -> None:
        pass


def test_site_tasks_need_the_browser_env() -> None:
    task = TASKS["shop/place-order"]
    with pytest.raises(ConfigError, match="browser"):
        task.setup(_NoBrowser())
    with pytest.raises(ConfigError, match="browser"):
        task.evaluate(_NoBrowser())


def test_killed_site_page_is_reported(env: BrowserEnv) -> None:
    """A click on a site after its tab closed is a truncation, not an exception."""
    TASKS["shop/add-to-cart"].setup(env)
    env.page.close()
    res = env.step(Click(point=(10, 10)))
    assert res.truncated and "closed" in res.observation.last_action_error
    env.reset()  # a fresh page on the env's start site
    assert "/flights/" in env.observe().url
