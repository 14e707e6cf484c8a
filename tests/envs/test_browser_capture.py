"""The browser's capture path on real headless Chromium: the fast CDP screenshot is
pixel-identical to Playwright's own, and a quiet step makes no wasted round trips (every
message the Python client sends to the Playwright driver is counted)."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.core.actions import Click, Hover, Wait
from agent.core.observation import PrivacyRequest
from agent.episode.loop import Loop, LoopConfig
from agent.episode.recording import EpisodeWriter, load_episode
from agent.safety.gate import AllowAll, PolicyGate
from agent.safety.policy import Policy
from envs.browser import BrowserEnv
from envs.browser.capture import capture_params
from model.scripted import ScriptedModel

PAGE = """<!doctype html><title>quiet</title>
<body style="margin: 0; font: 16px sans-serif">
<h1 style="color: rgb(200, 30, 60)">Capture check ÄÖü 漢字</h1>
<div style="width: 300px; height: 40px; background: linear-gradient(90deg, #f00, #00f)"></div>
<canvas id="c" width="64" height="64"></canvas>
<script>const g = c.getContext("2d"); for (let i = 0; i < 64; i++) {
  g.fillStyle = `rgb(${4 * i}, ${255 - 4 * i}, 128)`; g.fillRect(i, 0, 1, 64); }</script>
<p>Some <b>bold</b> and <i>italic</i> text, a <a href="#x">link</a>.</p>
<input id="name" value="typed text" style="font: 18px monospace">
<button id="ok" style="position: absolute; left: 40px; top: 300px; width: 120px;
        height: 40px">OK</button>
<button id="pay" style="position: absolute; left: 200px; top: 300px; width: 120px;
        height: 40px">Pay now</button>
