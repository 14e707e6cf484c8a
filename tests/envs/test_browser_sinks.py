"""A secret is masked in every sink a page can render it through (issue 15), proven on the
recorded PNGs by the project's OCR: real headless Chromium, pages served by two real HTTP
servers on 127.0.0.1 (two ports: two origins), the real runner with a scripted model.

One page (fixtures/sinks.html) lays the sinks out in rows; one episode with the secret and
one without it (the control: OCR does read the secret in every row there) are each OCR'd
once per PNG, and every sink is asserted on its own row, so a regression fails by name.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.core.observation import Observation, PrivacyRequest
from agent.episode.runner import run
from agent.safety.masking import MASK_RGB
from envs.browser import BrowserEnv
from envs.browser.privacy import SPLIT, TRUNCATED
from envs.browser.sinks import NODE_CAP
from model.ocr import OcrEngine
from model.scripted import ScriptedModel
from tests.envs.faults import WritesBeforeGrab as _SwapsFrameOnGrab

SECRET = "QUOKKA7193"  # read whole by RapidOCR at 28 px (the control below checks it)
LABEL = "PELICAN"  # a row without the secret: must stay readable
PAGE = (Path(__file__).parent / "fixtures" / "sinks.html").read_text()
FRAMES = {
    "/frame-text": f"<body style='margin:0; font: 28px sans-serif'>{SECRET}</body>",
    "/frame-field": f"<body style='margin:0'><input value='{SECRET}' style='font: 28px serif'>",
}
# row → index on the page (top = 20 + 70 * index); "label" holds LABEL, the others SECRET
ROWS = {
    "label": 0,
    "same_origin_frame_text": 1,
    "same_origin_frame_field": 2,
    "open_shadow_root": 3,
    "before_content": 4,
    "after_attr_content": 5,
    "canvas_fill_text": 6,
    "placeholder": 7,
    "button_value": 8,
    "closed_select_option": 9,
    "img_alt": 10,
    "text_after_5000_nodes": 11,
    "cross_origin_frame": 12,
    "listbox_options": 13,
}
SINKS = [name for name in ROWS if name != "label"]
VIEWPORT = (900, 1080)
STEPS = ['{"type": "wait", "seconds": 0}', '{"type": "finish"}']


class _Site:
    """A real HTTP server for a dict of paths (404 for the rest: the broken image)."""

    def __init__(self, pages: dict[str, str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    other = _Site(FRAMES)  # another port: another origin
    page = PAGE.replace("{filler}", "<span>.</span> " * 5000).replace("{other}", other.url)
    main = _Site({"/": page.replace("{secret}", SECRET), **FRAMES})
    yield main.url + "/"
    main.httpd.shutdown()
    other.httpd.shutdown()


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    e = BrowserEnv(viewport=VIEWPORT)
    yield e
    e.close()


@pytest.fixture(scope="module")
def ocr() -> OcrEngine:
    return OcrEngine()


def _episode(env: BrowserEnv, url: str, out: Path, **kw: Any) -> tuple[Any, list[np.ndarray]]:
    ep = run("x", env=env, model=ScriptedModel(list(STEPS)), out=out, url=url, **kw)
    paths = [ep.screenshot_path(i) for i in range(len(ep.steps))]
    pngs = [np.asarray(Image.open(p).convert("RGB")) for p in paths if p.exists()]
    assert len(pngs) == len(STEPS)
    return ep, pngs


def _rows(ocr: OcrEngine, arr: np.ndarray) -> dict[str, str]:
    """The OCR text of each row (lines assigned by their vertical centre): one OCR call."""
    text = dict.fromkeys(ROWS, "")
    for line in ocr.read(arr).lines:
        y = (line.box[1] + line.box[3]) / 2
        for name, i in ROWS.items():
            top = 20 + 70 * i
            if top <= y < top + (130 if name == "listbox_options" else 60):
                text[name] += " " + line.text
    return text


def _norm(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def _leaks(text: str) -> bool:
    """Any 4 characters of the secret in a row count as read (a box painted short)."""
    t = _norm(text)
    return any(SECRET[i : i + 4] in t for i in range(len(SECRET) - 3))


@pytest.fixture(scope="module")
def control(env: BrowserEnv, site: str, ocr: OcrEngine, tmp_path_factory: Any) -> dict[str, str]:
    """The page recorded with no secrets configured: what OCR reads in every row."""
    env.set_privacy(PrivacyRequest())  # not the request of an earlier episode (over-masks)
    _, pngs = _episode(env, site, tmp_path_factory.mktemp("control"))
    return _rows(ocr, pngs[0])


@pytest.fixture(scope="module")
def masked(
    env: BrowserEnv, site: str, ocr: OcrEngine, tmp_path_factory: Any
) -> tuple[Any, list[dict[str, str]]]:
    """The same page recorded with the secret: every PNG, OCR'd row by row."""
    ep, pngs = _episode(env, site, tmp_path_factory.mktemp("masked"), secrets={"pw": SECRET})
    return ep, [_rows(ocr, arr) for arr in pngs]


