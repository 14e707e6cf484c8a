"""Replay that re-grounds, in real headless Chromium against a page served on 127.0.0.1.

The recording: a scripted planner (descriptions only) with the real OCR grounder types
"Boston" into the "City" field and clicks "Send report"; the button sends the typed value to
the server (a beacon ``sent-<value>``). Between recording and replay the server moves the
button: the replay re-grounds the diverged steps and the server sees the click at the new
place. A button whose label is gone is never clicked (no beacon), and the step line says why.
``--var Boston=Paris`` (through the CLI) makes the server receive ``Paris``; an unknown NAME is
a ConfigError naming the choices, before anything runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.core.errors import ConfigError
from agent.episode.loop import LoopConfig
from agent.episode.recording import load_episode
from agent.episode.runner import run_episode
from agent.replay.live import replay_live
from envs.browser import BrowserEnv
from model.grounders.registry import load_grounder
from model.planner import PlannedModel
from model.scripted import ScriptedModel
from tests.beacons import BeaconSite

pytestmark = pytest.mark.browser
AGENT = [sys.executable, "-m", "agent.cli"]
VIEWPORT = (640, 400)
PLAN = ['type "Boston" into "City"', 'click "Send report"', 'finish "sent"']


def page(top: int = 60, left: int = 0, label: str = "Send report") -> str:
    """The form; the button at (left, top) below the field sends the field's value."""
    return f"""<!doctype html><html><head><style>
body {{ font: 22px sans-serif; margin: 30px }}
label {{ display: block; margin-bottom: 12px }}
input {{ font: inherit; width: 220px; border: 1px solid #888; padding: 4px }}
button {{ font: inherit; padding: 6px 14px }}
</style></head><body>
<label for="c">City</label><input id="c">
<div style="margin-top:{top}px;margin-left:{left}px"><button id="b">{label}</button></div>
<script>
document.getElementById("b").onclick = () => {{
  fetch("/hit/sent-" + encodeURIComponent(document.getElementById("c").value));
  document.body.innerHTML = "<p>Thank you</p>";
}};
</script></body></html>"""


@pytest.fixture(scope="module")
def site() -> Iterator[BeaconSite]:
    s = BeaconSite(page())
    yield s
    s.close()


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    e = BrowserEnv(viewport=VIEWPORT)
    yield e
    e.close()


