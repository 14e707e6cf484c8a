"""The gate reads the accessible name and role Chromium computes (issue 15): presses the
page-JS reader cannot name — aria-labelledby through aria-label, alt and a field's value, ids
resolved inside a shadow root, a closed shadow root, a <label for> holding an image, an
image named by reference, the default button Enter submits, the focused button Enter
presses, a page that patches the DOM API the JS reader calls — are named by Chromium, and
the default policy stops them. Each press would send a beacon to the page's own server;
behind the gate with nobody to ask none arrives (with no gate they all do)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.actions import Action, Click, Key, Type
from agent.episode.recording import load_episode
from agent.episode.runner import run
from agent.safety.gate import PolicyGate, make_gate
from agent.safety.policy import DEFAULT_RULES, Policy, Rule
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel
from tests.agent.safety.test_gate_reads import GIF, _Site

PAGE = (Path(__file__).parent / "fixtures" / "ax_names.html").read_text().replace("{gif}", GIF)
X = 120.0
ROWS = {"labelledby": 10, "labelfor": 50, "closed": 90, "scoped": 130, "embedded": 170,
        "imgref": 210, "card": 250, "focused": 290, "submit": 330, "keep": 370}  # fmt: skip
NAMES = {"focused": "Donate", "labelledby": "Pay now", "labelfor": "Delete", "closed": "Delete",
         "scoped": "Delete", "embedded": "Send money", "imgref": "Delete",
         "submitter": "Pay now"}  # fmt: skip
PRESSES = list(NAMES)  # the autofocused button first: a press that runs moves the focus
# the page patches the API the JS reader starts from: it sees nothing at any point
TAMPERED = (
    "<script>Document.prototype.elementFromPoint = function () { return null; };"
    "function hit(n) { navigator.sendBeacon('/hit/' + n, n); }</script>"
    "<button style='position:absolute;left:20px;top:10px;width:200px;height:30px'"
    " onclick=\"hit('tampered')\">Delete</button>"
    "<iframe style='position:absolute;left:20px;top:60px;width:200px;height:36px;border:0'"
    " src='{other}'></iframe>"
)
FRAMED = "<body style='margin:0'><button style='width:200px;height:30px'>Delete</button>"


def at(row: str) -> tuple[float, float]:
    return (X, ROWS[row] + 15.0)


def press(name: str) -> Action:
    if name == "focused":
        return Key(keys="enter")  # the autofocused button
    if name == "submitter":
        return Type(text="4242\n", point=at("card"))  # Enter in the field submits the form
    return Click(point=at(name))


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    page = _Site(PAGE)
    yield page
    page.httpd.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserEnv]:
    env = BrowserEnv(viewport=(640, 700))
    try:
        yield env
    finally:
        env.close()


def _js_text(info: dict[str, Any] | None) -> str:
    """Everything the page-JS reading gave (its fields, not Chromium's)."""
    keys = ("text", "label", "names", "submit")
    return " ".join(str(info.get(k) or "") for k in keys) if info else ""


@pytest.mark.parametrize("name", PRESSES)
def test_chromium_names_what_the_js_reader_misses(
    browser: BrowserEnv, site: _Site, name: str
) -> None:
    obs = browser.reset(url=site.url + "/")
    action = press(name)
    if name in ("focused", "submitter"):
        info = browser.focus_target(None if name == "focused" else at("card"), obs.frame())
    else:
        info = browser.element_at(at(name), obs.frame())
    assert info is not None and DEFAULT_RULES[0].match_target(_js_text(info)) is None, info
    assert info["ax_name"] == NAMES[name] and info["ax_role"] == "button", info
    d = PolicyGate(confirm="no").check(action, browser, obs)
    assert d.verdict == "deny" and d.rule == "irreversible", (name, d.to_json())
    assert d.target is not None and d.target["ax_name"] == NAMES[name]
    assert d.target["ax_role"] == d.target["role"] == "button"
    assert NAMES[name] in d.target["text"] and NAMES[name] in (d.reason or "")


def test_chromium_name_is_not_the_description_and_an_empty_submit_is_named(
    browser: BrowserEnv, site: _Site
) -> None:
    obs = browser.reset(url=site.url + "/")
    keep = PolicyGate(confirm="no").check(Click(point=at("keep")), browser, obs)
    assert keep.verdict == "allow" and keep.target is not None, keep.to_json()
    assert keep.target["ax_name"] == "Keep"  # aria-describedby ("... delete ...") is no name
    info = browser.element_at(at("submit"), obs.frame())
    assert info is not None and "submit" not in _js_text(info).casefold()
    assert (info["ax_role"], info["ax_name"]) == ("button", "Submit")  # Chromium's default
    strict = Policy(rules=(Rule("deny", name="no-submit", target=("submit",)),))
    d = PolicyGate(strict, confirm="no").check(Click(point=at("submit")), browser, obs)
    assert d.verdict == "deny" and d.rule == "no-submit", d.to_json()


def test_a_page_that_patches_the_js_reader_is_still_read(browser: BrowserEnv) -> None:
    framed = _Site(FRAMED)  # another site (localhost, not 127.0.0.1): an out-of-process frame
    other = framed.url.replace("127.0.0.1", "localhost") + "/"
    tampered = _Site(TAMPERED.replace("{other}", other))
    try:
        obs = browser.reset(url=tampered.url + "/")
        info = browser.element_at((X, 25.0), obs.frame())
        assert info == {"ax_role": "button", "ax_name": "Delete"}  # the JS reading saw nothing
        d = PolicyGate(confirm="no").check(Click(point=(X, 25.0)), browser, obs)
        assert d.verdict == "deny" and d.target and d.target["ax_name"] == "Delete"
        # into the frame neither reading can look: still unknown, as the JS reader says it
        d = PolicyGate(confirm="no").check(Click(point=(X, 75.0)), browser, obs)
        assert d.verdict == "deny" and d.rule == "unknown-target", d.to_json()
        assert d.target and d.target["source"] == "unreadable"
        assert tampered.hits == []
    finally:
        tampered.httpd.shutdown()
        framed.httpd.shutdown()


def test_a_scrolled_page_and_playwrights_own_screenshots_read_the_same(site: _Site) -> None:
    env = BrowserEnv(site.url + "/", viewport=(640, 700), fast_capture=False)  # no CDP capture
    try:
        env.page.evaluate("scrollTo(0, 40)")
        obs = env.observe()
        info = env.element_at((X, at("embedded")[1] - 40.0), obs.frame())
        assert info is not None and info["ax_name"] == "Send money" and info["text"] == "go"
    finally:
        env.close()


def _script() -> list[str]:
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
    ep = run("press nothing risky", env="browser", model=ScriptedModel(_script()),
             gate=make_gate(confirm="no"), url=site.url + "/", out=tmp_path / "gated",
             viewport=(640, 700))  # fmt: skip
    assert site.hits == []  # the page's own server saw no press at all
    recs = [a for s in load_episode(tmp_path / "gated").steps for a in s["actions"]]
    denied = [a for a in recs if a.get("error_code") == "denied"]
    assert len(denied) == len(PRESSES), recs
    seen = [(a["gate"]["target"]["ax_role"], a["gate"]["target"]["ax_name"]) for a in denied]
    assert seen == [("button", NAMES[n]) for n in PRESSES]  # the step line shows Chromium's
    assert all(a["gate"]["rule"] == "irreversible" for a in denied)
    assert len(ep.steps) >= len(PRESSES)
    site.hits.clear()
    run("press everything", env="browser", model=ScriptedModel(_script()),
        gate=make_gate(enabled=False), url=site.url + "/", out=tmp_path / "open",
        viewport=(640, 700))  # fmt: skip
    assert set(PRESSES) <= set(site.hits), site.hits  # the presses are real
