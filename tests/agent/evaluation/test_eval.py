"""Offline re-scoring on hand-made episodes with known answers (real files, the scripted
model): every metric, the gold fallback to the executed action, a click just outside the
gold box, teacher-forced history, the JSON + HTML report and the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from agent.cli import main
from agent.core.observation import Observation
from agent.episode.recording import EpisodeWriter
from agent.evaluation import evaluate, score_step, token_f1, write_report
from agent.evaluation.gold import GoldStep, gold_entry, write_gold_episode
from agent.evaluation.metrics import gold_of
from model.scripted import ScriptedModel

W, H = 400, 300


def _png(color: tuple[int, int, int] = (250, 250, 250)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (W, H), color).save(buf, format="PNG")
    return buf.getvalue()


def _gold(action: dict, box: list[float] | None = None) -> GoldStep:
    return GoldStep(_png(), gold_entry(action, boxes=[box] if box else None, source="test"))


@pytest.fixture
def episodes(tmp_path: Path) -> Path:
    root = tmp_path / "eps"
    write_gold_episode(
        root / "a",
        {"task": {"goal": "fill the form"}},
        [
            _gold({"type": "click", "point": [150, 125]}, [100, 100, 200, 150]),
            _gold({"type": "type", "text": "hello world", "point": [300, 50]}, [250, 40, 350, 60]),
            _gold({"type": "scroll", "direction": "down"}),
        ],
    )
    write_gold_episode(
        root / "b",
        {"task": {"goal": "press the small button"}},
        [
            _gold({"type": "click", "point": [30, 20]}, [10, 10, 50, 30]),
            _gold({"type": "key", "keys": "enter"}),
        ],
    )
    # a plain recording without `gold`: the executed action (and its box) is the gold
    w = EpisodeWriter(root / "c", {"task": {"goal": "recorded"}})
    obs = Observation(png=_png())
    for i, action in enumerate(
        [
            {"type": "click", "point": [60.0, 60.0], "box": [40.0, 40.0, 80.0, 80.0]},
            {"type": "finish", "status": "success"},
        ]
    ):
        w.write_step(
            {
                "index": i,
                "observation": obs.meta(),
                "screenshot": w.save_screenshot(i, obs),
                "frame": obs.frame(convention="screen").model_dump(),
                "raw": json.dumps(action),
                "actions": [{"action": action, "input": {}, "result": {}}],
            }
        )
    w.finish({"status": "success", "steps": 2})
    return root


def _act(**a: object) -> str:
    return json.dumps(a)


PREDICTIONS = [
    _act(type="click", point=[150, 125]),  # a0: inside, distance 0
    _act(type="type", text="hello", point=[300, 50]),  # a1: F1 2/3 ≥ 0.5, not exact
    _act(type="scroll", direction="down"),  # a2
    _act(type="click", point=[50.5, 20]),  # b0: half a pixel right of the gold box
    _act(type="key", keys="Return"),  # b1: normalises to "enter"
    _act(type="click", point=[79, 79]),  # c0: inside the executed action's box
    "I am not sure what to do",  # c1: unparseable
]


def test_metrics_on_known_answers(episodes: Path) -> None:
    model = ScriptedModel(list(PREDICTIONS))
    report = evaluate([episodes], model)
    m = report["metrics"]
    assert m["steps"] == 7 and m["episodes"] == 3
    assert m["action_type_accuracy"] == pytest.approx(6 / 7, abs=1e-4)
    assert m["element_accuracy"] == pytest.approx(3 / 4)  # a0, a1, c0 in; b0 out
    assert m["element_steps"] == 4
    d = m["point_distance_px"]
    assert d["steps"] == 4
    assert d["mean"] == pytest.approx((0 + 0 + 20.5 + 2**0.5 * 19) / 4, abs=1e-3)
    assert m["text_exact_match"] == 0.0 and m["text_f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["step_success_rate"] == pytest.approx(5 / 7, abs=1e-4)
    assert m["episode_success_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["parse_error_rate"] == pytest.approx(1 / 7, abs=1e-4)
    steps = {(Path(e["dir"]).name, s["index"]): s for e in report["episodes"] for s in e["steps"]}
    b0 = steps[("b", 0)]
    assert b0["type_match"] and not b0["element_match"] and not b0["success"]
    assert b0["distance_px"] == 20.5
    assert steps[("b", 1)]["success"] and steps[("a", 1)]["success"]
    assert steps[("c", 0)]["gold"]["source"] == "recorded"
    assert steps[("c", 1)]["parse_error"] and not steps[("c", 1)]["type_match"]
    assert [e["success"] for e in report["episodes"]] == [True, False, False]


def test_history_is_teacher_forced(episodes: Path) -> None:
    model = ScriptedModel(list(PREDICTIONS))
    evaluate([episodes / "b"], model)
    second = model.seen[1]
    assert second.task == "press the small button"
    assert second.history[-1].action == {"type": "click", "point": [30.0, 20.0]}  # gold, not 50.5
    assert second.observation.size == (W, H) and second.frame.convention == "screen"


def test_step_rules() -> None:
    click = gold_entry({"type": "click", "point": [30, 20]}, boxes=[[10, 10, 50, 30]], source="t")
    g = gold_of({"gold": click})
    assert g is not None
    assert score_step({"type": "click", "point": [50, 30]}, g, (W, H)).success  # edge inclusive
    assert not score_step({"type": "double_click", "point": [30, 20]}, g, (W, H)).success
    # no box: AITW's 14%-of-the-screen rule
    tap = gold_of({"gold": gold_entry({"type": "click", "point": [200, 150]}, source="t")})
    assert tap is not None
    assert score_step({"type": "click", "point": [200 + 0.13 * W, 150]}, tap, (W, H)).success
    assert not score_step({"type": "click", "point": [200 + 0.15 * W, 150]}, tap, (W, H)).success
    swipe = gold_of(
        {"gold": gold_entry({"type": "swipe", "start": [200, 250], "end": [200, 50]}, source="t")}
    )
    assert swipe is not None
    up = {"type": "swipe", "start": [10, 290], "end": [30, 100]}
    assert score_step(up, swipe, (W, H)).success
    assert not score_step({**up, "end": [30, 295]}, swipe, (W, H)).success
    assert token_f1("Hello, World!", "hello world") == 1.0
    assert token_f1("", "") == 1.0 and token_f1("a", "") == 0.0


def test_report_files_and_cli(episodes: Path, tmp_path: Path, capsys) -> None:
    report = evaluate([episodes], ScriptedModel(list(PREDICTIONS)))
    path = write_report(report, tmp_path / "rep")
    data = json.loads(path.read_text())
    assert "step success" in data["definitions"]
    page = (tmp_path / "rep" / "report.html").read_text()
    assert page.count('class="step"') == 7 and "data:image/png;base64," in page
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"format": "json", "outputs": PREDICTIONS}))
    out = tmp_path / "cli"
    args = ["eval", "--episodes", str(episodes), "--model", f"scripted:{script}"]
    code = main([*args, "--out", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "step success rate     71.4%" in printed
    assert json.loads((out / "report.json").read_text())["metrics"] == report["metrics"]