@pytest.mark.parametrize("sink", SINKS)
def test_ocr_reads_the_secret_in_each_sink_without_masking(
    control: dict[str, str], sink: str
) -> None:
    assert SECRET in _norm(control[sink]), control[sink]  # the OCR would see a leak


@pytest.mark.parametrize("sink", SINKS)
def test_the_secret_is_masked_in_each_sink_of_every_recorded_png(
    masked: tuple[Any, list[dict[str, str]]], sink: str
) -> None:
    for rows in masked[1]:
        assert not _leaks(rows[sink]), rows[sink]


def test_the_rest_of_the_page_stays_readable(
    masked: tuple[Any, list[dict[str, str]]], control: dict[str, str]
) -> None:
    ep, pngs = masked
    assert LABEL in _norm(control["label"])
    for rows in pngs:
        assert LABEL in _norm(rows["label"]), rows["label"]  # masked box by box, not whole
    for step in ep.steps:
        extra = step["observation"]["extra"]
        assert "mask_reason" not in extra and extra["masked"] == len(SINKS)


def _file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><body>{body}</body></html>")
    return path.as_uri()


def test_a_page_over_the_node_cap_is_masked_whole(env: BrowserEnv, tmp_path: Path) -> None:
    body = f'<p style="font: 28px sans-serif">{LABEL}</p>' + "<i>.</i>" * NODE_CAP
    ep, pngs = _episode(env, _file(tmp_path, body), tmp_path / "ep", secrets={"pw": SECRET})
    for step, arr in zip(ep.steps, pngs, strict=True):
        assert step["observation"]["extra"]["mask_reason"].startswith(TRUNCATED)
        assert (arr == MASK_RGB).all()
    env.set_privacy(PrivacyRequest())  # without secrets nothing is walked per node: no cap
    obs = env.observe()
    assert obs.privacy is not None and obs.privacy.tied


def test_a_secret_split_between_text_and_generated_content_fails_closed(
    env: BrowserEnv, tmp_path: Path
) -> None:
    style = "<style>b::after { content: '7193' }</style>"
    body = f'{style}<p style="font: 28px sans-serif">{LABEL} QUOKKA<b></b></p>'
    ep, pngs = _episode(env, _file(tmp_path, body), tmp_path / "ep", secrets={"pw": SECRET})
    assert ep.steps[0]["observation"]["extra"]["mask_reason"] == SPLIT
    assert all((arr == MASK_RGB).all() for arr in pngs)


def test_a_frame_that_shows_the_secret_after_the_read_is_captured_again(tmp_path: Path) -> None:
    env = _SwapsFrameOnGrab(viewport=(800, 600))
    try:
        env.reset(url=_file(tmp_path, '<iframe srcdoc="<p>Settings</p>"></iframe>'))
        env.set_privacy(PrivacyRequest((SECRET,)))
        doc = "document.querySelector('iframe').contentDocument"
        env.before_grab = f"{doc}.body.innerHTML = '<p>{SECRET}</p>'"
        obs: Observation = env.observe()
        # the read before the swap had nothing to mask: the frame's tripwire caught it
        assert obs.extra.get("recaptured") == 1
        assert obs.privacy is not None and obs.privacy.tied and len(obs.privacy.boxes) == 1
    finally:
        env.close()
