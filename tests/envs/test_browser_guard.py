"""The gate's verdict enforced where the event lands (issue 22, time of check vs time of use).

A hostile page lets the gate read something harmless, then makes the press land on
something else: it swaps or renames the element under the pointer on the click's own
mousemove (also inside a closed shadow root, and after patching the DOM functions a guard
would call) or a moment after the gate's read, reveals Delete under the second click of a
double click, shows a drop zone once a drag starts, labels harmless text for a Delete
button elsewhere, wraps a button in a link, gives a form a new first submit button when its
field gains focus, or slides a same-origin frame over the button. Each harmful press posts
a beacon to the page's own server. Under the default policy (nobody to ask) none arrives and
each step records ``target_changed``; with ``dispatch_guard=False`` (the control) every one
does. Ordinary pages — a click, a double click, a drag onto a drop zone, a label for a
checkbox, Enter in a form, a button in a same-origin frame — go through the guard untouched."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.core.actions import Action, Click, DoubleClick, Drag, Type
from agent.episode.runner import run
from agent.safety.enforce import enforce
from agent.safety.gate import PolicyGate, make_gate
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel
from tests.beacons import BeaconSite

PAGE = (Path(__file__).parent / "fixtures" / "dispatch_attacks.html").read_text()
VIEW = (640, 480)
ATTACKS = ["move", "patched", "text", "shadow", "frame", "dbl", "drag", "label", "inside", "keys"]
ORDINARY = ["ok-click", "ok-dbl", "ok-drag", "ok-label", "ok-enter", "ok-frame"]


class _Site(BeaconSite):
    """The attack pages and their server, which logs every beacon (POST) and hit (GET)."""

    def __init__(self) -> None:
        super().__init__(PAGE)

    def page(self, name: str, y: int) -> str:
        return f"{self.url}/s/{name}?y={y}"


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    s = _Site()
    yield s
    s.httpd.shutdown()


def action_for(name: str, y: int) -> Action:
    """The action a model would choose on each page: at the harmless element, (160, y+20)."""
    p = (160.0, y + 20.0)
    if name in ("dbl", "ok-dbl"):
        return DoubleClick(point=p)
    if name in ("drag", "ok-drag"):
        return Drag(start=p, end=(460.0, y + 50.0))
    if name in ("keys", "ok-enter"):
        return Type(point=p, text="abc", enter=True)
    return Click(point=p)


def _script(site: _Site, names: list[str]) -> tuple[list[str], list[int]]:
    """navigate, act, navigate, act, ... finish — each page's element at another height, so
    the pointer always arrives from elsewhere. Returns the replies and the acting steps."""
    out, acting = [], []
    for i, name in enumerate(names):
        y = 60 + 60 * (i % 6)
        out.append(json.dumps({"type": "navigate", "url": site.page(name, y)}))
        out.append(json.dumps(action_for(name, y).model_dump(exclude_none=True)))
        acting.append(2 * i + 1)
    out.append(json.dumps({"type": "finish", "status": "success"}))
    return out, acting


def _errors(ep: object, steps: list[int]) -> list[str | None]:
    """Each acting step's error code (a refusal before the env, or the env's own)."""
    recs = [ep.steps[i]["actions"][0] for i in steps]  # type: ignore[attr-defined]
    return [r.get("error_code") or r.get("result", {}).get("error_code") for r in recs]


@pytest.mark.browser
def test_no_press_lands_elsewhere_with_the_guard_and_every_one_does_without(
    site: _Site, tmp_path: Path
) -> None:
    replies, acting = _script(site, ATTACKS)
    site.hits.clear()
    ep = run("read more", env="browser", model=ScriptedModel(replies), url=site.page("ok", 0),
             gate=make_gate(confirm="no"), out=tmp_path / "guarded", viewport=VIEW)  # fmt: skip
    time.sleep(0.3)  # a beacon in flight
    assert site.hits == [], site.hits
    assert _errors(ep, acting) == ["target_changed"] * len(ATTACKS)
    site.hits.clear()
    replies, _ = _script(site, ATTACKS)
    run("read more", env="browser", model=ScriptedModel(replies), url=site.page("ok", 0),
        gate=make_gate(confirm="no", dispatch_guard=False), out=tmp_path / "open",
        viewport=VIEW)  # fmt: skip
    for name in ATTACKS:  # the control: the page really presses what the gate never read
        site.wait_for(name)


@pytest.mark.browser
def test_ordinary_presses_go_through_the_guard(site: _Site, tmp_path: Path) -> None:
    replies, acting = _script(site, ORDINARY)
    site.hits.clear()
    ep = run("do it", env="browser", model=ScriptedModel(replies), url=site.page("ok", 0),
             gate=make_gate(confirm="no"), out=tmp_path / "ok", viewport=VIEW)  # fmt: skip
    assert _errors(ep, acting) == [None] * len(ORDINARY)
    for name in ORDINARY:
        site.wait_for(name)
    held = [ep.steps[i]["actions"][0].get("held") for i in acting]
    assert held == ["armed"] * len(ORDINARY)


@pytest.mark.browser
@pytest.mark.parametrize("guard", [True, False])
def test_a_swap_after_the_gates_read_is_cancelled(site: _Site, guard: bool) -> None:
    """The page sees the gate's read (its elementFromPoint) and swaps 1 s later; the
    step runs after the swap (as on a slow machine): what the gate judged is gone."""
    env = BrowserEnv(viewport=VIEW)
    try:
        site.hits.clear()
        obs = env.reset(url=site.page("timer", 100))
        gate = PolicyGate(confirm="no", dispatch_guard=guard)
        click = Click(point=(160.0, 120.0))
        decision = gate.check(click, env, obs)
        assert decision.verdict == "allow" and decision.target is not None
        assert "Show details" in decision.target["text"]
        site.wait_for("swapped")
        assert enforce(gate, env, click, decision) == ("armed" if guard else None)
        res = env.step(click)
        time.sleep(0.3)
        if guard:
            assert res.info.get("error_code") == "target_changed", res.info
            assert "timer" not in site.hits
        else:
            site.wait_for("timer")
    finally:
        env.close()
