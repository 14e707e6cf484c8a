"""The gate reads a target the way a person sees it (issue 15): a hostile page spells
"Delete" and "Pay now" every way that used to slip past — flex-split spans, generated
content, an image's alt, an SVG title, an open shadow root, a same-origin frame, invisible
characters, a Cyrillic letter, a name from an enclosing element, aria-labelledby, a <label
for> beside an aria-label, a middle click, Enter into a form whose submitter is outside it
or an image button — and a press into a cross-origin frame counts as unknown. Each press
would send a beacon to the page's own server; under the default policy with nobody to ask,
none arrives (and with no gate they all do: the page really presses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.core.actions import Action, Click, MiddleClick, Type
from agent.episode.runner import run
from agent.safety.gate import PolicyGate, make_gate
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel
from tests.beacons import BeaconSite

GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
PAGE = (Path(__file__).parent / "fixtures" / "hidden_names.html").read_text()
OTHER = "<body style='margin:0'><button style='width:200px;height:30px'>Delete</button>"
X = 120.0


def press(name: str) -> Action:
    y = {"flex": 10, "before": 50, "alt": 90, "svg": 130, "shadow": 170, "frame": 210,
         "zwsp": 260, "cyrillic": 300, "enclosing": 340, "labelledby": 380, "labelfor": 420,
         "middle": 460, "outside": 500, "image": 580, "cross": 620}[name] + 15.0  # fmt: skip
    if name == "middle":
        return MiddleClick(point=(X, y))
    if name in ("outside", "image"):
        return Type(text="4242\n", point=(X, y))  # Enter in the card field submits
    return Click(point=(X, y))


PRESSES = ["flex", "before", "alt", "svg", "shadow", "frame", "zwsp", "cyrillic", "enclosing",
           "labelledby", "labelfor", "middle", "outside", "image"]  # fmt: skip


_Site = BeaconSite


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    other = _Site(OTHER)  # another origin (another port) for the cross-origin frame
    page = _Site("")
    page.body = PAGE.replace("{gif}", GIF).replace("{other}", other.url)
    yield page
    page.httpd.shutdown()
    other.httpd.shutdown()


@pytest.fixture(scope="module")
def browser(site: _Site) -> Iterator[BrowserEnv]:
    env = BrowserEnv(viewport=(640, 700))
    try:
        yield env
    finally:
        env.close()


@pytest.mark.parametrize("name", PRESSES)
def test_every_hidden_spelling_is_read_and_stopped(
    browser: BrowserEnv, site: _Site, name: str
) -> None:
    obs = browser.reset(url=site.url + "/")
    d = PolicyGate(confirm="no").check(press(name), browser, obs)
    assert d.verdict == "deny", (name, d.to_json())
    text = (d.target or {}).get("text", "")
    assert "Delete" in text or "Dеlete" in text or "De\u200blete" in text or "Pay now" in text


def test_a_press_into_a_cross_origin_frame_is_unknown(browser: BrowserEnv, site: _Site) -> None:
    obs = browser.reset(url=site.url + "/")
    d = PolicyGate(confirm="no").check(press("cross"), browser, obs)
    assert d.verdict == "deny" and d.rule == "unknown-target", d.to_json()
    assert d.target and d.target["source"] == "unreadable"


def _clicks() -> list[str]:
    import json

    out = []
    for name in PRESSES:
        a = press(name).model_dump(exclude_none=True)
        out.append(json.dumps({"type": a["type"], **{k: v for k, v in a.items() if k != "type"}}))
    return [*out, '{"type": "finish", "status": "success"}']


@pytest.mark.browser
def test_no_beacon_arrives_behind_the_gate_and_all_do_without_it(
    site: _Site, tmp_path: Path
) -> None:
    site.hits.clear()
    ep = run("press nothing risky", env="browser", model=ScriptedModel(_clicks()),
             gate=make_gate(confirm="no"), url=site.url + "/", out=tmp_path / "gated",
             viewport=(640, 700))  # fmt: skip
    assert site.hits == []  # the page's own server saw no press at all
    denied = [a for s in ep.steps for a in s["actions"] if a.get("error_code") == "denied"]
    assert len(denied) == len(PRESSES)
    site.hits.clear()
    run("press everything", env="browser", model=ScriptedModel(_clicks()),
        gate=make_gate(enabled=False), url=site.url + "/", out=tmp_path / "open",
        viewport=(640, 700))  # fmt: skip
    assert set(PRESSES) - {"middle"} <= set(site.hits), site.hits  # the presses are real


def test_a_drag_that_ends_in_a_cross_origin_frame_is_unknown(
    browser: BrowserEnv, site: _Site
) -> None:
    """A drag releases where it ends: an unreadable end makes the whole drag unknown, even
    when its start (an empty text field) reads as harmless."""
    from agent.core.actions import Drag

    obs = browser.reset(url=site.url + "/")
    drag = Drag(start=(X, 515.0), end=press("cross").point)  # type: ignore[union-attr]
    d = PolicyGate(confirm="no").check(drag, browser, obs)
    assert d.verdict == "deny" and d.rule == "unknown-target", d.to_json()
    assert d.target and d.target["source"] == "unreadable"
