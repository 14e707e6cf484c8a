"""The browser ties the DOM snapshot masking paints from to the screenshot it belongs to: real
headless Chromium on small pages written to tmp_path. A page may render its next view between
the snapshot read and the capture (the sign-in redirect that once leaked the demo password
into a recording); then the env captures again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.core.observation import Observation, PrivacyRequest
from agent.episode.runner import run
from agent.safety.masking import MASK_RGB
from agent.safety.secrets import Secrets
from model.scripted import ScriptedModel
from tests.envs.faults import WritesBeforeGrab

VALUE = "demo123"
# the snapshot's tie alone (the pixel check would also mask the hint's "Demo" label: it
# holds "demo", 4 characters of the secret; tests/envs/test_browser_pixel_check.py)
DOM_ONLY = Secrets({"password": VALUE}, pixel_check=False)
RED = (255, 0, 0)
HINT = (
    '<p style="font: 24px sans-serif">Demo password: '
    f'<code style="background: rgb(255,0,0); color: #fff">{VALUE}</code></p>'
)


class RendersOnCapture(WritesBeforeGrab):
    """A real page that renders its next view around the screenshot, as a page's own
    redirect would: ``before_grab`` (page JS) runs once between the next snapshot read and
    the screenshot, ``after_capture`` once right after the next capture."""

    after_capture: str | None = None

    def _capture(self) -> Observation:
        obs = super()._capture()
        if self.after_capture:
            script, self.after_capture = self.after_capture, None
            self.page.evaluate(script)
        return obs


@pytest.fixture(scope="module", params=[True, False], ids=["cdp", "playwright"])
def env(request: pytest.FixtureRequest) -> Any:
    """Both capture paths: the fast CDP one (a tripwire binding ties the read to the
    screenshot) and Playwright's screenshot (DOM versions compared), the fallback."""
    e = RendersOnCapture(viewport=(800, 600), fast_capture=request.param)
    yield e
    e.close()


def _page(tmp_path: Path, body: str) -> str:
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><body>{body}</body></html>")
    return path.as_uri()


def _record(env: RendersOnCapture, url: str, tmp_path: Path, **kw: Any) -> tuple[Any, np.ndarray]:
    ep = run(
        "x",
        env=env,
        model=ScriptedModel(['{"type": "wait", "seconds": 0}', '{"type": "finish"}']),
        out=tmp_path / "ep",
        url=url,
        **kw,
    )
    return ep, np.asarray(Image.open(ep.screenshot_path(0)).convert("RGB"))


def _red(arr: np.ndarray) -> int:
    return int((arr == RED).all(axis=-1).sum())


def test_view_rendered_between_read_and_capture_is_captured_again(
    env: RendersOnCapture, tmp_path: Path
) -> None:
    url = _page(tmp_path, "<h1>Settings</h1>")
    env.reset(url=url)
    env.set_privacy(PrivacyRequest((VALUE,)))
    env.before_grab = f"document.body.innerHTML = {HINT!r}"
    obs = env.observe()
    assert _red(obs.array) > 500  # positive control: the screenshot shows the hint
    # the snapshot read before the swap found nothing to mask: painting from it would leak
    assert obs.extra["recaptured"] == 1 and obs.privacy is not None and obs.privacy.tied
    assert len(obs.privacy.boxes) == 1  # the hint, read again with the new screenshot
    env.set_privacy(PrivacyRequest())
    env.reset(url=url)
    env.before_grab = f"document.body.innerHTML = {HINT!r}"
    ep, arr = _record(env, url, tmp_path, secrets=DOM_ONLY)
    assert _red(arr) == 0
    assert ep.steps[0]["observation"]["extra"]["masked"] == 1


def test_view_rendered_after_the_capture_needs_no_second_capture(
    env: RendersOnCapture, tmp_path: Path
) -> None:
    url = _page(tmp_path, HINT)
    env.reset(url=url)
    # the page swaps to a view without the secret right after the screenshot: the snapshot
    # was read before it, so it still describes the pixels (the hint is painted over)
    env.after_capture = "document.body.innerHTML = '<h1>Settings</h1>'"
    ep, arr = _record(env, url, tmp_path, secrets=DOM_ONLY)
    assert _red(arr) == 0
    extra = ep.steps[0]["observation"]["extra"]
    assert extra["masked"] == 1 and "recaptured" not in extra


def test_secret_split_over_nodes_masks_the_whole_screen(
    env: RendersOnCapture, tmp_path: Path
) -> None:
    body = '<p style="font: 24px sans-serif">Your PIN: demo<b>123</b></p>'
    ep, arr = _record(env, _page(tmp_path, body), tmp_path, secrets={"password": VALUE})
    assert (arr == MASK_RGB).all()  # no single text box holds it: fail closed
    assert ep.steps[0]["observation"]["extra"]["masked"] == 1


def test_page_that_never_stops_changing_is_masked_not_blanked(
    env: RendersOnCapture, tmp_path: Path
) -> None:
    body = (
        '<input id="pw" type="password" value="hunter2" style="margin: 40px; width: 300px">'
        '<p id="clock" style="font: 24px sans-serif"></p>'
        '<div style="width: 200px; height: 100px; background: rgb(255,0,0)"></div>'
        "<script>setInterval(() => clock.textContent = performance.now(), 2)</script>"
    )
    ep, arr = _record(env, _page(tmp_path, body), tmp_path)
    extra = ep.steps[0]["observation"]["extra"]
    assert extra["masked"] == 1 and extra.get("recaptured", 0) >= 1
    assert _red(arr) == 200 * 100  # the rest of the page is shown
    box = env.page.eval_on_selector(
        "#pw",
        "e => {const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]}",
    )
    x1, y1, x2, y2 = (round(v) for v in box)
    assert (arr[y1:y2, x1:x2] == MASK_RGB).all()


def test_static_page_needs_no_second_capture(env: RendersOnCapture, tmp_path: Path) -> None:
    body = '<input id="pw" type="password" value="hunter2" style="margin: 40px">' + HINT
    ep, arr = _record(env, _page(tmp_path, body), tmp_path, secrets=DOM_ONLY)
    extra = ep.steps[0]["observation"]["extra"]
    assert extra["masked"] == 2 and "recaptured" not in extra  # the field and the hint
    assert _red(arr) < 50  # the hint's text box is painted over
