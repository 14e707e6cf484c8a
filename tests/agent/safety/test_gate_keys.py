"""Every key that can press is read (issue 22): an arrow on a focused <select>, radio group or
listbox choosing "Delete account", a type-ahead letter, a newline or carriage return in the
middle of typed text submitting a form, a typed space or newline with no point pressing the
focused button, a Tab out of a field then a space, Tab into a closed shadow root then Enter.
Each press beacons to the page's own server; under the default policy with nobody to ask
none arrives, and with no gate every one does (the presses are real)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.core.actions import Action, Key, Type
from agent.episode.runner import run
from agent.safety.gate import make_gate
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel
from tests.beacons import BeaconSite

PAGE = (Path(__file__).parent / "fixtures" / "key_presses.html").read_text()
FIELD = (40.0, 19.0)  # inside the first text field of a case
CASES: dict[str, list[Action]] = {
    "select": [Key(keys="down")],
    "typeahead": [Key(keys="d")],
    "radio": [Key(keys="right")],
    "listbox": [Key(keys="end")],
    "newline": [Type(text="abc\ndef", point=FIELD)],
    "cr": [Type(text="x\ry")],
    "space": [Type(text=" ")],
    "enter": [Type(text="\n")],
    "tabbed": [Type(text="a\t ")],
    "closed": [Key(keys="tab"), Key(keys="enter")],
}
UNKNOWN = {"tabbed"}  # judged unknown (the policy's unknown_target), not by a name


def _Site() -> BeaconSite:
    return BeaconSite(PAGE)


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    s = _Site()
    yield s
    s.httpd.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserEnv]:
    env = BrowserEnv(viewport=(640, 400))
    try:
        yield env
    finally:
        env.close()


@pytest.mark.parametrize("name", list(CASES))
def test_each_key_that_presses_is_read_and_stopped(
    browser: BrowserEnv, site: _Site, name: str
) -> None:
    obs = browser.reset(url=f"{site.url}/?case={name}")
    *before, press = CASES[name]
    for action in before:  # (Tab: moving the focus presses nothing and is allowed)
        assert make_gate().check(action, browser, obs).verdict == "allow"
        obs = browser.step(action).observation
    d = make_gate().check(press, browser, obs)  # default policy, no TTY: nobody to ask
    assert d.verdict == "deny", (name, d.to_json())
    if name in UNKNOWN:
        assert d.rule == "unknown-target", d.to_json()
    else:
        assert d.rule == "irreversible", d.to_json()
        assert "Delete account" in (d.target or {})["text"], d.to_json()


def test_a_harmless_key_stays_allowed(browser: BrowserEnv, site: _Site) -> None:
    """Reading keys does not turn every key into a confirmation: an arrow that chooses "Keep
    account", text with spaces typed into a field, Enter in a form without a risky button."""
    obs = browser.reset(url=f"{site.url}/?case=select")
    browser.step(Key(keys="end"))
    obs = browser.observe()
    assert make_gate().check(Key(keys="up"), browser, obs).verdict == "allow"  # back to Keep
    obs = browser.reset(url=f"{site.url}/?case=tabbed")
    d = make_gate().check(Type(text="two words here"), browser, obs)
    assert d.verdict == "allow", d.to_json()


def _script() -> list[str]:
    out = []
    for name, actions in CASES.items():
        out.append(json.dumps({"type": "navigate", "url": f"/?case={name}"}))
        out += [json.dumps(a.model_dump(exclude_none=True)) for a in actions]
    return [*out, '{"type": "finish", "status": "success"}']


@pytest.mark.browser
def test_no_beacon_arrives_behind_the_gate_and_all_do_without_it(
    site: _Site, tmp_path: Path
) -> None:
    script = [s.replace('"url": "/', f'"url": "{site.url}/') for s in _script()]
    site.hits.clear()
    ep = run("press nothing risky", env="browser", model=ScriptedModel(script),
             gate=make_gate(), url=site.url + "/", out=tmp_path / "gated",
             viewport=(640, 400), max_steps=40)  # fmt: skip
    assert site.hits == []  # the page's own server saw no press at all
    denied = [a for s in ep.steps for a in s["actions"] if a.get("error_code") == "denied"]
    assert len(denied) == len(CASES)
    site.hits.clear()
    run("press everything", env="browser", model=ScriptedModel(script),
        gate=make_gate(enabled=False), url=site.url + "/", out=tmp_path / "open",
        viewport=(640, 400), max_steps=40)  # fmt: skip
    assert set(site.hits) == set(CASES), site.hits  # every press is real


@pytest.mark.parametrize("action", [Type(text="a b"), Type(text="a", enter=True)])
def test_typing_stops_when_the_page_moves_the_focus(
    browser: BrowserEnv, site: _Site, action: Type
) -> None:
    """The gate judged a field (a space there is text; Enter submits a form it is not in:
    nothing); the page moves the focus to a button on the first character: the typing stops
    before the space or Enter, so the button is never pressed. The control types the same
    keys in one go (Playwright's own typing): pressed."""
    obs = browser.reset(url=f"{site.url}/?case=moves")
    assert make_gate().check(action, browser, obs).verdict == "allow"
    site.hits.clear()
    result = browser.step(action)
    assert "focus moved" in (result.info.get("error") or ""), result.info
    browser.observe()
    assert site.hits == []
    browser.reset(url=f"{site.url}/?case=moves")
    browser.page.keyboard.type("a\n" if action.enter else "a b")  # the control: no check
    site.wait_for("moves")  # the beacon is sent asynchronously
    assert site.hits == ["moves"]


def test_without_cdp_a_closed_shadow_focus_is_unknown(browser: BrowserEnv, site: _Site) -> None:
    """Where CDP cannot follow the focus into a closed shadow root, the page-JS reading says
    so (its host is not focusable itself) rather than reading the host's empty name."""
    from envs.browser.focus import read_focus

    browser.reset(url=f"{site.url}/?case=closed")
    browser.step(Key(keys="tab"))
    info = read_focus(browser.page, None, None)
    assert info is not None and info["frame"] == "closed-shadow", info
    browser.reset(url=f"{site.url}/?case=space")  # a focused button reads as itself
    info = read_focus(browser.page, None, None)
    assert info is not None and "Delete account" in info["text"] and not info["frame"], info