@pytest.fixture(scope="module")
def recorded(site: BeaconSite, env: BrowserEnv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reground")
    plan = root / "plan.json"
    plan.write_text(json.dumps({"format": "instructions", "outputs": PLAN}))
    model = PlannedModel(ScriptedModel.from_file(str(plan), planner=True), load_grounder("ocr"))
    out = root / "recorded"
    run_episode(
        env,
        model,
        out,
        goal="send the report for Boston",
        url=site.url,
        config=LoopConfig(max_steps=5),
        extra_meta={"planner": f"scripted:{plan}", "grounder": "ocr"},
    )
    site.wait_for("sent-Boston")  # the recording itself clicked
    site.hits.clear()
    return out


def _lines(directory: Path) -> list[dict[str, Any]]:
    return load_episode(directory).steps


def _regrounds(directory: Path) -> list[dict[str, Any]]:
    return [r for s in _lines(directory) for r in (s.get("trace") or {}).get("reground", [])]


def test_a_moved_button_is_clicked_at_its_new_place(
    site: BeaconSite, env: BrowserEnv, recorded: Path, tmp_path: Path
) -> None:
    site.hits.clear()
    site.body = page(top=200, left=300)  # the button moves 140 px down, 300 px right
    try:
        report = replay_live(recorded, env=env, out=tmp_path / "moved")
    finally:
        site.body = page()
    site.wait_for("sent-Boston")  # the server saw the click, so it landed on the button
    assert report.first_divergence == 0 and report.recovered and report.grounder == "ocr"
    (click,) = [r for r in _regrounds(tmp_path / "moved") if r["description"] == '"Send report"']
    assert click["grounding"]["ok"] and click["grounder"] == "ocr"
    old, new = click["old_point"], click["new_point"]
    assert new[0] - old[0] > 250 and new[1] - old[1] > 120  # found where it went
    executed = [a["action"] for s in _lines(tmp_path / "moved") for a in s["actions"]]
    assert new in [a.get("point") for a in executed if a["type"] == "click"]
    steps = load_episode(tmp_path / "moved").meta["replay"]["steps"]
    assert steps[1]["reground"]["new_point"] == new and steps[1]["diverged"]


def test_a_vanished_label_is_never_clicked(
    site: BeaconSite, env: BrowserEnv, recorded: Path, tmp_path: Path
) -> None:
    site.hits.clear()
    site.body = page(label="Done")  # the same place, but nothing says "Send report" now
    try:
        report = replay_live(recorded, env=env, out=tmp_path / "gone")
    finally:
        site.body = page()
    assert not [h for h in site.hits if h.startswith("sent-")]  # nothing was clicked
    assert not report.recovered and "could not re-find" in (report.stopped or "")
    last = _lines(tmp_path / "gone")[-1]
    assert [a["action"]["type"] for a in last["actions"]] == ["call_user"]
    (failed,) = [r for r in last["trace"]["reground"]]
    assert failed["description"] == '"Send report"' and not failed["grounding"]["ok"]
    assert "new_point" not in failed and failed["grounding"]["reason"]


def test_var_replaces_the_typed_value_through_the_cli(
    site: BeaconSite, recorded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "var"
    site.hits.clear()
    flags = ["--var", "Boston=Paris", "--reground", "always", "--out", str(out)]
    proc = subprocess.run(
        [*AGENT, "replay", str(recorded), *flags],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    site.wait_for("sent-Paris")  # the server received the new value
    assert "sent-Boston" not in site.hits
    assert "--var Boston replaced the typed value" in proc.stdout
    use = {"name": "Boston", "step": 0, "old": "Boston", "new": "Paris"}
    assert _lines(out)[0]["trace"]["variables"] == [use]
    assert _lines(out)[0]["actions"][0]["action"]["text"] == "Paris"
    assert load_episode(out).meta["replay"]["variables"] == [use]
    # --reground always: the field is grounded again although step 0 still matched
    steps = load_episode(out).meta["replay"]["steps"]
    assert not steps[0]["diverged"] and steps[0]["reground"]["ok"]
    assert _lines(out)[0]["trace"]["reground"][0]["description"] == 'the "City" field'


def test_an_unknown_var_names_the_choices(recorded: Path, tmp_path: Path) -> None:
    for name in ("Bostn", "step1"):  # step 1 clicked: it typed nothing
        with pytest.raises(ConfigError, match=r"offers: 'Boston', 'step0'"):
            replay_live(recorded, env="browser", out=tmp_path / "x", variables={name: "Paris"})
    assert not (tmp_path / "x").exists()  # nothing ran


def test_a_var_may_be_a_secret_placeholder_never_a_secret(
    site: BeaconSite, env: BrowserEnv, recorded: Path, tmp_path: Path
) -> None:
    secret = {"Boston": "{{secret:town}}"}
    with pytest.raises(ConfigError, match="town"):  # its value is asked for before anything runs
        replay_live(recorded, env=env, out=tmp_path / "none", variables=secret)
    assert not (tmp_path / "none").exists()
    site.hits.clear()
    out = tmp_path / "secret"
    town = {"town": "Lyon"}
    replay_live(recorded, env=env, out=out, variables=secret, secrets=town)
    site.wait_for("sent-Lyon")  # typed for real
    for f in out.iterdir():  # recorded as its placeholder only
        if f.suffix in (".json", ".jsonl"):
            assert "Lyon" not in f.read_text(encoding="utf-8"), f.name
    assert load_episode(out).meta["replay"]["variables"][0]["new"] == "{{secret:town}}"
    # by default a step that still matches keeps its recorded point: no grounder call
    steps = load_episode(out).meta["replay"]["steps"]
    assert not steps[0]["diverged"] and steps[0]["reground"] is None
    assert steps[1]["diverged"] and steps[1]["reground"]["ok"]  # "Lyon" ≠ recorded "Boston"
    # the replay typed a secret at step 0: that value is not a --var
    for name in ("step0", "{{secret:town}}"):
        with pytest.raises(ConfigError, match=r"secret: give its value with --secret"):
            replay_live(out, env=env, out=tmp_path / "y", variables={name: "x"}, secrets=town)
