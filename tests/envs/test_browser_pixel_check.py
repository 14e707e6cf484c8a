"""Masking verified by reading the pixels (issue 22): a page that defeats the DOM read still
yields recorded PNGs in which OCR finds no 4 consecutive characters of the secret.

Real headless Chromium, the real runner with a scripted model, every recorded PNG read by
the project's OCR (its own engine, not the one masking used). The page lies to the DOM read
four ways, one row each: a ``nodeValue`` getter redefined on ``Node.prototype`` (for one
text node) and a ``value`` getter on ``HTMLInputElement.prototype`` (for one field); text
moved by a CSS animation (no DOM change: the box read is not where the screenshot shows it);
``::marker`` content (not read at all); a ``text-shadow`` copy drawn 70 px under its box.
The control runs the same page with the pixel check off: the secret is read there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.episode.runner import run
from agent.safety.secrets import Secrets
from envs.browser import BrowserEnv
from model.ocr import OcrEngine
from model.scripted import ScriptedModel

SECRET = "QUOKKA7193"  # read whole by RapidOCR at 28 px (tests/envs/test_browser_sinks.py)
LABEL = "PELICAN"  # a row without the secret: must stay readable
ROWS = {"label": 20, "getter": 90, "field": 160, "animation": 230, "marker": 300, "shadow": 440}
PAGE = f"""<!doctype html><html><head><style>
body {{ margin: 0; font: 28px sans-serif; }}
.row {{ position: absolute; left: 20px; margin: 0; }}
input.row {{ font: 28px sans-serif; width: 300px; }}
@keyframes hop {{ 0%, 49.9% {{ transform: none; }} 50%, 100% {{ transform: translateX(380px); }} }}
#animation {{ animation: hop 0.1s infinite; }}
ul.row {{ padding-left: 260px; }}
li::marker {{ content: "{SECRET} "; }}
#shadow {{ color: transparent; text-shadow: 0 70px 0 #000; }}
</style></head><body>
<div class="row" style="top: {ROWS["label"]}px">{LABEL}</div>
<div class="row" id="getter" style="top: {ROWS["getter"]}px">{SECRET}</div>
<input class="row" id="field" style="top: {ROWS["field"]}px" value="{SECRET}">
<div class="row" id="animation" style="top: {ROWS["animation"]}px">{SECRET}</div>
<ul class="row" style="top: {ROWS["marker"]}px"><li>&nbsp;</li></ul>
<div class="row" id="shadow" style="top: {ROWS["shadow"] - 70}px">{SECRET}</div>
<script>
const text = Object.getOwnPropertyDescriptor(Node.prototype, 'nodeValue');
Object.defineProperty(Node.prototype, 'nodeValue', {{configurable: true,
  get() {{ return this.parentNode?.id === 'getter' ? 'x' : text.get.call(this); }},
  set(v) {{ text.set.call(this, v); }}}});
const value = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value');
Object.defineProperty(HTMLInputElement.prototype, 'value', {{configurable: true,
  get() {{ return this.id === 'field' ? '' : value.get.call(this); }},
  set(v) {{ value.set.call(this, v); }}}});
</script></body></html>"""
STEPS = ['{"type": "wait", "seconds": 0}', '{"type": "finish"}']


@pytest.fixture(scope="module")
def env() -> Iterator[BrowserEnv]:
    e = BrowserEnv(viewport=(800, 520))
    yield e
    e.close()


@pytest.fixture(scope="module")
def ocr() -> OcrEngine:
    return OcrEngine()


@pytest.fixture(scope="module")
def page(tmp_path_factory: Any) -> str:
    path = tmp_path_factory.mktemp("page") / "lies.html"
    path.write_text(PAGE)
    return path.as_uri()


def _norm(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def _leaked_rows(ocr: OcrEngine, arr: np.ndarray) -> set[str]:
    """Rows (by a line's vertical centre) where OCR reads 4 consecutive secret characters."""
    runs = [SECRET[i : i + 4] for i in range(len(SECRET) - 3)]
    out = set()
    for line in ocr.read(arr).lines:
        if any(r in _norm(line.text) for r in runs):
            y = (line.box[1] + line.box[3]) / 2
            out.add(min(ROWS, key=lambda name: abs(ROWS[name] + 17 - y)))
    return out


def _episode(
    env: BrowserEnv, page: str, out: Path, ocr: OcrEngine, check: bool
) -> tuple[Any, list[set[str]], list[np.ndarray]]:
    secrets = Secrets({"pw": SECRET}, pixel_check=check)
    ep = run("x", env=env, model=ScriptedModel(list(STEPS)), out=out, url=page, secrets=secrets)
    pngs = [np.asarray(Image.open(ep.screenshot_path(i)).convert("RGB")) for i in range(2)]
    return ep, [_leaked_rows(ocr, arr) for arr in pngs], pngs


def test_without_the_pixel_check_the_lying_page_leaks_the_secret(
    env: BrowserEnv, page: str, ocr: OcrEngine, tmp_path: Path
) -> None:
    """The control: the DOM read alone is fooled (the page is masked box by box, not whole)."""
    ep, leaked, _ = _episode(env, page, tmp_path / "off", ocr, check=False)
    assert all("mask_reason" not in s["observation"]["extra"] for s in ep.steps)
    everywhere = set().union(*leaked)
    assert {"getter", "field", "marker", "shadow"} <= everywhere, leaked


def test_with_the_pixel_check_no_recorded_png_shows_four_characters_of_it(
    env: BrowserEnv, page: str, ocr: OcrEngine, tmp_path: Path
) -> None:
    ep, leaked, pngs = _episode(env, page, tmp_path / "on", ocr, check=True)
    assert leaked == [set(), set()]
    for step, arr in zip(ep.steps, pngs, strict=True):
        extra = step["observation"]["extra"]
        assert extra["pixel_hits"] and {h["secret"] for h in extra["pixel_hits"]} == {"pw"}
        assert "mask_reason" not in extra  # masked line by line, not whole:
        assert any(LABEL in _norm(ln.text) for ln in ocr.read(arr).lines)
    assert SECRET not in (ep.dir / "steps.jsonl").read_text()
