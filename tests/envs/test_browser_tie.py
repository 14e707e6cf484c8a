"""The DOM read masking paints from stays tied to the screenshot when the page changes inside
a shadow root or a same-origin frame between the read and the capture (issue 15): real
headless Chromium, both capture paths (the CDP tripwire and Playwright's screenshot with DOM
versions compared). A change the tie misses would let the recorded PNG show a secret the
read did not see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.core.observation import Observation, PrivacyRequest
from agent.episode.runner import run
from agent.safety.secrets import Secrets
from model.scripted import ScriptedModel
from tests.envs.faults import WritesBeforeGrab

VALUE = "demo123"
RED = (255, 0, 0)
# the secret on a red background: any red pixel left in a recording is the secret's box
HINT = (
    '<p style="font: 24px sans-serif; margin: 0">Demo password: '
    f'<code style="background: rgb(255,0,0); color: #fff">{VALUE}</code></p>'
)
FRAME_STYLE = "border: 0; width: 600px; height: 120px; display: block"
# where the secret is written between the read and the screenshot: page JS per place
PLACES = {
    "open_shadow_root": (
        '<div id="host"></div><script>host.attachShadow({mode: "open"})</script>',
        f"host.shadowRoot.innerHTML = {HINT!r}",
    ),
    "nested_shadow_root": (
        '<div id="host"></div><script>host.attachShadow({mode: "open"}).innerHTML ='
        ' "<div id=inner></div>"; host.shadowRoot.getElementById("inner")'
        '.attachShadow({mode: "open"})</script>',
        f"host.shadowRoot.getElementById('inner').shadowRoot.innerHTML = {HINT!r}",
    ),
    "declarative_shadow_root": (
        '<div id="host"><template shadowrootmode="open"></template></div>',
        f"host.shadowRoot.innerHTML = {HINT!r}",
    ),
    "same_origin_frame": (
        f'<iframe id="f" srcdoc="<body style=margin:0></body>" style="{FRAME_STYLE}"></iframe>',
        f"f.contentDocument.body.innerHTML = {HINT!r}",
    ),
    "frame_in_frame": (
        f'<iframe id="f" style="{FRAME_STYLE}" srcdoc="<body style=margin:0><iframe'
        f" id=g srcdoc='<body style=margin:0></body>' style='{FRAME_STYLE}'></iframe>\">"
        "</iframe>",
        f"f.contentDocument.getElementById('g').contentDocument.body.innerHTML = {HINT!r}",
    ),
}


@pytest.fixture(scope="module", params=[True, False], ids=["cdp", "playwright"])
def env(request: pytest.FixtureRequest) -> Any:
    e = WritesBeforeGrab(viewport=(800, 600), fast_capture=request.param)
    yield e
    e.close()


def _page(tmp_path: Path, body: str) -> str:
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><body style='margin: 0'>{body}</body></html>")
    return path.as_uri()


def _red(arr: np.ndarray) -> int:
    return int((arr == RED).all(axis=-1).sum())


def _observe(env: WritesBeforeGrab, url: str, script: str) -> Observation:
    env.reset(url=url)
    env.set_privacy(PrivacyRequest((VALUE,)))
    env.before_grab = script
    obs = env.observe()
    env.set_privacy(PrivacyRequest())
    return obs


@pytest.mark.parametrize("place", list(PLACES))
def test_secret_written_between_read_and_capture_is_read_again(
    env: WritesBeforeGrab, tmp_path: Path, place: str
) -> None:
    body, script = PLACES[place]
    url = _page(tmp_path, body)
    obs = _observe(env, url, script)
    assert _red(obs.array) > 500  # positive control: the screenshot shows the secret
    # the read before the write found nothing: the env must notice and read again
    assert obs.extra.get("recaptured") == 1
    assert obs.privacy is not None and obs.privacy.tied and len(obs.privacy.boxes) == 1
    x1, y1, x2, y2 = obs.privacy.boxes[0]
    red = np.argwhere((obs.array == RED).all(axis=-1))
    assert red[:, 1].min() >= x1 - 1 and red[:, 1].max() < x2 + 1  # the box covers it
    assert red[:, 0].min() >= y1 - 1 and red[:, 0].max() < y2 + 1


@pytest.mark.parametrize("place", list(PLACES))
def test_recorded_screenshot_has_the_secret_masked(
    env: WritesBeforeGrab, tmp_path: Path, place: str
) -> None:
    body, script = PLACES[place]
    url = _page(tmp_path, body)
    env.reset(url=url)
    # the secret is requested already, so the run keeps the capture of its own reset (the
    # one the write lands in) rather than capturing again for the secret
    env.set_privacy(PrivacyRequest((VALUE,)))
    env.before_grab = script
    ep = run(
        "x",
        env=env,
        model=ScriptedModel(['{"type": "wait", "seconds": 0}', '{"type": "finish"}']),
        out=tmp_path / "ep",
        url=url,
        secrets=Secrets({"password": VALUE}, pixel_check=False),  # the tie alone (the
        # pixel check would also mask the "Demo" label: 4 characters of the secret)
        no_gate=True,
    )
    env.set_privacy(PrivacyRequest())
    assert env.before_grab is None  # the write did happen
    arr = np.asarray(Image.open(ep.screenshot_path(0)).convert("RGB"))
    assert _red(arr) == 0
    assert ep.steps[0]["observation"]["extra"]["masked"] == 1


def test_static_frames_and_shadow_roots_need_no_second_capture(
    env: WritesBeforeGrab, tmp_path: Path
) -> None:
    """The counters of frames and shadow roots only move when they change: a quiet page
    with both is captured once (no recapture storm from the wider tie)."""
    hint = HINT.replace('"', "&quot;")
    body = (
        f'<iframe id="f" srcdoc="<body style=margin:0>{hint}</body>" style="{FRAME_STYLE}">'
        '</iframe><div id="host"></div><input autofocus style="margin: 20px">'
        "<script>host.attachShadow({mode: 'closed'}).innerHTML = '<b>Settings</b>'</script>"
    )
    obs = _observe(env, _page(tmp_path, body), "")
    assert "recaptured" not in obs.extra
    assert obs.privacy is not None and obs.privacy.tied
    assert len(obs.privacy.boxes) == 1  # the frame's hint (a closed root is not readable)


def test_wrapped_attach_shadow_behaves_as_the_native_one(
    env: WritesBeforeGrab, tmp_path: Path
) -> None:
    """The init script wraps ``attachShadow``: pages still get the root it made (for the
    element it was called on), closed roots stay closed, and its errors still reach them."""
    env.reset(url=_page(tmp_path, '<div id="a"></div><div id="b"></div><input id="c">'))
    got = env.page.evaluate(
        """() => {
          const open = a.attachShadow({mode: 'open'});
          const closed = b.attachShadow({mode: 'closed'});
          const err = (f) => { try { f(); return null; } catch (e) { return e.name; } };
          return {open: open instanceof ShadowRoot && open === a.shadowRoot && open.host === a,
                  closed: closed instanceof ShadowRoot && b.shadowRoot === null &&
                    closed.host === b,
                  name: Element.prototype.attachShadow.name,
                  input: err(() => c.attachShadow({mode: 'open'})),
                  again: err(() => a.attachShadow({mode: 'open'}))};
        }"""
    )
    assert got == {
        "open": True,
        "closed": True,
        "name": "attachShadow",
        "input": "NotSupportedError",
        "again": "NotSupportedError",
    }
