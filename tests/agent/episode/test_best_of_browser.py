"""``agent run --planner scripted:FILE --grounder ocr --samples 3 --judge scripted:FILE`` in
real Chromium: the planner proposes three different buttons, the judge picks the third, the
real OCR grounder finds it, and only that button's beacon reaches the page's server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.cli import main
from agent.episode.recording import load_episode
from tests.beacons import BeaconSite

pytestmark = pytest.mark.browser

BUTTON = (
    '<button style="position:absolute;left:{x}px;top:120px;font:40px sans-serif;'
    'padding:16px 28px" onclick="navigator.sendBeacon(\'/{name}\')">{label}</button>'
)
PAGE = (
    "<html><body>"
    + "".join(
        BUTTON.format(x=x, name=label.lower(), label=label)
        for x, label in ((60, "Alpha"), (420, "Gamma"), (780, "Beta"))
    )
    + "</body></html>"
)


@pytest.fixture
def site() -> Iterator[BeaconSite]:
    s = BeaconSite(PAGE)
    yield s
    s.close()


def test_the_judges_pick_is_the_button_pressed(tmp_path: Path, site: BeaconSite) -> None:
    samples = ['click "Alpha"', 'click "Gamma"', 'click "Beta"']
    plan, judge = tmp_path / "plan.json", tmp_path / "judge.json"
    plan.write_text(json.dumps({"format": "instructions", "outputs": [samples, 'finish "ok"']}))
    judge.write_text(json.dumps({"format": "json", "outputs": ["2"]}))
    out = tmp_path / "ep"
    code = main(["run", "--task", "press the Beta button", "--env", "browser", "--url", site.url,
                 "--planner", f"scripted:{plan}", "--grounder", "ocr", "--samples", "3",
                 "--judge", f"scripted:{judge}", "--out", str(out), "--no-gate", "--quiet",
                 "--max-steps", "4"])  # fmt: skip
    assert code == 0
    site.wait_for("beta")
    assert "alpha" not in site.hits and "gamma" not in site.hits
    ep = load_episode(out)
    trace = ep.steps[0]["trace"]
    best = trace["best_of"]
    assert [c["raw"] for c in best["candidates"]] == samples and best["distinct"] == [0, 1, 2]
    assert best["judge"]["index"] == 2 and best["chosen"] == 2 and best["judge"]["raw"] == "2"
    assert trace["description"] == '"Beta"' and trace["grounding"]["ok"] is True
    assert ep.steps[0]["actions"][0]["action"]["point"] == trace["grounding"]["point"]
    assert ep.meta["model"]["samples"] == 3 and ep.meta["planner"] == f"scripted:{plan}"
