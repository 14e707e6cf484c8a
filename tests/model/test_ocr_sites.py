"""The OCR grounder and OcrModel on the bundled sites in a real headless Chromium.

Truth comes from the DOM: Playwright's ``bounding_box`` (CSS px) converted to screenshot px
with :func:`agent.core.coords.input_to_screen`. A found control's box must contain the element's
centre. Then a multi-step instruction completes ``account/change-display-name`` end to end
through the real parser and env, judged by the site's own state.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.core.coords import input_to_screen
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from envs.browser import BrowserEnv
from envs.sites import get_task
from model.grounding import AmbiguousTargetError, Box, Role, choose
from model.ocr import OcrGrounder, OcrModel
from model.parsers import parse

Point = tuple[float, float]


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    e = BrowserEnv(viewport=(1280, 800), site="account")
    try:
        yield e
    finally:
        e.close()


@pytest.fixture(scope="module")
def grounder() -> OcrGrounder:
    return OcrGrounder()


def element_box(env: BrowserEnv, obs: Observation, selector: str) -> Box:
    """The DOM element's box in screenshot px (CSS px through the coordinate module)."""
    bb = env.page.locator(selector).first.bounding_box()
    assert bb is not None, selector
    frame = obs.frame()
    x1, y1 = input_to_screen(frame, bb["x"], bb["y"])
    x2, y2 = input_to_screen(frame, bb["x"] + bb["width"], bb["y"] + bb["height"])
    return x1, y1, x2, y2


def element_center(env: BrowserEnv, obs: Observation, selector: str) -> Point:
    x1, y1, x2, y2 = element_box(env, obs, selector)
    return (x1 + x2) / 2, (y1 + y2) / 2


def inside(p: Point, box: Box) -> bool:
    return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]


def check(
    env: BrowserEnv,
    grounder: OcrGrounder,
    obs: Observation,
    cases: list[tuple[str, Role, str]],
    near: Point | None = None,
) -> None:
    for query, role, selector in cases:
        truth = element_box(env, obs, selector)
        cands = grounder.ground(obs.array, query, near=near, role=role)
        best = choose(query, cands, near=near)
        if best.kind == "placeholder":  # the placeholder text itself is clicked
            assert inside(best.center, truth), (query, best, truth)
        else:
            center = ((truth[0] + truth[2]) / 2, (truth[1] + truth[3]) / 2)
            assert inside(center, best.box), (query, best, truth)


def open_page(env: BrowserEnv, site: str, path: str) -> Observation:
    env.reset(url=env.site_url(site, path))
    return env.observe()


def sign_in(env: BrowserEnv) -> Observation:
    get_task("account/change-display-name").setup(env)
    env.page.fill("#username", "demo")
    env.page.fill("#password", "demo123")
    env.page.click("#login-btn")
    env.page.wait_for_selector("#settings-form")
    return env.observe()


def test_account_login_controls(env: BrowserEnv, grounder: OcrGrounder) -> None:
    env.site_server.api("account", "POST", "reset", {})
    obs = open_page(env, "account", "#/login")
    check(
        env, grounder, obs, [("Username", "field", "#username"), ("Password", "field", "#password")]
    )
    # "Sign in" is the heading and the button: ambiguous alone, the button when near the form
    with pytest.raises(AmbiguousTargetError):
        choose("Sign in", grounder.ground(obs.array, "Sign in"))
    near = element_center(env, obs, "#password")
    check(env, grounder, obs, [("Sign in", "any", "#login-btn")], near=near)


def test_hidpi_screenshot_is_grounded_in_physical_pixels(grounder: OcrGrounder) -> None:
    """DSF 2: a 1600×1000 screenshot of an 800×500 viewport; boxes are screenshot px."""
    hidpi = BrowserEnv(viewport=(800, 500), dsf=2.0, site="account")
    try:
        obs = open_page(hidpi, "account", "#/login")
        assert obs.size == (1600, 1000)
        check(hidpi, grounder, obs, [("Password", "field", "#password")])
        near = element_center(hidpi, obs, "#password")
        check(hidpi, grounder, obs, [("Sign in", "any", "#login-btn")], near=near)
    finally:
        hidpi.close()


def test_account_settings_controls(env: BrowserEnv, grounder: OcrGrounder) -> None:
    obs = sign_in(env)
    check(
        env,
        grounder,
        obs,
        [
            ("Display name", "field", "#display-name"),
            ("Email address", "field", "#email"),
            ("Save changes", "any", "#save-btn"),
            ("Discard changes", "any", "#discard-btn"),
            ("Log out", "any", "#logout-btn"),
            ("System default", "any", "#theme-btn"),
        ],
    )


def test_flights_and_shop_controls(env: BrowserEnv, grounder: OcrGrounder) -> None:
    obs = open_page(env, "flights", "#/")
    check(
        env,
        grounder,
        obs,
        [
            ("Search flights", "any", "#search-btn"),
            ("Calendar", "any", "#date-btn"),
            ("Swap", "any", "#swap-btn"),
            ("From", "field", "#from"),
            ("Departure date", "field", "#date"),
        ],
    )
    obs = open_page(env, "shop", "#/")
    check(
        env,
        grounder,
        obs,
        [
            ("Search products", "field", "#search"),
            ("Search", "any", "#search-btn"),
            ("Cart (0)", "any", "#cart-link"),
        ],
    )
    with pytest.raises(AmbiguousTargetError) as err:  # one per product card
        choose("Add to cart", grounder.ground(obs.array, "Add to cart"))
    assert len(err.value.candidates) >= 4


def test_instructions_complete_an_account_task(env: BrowserEnv) -> None:
    """obs → OcrModel.act → parse('json') → env.step, until finish; the site judges."""
    task = get_task("account/change-display-name")
    task.setup(env)
    model = OcrModel()
    instructions = (
        'type "demo" into "Username"; type "demo123" into "Password"; click "Sign in"\n'
        'type "Ada Lovelace" into "Display name"; click "Save changes"'
    )
    obs = env.observe()
    history: list[HistoryItem] = []
    kinds: list[str] = []
    for i in range(12):
        frame = obs.frame(convention="screen")
        reply = model.act(ModelRequest(instructions, obs, frame, list(history)))
        action = parse("json", reply.text, frame).actions[0]
        if action.type != "wait":  # a settle wait when a screen was still changing is fine
            kinds.append(action.type)
        assert action.type not in ("call_user", "scroll"), reply.text
        res = env.step(action)
        assert not res.truncated and res.observation.last_action_error is None, res.info
        history.append(
            HistoryItem(
                i,
                reply.text,
                action.model_dump(mode="json", exclude_none=True),
                res.observation.last_action_error,
                obs,
                frame,
            )
        )
        obs = res.observation
        if res.terminated:
            break
    assert kinds == ["type", "type", "click", "type", "click", "finish"]
    result = task.evaluate(env)
    assert result.success, result.details
