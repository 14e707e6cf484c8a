"""The viewer page, loaded in a real headless Chromium: each step's predicted point,
executed point and gold box are drawn where they belong on the screenshot."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from agent.cli import main
from agent.core.coords import screen_to_input
from agent.core.observation import Observation
from agent.episode.recording import EpisodeWriter
from agent.evaluation import evaluate, write_report
from agent.evaluation.gold import gold_entry
from model.scripted import ScriptedModel

W, H = 640, 400  # a DSF-2 screenshot of a 320x200 viewport
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _png() -> bytes:
    im = Image.new("RGB", (W, H), (248, 250, 252))
    im.paste((37, 99, 235), (150, 80, 260, 120))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


STEPS = [  # action, gold box
    ({"type": "click", "point": [201.3, 99.6]}, [150.0, 80.0, 260.0, 120.0]),
    ({"type": "type", "text": "hi", "point": [400.8, 301.2]}, [350.0, 280.0, 460.0, 320.0]),
    ({"type": "finish", "status": "success"}, None),
]


TIMINGS = {"capture_s": 0.02, "mask_s": 0.01, "model_s": 0.5, "parse_s": 0.001, "gate_s": 0.04,
           "execute_s": 0.1, "record_s": 0.005, "decode_s": 0.0, "step_s": 0.8}  # fmt: skip


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("view") / "ep"
    w = EpisodeWriter(out, {"task": {"goal": "click the blue button"}})
    obs = Observation(png=_png(), scale=2.0)
    frame = obs.frame(convention="screen")
    for i, (action, box) in enumerate(STEPS):
        inp = {"point": list(screen_to_input(frame, *action["point"]))} if "point" in action else {}
        line = {
            "index": i,
            "observation": obs.meta(),
            "screenshot": w.save_screenshot(i, obs),
            "frame": frame.model_dump(),
            "raw": json.dumps(action),
            "actions": [{"action": action, "input": inp, "result": {}}],
            "timings": TIMINGS,
        }
        if box:
            line["gold"] = gold_entry(action, boxes=[box], source="test")
        w.write_step(line)
    w.finish({"status": "success", "steps": len(STEPS)})
    return out


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        pg = browser.new_page(viewport={"width": 700, "height": 900})
        yield pg
        browser.close()


MEASURE_JS = """
() => [...document.querySelectorAll('section.step')].map((sec) => {
  const img = sec.querySelector('.shot img'), svg = sec.querySelector('svg.overlay');
  const ir = img.getBoundingClientRect(), sr = svg.getBoundingClientRect();
  const k = img.naturalWidth / ir.width;
  const centre = (el) => {
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return [((r.left + r.right) / 2 - ir.left) * k, ((r.top + r.bottom) / 2 - ir.top) * k];
  };
  const box = (el) => {
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return [(r.left - ir.left) * k, (r.top - ir.top) * k, (r.right - ir.left) * k,
            (r.bottom - ir.top) * k];
  };
  return {
    index: Number(sec.dataset.index), natural: [img.naturalWidth, img.naturalHeight],
    aligned: [sr.left - ir.left, sr.top - ir.top, sr.width - ir.width, sr.height - ir.height],
    pred: centre(sec.querySelector('.pred-point')),
    exec: centre(sec.querySelector('.exec-point')),
    gold: box(sec.querySelector('.gold-box')),
    text: sec.innerText,
  };
})
"""


def _close(a: list[float] | None, b: list[float] | tuple[float, ...], tol: float = 0.75) -> bool:
    return a is not None and all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_episode_page_draws_the_overlays(episode: Path, page, tmp_path: Path) -> None:
    out = tmp_path / "view.html"
    assert main(["view", str(episode), "--out", str(out), "--no-open"]) == 0
    page.goto(out.as_uri())
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    got = page.evaluate(MEASURE_JS)
    assert [g["index"] for g in got] == [0, 1, 2]
    for g in got:
        assert g["natural"] == [W, H]
        assert all(abs(v) < 0.5 for v in g["aligned"]), g["aligned"]  # svg exactly over img
    first = got[0]
    assert _close(first["pred"], (201.3, 99.6))
    # executed: rounded to CSS px (101, 50) at DSF 2 → screenshot px (202, 100)
    assert _close(first["exec"], (202.0, 100.0))
    assert _close(first["gold"], (150, 80, 260, 120))
    assert _close(got[1]["pred"], (400.8, 301.2)) and _close(got[1]["exec"], (400.0, 302.0))
    assert _close(got[1]["gold"], (350, 280, 460, 320))
    assert got[2]["pred"] is None and got[2]["exec"] is None and got[2]["gold"] is None
    assert '"model_s": 0.5' in got[0]["text"] and "raw model output" in got[0]["text"]


PHASES_JS = """
() => [...document.querySelectorAll('section.step')].map((sec) => {
  const bar = sec.querySelector('.phase-bar').getBoundingClientRect();
  return Object.fromEntries([...sec.querySelectorAll('.phase-bar .phase')].map(
    (p) => [p.dataset.phase, p.getBoundingClientRect().width / bar.width]));
})
"""


def test_episode_page_shows_each_steps_phases_as_a_bar(episode: Path, page, tmp_path) -> None:
    out = tmp_path / "view.html"
    assert main(["view", str(episode), "--out", str(out), "--no-open"]) == 0
    page.goto(out.as_uri())
    bars = page.evaluate(PHASES_JS)
    assert len(bars) == len(STEPS)
    shown = {k: v for k, v in TIMINGS.items() if k != "step_s" and v > 0}
    for bar in bars:
        # one segment per phase that took time, in the loop's order, as its share of the step
        assert list(bar) == [k[:-2] for k in shown]
        for k, v in shown.items():
            assert bar[k[:-2]] == pytest.approx(v / TIMINGS["step_s"], abs=0.004), (k, bar)


def test_report_page_draws_prediction_and_gold(episode: Path, page, tmp_path: Path) -> None:
    preds = [json.dumps({"type": "click", "point": [270.0, 100.0]})]  # just right of the box
    preds.append(json.dumps({"type": "type", "text": "hi", "point": [355.5, 300.0]}))
    report = evaluate([episode], ScriptedModel(preds))
    path = write_report(report, tmp_path / "rep", inline=False)  # screenshots linked
    html = path.with_suffix(".html")
    assert "data:image" not in html.read_text()
    page.goto(html.as_uri())
    page.wait_for_function("() => [...document.images].every((i) => i.complete && i.naturalWidth)")
    got = page.evaluate(MEASURE_JS)
    assert len(got) == 3  # the finish step is scored too (gold = the executed finish)
    assert _close(got[0]["pred"], (270.0, 100.0)) and _close(got[0]["exec"], (202.0, 100.0))
    assert _close(got[0]["gold"], (150, 80, 260, 120))
    assert "element" in got[0]["text"] and _close(got[1]["pred"], (355.5, 300.0))


def _hostile_episode(root: Path) -> Path:
    """An episode a stranger sent: a missing last PNG (what a full disk leaves), a step that
    names a file outside the folder, markup in every recorded string."""
    out = root / "ep"
    w = EpisodeWriter(out, {"task": {"goal": '"><script>window.pwned=1</script>'}})
    obs = Observation(png=_png())
    secret = root / "secret.png"
    secret.write_bytes(_png())
    names = [w.save_screenshot(0, obs), "../secret.png", "0002.png"]
    for i, name in enumerate(names):
        w.write_step(
            {
                "index": i,
                "observation": obs.meta(),
                "screenshot": name,
                "raw": '<img src=x onerror="window.pwned=2">',
                "thought": "</pre><script>window.pwned=3</script>",
                "actions": [
                    {
                        "action": {"type": "type", "text": '"><svg onload="window.pwned=4">'},
                        "input": {},
                        "result": {"error": "<b onmouseover=alert(1)>x</b>"},
                    }
                ],
            }
        )
    w.finish({"status": "failure", "steps": 3, "answer": "<script>window.pwned=5</script>"})
    return out


def test_a_hostile_episode_renders_escaped_and_embeds_nothing_outside(tmp_path: Path, page) -> None:
    ep = _hostile_episode(tmp_path)
    for inline in (True, False):
        out = tmp_path / f"view-{inline}.html"
        flags = ["--out", str(out), "--no-open", *([] if inline else ["--no-inline"])]
        assert main(["view", str(ep), *flags]) == 0
        text = out.read_text()
        assert "secret.png" not in text or "outside the episode folder" in text
        page.goto(out.as_uri())
        assert page.evaluate("() => window.pwned") is None  # no script ran
        srcs = page.evaluate("() => [...document.images].map((i) => i.src)")
        assert len(srcs) == 3
        assert not srcs[0].startswith("data:image/svg")  # the real screenshot is shown
        said = [base64.b64decode(s.split(",", 1)[1]).decode() for s in srcs[1:]]
        assert "outside the episode folder" in said[0] and "0002.png is missing" in said[1]
        body = page.inner_text("body")
        assert "<script>window.pwned=3</script>" in body  # shown as text
