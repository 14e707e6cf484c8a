"""AITW's tap rule on a screen that is not square (issue 15): "within 14% of the screen"
means x as a fraction of the width and y as a fraction of the *height*. On a phone in
portrait a miss of 13% of the height along y is a match (though it is 29% of the width);
in landscape a miss of 20% of the height is not (though it is only 9% of the width).
Scored on real gold episodes (real PNG files) through ``evaluate`` and the scripted model."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from agent.evaluation import evaluate, score_step
from agent.evaluation.gold import GoldStep, gold_entry, write_gold_episode
from agent.evaluation.metrics import gold_of
from model.scripted import ScriptedModel

PORTRAIT, LANDSCAPE = (1080, 2400), (2400, 1080)


def _png(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(buf, format="PNG")
    return buf.getvalue()


def _tap(x: float, y: float) -> dict:
    gold = gold_of({"gold": gold_entry({"type": "click", "point": [x, y]}, source="t")})
    assert gold is not None and not gold["boxes"]  # no box: the 14% rule decides
    return gold


def _click(x: float, y: float) -> dict:
    return {"type": "click", "point": [x, y]}


def test_portrait_a_vertical_miss_is_measured_against_the_height() -> None:
    w, h = PORTRAIT
    gold = _tap(540, 1200)
    assert score_step(_click(540, 1200 + 0.13 * h), gold, PORTRAIT).success  # 312 px down
    assert not score_step(_click(540, 1200 + 0.15 * h), gold, PORTRAIT).success
    assert score_step(_click(540 + 0.13 * w, 1200), gold, PORTRAIT).success  # x: the width
    assert not score_step(_click(540 + 0.15 * w, 1200), gold, PORTRAIT).success


def test_landscape_a_vertical_miss_is_measured_against_the_height() -> None:
    w, h = LANDSCAPE
    gold = _tap(1200, 540)
    assert not score_step(_click(1200, 540 + 0.2 * h), gold, LANDSCAPE).success  # 216 px
    assert score_step(_click(1200, 540 + 0.13 * h), gold, LANDSCAPE).success
    assert not score_step(_click(1200 + 0.15 * w, 540), gold, LANDSCAPE).success


def test_the_rule_is_euclidean_in_screen_fractions() -> None:
    gold = _tap(540, 1200)
    w, h = PORTRAIT
    near = _click(540 + 0.09 * w, 1200 + 0.09 * h)  # hypot(0.09, 0.09) ≈ 0.127
    far = _click(540 + 0.1 * w, 1200 + 0.1 * h)  # ≈ 0.141
    assert score_step(near, gold, PORTRAIT).success
    assert not score_step(far, gold, PORTRAIT).success


def test_evaluate_scores_a_phone_episode_by_its_own_screen(tmp_path: Path) -> None:
    """End to end: gold taps on a portrait and a landscape recording, predictions that
    miss along y by the same number of px (216): a match in portrait (9% of 2400), not in
    landscape (20% of 1080)."""
    for name, size, gold in (("p", PORTRAIT, (540, 1200)), ("l", LANDSCAPE, (1200, 540))):
        step = GoldStep(_png(size), gold_entry({"type": "click", "point": list(gold)}, source="t"))
        write_gold_episode(tmp_path / name, {"task": {"goal": f"tap {name}"}}, [step])
    preds = [json.dumps(_click(540, 1200 + 216)), json.dumps(_click(1200, 540 + 216))]
    report = evaluate([tmp_path / "l", tmp_path / "p"], ScriptedModel(preds[::-1]))
    by_goal = {e["goal"]: e for e in report["episodes"]}
    assert by_goal["tap p"]["success"] and by_goal["tap p"]["steps"][0]["element_match"]
    assert not by_goal["tap l"]["success"]
    assert by_goal["tap l"]["steps"][0]["element_match"] is False
    assert report["metrics"]["element_accuracy"] == 0.5