<p style="position: absolute; top: 400px">Your code: s3cr3t-code</p>
</body>"""


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("capture") / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    return path.as_uri()


# the page is a local file, which the default policy refuses unless a pattern names file:
FILE_PAGES = Policy().with_urls(allow=["file:///*"])


@contextmanager
def round_trips(env: BrowserEnv) -> Iterator[Counter[str]]:
    """Counts every request the client sends to the Playwright driver (each one a round
    trip: Page.mouseClick, Frame.evaluateExpression, CDPSession.send ...)."""
    conn = env.page._impl_obj._connection
    sent: Counter[str] = Counter()
    original = conn.send_message_to_server

    def counting(obj: Any, method: str, params: Any, options: Any) -> Any:
        if method != "__waitInfo__":  # fire-and-forget bookkeeping, no reply
            name = params.get("method") if method == "send" else None
            sent[f"{obj._type}.{method}" + (f"({name})" if name else "")] += 1
        return original(obj, method, params, options)

    conn.send_message_to_server = counting
    try:
        yield sent
    finally:
        conn.send_message_to_server = original


def _png_array(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("dsf", [1.0, 2.0, 1.5])
def test_fast_capture_equals_playwrights_pixels(page_url: str, dsf: float) -> None:
    env = BrowserEnv(page_url, viewport=(640, 480), dsf=dsf)
    try:
        with round_trips(env) as sent:
            obs = env.observe()
        assert sent["CDPSession.send(Page.captureScreenshot)"] == 1
        assert not any("screenshot" in k for k in sent if "CDPSession" not in k)
        reference = _png_array(env.page.screenshot(type="png", scale="device"))
        assert obs.size == (int(640 * dsf), int(480 * dsf)) == reference.shape[1::-1]
        assert obs.array.dtype == np.uint8 and np.array_equal(obs.array, reference)
        assert np.array_equal(_png_array(obs.png), reference)  # the PNG the recorder writes
        assert set(obs.timings) >= {"capture_s", "decode_s"}
        assert (obs.array != obs.array[0, 0]).any(axis=2).sum() > 5000  # not a blank page
    finally:
        env.close()


def test_caret_never_blinks_into_a_screenshot(page_url: str) -> None:
    """A focused field's caret is hidden (as Playwright's screenshot hides it), so two
    captures of an unchanged page are equal whatever the blink phase."""
    env = BrowserEnv(page_url, viewport=(640, 480))
    try:
        env.page.focus("#name")
        shots = []
        for _ in range(4):
            shots.append(env.observe().array)
            time.sleep(0.3)  # Chromium blinks every 500 ms
        assert all(np.array_equal(shots[0], s) for s in shots[1:])
        # Playwright restyles the focused field to hide it; anti-aliasing may move by ±1
        reference = _png_array(env.page.screenshot(type="png", scale="device"))
        assert np.abs(shots[0].astype(int) - reference).max() <= 2
    finally:
        env.close()


def test_capture_params_clip_only_at_dsf_other_than_1() -> None:
    assert capture_params((1280, 800), 1.0) == {"format": "png", "optimizeForSpeed": True}
    clip = capture_params((1280, 800), 1.5)["clip"]
    assert clip == {"x": 0, "y": 0, "width": 1280, "height": 800, "scale": 1.5}


@pytest.fixture(scope="module")
def env(page_url: str) -> Iterator[BrowserEnv]:
    e = BrowserEnv(page_url, viewport=(1280, 800))
    yield e
    e.close()


def _quiet(env: BrowserEnv, page_url: str) -> Any:
    env.reset(url=page_url)
    return env.observe()  # settles the capture session; the counted step starts clean


def _centre(env: BrowserEnv, selector: str) -> tuple[float, float]:
    box = env.page.eval_on_selector(
        selector,
        "e => {const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]}",
    )
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


@pytest.mark.parametrize("secrets", [(), ("s3cr3t-code",)])
def test_gated_click_makes_at_most_six_round_trips(
    env: BrowserEnv, page_url: str, secrets: tuple[str, ...]
) -> None:
    env.set_privacy(PrivacyRequest(secrets))
    try:
        point = _centre(env, "#ok")
        obs = _quiet(env, page_url)
        gate = PolicyGate(FILE_PAGES, confirm="no")
        action = Click(point=point)
        with round_trips(env) as sent:
            decision = gate.check(action, env, obs)
            res = env.step(action)
        assert decision.verdict == "allow" and decision.target["text"] == "OK"  # it read
        assert decision.target["ax_name"] == "OK"  # and Chromium's reading of it too
        assert res.observation.last_action_error is None
        # the target read (page JS + Chromium's hit test and accessibility tree: 3), the
        # click, one settle read, one capture
        assert sum(sent.values()) <= 6, dict(sent)
        assert sent["CDPSession.send(DOM.getNodeForLocation)"] == 1
        assert sent["CDPSession.send(Accessibility.getPartialAXTree)"] == 1
        assert sent["Page.mouseClick"] == 1 and sent["CDPSession.send(Page.captureScreenshot)"] == 1
        snap = res.observation.privacy
        assert snap is not None and snap.tied and snap.covers(secrets)
        # the code's text box and the canvas (every canvas, with secrets), in the same trips
        assert len(snap.boxes) == 2 * len(secrets)
    finally:
        env.set_privacy(PrivacyRequest())


@pytest.mark.parametrize("action", ["click", "hover", "wait"])
def test_ungated_step_makes_at_most_three_round_trips(
    env: BrowserEnv, page_url: str, action: str
) -> None:
    point = _centre(env, "#ok")
    obs = _quiet(env, page_url)
    act = {"click": Click(point=point), "hover": Hover(point=point), "wait": Wait(seconds=0)}
    with round_trips(env) as sent:
        AllowAll().check(act[action], env, obs)
        PolicyGate().check(Hover(point=point), env, obs)  # the default policy reads no target
        res = env.step(act[action])
    assert res.observation.last_action_error is None
    assert sum(sent.values()) <= 3, dict(sent)


def test_gate_denial_reuses_the_observation(env: BrowserEnv, page_url: str, tmp_path: Path) -> None:
    point = _centre(env, "#pay")
    obs = _quiet(env, page_url)
    model = ScriptedModel([f'{{"type": "click", "point": [{point[0]}, {point[1]}]}}'])
    writer = EpisodeWriter(tmp_path / "ep", {"task": {"goal": "x"}})
    gate = PolicyGate(FILE_PAGES, confirm="no")
    loop = Loop(env, model, writer, config=LoopConfig(max_steps=1), gate=gate)
    with round_trips(env) as sent:
        result = loop.run("x", obs)
    writer.finish(result.outcome())
    step = load_episode(tmp_path / "ep").steps[0]
    rec = step["actions"][0]
    assert rec["gate"]["verdict"] == "deny" and "result" not in rec
    assert sum(sent.values()) == 3, dict(sent)  # the target read (JS + 2 CDP); no capture
