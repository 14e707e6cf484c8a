"""The gate's third reading, the pixels (issue 22): a hostile page shows "Delete" or "Pay
now" while its DOM — and the name Chromium computes — says something else: a right-to-left
override (also inside a same-origin frame), ``<bdo dir=rtl>``, spans put back in order by
CSS ``order``, small-capital letters, the word in a PNG, in an SVG image, on a canvas, an
``aria-label="Cancel"`` on a visible "Delete" inside a closed shadow root or behind a patched
``elementFromPoint``. Each press would send a beacon to the page's own server. Under the
default policy with no TTY, none arrives; with the pixel reading off (``pixel_target =
false``) every one does (the DOM readings alone let them through), and a harmless "Keep"
goes through either way."""

from __future__ import annotations

import io
import json
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.core.actions import Click, Drag
from agent.episode.recording import load_episode
from agent.episode.runner import run
from agent.safety.gate import PolicyGate, make_gate
from agent.safety.policy import DEFAULT_RULES, Policy
from envs.browser import BrowserEnv
from model.scripted import ScriptedModel
from tests.agent.safety.test_gate_reads import _Site

X = 120.0
ROWS = {"rlo": 10, "bdo": 60, "order": 110, "smallcaps": 160, "png": 210, "svg": 260,
        "canvas": 310, "closed": 360, "patched": 460, "framed": 510}  # fmt: skip
WORDS = {"svg": "pay now", "canvas": "pay now"}  # the others show "Delete"
KEEP = 410
SVG = (
    "<svg xmlns='http://www.w3.org/2000/svg' width='196' height='34'><text x='56' y='25'"
    " font-size='20' font-family='sans-serif'>Pay now</text></svg>"
)

pytestmark = pytest.mark.ocr


def _png() -> str:
    img = Image.new("RGB", (196, 34), "white")
    ImageDraw.Draw(img).text((60, 5), "Delete", fill="black", font=ImageFont.load_default(22))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + b64encode(buf.getvalue()).decode()


def _page() -> str:
    page = (Path(__file__).parent / "fixtures" / "pixel_names.html").read_text()
    return page.replace("{png}", _png()).replace("{svg}", "data:image/svg+xml," + quote(SVG))


def at(name: str) -> tuple[float, float]:
    return (X, (KEEP if name == "keep" else ROWS[name]) + 18.0)


@pytest.fixture(scope="module")
def site() -> Iterator[_Site]:
    page = _Site(_page())
    yield page
    page.httpd.shutdown()


def _script(names: list[str]) -> list[str]:
    clicks = [json.dumps({"type": "click", "point": list(at(n))}) for n in names]
    return [*clicks, '{"type": "finish", "status": "success"}']


def _run(site: _Site, out: Path, policy: Policy) -> list[dict]:
    site.hits.clear()
    names = [*ROWS, "keep"]
    run("press nothing risky", env="browser", model=ScriptedModel(_script(names)),
        gate=make_gate(policy), url=site.url + "/", out=out, viewport=(640, 560))  # fmt: skip
    acts = [a for s in load_episode(out).steps for a in s["actions"]]
    return [a for a in acts if a["action"]["type"] == "click"]


@pytest.mark.browser
def test_the_dom_misreads_every_case(site: _Site) -> None:
    """The premise: with only the DOM readings (pixels off), no case matches the rule."""
    env = BrowserEnv(site.url + "/", viewport=(640, 560))
    try:
        obs = env.observe()
        framed = env.element_at(at("framed"), obs.frame())  # in a same-origin frame: its box
        assert framed is not None and framed["box"] == [20, 510, 220, 546], framed  # on screen
        dom_only = PolicyGate(Policy(pixel_target=False), confirm="no")
        for name in ROWS:
            d = dom_only.check(Click(point=at(name)), env, obs)
            assert d.verdict == "allow" and d.target is not None, (name, d.to_json())
            assert "seen" not in d.target, d.target  # no pixel reading was made
            assert DEFAULT_RULES[0].match_target(d.target["text"]) is None, d.target
        assert not dom_only.reader.seen.loaded  # its OCR engine was never even loaded
        # lazy: a policy with no target rule reads a clicked link's URL, never the pixels
        urls_only = PolicyGate(Policy(rules=(), deny_urls=("*/admin*",)), confirm="no")
        d = urls_only.check(Click(point=at("rlo")), env, obs)
        assert d.verdict == "allow" and d.target is not None and "seen" not in d.target
        assert not urls_only.reader.seen.loaded
        # a drag presses where it starts and releases where it ends: both ends are seen
        drag = PolicyGate(confirm="no").check(Drag(start=at("keep"), end=at("bdo")), env, obs)
        assert drag.verdict == "deny" and drag.target is not None, drag.to_json()
        assert drag.target["seen"] == "Keep | Delete", drag.target
    finally:
        env.close()


@pytest.mark.browser
def test_no_beacon_arrives_when_the_pixels_are_read_and_all_do_without(
    site: _Site, tmp_path: Path
) -> None:
    recs = _run(site, tmp_path / "gated", Policy())  # default policy, confirm "auto", no TTY
    assert site.hits == ["keep"], site.hits  # only the harmless press reached the server
    by = {n: a for n, a in zip([*ROWS, "keep"], recs, strict=True)}
    for name in ROWS:
        g = by[name]["gate"]
        assert by[name].get("error_code") == "denied" and g["rule"] == "irreversible", g
        seen = g["target"]["seen"]  # the step line shows the pixel reading
        assert WORDS.get(name, "delete") in seen.casefold(), (name, g["target"])
        assert seen in g["target"]["text"] and "non-interactive" in g["reason"]
    assert by["keep"]["gate"]["verdict"] == "allow"
    assert by["keep"]["gate"]["target"]["seen"] == "Keep"

    recs = _run(site, tmp_path / "dom-only", Policy(pixel_target=False))  # the control
    assert sorted(site.hits) == sorted([*ROWS, "keep"]), site.hits  # every press was real
    assert all("seen" not in a["gate"].get("target", {}) for a in recs)
